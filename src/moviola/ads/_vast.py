"""VAST 4.2 documents for a pod of decisions (no I/O).

The elements come in the order the IAB's 4.2 schema requires (which is not always the
order of the spec's examples): InLine is AdSystem, Error, Extensions, Impression,
AdServingId, AdTitle, Advertiser, Category, Creatives, Description; a Creative is its Linear
then its UniversalAdId; a Linear is TrackingEvents, AdParameters, Duration, MediaFiles
(MediaFile, then the SIMID InteractiveCreativeFile), VideoClicks (ClickTracking before
ClickThrough). An empty pod is ``<VAST version="4.2"/>``, the spec's "no ad" answer.

No URL carries a VAST macro: the schema types URLs as ``xs:anyURI``, which ``[ERRORCODE]``
is not, so a document with macros does not validate. Each URL names its decision in its
path instead, and the player adds ``code=`` to the Error URL itself.

Each Ad carries a Moviola extension with the decision's propensity and model version, so
a player, a test or a person reading the document sees why this ad was chosen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

from lxml import etree

from .. import __version__
from ._decide import Decision, Pod

VAST_NS = "http://www.iab.com/VAST"
MOVIOLA_NS = "https://moviola.dev/ns/ads/1"
CATEGORY_AUTHORITY = "https://iabtechlab.com/standards/content-taxonomy/"
TRACKED = ("creativeView", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "pause", "resume",
           "mute", "unmute", "skip", "closeLinear", "otherAdInteraction")  # fmt: skip

Tracker = Callable[[str, str], str]  # (serving id, event) → the beacon's URL


def timecode(ms: int) -> str:
    """``HH:MM:SS.mmm``, as VAST writes durations and offsets."""
    seconds, milli = divmod(max(0, int(ms)), 1000)
    minutes, sec = divmod(seconds, 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{sec:02d}.{milli:03d}"


def _el(parent: etree._Element, tag: str, text: str | None = None, *, cdata: bool = False,
        **attrs: str | None) -> etree._Element:  # fmt: skip
    el = etree.SubElement(parent, f"{{{VAST_NS}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = etree.CDATA(text) if cdata and "]]>" not in text else text
    return el


def absolute(base: str, url: str) -> str:
    """A service path (``/...``) made absolute on ``base``; other URLs as they are."""
    return base.rstrip("/") + url if url.startswith("/") else url


def media_url(base: str, rel: str) -> str:
    """The URL of a file of the service's ``ads/`` folder (as ``ads/<version>/...``)."""
    return f"{base.rstrip('/')}/ads/files/{quote(rel.removeprefix('ads/'))}"


def ad_parameters(decision: Decision, track: Tracker) -> str | None:
    """The SIMID creative's parameters: the campaign file's, with this decision's
    interaction beacon added (``track.interaction``) when they are a JSON object."""
    text = decision.creative.ad_parameters
    if decision.creative.simid is None:
        return text
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return text
    if not isinstance(data, dict):
        return text
    data["track"] = {"interaction": track(decision.serving_id, "interaction")}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _ad(root: etree._Element, decision: Decision, pod: Pod, base: str, track: Tracker) -> None:
    sid, creative, campaign = decision.serving_id, decision.creative, decision.campaign
    ad = _el(root, "Ad", id=f"{campaign.campaign_id}/{creative.creative_id}", adType="video",
             sequence=str(decision.position) if len(pod.decisions) > 1 else None)  # fmt: skip
    inline = _el(ad, "InLine")
    _el(inline, "AdSystem", "Moviola", version=__version__)
    _el(inline, "Error", track(sid, "error"), cdata=True)
    extensions = _el(inline, "Extensions")
    extension = _el(extensions, "Extension", type="application/x-moviola-decision")
    etree.SubElement(extension, f"{{{MOVIOLA_NS}}}Decision", {
        "propensity": f"{decision.propensity:.6f}", "model": decision.model_version, "slot": pod.slot,
        "position": str(decision.position),
        "probabilities": json.dumps(decision.probabilities, separators=(",", ":"), sort_keys=True),
    })  # fmt: skip
    _el(inline, "Impression", track(sid, "impression"), cdata=True, id="moviola")
    _el(inline, "AdServingId", sid)
    _el(inline, "AdTitle", creative.name)
    _el(inline, "Advertiser", campaign.advertiser)
    if campaign.category:
        _el(inline, "Category", campaign.category, authority=CATEGORY_AUTHORITY)
    creatives = _el(inline, "Creatives")
    cr = _el(creatives, "Creative", id=creative.creative_id, adId=campaign.campaign_id, sequence="1",
             apiFramework="SIMID" if creative.simid else None)  # fmt: skip
    linear = _el(cr, "Linear", skipoffset=creative.skip_offset)
    events = _el(linear, "TrackingEvents")
    for name in (*TRACKED, *(("interactiveStart",) if creative.simid else ())):
        _el(events, "Tracking", track(sid, name), cdata=True, event=name)
    params = ad_parameters(decision, track)
    if params is not None:
        _el(linear, "AdParameters", params, cdata=True, xmlEncoded="false")
    _el(linear, "Duration", timecode(creative.duration_ms))
    files = _el(linear, "MediaFiles")
    _el(files, "MediaFile", media_url(base, creative.media), cdata=True, id=f"{creative.creative_id}-mp4",
        delivery="progressive", type="video/mp4", width=str(creative.width), height=str(creative.height),
        codec=creative.codec, bitrate=str(creative.bitrate_kbps), scalable="true", maintainAspectRatio="true")  # fmt: skip
    if creative.simid:
        _el(files, "InteractiveCreativeFile", media_url(base, creative.simid), cdata=True, type="text/html",
            apiFramework="SIMID", variableDuration="false")  # fmt: skip
    clicks = _el(linear, "VideoClicks")
    _el(clicks, "ClickTracking", track(sid, "click"), cdata=True, id="moviola")
    landing = creative.click_through or campaign.click_through
    if landing:
        _el(clicks, "ClickThrough", absolute(base, landing), cdata=True, id="landing")
    _el(cr, "UniversalAdId", creative.creative_id, idRegistry="moviola")
    _el(inline, "Description", campaign.name)


def vast_document(pod: Pod, base: str, track: Tracker) -> bytes:
    """The VAST 4.2 document for ``pod`` (empty when the pod is), as UTF-8 bytes."""
    root = etree.Element(f"{{{VAST_NS}}}VAST", {"version": "4.2"}, nsmap={None: VAST_NS, "moviola": MOVIOLA_NS})
    for decision in pod.decisions:
        _ad(root, decision, pod, base, track)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out

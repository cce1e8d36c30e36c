"""A title's ad breaks as VMAP 1.0 (no I/O).

The plan: a pre-roll always (``preroll_seconds``; the least any title carries, so a short
film still gets its spot); a mid-roll every ``midroll_every_minutes`` while at least that
much content remains; a post-roll for titles of ten minutes or more. The total never passes
the hourly ad load, pro rata: the pre-roll first, then the post-roll, then the mid-rolls
share what is left equally; a mid-roll that would be shorter than the shortest spot (15 s)
is dropped, latest first.

Each break's source is an ``AdTagURI`` to ``/ads/vast`` for that slot and length, so the
ads are chosen when the break comes (fresh caps, pacing and policy), not when the title
starts. There is no VMAP schema from the IAB here; ``vmap_problems`` checks what the VMAP
1.0.1 specification requires, and every embedded VAST is checked against the VAST schema.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from lxml import etree

from ._config import AdsConfig
from ._vast import timecode

VMAP_NS = "http://www.iab.net/videosuite/vmap"
SHORTEST_SPOT = 15.0
POSTROLL_FROM = 600.0  # seconds of content for a post-roll
TIME_OFFSET = re.compile(r"^(start|end|\d{2}:[0-5]\d:[0-5]\d(\.\d{3})?|\d{1,3}(\.\d+)?%|#\d+)$")


@dataclass(frozen=True)
class Break:
    break_id: str  # preroll, midroll-1 ..., postroll
    offset: str  # VMAP timeOffset
    seconds: float  # the most ad time in it


def plan_breaks(content_seconds: float, config: AdsConfig) -> list[Break]:
    """The breaks of a title ``content_seconds`` long under ``config``."""
    budget = config.ad_seconds(content_seconds)
    pre = min(float(config.preroll_seconds), budget)
    breaks = [Break("preroll", "start", pre)] if pre >= 1 else []
    left = budget - pre
    post = min(30.0, left) if content_seconds >= POSTROLL_FROM else 0.0
    left -= post
    every = config.midroll_every_minutes * 60
    offsets = [every * i for i in range(1, int(content_seconds // every) + 1) if content_seconds - every * i >= every / 2]
    while offsets and left / len(offsets) < SHORTEST_SPOT:
        offsets.pop()
    for i, offset in enumerate(offsets, 1):
        breaks.append(Break(f"midroll-{i}", timecode(round(offset * 1000)), math.floor(left / len(offsets) * 1000) / 1000))  # never above the load
    if post >= SHORTEST_SPOT:
        breaks.append(Break("postroll", "end", post))
    return breaks


def vmap_document(breaks: list[Break], vast_url: str, params: dict[str, str]) -> bytes:
    """VMAP 1.0 whose breaks fetch their ads from ``vast_url`` with ``params`` plus the slot
    and its length."""
    V = f"{{{VMAP_NS}}}"
    root = etree.Element(V + "VMAP", {"version": "1.0"}, nsmap={"vmap": VMAP_NS})
    for item in breaks:
        brk = etree.SubElement(root, V + "AdBreak", {"timeOffset": item.offset, "breakType": "linear",
                                                     "breakId": item.break_id})  # fmt: skip
        source = etree.SubElement(brk, V + "AdSource", {"id": f"{item.break_id}-ads", "allowMultipleAds": "true",
                                                        "followRedirects": "true"})  # fmt: skip
        query = urlencode({**params, "slot": item.break_id, "seconds": f"{item.seconds:g}"})
        tag = etree.SubElement(source, V + "AdTagURI", {"templateType": "vast4"})
        tag.text = etree.CDATA(f"{vast_url}?{query}")
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out


def vmap_problems(data: bytes) -> list[str]:
    """What in a VMAP document breaks the VMAP 1.0.1 specification (empty: nothing)."""
    problems: list[str] = []
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError as exc:
        return [f"not XML: {exc}"]
    V = f"{{{VMAP_NS}}}"
    if root.tag != V + "VMAP":
        return [f"the root is {root.tag}, not vmap:VMAP in {VMAP_NS}"]
    if root.get("version") not in ("1.0", "1.0.1"):
        problems.append(f"VMAP@version is {root.get('version')!r}, not 1.0")
    ids: set[str] = set()
    for i, brk in enumerate(root, 1):
        if brk.tag not in (V + "AdBreak", V + "Extensions"):
            problems.append(f"child {i} is {brk.tag}, not vmap:AdBreak")
            continue
        if brk.tag != V + "AdBreak":
            continue
        offset = brk.get("timeOffset") or ""
        if not TIME_OFFSET.match(offset):
            problems.append(f"AdBreak {i}: timeOffset {offset!r} is not start, end, HH:MM:SS[.mmm], n% or #n")
        kinds = (brk.get("breakType") or "").split(",")
        if not kinds or any(k not in ("linear", "nonlinear", "display") for k in kinds):
            problems.append(f"AdBreak {i}: breakType {brk.get('breakType')!r} is not linear, nonlinear or display")
        bid = brk.get("breakId")
        if bid is not None:
            if bid in ids:
                problems.append(f"AdBreak {i}: breakId {bid!r} is used twice")
            ids.add(bid)
        sources = brk.findall(V + "AdSource")
        if len(sources) > 1:
            problems.append(f"AdBreak {i}: more than one AdSource")
        for source in sources:
            held = [c for c in source if c.tag in (V + "VASTAdData", V + "AdTagURI", V + "CustomAdData")]
            if len(held) != 1:
                problems.append(f"AdBreak {i}: AdSource must hold exactly one of VASTAdData, AdTagURI, CustomAdData")
            for c in held:
                if c.tag == V + "AdTagURI" and (not c.get("templateType") or not (c.text or "").strip()):
                    problems.append(f"AdBreak {i}: AdTagURI needs a templateType and a URL")
        for tracking in brk.iter(V + "Tracking"):
            if tracking.get("event") not in ("breakStart", "breakEnd", "error"):
                problems.append(f"AdBreak {i}: tracking event {tracking.get('event')!r} is not breakStart, breakEnd or error")
    return problems

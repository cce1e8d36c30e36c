"""The VAST 4.2 rules the IAB schema does not check (no I/O): the schema says which
elements go where, not that a pod's sequence numbers are distinct, that a skip offset falls
inside the ad, that a SIMID file is HTML, or that every URL can be fetched."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from ._vast import VAST_NS

_TIME = re.compile(r"^(\d{2}):([0-5]\d):([0-5]\d)(\.\d{1,3})?$")
_PERCENT = re.compile(r"^(\d{1,3}(\.\d+)?)%$")
QUARTILES = ("start", "firstQuartile", "midpoint", "thirdQuartile", "complete")


def seconds_of(text: str) -> float | None:
    m = _TIME.match(text.strip())
    if not m:
        return None
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + float(m[4] or 0)


def _url_problem(url: str) -> str | None:
    url = url.strip()
    if url == "about:blank":
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{url[:80]!r} is not an absolute http(s) URL"
    if "[" in url or "%%" in url:
        return f"{url[:80]!r} holds an unreplaced macro"
    return None


def vast_problems(data: bytes) -> list[str]:
    """What in a VAST 4.x document breaks the specification beyond its schema (empty: nothing)."""
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError as exc:
        return [f"not XML: {exc}"]
    N = f"{{{VAST_NS}}}"
    if root.tag != N + "VAST":
        return [f"the root is {root.tag}, not VAST in {VAST_NS}"]
    problems: list[str] = []
    if not (root.get("version") or "").startswith("4."):
        problems.append(f"VAST@version is {root.get('version')!r}, not 4.x")
    ads = root.findall(N + "Ad")
    sequences = [a.get("sequence") for a in ads if a.get("sequence") is not None]
    if sequences and sorted(int(s) for s in sequences) != list(range(1, len(sequences) + 1)):
        problems.append(f"the pod's sequence numbers {sequences} are not 1..{len(sequences)}")
    serving: set[str] = set()
    for i, ad in enumerate(ads, 1):
        where = f"Ad {i}"
        inline = ad.find(N + "InLine")
        if inline is None:
            continue  # a Wrapper: its target is checked where it is fetched
        sid = (inline.findtext(N + "AdServingId") or "").strip()
        if not sid:
            problems.append(f"{where}: AdServingId is empty")
        elif sid in serving:
            problems.append(f"{where}: AdServingId {sid!r} is used by another ad of the document")
        serving.add(sid)
        if not (inline.findtext(N + "AdTitle") or "").strip():
            problems.append(f"{where}: AdTitle is empty")
        if inline.find(N + "Error") is None:
            problems.append(f"{where}: no Error URL (the player cannot report a failure)")
        for el in inline.iter(N + "Impression", N + "Error", N + "Tracking", N + "ClickThrough", N + "ClickTracking",
                              N + "MediaFile", N + "InteractiveCreativeFile"):  # fmt: skip
            problem = _url_problem(el.text or "")
            if problem:
                problems.append(f"{where}: {etree.QName(el).localname}: {problem}")
        for j, linear in enumerate(inline.iter(N + "Linear"), 1):
            lw = f"{where} Linear {j}"
            duration = seconds_of(linear.findtext(N + "Duration") or "")
            if not duration:
                problems.append(f"{lw}: Duration is missing or zero")
                continue
            skip = linear.get("skipoffset")
            if skip is not None:
                at = seconds_of(skip)
                pct = _PERCENT.match(skip)
                if (at is not None and at >= duration) or (pct and float(pct[1]) >= 100):
                    problems.append(f"{lw}: skipoffset {skip} is not inside the {duration:g} s ad")
            events = {t.get("event") for t in linear.iter(N + "Tracking")}
            missing = [q for q in QUARTILES if q not in events]
            if missing:
                problems.append(f"{lw}: no tracking for {', '.join(missing)}")
            files = linear.findall(f"{N}MediaFiles/{N}MediaFile")
            if not any((f.get("type") or "").startswith("video/mp4") for f in files):
                problems.append(f"{lw}: no video/mp4 MediaFile (what every browser plays)")
            for f in files:
                if f.get("width") in ("0", None) or f.get("height") in ("0", None):
                    problems.append(f"{lw}: a MediaFile without its size")
            for ic in linear.findall(f"{N}MediaFiles/{N}InteractiveCreativeFile"):
                if ic.get("apiFramework") == "SIMID" and ic.get("type") != "text/html":
                    problems.append(f"{lw}: a SIMID InteractiveCreativeFile must be type text/html")
        for creative in inline.iter(N + "Creative"):
            if creative.find(N + "UniversalAdId") is None:
                problems.append(f"{where}: a Creative without UniversalAdId")
    return problems

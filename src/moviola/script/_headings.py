"""Scene headings split into the parts a breakdown sheet needs."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PREFIX = re.compile(
    r"^(?P<p>INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|INT/EXT|I/E|INT|EXT|EST)\.?(?:\s+|$)", re.I
)
TIMES_OF_DAY = (
    # Spanish, for productions that write their headings in it.
    "MÁS TARDE",
    "AMANECER",
    "ATARDECER",
    "MAÑANA",
    "NOCHE",
    "TARDE",
    "DÍA",
    "DIA",
    "MOMENTS LATER",
    "CONTINUOUS",
    "MAGIC HOUR",
    "AFTERNOON",
    "MIDNIGHT",
    "MORNING",
    "EVENING",
    "SUNRISE",
    "SUNSET",
    "LATER",
    "NIGHT",
    "DAWN",
    "DUSK",
    "NOON",
    "SAME",
    "DAY",
)
_TOD = re.compile(
    r"^(?:(?:EARLY|LATE|THE)\s+)?(?:" + "|".join(TIMES_OF_DAY) + r")(?:\s+TIME)?\b", re.I
)
_ERA = re.compile(r"\s*\(([^()]*)\)\s*$")


@dataclass(frozen=True)
class Heading:
    """A scene heading's parts: ``INT``/``EXT``/``INT/EXT``/``EST``, location, time, era."""

    int_ext: str | None
    location: str
    time_of_day: str | None
    era: str | None


def parse_heading(text: str) -> Heading:
    """Split ``INT. CLUB SOCIAL - NIGHT (1979)`` into its parts."""
    rest = " ".join(text.split())
    int_ext: str | None = None
    m = _PREFIX.match(rest)
    if m:
        p = m.group("p").upper().replace(".", "").replace(" ", "")
        int_ext = {"I/E": "INT/EXT", "EXT/INT": "INT/EXT"}.get(p, p)
        rest = rest[m.end() :]
    era: str | None = None
    em = _ERA.search(rest)
    if em and re.search(r"\d{4}|FLASHBACK|DREAM|PRESENT", em.group(1), re.I):
        era, rest = em.group(1).strip(), rest[: em.start()]
    parts = [p.strip() for p in re.split(r"\s+-{1,2}\s+|\s+–\s+|\s+—\s+", rest) if p.strip()]
    time_of_day: str | None = None
    if len(parts) > 1 and _TOD.match(parts[-1]):
        time_of_day = parts.pop().upper()
    location = " - ".join(parts).strip(" .-") if parts else rest.strip()
    return Heading(int_ext, location.upper() if location else "", time_of_day, era)

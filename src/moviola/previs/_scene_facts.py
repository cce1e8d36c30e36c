"""What the script says a scene looks like: its hour, light colours, weather, crowds, towers.

The previs must show what the page says: a night scene is dark, the snow the
action describes falls (and glows, if it glows), forty thousand people in red
and blue fill the terraces, a twenty-storey tower folds in ten seconds. These
readers take a breakdown's scenes (headings, action beats, tags) and return
those facts with plain word rules. Pure: no USD, no files, so the stage builder
and the renderer can ask freely and tests can pin every rule.

Only action and notes are read, never dialogue (people talk about what is not
in frame). The breakdown's model-made VFX tags are noisy ("Air conditioners
drip" tagged as weather), so a tag's own words decide, never its ``vfx_kind``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from ..script import parse_heading

RGB = tuple[float, float, float]  # linear 0..1

# --------------------------------------------------------------------------
# number words
# --------------------------------------------------------------------------

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"dozen": 12, "hundred": 100, "thousand": 1000, "million": 1_000_000}
_ORD_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19,
}  # fmt: skip
_ORD_TENS = {
    "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50, "sixtieth": 60,
    "seventieth": 70, "eightieth": 80, "ninetieth": 90,
}  # fmt: skip


def _alt(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_WORD = _alt([*_UNITS, *_TENS, *_SCALES])
#: A number as written: ``2,000``, ``8``, ``forty thousand``, ``a hundred``, ``twenty-one``.
NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?"
    rf"|(?:(?:a|an)\s+(?=(?:{_alt(_SCALES)})\b))?(?:{_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_WORD}))*)"
)
#: An ordinal as written: ``sixth``, ``twentieth``, ``twenty-first``, ``21st``.
ORDINAL = (
    rf"(?:(?:(?:{_alt(_TENS)})[\s-])?(?:{_alt(_ORD_UNITS)})|(?:{_alt(_ORD_TENS)})"
    r"|\d+(?:st|nd|rd|th))"
)


def number_value(text: str) -> float | None:
    """``forty thousand`` -> 40000, ``2,000`` -> 2000, ``a dozen`` -> 12; None if not a number."""
    t = text.strip().lower()
    if re.fullmatch(r"[\d,]+(?:\.\d+)?", t):
        return float(t.replace(",", ""))
    words = [w for w in re.split(r"[\s-]+", t) if w and w != "and"]
    if words[:1] in (["a"], ["an"]) and len(words) > 1 and words[1] in _SCALES:
        words[0] = "one"
    total, current, seen = 0, 0, False
    for w in words:
        if w in _UNITS or w in _TENS:
            current += _UNITS.get(w, 0) + _TENS.get(w, 0)
        elif w == "dozen" or w == "hundred":
            current = max(current, 1) * _SCALES[w]
        elif w in _SCALES:
            total += max(current, 1) * _SCALES[w]
            current = 0
        else:
            return None
        seen = True
    return float(total + current) if seen else None


def ordinal_value(text: str) -> int | None:
    """``sixth`` -> 6, ``twentieth`` -> 20, ``twenty-first`` -> 21, ``21st`` -> 21."""
    t = text.strip().lower()
    if m := re.fullmatch(r"(\d+)(?:st|nd|rd|th)", t):
        return int(m.group(1))
    if t in _ORD_TENS:
        return _ORD_TENS[t]
    parts = re.split(r"[\s-]+", t)
    if len(parts) == 1 and t in _ORD_UNITS:
        return _ORD_UNITS[t]
    if len(parts) == 2 and parts[0] in _TENS and parts[1] in _ORD_UNITS:
        return _TENS[parts[0]] + _ORD_UNITS[parts[1]]
    return None


# --------------------------------------------------------------------------
# colour words
# --------------------------------------------------------------------------


def _linear(hex_srgb: int) -> RGB:
    """An sRGB ``0xRRGGBB`` as linear 0..1, the space the renderer lights in."""

    def channel(c: int) -> float:
        v = c / 255
        return round(v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4, 4)

    return channel(hex_srgb >> 16 & 255), channel(hex_srgb >> 8 & 255), channel(hex_srgb & 255)


#: Colour words a script uses for light, sky and costume, as linear RGB.
COLOURS: dict[str, RGB] = {
    name: _linear(code)
    for name, code in {
        "copper": 0xB87333, "amber": 0xFFBF00, "orange": 0xFF8C1A, "gold": 0xFFD24A,
        "golden": 0xFFD24A, "red": 0xD42A2A, "blood red": 0x8A0303, "crimson": 0xC0142F,
        "scarlet": 0xFF2400, "rust": 0xB7410E, "bronze": 0xCD7F32, "ochre": 0xCC7722,
        "yellow": 0xFFE03A, "sodium": 0xFF9A33, "sodium orange": 0xFF9A33,
        "blue": 0x2A62E0, "cold blue": 0x7FB0FF, "pale blue": 0xAFCBFF, "ice blue": 0xCFEFFF,
        "icy blue": 0xCFEFFF, "icy": 0xCFEFFF, "electric blue": 0x3FA9FF, "navy": 0x1F2A5A,
        "cyan": 0x3FE0F0, "turquoise": 0x40E0D0, "teal": 0x1A8C8C, "green": 0x2E9E44,
        "sickly green": 0xA3B83A, "violet": 0x8A2BE2, "purple": 0x6A2C91, "indigo": 0x4B0082,
        "magenta": 0xE0218A, "pink": 0xFF8FB5, "lilac": 0xC8A2C8, "grey": 0x808080,
        "gray": 0x808080, "silver": 0xC0C4CC, "white": 0xF5F5F5, "cold white": 0xDCE8FF,
        "warm white": 0xFFE2B8, "black": 0x111111, "brown": 0x6B4226,
    }.items()
}  # fmt: skip
_COLOUR = _alt(n.replace(" ", r"[\s-]+") for n in COLOURS)
_NOT_GLOW = {"black", "brown", "grey", "gray", "navy"}  # no luminous thing is these


def colour(word: str) -> RGB | None:
    """The RGB for a colour word (``cold blue``, ``blood-red``, ``Gray``), else None."""
    return COLOURS.get(" ".join(re.split(r"[\s-]+", word.strip().lower())))


def _colour_name(word: str) -> str:
    return " ".join(re.split(r"[\s-]+", word.strip().lower()))


# --------------------------------------------------------------------------
# scene text
# --------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z¡¿])")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


def scene_texts(scene: dict[str, Any], heading: bool = False) -> list[str]:
    """The scene's action paragraphs, then its notes (the VFX tags' text not already in them).

    Dialogue and lyrics are left out: what people say is not what the camera sees.
    With ``heading``, the heading comes first (``light_words`` reads it too).
    """
    texts = [str(scene["heading"])] if heading and scene.get("heading") else []
    actions = [
        str(b.get("text", "")) for b in scene.get("beats") or [] if b.get("kind") == "action"
    ]
    texts += actions
    for tag in scene.get("tags") or []:
        text = str(tag.get("text") or "")
        fresh = text and text not in texts and not any(text in a for a in actions)
        if tag.get("kind") == "vfx" and fresh:
            texts.append(text)
    return texts


def _int_ext(scene: dict[str, Any]) -> str | None:
    value = scene.get("int_ext")
    if value is None and scene.get("heading"):
        value = parse_heading(str(scene["heading"])).int_ext
    return str(value).upper() if value else None


# --------------------------------------------------------------------------
# the hour
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Hour:
    """When a scene plays, and what said so.

    ``source``: ``heading`` (its heading names the hour), ``inherited`` (CONTINUOUS,
    LATER, SAME or no hour: the previous scene's), ``breakdown`` (nothing before
    it: the breakdown's DAY/NIGHT), ``text`` (the action says so: "Dawn breaks").
    ``era``: the heading's era (``1979``, ``FLASHBACK``), None for the story's present.
    """

    kind: str  # "day" | "night" | "dawn" | "dusk"
    source: str  # "heading" | "inherited" | "breakdown" | "text"
    era: str | None = None


#: Heading words for an hour, most specific first (``MAGIC HOUR`` before ``DAY``).
_HOUR_WORDS: tuple[tuple[str, str], ...] = (
    ("MAGIC HOUR", "dusk"), ("GOLDEN HOUR", "dusk"), ("BLUE HOUR", "dusk"),
    ("FIRST LIGHT", "dawn"), ("DAYBREAK", "dawn"), ("SUNRISE", "dawn"), ("DAWN", "dawn"),
    ("AMANECER", "dawn"), ("ALBA", "dawn"), ("MADRUGADA", "night"),
    ("SUNSET", "dusk"), ("SUNDOWN", "dusk"), ("DUSK", "dusk"), ("TWILIGHT", "dusk"),
    ("EVENING", "dusk"), ("ATARDECER", "dusk"), ("ANOCHECER", "dusk"), ("CREPÚSCULO", "dusk"),
    ("MIDNIGHT", "night"), ("NIGHT", "night"), ("NOCHE", "night"),
    ("MORNING", "day"), ("AFTERNOON", "day"), ("MIDDAY", "day"), ("NOON", "day"),
    ("MEDIODÍA", "day"), ("MAÑANA", "day"), ("TARDE", "day"), ("DÍA", "day"), ("DIA", "day"),
    ("DAY", "day"),
)  # fmt: skip
_LATER_ES = re.compile(r"\bM[ÁA]S\s+TARDE\b", re.I)
_PRESENT = re.compile(r"\bPRESENT(?:\s+DAY)?\b|\bPRESENTE\b|\bACTUALIDAD\b", re.I)
_TRAILING_ERA = re.compile(r"\s*\(([^()]*)\)\s*$")
_DASHES = re.compile(r"\s+-{1,2}\s+|\s+[–—]\s+")

#: Action that states the hour changing, and the hour it comes to.
_HOUR_CHANGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.I), kind)
    for p, kind in (
        (r"\b(?:dawn|day)\s+(?:breaks|broke|is breaking|has broken)\b", "dawn"),
        (r"\bat (?:dawn|daybreak|sunrise|first light)\b", "dawn"),
        (
            r"\bthe sun (?:rises|rose|is rising|has risen|comes up|came up|is coming up|clears the)\b",
            "dawn",
        ),
        (r"\bthe sky (?:lightens|pales|begins to lighten|is getting light)\b", "dawn"),
        (
            r"\bthe sun (?:sets|set|is setting|has set|goes down|went down|is going down|sinks)\b",
            "dusk",
        ),
        (r"\bat (?:dusk|sunset|sundown|twilight)\b", "dusk"),
        (r"\b(?:dusk|twilight) (?:falls|fell|has fallen|gathers|settles)\b", "dusk"),
        (r"\b(?:night|darkness) (?:falls|fell|has fallen|closes in)\b", "night"),
        (r"\bat (?:nightfall|midnight)\b", "night"),
        (r"\b(?:in )?broad daylight\b", "day"),
        (r"\b(?:morning|the day) (?:comes|has come|arrives)\b", "day"),
    )
)


def hour_of_literal(literal: str | None) -> str | None:
    """The hour a heading's time names (``NIGHT``, ``ATARDECER``, ``LATER THAT NIGHT``), or None.

    None for CONTINUOUS, LATER, MOMENTS LATER, SAME (TIME), MÁS TARDE, A FEW
    MINUTES LATER and anything else that names no hour: those inherit.
    """
    if not literal:
        return None
    text = _PRESENT.sub(" ", _LATER_ES.sub(" ", literal.upper()))
    for word, kind in _HOUR_WORDS:
        if re.search(rf"\b{word}\b", text):
            return kind
    return None


def _time_and_era(scene: dict[str, Any]) -> tuple[str | None, str | None, bool]:
    """The heading's time literal, its era and whether it says PRESENT (back from an era)."""
    heading = " ".join(str(scene.get("heading") or "").split())
    parts = parse_heading(heading) if heading else None
    literal = scene.get("time_of_day") or (parts.time_of_day if parts else None)
    era = scene.get("era") or (parts.era if parts else None)
    rest = _TRAILING_ERA.sub("", heading)
    if literal is None and heading:
        # parse_heading knows a fixed list; "A FEW MINUTES LATER" or "PRESENT DAY" land
        # in the location, so read the heading's last dash part here.
        pieces = _DASHES.split(rest)
        literal = pieces[-1] if len(pieces) > 1 else None
    present = bool(_PRESENT.search(heading))
    if era and _PRESENT.search(str(era)):
        era = None
    return (str(literal) if literal else None), (str(era) if era else None), present


def _stated_hour(texts: list[str]) -> str | None:
    """The hour the action says it comes to ("Dawn breaks"), the last one stated."""
    found: list[tuple[int, int, str]] = []
    for i, text in enumerate(texts):
        for pattern, kind in _HOUR_CHANGES:
            found += [(i, m.start(), kind) for m in pattern.finditer(text)]
    return max(found)[2] if found else None


def resolve_hours(scenes: list[dict[str, Any]]) -> dict[str, Hour]:
    """Each scene's hour, by scene number, reading the scenes in script order.

    The heading's hour wins. A heading with none (CONTINUOUS, LATER, SAME, or no
    time at all) takes the hour the previous scene ended at; with nothing
    before, the breakdown's ``day_night``. Action stating a change ("Dawn
    breaks", "the sun sets") sets an hour the heading left open, and the hour
    the chain carries on from even where the heading named one.

    Eras (flashbacks): CONTINUOUS after ``NIGHT (1979)`` continues the flashback
    (that is what the word says, and later flashback headings rarely repeat the
    year), so it takes the flashback's hour and era. The present resumes where a
    heading names an hour without an era, or says PRESENT: a PRESENT heading with
    no hour takes the hour of the last present-day scene, not the flashback's.
    """
    hours: dict[str, Hour] = {}
    ended: dict[str | None, str] = {}  # the hour each era's last scene ended at
    previous: tuple[str, str | None] | None = None  # (hour, era) the last scene ended at
    for scene in scenes:
        literal, era, present = _time_and_era(scene)
        named = hour_of_literal(literal)
        if named is not None:
            hour = Hour(named, "heading", era)
        elif era is not None or present:
            base = ended.get(era)
            hour = Hour(base, "inherited", era) if base else _from_breakdown(scene, era)
        elif previous is not None:
            hour = Hour(previous[0], "inherited", previous[1])
        else:
            hour = _from_breakdown(scene, None)
        stated = _stated_hour(scene_texts(scene))
        if stated and hour.source != "heading":
            hour = Hour(stated, "text", hour.era)
        hours[str(scene["number"])] = hour
        previous = (stated or hour.kind, hour.era)
        ended[hour.era] = previous[0]
    return hours


def _from_breakdown(scene: dict[str, Any], era: str | None) -> Hour:
    night = str(scene.get("day_night") or "").upper() == "NIGHT"
    return Hour("night" if night else "day", "breakdown", era)


# --------------------------------------------------------------------------
# light and sky colours
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tints:
    """Colours the script gives the sky, the light and anything that glows.

    Each is the first one the text states; ``words`` keeps every phrase that
    named one, in order, so a reviewer can see why the board looks as it does.
    """

    sky: RGB | None
    light: RGB | None
    glow: RGB | None
    words: tuple[str, ...]


_BETWEEN = r"(?:[\s,-]+(?!(?:and|or|like|with|as|of)\b)[a-z'-]+){0,2}?[\s,-]+"
_SKY = re.compile(
    rf"\b(?P<c>{_COLOUR}){_BETWEEN}(?:sky|skies|haze|clouds?|horizon|smog|overcast|heavens)\b"
    rf"|\bsky (?:is|turns|goes|glows|burns|was|has turned)\s+(?:an?\s+)?(?:[a-z'-]+\s+)??(?P<c2>{_COLOUR})\b",
    re.I,
)
_LIGHT = re.compile(
    rf"\b(?P<c>{_COLOUR}){_BETWEEN}(?:light|lights|lighting|glow|glare|gleam|neon|lamps?|"
    r"lamplight|streetlights?|streetlamps?|floodlights?|moonlight|sunlight|candlelight|firelight|beams?)\b"
    rf"|\bbathed in (?:an?\s+)?(?:[a-z'-]+\s+)??(?P<c2>{_COLOUR})\b",
    re.I,
)
_GLOWS = re.compile(
    r"\b(?:glows|glowed|glowing|luminous|luminescent|bioluminescen\w*|phosphorescen\w*|incandescent"
    r"|glow(?=\s+(?:faintly|softly|brightly|dimly|from within)))\b",
    re.I,
)
_COLOUR_WORD = re.compile(rf"\b(?:{_COLOUR})\b", re.I)
GLOW_WHITE: RGB = _linear(0xE8F0FF)  # a glow the script gives no colour


def _glow_colour(paragraph: str, at: int, end: int) -> tuple[RGB, str] | None:
    """The colour of the glow at ``paragraph[at:end]``: the next colour word after it in
    the paragraph ("It glows -- a faint, cold blue"), else one just before ("blue-glowing")."""
    after = [
        m for m in _COLOUR_WORD.finditer(paragraph, end) if _colour_name(m[0]) not in _NOT_GLOW
    ]
    if after:
        near = after[0].start() - end <= 24
        phrase = paragraph[at : after[0].end()] if near else f"{paragraph[at:end]} … {after[0][0]}"
        return COLOURS[_colour_name(after[0][0])], phrase
    before = [
        m
        for m in _COLOUR_WORD.finditer(paragraph, max(0, at - 16), at)
        if _colour_name(m[0]) not in _NOT_GLOW
    ]
    if before:
        return COLOURS[_colour_name(before[-1][0])], paragraph[before[-1].start() : end]
    return None


def light_words(texts: list[str]) -> Tints:
    """The sky, light and glow colours a scene's text states (its heading and action).

    "a low, copper sky" sets the sky; "cold blue light", "an amber glow", "sodium
    lights" set the light; something that glows ("It glows -- a faint, cold blue",
    "luminous snow. The wipers smear blue light") sets the glow, from the next
    colour the paragraph names. A glow with no colour said sets nothing.
    """
    found: dict[str, tuple[int, int, RGB]] = {}
    words: list[tuple[int, int, str]] = []
    for i, text in enumerate(texts):
        for field, pattern in (("sky", _SKY), ("light", _LIGHT)):
            for m in pattern.finditer(text):
                name = m.group("c") or m.group("c2")
                words.append((i, m.start(), m[0]))
                found.setdefault(field, (i, m.start(), COLOURS[_colour_name(name)]))
        for m in _GLOWS.finditer(text):
            glow = _glow_colour(text, m.start(), m.end())
            if glow is not None:
                words.append((i, m.start(), glow[1]))
                found.setdefault("glow", (i, m.start(), glow[0]))
    pick = {k: v[2] for k, v in found.items()}
    return Tints(
        pick.get("sky"), pick.get("light"), pick.get("glow"), tuple(w for *_, w in sorted(words))
    )


# --------------------------------------------------------------------------
# weather
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Weather:
    """Something falling or hanging in the air of an exterior, as the script says it.

    ``intensity`` 0..1: 0.15 for a single flake or a drizzle, 0.5 when the text
    just names it, 0.9 for a curtain of snow, a blizzard, a wall of dust.
    ``carried``: not said in this scene but still falling from the one before.
    """

    kind: str  # "snow" | "rain" | "fog" | "dust" | "smoke"
    intensity: float
    glow: RGB | None
    evidence: str
    carried: bool = False


KINDS = ("snow", "rain", "fog", "dust", "smoke")
#: Weather that goes on between scenes; dust and smoke belong to the event that raised them.
CARRIES = ("snow", "rain", "fog")
LIGHT, NAMED, HEAVY = 0.15, 0.5, 0.9

_MENTION = {
    "snow": r"\b(?:snow\w*|flakes?|blizzards?|whiteout|flurr(?:y|ies))\b(?!\s+of\s+(?!snow)\w)",
    "rain": r"\b(?:rain(?:fall|storm|drops?)?|drizzl\w*|downpour)\b(?![\s-]*(?:capes?|coats?|boots|jackets?|hats?|gear|barrels?|gauges?|check))"
    r"|\b(?:rains|raining)\b(?!\s+(?!hard|heavily|again|harder|steadily|now|still|outside)[a-z])",
    "fog": r"\b(?:fog|foggy|mist|misty|haze|hazy)\b(?!-eyed)",
    "dust": r"\b(?:dust|sandstorm|duststorm)\b(?![\s-]+(?:jackets?|sheets?|pans?|covers?|motes?))",
    "smoke": r"\b(?:smoke|smoky|smoke-filled)\b(?![\s-]+(?:columns?|plumes?|pillars?|trails?|alarms?|detectors?|bombs?|breaks?|signals?))",
}
_NOT_AIRBORNE = {
    "smoke": re.compile(r"\b(?:columns?|plumes?|pillars?|trails?) of (?:\w+\s+)?smoke\b", re.I),
}
_HEAVY = {
    "snow": r"\b(?:curtain|wall|sheets?|storm|torrent|whirl)s? of (?:\w+\s+)?snow\b|\bthick with snow\b"
    r"|\b(?:heavy|heavily|thick|dense|driving|swirling|blinding|whirling)\s+(?:\w+\s+)?snow\w*\b"
    r"|\bblizzards?\b|\bwhiteout\b|\bsnowstorm\b|\bsnow\w* (?:heavily|hard|thickly)\b",
    "rain": r"\bdownpour\b|\btorrential\b|\bpouring\b|\bsheets of rain\b|\blashing\b"
    r"|\b(?:heavy|driving|pelting)\s+rain\b|\brainstorm\b|\bthunderstorm\b|\braining hard\b",
    "fog": r"\b(?:thick|dense|heavy|impenetrable)\s+(?:fog|mist|haze)\b|\bpea-souper\b"
    r"|\b(?:wall|blanket|bank) of (?:fog|mist)\b|\bfog so thick\b",
    "dust": r"\b(?:wall|cloud|storm|curtain|column) of (?:\w+\s+)?dust\b|\bdust[\s-]?(?:cloud|storm)\b"
    r"|\bsandstorm\b|\bduststorm\b|\b(?:choking|thick|blinding) dust\b|\bthick with dust\b",
    "smoke": r"\b(?:thick|black|choking|dense|billowing)\s+smoke\b|\bsmoke (?:fills|billows|pours)\b"
    r"|\bfilled with smoke\b|\bthick with smoke\b|\b(?:wall|cloud|pall)s? of (?:\w+\s+)?smoke\b",
}
_LIGHTLY = {
    "snow": r"\b(?:single|lone|a few|few|first|one|stray|occasional|light|fine|scattered)\s+(?:\w+\s+)?(?:snow)?flakes?\b"
    r"|\bflurr(?:y|ies)\b|\blight snow\w*\b|\bdusting\b|\ba (?:snow)?flake\b|\bflake of snow\b",
    "rain": r"\bdrizzl\w*\b|\blight rain\b|\bspots? of rain\b|\ba few drops\b|\bspitting\b",
    "fog": r"\b(?:mist|misty|haze|hazy|wisps? of fog|light fog)\b",
    "dust": r"\b(?:motes|specks?|puffs?|wisps?) of dust\b",
    "smoke": r"\b(?:wisps?|curls?|threads?|thin) (?:of )?smoke\b|\bcigarette smoke\b",
}
_FALL_ENDS = r"stopped|stops|ceased|ceases|eased off|eases off|let up|lets up"
_AIR_CLEARS = r"lifted|lifts|cleared|clears|thinned|thins|settled|settles|burns off|burned off"
#: "The snow has stopped", "the fog lifts", "it stops raining": that weather is over.
_STOPPED = {
    kind: re.compile(
        rf"\b{word}\s+(?:has\s+|had\s+|is\s+)?(?:{ends})\b"
        rf"|\bstop(?:s|ped)? {verb}\b|\bno longer {verb}\b|\bno more {word}\b",
        re.I,
    )
    for kind, word, verb, ends in (
        ("snow", r"(?:snow(?:fall)?|it)", "snowing", _FALL_ENDS),
        ("rain", r"(?:rain(?:fall)?|it)", "raining", _FALL_ENDS),
        ("fog", r"(?:fog|mist|haze)", "foggy", _AIR_CLEARS),
        ("dust", r"dust", "blowing", _AIR_CLEARS),
        ("smoke", r"smoke", "smoking", _AIR_CLEARS),
    )
}
_ABSENT = re.compile(
    r"\b(?:free of|clear of|no|without|not a (?:single )?)\s+(?:\w+\s+)?(?:snow|rain|fog|dust|smoke)",
    re.I,
)
_NEVER = re.compile(r"(?!)")
_SIMILE = re.compile(r"\b(?:like|as if|as though)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,2}$", re.I)
_SNOW_GROUND = re.compile(
    r"\b(?:lies|lay|lying|settles|settled|covers|covered|covering|blankets?|blanketed|carpet(?:ed|s)?"
    r"|under(?:neath)? the snow|in(?:to)? the snow|(?:from|out of) the snow|wades?|wading|(?:knee|waist|ankle)-deep"
    r"|drifts of|snowdrifts?|accumulat\w*|snow-covered|snowy|on the ground|buried|padded snow|piles? of snow)\b",
    re.I,
)
_SNOW_FALLING = re.compile(
    r"\b(?:falls?|falling|fell|drifts?\s+(?:down|through|across|past|in)|drifting|sweeps?|swirl\w*|blows?|blew"
    r"|blowing|flurr\w*|flakes?|snowflakes?|curtain|thick with|snowing|snows|snowfall|blizzards?|whiteout)\b",
    re.I,
)
_SETTLED_DUST = re.compile(
    r"\b(?:coated|covered|caked|(?:grey|gray|white) with|layer of|film of)\b", re.I
)
_WHITENED = re.compile(
    r"\b(?:turning white|turned white|white river|white over|glowing blanket|white blanket)\b", re.I
)
_MELTED = re.compile(r"\bsnow (?:has |had )?(?:melted|thawed|gone)\b|\bthaw(?:s|ed|ing)?\b", re.I)


@dataclass
class _Said:
    """What a scene's text says about one kind of weather."""

    cues: list[tuple[float, str]]  # (intensity or NAMED, sentence) for each falling mention
    glow: tuple[RGB | None, str] | None = None  # (colour, phrase) where it glows


def _mentions(kind: str, sentence: str) -> bool:
    for m in re.finditer(_MENTION[kind], sentence, re.I):
        if not _SIMILE.search(sentence[: m.start()]):
            return True
    return False


def _read_weather(texts: list[str]) -> tuple[dict[str, _Said], set[str], bool]:
    """Falling weather by kind, the kinds the text says stopped, and whether the ground is
    said to be snowy (snow lying, "under the snow", or snow that has stopped)."""
    said: dict[str, _Said] = {}
    stopped: set[str] = set()
    ground = False
    for paragraph in texts:
        sentences = _sentences(paragraph)
        for j, sentence in enumerate(sentences):
            pronoun_glow = bool(
                re.match(r"\s*(?:it|they)\s+(?:glows?|glowed|is glowing)", sentence, re.I)
            )
            for kind in KINDS:
                here = _mentions(kind, sentence)
                if not here and not (pronoun_glow and j and _mentions(kind, sentences[j - 1])):
                    continue
                glow = _GLOWS.search(sentence)
                if glow is not None:
                    entry = said.setdefault(kind, _Said([]))
                    if entry.glow is None or entry.glow[0] is None:
                        at = paragraph.find(sentence) + glow.start()
                        coloured = _glow_colour(paragraph, at, at + len(glow[0]))
                        entry.glow = (coloured[0], coloured[1]) if coloured else (None, glow[0])
                if not here:
                    continue
                if _STOPPED[kind].search(sentence):
                    stopped.add(kind)
                    ground = ground or kind == "snow"
                    continue
                if _ABSENT.search(sentence) or _NOT_AIRBORNE.get(kind, _NEVER).search(sentence):
                    continue
                if (
                    kind == "snow"
                    and _SNOW_GROUND.search(sentence)
                    and not _SNOW_FALLING.search(sentence)
                ):
                    ground = True
                    continue
                if kind == "dust" and _SETTLED_DUST.search(sentence):
                    continue
                level = (
                    HEAVY
                    if re.search(_HEAVY[kind], sentence, re.I)
                    else LIGHT
                    if re.search(_LIGHTLY[kind], sentence, re.I)
                    else NAMED
                )
                said.setdefault(kind, _Said([])).cues.append((level, sentence))
    if not ground and any(_WHITENED.search(t) for t in texts):
        ground = any(_mentions("snow", t) for t in texts)
    return said, stopped, ground


def _stated(kind: str, said: _Said, previous: Weather | None) -> Weather:
    """One kind's weather from its cues: the strongest cue said, else just named (0.5)."""
    graded = [c for c in said.cues if c[0] != NAMED]
    level, evidence = max(graded, key=lambda c: c[0]) if graded else (NAMED, said.cues[0][1])
    glow: RGB | None
    if said.glow is not None:
        glow = said.glow[0] or (previous.glow if previous else None) or GLOW_WHITE
    else:
        glow = previous.glow if previous else None
    return Weather(kind, level, glow, evidence)


def _outside(
    scene: dict[str, Any], previous: list[Weather] | None, keep: bool = False, carry: bool = True
) -> list[Weather]:
    """The weather in force outside during the scene: what it says, plus what carries on.

    ``keep``: the previous weather stands over this scene's words for a kind both
    name (an interior's glimpse through a window does not restate the storm).
    ``carry``: False to take only the previous glow, not the previous weather.
    """
    said, stopped, _ = _read_weather(scene_texts(scene))
    before = {w.kind: w for w in previous or []}
    out: list[Weather] = []
    for kind in KINDS:
        prior = before.get(kind)
        if kind in stopped:
            continue
        carries = carry and kind in CARRIES
        if prior is not None and carries and (keep or not said.get(kind, _Said([])).cues):
            out.append(replace(prior, carried=True))
        elif kind in said and said[kind].cues:
            out.append(_stated(kind, said[kind], prior))
    return out


def weather_of(scene: dict[str, Any], previous: list[Weather] | None = None) -> list[Weather]:
    """The falling weather to show in a scene, from its action, notes and VFX tags' words.

    ``previous``: the weather falling outside before this scene, in the same era
    and the same hour (see :func:`weather_by_scene`, which walks a script). An EXT
    or INT./EXT. scene keeps snow, rain or fog still falling from it unless its
    text says it stopped ("The snow has stopped"); what the scene says itself
    wins. An INT. scene shows none ([]). A heading with no INT/EXT shows what its
    own text says, nothing carried (it may be a stairwell, it may be a street).
    The same snow keeps its glow: a scene that says it glows but not in what
    colour takes the previous glow (or a pale white).
    """
    where = _int_ext(scene)
    if where == "INT":
        return []
    return _outside(scene, previous, carry=where is not None)


def ground_cover(scene: dict[str, Any], previous: str | None = None) -> str | None:
    """``snow`` where the text says the ground is white (snow lying on cars, "under the
    snow", a white avenue, or snow that has stopped: it fell), else ``previous`` (the
    ground before: snow lies on) unless the scene says it melted."""
    texts = scene_texts(scene)
    _, _, snowy = _read_weather(texts)
    if snowy:
        return "snow"
    if any(_MELTED.search(t) for t in texts):
        return None
    return previous


def _walk(scenes: list[dict[str, Any]]) -> Iterable[tuple[dict[str, Any], Hour, Hour | None]]:
    """Each scene with its hour and the hour of the last scene in its era (None: the first)."""
    hours = resolve_hours(scenes)
    last: dict[str | None, Hour] = {}
    for scene in scenes:
        hour = hours[str(scene["number"])]
        yield scene, hour, last.get(hour.era)
        last[hour.era] = hour


def weather_by_scene(scenes: list[dict[str, Any]]) -> dict[str, list[Weather]]:
    """Each scene's weather, by scene number, carrying it between scenes of the same night.

    Falling weather carries on to the next scene of the same era whose hour is
    the same (one night's snow is still falling at the next night scene; a dawn
    or a flashback starts afresh). Interiors pass it on unseen.
    """
    out: dict[str, list[Weather]] = {}
    outside: dict[str | None, list[Weather]] = {}
    for scene, hour, before in _walk(scenes):
        previous = outside.get(hour.era) if before and before.kind == hour.kind else None
        out[str(scene["number"])] = weather_of(scene, previous)
        outside[hour.era] = _outside(scene, previous, keep=_int_ext(scene) == "INT")
    return out


def ground_by_scene(scenes: list[dict[str, Any]]) -> dict[str, str | None]:
    """Each scene's ground cover, by scene number: snow that lies stays, through the
    hours, until a scene says it melted; a flashback's ground is its own."""
    out: dict[str, str | None] = {}
    ground: dict[str | None, str | None] = {}
    for scene, hour, _ in _walk(scenes):
        out[str(scene["number"])] = ground[hour.era] = ground_cover(scene, ground.get(hour.era))
    return out


# --------------------------------------------------------------------------
# crowds
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Crowd:
    """A group of extras the scene shows: what they are, how many, what they wear."""

    name: str
    count: int
    colours: tuple[RGB, ...]
    evidence: str


_VAGUE: dict[str, int] = {
    "tens of thousands": 30000, "hundreds of thousands": 300000, "thousands": 5000,
    "hundreds": 300, "dozens": 36, "scores": 60, "a score": 20, "a handful": 5,
    "a couple of": 2, "a couple": 2, "a few": 3, "several": 6, "a crowd of": 60,
    "a mob of": 40, "a throng of": 80, "a group of": 8, "a pair of": 2, "many": 20,
}  # fmt: skip
_VAGUE_ALT = _alt(k.replace(" ", r"\s+") for k in _VAGUE)
_COLLECTIVE = {"crowd": 60, "crowds": 120, "mob": 40, "throng": 80, "audience": 80}
_PLURAL_NOUNS = {"people", "police", "men", "women", "children", "folk", "staff", "crew", "kids"}
_QUANTITY = re.compile(rf"(?P<q>{_VAGUE_ALT}|{NUMBER})\s+(?:of\s+)?(?:the\s+)?$", re.I)
_LEADING_QUANTITY = re.compile(rf"\s*(?:{_VAGUE_ALT}|{NUMBER})\s+(?:of\s+)?(?:the\s+)?", re.I)
_OFFSCREEN = re.compile(
    r"\b(?:TV|television|telly|screen|speakers?|radio|phone|footage|broadcast|monitor)\b", re.I
)
_CROWD_NOUN = re.compile(
    r"\b(?:a|an|the|this|that|whole|entire|big|huge|large|vast|small|growing|angry|excited|restless|dense)"
    r"\s+(?:[\w-]+\s+)?crowds?\b|^\s*crowds\b",
    re.I,
)
_COLOUR_LIST = rf"(?:{_COLOUR})(?:\s*(?:,|and|or|&|/)\s*(?:{_COLOUR}))*"


def _count(before: str, text: str, noun: str) -> int:
    """How many a crowd's words say: a number, a vague quantity, or the noun's default."""
    whole = " ".join(text.lower().split())
    if whole in _VAGUE:
        return _VAGUE[whole]
    if re.fullmatch(NUMBER, whole) and (value := number_value(whole)):
        return int(value)
    m = _QUANTITY.search(before)
    if m:
        q = " ".join(m.group("q").lower().split())
        value = _VAGUE.get(q) or number_value(q)
        if value:
            return int(value)
    key = noun.lower()
    if key in _COLLECTIVE:
        return _COLLECTIVE[key]
    return 12 if key.endswith("s") or key in _PLURAL_NOUNS else 1


def _wearing(sentence: str, noun: str) -> tuple[RGB, ...]:
    """The colours a group is said to wear: "people in red and blue", "red-shirted fans"."""
    n = re.escape(noun)
    m = re.search(
        rf"\b{n}\s+(?:all\s+)?(?:in|wearing|dressed in|clad in|draped in)\s+(?P<l>{_COLOUR_LIST})\b",
        sentence,
        re.I,
    )
    m = m or re.search(
        rf"\b(?P<l>{_COLOUR_LIST})(?:[\s-]+(?:shirted|clad|jerseyed|scarfed))?\s+{n}\b",
        sentence,
        re.I,
    )
    if not m:
        return ()
    names = [_colour_name(c[0]) for c in _COLOUR_WORD.finditer(m.group("l"))]
    return tuple(COLOURS[c] for c in dict.fromkeys(names))


def crowds_of(scene: dict[str, Any]) -> list[Crowd]:
    """The groups of extras a scene shows, from its ``extras`` tags and their sentences.

    "Forty thousand people in red and blue" -> 40000 people in red and blue;
    "Dozens of SURVIVORS" -> 36; "a crowd" -> 60; "NEIGHBOURS" -> 12. One Crowd per
    group (by name, the largest count said). Left out: a crowd heard or seen on a
    TV, radio, speaker or phone (not in the set), and "crowd" as a verb
    ("NEIGHBOURS in pyjamas crowd the landings" is the neighbours).
    """
    groups: dict[str, Crowd] = {}
    for tag in scene.get("tags") or []:
        if tag.get("kind") != "extras" or not tag.get("text"):
            continue
        text = " ".join(str(tag["text"]).split())
        context = " ".join(str(tag.get("context") or text).split())
        sentence = next((s for s in _sentences(context) if text.lower() in s.lower()), context)
        if _OFFSCREEN.search(sentence):
            continue
        at = max(sentence.lower().find(text.lower()), 0)
        q = _LEADING_QUANTITY.match(text)
        name = text[q.end() :] if q and q.end() < len(text) else text
        noun = name.split()[-1] if name.split() else name
        if noun.lower() in ("crowd", "crowds") and not _CROWD_NOUN.search(
            sentence[: at + len(text)]
        ):
            continue
        count = _count(sentence[:at] + (text[: q.end()] if q else ""), text, noun)
        crowd = Crowd(name, count, _wearing(sentence, noun), sentence)
        key = name.lower()
        if key in groups:
            old = groups[key]
            crowd = Crowd(
                old.name, max(old.count, count), old.colours or crowd.colours, old.evidence
            )
        groups[key] = crowd
    return list(groups.values())


# --------------------------------------------------------------------------
# towers and how long things take
# --------------------------------------------------------------------------

_STOREYS = re.compile(
    rf"\b(?P<n>{NUMBER})[\s-]+(?:storey|story|storied|floor|level)(?:s|ed)?\b", re.I
)
_NTH_FLOOR = re.compile(rf"\b(?P<n>{ORDINAL})[\s-]+(?:floor|storey|story|level)\b", re.I)
_ORDINAL_RUN = re.compile(rf"\b{ORDINAL}(?:\s*(?:,|--|—|–|\.\.\.)\s*{ORDINAL})+\b", re.I)
_ORDINAL_WORD = re.compile(rf"\b{ORDINAL}\b", re.I)


def storeys_in(texts: list[str]) -> int | None:
    """How many storeys the text gives a building, or None.

    "a twenty-storey tower", "20 floors" state it; "the sixth floor sags" only
    says there are at least six; a countdown "Twentieth, nineteenth, eighteenth
    --" starts at the top floor. The largest of these is the answer.
    """
    seen: list[int] = []
    for text in texts:
        for m in _STOREYS.finditer(text):
            value = number_value(m.group("n"))
            if value:
                seen.append(int(value))
        seen += [v for m in _NTH_FLOOR.finditer(text) if (v := ordinal_value(m.group("n")))]
        for m in _ORDINAL_RUN.finditer(text):
            run = [ordinal_value(o[0]) or 0 for o in _ORDINAL_WORD.finditer(m[0])]
            steps = {b - a for a, b in pairwise(run)}
            if steps == {-1} or (steps == {1} and len(run) >= 3):
                seen.append(max(run))
    return max(seen) if seen else None


_UNIT_S = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
_DURATION = re.compile(
    r"\b(?:in|within|over|for|taking|takes|took|lasting|lasts|inside)\s+"
    r"(?:(?:about|around|some|just|barely|under|nearly|almost|less than|more than|only|roughly|a mere)\s+)?"
    rf"(?P<n>half an?|a few|a couple of|{NUMBER}|an?)\s+(?P<u>second|minute|hour)s?\b"
    r"(?P<half>\s+and\s+a\s+half)?(?!\s+(?:later|ago|before|after))",
    re.I,
)
_DURATION_ADJ = re.compile(
    rf"\b(?P<n>{NUMBER})-(?P<u>second|minute|hour)\b(?!\s+(?:floor|storey|story|level|half|row|time|place))",
    re.I,
)
_NEGATED = re.compile(r"\b(?:not|never|no)\b|n't\b", re.I)


def duration_in(texts: list[str]) -> float | None:
    """How long the text says an event takes, in seconds: "In ten seconds the tower
    folds" -> 10, "within 8 seconds" -> 8, "over half a minute" -> 30, "a ten-second
    fall" -> 10. The first stated; None if none. "He hasn't moved in an hour" is
    not a duration (negated), nor "ten seconds later" (a jump in time)."""
    for text in texts:
        for m in sorted(
            [*_DURATION.finditer(text), *_DURATION_ADJ.finditer(text)], key=lambda m: m.start()
        ):
            lead = re.split(r"[.!?]\s", text[max(0, m.start() - 30) : m.start()])[-1]
            if _NEGATED.search(lead):
                continue
            n = " ".join(m.group("n").lower().split())
            amount = {
                "a": 1.0,
                "an": 1.0,
                "half a": 0.5,
                "half an": 0.5,
                "a few": 3.0,
                "a couple of": 2.0,
            }.get(n)
            amount = amount if amount is not None else number_value(n)
            if amount is None:
                continue
            if m.re is _DURATION and m.group("half"):
                amount += 0.5
            return amount * _UNIT_S[m.group("u").lower()]
    return None

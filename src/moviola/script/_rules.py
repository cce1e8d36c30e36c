"""Deterministic tagging rules: the cases where words are certain enough.

Each rule finds an exact span in an action element's text and proposes a tag
with a fixed confidence. Rules cover nouns the embedding model cannot point
at (props, vehicles, wardrobe, sounds in CAPS, named characters) and the
unmistakable cues (``explodes``, ``collapses`` near a building word). The
embedding classifier covers the rest.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RuleHit:
    """A proposed tag inside a text: category, canonical name and offsets."""

    kind: str
    name: str
    start: int
    end: int
    confidence: float
    vfx_kind: str | None = None
    rule: str = ""


def _words(*items: str) -> list[str]:
    return sorted({w.strip() for item in items for w in item.split(",") if w.strip()}, key=len)[
        ::-1
    ]


VEHICLES = _words(
    "army truck, police car, patrol car, fire engine, fire truck, pickup truck, pickup,"
    "colectivo, bus, minibus, taxi, cab, car, sedan, hatchback, jeep, truck, lorry, van,"
    "motorcycle, motorbike, moped, scooter, bicycle, bike, ambulance, helicopter, plane,"
    "airplane, train, subway train, tram, streetcar, boat, ferry, tractor, limousine,"
    "hearse, garbage truck, bulldozer, forklift, Fiat, Ford Falcon, Peugeot, Renault, army tank"
)
WARDROBE = _words(
    "coat, overcoat, raincoat, wool coat, trench coat, jacket, leather jacket, parka, suit,"
    "diving suit, wetsuit, snow suit, hazmat suit, uniform, dress, wedding dress, gown,"
    "nightgown, pyjamas, pajamas, shirt, blouse, sweater, jersey, cardigan, scarf, gloves,"
    "boots, shoes, slippers, hat, cap, beret, helmet, hood, goggles, balaclava, apron,"
    "overalls, cape, rain cape, poncho, veil, necktie, bow tie, skirt, trousers, jeans,"
    "dressing gown, bathrobe, robe, waders, shawl"
)
PROPS = _words(
    "gas mask, radio, transistor radio, walkie-talkie, phone, mobile phone, cell phone,"
    "telephone, revolver, pistol, gun, rifle, shotgun, knife, machete, axe, hammer, crowbar,"
    "thermos, mate gourd, mate, kettle, flashlight, torch, lantern, candle, matches, lighter,"
    "cigarette, photograph, photo, letter, envelope, map, notebook, diary, book, newspaper,"
    "keys, key, suitcase, bag, backpack, rucksack, briefcase, bottle, glass, cup, mug,"
    "binoculars, camera, wristwatch, pocket watch, wedding ring, necklace, locket, wallet, money, banknotes,"
    "sewing machine, needle, needles, thread, scissors, tape, duct tape, shower curtain,"
    "vinyl, blanket, umbrella, rope, ladder, bucket, shovel, toolbox, first-aid kit, medicine,"
    "pills, syringe, oxygen tank, gas can, jerrycan, crucifix, rosary, guitar, bandoneon,"
    "accordion, trophy, scarf pin, tin, sewing tin, fire extinguisher, television, TV"
)
SOUND_WORDS = {
    "BANG",
    "BOOM",
    "CRASH",
    "CRACK",
    "CRACKS",
    "CREAK",
    "CREAKS",
    "GROAN",
    "GROANS",
    "RUMBLE",
    "RUMBLES",
    "RUMBLING",
    "ROAR",
    "ROARS",
    "SCREAM",
    "SCREAMS",
    "SIREN",
    "SIRENS",
    "WAIL",
    "WAILS",
    "WAILING",
    "KNOCK",
    "KNOCKS",
    "RING",
    "RINGS",
    "RINGING",
    "BUZZ",
    "BUZZES",
    "HISS",
    "HISSES",
    "WHISTLE",
    "WHISTLES",
    "THUD",
    "THUMP",
    "CLICK",
    "CLICKS",
    "BEEP",
    "BEEPS",
    "EXPLODES",
    "EXPLOSION",
    "GUNSHOT",
    "GUNSHOTS",
    "SHOT",
    "SHOTS",
    "FIRES",
    "SCRAPES",
    "SCRAPE",
    "SHATTERS",
    "SLAM",
    "SLAMS",
    "HONK",
    "HONKS",
    "BARK",
    "BARKS",
    "CRACKLE",
    "CRACKLES",
    "STATIC",
    "SILENCE",
    "THUNDER",
}
CROWD_NOUNS = (
    r"crowds?|neighbou?rs|passengers|soldiers|troops|pedestrians|onlookers|mourners|diners|"
    r"commuters|protesters|fans|refugees|survivors|police(?: officers)?|nurses|workers|"
    r"shoppers|students|people|spectators|bystanders|tenants|residents|customers|families|"
    r"extras|patrons|dancers|couples|children|kids|mob|throng|masses|horde"
)
_NUMBER_WORD = (
    r"(?:tens of thousands|thousands|hundreds|dozens|millions|"
    r"\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundred|thousand|million)"
)
_NUMBER_WORDS = rf"{_NUMBER_WORD}(?:[\s-]+(?:and\s+)?{_NUMBER_WORD})*"


def _lexicon_regex(words: list[str]) -> re.Pattern[str]:
    alt = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
    return re.compile(rf"(?<![\w-])(?:{alt})(?:e?s)?(?![\w-])", re.IGNORECASE)


_VEHICLE_RE = _lexicon_regex(VEHICLES)
_WARDROBE_RE = _lexicon_regex(WARDROBE)
_PROP_RE = _lexicon_regex(PROPS)
_CAPS_RUN = re.compile(r"\b[A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ'’\-]+(?:\s+[A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ'’\-]+)*\b")
_INTRO = re.compile(
    r"\b([A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ'’.\-]+(?:\s+(?:[A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ'’.\-]+|Mc[A-Z]+|de|del|la))*)"
    r"\s*(?:\(\s*(\d{1,3}s?|late \d0s|early \d0s|mid-\d0s)\s*\)|,\s*(\d{1,3}s?)\b)"
)
_CROWD_RE = re.compile(
    rf"(?:(?P<num>{_NUMBER_WORDS})\s+(?:of\s+)?(?:\w+\s+){{0,2}})?(?P<noun>\b(?:{CROWD_NOUNS})\b)",
    re.IGNORECASE,
)
_STRUCTURE = r"(?:building|tower|block|facade|roof|ceiling|floor|storey|story|bridge|wall|church|house|stadium|stand|autopista|overpass|highway|skyscraper|apartment)"
_CERTAIN: list[tuple[str, str | None, re.Pattern[str], float]] = [
    (
        "vfx",
        "collapse",
        re.compile(
            rf"\b{_STRUCTURE}s?\b[^.!?]{{0,60}}\b(?:collaps\w*|caves? in|comes? down|gives? way|"
            rf"pancak\w*|implod\w*|crumbl\w*|(?:simply |just )?drops|sags|topples?|folds? (?:in|into)|"
            rf"buckles?)\b|\b(?:collaps\w*|caves? in|implodes?)\b[^.!?]{{0,30}}\b{_STRUCTURE}|"
            rf"\b(?:slab|floor|storey)s?\b[^.!?]{{0,40}}\bpancak\w*",
            re.I,
        ),
        0.95,
    ),
    (
        "vfx",
        "explosion",
        re.compile(r"\b(?:explod\w*|explosions?|detonat\w*|fireball|blast\w*)\b", re.I),
        0.85,
    ),
    (
        "vfx",
        "fire",
        re.compile(r"\b(?:engulf\w*|inferno|ablaze|burning|in flames|on fire)\b", re.I),
        0.8,
    ),
    (
        "vfx",
        "de_aging",
        re.compile(
            r"\b(?:(?:\w+[- ])?(?:years|decades)\s+younger|younger (?:self|version)|as (?:he|she|they) (?:was|were) in \d{4})\b",
            re.I,
        ),
        0.95,
    ),
    (
        "vfx",
        "screen_replacement",
        re.compile(
            r"\b(?:on (?:the|a|his|her) (?:tv|television|screen|monitor|phone screen)|(?:tv|television|screen|monitor) (?:shows|displays|flickers))\b",
            re.I,
        ),
        0.9,
    ),
    (
        "stunts",
        None,
        re.compile(
            r"\b(?:(?:is |are )?thrown|tackles?|(?:leaps?|jumps?) (?:from|across|onto|off|over|between|through)|falls? (?:from|backward|backwards|off)|hip throw|somersault\w*|hit by (?:a|the) \w+)\b",
            re.I,
        ),
        0.85,
    ),
    (
        "sfx",
        None,
        re.compile(
            r"\b(?:gunshots?|gunfire|muzzle flash\w*|squibs?|sparks?|fires (?:the|his|her|a) (?:gun|revolver|pistol|rifle|shotgun))\b",
            re.I,
        ),
        0.85,
    ),
]


def find_vehicles(text: str) -> Iterator[RuleHit]:
    for m in _VEHICLE_RE.finditer(text):
        yield RuleHit("vehicles", _canon(m.group(0)), m.start(), m.end(), 0.9, rule="lexicon")


def find_wardrobe(text: str) -> Iterator[RuleHit]:
    for m in _WARDROBE_RE.finditer(text):
        yield RuleHit("wardrobe", _canon(m.group(0)), m.start(), m.end(), 0.75, rule="lexicon")


def find_props(text: str) -> Iterator[RuleHit]:
    for m in _PROP_RE.finditer(text):
        yield RuleHit("props", _canon(m.group(0)), m.start(), m.end(), 0.75, rule="lexicon")


def find_sounds(text: str, names: set[str]) -> Iterator[RuleHit]:
    """Sounds written in CAPS, the screenplay convention for the sound department."""
    for m in _CAPS_RUN.finditer(text):
        words = m.group(0).split()
        if any(w.strip("'’-") in SOUND_WORDS for w in words) and m.group(0) not in names:
            yield RuleHit("sound", m.group(0).lower(), m.start(), m.end(), 0.85, rule="caps-sound")


def find_introductions(text: str) -> Iterator[tuple[str, int, int]]:
    """Characters introduced in CAPS with an age: ``MARTA ROSSI (50s)``, ``OFELIA, 24``."""
    for m in _INTRO.finditer(text):
        name = m.group(1).strip()
        if any(w in SOUND_WORDS for w in name.split()):
            continue
        yield name, m.start(1), m.end(1)


def find_name_mentions(text: str, names: set[str]) -> Iterator[tuple[str, int, int]]:
    """Known character names mentioned in action, in CAPS or in Title case."""
    pattern, lookup = _name_pattern(frozenset(names))
    if pattern is None:
        return
    for m in pattern.finditer(text):
        yield lookup[m.group(0)], m.start(), m.end()


@functools.lru_cache(maxsize=32)
def _name_pattern(names: frozenset[str]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    lookup: dict[str, str] = {}
    for name in sorted(names, key=len):
        variants = {name, name.title()}
        first = name.split()[0]
        if len(first) > 2 and first not in {"THE", "MR.", "MRS.", "DR."}:
            variants |= {first, first.title()}
        for v in variants:
            lookup.setdefault(v, name)
    if not lookup:
        return None, lookup
    alt = "|".join(map(re.escape, sorted(lookup, key=len, reverse=True)))
    return re.compile(rf"(?<![\w])(?:{alt})(?![\w])"), lookup


def find_crowds(text: str) -> Iterator[RuleHit]:
    """Extras from crowd nouns; a crowd in the thousands is a VFX crowd replication."""
    for m in _CROWD_RE.finditer(text):
        num = (m.group("num") or "").lower()
        noun = m.group("noun").lower()
        if noun in {"people", "children", "kids", "families", "couples", "workers"} and not num:
            continue  # too common to mean "extras" on their own
        count = _parse_count(num)
        start = m.start("num") if m.group("num") else m.start("noun")
        if (count is not None and count >= 500) or "thousand" in num or "million" in num:
            yield RuleHit("vfx", m.group(0), start, m.end(), 0.85, "crowd", rule="crowd-size")
        if count is None or count >= 3:
            yield RuleHit("extras", noun, start, m.end(), 0.85, rule="crowd-noun")


def find_certain_cues(text: str) -> Iterator[RuleHit]:
    for kind, vfx_kind, pattern, confidence in _CERTAIN:
        for m in pattern.finditer(text):
            yield RuleHit(kind, m.group(0).lower(), m.start(), m.end(), confidence, vfx_kind, "cue")


_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "hundreds": 200,
    "thousand": 1000, "thousands": 2000, "dozens": 24, "tens of thousands": 20000,
    "millions": 2_000_000, "million": 1_000_000,
}  # fmt: skip


def _parse_count(num: str) -> int | None:
    """``"forty thousand"`` → 40000, ``"300"`` → 300, ``"thousands"`` → 2000."""
    if not num:
        return None
    num = " ".join(num.lower().replace("-", " ").split())
    if num in _WORD_NUMBERS:
        return _WORD_NUMBERS[num]
    total, current = 0, 0
    for word in num.split():
        if word == "and":
            continue
        digits = word.replace(",", "").replace(".", "")
        if digits.isdigit():
            current += int(digits)
        elif word in ("hundred", "thousand", "million"):
            current = max(current, 1) * _WORD_NUMBERS[word]
            if word != "hundred":
                total, current = total + current, 0
        elif word in _WORD_NUMBERS:
            current += _WORD_NUMBERS[word]
        else:
            return None
    return total + current or None


_NOTE_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("collapse", re.compile(r"collaps|cave-?in|pancak|implo", re.I)),
    ("explosion", re.compile(r"explo|fireball|blast|detonat", re.I)),
    ("fire", re.compile(r"\bfire\b|flame|burn", re.I)),
    ("weather", re.compile(r"snow|rain|storm|weather|fog|lightning|blizzard|hail", re.I)),
    ("crowd", re.compile(r"crowd|replicat|multipl|tiling", re.I)),
    ("de_aging", re.compile(r"de-?ag|younger|age (?:up|down)|aging", re.I)),
    ("set_extension", re.compile(r"extension|skyline|matte|environment|vista", re.I)),
    ("screen_replacement", re.compile(r"screen|monitor|\btv\b|phone|display|comp(?:ed)? in", re.I)),
    ("creature", re.compile(r"creature|monster|alien", re.I)),
    ("destruction", re.compile(r"destruct|debris|rubble|crack", re.I)),
]


def vfx_kinds_in_note(text: str) -> list[str]:
    """VFX kinds a writer's ``[[VFX: ...]]`` note names, in the order of the list above.

    Only the part after ``VFX`` counts, so ``SFX: practical debris`` in the same
    note does not make a VFX destruction.
    """
    m = re.search(
        r"\bVFX\b\s*:?(.*?)(?=\b(?:SFX|SOUND|MUSIC|PROPS?|WARDROBE)\b\s*:|$)", text, re.I | re.S
    )
    body = m.group(1) if m else text
    return [kind for kind, pattern in _NOTE_KINDS if pattern.search(body)]


_LEXICON = {w.lower() for w in (*VEHICLES, *WARDROBE, *PROPS)}


def _canon(text: str) -> str:
    """Canonical name of a lexicon hit: the lexicon's own word (singular, lower case)."""
    t = " ".join(text.lower().split())
    if t in _LEXICON:
        return t
    for cut in (1, 2):  # the regex allows a plural "s" or "es"
        if t[:-cut] in _LEXICON:
            return t[:-cut]
    return t

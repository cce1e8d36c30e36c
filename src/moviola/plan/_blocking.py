"""Blocking: a floor plan per scene, with where each character stands per beat.

The set is sized by location type (a room, a stairwell, a taxi, a bus, a
street, a stadium, a city vista); characters enter through the set's door
when they first appear after the scene starts, walk when the action says so,
and leave when it says they exit. The two characters who talk most form the
scene's axis of action: the 180-degree line.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from ._geometry import Vec, heading, length, r2, side_of_line, sub, unit

#: (kind, keywords in the location, width x depth in metres)
SET_KINDS: list[tuple[str, tuple[str, ...], tuple[float, float]]] = [
    ("vehicle", ("TAXI", "CAR", "AUTO", "TRUCK", "CAMIONETA", "VAN"), (2.0, 4.5)),
    ("bus", ("COLECTIVO", "BUS", "TRAIN", "TREN", "SUBTE", "SUBWAY", "TRAM"), (2.6, 11.0)),
    (
        "corridor",
        (
            "STAIRWELL",
            "STAIRS",
            "STAIRCASE",
            "STAIR",
            "ESCALERA",
            "HALL",
            "CORRIDOR",
            "PASILLO",
            "LOBBY",
            "ELEVATOR",
        ),
        (3.5, 9.0),
    ),  # fmt: skip
    ("rooftop", ("ROOF", "AZOTEA", "TERRAZA", "BALCONY", "BALCÓN"), (12.0, 12.0)),
    (
        "large",
        (
            "ESTADIO",
            "STADIUM",
            "PLAZA",
            "PARK",
            "PARQUE",
            "FIELD",
            "SQUARE",
            "STATION",
            "ESTACIÓN",
            "CLUB",
            "HANGAR",
            "WAREHOUSE",
            "CHURCH",
        ),
        (30.0, 40.0),
    ),  # fmt: skip
    ("vista", ("SKYLINE", "CITY", "AERIAL", "HORIZON", "PANORAMA"), (80.0, 80.0)),
]
DEFAULT_INT = ("room", (6.0, 5.0))
DEFAULT_EXT = ("street", (14.0, 30.0))
_MOVE = re.compile(
    r"\b(walks?|crosses|runs?|moves?|steps?|backs? away|rushes|hurries|approaches|"
    r"goes to|heads? (?:for|to)|paces|staggers|climbs|crawls|limps)\b",
    re.I,
)
_ENTER = re.compile(
    r"\b(enters?|comes? in|walks? in|arrives?|bursts? in|steps? in|appears? (?:at|in) the door|"
    r"climbs? in|gets? in)\b",
    re.I,
)
_ON_SCREEN = re.compile(
    r"\bon (?:the |a |her |his )?(?:tv|television|screen|monitor|phone)\b", re.I
)
_EXIT = re.compile(r"\b(exits?|leaves|goes out|walks out|is gone)\b", re.I)


@dataclass
class Mark:
    """A character's position and facing from a beat on."""

    beat: int
    x: float
    y: float
    facing: float

    def to_json(self) -> dict[str, float]:
        return {"beat": self.beat, "x": r2(self.x), "y": r2(self.y), "facing": r2(self.facing)}


@dataclass
class Person:
    name: str
    height: float
    marks: list[Mark] = field(default_factory=list)
    enters: int | None = None
    exits: int | None = None

    def at(self, beat: int) -> Mark:
        """Where the person is during ``beat`` (the last mark at or before it)."""
        current = self.marks[0]
        for m in self.marks:
            if m.beat <= beat:
                current = m
        return current

    def move_in(self, beat: int) -> tuple[Vec, Vec] | None:
        """(from, to) when the person moves during ``beat``."""
        for i, m in enumerate(self.marks[1:], 1):
            if m.beat == beat:
                prev = self.marks[i - 1]
                if length(sub((m.x, m.y), (prev.x, prev.y))) > 0.3:
                    return (prev.x, prev.y), (m.x, m.y)
        return None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "height": self.height,
            "marks": [m.to_json() for m in self.marks],
        }
        if self.enters is not None:
            out["enters"] = self.enters
        if self.exits is not None:
            out["exits"] = self.exits
        return out


@dataclass
class Blocking:
    """A scene's floor plan: the set, its door, the people and the line."""

    kind: str
    width: float
    depth: float
    door: Vec
    people: dict[str, Person]
    pair: tuple[str, str] | None
    camera_side: float  # the sign of side_of_line that cameras keep to

    def person(self, name: str) -> Person:
        return self.people[name]

    def line_at(self, beat: int) -> tuple[Vec, Vec] | None:
        """The 180-degree line (A's and B's positions) during ``beat``."""
        if self.pair is None:
            return None
        a, b = (self.people[n].at(beat) for n in self.pair)
        return (a.x, a.y), (b.x, b.y)

    def side_at(self, beat: int) -> float:
        """The side of the line cameras keep to during ``beat``: the open, downstage one."""
        line = self.line_at(beat)
        if line is None:
            return self.camera_side
        return 1.0 if side_of_line((0.0, -self.depth), *line) >= 0 else -1.0

    def inside(self, p: Vec, margin: float = 0.0) -> bool:
        return abs(p[0]) <= self.width / 2 + margin and abs(p[1]) <= self.depth / 2 + margin

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "width": self.width,
            "depth": self.depth,
            "door": [r2(self.door[0]), r2(self.door[1])],
            "characters": [p.to_json() for p in self.people.values()],
            "line": list(self.pair) if self.pair else None,
            "camera_side": self.camera_side,
        }


def set_for(location: str, int_ext: str | None) -> tuple[str, tuple[float, float]]:
    words = location.upper()
    for kind, keys, dims in SET_KINDS:
        if any(re.search(rf"\b{re.escape(k)}\b", words) for k in keys):
            return kind, dims
    return DEFAULT_EXT if (int_ext or "INT") in ("EXT", "EST") else DEFAULT_INT


def _mentions(text: str, name: str) -> bool:
    first = name.split()[0]
    return bool(re.search(rf"(?<!\w)(?:{re.escape(name)}|{re.escape(first)})(?!\w)", text, re.I))


def block_scene(scene: dict[str, Any], rng: random.Random) -> Blocking:
    """Stage a breakdown scene: set, marks per beat, the pair and the line."""
    kind, (width, depth) = set_for(scene.get("location", ""), scene.get("int_ext"))
    beats = scene.get("beats", [])
    names = list(dict.fromkeys([*scene.get("speaking", []), *scene.get("non_speaking", [])]))
    first_beat: dict[str, int] = {}
    for i, b in enumerate(beats):
        for n in names:
            on_screen = b.get("character") == n and not b.get("offscreen")
            if n not in first_beat and (
                on_screen or (b["kind"] == "action" and _mentions(b["text"], n))
            ):
                first_beat[n] = i
    # Voices only heard, and people seen only on a screen, are not staged.
    names = [
        n
        for n in names
        if n in first_beat
        and not n.endswith("VOICE")
        and not _ON_SCREEN.search(beats[first_beat[n]]["text"])
    ]
    names.sort(key=lambda n: first_beat.get(n, 10**6))
    names = names[:8]
    words: dict[str, int] = {n: 0 for n in names}
    for b in beats:
        if b.get("character") in words:
            words[b["character"]] += int(b.get("words", 0))
    talkers = sorted(
        (n for n in names if words[n] > 0), key=lambda n: (-words[n], first_beat.get(n, 0))
    )
    pair: tuple[str, str] | None = None
    if len(talkers) >= 2:
        pair = (talkers[0], talkers[1])
    elif len(talkers) == 1 and len(names) >= 2:
        pair = (talkers[0], next(n for n in names if n != talkers[0]))
    if pair:  # keep screen order by who appears first
        pair = tuple(sorted(pair, key=lambda n: first_beat.get(n, 0)))  # type: ignore[assignment]
    door = (-width / 2 + min(0.8, width / 4), -depth / 2)
    people: dict[str, Person] = {}
    sep = {"vehicle": 0.8, "bus": 1.0, "corridor": 1.2, "room": 1.5}.get(kind, 1.8)
    side_by_side = kind in ("vehicle",)
    others = [n for n in names if not pair or n not in pair]
    for n in names:
        height = round(1.6 + rng.random() * 0.25, 2)
        people[n] = Person(n, height)
    if pair:
        a, b = pair
        ya = 0.3 if kind not in ("vehicle", "bus") else 0.0
        if side_by_side:
            people[a].marks.append(Mark(0, -sep / 2, ya, 90.0))
            people[b].marks.append(Mark(0, sep / 2, ya, 90.0))
        else:
            people[a].marks.append(Mark(0, -sep / 2, ya, 0.0))
            people[b].marks.append(Mark(0, sep / 2, ya, 180.0))
    for i, n in enumerate(others):
        spread = min(width * 0.8, 1.2 * max(1, len(others)))
        x = -spread / 2 + spread * (i + 0.5) / max(1, len(others))
        y = min(depth / 2 - 0.5, 1.6 + 0.3 * (i % 2))
        facing = heading(sub((0.0, 0.3), (x, y))) if pair else -90.0
        people[n].marks.append(Mark(0, x, y, facing))
    # Entrances: the action says someone comes in; they walk from the door to their mark.
    for n, p in people.items():
        fb = first_beat.get(n, 0)
        text = beats[fb]["text"] if beats else ""
        if fb > 0 and kind not in ("vista",) and _ENTER.search(text) and _mentions(text, n):
            mark = p.marks[0]
            p.marks[0] = Mark(0, door[0], door[1], heading(sub((mark.x, mark.y), door)))
            p.marks.append(Mark(fb, mark.x, mark.y, mark.facing))
            p.enters = fb
    # Movement and exits from the action lines.
    for i, b in enumerate(beats):
        if b["kind"] != "action":
            continue
        for n, p in people.items():
            if not _mentions(b["text"], n) or (p.enters is not None and i <= p.enters):
                continue
            here = p.at(i)
            if _EXIT.search(b["text"]):
                p.marks.append(Mark(i, door[0], door[1], heading(sub(door, (here.x, here.y)))))
                p.exits = i
            elif _MOVE.search(b["text"]):
                direction = unit(here.facing + rng.choice((-35.0, 35.0)))
                step = min(2.0, max(0.8, width / 4))
                to = (here.x + direction[0] * step, here.y + direction[1] * step)
                to = (max(-width / 2 + 0.4, min(width / 2 - 0.4, to[0])),
                      max(-depth / 2 + 0.4, min(depth / 2 - 0.4, to[1])))  # fmt: skip
                p.marks.append(Mark(i, to[0], to[1], heading(sub(to, (here.x, here.y)))))
    for p in people.values():
        p.marks.sort(key=lambda m: m.beat)
    if pair:
        # After a move, the two who talk turn back to each other.
        for n, other in (pair, pair[::-1]):
            me, them = people[n], people[other]
            for k, m in enumerate(me.marks):
                if k == 0 and me.enters is None:
                    continue
                o = them.at(m.beat)
                me.marks[k] = Mark(m.beat, m.x, m.y, heading(sub((o.x, o.y), (m.x, m.y))))
    camera_side = 1.0
    if pair:
        a0, b0 = people[pair[0]].marks[0], people[pair[1]].marks[0]
        la, lb = (a0.x, a0.y), (b0.x, b0.y)
        if pair[0] in people and people[pair[0]].enters is not None:
            la = (people[pair[0]].at(people[pair[0]].enters or 0).x,
                  people[pair[0]].at(people[pair[0]].enters or 0).y)  # fmt: skip
        if people[pair[1]].enters is not None:
            m = people[pair[1]].at(people[pair[1]].enters or 0)
            lb = (m.x, m.y)
        # Cameras keep to the downstage side (toward -y), where the set is open.
        camera_side = 1.0 if side_of_line((0.0, -depth), la, lb) > 0 else -1.0
    return Blocking(kind, width, depth, door, people, pair, camera_side)

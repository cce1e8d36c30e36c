"""Simple props for the set proxy: what people sit on, lean over or drive.

Previs props are blocks of the right size in the right place, no more: a seat
under whoever sits, the table or desk the action names (between the people who
talk across it), a car where a street scene has one. Each is its own object
under ``/World/Props`` so the object-id pass names it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

#: Named furniture and vehicles: (width, height, depth) in metres.
SIZES: dict[str, tuple[float, float, float]] = {
    "table": (1.2, 0.75, 0.8), "desk": (1.4, 0.75, 0.7), "counter": (1.8, 0.92, 0.6),
    "bench": (1.6, 0.45, 0.4), "workbench": (1.8, 0.9, 0.7), "bed": (1.5, 0.5, 2.0),
    "sofa": (2.0, 0.8, 0.9), "couch": (2.0, 0.8, 0.9), "bar": (2.4, 1.05, 0.6),
    "car": (1.8, 1.45, 4.5), "taxi": (1.8, 1.5, 4.6), "van": (2.0, 2.2, 5.2),
}  # fmt: skip
SURFACES = ("table", "desk", "counter", "workbench", "bar")
VEHICLES = ("car", "taxi", "van")
WOOD = (0.55, 0.42, 0.3)
STEEL = (0.62, 0.64, 0.68)


@dataclass(frozen=True)
class Prop:
    name: str
    kind: str
    centre: tuple[float, float]  # plan metres
    size: tuple[float, float, float]
    yaw: float  # degrees on the plan
    colour: tuple[float, float, float] = WOOD
    base: float = 0.0  # height of its underside (0: on the ground)


def _mentioned(beats: list[dict[str, Any]], word: str) -> bool:
    pattern = re.compile(rf"\b{word}s?\b", re.I)
    return any(b.get("kind") == "action" and pattern.search(str(b.get("text", ""))) for b in beats)


def place_props(blocking: Any, beats: list[dict[str, Any]],
                cues: dict[str, list[tuple[int, str]]]) -> list[Prop]:  # fmt: skip
    """The props a scene needs, placed from the blocking (pure: no USD)."""
    props: list[Prop] = []
    people = blocking.people
    for name, changes in cues.items():  # a seat under everyone who sits, where they sit
        for beat, pose in changes:
            if pose != "sit" or name not in people:
                continue
            mark = people[name].at(beat)
            back = math.radians(mark.facing + 180.0)
            props.append(Prop(f"seat_{name}", "seat", (mark.x, mark.y), (0.45, 0.45, 0.45),
                              mark.facing, WOOD))  # fmt: skip
            props.append(Prop(f"seat_{name}_back", "seat",
                              (mark.x + 0.2 * math.cos(back), mark.y + 0.2 * math.sin(back)),
                              (0.45, 0.95, 0.05), mark.facing, WOOD))  # fmt: skip
    for kind in SURFACES:
        if not _mentioned(beats, kind):
            continue
        if blocking.pair:  # between the two who talk across it
            a, b = (people[n].marks[0] for n in blocking.pair)
            centre = ((a.x + b.x) / 2, (a.y + b.y) / 2)
            yaw = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
        else:
            centre, yaw = (0.0, min(1.0, blocking.depth / 4)), 0.0
        w, h, d = SIZES[kind]
        props.append(Prop(kind, kind, centre, (min(w, 0.9), h, d), yaw + 90.0, WOOD))
        break  # one working surface is enough to block against
    if blocking.kind in ("street", "large", "rooftop"):
        for kind in VEHICLES:
            if _mentioned(beats, kind):
                x = blocking.width / 2 - 1.6
                props.append(Prop(kind, kind, (x, 0.0), SIZES[kind], 90.0, STEEL))
                break
    return props


INSERT = (0.85, 0.62, 0.2)


def insert_props(shots: list[Any]) -> list[Prop]:
    """What an insert looks at: a small object on a stand, where its camera points.

    The plan frames an insert on a point (the prop's place), not on a person; a
    block there makes the panel read as "the glass", not as an empty floor.
    """
    out: list[Prop] = []
    for shot in shots:
        if shot.purpose != "insert" or not shot.subject_distance_m:
            continue
        c = shot.camera
        pan, tilt = math.radians(c.pan), math.radians(c.tilt)
        reach = shot.subject_distance_m * math.cos(tilt)
        x, y = c.x + reach * math.cos(pan), c.y + reach * math.sin(pan)
        top = c.height + shot.subject_distance_m * math.sin(tilt)
        if not 0.2 <= top <= 2.0:
            continue
        tag = "".join(ch if ch.isalnum() else "_" for ch in shot.id)
        out.append(Prop(f"insert_{tag}_stand", "stand", (x, y), (0.5, top - 0.1, 0.5), c.pan, WOOD))
        out.append(Prop(f"insert_{tag}", "insert", (x, y), (0.16, 0.22, 0.16), c.pan, INSERT,
                        base=top - 0.1))  # fmt: skip
    return out

"""The continuity audit: geometric checks of a plan's cut, from the blocking.

Each rule looks at consecutive cuts of a scene (the plan's ``edit``), with the
cameras and the characters where the floor plan puts them:

- ``180-line``: two cuts that show the pair from opposite sides of the line,
  unless one is a deliberate cross (``cross_line``), sits on the line
  (a neutral shot) or travels across it (a moving shot);
- ``screen-direction``: a character moving left-to-right in one cut and
  right-to-left in the next;
- ``eyeline``: two singles of the pair in which both look the same way on
  screen, so they do not seem to look at each other;
- ``jump-cut``: the same subjects, a similar size and less than 30 degrees
  between the two camera angles;
- ``size-monotony``: four or more cuts in a row at the same size.

Works on any plan document, including one a person edited by hand.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ..core import register_schema
from ._blocking import Blocking, Mark, Person
from ._geometry import (
    Vec,
    angle_between,
    heading,
    screen_direction,
    side_of_line,
    sub,
    unit,
)
from ._model import Finding, Shot, shots_from_plan
from ._vocabulary import SIZES, TRAVELLING, size_index

register_schema("Audit", 1)

NEUTRAL_M = 0.25  # a camera this close to the line is on it: a neutral shot
JUMP_DEG = 30.0
MONOTONY_RUN = 4
RULES = ("180-line", "screen-direction", "eyeline", "jump-cut", "size-monotony")


@dataclass(frozen=True)
class Cut:
    """A stretch of the edit on one shot: its shot and the beats it spans."""

    shot: Shot
    first_beat: int
    last_beat: int


def blocking_from_json(data: dict[str, Any]) -> Blocking:
    people = {}
    for c in data.get("characters", []):
        p = Person(c["name"], float(c.get("height", 1.75)))
        p.marks = [Mark(int(m["beat"]), float(m["x"]), float(m["y"]), float(m["facing"]))
                   for m in c.get("marks", [])]  # fmt: skip
        if not p.marks:
            p.marks = [Mark(0, 0.0, 0.0, 0.0)]
        p.enters, p.exits = c.get("enters"), c.get("exits")
        people[p.name] = p
    line = data.get("line")
    pair = (line[0], line[1]) if line and all(n in people for n in line) else None
    door = data.get("door", [0.0, 0.0])
    return Blocking(
        str(data.get("kind", "room")),
        float(data.get("width", 6.0)),
        float(data.get("depth", 5.0)),
        (float(door[0]), float(door[1])),
        people,
        pair,
        float(data.get("camera_side", 1.0)),
    )


def cuts_of(scene: dict[str, Any], shots: dict[str, Shot]) -> list[Cut]:
    cuts: list[Cut] = []
    for item in scene.get("edit", []):
        shot = shots.get(item["shot"])
        if shot is None:
            continue
        beat = int(item.get("beat", 0))
        if cuts and cuts[-1].shot.id == shot.id:
            cuts[-1] = Cut(shot, cuts[-1].first_beat, beat)
        else:
            cuts.append(Cut(shot, beat, beat))
    return cuts


def _on_line(shot: Shot, line: tuple[Vec, Vec]) -> bool:
    return abs(side_of_line(shot.camera.position, *line)) < NEUTRAL_M


def _crosses_while_moving(shot: Shot, line: tuple[Vec, Vec]) -> bool:
    end = shot.camera.end
    if not end or shot.movement not in TRAVELLING:
        return False
    a = side_of_line(shot.camera.position, *line)
    b = side_of_line((end.get("x", shot.camera.x), end.get("y", shot.camera.y)), *line)
    return a * b < 0


def _pair_in(shot: Shot, pair: tuple[str, str]) -> bool:
    return any(s in pair for s in shot.subjects)


def audit_scene(scene: dict[str, Any], shots: dict[str, Shot]) -> list[Finding]:
    blocking = blocking_from_json(scene.get("blocking", {}))
    cuts = cuts_of(scene, shots)
    number = str(scene.get("number", ""))
    out: list[Finding] = []
    for c1, c2 in itertools.pairwise(cuts):
        s1, s2 = c1.shot, c2.shot
        line = blocking.line_at(c2.first_beat)
        pair = blocking.pair
        # 180-degree line.
        if line and pair and _pair_in(s1, pair) and _pair_in(s2, pair):
            d1 = side_of_line(s1.camera.position, *line)
            d2 = side_of_line(s2.camera.position, *line)
            excused = any(
                s.cross_line or _on_line(s, line) or _crosses_while_moving(s, line)
                for s in (s1, s2)
            ) or _line_redrawn_on_camera(blocking, pair, c1, c2)
            if d1 * d2 < 0 and not excused:
                out.append(Finding(
                    "180-line", number, [s1.id, s2.id],
                    f"{s1.id} and {s2.id} see {pair[0]} and {pair[1]} from opposite sides of "
                    f"the line between them ({abs(d1):.1f} m and {abs(d2):.1f} m off it): their "
                    "screen positions swap at the cut. Keep both on one side, or mark a "
                    "deliberate cross with a neutral or moving shot between.",
                    severity="error", beat=c2.first_beat,
                ))  # fmt: skip
        # Screen direction of movement across the cut.
        for name, person in blocking.people.items():
            if name not in s1.subjects or name not in s2.subjects:
                continue  # a move only has a screen direction where it is seen
            # One continuous movement seen across the cut: the same move split
            # between the two shots, or a move that carries on into the next beat.
            m1 = _move_in(person, c1.last_beat)
            m2 = _move_in(person, c2.first_beat)
            if not m1 or not m2 or m1[0] * m2[0] + m1[1] * m2[1] <= 0:
                continue
            d1 = screen_direction(m1, s1.camera.pan)
            d2 = screen_direction(m2, s2.camera.pan)
            if d1 * d2 < 0 and min(abs(d1), abs(d2)) > 0.2:
                way = "left to right" if d1 > 0 else "right to left"
                back = "right to left" if d1 > 0 else "left to right"
                out.append(Finding(
                    "screen-direction", number, [s1.id, s2.id],
                    f"{name} moves {way} in {s1.id} and {back} in {s2.id}: the audience "
                    "reads it as turning back.", beat=c2.first_beat,
                ))  # fmt: skip
        # Eyelines between singles of the pair.
        if pair and _single_of_pair(s1, pair) and _single_of_pair(s2, pair):
            a, b = s1.subjects[0], s2.subjects[0]
            if a != b:
                g1 = _gaze_on_screen(blocking, a, b, c1.first_beat, s1)
                g2 = _gaze_on_screen(blocking, b, a, c2.first_beat, s2)
                if g1 * g2 > 0:
                    side = "right" if g1 > 0 else "left"
                    out.append(Finding(
                        "eyeline", number, [s1.id, s2.id],
                        f"{a} in {s1.id} and {b} in {s2.id} both look screen-{side}: they "
                        "will not seem to look at each other. One camera is on the wrong "
                        "side of the line.", beat=c2.first_beat,
                    ))  # fmt: skip
        # Jump cut.
        if (
            s1.subjects
            and set(s1.subjects) == set(s2.subjects)
            and abs(size_index(s1.size) - size_index(s2.size)) <= 1
        ) and True:
            target = _subject_position(blocking, s1.subjects[0], c2.first_beat)
            if target is not None:
                a1 = heading(sub(s1.camera.position, target))
                a2 = heading(sub(s2.camera.position, target))
                change = angle_between(a1, a2)
                if change < JUMP_DEG:
                    out.append(Finding(
                        "jump-cut", number, [s1.id, s2.id],
                        f"{s1.id} ({s1.size}) to {s2.id} ({s2.size}) on "
                        f"{', '.join(s1.subjects)}: similar size and only {change:.0f} "
                        f"degrees apart (under {JUMP_DEG:.0f}): the picture jumps. Change "
                        "the size by two steps or the angle by 30 degrees or more.",
                        beat=c2.first_beat,
                    ))  # fmt: skip
    # Shot-size monotony.
    run: list[Cut] = []
    sentinel: list[Cut | None] = [*cuts, None]
    for cut in sentinel:
        if cut is not None and run and cut.shot.size == run[-1].shot.size:
            run.append(cut)
            continue
        if len(run) >= MONOTONY_RUN:
            out.append(Finding(
                "size-monotony", number, [c.shot.id for c in run],
                f"{len(run)} cuts in a row are all {run[0].shot.size}: the scene has no "
                "rhythm of sizes. Vary with a wider or a tighter shot.",
                severity="info",
            ))  # fmt: skip
        run = [cut] if cut is not None else []
    return out


def _move_in(person: Person, beat: int) -> Vec | None:
    mv = person.move_in(beat)
    return sub(mv[1], mv[0]) if mv else None


def _line_redrawn_on_camera(blocking: Blocking, pair: tuple[str, str], c1: Cut, c2: Cut) -> bool:
    """One of the pair moves in a shot that shows the move: the audience sees the line
    change, so the next cut may take the new side."""
    for cut, beat in ((c1, c1.last_beat), (c2, c2.first_beat)):
        for name in pair:
            if name in cut.shot.subjects and blocking.people[name].move_in(beat):
                return True
    return False


def _single_of_pair(shot: Shot, pair: tuple[str, str]) -> bool:
    return (
        len(shot.subjects) >= 1
        and shot.subjects[0] in pair
        and shot.purpose in ("single", "ots", "reaction", "cutaway", "user", "")
        and size_index(shot.size) >= SIZES.index("MS")
        and shot.size != "INSERT"
    )


def _subject_position(blocking: Blocking, name: str, beat: int) -> Vec | None:
    if name not in blocking.people:
        return None
    m = blocking.people[name].at(beat)
    return (m.x, m.y)


def _gaze_on_screen(blocking: Blocking, who: str, at: str, beat: int, shot: Shot) -> float:
    p = _subject_position(blocking, who, beat)
    q = _subject_position(blocking, at, beat)
    if p is None or q is None:
        return 0.0
    return screen_direction(unit(heading(sub(q, p))), shot.camera.pan)


def audit_plan(doc: dict[str, Any]) -> list[Finding]:
    """Every finding for every scene of a plan document."""
    shots = {s.id: s for s in shots_from_plan(doc)}
    findings: list[Finding] = []
    for scene in doc.get("scenes", []):
        findings.extend(audit_scene(scene, shots))
    return findings

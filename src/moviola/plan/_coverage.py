"""Automatic coverage: a scene's setups and the cut that uses them.

A scene's beats are walked in order. Each beat is given to one or more
setups, in the way a script supervisor would line the script: the master
plays the action, the two-shot opens a conversation, over-the-shoulders and
singles carry it, inserts pick out props that matter, a point of view shows
what a character looks at, crowd wides show the extras, and every VFX cue
gets its plate plus reaction shots. Style presets change those choices; the
seed picks among equally good options, so a plan is reproducible.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from ._blocking import Blocking, block_scene
from ._cameras import Filmback, nearest_prime
from ._framing import (
    EYE,
    distance_for_size,
    fit_distance,
    fov,
    lens_for_distance,
    look_room_offset,
    make_camera,
    perpendicular_position,
    single_position,
)
from ._geometry import Vec, add, heading, length, scale, side_of_line, sub, unit
from ._model import Camera
from ._timing import beat_durations

STYLES: dict[str, dict[str, Any]] = {
    "classical": {
        "description": "classical coverage: establishing, master, two-shot, OTS pair, singles",
        "movement": "static",
        "establishing_move": "crane",
        "ots": True,
        "singles_after": 3,
        "lens_bias": 0,
    },
    "documentary": {
        "description": "handheld documentary: handheld mediums, zooms, no over-the-shoulders",
        "movement": "handheld",
        "establishing_move": "handheld",
        "ots": False,
        "singles_after": 1,
        "lens_bias": 1,
    },
    "long-takes": {
        "description": "sparse long takes: a Steadicam master carries the scene, few cuts",
        "movement": "steadicam",
        "establishing_move": "steadicam",
        "ots": False,
        "singles_after": 99,
        "lens_bias": -1,
    },
}
#: Lens by size for a Super 35 package (large format scales by the sensor).
LENS_BY_SIZE = {
    "EWS": 18, "WS": 25, "FS": 32, "MWS": 40, "MS": 40, "MCU": 50, "CU": 75, "ECU": 100,
    "INSERT": 65,
}  # fmt: skip
TAG_TRUST = 0.75  # a proposed breakdown tag this sure drives coverage without review
_POV = re.compile(r"\b(looks?|stares?|watches|sees|peers|gazes|glances|reads)\b", re.I)
_STRUCTURAL = {"collapse", "explosion", "destruction", "fire", "creature"}


@dataclass
class Setup:
    """A shot before it has an id: what it shows and where the camera is."""

    key: tuple[Any, ...]
    purpose: str
    size: str
    angle: str
    movement: str
    lens_mm: float
    camera: Camera
    subjects: list[str]
    description: str
    vfx: bool = False
    vfx_kind: str | None = None
    subject_distance_m: float = 0.0
    uses: list[tuple[int, float]] = field(default_factory=list)  # (beat, seconds)


@dataclass
class ScenePlan:
    number: str
    blocking: Blocking
    setups: list[Setup]
    edit: list[tuple[tuple[Any, ...], int, float]]  # (setup key, beat, seconds)
    durations: list[float]
    text_estimate_s: float


class _Planner:
    def __init__(
        self,
        scene: dict[str, Any],
        blocking: Blocking,
        style: dict[str, Any],
        rng: random.Random,
        body: Filmback,
        aspect: float,
    ) -> None:
        self.scene = scene
        self.b = blocking
        self.style = style
        self.rng = rng
        self.body = body
        self.aspect = aspect
        self.setups: dict[tuple[Any, ...], Setup] = {}
        self.edit: list[tuple[tuple[Any, ...], int, float]] = []
        self.exterior = (scene.get("int_ext") or "INT") in ("EXT", "EST", "INT/EXT")
        # Events (a collapse, an explosion) happen downstage, behind the cameras,
        # so witnesses turn toward the lens and reactions keep to the line.
        self.event: Vec = (0.0, -blocking.depth / 2 - 25.0)

    # -- lenses and positions ---------------------------------------------------

    def lens(self, size: str) -> int:
        base = LENS_BY_SIZE[size] * (self.body.width_mm / 24.89)
        lens = nearest_prime(base, self.body)
        primes = _primes(self.body)
        i = primes.index(lens) + int(self.style["lens_bias"])
        return primes[max(0, min(len(primes) - 1, i))]

    def present(self, beat: int) -> list[str]:
        out = []
        for name, p in self.b.people.items():
            if p.enters is not None and beat < p.enters:
                continue
            if p.exits is not None and beat > p.exits:
                continue
            out.append(name)
        return out

    def pos(self, name: str, beat: int) -> tuple[Vec, float]:
        m = self.b.person(name).at(beat)
        return (m.x, m.y), m.facing

    def eye(self, name: str) -> float:
        return self.b.person(name).height * EYE

    def movement(self, purpose: str) -> str:
        base = str(self.style["movement"])
        if purpose == "establishing":
            return str(self.style["establishing_move"])
        if purpose in ("insert",) and base == "handheld":
            return "zoom"
        if purpose in ("vfx-plate",):
            return "static"  # plates are locked off for the composite
        if base == "steadicam" and purpose not in ("master",):
            return "static"
        return base

    # -- setups -----------------------------------------------------------------

    def epoch(self, beat: int) -> int:
        """How many times the pair has moved by ``beat``: new blocking, new setups."""
        if not self.b.pair:
            return 0
        return sum(1 for n in self.b.pair for m in self.b.person(n).marks[1:] if m.beat <= beat)

    def use(self, key: tuple[Any, ...], beat: int, seconds: float) -> None:
        if seconds <= 0:
            return
        self.setups[key].uses.append((beat, seconds))
        if self.edit and self.edit[-1][0] == key and self.edit[-1][1] == beat:
            k, b, s = self.edit[-1]
            self.edit[-1] = (k, b, s + seconds)
        else:
            self.edit.append((key, beat, seconds))

    def _add(self, key: tuple[Any, ...], **kw: Any) -> tuple[Any, ...]:
        if key not in self.setups:
            self.setups[key] = Setup(key=key, **kw)
        return key

    def establishing(self, beat: int) -> tuple[Any, ...]:
        key = ("establishing",)
        if key in self.setups:
            return key
        lens = self.lens("EWS")
        centre = (0.0, 0.0)
        if self.exterior or self.b.kind == "vista":
            dist = max(25.0, self.b.depth * 1.2)
            height = 8.0 + self.rng.random() * 8.0
            angle, desc = "high", "establishing: the location from above"
        else:
            dist, height, angle = 40.0, 6.0, "high"
            desc = "establishing: exterior of the building"
        pos = add(centre, scale(unit(-90.0 + self.rng.uniform(-15, 15)), dist))
        cam = make_camera(
            self.body, lens, self.aspect, pos, height, centre, 3.0 if angle == "low" else 0.0
        )
        movement = self.movement("establishing")
        if movement == "crane":
            cam.end = {"x": cam.x, "y": cam.y, "height": round(max(2.0, height / 3), 2),
                       "pan": cam.pan, "tilt": round(cam.tilt / 2, 2)}  # fmt: skip
        return self._add(key, purpose="establishing", size="EWS", angle=angle,
                         movement=movement, lens_mm=lens, camera=cam, subjects=[],
                         description=desc, subject_distance_m=round(dist, 2))  # fmt: skip

    def master(self, beat: int) -> tuple[Any, ...]:
        key = ("master",)
        line = self.b.line_at(beat)
        if key in self.setups:
            setup = self.setups[key]
            cam = setup.camera
            if (
                line
                and not cam.end
                and side_of_line(cam.position, *line) * self.b.side_at(beat) < 0
            ):
                # The actors' move turned the line: the master travels with them to the
                # new side, in one take, so no cut ever crosses the line.
                x, y = perpendicular_position(*line, setup.subject_distance_m, self.b.side_at(beat))
                mid = scale(add(*line), 0.5)
                cam.end = {"x": round(x, 3), "y": round(y, 3), "height": cam.height,
                           "pan": round(heading(sub(mid, (x, y))), 3), "tilt": cam.tilt}  # fmt: skip
                if setup.movement == "static":
                    setup.movement = "truck"
                setup.description = "master: travels with the actors as they move"
            return key
        names = self.present(beat) or list(self.b.people)
        pts = [self.pos(n, beat)[0] for n in names] or [(0.0, 0.0)]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        centre = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
        half = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 + 1.0
        size = "WS" if half > 2.0 or self.exterior else "FS"
        lens = self.lens(size)
        hfov, _ = fov(self.body, lens, self.aspect)
        dist = max(fit_distance(half, hfov), distance_for_size(size, lens, self.body, self.aspect))
        limit = self.b.depth / 2 + 1.0 - centre[1] if not self.exterior else 1e9
        while dist > limit and lens > min(_primes(self.body)):  # stay inside the room
            lens = _primes(self.body)[max(0, _primes(self.body).index(lens) - 1)]
            hfov, _ = fov(self.body, lens, self.aspect)
            dist = max(
                fit_distance(half, hfov), distance_for_size(size, lens, self.body, self.aspect)
            )
        if line:
            pos = perpendicular_position(*line, dist, self.b.side_at(beat))
        else:
            pos = add(centre, (0.0, -dist))
        cam = make_camera(self.body, lens, self.aspect, pos, 1.7, centre, 1.2)
        movement = self.movement("master")
        if movement in ("steadicam", "handheld"):
            cam.end = {"x": round(cam.x + 1.0, 2), "y": cam.y, "height": cam.height,
                       "pan": cam.pan, "tilt": cam.tilt}  # fmt: skip
        return self._add(key, purpose="master", size=size, angle="eye level", movement=movement,
                         lens_mm=lens, camera=cam, subjects=names,
                         description="master: the whole scene", subject_distance_m=round(dist, 2))  # fmt: skip

    def two_shot(self, beat: int) -> tuple[Any, ...]:
        assert self.b.pair
        key = ("two-shot", self.epoch(beat))
        if key in self.setups:
            return key
        a, b = self.b.pair
        (pa, _), (pb, _) = self.pos(a, beat), self.pos(b, beat)
        lens = self.lens("MS")
        hfov, _ = fov(self.body, lens, self.aspect)
        sep = length(sub(pa, pb))
        dist = max(
            fit_distance(1.5 * sep, hfov), distance_for_size("MS", lens, self.body, self.aspect)
        )
        room = self.b.depth / 2 + 0.5 if not self.exterior else 1e9
        while dist > room and lens > min(_primes(self.body)):  # widen rather than leave the room
            lens = _primes(self.body)[max(0, _primes(self.body).index(lens) - 1)]
            hfov, _ = fov(self.body, lens, self.aspect)
            dist = max(
                fit_distance(1.5 * sep, hfov), distance_for_size("MS", lens, self.body, self.aspect)
            )
        pos = perpendicular_position(pa, pb, dist, self.b.side_at(beat))
        mid = scale(add(pa, pb), 0.5)
        cam = make_camera(
            self.body, lens, self.aspect, pos, 1.6, mid, (self.eye(a) + self.eye(b)) / 2
        )
        return self._add(key, purpose="two-shot", size="MS", angle="eye level",
                         movement=self.movement("two-shot"), lens_mm=lens, camera=cam,
                         subjects=[a, b], description=f"two-shot: {a} and {b}",
                         subject_distance_m=round(dist, 2))  # fmt: skip

    def ots(self, speaker: str, beat: int) -> tuple[Any, ...]:
        assert self.b.pair
        other = self.b.pair[1] if speaker == self.b.pair[0] else self.b.pair[0]
        key = ("ots", speaker, self.epoch(beat))
        if key in self.setups:
            return key
        (ps, fs), (po, _) = self.pos(speaker, beat), self.pos(other, beat)
        back = unit(heading(sub(po, ps)))
        line = self.b.line_at(beat)
        # Behind the listener's shoulder, nudged to the camera side of the line.
        lateral = (-back[1], back[0])
        pos = add(add(po, scale(back, 0.8)), scale(lateral, 0.35))
        if line and side_of_line(pos, *line) * self.b.side_at(beat) < 0:
            pos = add(add(po, scale(back, 0.8)), scale(lateral, -0.35))
        dist = length(sub(ps, pos))
        lens = lens_for_distance("MCU", dist, self.body, self.aspect)
        cam = make_camera(self.body, lens, self.aspect, pos, self.eye(other) + 0.05, ps,
                          self.eye(speaker), screen_offset=look_room_offset(fs, heading(sub(ps, pos))))  # fmt: skip
        return self._add(key, purpose="ots", size="MCU", angle="OTS",
                         movement=self.movement("ots"), lens_mm=lens, camera=cam,
                         subjects=[speaker, other],
                         description=f"over {other}'s shoulder onto {speaker}",
                         subject_distance_m=round(dist, 2))  # fmt: skip

    def single(self, name: str, beat: int, size: str = "MCU", *, facing: float | None = None,
               purpose: str = "single", vfx_kind: str | None = None) -> tuple[Any, ...]:  # fmt: skip
        key = (purpose, name, size, vfx_kind, self.epoch(beat))
        if key in self.setups:
            return key
        p, f = self.pos(name, beat)
        if facing is not None:
            f = facing
        lens = self.lens(size)
        dist = distance_for_size(size, lens, self.body, self.aspect)
        off = 25.0 + self.rng.random() * 10.0
        pos = single_position(p, f, dist, self.b.line_at(beat), self.b.side_at(beat), off)
        pan = heading(sub(p, pos))
        cam = make_camera(self.body, lens, self.aspect, pos, self.eye(name), p, self.eye(name),
                          screen_offset=look_room_offset(f, pan))  # fmt: skip
        word = {"reaction": "reaction", "single": "single", "vfx": "VFX"}.get(purpose, purpose)
        desc = f"{word}: {name}" + (f" ({vfx_kind.replace('_', '-')})" if vfx_kind else "")
        return self._add(key, purpose=purpose, size=size, angle="eye level",
                         movement=self.movement(purpose), lens_mm=lens, camera=cam,
                         subjects=[name], description=desc, vfx=vfx_kind is not None,
                         vfx_kind=vfx_kind, subject_distance_m=round(dist, 2))  # fmt: skip

    def insert(self, prop: str, handler: str | None, beat: int, *, vfx_kind: str | None = None
               ) -> tuple[Any, ...]:  # fmt: skip
        key = ("insert", prop, vfx_kind)
        if key in self.setups:
            return key
        if handler:
            hp, hf = self.pos(handler, beat)
            spot = add(hp, scale(unit(hf), 0.45))
        else:
            spot = (0.0, 0.0)
        lens = self.lens("INSERT")
        dist = distance_for_size("INSERT", lens, self.body, self.aspect)
        pos = add(spot, scale(unit(-90.0 if self.b.side_at(beat) > 0 else 90.0), dist * 0.7))
        cam = make_camera(self.body, lens, self.aspect, pos, 1.0 + dist * 0.7, spot, 0.9)
        return self._add(key, purpose="insert", size="INSERT", angle="high",
                         movement=self.movement("insert"), lens_mm=lens, camera=cam,
                         subjects=[], description=f"insert: {prop}", vfx=vfx_kind is not None,
                         vfx_kind=vfx_kind, subject_distance_m=round(dist, 2))  # fmt: skip

    def pov(self, name: str, beat: int) -> tuple[Any, ...]:
        key = ("pov", name)
        if key in self.setups:
            return key
        p, f = self.pos(name, beat)
        lens = self.lens("MS")
        target = add(p, scale(unit(f), 6.0))
        cam = make_camera(self.body, lens, self.aspect, p, self.eye(name), target, self.eye(name))
        return self._add(key, purpose="pov", size="MS", angle="POV",
                         movement="handheld" if self.style["movement"] != "static" else "static",
                         lens_mm=lens, camera=cam, subjects=[], description=f"{name}'s point of view",
                         subject_distance_m=6.0)  # fmt: skip

    def wide(self, purpose: str, beat: int, *, vfx_kind: str | None = None,
             description: str = "") -> tuple[Any, ...]:  # fmt: skip
        """Crowd wides and VFX plates: locked off, wide, from behind the action."""
        key = (purpose, vfx_kind)
        if key in self.setups:
            return key
        size = "EWS" if vfx_kind in ("crowd", "set_extension", "collapse") else "WS"
        lens = self.lens(size)
        if vfx_kind in _STRUCTURAL or vfx_kind == "collapse":
            names = self.present(beat)
            pts = [self.pos(n, beat)[0] for n in names] or [(0.0, 0.0)]
            centre = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
            pos = add(centre, (0.0, 1.0))  # over the witnesses' shoulders
            target, th, angle, height = self.event, 15.0, "low", 1.2
        elif purpose == "crowd":
            pos = (0.0, -self.b.depth / 2 - 5.0)
            target, th, angle, height = (0.0, 0.0), 0.0, "high", 6.0
        else:
            pos = (0.0, -self.b.depth / 2 - 3.0)
            target, th, angle, height = (0.0, self.b.depth / 2), 4.0, "eye level", 1.6
        cam = make_camera(self.body, lens, self.aspect, pos, height, target, th)
        dist = length(sub(target, pos))
        return self._add(key, purpose=purpose, size=size, angle=angle,
                         movement=self.movement(purpose), lens_mm=lens, camera=cam, subjects=[],
                         description=description, vfx=vfx_kind is not None, vfx_kind=vfx_kind,
                         subject_distance_m=round(dist, 2))  # fmt: skip


def _primes(body: Filmback) -> tuple[int, ...]:
    from ._cameras import primes_for

    return primes_for(body)


def _beat_tags(scene: dict[str, Any], beat: dict[str, Any]) -> list[dict[str, Any]]:
    first = beat["span"]["line"]
    last = beat["span"].get("end_line", first)
    # Accepted tags always count; proposals only when the breakdown is fairly sure.
    return [
        t
        for t in scene.get("tags", [])
        if first <= t["span"]["line"] <= last
        and (
            t.get("status") == "accepted"
            or (t.get("status", "proposed") == "proposed" and t.get("confidence", 0) >= TAG_TRUST)
        )
    ]


def plan_scene(
    scene: dict[str, Any],
    *,
    style: str,
    seed: int,
    new_location: bool,
    body: Filmback,
    aspect: float,
) -> ScenePlan:
    """Block a breakdown scene and cover it: setups plus the cut that uses them."""
    rng = random.Random(f"{seed}:{scene.get('key', scene['number'])}")
    blocking = block_scene(scene, rng)
    preset = STYLES[style]
    pl = _Planner(scene, blocking, preset, rng, body, aspect)
    beats = scene.get("beats", [])
    durations, estimate = beat_durations(beats, int(scene.get("eighths", 1)))
    pair = blocking.pair
    speech_count: dict[str, int] = {}
    inserts = 0
    reacted = False
    for i, (beat, secs) in enumerate(zip(beats, durations, strict=True)):
        if secs <= 0:
            continue
        present = pl.present(i)
        if i == 0 and new_location and beat["kind"] == "action":
            est = min(4.0, secs * 0.5)
            pl.use(pl.establishing(i), i, est)
            secs -= est
        if beat["kind"] in ("dialogue", "lyrics"):
            who = beat.get("character")
            if who not in blocking.people:
                pl.use(pl.master(i), i, secs)
                continue
            n = speech_count.get(who, 0)
            speech_count[who] = n + 1
            total = sum(speech_count.values())
            if style == "long-takes":
                longest = max(
                    (b.get("words", 0) for b in beats if b.get("character") == who), default=0
                )
                if beat.get("words", 0) == longest and beat.get("words", 0) >= 12:
                    pl.use(pl.single(who, i, "MS"), i, secs)
                else:
                    pl.use(pl.master(i), i, secs)
            elif pair and who in pair and all(p in present for p in pair):
                listener = pair[1] if who == pair[0] else pair[0]
                if total == 1:
                    pl.use(pl.two_shot(i), i, secs)
                elif preset["ots"] and total <= preset["singles_after"]:
                    pl.use(pl.ots(who, i), i, secs)
                elif total % 4 == 0:
                    pl.use(pl.two_shot(i), i, secs)  # back out now and then: a rhythm of sizes
                else:
                    # Singles tighten as the conversation goes on.
                    late = total > int(preset["singles_after"]) + 4
                    size = "CU" if late or beat.get("words", 0) >= 25 else "MCU"
                    if secs > 8.0:  # a long speech cuts to the listener's reaction
                        pl.use(pl.single(who, i, size), i, secs * 0.7)
                        pl.use(pl.single(listener, i, "MCU"), i, secs * 0.3)
                    else:
                        pl.use(pl.single(who, i, size), i, secs)
            else:
                pl.use(pl.single(who, i, "MS" if beat["kind"] == "dialogue" else "MCU"), i, secs)
            continue
        if beat["kind"] != "action":
            continue
        tags = _beat_tags(scene, beat)
        vfx = list(dict.fromkeys(t.get("vfx_kind") or "other" for t in tags if t["kind"] == "vfx"))
        if vfx:
            share = secs / len(vfx)
            for kind in vfx:
                _cover_vfx(pl, kind, i, share, present, beat)
            continue
        props = [t for t in tags if t["kind"] == "props" and t.get("confidence", 0) >= 0.75]
        crowd = [t for t in tags if t["kind"] == "extras"]
        mentioned = [n for n in present if _named(beat["text"], n)]
        if crowd:
            pl.use(pl.wide("crowd", i, description="crowd wide: the extras"), i, secs * 0.5)
            pl.use(pl.master(i), i, secs * 0.5)
        elif props and inserts < 2 and style != "long-takes":
            inserts += 1
            handler = mentioned[0] if mentioned else None
            pl.use(pl.master(i), i, secs * 0.65)
            pl.use(pl.insert(props[0]["name"], handler, i), i, secs * 0.35)
        elif _POV.search(beat["text"]) and mentioned and style != "long-takes":
            looker = mentioned[0]
            pl.use(pl.single(looker, i, "MCU"), i, secs * 0.5)
            pl.use(pl.pov(looker, i), i, secs * 0.5)
        elif not reacted and len(present) > 2 and style == "classical" and i > 0:
            reacted = True  # a cutaway to someone who is listening, once a scene
            silent = [n for n in present if not pair or n not in pair]
            pl.use(pl.master(i), i, secs * 0.7)
            pl.use(pl.single(silent[0], i, "MCU", purpose="cutaway"), i, secs * 0.3)
        else:
            pl.use(pl.master(i), i, secs)
    order = list(dict.fromkeys(k for k, _, _ in pl.edit))
    setups = [pl.setups[k] for k in order]
    return ScenePlan(scene["number"], blocking, setups, pl.edit, durations, estimate)


def _named(text: str, name: str) -> bool:
    first = name.split()[0]
    return bool(re.search(rf"(?<!\w)(?:{re.escape(name)}|{re.escape(first)})(?!\w)", text, re.I))


def _cover_vfx(pl: _Planner, kind: str, beat: int, secs: float, present: list[str],
               text_beat: dict[str, Any]) -> None:  # fmt: skip
    """A VFX cue: its plate, plus what the cue needs around it."""
    mentioned = [n for n in present if _named(text_beat["text"], n)]
    if kind == "de_aging":
        who = mentioned[0] if mentioned else (present[0] if present else None)
        if who:
            pl.use(pl.single(who, beat, "CU", purpose="vfx", vfx_kind=kind), beat, secs)
            return
    if kind == "screen_replacement":
        who = mentioned[0] if mentioned else (present[0] if present else None)
        pl.use(pl.insert("screen", who, beat, vfx_kind=kind), beat, secs)
        return
    plate = pl.wide("vfx-plate", beat, vfx_kind=kind,
                    description=f"VFX plate: {kind.replace('_', ' ')}")  # fmt: skip
    if kind in _STRUCTURAL and present:
        # The wide plate, then the witnesses' reactions toward the event.
        pl.use(plate, beat, secs * 0.5)
        witnesses = (mentioned or present)[:2]
        for name in witnesses:
            p, _ = pl.pos(name, beat)
            facing = heading(sub(pl.event, p))
            pl.use(pl.single(name, beat, "MCU", facing=facing, purpose="reaction"), beat,
                   secs * 0.5 / len(witnesses))  # fmt: skip
        return
    pl.use(plate, beat, secs)


def shot_ids(scene_number: str, count: int, taken: set[str]) -> list[str]:
    """``12``, ``12A``, ``12B``…; scenes that end in a letter use ``7A``, ``7A-A``…

    Letters I and O are skipped (they read as 1 and 0 on a slate); ids already
    taken (including retired ones) are never reused.
    """
    letters = [c for c in "ABCDEFGHJKLMNPQRSTUVWXYZ"]
    sep = "-" if scene_number[-1:].isalpha() else ""
    out: list[str] = []
    candidates = (
        [scene_number]
        + [f"{scene_number}{sep}{a}" for a in letters]
        + [f"{scene_number}{sep}{a}{b}" for a in letters for b in letters]
    )
    for cid in candidates:
        if len(out) == count:
            break
        if cid not in taken:
            out.append(cid)
            taken.add(cid)
    return out


def describe_move(cam: Camera) -> str:
    if not cam.end:
        return ""
    dx = cam.end.get("x", cam.x) - cam.x
    dy = cam.end.get("y", cam.y) - cam.y
    dz = cam.end.get("height", cam.height) - cam.height
    parts = []
    if math.hypot(dx, dy) > 0.05:
        parts.append(f"travels {math.hypot(dx, dy):.1f} m")
    if abs(dz) > 0.05:
        parts.append(f"{'rises' if dz > 0 else 'descends'} {abs(dz):.1f} m")
    return ", ".join(parts)

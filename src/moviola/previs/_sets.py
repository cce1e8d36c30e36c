"""The set proxy by kind: rooms with a ceiling, streets of facades, a stadium, a skyline, a bus.

The kind comes from the plan's blocking (room, corridor, street, large, vista,
rooftop, vehicle, bus), sharpened by the heading and the action: a "large"
set whose words say stadium, terraces or floodlights is a stadium; a vista of
a city is a skyline. Sizes are those of the real thing (a pitch is 105 x 68 m,
a storey 3.5 m, a bus 2.6 m wide). Facades carry ``windows`` (lit at night by
the renderer), and a night set gets its lights as UsdLux sphere lights:
street lamps, floodlights, practicals in a room. A ceiling or a bus's roof
casts no shadow (``primvars:moviola:shadow``), so the key light still reaches
inside, as a set's open top lets a lighting rig in.

``stage_set`` returns where a crowd can stand (stadium seats, pavements).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._prims import RGB, box, cone, lamp, plan_to_world, pxr, surface

GREY = (0.55, 0.55, 0.55)
FACADE = (0.6, 0.57, 0.52)
ASPHALT = (0.3, 0.3, 0.31)
PAVEMENT = (0.52, 0.51, 0.49)
GRASS = (0.22, 0.45, 0.2)
CONCRETE = (0.58, 0.57, 0.55)
SODIUM = (1.0, 0.62, 0.3)
FLOOD = (0.92, 0.95, 1.0)
PRACTICAL = (1.0, 0.78, 0.5)
SNOW_GROUND = (0.86, 0.89, 0.95)
PITCH = (105.0, 68.0)
SEAT_W, ROW_D, ROW_H = 0.45, 0.8, 0.45
# what makes a large set a football ground: its name in the heading, or the nouns only a
# ground has in the action ("stands" and "pitch" are verbs too often to count)
_STADIUM_HEADING = re.compile(r"\b(ESTADIO|STADIUM|STADE|STADION|ARENA|GAS[OÓ]METRO)\b", re.I)
_STADIUM = re.compile(r"\b(terraces|grandstands?|bleachers|floodlights|the pitch|the terraces)\b", re.I)
_CITY = re.compile(r"\b(SKYLINE|CITY|DOWNTOWN|CIUDAD|ROOFTOPS)\b", re.I)
_KIOSK = re.compile(r"\b(kiosk|kiosko|newsstand|stall)s?\b", re.I)
_CARS = re.compile(r"\b(cars?|taxis?|vans?|fiat|trucks?|colectivos?|buses)\b", re.I)


@dataclass
class SetInfo:
    """What the layout built: its kind and the places a crowd can stand."""

    kind: str
    #: (n, 4): plan x, y, height of the floor there, facing (degrees) — where extras go.
    slots: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 4)))
    lights: int = 0


def set_kind(blocking_kind: str, heading: str, texts: list[str]) -> str:
    """The set to build: the blocking's kind, sharpened by the words."""
    said = " ".join(texts)
    if blocking_kind in ("large", "street", "vista") and (
        _STADIUM_HEADING.search(heading) or len(set(m.lower() for m in _STADIUM.findall(said))) >= 2
    ):
        return "stadium"
    if blocking_kind == "vista" and _CITY.search(heading):
        return "skyline"
    return blocking_kind


def no_shadow(prim: Any) -> None:
    """A piece the key light passes through (a ceiling, a roof): seen, but casting no shadow."""
    _, Sdf, _, UsdGeom = pxr()
    UsdGeom.PrimvarsAPI(prim).CreatePrimvar("moviola:shadow", Sdf.ValueTypeNames.Bool,
                                            UsdGeom.Tokens.constant).Set(False)  # fmt: skip


def stage_set(stage: Any, blocking: Any, heading: str, texts: list[str], *, night: bool,
              looks_up: bool, ground: str | None = None) -> SetInfo:  # fmt: skip
    """Ground, and the set of its kind; its lights when it is night."""
    _, _, _, UsdGeom = pxr()
    UsdGeom.Xform.Define(stage, "/World/Set")
    kind = set_kind(blocking.kind, heading, texts)
    w, d = blocking.width, blocking.depth
    snowy = ground == "snow"
    ground_col: RGB = SNOW_GROUND if snowy else (0.42, 0.42, 0.40)
    size = max(w, d) * (3.0 if kind in ("street", "large", "vista", "rooftop", "skyline") else 1.2)
    if kind in ("vehicle", "bus"):
        size = 120.0  # the road the vehicle is on, to the horizon
    if kind == "stadium":
        size = 320.0
    g = box(stage, "/World/Set/ground", (0.0, -0.05, 0.0), (size, 0.1, size), ground_col)
    if snowy:  # the script's snow lies luminous: a faint glow of its own
        surface(g.GetPrim(), "emissive", 0.12 if night else 0.0)
    info = SetInfo(kind)
    if kind in ("room", "corridor"):
        _room(stage, w, d, looks_up, night)
    elif kind in ("vehicle", "bus"):
        _vehicle(stage, kind, w, d)
    elif kind == "skyline":
        _skyline(stage, blocking)
    elif kind == "stadium":
        info.slots = _stadium(stage, night)
    elif kind in ("street", "large", "rooftop"):
        info.slots = _street(stage, w, d, texts, night, snowy)
    return info


def _room(stage: Any, w: float, d: float, ceiling: bool, night: bool) -> None:
    h = 2.7
    for name, c, s in (
        ("wall_back", (0.0, h / 2, -d / 2), (w, h, 0.1)),
        ("wall_left", (-w / 2, h / 2, 0.0), (0.1, h, d)),
        ("wall_right", (w / 2, h / 2, 0.0), (0.1, h, d)),
    ):
        box(stage, f"/World/Set/{name}", c, s, GREY)
    if ceiling:  # seen when a camera looks up; the key light passes, as through a set's open top
        top = box(stage, "/World/Set/ceiling", (0.0, h + 0.05, 0.0), (w, 0.1, d), (0.7, 0.69, 0.66))
        no_shadow(top.GetPrim())
    # practicals: a lamp or two, what lights a room at night
    for i, x in enumerate((-w / 4, w / 4) if w > 4 else (0.0,)):
        lamp(stage, f"/World/Set/practical_{i}", (x, h - 0.35, -d / 4), PRACTICAL,
             5.0 if night else 1.5, radius=0.12)  # fmt: skip


def _vehicle(stage: Any, kind: str, w: float, d: float) -> None:
    """A cutaway body to the windows, seats, and a roof on pillars (casting no shadow)."""
    body = (0.75, 0.65, 0.2)
    ww, dd = w + 0.2, d + 0.4
    box(stage, "/World/Set/floor", (0.0, 0.05, 0.0), (ww, 0.1, dd), body)
    for name, c, size in (
        ("side_l", (-ww / 2, 0.5, 0.0), (0.06, 0.9, dd)),
        ("side_r", (ww / 2, 0.5, 0.0), (0.06, 0.9, dd)),
        ("front", (0.0, 0.5, -dd / 2), (ww, 0.9, 0.06)),
        ("back", (0.0, 0.5, dd / 2), (ww, 0.9, 0.06)),
    ):
        box(stage, f"/World/Set/{name}", c, size, body)
    if kind == "bus":  # a bus's roof on its pillars, high over the cameras (a car stays open:
        roof_h = 2.3  # its cameras sit at the roof line and look out through the glass)
        roof = box(stage, "/World/Set/roof", (0.0, roof_h, 0.0), (ww, 0.08, dd), body)
        no_shadow(roof.GetPrim())
        for i, (x, z) in enumerate(((-ww / 2, -dd / 2), (ww / 2, -dd / 2), (-ww / 2, dd / 2), (ww / 2, dd / 2))):
            box(stage, f"/World/Set/pillar_{i}", (x, (roof_h + 0.9) / 2, z), (0.08, roof_h - 0.9, 0.08), body)
        # rows of seats either side of the aisle, facing forward
        rows = max(1, int((dd - 2.5) / 0.85))
        for r in range(rows):
            z = -dd / 2 + 2.2 + r * 0.85
            for side in (-1, 1):
                box(stage, f"/World/Set/seat_{r:02d}_{'l' if side < 0 else 'r'}",
                    (side * (ww / 2 - 0.5), 0.45, z), (0.85, 0.1, 0.45), (0.25, 0.3, 0.5))  # fmt: skip
    box(stage, "/World/Set/dashboard", (0.0, 0.85, -dd / 2 + 0.35), (ww - 0.3, 0.25, 0.4), (0.15, 0.15, 0.17))


def _skyline(stage: Any, blocking: Any) -> None:
    """A city skyline: towers with windows in a band ahead of the cameras."""
    rng = random.Random(f"skyline {blocking.width} {blocking.depth}")
    for i in range(40):
        x = -160.0 + 320.0 * (i + rng.random() * 0.6) / 40
        y = 90.0 + rng.random() * 130.0
        height = 10.0 + rng.random() ** 2 * 80.0
        span = 8.0 + rng.random() * 10.0
        shade = 0.45 + rng.random() * 0.2
        box(stage, f"/World/Set/tower_{i}", plan_to_world(x, y, height / 2), (span, height, span),
            (shade, shade, shade * 1.04), kind="windows")  # fmt: skip


def _street(stage: Any, w: float, d: float, texts: list[str], night: bool, snowy: bool) -> NDArray[np.float64]:
    """An avenue: facades of lit windows both sides, pavements, kiosks, parked cars, street lamps."""
    words = " ".join(texts)
    rng = random.Random(f"street {w} {d}")
    half = w / 2
    length = max(d * 2.5, 60.0)
    box(stage, "/World/Set/road", (0.0, 0.0, 0.0), (w, 0.02, length), SNOW_GROUND if snowy else ASPHALT)
    slots = []
    n = int(length / 12)
    for side in (-1, 1):
        box(stage, f"/World/Set/pavement_{'l' if side < 0 else 'r'}", (side * (half + 2.0), 0.08, 0.0),
            (4.0, 0.16, length), SNOW_GROUND if snowy else PAVEMENT)  # fmt: skip
        for i in range(n):
            z = -length / 2 + (i + 0.5) * length / n
            height = 12.0 + 3.5 * rng.randint(0, 5)
            shade = rng.uniform(0.5, 0.66)
            box(stage, f"/World/Set/building_{'l' if side < 0 else 'r'}{i:02d}",
                (side * (half + 4.0 + 5.0), height / 2, z), (10.0, height, length / n - 0.6),
                (shade, shade * 0.96, shade * 0.9), kind="windows")  # fmt: skip
            for k in range(3):  # people on the pavement, facing the road
                slots.append((side * (half + 1.0 + k * 0.9), -z + rng.uniform(-4, 4), 0.16,
                              0.0 if side < 0 else 180.0))  # fmt: skip
        if night:
            for i in range(int(length / 22)):
                z = -length / 2 + 11.0 + i * 22.0
                x = side * (half + 0.4)
                cone(stage, f"/World/Set/lamppost_{'l' if side < 0 else 'r'}{i:02d}", (x, 0.0, z), 0.08, 7.0,
                     (0.2, 0.2, 0.22), cylinder=True)  # fmt: skip
                lamp(stage, f"/World/Set/streetlight_{'l' if side < 0 else 'r'}{i:02d}",
                     (x - side * 1.2, 7.0, z), SODIUM, 14.0, radius=0.3)  # fmt: skip
    if _KIOSK.search(words):
        for i, (x, z) in enumerate(((-half - 2.0, -4.0), (half + 2.0, 9.0))):
            box(stage, f"/World/Set/kiosk_{i}", (x, 1.3, z), (2.0, 2.6, 1.6), (0.35, 0.45, 0.3))
            if night:
                box(stage, f"/World/Set/kiosk_{i}_sign", (x, 2.75, z), (2.0, 0.3, 1.65), (1.0, 0.85, 0.55),
                    kind="emissive", emission=0.8)  # fmt: skip
    if _CARS.search(words):  # parked along the kerbs, out of the middle where the action is
        for i in range(6):
            side = -1 if i % 2 == 0 else 1
            z = -length / 2 + length * (i + 0.5) / 6
            if abs(z) < 6.0:
                continue
            colour = rng.choice(((0.7, 0.15, 0.12), (0.2, 0.3, 0.5), (0.8, 0.8, 0.78), (0.15, 0.15, 0.15)))
            x = side * (half - 1.2)
            box(stage, f"/World/Set/car_{i}", (x, 0.55, z), (1.8, 0.8, 4.3), colour)
            box(stage, f"/World/Set/car_{i}_cabin", (x, 1.2, z + 0.2), (1.6, 0.55, 2.2), colour)
    return np.asarray(slots, np.float64).reshape(-1, 4)


def _stadium(stage: Any, night: bool) -> NDArray[np.float64]:
    """A football ground: the pitch, two tiers of terraces on four sides, floodlights.

    Returns the seats (plan x, y, height, facing the pitch's centre): about 41,000.
    """
    pl, pw = PITCH
    box(stage, "/World/Set/pitch", (0.0, 0.01, 0.0), (pw, 0.02, pl), GRASS)  # long axis along plan y
    slots: list[NDArray[np.float64]] = []
    rows = 27
    for tier, (gap, base) in enumerate(((8.0, 0.8), (8.0 + rows * ROW_D + 3.0, 0.8 + rows * ROW_H + 4.0))):
        for side, (along, across, facing) in enumerate(((pw, pl / 2, 270.0), (pw, pl / 2, 90.0),
                                                        (pl, pw / 2, 180.0), (pl, pw / 2, 0.0))):  # fmt: skip
            name = f"/World/Set/stand_{tier}_{side}"
            _terrace(stage, name, along, rows, gap, base, across, facing)
            # seats on every row: in the stand's own frame, then turned into place
            seats = int(along / SEAT_W)
            u = (np.arange(seats) - (seats - 1) / 2) * SEAT_W
            r = np.arange(rows)
            uu, rr = np.meshgrid(u, r)
            out = across + gap + (rr + 0.5) * ROW_D
            h = base + (rr + 1) * ROW_H
            a = math.radians(facing + 180.0)  # the direction from the pitch out to the stand
            ca, sa = math.cos(a), math.sin(a)
            x = out * ca - uu * sa
            y = out * sa + uu * ca
            face = np.full(x.shape, facing)
            slots.append(np.stack([x.ravel(), y.ravel(), h.ravel(), face.ravel()], axis=1))
    for i, (sx, sy) in enumerate(((-1, -1), (1, -1), (-1, 1), (1, 1))):
        x, y = sx * (pw / 2 + 30.0), sy * (pl / 2 + 30.0)
        cone(stage, f"/World/Set/floodlight_mast_{i}", plan_to_world(x, y, 0.0), 0.6, 45.0, (0.4, 0.4, 0.42),
             cylinder=True)  # fmt: skip
        box(stage, f"/World/Set/floodlight_{i}", plan_to_world(x, y, 46.0), (8.0, 4.0, 1.0), FLOOD,
            kind="emissive", emission=3.0 if night else 0.3)  # fmt: skip
        if night:
            lamp(stage, f"/World/Set/floodlight_{i}_light", plan_to_world(x * 0.9, y * 0.9, 44.0), FLOOD,
                 2500.0, radius=1.0)  # fmt: skip
    return np.concatenate(slots)


def _terrace(stage: Any, path: str, along: float, rows: int, gap: float, base: float, across: float,
             facing: float) -> None:  # fmt: skip
    """A stand of ``rows`` steps as one mesh: a stair-stepped prism, rising away from the pitch."""
    Gf, _, _, UsdGeom = pxr()
    mesh = UsdGeom.Mesh.Define(stage, path)
    profile = [(0.0, 0.0), (0.0, base)]
    for r in range(rows):
        profile += [(r * ROW_D, base + (r + 1) * ROW_H), ((r + 1) * ROW_D, base + (r + 1) * ROW_H)]
    profile.append((rows * ROW_D, 0.0))
    # the profile in (out, up), extruded along the stand's length; each end closed by one
    # rectangle per row (the stepped outline is not convex: a fan across it would fold)
    half = along / 2
    points = [(p[0], p[1], -half) for p in profile] + [(p[0], p[1], half) for p in profile]
    m = len(profile)
    faces: list[list[int]] = []
    for i in range(m):
        j = (i + 1) % m
        faces.append([i, j, m + j, m + i])
    for u, flip in ((-half, True), (half, False)):
        for r in range(rows):
            top = base + (r + 1) * ROW_H
            at = len(points)
            points += [(r * ROW_D, 0.0, u), ((r + 1) * ROW_D, 0.0, u), ((r + 1) * ROW_D, top, u), (r * ROW_D, top, u)]
            quad = [at, at + 1, at + 2, at + 3]
            faces.append(quad[::-1] if flip else quad)
    a = math.radians(facing + 180.0)
    ca, sa = math.cos(a), math.sin(a)
    world = []
    for out, up, u in points:  # plan: out along a, u across it
        o = across + gap + out
        x, y = o * ca - u * sa, o * sa + u * ca
        world.append(Gf.Vec3f(*plan_to_world(x, y, up)))
    mesh.CreatePointsAttr(world)
    mesh.CreateFaceVertexCountsAttr([len(f) for f in faces])
    mesh.CreateFaceVertexIndicesAttr([i for f in faces for i in f])
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateDisplayColorAttr([Gf.Vec3f(*CONCRETE)])
    xs = [p[0] for p in world]
    ys = [p[1] for p in world]
    zs = [p[2] for p in world]
    mesh.CreateExtentAttr([Gf.Vec3f(min(xs), min(ys), min(zs)), Gf.Vec3f(max(xs), max(ys), max(zs))])

"""Weather as particles: snow, rain, dust and smoke falling (or rising) through every shot.

Each kind is one ``UsdGeomPointInstancer`` under ``/World/Weather``. Its
prototypes are tiles of flakes 4 m wide and 6 m tall whose own translate loops
(down 6 m, then back up, over the time a flake takes to fall that far); the
tiles are stacked in columns over the ground the cameras look at. As a column
is made of one prototype, a tile that wraps takes exactly the place of the one
above it, so the fall is seamless, and each column starts its loop at its own
phase. It is all time samples (a few hundred), so the fall is the same in
every render and every pass and plays in any USD tool. Flakes are real
geometry at their real depth: the depth and id passes carry them as specks
(see ``speck_share`` in the tests) and stay usable.

Fog thickens the air instead (``moviola:fog`` on ``/World``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..plan import Shot
from ._prims import RGB, pxr, surface
from ._staging import WeatherSpec

FIRST_FRAME = 1001
TILE_W, TILE_H = 4.0, 6.0
LAYERS = (-6.0, 0.0, 6.0, 12.0)  # tile bases: with the loop, the air from the ground to 18 m
REACH_M = 20.0  # columns this far in front of a camera
MAX_COLUMNS = 700
LOD_M = 20.0  # flakes farther than this are a pixel or less at 1080p: not drawn


@dataclass(frozen=True)
class Kind:
    speed: float  # m/s, + falls, - rises
    size: tuple[float, float]  # flake width and height (m)
    colour: RGB
    per_tile: tuple[int, int]  # flakes per tile at intensity 0 and 1


KINDS = {
    "snow": Kind(1.1, (0.045, 0.045), (0.95, 0.96, 1.0), (20, 100)),
    "rain": Kind(7.0, (0.015, 0.45), (0.7, 0.75, 0.85), (40, 120)),
    "dust": Kind(0.25, (0.05, 0.05), (0.62, 0.56, 0.46), (30, 90)),
    "smoke": Kind(-0.5, (0.3, 0.3), (0.3, 0.3, 0.31), (4, 14)),
}
PROTOTYPES = 3


@dataclass(frozen=True)
class WeatherStaged:
    name: str  # object name (prim under /World/Weather)
    kind: str
    columns: int
    flakes: int


def stage_weather(stage: Any, weather: tuple[WeatherSpec, ...], shots: list[Shot], fps: float,
                  last_frame: int) -> list[WeatherStaged]:  # fmt: skip
    """One instancer per kind of weather the scene has; fog goes on ``/World`` instead."""
    _, _, _, UsdGeom = pxr()
    made: list[WeatherStaged] = []
    for spec in weather:
        if spec.kind == "fog":
            world = stage.GetPrimAtPath("/World")
            world.SetCustomDataByKey("moviola:fog", float(1.0 + 6.0 * spec.intensity))
            continue
        kind = KINDS.get(spec.kind)
        if kind is None or any(m.kind == spec.kind for m in made):
            continue
        columns = _columns(shots)
        if not columns:
            continue
        if not made:
            UsdGeom.Xform.Define(stage, "/World/Weather")
        made.append(_instancer(stage, spec, kind, columns, fps, last_frame))
    return made


def _columns(shots: list[Shot]) -> list[tuple[int, int]]:
    """Grid cells (4 m) in front of every camera, at its start and at the end of its move."""
    cells: dict[tuple[int, int], float] = {}
    for shot in shots:
        c = shot.camera
        poses = [(c.x, c.y, c.pan)]
        if c.end:
            poses.append((c.end.get("x", c.x), c.end.get("y", c.y), c.end.get("pan", c.pan)))
        for x, y, pan in poses:
            a = math.radians(pan)
            fx, fy = math.cos(a), math.sin(a)
            r = int(REACH_M / TILE_W) + 1
            gx, gy = round(x / TILE_W), round(y / TILE_W)
            for i in range(gx - r, gx + r + 1):
                for j in range(gy - r, gy + r + 1):
                    dx, dy = i * TILE_W - x, j * TILE_W - y
                    dist = math.hypot(dx, dy)
                    ahead = dx * fx + dy * fy
                    if dist <= 6.0 or (dist <= REACH_M and ahead > dist * math.cos(math.radians(55))):
                        cells[(i, j)] = min(cells.get((i, j), 1e9), dist)
    return sorted(cells, key=lambda k: (cells[k], k))[:MAX_COLUMNS]


def _instancer(stage: Any, spec: WeatherSpec, kind: Kind, columns: list[tuple[int, int]], fps: float,
               last_frame: int) -> WeatherStaged:  # fmt: skip
    Gf, _, _, UsdGeom = pxr()
    from pxr import Vt

    path = f"/World/Weather/{spec.kind}"
    inst = UsdGeom.PointInstancer.Define(stage, path)
    UsdGeom.Scope.Define(stage, f"{path}/Prototypes")
    lo, hi = kind.per_tile
    count = round(lo + (hi - lo) * min(1.0, max(0.0, spec.intensity)))
    colour = kind.colour
    if spec.glow is not None:  # glowing snow is white first, the glow's hue a tint on it
        peak = max(max(spec.glow), 1e-3)
        colour = tuple(0.55 * w + 0.45 * g / peak for w, g in zip(kind.colour, spec.glow, strict=True))  # type: ignore[assignment]
    period = max(2, round(TILE_H / abs(kind.speed) * fps))
    protos = []
    for k in range(PROTOTYPES):
        root = UsdGeom.Xform.Define(stage, f"{path}/Prototypes/tile_{k}")
        loop = root.AddTranslateOp()
        offset = k * period // PROTOTYPES  # each prototype falls at its own phase
        _loop(loop, period, offset, kind.speed > 0, last_frame)
        mesh = UsdGeom.Mesh.Define(stage, f"{path}/Prototypes/tile_{k}/flakes")
        _flakes(mesh, np.random.default_rng(100 + k), count, kind.size)
        mesh.CreateDisplayColorAttr([Gf.Vec3f(*colour)])
        if spec.glow is not None:  # luminous snow: it glows of itself, even in the dark
            surface(mesh.GetPrim(), "emissive", 0.6)
        protos.append(root.GetPath())
    inst.CreatePrototypesRel().SetTargets(protos)
    positions, indices = [], []
    for n, (i, j) in enumerate(columns):
        for base in LAYERS:
            positions.append((i * TILE_W, base, -j * TILE_W))
            indices.append((n * 7 + i * 3 + j) % PROTOTYPES)
    inst.CreatePositionsAttr(Vt.Vec3fArray.FromNumpy(np.asarray(positions, np.float32)))
    inst.CreateProtoIndicesAttr(Vt.IntArray.FromNumpy(np.asarray(indices, np.int32)))
    pts = np.asarray(positions, np.float32)
    inst.CreateExtentAttr([Gf.Vec3f(*map(float, pts.min(axis=0) - TILE_W)),
                           Gf.Vec3f(*map(float, pts.max(axis=0) + TILE_H * 2))])  # fmt: skip
    prim = inst.GetPrim()
    prim.SetCustomDataByKey("moviola:lod_m", LOD_M)
    prim.SetCustomDataByKey("moviola:lod_far", "hide")
    prim.SetCustomDataByKey("moviola:weather", spec.kind)
    prim.SetMetadata("documentation", f"{spec.kind}, intensity {spec.intensity:.2f}: {count} flakes a tile")
    return WeatherStaged(spec.kind, spec.kind, len(columns), count * len(positions))


def _loop(op: Any, period: int, offset: int, falling: bool, last_frame: int) -> None:
    """Down one tile height (or up, for smoke) over ``period`` frames, then back: a seamless loop."""
    Gf = pxr()[0]

    def at(phase: float) -> Any:
        y = TILE_H * (1.0 - phase) if falling else TILE_H * (phase - 1.0)
        return Gf.Vec3d(0.0, y, 0.0)

    start = FIRST_FRAME - offset
    op.Set(at(offset / period))
    frame = start
    while frame <= last_frame:
        if frame + period - 1 >= FIRST_FRAME:
            op.Set(at(0.0), max(frame, FIRST_FRAME) if frame < FIRST_FRAME else frame)
            if frame < FIRST_FRAME:
                op.Set(at((FIRST_FRAME - frame) / period), FIRST_FRAME)
            op.Set(at((period - 1) / period), frame + period - 1)
        frame += period


def _flakes(mesh: Any, rng: np.random.Generator, count: int, size: tuple[float, float]) -> None:
    """``count`` small tetrahedra scattered through a tile (flakes, drops, specks)."""
    Gf, _, _, UsdGeom = pxr()
    centres = rng.uniform((-TILE_W / 2, 0.0, -TILE_W / 2), (TILE_W / 2, TILE_H, TILE_W / 2), (count, 3))
    w, h = size
    corners = np.array([(0, h / 2, 0), (-w / 2, -h / 2, -w / 3), (w / 2, -h / 2, -w / 3), (0, -h / 2, w / 2)],
                       np.float32)  # fmt: skip
    points = (centres[:, None, :] + corners[None, :, :]).reshape(-1, 3).astype(np.float32)
    faces = np.array([(0, 2, 1), (0, 3, 2), (0, 1, 3), (1, 2, 3)], np.int32)
    index = (faces[None, :, :] + 4 * np.arange(count, dtype=np.int32)[:, None, None]).reshape(-1)
    from pxr import Vt

    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(points))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(count * 4, 3, np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(index))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateExtentAttr([Gf.Vec3f(-TILE_W / 2, -h, -TILE_W / 2), Gf.Vec3f(TILE_W / 2, TILE_H + h, TILE_W / 2)])

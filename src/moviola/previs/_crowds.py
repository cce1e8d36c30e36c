"""Crowds: the script's extras as instanced low-detail mannequins, idling, in their colours.

Each group of extras ("Forty thousand people in red and blue", "Dozens of
SURVIVORS") is one ``UsdGeomPointInstancer`` under ``/World/Crowds``: a few
prototype mannequins of boxes (standing, swaying, cheering with arms up), each
with its idle motion time-sampled as a loop, and one instance per person with
its own position, facing and colour (``primvars:displayColor``, per
instance). So forty thousand people are one prim a layout artist can move, a
few hundred keys, and a handful of draw calls; beyond 30 m the renderer draws
each as a box (an impostor of its size).

Where they stand: on the stadium's seats, along a street's pavements, or
around the action in a large set, never on a character's mark or a camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._prims import RGB, box, pxr, safe, surface
from ._staging import CrowdSpec

FIRST_FRAME = 1001
LOD_M = 20.0
MAX_OUTSIDE_STADIUM = 600  # extras scattered on a set (a stadium seats its tens of thousands)
CLOTHES: tuple[RGB, ...] = ((0.35, 0.32, 0.3), (0.25, 0.28, 0.36), (0.5, 0.45, 0.38), (0.3, 0.36, 0.3),
                            (0.55, 0.52, 0.5), (0.45, 0.25, 0.22))  # fmt: skip
SKIN = (0.78, 0.62, 0.52)
LEGS = (0.2, 0.2, 0.24)


@dataclass(frozen=True)
class CrowdStaged:
    name: str  # object name (prim under /World/Crowds)
    count: int
    asked: int  # what the script said
    where: str


def stage_crowds(stage: Any, crowds: tuple[CrowdSpec, ...], set_kind: str, slots: NDArray[np.float64],
                 blocking: Any, keep_clear: list[tuple[float, float]], last_frame: int, fps: float
                 ) -> list[CrowdStaged]:  # fmt: skip
    """One instancer per group of extras; returns what was placed."""
    if not crowds:
        return []
    _, _, _, UsdGeom = pxr()
    UsdGeom.Xform.Define(stage, "/World/Crowds")
    out: list[CrowdStaged] = []
    free = np.ones(len(slots), bool)
    for n, crowd in enumerate(crowds):
        rng = np.random.default_rng(7 + n)  # the same crowd every time the stage is built
        if set_kind == "stadium" and len(slots):
            places = _take(slots, free, crowd.count, rng)
            where = "stadium seats"
        elif len(slots) and set_kind in ("street", "rooftop"):
            places = _take(slots, free, min(crowd.count, MAX_OUTSIDE_STADIUM), rng)
            where = "pavements"
        else:
            places = _scatter(blocking, min(crowd.count, MAX_OUTSIDE_STADIUM), keep_clear, rng)
            where = "around the action"
        if not len(places):
            continue
        name = safe(f"crowd_{crowd.name.lower()}")
        _instancer(stage, f"/World/Crowds/{name}", places, crowd.colours, rng, last_frame, fps)
        out.append(CrowdStaged(name, len(places), crowd.count, where))
    return out


def _take(slots: NDArray[np.float64], free: NDArray[np.bool_], count: int,
          rng: np.random.Generator) -> NDArray[np.float64]:  # fmt: skip
    """``count`` of the free slots, spread evenly (a sold-out ground fills every seat)."""
    idx = np.flatnonzero(free)
    if count < len(idx):
        idx = np.sort(rng.choice(idx, size=count, replace=False))
    free[idx] = False
    return slots[idx]


def _scatter(blocking: Any, count: int, keep_clear: list[tuple[float, float]],
             rng: np.random.Generator) -> NDArray[np.float64]:  # fmt: skip
    """Places around the set's floor, clear of the characters' marks and the cameras."""
    w, d = blocking.width, blocking.depth
    interior = blocking.kind in ("room", "corridor")
    margin = 0.4 if interior else 6.0
    spacing = 0.7 if interior else 0.9
    capacity = int((w + margin) * (d + margin) / (spacing * spacing * 2.5))
    count = max(0, min(count, capacity))
    out: list[tuple[float, float, float, float]] = []
    clear = np.asarray(keep_clear, np.float64).reshape(-1, 2)
    tries = 0
    while len(out) < count and tries < count * 40:
        tries += 1
        x = rng.uniform(-w / 2 - margin / 2 + 0.3, w / 2 + margin / 2 - 0.3)
        y = rng.uniform(-d / 2 - margin / 2 + 0.3, d / 2 + margin / 2 - 0.3)
        if len(clear) and np.min(np.hypot(clear[:, 0] - x, clear[:, 1] - y)) < 2.2:
            continue
        if out and min(math.hypot(px - x, py - y) for px, py, _, _ in out[-200:]) < spacing * 0.8:
            continue
        facing = math.degrees(math.atan2(-y, -x))  # toward the middle of the set, the action
        out.append((x, y, 0.0, facing + rng.uniform(-25, 25)))
    return np.asarray(out, np.float64).reshape(-1, 4)


def _prototypes(stage: Any, path: str, last_frame: int, fps: float) -> list[str]:
    """Three mannequins of boxes: standing still-ish, swaying, cheering (arms up and down)."""
    Gf, _, _, UsdGeom = pxr()
    UsdGeom.Scope.Define(stage, path)
    made = []
    period = max(8, round(fps * 1.6))
    step = max(2, period // 4)
    for k, style in enumerate(("stand", "sway", "cheer")):
        root = UsdGeom.Xform.Define(stage, f"{path}/{style}")
        sway = root.AddRotateZOp()
        sway.Set(0.0)
        if style != "stand":
            for frame in range(FIRST_FRAME, last_frame + step, step):
                phase = 2 * math.pi * ((frame - FIRST_FRAME) / period + k * 0.37)
                sway.Set(float((4.0 if style == "sway" else 2.0) * math.sin(phase)), frame)
        box(stage, f"{path}/{style}/legs", (0.0, 0.43, 0.0), (0.34, 0.86, 0.2), LEGS)
        body = box(stage, f"{path}/{style}/body", (0.0, 1.17, 0.0), (0.42, 0.62, 0.24), (1.0, 1.0, 1.0))
        surface(body.GetPrim(), "instance")
        box(stage, f"{path}/{style}/head", (0.0, 1.61, 0.0), (0.2, 0.24, 0.22), SKIN)
        for side in (-1, 1):
            shoulder = UsdGeom.Xform.Define(stage, f"{path}/{style}/shoulder_{'l' if side < 0 else 'r'}")
            shoulder.AddTranslateOp().Set(Gf.Vec3d(side * 0.27, 1.44, 0.0))
            lift = shoulder.AddRotateZOp()
            lift.Set(0.0)
            if style == "cheer":
                for frame in range(FIRST_FRAME, last_frame + step, step):
                    up = 0.5 + 0.5 * math.sin(2 * math.pi * (frame - FIRST_FRAME) / period)
                    lift.Set(float(side * 160.0 * up), frame)
            arm = box(stage, f"{path}/{style}/shoulder_{'l' if side < 0 else 'r'}/arm", (0.0, -0.3, 0.0),
                      (0.1, 0.6, 0.1), (1.0, 1.0, 1.0))  # fmt: skip
            surface(arm.GetPrim(), "instance")
        made.append(f"{path}/{style}")
    return made


def _instancer(stage: Any, path: str, places: NDArray[np.float64], colours: tuple[RGB, ...],
               rng: np.random.Generator, last_frame: int, fps: float) -> None:  # fmt: skip
    Gf, Sdf, _, UsdGeom = pxr()
    from pxr import Vt

    inst = UsdGeom.PointInstancer.Define(stage, path)
    protos = _prototypes(stage, f"{path}/Prototypes", last_frame, fps)
    inst.CreatePrototypesRel().SetTargets([Sdf.Path(p) for p in protos])
    n = len(places)
    world = np.stack([places[:, 0], places[:, 2], -places[:, 1]], axis=1)  # plan -> USD
    inst.CreatePositionsAttr(Vt.Vec3fArray.FromNumpy(world.astype(np.float32)))
    # a mannequin faces its local -Z; facing θ on the plan is a turn of θ - 90 about Y
    half = np.radians(places[:, 3] - 90.0) / 2
    quats = np.stack([np.cos(half), np.zeros(n), np.sin(half), np.zeros(n)], axis=1)  # w, x, y, z
    inst.CreateOrientationsAttr(Vt.QuathArray([Gf.Quath(*map(float, q)) for q in quats]))
    scale = rng.uniform(0.92, 1.08, n).astype(np.float32)
    inst.CreateScalesAttr(Vt.Vec3fArray.FromNumpy(np.repeat(scale[:, None], 3, axis=1)))
    styles = rng.choice(3, size=n, p=(0.45, 0.35, 0.2))
    inst.CreateProtoIndicesAttr(Vt.IntArray.FromNumpy(styles.astype(np.int32)))
    palette = np.asarray(colours or CLOTHES, np.float32)
    picks = palette[rng.integers(0, len(palette), n)]
    picks = np.clip(picks * rng.uniform(0.8, 1.1, (n, 1)), 0.0, 1.0).astype(np.float32)
    colour = UsdGeom.PrimvarsAPI(inst.GetPrim()).CreatePrimvar(
        "displayColor", Sdf.ValueTypeNames.Color3fArray, UsdGeom.Tokens.vertex
    )
    colour.Set(Vt.Vec3fArray.FromNumpy(picks))
    lo, hi = world.min(axis=0) - 1.0, world.max(axis=0) + 2.0
    inst.CreateExtentAttr([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))])
    prim = inst.GetPrim()
    prim.SetCustomDataByKey("moviola:lod_m", LOD_M)
    prim.SetCustomDataByKey("moviola:crowd", n)


__all__ = ["CrowdStaged", "stage_crowds"]

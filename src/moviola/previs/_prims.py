"""Small USD authoring helpers the layout's modules share: blocks, balls, cones, lamps.

Every shape is a schema prim (Cube, Sphere, Cone, Cylinder) with its extent and
display colour, so any USD tool draws it; how our renderer shades it
(a facade of windows, a lamp that glows, a crowd member's own colour) is a
``primvars:moviola:surface`` token beside it, which other tools ignore.
"""

from __future__ import annotations

from typing import Any

from ..core import DependencyError

RGB = tuple[float, float, float]


def pxr() -> Any:
    try:
        from pxr import Gf, Sdf, Usd, UsdGeom
    except ImportError as exc:  # pragma: no cover - usd-core is a dependency
        raise DependencyError("usd-core is not installed (pip install usd-core)") from exc
    return Gf, Sdf, Usd, UsdGeom


def plan_to_world(x: float, y: float, height: float = 0.0) -> tuple[float, float, float]:
    """Floor plan (x, y, height) to USD (X, Y up, Z)."""
    return (x, height, -y)


def safe(name: str) -> str:
    """A prim name from any text: letters, digits and underscores, not starting with a digit."""
    out = "".join(ch if ch.isalnum() else "_" for ch in name)
    return out if out and not out[0].isdigit() else f"_{out}"


def surface(prim: Any, kind: str, emission: float = 0.0) -> None:
    """How our renderer shades ``prim``: ``windows``, ``emissive`` (with a strength) or ``instance``."""
    _, Sdf, _, UsdGeom = pxr()
    api = UsdGeom.PrimvarsAPI(prim)
    api.CreatePrimvar("moviola:surface", Sdf.ValueTypeNames.Token, UsdGeom.Tokens.constant).Set(kind)
    if emission:
        api.CreatePrimvar("moviola:emission", Sdf.ValueTypeNames.Float,
                          UsdGeom.Tokens.constant).Set(float(emission))  # fmt: skip


def box(stage: Any, path: str, centre: tuple[float, float, float], size: tuple[float, float, float],
        colour: RGB, *, kind: str = "", emission: float = 0.0, yaw: float = 0.0) -> Any:  # fmt: skip
    """A unit cube moved to ``centre`` and scaled to ``size`` (world metres)."""
    Gf, _, _, UsdGeom = pxr()
    cube = UsdGeom.Cube.Define(stage, path)
    cube.CreateSizeAttr(1.0)
    cube.AddTranslateOp().Set(Gf.Vec3d(*centre))
    if yaw:
        cube.AddRotateYOp().Set(float(yaw))
    cube.AddScaleOp().Set(Gf.Vec3f(*size))
    cube.CreateDisplayColorAttr([Gf.Vec3f(*colour)])
    lo = Gf.Vec3f(-0.5, -0.5, -0.5)
    cube.CreateExtentAttr([lo, -lo])
    if kind:
        surface(cube.GetPrim(), kind, emission)
    return cube


def ball(stage: Any, path: str, centre: tuple[float, float, float], radius: float, colour: RGB, *,
         kind: str = "", emission: float = 0.0) -> Any:  # fmt: skip
    Gf, _, _, UsdGeom = pxr()
    sphere = UsdGeom.Sphere.Define(stage, path)
    sphere.CreateRadiusAttr(float(radius))
    sphere.CreateExtentAttr([Gf.Vec3f(-radius, -radius, -radius), Gf.Vec3f(radius, radius, radius)])
    sphere.AddTranslateOp().Set(Gf.Vec3d(*centre))
    sphere.CreateDisplayColorAttr([Gf.Vec3f(*colour)])
    if kind:
        surface(sphere.GetPrim(), kind, emission)
    return sphere


def cone(stage: Any, path: str, base: tuple[float, float, float], radius: float, height: float,
         colour: RGB, *, kind: str = "", emission: float = 0.0, cylinder: bool = False) -> Any:  # fmt: skip
    """An upright cone (or cylinder) standing on ``base``."""
    Gf, _, _, UsdGeom = pxr()
    shape = (UsdGeom.Cylinder if cylinder else UsdGeom.Cone).Define(stage, path)
    shape.CreateRadiusAttr(float(radius))
    shape.CreateHeightAttr(float(height))
    shape.CreateAxisAttr(UsdGeom.Tokens.y)
    half = height / 2
    shape.CreateExtentAttr([Gf.Vec3f(-radius, -half, -radius), Gf.Vec3f(radius, half, radius)])
    shape.AddTranslateOp().Set(Gf.Vec3d(base[0], base[1] + half, base[2]))
    shape.CreateDisplayColorAttr([Gf.Vec3f(*colour)])
    if kind:
        surface(shape.GetPrim(), kind, emission)
    return shape


def lamp(stage: Any, path: str, position: tuple[float, float, float], colour: RGB, intensity: float,
         radius: float = 0.25) -> Any:  # fmt: skip
    """A UsdLux sphere light (what lights the set) and the glowing bulb a camera sees."""
    Gf, _, _, UsdGeom = pxr()
    from pxr import UsdLux

    light = UsdLux.SphereLight.Define(stage, path)
    light.CreateRadiusAttr(float(radius))
    light.CreateColorAttr(Gf.Vec3f(*colour))
    light.CreateIntensityAttr(float(intensity))
    UsdGeom.Xformable(light.GetPrim()).AddTranslateOp().Set(Gf.Vec3d(*position))
    ball(stage, f"{path}_bulb", position, radius, colour, kind="emissive", emission=2.5)
    return light

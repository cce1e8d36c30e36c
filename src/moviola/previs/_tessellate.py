"""Triangles from a USD stage, for the rasterizer.

The renderer reads the stage on disk (what a 3D artist may have edited), not
the plan. Each gprim is tessellated once in its own space; per frame only the
prims' world matrices change (mannequins walk, cameras move), so a frame costs
one ``XformCache`` sweep, not a re-tessellation.

Cubes, spheres, capsules, cylinders, cones and polygon meshes are understood;
other prim types are skipped with a note, never guessed at. A
``UsdGeomPointInstancer`` (a crowd, falling snow) is tessellated once per
prototype and drawn instanced: its prototypes may be animated (a crowd's idle
sway, a tile of snow falling), and each instance's transform comes from USD's
own ``ComputeInstanceTransformsAtTime``, velocities included.

A gprim's ``primvars:moviola:surface`` says how it is shaded: ``windows`` (a
facade of storeys and bays, lit at night), ``emissive`` (a lamp, a glowing
flake: ``primvars:moviola:emission`` is its strength) or ``instance`` (a
prototype part that takes each instance's own colour).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
#: Surface codes for the shader (``primvars:moviola:surface``).
SURFACES = {"plain": 0.0, "windows": 1.0, "emissive": 2.0, "instance": 3.0}


@dataclass
class Tessellation:
    """Local-space triangles of every gprim, and which object each belongs to."""

    positions: F32  # (n, 3) local to the prim
    normals: F32  # (n, 3)
    colours: F32  # (n, 3) linear RGB
    prim_index: F32  # (n,) which prim's matrix moves the vertex
    object_index: F32  # (n,) object id, 1-based (0 is the sky)
    prims: list[Any]  # Usd.Prim per prim index
    objects: list[str]  # object names; objects[i - 1] is id i
    skipped: list[str] = field(default_factory=list)
    surface: F32 = field(default_factory=lambda: np.zeros(0, np.float32))  # (n,) SURFACES code
    emission: F32 = field(default_factory=lambda: np.zeros(0, np.float32))  # (n,)
    #: Per prim: the prim its matrix is relative to (None: world; a prototype's parent).
    roots: list[Any] = field(default_factory=list)
    batches: list[InstanceBatch] = field(default_factory=list)
    casters: int = -1  # the first ``casters`` vertices cast shadows (-1: all)
    moving: int = 0  # the first ``moving`` vertices belong to prims that may move (then the still ones)

    @property
    def triangles(self) -> int:
        return len(self.positions) // 3


@dataclass
class Vertices:
    """Triangles of one prototype, in its root's space (the same columns as Tessellation)."""

    positions: F32
    normals: F32
    colours: F32
    prim_index: F32
    surface: F32
    emission: F32

    @property
    def triangles(self) -> int:
        return len(self.positions) // 3


@dataclass
class InstanceBatch:
    """A point instancer: each prototype's triangles, drawn once per instance of it."""

    instancer: Any  # Usd.Prim
    object_index: int
    protos: dict[int, Vertices]  # prototype index -> its triangles
    colours: F32 | None  # (instances, 3) from primvars:displayColor, per instance
    varying: bool  # instance transforms change over time
    lod_m: float  # beyond this distance from the camera an instance is drawn as a box
    boxes: dict[int, tuple[F32, F32]] = field(default_factory=dict)  # proto -> (lo, hi)
    far: str = "box"  # beyond lod_m: "box" (a crowd member far off), or "hide" (a flake)


def _pxr() -> Any:
    from pxr import Usd, UsdGeom

    return Usd, UsdGeom


def box_mesh(size: float = 1.0) -> tuple[F32, F32]:
    """A cube centred on the origin, 12 triangles with flat normals."""
    h = size / 2
    pos: list[tuple[float, float, float]] = []
    nrm: list[tuple[float, float, float]] = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = [0.0, 0.0, 0.0]
            n[axis] = sign
            u, v = [(a) for a in range(3) if a != axis]
            corners = []
            for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                p = [0.0, 0.0, 0.0]
                p[axis], p[u], p[v] = sign * h, a * h, b * h
                corners.append(tuple(p))
            for i in (0, 1, 2, 0, 2, 3):
                pos.append(corners[i])  # type: ignore[arg-type]
                nrm.append((n[0], n[1], n[2]))
    return np.asarray(pos, np.float32), np.asarray(nrm, np.float32)


def _revolve(profile: list[tuple[float, float, float, float]], segments: int) -> tuple[F32, F32]:
    """Surface of revolution about Y from (radius, y, normal_r, normal_y) rings."""
    angles = np.linspace(0.0, 2 * math.pi, segments + 1, dtype=np.float64)
    cos, sin = np.cos(angles), np.sin(angles)
    rings = []
    for r, y, nr, ny in profile:
        p = np.stack([r * cos, np.full_like(cos, y), r * sin], axis=1)
        n = np.stack([nr * cos, np.full_like(cos, ny), nr * sin], axis=1)
        rings.append((p, n))
    pos, nrm = [], []
    for (p0, n0), (p1, n1) in itertools.pairwise(rings):
        for k in range(segments):
            quad = ((p0[k], n0[k]), (p0[k + 1], n0[k + 1]), (p1[k + 1], n1[k + 1]), (p1[k], n1[k]))
            for i in (0, 2, 1, 0, 3, 2):
                pos.append(quad[i][0])
                nrm.append(quad[i][1])
    n_arr = np.asarray(nrm, np.float64)
    n_arr /= np.maximum(np.linalg.norm(n_arr, axis=1, keepdims=True), 1e-12)
    return np.asarray(pos, np.float32), n_arr.astype(np.float32)


def sphere_mesh(radius: float, segments: int = 20, rings: int = 12) -> tuple[F32, F32]:
    profile = []
    for i in range(rings + 1):
        phi = math.pi * i / rings - math.pi / 2
        c, s = math.cos(phi), math.sin(phi)
        profile.append((radius * c, radius * s, c, s))
    return _revolve(profile, segments)


def capsule_mesh(radius: float, height: float, segments: int = 16, rings: int = 6) -> tuple[F32, F32]:
    """USD capsule: a cylinder of ``height`` along Y capped by hemispheres."""
    half = height / 2
    profile = []
    for i in range(rings + 1):  # bottom cap, from the pole up
        phi = -math.pi / 2 + (math.pi / 2) * i / rings
        profile.append((radius * math.cos(phi), -half + radius * math.sin(phi),
                        math.cos(phi), math.sin(phi)))  # fmt: skip
    for i in range(rings + 1):  # top cap
        phi = (math.pi / 2) * i / rings
        profile.append((radius * math.cos(phi), half + radius * math.sin(phi),
                        math.cos(phi), math.sin(phi)))  # fmt: skip
    return _revolve(profile, segments)


def cylinder_mesh(radius: float, height: float, segments: int = 20, *, cone: bool = False
                  ) -> tuple[F32, F32]:  # fmt: skip
    half = height / 2
    top = 0.0 if cone else radius
    slope = radius / height if cone else 0.0
    k = 1.0 / math.hypot(1.0, slope)
    side = [(radius, -half, k, slope * k), (top, half, k, slope * k)]
    bottom = [(0.0, -half, 0.0, -1.0), (radius, -half, 0.0, -1.0)]
    parts = [_revolve(side, segments), _revolve(bottom, segments)]
    if not cone:
        parts.append(_revolve([(radius, half, 0.0, 1.0), (0.0, half, 0.0, 1.0)], segments))
    return (np.concatenate([p for p, _ in parts]), np.concatenate([n for _, n in parts]))


def _axis_to(points: F32, normals: F32, axis: str) -> tuple[F32, F32]:
    """Our meshes are built along Y; USD's ``axis`` may say X or Z."""
    if axis == "X":
        order = [1, 0, 2]
    elif axis == "Z":
        order = [0, 2, 1]
    else:
        return points, normals
    return points[:, order].copy(), normals[:, order].copy()


def polygon_mesh(mesh: Any, time: Any) -> tuple[F32, F32]:
    """A UsdGeomMesh fan-triangulated, with flat normals (previs needs no smoothing)."""
    pts = np.asarray(mesh.GetPointsAttr().Get(time) or [], np.float32).reshape(-1, 3)
    counts = list(mesh.GetFaceVertexCountsAttr().Get(time) or [])
    indices = np.asarray(mesh.GetFaceVertexIndicesAttr().Get(time) or [], np.int64)
    tris: list[int] = []
    at = 0
    for count in counts:
        for k in range(1, count - 1):
            tris += [int(indices[at]), int(indices[at + k]), int(indices[at + k + 1])]
        at += count
    if not tris or len(pts) == 0 or max(tris) >= len(pts):
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32)
    pos = pts[np.asarray(tris)]
    a, b, c = pos[0::3], pos[1::3], pos[2::3]
    n = np.cross(b - a, c - a)
    if mesh.GetOrientationAttr().Get() == "leftHanded":
        n = -n
    length = np.linalg.norm(n, axis=1, keepdims=True)
    keep = length[:, 0] > 1e-12  # a degenerate triangle has no normal: drop it, not NaN the passes
    n = n[keep] / length[keep]
    pos = pos.reshape(-1, 3, 3)[keep].reshape(-1, 3)
    return pos.astype(np.float32), np.repeat(n, 3, axis=0).astype(np.float32)


def _shape(prim: Any, time: Any) -> tuple[F32, F32] | None:
    _, UsdGeom = _pxr()
    if prim.IsA(UsdGeom.Cube):
        return box_mesh(float(UsdGeom.Cube(prim).GetSizeAttr().Get(time)))
    if prim.IsA(UsdGeom.Sphere):
        return sphere_mesh(float(UsdGeom.Sphere(prim).GetRadiusAttr().Get(time)))
    if prim.IsA(UsdGeom.Capsule):
        cap = UsdGeom.Capsule(prim)
        p, n = capsule_mesh(float(cap.GetRadiusAttr().Get(time)), float(cap.GetHeightAttr().Get(time)))
        return _axis_to(p, n, str(cap.GetAxisAttr().Get(time)))
    if prim.IsA(UsdGeom.Cylinder) or prim.IsA(UsdGeom.Cone):
        cone = prim.IsA(UsdGeom.Cone)
        g = UsdGeom.Cone(prim) if cone else UsdGeom.Cylinder(prim)
        p, n = cylinder_mesh(float(g.GetRadiusAttr().Get(time)), float(g.GetHeightAttr().Get(time)),
                             cone=cone)  # fmt: skip
        return _axis_to(p, n, str(g.GetAxisAttr().Get(time)))
    if prim.IsA(UsdGeom.Mesh):
        return polygon_mesh(UsdGeom.Mesh(prim), time)
    return None


GROUPS = ("Characters", "Set", "Props", "Elements", "Crowds", "Weather", "Lights")


def object_name(path: str) -> str:
    """The object a prim belongs to: a character, a set piece, a VFX element, a crowd."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "World" and parts[1] in GROUPS:
        return parts[2]
    return parts[1] if len(parts) > 1 else parts[0]


def _surface(prim: Any, time: Any) -> tuple[float, float]:
    _, UsdGeom = _pxr()
    api = UsdGeom.PrimvarsAPI(prim)
    surface = api.GetPrimvar("moviola:surface")
    kind = str(surface.Get(time)) if surface and surface.HasValue() else "plain"
    emission = api.GetPrimvar("moviola:emission")
    strength = float(emission.Get(time)) if emission and emission.HasValue() else 0.0
    return SURFACES.get(kind, 0.0), strength


def _drawable(prim: Any) -> bool:
    _, UsdGeom = _pxr()
    if not prim.IsA(UsdGeom.Gprim):
        return False
    imageable = UsdGeom.Imageable(prim)
    if imageable.ComputeVisibility() == UsdGeom.Tokens.invisible:
        return False
    return imageable.ComputePurpose() not in (UsdGeom.Tokens.guide, UsdGeom.Tokens.proxy)


def _under_instancer(prim: Any) -> bool:
    _, UsdGeom = _pxr()
    parent = prim.GetParent()
    while parent and not parent.IsPseudoRoot():
        if parent.IsA(UsdGeom.PointInstancer):
            return True
        parent = parent.GetParent()
    return False


class _Builder:
    """Collects triangles prim by prim, for the stage or for one prototype."""

    def __init__(self) -> None:
        self.pos: list[F32] = []
        self.nrm: list[F32] = []
        self.col: list[F32] = []
        self.pidx: list[F32] = []
        self.sur: list[F32] = []
        self.emi: list[F32] = []
        self.oidx: list[F32] = []

    def add(self, p: F32, n: F32, rgb: tuple[float, ...], prim_index: int, surface: tuple[float, float],
            object_index: int) -> None:  # fmt: skip
        k = len(p)
        self.pos.append(p)
        self.nrm.append(n)
        self.col.append(np.tile(np.asarray(rgb, np.float32), (k, 1)))
        self.pidx.append(np.full(k, prim_index, np.float32))
        self.sur.append(np.full(k, surface[0], np.float32))
        self.emi.append(np.full(k, surface[1], np.float32))
        self.oidx.append(np.full(k, object_index, np.float32))

    def arrays(self) -> tuple[F32, ...]:
        if not self.pos:
            e3, e1 = np.zeros((0, 3), np.float32), np.zeros(0, np.float32)
            return e3, e3, e3, e1, e1, e1, e1
        return tuple(np.concatenate(a) for a in (self.pos, self.nrm, self.col, self.pidx, self.sur,
                                                 self.emi, self.oidx))  # fmt: skip


def tessellate(stage: Any) -> Tessellation:
    """Every visible gprim of the stage (cameras and guides excluded), instancers batched."""
    Usd, UsdGeom = _pxr()
    time = Usd.TimeCode.Default()
    moving = _Builder()  # prims that may move come first: the animatic redraws them alone
    main = _Builder()
    open_top = _Builder()  # ceilings and roofs: drawn, but the key light passes through
    prims: list[Any] = []
    roots: list[Any] = []
    objects: list[str] = []
    skipped: list[str] = []
    batches: list[InstanceBatch] = []

    def object_of(prim: Any) -> int:
        name = object_name(str(prim.GetPath()))
        if name not in objects:
            objects.append(name)
        return objects.index(name) + 1

    def shaped(prim: Any) -> tuple[F32, F32, tuple[float, ...]] | None:
        shape = _shape(prim, time)
        if shape is None:
            skipped.append(str(prim.GetPath()))
            return None
        if len(shape[0]) == 0:
            return None
        colour = UsdGeom.Gprim(prim).GetDisplayColorAttr().Get(time)
        return shape[0], shape[1], tuple(colour[0]) if colour else (0.6, 0.6, 0.6)

    for prim in stage.Traverse():
        if prim.IsA(UsdGeom.PointInstancer):
            if UsdGeom.Imageable(prim).ComputeVisibility() != UsdGeom.Tokens.invisible:
                batch = _instancer_batch(prim, object_of(prim), prims, roots, shaped)
                if batch is not None:
                    batches.append(batch)
            continue
        if not _drawable(prim) or _under_instancer(prim):
            continue
        got = shaped(prim)
        if got is None:
            continue
        into = open_top if _casts_no_shadow(prim, time) else moving if may_move(prim) else main
        into.add(got[0], got[1], got[2], len(prims), _surface(prim, time), object_of(prim))
        prims.append(prim)
        roots.append(None)
    first = sum(len(p) for p in moving.pos)
    casters = first + sum(len(p) for p in main.pos)
    for name in ("pos", "nrm", "col", "pidx", "sur", "emi", "oidx"):
        getattr(moving, name).extend(getattr(main, name) + getattr(open_top, name))
    pos, nrm, col, pidx, sur, emi, oidx = moving.arrays()
    return Tessellation(pos, nrm, col, pidx, oidx, prims, objects, skipped, sur, emi, roots, batches,
                        casters, first)  # fmt: skip


def may_move(prim: Any) -> bool:
    """Whether a prim's transform (or an ancestor's) may change over time."""
    _, UsdGeom = _pxr()
    p = prim
    while p and not p.IsPseudoRoot():
        if p.IsA(UsdGeom.Xformable) and UsdGeom.Xformable(p).TransformMightBeTimeVarying():
            return True
        p = p.GetParent()
    return False


def _casts_no_shadow(prim: Any, time: Any) -> bool:
    _, UsdGeom = _pxr()
    flag = UsdGeom.PrimvarsAPI(prim).GetPrimvar("moviola:shadow")
    return bool(flag and flag.HasValue() and flag.Get(time) is False)


def _instancer_batch(prim: Any, object_index: int, prims: list[Any], roots: list[Any],
                     shaped: Any) -> InstanceBatch | None:  # fmt: skip
    """A point instancer's prototypes as triangles in their roots' space."""
    Usd, UsdGeom = _pxr()
    time = Usd.TimeCode.Default()
    inst = UsdGeom.PointInstancer(prim)
    targets = inst.GetPrototypesRel().GetTargets()
    protos: dict[int, Vertices] = {}
    boxes: dict[int, tuple[F32, F32]] = {}
    for k, path in enumerate(targets):
        root = prim.GetStage().GetPrimAtPath(path)
        if not root:
            continue
        build = _Builder()
        for part in Usd.PrimRange(root):
            if not _drawable(part):
                continue
            got = shaped(part)
            if got is None:
                continue
            build.add(got[0], got[1], got[2], len(prims), _surface(part, time), object_index)
            prims.append(part)
            # relative to the prototype's parent: the root's own (animated) transform, a crowd's
            # sway or a snow tile's fall, is then the parts', evaluated once a frame for all
            # instances, and the instances' transforms stay static
            roots.append(root.GetParent())
        pos, nrm, col, pidx, sur, emi, _ = build.arrays()
        if len(pos):
            protos[k] = Vertices(pos, nrm, col, pidx, sur, emi)
            bound = UsdGeom.BBoxCache(time, [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
            box = bound.ComputeUntransformedBound(root).ComputeAlignedRange()
            boxes[k] = (np.asarray(box.GetMin(), np.float32), np.asarray(box.GetMax(), np.float32))
    if not protos:
        return None
    colours = None
    primvar = UsdGeom.PrimvarsAPI(prim).GetPrimvar("displayColor")
    if primvar and primvar.HasValue() and primvar.GetInterpolation() in ("vertex", "varying"):
        colours = np.asarray(primvar.ComputeFlattened(time), np.float32).reshape(-1, 3)
    varying = any(a.ValueMightBeTimeVarying() for a in (
        inst.GetPositionsAttr(), inst.GetOrientationsAttr(), inst.GetScalesAttr(),
        inst.GetProtoIndicesAttr(), inst.GetVelocitiesAttr()))  # fmt: skip
    lod = prim.GetCustomDataByKey("moviola:lod_m")
    far = str(prim.GetCustomDataByKey("moviola:lod_far") or "box")
    return InstanceBatch(prim, object_index, protos, colours, varying,
                         float(lod) if lod is not None else 1e9, boxes, far)  # fmt: skip


def instance_transforms(batch: InstanceBatch, time: float) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """World matrices (n, 4, 4), USD row-vector layout, and each instance's prototype index.

    The prototypes' own transforms are left out here: they are in their parts' matrices.
    """
    Usd, UsdGeom = _pxr()
    inst = UsdGeom.PointInstancer(batch.instancer)
    at = Usd.TimeCode(time)
    local = np.asarray(inst.ComputeInstanceTransformsAtTime(at, at, UsdGeom.PointInstancer.ExcludeProtoXform),
                       np.float64).reshape(-1, 4, 4)  # fmt: skip
    world = np.asarray(UsdGeom.XformCache(at).GetLocalToWorldTransform(batch.instancer), np.float64)
    indices = np.asarray(inst.GetProtoIndicesAttr().Get(at) or [], np.int32)
    n = min(len(local), len(indices))
    return (local[:n] @ world).astype(np.float32), indices[:n]


def world_matrices(prims: list[Any], time: float, roots: list[Any] | None = None) -> NDArray[np.float32]:
    """(n, 7, 4): per prim the model matrix' columns, then the normal matrix' columns.

    USD matrices are row-vector; the transpose is the column-vector matrix
    GLSL wants, so a USD row is a GLSL column.
    """
    _, UsdGeom = _pxr()
    cache = UsdGeom.XformCache(time)
    out = np.zeros((len(prims), 7, 4), np.float32)
    inverse: dict[Any, NDArray[np.float64]] = {}
    for i, prim in enumerate(prims):
        m = np.asarray(cache.GetLocalToWorldTransform(prim), np.float64)
        root = roots[i] if roots else None
        if root is not None:  # a prototype part: relative to its prototype's root
            key = root.GetPath()
            if key not in inverse:
                inverse[key] = np.linalg.inv(np.asarray(cache.GetLocalToWorldTransform(root), np.float64))
            m = m @ inverse[key]
        out[i, :4] = m
        try:
            normal = np.linalg.inv(m[:3, :3])  # inverse-transpose, stored by columns
        except np.linalg.LinAlgError:
            normal = np.eye(3)
        out[i, 4:, :3] = normal.T  # GLSL column j of the normal matrix inv(M3) (column-vector)
    return out


def stage_bounds(tess: Tessellation, matrices: NDArray[np.float32]) -> tuple[F32, F32]:
    """World-space bounding box of the tessellated geometry at one time."""
    if not len(tess.positions):
        z = np.zeros(3, np.float32)
        return z, z
    idx = tess.prim_index.astype(np.int64)
    m = matrices[idx, :4, :]  # (n, 4 rows-as-columns, 4)
    p = tess.positions
    world = p[:, 0:1] * m[:, 0, :3] + p[:, 1:2] * m[:, 1, :3] + p[:, 2:3] * m[:, 2, :3] + m[:, 3, :3]
    return world.min(axis=0).astype(np.float32), world.max(axis=0).astype(np.float32)

"""A collapse's simulation on disk, so the frames of one shot can be drawn by several processes.

A render farm splits a shot into a simulation task and frame-range tasks
(``moviola vfx collapse --simulate-only``, then ``--frame-range A-B``); every frame task
reads the one simulation, and the matte, clean plate, fracture, atlas and light it was made
from, instead of cutting the building out and solving the rigid bodies and the dust again
(a frame task starts drawing in about a second).

    DIR/.moviola-simulation.npz    arrays only (no pickle), with the recipe key it belongs to

Arrays are stored exactly (float64 where the simulation keeps Python floats, read back as
Python floats), so a frame drawn from the file is bit for bit the frame drawn from memory. A file
of another recipe, a truncated one or an older layout reads as "none": it is simulated
again, never trusted. The file goes when the render is complete.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...core import write_bytes_atomic
from ._comp import PlateLight, Water
from ._fluid import DustVolume, Grid
from ._fracture import Bond, Fracture, Shard
from ._particles import ParticleFrames
from ._render import ShardAtlas
from ._shot import Cutout, Made, Prepared, Simulated
from ._simulate import Event, SimResult

CACHE_NAME = ".moviola-simulation.npz"
LAYOUT = 2  # bump when what is stored changes


def cache_path(out: Path) -> Path:
    return out / CACHE_NAME


def save_simulation(path: Path, simd: Simulated, prep: Prepared, key: str) -> Path:
    """Write ``simd`` and the prepared shot it was made from, for the recipe ``key``, atomically."""
    cutout = prep.cutout
    assert cutout is not None, "a prepared shot keeps its cut-out"
    sim, parts, dust = simd.sim, simd.particles, simd.dust
    counts = np.array([len(c) for c in parts.chips], np.int64)
    chips = np.concatenate(parts.chips, axis=0) if parts.chips else np.zeros((0, 10), np.float32)
    arrays: dict[str, NDArray[Any]] = {
        "key": np.array(key), "layout": np.array(LAYOUT),
        "sim_times": sim.times, "sim_poses": sim.poses, "sim_detach": sim.detach,
        "sim_crushed": sim.crushed, "sim_slice": sim.slice, "sim_shake": sim.shake,
        "sim_counts": np.array([sim.broken, sim.bonds], np.int64),
        **_events("events", sim.events), **_events("landings", parts.landings),
        "chips": np.asarray(chips, np.float32), "chip_counts": counts,
        "peak_chips": np.array(parts.peak_chips, np.int64),
        "grid_origin": np.array(dust.grid.origin, np.float64), "grid_cell": np.array(dust.grid.cell, np.float64),
        "grid_shape": np.array(dust.grid.shape, np.int64),
        "density": dust.density, "offsets": dust.offsets, "weights": dust.weights,
        "turbulence": dust.turbulence, "mass": dust.mass, "added": dust.added, "lost": dust.lost,
        "peak_mass": np.array(dust.peak_mass, np.float64),
        "shake": simd.shake, "overscan": np.array(simd.overscan, np.float64),
        "cut_matte": cutout.matte, "cut_hole": cutout.hole, "cut_fill": cutout.fill,
        **({"cut_glow": cutout.glow} if cutout.glow is not None else {}),
        **_made(Made.of(prep)),
    }  # fmt: skip
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # uncompressed: ~100 MB at 1080p is written faster than zipped
    return write_bytes_atomic(path, buffer.getvalue())


def load_simulation(path: Path, key: str) -> tuple[Simulated, Cutout] | None:
    """The simulation stored for ``key`` and its cutout, or None when there is none to trust."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key or int(z["layout"]) != LAYOUT:
                return None
            a = {name: z[name] for name in z.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    broken, bonds = (int(v) for v in a["sim_counts"])
    sim = SimResult(a["sim_times"], a["sim_poses"], a["sim_detach"], a["sim_crushed"], a["sim_slice"],
                    _read_events(a, "events"), a["sim_shake"], broken, bonds)  # fmt: skip
    bounds = np.concatenate([[0], np.cumsum(a["chip_counts"])])
    chips = [a["chips"][bounds[i]:bounds[i + 1]] for i in range(len(a["chip_counts"]))]
    particles = ParticleFrames(chips, _read_events(a, "landings"), int(a["peak_chips"]))
    origin = tuple(float(v) for v in a["grid_origin"])
    shape = tuple(int(v) for v in a["grid_shape"])
    grid = Grid((origin[0], origin[1]), float(a["grid_cell"]), (shape[0], shape[1]))
    dust = DustVolume(grid, a["density"], a["offsets"], a["weights"], a["turbulence"], a["mass"], a["added"],
                      a["lost"], float(a["peak_mass"]))  # fmt: skip
    cutout = Cutout(a["cut_matte"], a["cut_hole"], a["cut_fill"], a.get("cut_glow"), _read_made(a))
    return Simulated(sim, particles, dust, a["shake"], float(a["overscan"])), cutout


def _events(name: str, events: list[Event]) -> dict[str, NDArray[Any]]:
    values = np.array([[e.t, e.x, e.y, e.energy, e.vx, e.vy] for e in events], np.float64).reshape(-1, 6)
    return {f"{name}_values": values, f"{name}_kinds": np.array([e.kind for e in events], dtype=str)}


def _read_events(a: dict[str, NDArray[Any]], name: str) -> list[Event]:
    return [Event(float(t), float(x), float(y), float(en), str(kind), float(vx), float(vy))
            for (t, x, y, en, vx, vy), kind in zip(a[f"{name}_values"], a[f"{name}_kinds"], strict=True)]  # fmt: skip


def _numbers(name: str, values: list[float]) -> dict[str, NDArray[Any]]:
    return {name: np.array(values, np.float64)}


def _read_numbers(a: dict[str, NDArray[Any]], name: str) -> list[float]:
    """Python floats, as prepare made them (a NumPy scalar would mix differently with float32)."""
    return [float(v) for v in a[name]]


def _made(m: Made) -> dict[str, NDArray[Any]]:
    f, at = m.fracture, m.atlas
    shards = f.shards
    water = m.water
    return {
        "made_fill": m.fill, "made_noise": m.noise, "made_albedo": m.dust_albedo,
        **_numbers("made_scalars", [m.px_per_m, m.ground_y, *m.failure, *m.face_colour,
                                    *m.light.sun, *m.light.sky, *m.light.direction]),
        "frac_labels": f.labels, "frac_edge": f.edge, **_numbers("frac_floors", list(f.floors)),
        "shard_ints": np.array([[s.index, *s.bbox, s.floor] for s in shards], np.int64).reshape(-1, 6),
        **_numbers("shard_floats", [v for s in shards for v in (s.area, *s.centroid)]),
        "shard_hulls": np.concatenate([s.hull for s in shards]) if shards else np.zeros((0, 2)),
        "shard_hull_counts": np.array([len(s.hull) for s in shards], np.int64),
        "bond_ends": np.array([[b.a, b.b] for b in f.bonds], np.int64).reshape(-1, 2),
        **_numbers("bond_floats", [v for b in f.bonds for v in (b.x, b.y, b.length)]),
        "atlas_rgba": at.rgba, "atlas_faces": at.faces, "atlas_offsets": at.offsets, "atlas_boxes": at.boxes,
        "atlas_centroids": at.centroids,
        **({"water_y": np.array(water.y, np.int64), **_numbers("water_gain", [v for g in water.gain for v in g]),
            **_numbers("water_blur", list(water.blur))} if water is not None else {}),
    }  # fmt: skip


def _read_made(a: dict[str, NDArray[Any]]) -> Made:
    n = _read_numbers(a, "made_scalars")
    sf = _read_numbers(a, "shard_floats")
    bounds = np.concatenate([[0], np.cumsum(a["shard_hull_counts"])])
    shards = [Shard(int(i), sf[3 * k], (sf[3 * k + 1], sf[3 * k + 2]), a["shard_hulls"][bounds[k]:bounds[k + 1]],
                    (int(x0), int(y0), int(x1), int(y1)), int(floor))
              for k, (i, x0, y0, x1, y1, floor) in enumerate(a["shard_ints"])]  # fmt: skip
    bf = _read_numbers(a, "bond_floats")
    bonds = [Bond(int(p), int(q), bf[3 * k], bf[3 * k + 1], bf[3 * k + 2]) for k, (p, q) in enumerate(a["bond_ends"])]
    fracture = Fracture(a["frac_labels"], shards, bonds, _read_numbers(a, "frac_floors"), a["frac_edge"])
    atlas = ShardAtlas(a["atlas_rgba"], a["atlas_faces"], a["atlas_offsets"], a["atlas_boxes"], a["atlas_centroids"])
    water = None
    if "water_y" in a:
        g, (bx, by) = _read_numbers(a, "water_gain"), _read_numbers(a, "water_blur")
        water = Water(int(a["water_y"]), tuple((g[i], g[i + 1], g[i + 2]) for i in range(0, len(g), 3)), (bx, by))
    light = PlateLight((n[7], n[8], n[9]), (n[10], n[11], n[12]), (n[13], n[14]))
    return Made(a["made_fill"], fracture, atlas, light, a["made_noise"], n[0], n[1], (n[2], n[3]), (n[4], n[5], n[6]),
                a["made_albedo"], water)  # fmt: skip

"""A collapse's simulation on disk, so the frames of one shot can be drawn by several processes.

A render farm splits a shot into a simulation task and frame-range tasks
(``moviola vfx collapse --simulate-only``, then ``--frame-range A-B``); every frame task
reads the one simulation, and the matte and clean plate it was made from, instead of
cutting the building out and solving the rigid bodies and the dust again.

    DIR/.moviola-simulation.npz    arrays only (no pickle), with the recipe key it belongs to

Arrays are stored exactly (float64 where the simulation keeps Python floats), so a frame
drawn from the file is bit for bit the frame drawn from the simulation in memory. A file
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
from ._fluid import DustVolume, Grid
from ._particles import ParticleFrames
from ._shot import Cutout, Simulated
from ._simulate import Event, SimResult

CACHE_NAME = ".moviola-simulation.npz"
LAYOUT = 1  # bump when what is stored changes


def cache_path(out: Path) -> Path:
    return out / CACHE_NAME


def save_simulation(path: Path, simd: Simulated, cutout: Cutout, key: str) -> Path:
    """Write ``simd`` and the ``cutout`` it was made from, for the recipe ``key``, atomically."""
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
    cutout = Cutout(a["cut_matte"], a["cut_hole"], a["cut_fill"], a.get("cut_glow"))
    return Simulated(sim, particles, dust, a["shake"], float(a["overscan"])), cutout


def _events(name: str, events: list[Event]) -> dict[str, NDArray[Any]]:
    values = np.array([[e.t, e.x, e.y, e.energy, e.vx, e.vy] for e in events], np.float64).reshape(-1, 6)
    return {f"{name}_values": values, f"{name}_kinds": np.array([e.kind for e in events], dtype=str)}


def _read_events(a: dict[str, NDArray[Any]], name: str) -> list[Event]:
    return [Event(float(t), float(x), float(y), float(en), str(kind), float(vx), float(vy))
            for (t, x, y, en, vx, vy), kind in zip(a[f"{name}_values"], a[f"{name}_kinds"], strict=True)]  # fmt: skip

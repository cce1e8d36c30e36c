"""One frame of the collapse: shards across the shutter, lit dust, the layers and the comp."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ._comp import comp_from_layers, grain, half, light_wrap, view_matrix
from ._render import LayerRenderer, shard_rows
from ._shot import Prepared, Simulated, blend_clean
from ._simulate import CRUSH_FADE_S

F32 = NDArray[np.float32]


@dataclass
class FrameLayers:
    """Half-rounded layers of one frame (what the EXRs hold) and the comp made from them."""

    cleanplate: F32  # (h, w, 3)
    dustback: F32  # (h, w, 4)
    debris: F32
    dust: F32
    lightwrap: F32  # (h, w, 3)
    grain: F32
    mattes: dict[str, F32]  # (h, w) each
    comp: F32  # (h, w, 3)


def _shutter_times(t: float, fps: float, shutter: float, samples: int, end: float) -> list[float]:
    if samples <= 1 or shutter <= 0:
        return [t]
    span = shutter / fps
    return [min(max(t + span * (k / (samples - 1) - 0.5), 0.0), end) for k in range(samples)]


def light_dust(prep: Prepared, puffs: F32, size: tuple[int, int]) -> tuple[F32, F32]:
    """Rows for the puff pass, lit: sun through the cloud toward it, sky fill; back to front.

    The cloud's density is splatted on a coarse grid; each puff looks back toward
    the sun through it (Beer-Lambert), so the tops of billows are bright and
    their undersides and cores are dark, as real dust clouds are.
    """
    if not len(puffs):
        return np.zeros((0, 9), np.float32), np.zeros(0, np.float32)
    x, y, r, alpha, z, tint, rot, variant, _, _ = puffs.T
    w, h = size
    cell = max(4.0, prep.px_per_m * 1.0)
    gw, gh = int(w / cell) + 8, int(h / cell) + 8
    gx = np.clip((x / cell).astype(int) + 4, 0, gw - 1)
    gy = np.clip((y / cell).astype(int) + 4, 0, gh - 1)
    grid = np.zeros((gh, gw), np.float32)
    np.add.at(grid, (gy, gx), alpha * (r / cell) ** 2 * 0.8)
    grid = cv2.GaussianBlur(grid, (0, 0), 1.2)
    sx, sy = prep.light.direction
    depth = np.zeros(len(x), np.float32)
    for k in range(1, 16):  # march toward the sun (against the light's travel)
        px = np.clip(gx - np.rint(sx * k * 1.5).astype(int), 0, gw - 1)
        py = np.clip(gy - np.rint(sy * k * 1.5).astype(int), 0, gh - 1)
        depth += grid[py, px] * 1.5
    trans = np.exp(-0.18 * depth)
    sun = np.asarray(prep.light.sun, np.float32) / 0.6  # the facade's lit stone is ~0.6 albedo
    sky = np.asarray(prep.light.sky, np.float32) * 0.9
    own = np.clip(grid[gy, gx], 0, 6)
    fill = 0.45 + 0.55 * np.exp(-0.35 * own)  # deep inside a cloud the sky cannot reach
    # light scattered many times inside the cloud keeps its heart from going black
    direct = 0.3 + 0.7 * trans
    colour = prep.dust_albedo[None, :] * (
        sun[None, :] * direct[:, None] + sky[None, :] * fill[:, None]
    )
    colour *= tint[:, None]
    rows = np.concatenate(
        [np.stack([x, y, r, rot], axis=1), colour, alpha[:, None], variant[:, None]], axis=1
    )
    order = np.argsort(z, kind="stable")
    return np.asarray(rows[order], np.float32), np.asarray(z[order], np.float32)


def render_frame(
    renderer: LayerRenderer, prep: Prepared, simd: Simulated, index: int
) -> FrameLayers:
    """Frame ``index`` (0-based) of the shot, every layer and the comp."""
    r = prep.recipe
    w, h = prep.size
    t = index / r.fps
    sim = simd.sim
    end = float(sim.times[-1])
    # shards: still ones need one sample, moving ones several across the shutter
    samples = 6 if not r.preview else 3
    times = _shutter_times(t, r.fps, r.motion_blur, samples, end)
    poses = [sim.pose_at(s) for s in times]
    if len(poses) > 1 and np.abs(poses[-1] - poses[0]).max() < 0.05:
        poses, times = [poses[len(poses) // 2]], [t]
    rows = []
    rest = prep.atlas.centroids
    radius = np.sqrt(np.array([max(s.area, 1.0) for s in prep.fracture.shards], np.float32) / np.pi)
    open_px = max(1.0, 0.15 * prep.px_per_m)
    for pose, ts in zip(poses, times, strict=True):
        # a crushed shard crumbles: it shrinks into its own dust, and only then fades
        gone = np.clip((ts - sim.crushed) / CRUSH_FADE_S, 0.0, 1.0)
        scale = (1.0 - 0.75 * gone).astype(np.float32)
        opacity = np.clip((1.0 - gone) / 0.35, 0.0, 1.0).astype(np.float32)
        # a crack's raw face shows as the piece moves away from where it sat
        moved = (
            np.hypot(pose[:, 0] - rest[:, 0], pose[:, 1] - rest[:, 1]) + np.abs(pose[:, 2]) * radius
        )
        crack = np.clip(moved / open_px, 0.0, 1.0).astype(np.float32)
        order = np.argsort(sim.slice, kind="stable")  # back slices first
        rows.append(
            shard_rows(prep.atlas, pose[order], opacity[order], crack[order], scale[order], order)
        )
    dx, dy, roll = (float(v) for v in simd.shake[index])
    view = view_matrix(dx, dy, roll, (w, h), simd.overscan)
    if prep.plate.frame_count > 1:
        renderer.set_plate(blend_clean(prep, index))
    lit, z = light_dust(prep, simd.particles.dust[index], (w, h))
    back, front = lit[z < 0], lit[z >= 0]
    layers = renderer.render(view, rows, simd.particles.chips[index], r.motion_blur / r.fps, back, front,
                             prep.light.direction, prep.face_colour)  # fmt: skip
    clean = half(layers.clean[..., :3])
    dustback, debris, dust = half(layers.dustback), half(layers.debris), half(layers.dust)
    under = dustback[..., :3] + (1.0 - dustback[..., 3:4]) * clean
    moved = half(np.minimum(layers.moved, debris[..., 3]))
    # the plate's own edges already have their light; only loose pieces need wrapping
    wrap = half(light_wrap(under, moved, max(2.0, 0.004 * max(w, h)), r.light_wrap))
    mid = debris[..., :3] + (1.0 - debris[..., 3:4]) * under
    signal = dust[..., :3] + (1.0 - dust[..., 3:4]) * mid
    # a still plate has frozen grain: living grain over the whole frame makes it footage;
    # a video's own grain lives, so ours goes only where we added pixels
    weight = 1.0 if prep.plate.frame_count == 1 else np.clip(dust[..., 3] + (1 - dust[..., 3]) * (
        dustback[..., 3] + prep.hole * (1 - debris[..., 3])), 0, 1)[..., None]  # fmt: skip
    g = grain((h, w), prep.noise * r.grain, prep.grain_px, r.seed, index, signal) * weight
    grain_layer = half(g)
    comp = half(comp_from_layers(clean, dustback, debris, dust, wrap, grain_layer))
    building = cv2.warpAffine(
        prep.matte, view[:2].astype(np.float64), (w, h), flags=cv2.INTER_LINEAR
    )
    mattes = {
        "building": half(building),
        "revealed": half(building * (1.0 - debris[..., 3])),
        "debris": debris[..., 3].copy(),
        "loose": moved,
        "dust": dust[..., 3].copy(),
        "dustback": dustback[..., 3].copy(),
    }
    return FrameLayers(clean, dustback, debris, dust, wrap, grain_layer, mattes, comp)

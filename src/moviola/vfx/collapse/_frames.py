"""One frame of the collapse: shards across the shutter (GL), then the dust volume, the layers
and the comp (CPU, on worker threads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ._comp import grain, light_wrap, over_chain, view_matrix
from ._dustshade import shade_dust
from ._fluid import detail_noise
from ._plate import apply_fit
from ._render import LayerRenderer, Layers, shard_rows
from ._shot import Prepared, Simulated, blend_clean
from ._simulate import CRUSH_FADE_S

F32 = NDArray[np.float32]
F16 = NDArray[np.float16]


@dataclass
class FrameLayers:
    """One frame's layers as the half floats the EXRs hold, and the comp made from them."""

    cleanplate: F16  # (h, w, 3)
    dustback: F16  # (h, w, 4)
    debris: F16
    dust: F16
    lightwrap: F16  # (h, w, 3): light wrap, and a lit tower's own glow while it stands: added light
    grain: F16
    mattes: dict[str, F16]  # (h, w) each
    comp: F16  # (h, w, 3)
    reflection: F16 | None = None  # (h, w, 3), additive: the water's reflection of what changed


def _shutter_times(t: float, fps: float, shutter: float, samples: int, end: float) -> list[float]:
    if samples <= 1 or shutter <= 0:
        return [t]
    span = shutter / fps
    return [min(max(t + span * (k / (samples - 1) - 0.5), 0.0), end) for k in range(samples)]


@dataclass
class Drawn:
    """What the GL pass gives for one frame, before the CPU finishes it."""

    index: int
    layers: Layers
    view: F32
    box: tuple[int, int, int, int] | None  # where loose pieces are, output px


def draw_frame(renderer: LayerRenderer, prep: Prepared, simd: Simulated, index: int) -> Drawn:
    """The GL part of frame ``index`` (0-based): shards across the shutter, chips, dust."""
    r = prep.recipe
    w, h = prep.size
    t = index / r.fps
    sim = simd.sim
    end = float(sim.times[-1])
    samples = 5 if not r.preview else 3
    times = _shutter_times(t, r.fps, r.motion_blur, samples, end)
    rest = prep.atlas.centroids
    radius = np.sqrt(np.array([max(s.area, 1.0) for s in prep.fracture.shards], np.float32) / np.pi)
    open_px = max(1.0, 0.15 * prep.px_per_m)
    order = np.argsort(sim.slice, kind="stable")  # back slices first
    states = []
    for ts in times:
        pose = sim.pose_at(ts)
        # a crushed shard crumbles: it shrinks into its own dust, and only then fades
        gone = np.clip((ts - sim.crushed) / CRUSH_FADE_S, 0.0, 1.0)
        scale = (1.0 - 0.75 * gone).astype(np.float32)
        opacity = np.clip((1.0 - gone) / 0.35, 0.0, 1.0).astype(np.float32)
        # a crack's raw face shows as the piece moves away from where it sat
        moved = np.hypot(pose[:, 0] - rest[:, 0], pose[:, 1] - rest[:, 1]) + np.abs(pose[:, 2]) * radius
        crack = np.clip(moved / open_px, 0.0, 1.0).astype(np.float32)
        states.append((pose, opacity, crack, scale))
    mid = states[len(states) // 2]
    first, last = states[0], states[-1]
    # which shards move during the shutter (they are drawn at every instant and averaged)
    change = (np.abs(last[0][:, :2] - first[0][:, :2]).max(axis=1) + np.abs(last[0][:, 2] - first[0][:, 2]) * radius
              + np.abs(last[1] - first[1]) * 10 + np.abs(last[3] - first[3]) * radius)  # fmt: skip
    moving = change > 0.05
    still_order = order[~moving[order]]
    move_order = order[moving[order]]
    def rows(state: tuple[F32, F32, F32, F32], which: NDArray[np.intp]) -> F32:
        pose, opacity, crack, scale = state
        return shard_rows(prep.atlas, pose[which], opacity[which], crack[which], scale[which], which)

    static = rows(mid, still_order)
    samples_rows = [rows(st, move_order) for st in states] if len(move_order) else []
    dx, dy, roll = (float(v) for v in simd.shake[index])
    view = view_matrix(dx, dy, roll, (w, h), simd.overscan)
    box = _moving_box(prep, [st[0] for st in states], move_order, view, (w, h)) if len(move_order) else None
    if prep.plate.frame_count > 1:
        renderer.set_plate(blend_clean(prep, index))
    layers = renderer.render(view, static, samples_rows, box, simd.particles.chips[index],
                             r.motion_blur / r.fps, prep.face_colour)  # fmt: skip
    chips = simd.particles.chips[index]
    if len(chips):  # chips are loose too: grow the box to hold them
        cx, cy = chips[:, 0], chips[:, 1]
        cb = (int(max(0, cx.min() - 8)), int(max(0, cy.min() - 8)), int(min(w, cx.max() + 8)),
              int(min(h, cy.max() + 8)))  # fmt: skip
        box = cb if box is None else (min(box[0], cb[0]), min(box[1], cb[1]), max(box[2], cb[2]), max(box[3], cb[3]))
    return Drawn(index, layers, view, box)


def _moving_box(prep: Prepared, poses: list[F32], which: NDArray[np.intp], view: F32,
                size: tuple[int, int]) -> tuple[int, int, int, int] | None:  # fmt: skip
    """The output-pixel box every moving shard covers at some instant of the shutter."""
    boxes = prep.atlas.boxes[which]
    rest = prep.atlas.centroids[which]
    corners = np.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [0, 3]], boxes[:, [2, 3]]], axis=1)
    local = corners - rest[:, None, :]
    pts = []
    for pose in poses:
        p = pose[which]
        c, s = np.cos(p[:, 2])[:, None], np.sin(p[:, 2])[:, None]
        x = c * local[..., 0] - s * local[..., 1] + p[:, None, 0]
        y = s * local[..., 0] + c * local[..., 1] + p[:, None, 1]
        pts.append(np.stack([x, y], axis=-1).reshape(-1, 2))
    allp = np.concatenate(pts)
    q = allp @ view[:2, :2].T + view[:2, 2]
    w, h = size
    x0, y0 = np.floor(q.min(axis=0)) - 2
    x1, y1 = np.ceil(q.max(axis=0)) + 2
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def finish_frame(prep: Prepared, simd: Simulated, drawn: Drawn) -> FrameLayers:
    """The CPU part: light wrap, grain, mattes and the comp (thread-safe: numpy and OpenCV).

    The over-chain is computed once, in exactly the order comp_from_layers uses,
    from the half-float layers the EXRs get: the comp written equals the comp a
    compositor rebuilds from the files, bit for bit.
    """
    r = prep.recipe
    w, h = prep.size
    index, layers, view = drawn.index, drawn.layers, drawn.view
    clean = layers.clean[..., :3].astype(np.float32)
    dustback16, dust16 = shade_dust(simd.dust, index, view, (w, h), prep.dust_look(), _noise(r.seed))
    dustback, dust = dustback16.astype(np.float32), dust16.astype(np.float32)
    debris = layers.debris.astype(np.float32)
    under, _, over = over_chain(clean, dustback, debris, dust)
    moved = np.minimum(layers.moved.astype(np.float32), debris[..., 3])
    # the plate's own edges already have their light; only loose pieces need wrapping
    wrap16 = np.zeros((h, w, 3), np.float16)
    if drawn.box is not None and r.light_wrap > 0:
        radius = max(2.0, 0.004 * max(w, h))
        pad = int(3 * radius) + 2
        x0, y0, x1, y1 = drawn.box
        x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
        wrap16[y0:y1, x0:x1] = light_wrap(under[y0:y1, x0:x1], moved[y0:y1, x0:x1], radius, r.light_wrap)
    # a still plate has frozen grain: living grain over the whole frame makes it footage;
    # a video's own grain lives, so ours goes only where we added pixels
    weight: Any = 1.0
    if prep.plate.frame_count > 1:
        weight = np.clip(dust[..., 3] + (1 - dust[..., 3]) * (dustback[..., 3] + prep.hole * (1 - debris[..., 3])),
                         0, 1)[..., None]  # fmt: skip
    g = grain((h, w), prep.noise * r.grain, prep.grain_px, r.seed, index, over) * weight
    # grain is noise, which no lossless codec shrinks: kept on a grid an eighth of its
    # spread, it looks the same and its EXRs are a quarter of the size
    step = np.float32(2.0 ** np.floor(np.log2(max(float(prep.noise.min()) * r.grain / 8.0, 2.0**-16))))
    grain16 = (np.rint(g / step) * step).astype(np.float16)
    building = cv2.warpAffine(prep.matte, _centred(view), (w, h), flags=cv2.INTER_LINEAR)
    shown = over  # what our layers show above the water, the tower's own glow included
    if prep.glow is not None:  # the lit tower's halo, as much as still stands of it: emitted light
        standing = 1.0 - float(np.maximum(building - debris[..., 3], 0.0).sum()) / max(float(building.sum()), 1e-6)
        halo = np.float32(max(standing, 0.0)) * cv2.warpAffine(prep.glow, _centred(view), (w, h),
                                                              flags=cv2.INTER_LINEAR)  # fmt: skip
        wrap16 = (wrap16.astype(np.float32) + halo).astype(np.float16)
        shown = over + halo
    comp32 = over + wrap16.astype(np.float32) + grain16.astype(np.float32)
    refl16 = None
    if prep.water is not None:
        refl16 = _reflection(prep, index, view, shown).astype(np.float16)
        comp32 = comp32 + refl16.astype(np.float32)
    comp = comp32.astype(np.float16)
    mattes = {
        "building": building.astype(np.float16),
        # where the building was and no debris covers now (0 at rest, soft edges included)
        "revealed": np.maximum(building - debris[..., 3], 0.0).astype(np.float16),
        "debris": layers.debris[..., 3],
        "loose": moved.astype(np.float16),
        "dust": dust16[..., 3],
        "dustback": dustback16[..., 3],
    }
    return FrameLayers(layers.clean[..., :3], dustback16, layers.debris, dust16, wrap16, grain16,
                       mattes, comp, refl16)  # fmt: skip


def _reflection(prep: Prepared, index: int, view: F32, over: F32) -> F32:
    """What the water shows of our changes above it: the comp less the plate as this frame
    would show it (the same camera), mirrored, rippled and dimmed by the water's own measure."""
    water = prep.water
    assert water is not None
    w, h = prep.size
    plate = prep.image
    if prep.plate.frame_count > 1:
        plate = apply_fit(prep.plate.frame_at(index / prep.recipe.fps), prep.fit)
    shown = cv2.warpAffine(plate, _centred(view), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out = np.zeros((h, w, 3), np.float32)
    out[water.y :] = water.mirrored(over[: water.y] - shown[: water.y], h - water.y)
    # a reflection taken away never takes the water below black
    return np.maximum(out, -over)


def _centred(view: F32) -> NDArray[np.float64]:
    """The view as OpenCV's 2x3 affine: the view maps pixel corners (as GL does), OpenCV
    maps pixel centres."""
    m = view[:2].astype(np.float64)
    m[:, 2] += m[:, :2] @ np.array([0.5, 0.5]) - 0.5
    return m


def render_frame(renderer: LayerRenderer, prep: Prepared, simd: Simulated, index: int) -> FrameLayers:
    """Frame ``index`` (0-based) of the shot, every layer and the comp, in one call."""
    return finish_frame(prep, simd, draw_frame(renderer, prep, simd, index))


_NOISE: dict[int, F32] = {}


def _noise(seed: int) -> F32:
    """The dust's detail noise for this seed, made once (it is read-only after)."""
    if seed not in _NOISE:
        _NOISE[seed] = detail_noise(seed)
    return _NOISE[seed]

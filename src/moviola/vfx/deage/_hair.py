"""Grey hair given its colour back: scalp hair, and a beard or moustache.

``--hair-colour`` says what colour: ``auto`` (the default), ``keep``, or a CSS colour
(``#3b2a1e``, ``#321``, ``saddlebrown``, ``rgb(59, 42, 30)``).

- ``auto`` restores pigment to grey hair only: hair that is not grey (brown, blond,
  black, dyed) is left as it is. The colour is the eyebrows' when they are still
  pigmented (brows grey years after the scalp, so they keep the hair's own colour
  longest), else a dark brown. Grey hair is, with the skin, the strongest sign of age
  to a viewer and to an age model, so taking years without it leaves a younger face
  under old hair.
- ``keep`` leaves the hair alone.
- A colour recolours all the hair towards it, grey or not.

Where the hair is: the person's matte (MediaPipe's selfie segmentation, Apache-2.0,
in the same wheel as the face mesh) around the head, less the skin (by the mesh and
by colour), the eyes, brows and lips, and the collar below the chin. The change is a
gain on brightness (so every strand keeps its own light and shade at full
resolution) and a smooth shift of colour, both scaled by the years.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core import InputError
from . import _face_regions as fr
from ._texture import LUMA, blur, luma_of, mean_in

if TYPE_CHECKING:
    from ._retouch import RetouchState

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
AUTO, KEEP = "auto", "keep"
DARK_BROWN = (0x3B / 255, 0x2A / 255, 0x1E / 255)


@dataclass(frozen=True)
class HairPlan:
    """What to do to the hair: ``colour`` None restores grey hair's pigment (``auto``)."""

    colour: tuple[float, float, float] | None = None
    grey_only: bool = True


def parse_hair_colour(text: str | None) -> HairPlan | None:
    """``--hair-colour``: None or ``keep`` leaves the hair alone (None), ``auto`` restores grey
    hair; any CSS colour recolours all the hair towards it."""
    if text is None:
        return HairPlan()
    value = text.strip().lower()
    if value == KEEP:
        return None
    if value in (AUTO, ""):
        return HairPlan()
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(value)
    except ValueError as exc:
        raise InputError(f"--hair-colour {text!r} is not a colour: give one such as '#3b2a1e', '#321', "
                         "'saddlebrown' or 'rgb(59, 42, 30)', or 'auto' or 'keep'") from exc  # fmt: skip
    r, g, b = (float(c) / 255.0 for c in rgb[:3])
    return HairPlan((r, g, b), grey_only=False)


def check_hair_colour(text: str) -> str:
    """The option's value as it is, once it is known to parse (for settings validation)."""
    parse_hair_colour(text)
    return text


class PersonMatte:
    """MediaPipe's selfie segmentation: who is in front of the background (0..1)."""

    SIDE = 192

    def __init__(self) -> None:
        from ._face_models import import_mediapipe, model_path
        from ._face_track import _start_graph

        solution_base = import_mediapipe()
        model_path("mediapipe-selfie-segmentation")
        self._graph = _start_graph(lambda: solution_base(
            binary_graph_path="mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.binarypb",
            side_inputs={"model_selection": 0}, outputs=["segmentation_mask"]))  # fmt: skip

    def __call__(self, rgb: U8) -> F32:
        """The matte of ``rgb`` at its size; worked out on a copy at most ``SIDE`` pixels high
        (the network sees 256x256 anyway, and the hair's edge is feathered after)."""
        h, w = rgb.shape[:2]
        small = rgb
        if h > self.SIDE:
            small = cv2.resize(rgb, (max(8, round(w * self.SIDE / h)), self.SIDE), interpolation=cv2.INTER_AREA)
        result = self._graph.process({"image": np.ascontiguousarray(small)})
        mask = result.segmentation_mask
        matte = np.asarray(mask.numpy_view() if hasattr(mask, "numpy_view") else mask, np.float32)
        matte = matte.reshape(small.shape[:2])
        if small is not rgb:
            matte = cv2.resize(matte, (w, h), interpolation=cv2.INTER_LINEAR)
        return np.asarray(matte, np.float32)

    def close(self) -> None:
        self._graph.close()


def _smoothstep(x: F32, lo: float, hi: float) -> F32:
    t = np.clip((x - np.float32(lo)) * np.float32(1.0 / (hi - lo)), 0.0, 1.0)
    return np.asarray(t * t * (3 - 2 * t), np.float32)


def hair_weight(img: F32, lm: F32, scale: float, matte: F32, skin: F32, grey_only: bool) -> tuple[F32, F32]:
    """Where the hair is (0..1), and how grey it is there (0..1)."""
    h, w = img.shape[:2]
    p = fr.MaskPainter(lm, (h, w), scale, max(1, int(scale // 24)))
    head = p.blank()
    p.fill(head, fr.FACE_OVAL)
    zone = p.soft(p.grow(head, 0.75), 0.15)  # the head and a band around it, where hair grows
    holes = p.blank()
    for idx in (fr.RIGHT_EYE, fr.LEFT_EYE, fr.RIGHT_BROW, fr.LEFT_BROW, fr.LIPS):
        p.fill(holes, idx)
    keep_out = p.soft(p.grow(holes, 0.06), 0.04)
    zone = cv2.resize(zone * (1.0 - keep_out), (w, h), interpolation=cv2.INTER_LINEAR)
    # not below the chin's line (a beard, yes; a collar or a shirt, no)
    up = fr.up_vector(lm)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    height = ((xx - lm[152, 0]) * up[0] + (yy - lm[152, 1]) * up[1]) / np.float32(scale)
    zone = zone * _smoothstep(height, -0.3, -0.05)
    luma = luma_of(img)
    chroma = np.sqrt(np.square(img - luma[..., None]).sum(-1))
    grey = np.exp(-np.square(chroma * np.float32(1.0 / 0.055))) * _smoothstep(luma, 0.2, 0.42)
    where = np.clip(matte, 0.0, 1.0) * zone * (1.0 - skin)
    where = blur(np.asarray(where, np.float32), 0.01 * scale)
    return np.asarray(where, np.float32), np.asarray(grey, np.float32)


def hair_change(img: F32, lm: F32, scale: float, matte: F32, skin: F32, plan: HairPlan, amount: float,
                state: RetouchState) -> tuple[F32, F32] | None:  # fmt: skip
    """The hair's change as (brightness gain, colour shift to add), or None if nothing to do."""
    if amount <= 0:
        return None
    where, grey = hair_weight(img, lm, scale, matte, skin, plan.grey_only)
    weight = where * grey if plan.grey_only else where
    luma = luma_of(img)
    memo: dict[str, Any] = state.hair
    total = float(weight.sum())
    if total < 4.0 and "ref" not in memo:
        return None
    ref = mean_in(luma, weight) if total >= 4.0 else memo["ref"]
    target = np.asarray(plan.colour if plan.colour is not None else _auto_colour(img, lm, scale, memo),
                        np.float32)  # fmt: skip
    if "ref" in memo:
        ref = memo["ref"] + state.rate * (ref - memo["ref"])
    memo["ref"] = ref = max(ref, 0.05)
    t_luma = float(target @ LUMA)
    k = np.float32(amount) * weight
    gain = np.float32(1.0) + k * np.float32(t_luma / ref - 1.0)
    shift = (target - np.float32(t_luma))[None, None, :] * (luma * np.float32(1.0 / ref) * k)[..., None]
    # a pigmented strand was grey by how little colour it had: take that away too
    shift -= (img - luma[..., None]) * (k * np.float32(t_luma / ref))[..., None]
    return np.asarray(gain, np.float32), np.asarray(shift, np.float32)


def _auto_colour(img: F32, lm: F32, scale: float, memo: dict[str, Any]) -> tuple[float, float, float]:
    """The eyebrows' colour where they are pigmented (dark, or coloured), else a dark brown."""
    if "auto" in memo:
        return memo["auto"]  # type: ignore[no-any-return]
    h, w = img.shape[:2]
    p = fr.MaskPainter(lm, (h, w), scale, 1)
    brows = p.blank()
    for idx in (fr.RIGHT_BROW, fr.LEFT_BROW):
        p.fill(brows, idx)
    weight = brows.astype(np.float32) / 255.0
    luma = luma_of(img)
    if weight.sum() > 4:
        dark = weight * (luma <= np.percentile(luma[weight > 0.5], 40)).astype(np.float32)
        colour = np.array([mean_in(img[..., c], dark) for c in range(3)], np.float32)
        c_luma = float(colour @ LUMA)
        chroma = float(np.linalg.norm(colour - c_luma))
        if c_luma < 0.3 and (chroma > 0.03 or c_luma < 0.16):
            memo["auto"] = tuple(float(v) for v in colour)
            return memo["auto"]  # type: ignore[no-any-return]
    memo["auto"] = DARK_BROWN
    return DARK_BROWN


CANON_UNIT = 24.0  # px to the face unit in the frame the matte is steadied in
CANON_SIZE = (6 * 24, 7 * 24)  # (w, h): the head and the hair around it


def _to_canon(lm: F32, scale: float) -> F32:
    """The similarity (2x3) from a region's pixels to the face's own frame: eyes level, one
    face unit ``CANON_UNIT`` pixels, the eyes' midpoint at a fixed place."""
    re, le = fr.eye_centres(lm)
    mid = (re + le) / 2
    ang = float(np.arctan2(le[1] - re[1], le[0] - re[0]))
    k = CANON_UNIT / max(scale, 1e-3)
    c, s = np.cos(ang) * k, np.sin(ang) * k
    m = np.array([[c, s, 0.0], [-s, c, 0.0]], np.float32)
    m[:, 2] = np.array([CANON_SIZE[0] / 2, 2.6 * CANON_UNIT], np.float32) - m[:, :2] @ mid
    return m


def steady_matte(matte: F32 | None, lm: F32, scale: float, size: tuple[int, int],
                 state: RetouchState) -> F32 | None:  # fmt: skip
    """The person's matte averaged over frames in the face's own frame (so it follows the
    head but its edge does not shimmer), back in the region's pixels (``size``: w, h).
    ``matte`` None (a frame the segmentation skipped) gives the average as it stands."""
    m = _to_canon(lm, scale)
    prev = state.hair.get("matte")
    if matte is None:
        if prev is None:
            return None
        canon = prev
    else:
        canon = cv2.warpAffine(matte, m, CANON_SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if prev is not None:
            canon = prev + np.float32(0.5) * (canon - prev)
    state.hair["matte"] = canon
    w, h = size
    back = cv2.warpAffine(canon, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return np.asarray(back, np.float32)

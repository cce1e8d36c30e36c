"""Grey hair given its colour back: scalp hair, and a beard or moustache.

``--hair-colour`` says what colour: ``auto`` (the default), ``keep``, or a CSS colour
(``#3b2a1e``, ``#321``, ``saddlebrown``, ``rgb(59, 42, 30)``).

- ``auto`` restores pigment to grey hair only: hair that is not grey (brown, auburn,
  black, dyed, most blond) is left as it is. The colour is towards the eyebrows' when
  they are still pigmented (brows grey years after the scalp, so they keep the hair's
  own colour longest), else towards a dark brown; at most half the grey's brightness is
  taken, at half the target's saturation (an ash), so that where the matte is unsure the
  change never shows as a dark patch. Grey hair is, with the skin, the strongest sign of
  age to a viewer and to an age model, so taking years without it leaves a younger face
  under old hair.
- ``keep`` leaves the hair alone.
- A colour recolours all the hair towards it, grey or not, fully.

Where the hair is: the person's matte (MediaPipe's selfie segmentation, Apache-2.0,
in the same wheel as the face mesh) around the head, less the face (by the mesh), the
eyes, brows and lips, and the collar below the chin (``hair_weight``). The change is a
gain on brightness (so every strand keeps its own light and shade at full
resolution) and a smooth shift of colour, both scaled by the years, worked out on the
retouch's small copy.
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


def _smoothstep(x: NDArray[Any], lo: float, hi: float) -> F32:
    t = np.clip((x - np.float32(lo)) * np.float32(1.0 / (hi - lo)), 0.0, 1.0)
    return np.asarray(t * t * (3 - 2 * t), np.float32)


def _smoothstep01(t: NDArray[Any]) -> F32:
    t = np.clip(t, 0.0, 1.0)
    return np.asarray(t * t * (3 - 2 * t), np.float32)


def _up(img: F32, w: int, h: int) -> F32:
    return np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def hair_weight(img: F32, lm: F32, scale: float, matte: F32, skin: F32, grey_only: bool,
                skin_colour: F32 | None = None, skin_luma: float = 0.5,
                detail: F32 | None = None) -> F32:  # fmt: skip
    """How much each pixel of ``img`` is hair to recolour (0..1). ``img`` is best at about 22
    px to the face unit (the retouch's small copy); ``detail``, the same region at a finer
    size, tells a beard's strands from smooth skin.

    Where: the person's matte around the head, less the eyes, brows and lips: beside the
    face's outline down to the mouth's level, fading out by the chin's (not a collar), up to about a face
    unit over the forehead's top; inside the outline (a beard) from the nose to
    just below the chin, and only what is not skin (``skin``, the skin matte), is textured
    like hair and no brighter than light skin (not a shine on the chin).

    With ``grey_only`` (``auto``), only grey hair: light against the skin (``skin_luma``),
    and less coloured than it, colour being taken relative to brightness and against this
    face's skin (``skin_colour``, its chroma over its brightness; 1 is as coloured as the
    skin). Above the brows, where a high forehead or a bald scalp is skin, grey must be
    clearly less coloured (under about half); beside the face, where only the ears are
    skin (and they are more coloured than the face), a photo's warm cast is allowed for:
    white hair that reads up to about 0.8 of the skin's colour is still grey."""
    h, w = img.shape[:2]
    p = fr.MaskPainter(lm, (h, w), scale, max(1, int(scale // 24)))
    head = p.blank()
    p.fill(head, fr.FACE_OVAL)
    holes = p.blank()
    for idx in (fr.RIGHT_EYE, fr.LEFT_EYE, fr.RIGHT_BROW, fr.LEFT_BROW, fr.LIPS):
        p.fill(holes, idx)
    # distances (face units) from the face's outline and from its holes: one pass each, where
    # growing a mask by a face unit would be a large dilation
    unit = np.float32(1.0 / p.scale)
    outside = np.asarray(cv2.distanceTransform(cv2.bitwise_not(head), cv2.DIST_L2, 3), np.float32) * unit
    inside = np.asarray(cv2.distanceTransform(head, cv2.DIST_L2, 3), np.float32) * unit
    from_holes = np.asarray(cv2.distanceTransform(cv2.bitwise_not(holes), cv2.DIST_L2, 3), np.float32) * unit
    signed = outside - inside  # < 0 inside the outline
    zone = 1.0 - _smoothstep(signed, 0.8, 1.0)  # the head and a band around it, where hair grows
    core = 1.0 - _smoothstep(signed, -0.02, 0.05)  # the face inside its outline
    zone = zone * _smoothstep(from_holes, 0.04, 0.1)
    # heights above the chin (face units) along the face's own up: beside the face hair is
    # taken wholly down to the mouth's level and less and less below it, to nothing at the
    # chin's (there a collar or a shirt can be as light and as colourless as grey hair), a
    # beard down to just below the chin
    up = fr.up_vector(lm)
    sh, sw = head.shape
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32) * np.float32(p.step)
    height = ((xx - lm[152, 0]) * up[0] + (yy - lm[152, 1]) * up[1]) * np.float32(1.0 / scale)

    def level(i: int) -> float:
        return float((lm[i] - lm[152]) @ up) / scale

    # the top: grey hair is told from a hat by its colour; a colour asked for takes all that the
    # matte holds, so it stops lower (a hat's crown stands higher than most hair)
    top = level(10) + (0.8 if grey_only else 0.55)
    zone = zone * (1.0 - _smoothstep(height, top, top + 0.3))
    mouth = (level(61) + level(291)) / 2
    ring = np.asarray(zone * (1.0 - core) * _smoothstep(height, 0.05, mouth + 0.1), np.float32)
    beard = zone * core * _smoothstep(height, -0.3, -0.05) * (1.0 - _smoothstep(height, level(2) - 0.1, level(2)))
    # colour, at the masks' size (about 22 px to the face unit): it decides where the hair is;
    # each strand's own light and shade is kept by the change itself (a gain)
    small = img if (img.shape[1], img.shape[0]) == (sw, sh) else \
        np.asarray(cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)  # fmt: skip
    s_scale = scale / p.step
    luma = luma_of(small)
    rel = np.asarray((small - luma[..., None]) / np.maximum(luma, np.float32(0.04))[..., None], np.float32)
    ref = np.asarray(skin_colour if skin_colour is not None else (0.35, -0.05, -0.3), np.float32)
    along = np.asarray((rel @ ref) * np.float32(1.0 / max(float(ref @ ref), 1e-4)), np.float32)
    across = np.sqrt(np.square(rel - along[..., None] * ref[None, None, :]).sum(-1))  # another hue
    skin_s = skin if skin.shape == (sh, sw) else cv2.resize(skin, (sw, sh), interpolation=cv2.INTER_LINEAR)
    not_skin = 1.0 - np.clip(skin_s, 0.0, 1.0)
    # a beard is textured: its brightness varies from strand to strand, smooth skin's does not
    fine = luma_of(detail) if detail is not None else luma_of(img)
    edges = np.abs(np.asarray(cv2.Laplacian(fine, cv2.CV_32F, ksize=3), np.float32)) * np.float32(0.25)
    texture = np.asarray(cv2.resize(edges, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)
    beardy = _smoothstep(texture * np.float32(1.0 / max(skin_luma, 0.05)), 0.02, 0.05)
    person = np.clip(matte, 0.0, 1.0)
    if not grey_only:  # all the hair: beside the face every strand, inside it what is not skin
        where = np.asarray(ring + beard * (1.0 - _smoothstep(along, 0.4, 0.8)) * not_skin * beardy, np.float32)
        return np.asarray(person * (where if (sw, sh) == (w, h) else _up(where, w, h)), np.float32)
    ratio = luma * np.float32(1.0 / max(skin_luma, 0.05))
    light = _smoothstep(ratio, 0.45, 0.75)
    above = _smoothstep(height, level(9) - 0.1, level(9) + 0.1)  # above the brows
    lo = np.float32(0.65) - np.float32(0.3) * above  # the colour at which grey starts to read as skin
    grey = light * (1.0 - _smoothstep01((along - lo) * np.float32(1.0 / 0.2))) * (1.0 - _smoothstep(across, 0.15, 0.3))
    in_beard = grey * (1.0 - _smoothstep(along, 0.25, 0.45)) * not_skin * beardy * (1.0 - _smoothstep(ratio, 1.2, 1.5))
    # hair is recoloured as a mass, never in specks: where most of the neighbourhood is grey
    # (a shine on a bald scalp or a forehead is a speck of grey in skin), and above the brows
    # only where the surroundings are not skin-coloured
    mass = _smoothstep(blur(np.asarray(grey * ring, np.float32), 0.08 * s_scale), 0.2, 0.7)
    surround = blur(np.asarray(along, np.float32), 0.12 * s_scale)
    mass = mass * (1.0 - above * _smoothstep(surround, 0.3, 0.55))
    where = np.asarray(ring * mass * light + beard * in_beard, np.float32)
    return np.asarray(person * (where if (sw, sh) == (w, h) else _up(where, w, h)), np.float32)


def hair_change(img: F32, lm: F32, scale: float, matte: F32, skin: F32, plan: HairPlan, amount: float,
                state: RetouchState, detail: F32 | None = None) -> tuple[F32, F32] | None:  # fmt: skip
    """The hair's change as (brightness gain, colour shift to add), both at ``img``'s size
    (the gain multiplies every strand's own pixels, so each keeps its light and shade), or
    None if there is nothing to do. ``detail``: as for ``hair_weight``.

    A strand recoloured wholly becomes the target colour times its brightness relative to
    the hair's mean: ``img * gain + shift`` is ``target * luma / mean``."""
    if amount <= 0:
        return None
    memo: dict[str, Any] = state.hair
    weight = _steady_weight(img, lm, scale, matte, skin, plan, state, detail)
    luma = luma_of(img)
    total = float(weight.sum())
    enough = total >= 0.02 * scale * scale  # a fiftieth of a face unit squared: some hair to measure
    if not enough and "ref" not in memo:
        return None
    # the hair's brightness, weighted to its light strands: a dark hat or shadow in the matte
    # must not pull it down (then the light strands would hardly darken)
    ref = mean_in(luma, weight * luma) if enough else memo["ref"]
    target = np.asarray(plan.colour if plan.colour is not None else _auto_colour(img, lm, scale, memo),
                        np.float32)  # fmt: skip
    if "ref" in memo:
        ref = memo["ref"] + state.rate * (ref - memo["ref"])
    memo["ref"] = ref = max(ref, 0.05)
    t_luma = float(target @ LUMA)
    if plan.colour is None and t_luma < 0.5 * ref:
        # auto: at most half the grey's brightness taken (a matte's soft edge then never shows as
        # a dark patch), in the target's hue at half its saturation
        lifted = target * np.float32(0.5 * ref / max(t_luma, 1e-3))
        t_luma = 0.5 * ref
        target = np.float32(t_luma) + (lifted - np.float32(t_luma)) * np.float32(0.5)  # ash, not ochre
    k = np.float32(amount) * weight
    gain = np.float32(1.0) + k * np.float32(t_luma / ref - 1.0)
    shift = (target - np.float32(t_luma))[None, None, :] * (luma * np.float32(1.0 / ref) * k)[..., None]
    # a pigmented strand was grey by how little colour it had: take that away too
    shift -= (img - luma[..., None]) * (k * np.float32(t_luma / ref))[..., None]
    return np.asarray(gain, np.float32), np.asarray(shift, np.float32)


REWEIGH = 2  # the hair's weight is worked out on every second frame, and carried between


def _steady_weight(img: F32, lm: F32, scale: float, matte: F32, skin: F32, plan: HairPlan, state: RetouchState,
                   detail: F32 | None) -> F32:  # fmt: skip
    """``hair_weight``, worked out on every ``REWEIGH``-th frame and kept in the face's own frame
    (as the matte is) in between: where the hair is changes slowly, and the head's motion is
    followed exactly by the landmarks."""
    memo: dict[str, Any] = state.hair
    count = int(memo.get("count", 0))
    memo["count"] = count + 1
    h, w = img.shape[:2]
    m = _to_canon(lm, scale)
    if count % REWEIGH and "weight" in memo:
        back = cv2.warpAffine(memo["weight"], m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
        return np.asarray(back, np.float32)
    weight = hair_weight(img, lm, scale, matte, skin, plan.grey_only, state.chroma,
                         state.cheek_luma if state.cheek_luma is not None else 0.5, detail)  # fmt: skip
    memo["weight"] = cv2.warpAffine(weight, m, CANON_SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                    borderValue=0)  # fmt: skip
    return weight


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

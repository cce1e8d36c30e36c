"""Regions of a face, drawn from MediaPipe's 478-point face mesh.

The mesh's topology is fixed, so a region is a list of landmark indices: the
face oval, the eyes, brows, lips and nostrils to keep out of a retouch, and the
places where age shows (forehead and frown lines, crow's feet, under-eye,
nasolabial and marionette lines). Pure geometry: no I/O and no MediaPipe import,
so masks can be built and tested from any landmark array.

Indices are the subject's right first (the image's left in a frontal shot).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]

MESH_POINTS = 478  # 468 + 10 iris points (refined landmarks)

FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
             109]  # fmt: skip
RIGHT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
LEFT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466]
RIGHT_BROW = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46]
LEFT_BROW = [300, 293, 334, 296, 336, 285, 295, 282, 283, 276]
LIPS = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
NOSTRILS = [64, 98, 97, 2, 326, 327, 294, 278, 344, 440, 275, 4, 45, 220, 115, 48]
RIGHT_IRIS = [468, 469, 470, 471, 472]
LEFT_IRIS = [473, 474, 475, 476, 477]

# where age shows
FOREHEAD = [54, 103, 67, 109, 10, 338, 297, 332, 284, 300, 293, 334, 296, 336, 9, 107, 66, 105, 63,
            70]  # fmt: skip
RIGHT_UNDER_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 121, 120, 119, 118, 117, 111]
LEFT_UNDER_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 350, 349, 348, 347, 346, 340]
RIGHT_NASOLABIAL = [129, 203, 206, 216, 212]
LEFT_NASOLABIAL = [358, 423, 426, 436, 432]
RIGHT_MARIONETTE = [61, 57, 202, 204, 211, 32]
LEFT_MARIONETTE = [291, 287, 422, 424, 431, 262]
RIGHT_CHEEK = [50, 205, 187, 123, 117]  # under the cheekbone: the reference for an under-eye lift
LEFT_CHEEK = [280, 425, 411, 352, 346]
CHIN_CREASE = [204, 194, 201, 200, 421, 418, 424]  # the mentolabial crease, under the lower lip
RIGHT_JOWL_LINE = [136, 169, 170, 140, 150, 149]
LEFT_JOWL_LINE = [365, 394, 395, 369, 379, 378]
NOSE = [168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 97, 326, 327, 64, 294, 48, 278, 115, 344, 131, 360, 134, 363,
        236, 456, 3, 248, 51, 281, 45, 275, 220, 440, 114, 343, 188, 412, 122, 351, 193, 417, 245, 465, 217, 437,
        198, 420, 49, 279, 102, 331]  # fmt: skip
JAW = [132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361]

# warp handles: (indices, displacement in face units along (x toward the face's middle, y up))
RIGHT_UPPER_LID = [161, 160, 159, 158, 157]
LEFT_UPPER_LID = [388, 387, 386, 385, 384]
RIGHT_JOWL = [172, 136, 150]
LEFT_JOWL = [397, 365, 379]
RIGHT_CHEEKBONE = [50, 205, 123, 187]
LEFT_CHEEKBONE = [280, 425, 352, 411]
MOUTH_CORNERS = [61, 291]
STILL_POINTS = [1, 4, 5, 6, 168, 197, 195, 13, 14, 0, 17, 468, 473, 10, 151, 9]


def eye_centres(lm: F32) -> tuple[F32, F32]:
    """The subject's right and left eye centres (mean of each eye's contour)."""
    return lm[RIGHT_EYE].mean(axis=0), lm[LEFT_EYE].mean(axis=0)


def face_scale(lm: F32) -> float:
    """One face unit: about the distance between the eye centres of a frontal face.

    Taken from the face oval's area, which shrinks less than the eye distance when
    the head turns, so sizes tied to it stay steady through a head turn.
    """
    return math.sqrt(abs(polygon_area(lm[FACE_OVAL]))) / 2.27


def polygon_area(poly: F32) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def face_box(lm: F32, margin: float = 0.25) -> tuple[float, float, float, float]:
    """The face oval's bounding box, grown by ``margin`` of its size on every side."""
    pts = lm[FACE_OVAL]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    return float(x0 - mx), float(y0 - my), float(x1 + mx), float(y1 + my)


def up_vector(lm: F32) -> F32:
    """The face's own 'up' in the image (chin to forehead), so a lift follows a tilted head."""
    v = lm[10] - lm[152]
    n = float(np.hypot(*v)) or 1.0
    return np.asarray(v / n, np.float32)


class MaskPainter:
    """Paints region masks at a reduced resolution (masks are soft, so this costs nothing
    in quality) and returns them at full crop size."""

    def __init__(self, lm: F32, shape: tuple[int, int], scale: float, step: float) -> None:
        self.h, self.w = shape
        self.step = max(1, step)
        self.lm = lm / self.step
        self.scale = scale / self.step
        self.small = (math.ceil(self.h / self.step), math.ceil(self.w / self.step))

    def blank(self) -> NDArray[np.uint8]:
        return np.zeros(self.small, np.uint8)

    def fill(self, canvas: NDArray[np.uint8], idx: list[int], value: int = 255) -> None:
        cv2.fillPoly(canvas, [np.round(self.lm[idx] * 16).astype(np.int32)], value, cv2.LINE_AA, 4)

    def hull(self, canvas: NDArray[np.uint8], idx: list[int], value: int = 255) -> None:
        pts = cv2.convexHull(np.round(self.lm[idx] * 16).astype(np.int32))
        cv2.fillConvexPoly(canvas, pts, value, cv2.LINE_AA, 4)

    def line(
        self, canvas: NDArray[np.uint8], idx: list[int], width: float, value: int = 255
    ) -> None:
        t = max(1, round(width * self.scale))
        cv2.polylines(canvas, [np.round(self.lm[idx] * 16).astype(np.int32)], False, value, t,
                      cv2.LINE_AA, 4)  # fmt: skip

    def dot(self, canvas: NDArray[np.uint8], centre: F32, radius: float, value: int = 255) -> None:
        c = np.round(centre / self.step * 16).astype(np.int32)
        cv2.circle(canvas, (int(c[0]), int(c[1])), max(1, round(radius * self.scale * 16)), value,
                   -1, cv2.LINE_AA, 4)  # fmt: skip

    def grow(self, canvas: NDArray[np.uint8], amount: float) -> NDArray[np.uint8]:
        r = round(abs(amount) * self.scale)
        if r < 1:
            return canvas
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        grown = cv2.dilate(canvas, kernel) if amount > 0 else cv2.erode(canvas, kernel)
        return np.asarray(grown, np.uint8)

    def soft(self, canvas: NDArray[np.uint8], feather: float) -> F32:
        """Blur by ``feather`` face units; 0..1 at the painter's (reduced) size."""
        img = canvas.astype(np.float32) * np.float32(1.0 / 255.0)
        sigma = feather * self.scale
        if sigma > 0.3:
            img = np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), np.float32)
        return img


def face_masks(lm: F32, shape: tuple[int, int], scale: float, feather: float = 0.12,
               step: float = 1) -> dict[str, F32]:  # fmt: skip
    """Soft masks (0..1) for a face whose landmarks ``lm`` are in pixels of an image of
    ``shape``, painted at 1/``step`` of that size (ceil(h/step), ceil(w/step)).

    ``skin``: the face oval without eyes, brows, lips and nostrils, feathered by
    ``feather`` face units (the holes by half that). ``under_eye`` and ``cheek``:
    the under-eye areas to lift and the cheek skin they are lifted towards.
    """
    p = MaskPainter(lm, shape, scale, step)
    whole = p.blank()
    p.fill(whole, FACE_OVAL)
    # the oval's upper edge is the hairline and the ears: stay inside it; below the nose it
    # is the jaw: reach nearly to it, so the jowls and the folds that end there are treated
    # (the matte then snaps to the plate's own jaw line)
    up = up_vector(lm)
    sh, sw = whole.shape
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32) * np.float32(p.step)
    below = ((xx - lm[2, 0]) * up[0] + (yy - lm[2, 1]) * up[1]) < 0
    oval = np.where(below, p.grow(whole, -0.01), p.grow(whole, -0.06)).astype(np.uint8)
    holes = p.blank()
    for idx in (RIGHT_EYE, LEFT_EYE):
        p.fill(holes, idx)
    holes = p.grow(holes, 0.07)
    brows = p.blank()
    for idx in (RIGHT_BROW, LEFT_BROW):
        p.fill(brows, idx)
    lips = p.blank()
    p.fill(lips, LIPS)
    nose = p.blank()
    p.fill(nose, NOSTRILS)
    holes = np.maximum.reduce([holes, p.grow(brows, 0.05), p.grow(lips, 0.04), nose])
    # the holes' edges (eyes, brows, lips, nostrils) are drawn by the mesh itself: feathered half
    # as much as the outline, so the skin between them (the chin, the forehead) is treated whole
    masks = {"skin": np.asarray(p.soft(oval, feather) * (1.0 - p.soft(holes, 0.5 * feather)), np.float32)}

    inside = masks["skin"]
    under = p.blank()
    for idx in (RIGHT_UNDER_EYE, LEFT_UNDER_EYE):
        p.fill(under, idx)
    masks["under_eye"] = p.soft(cv2.subtract(under, holes), 0.08) * inside
    cheek = p.blank()
    for idx in (RIGHT_CHEEK, LEFT_CHEEK):
        p.fill(cheek, idx)
    masks["cheek"] = p.soft(cheek, 0.04) * inside
    wide = p.blank()
    for idx in (RIGHT_NASOLABIAL, LEFT_NASOLABIAL, RIGHT_MARIONETTE, LEFT_MARIONETTE, CHIN_CREASE, RIGHT_JOWL_LINE,
                LEFT_JOWL_LINE):  # fmt: skip
        p.line(wide, idx, 0.3)
    for idx in (RIGHT_UNDER_EYE, LEFT_UNDER_EYE):
        p.line(wide, idx[9:], 0.2)
    nose = p.blank()
    p.hull(nose, NOSE)
    not_nose = 1.0 - p.soft(nose, 0.08)
    wide_soft = p.soft(wide, 0.12)
    masks["valleys"] = (0.45 + 0.55 * wide_soft) * not_nose * inside
    masks["bulges"] = np.maximum(wide_soft, masks["under_eye"]) * not_nose * inside
    return masks

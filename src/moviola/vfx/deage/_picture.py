"""A frame as the footage stores it: RGB for images, YUV 4:2:0 planes for video.

De-aging changes a face and nothing else, so a video frame is never converted
to RGB and back as a whole: only the face region is, to be retouched, and the
change comes back as a difference through the source's own matrix (BT.709 or
BT.601, limited or full range). A pixel the edit does not touch keeps its exact
code values, and a 1080p frame costs two plane copies instead of two colour
conversions (each about as dear as decoding it, on a small CPU).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core._yuv import pack_planes, planes
from .._footage import Footage, YuvFormat, yuv_format
from ._retouch import RetouchPlan, apply_plan
from ._warp import apply_warp

__all__ = ["Picture", "YuvFormat", "as8", "from_display", "pictures", "to_display", "yuv_format"]

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
Frame = NDArray[Any]


def to_display(region: Frame) -> NDArray[np.float32]:
    """0..1 display-referred RGB; a linear EXR is given an sRGB-like curve (gamma 2.4)."""
    if region.dtype == np.uint8:
        return region.astype(np.float32) * np.float32(1 / 255)
    if region.dtype == np.uint16:
        return region.astype(np.float32) * np.float32(1 / 65535)
    return np.asarray(np.power(np.maximum(region, 0.0), np.float32(1 / 2.4)), np.float32)


def from_display(region: NDArray[np.float32], like: Frame) -> Frame:
    """Back to the storage type of ``like`` (the inverse of ``to_display``)."""
    if like.dtype == np.uint8:
        return np.asarray(np.clip(np.rint(region * 255.0), 0, 255), np.uint8)
    if like.dtype == np.uint16:
        return np.asarray(np.clip(np.rint(region * 65535.0), 0, 65535), np.uint16)
    return np.asarray(np.power(np.maximum(region, 0.0), np.float32(2.4)), np.float32)


def as8(img: Frame) -> NDArray[np.uint8]:
    """An 8-bit picture of a frame of any depth (for tracking, measuring, review)."""
    if img.dtype == np.uint8:
        return np.asarray(img, np.uint8)
    if img.dtype == np.uint16:
        return np.asarray(img >> 8, np.uint8)
    return np.asarray(from_display(to_display(img), np.zeros(0, np.uint8)), np.uint8)


def pictures(footage: Footage, start: int = 0) -> Iterator[tuple[int, Picture]]:
    """(index, picture) of the footage from frame ``start``: RGB for images, the decoder's own
    YUV 4:2:0 for video."""
    for index, stored in footage.frames(start):
        yield index, Picture(stored.data, stored.yuv, stored.height)


class Picture:
    """One frame; ``rgb`` pictures hold (h, w, 3), ``yuv`` ones a packed (h*3/2, w) I420 array."""

    def __init__(self, data: NDArray[Any], yuv: YuvFormat | None = None, height: int | None = None) -> None:
        self.data = data
        self.yuv = yuv
        if yuv is None:
            self.height, self.width = data.shape[:2]
        else:
            self.height = int(height if height is not None else data.shape[0] * 2 // 3)
            self.width = data.shape[1]

    # views -----------------------------------------------------------------------------
    def planes(self) -> tuple[U8, U8, U8]:
        """Writable views of Y (h, w), U and V (h/2, w/2)."""
        return planes(self.data, self.height)

    def gray(self) -> U8:
        if self.yuv is not None:
            return self.planes()[0]
        return np.asarray(cv2.cvtColor(as8(self.data), cv2.COLOR_RGB2GRAY), np.uint8)

    def rgb8(self, box: tuple[int, int, int, int] | None = None, size: tuple[int, int] | None = None) -> U8:
        """8-bit RGB of the frame or of ``box`` (x0, y0, x1, y1; for video, a box from
        ``even_box``), scaled to ``size`` (w, h) if given. Video goes through swscale
        with the source's matrix and range: converting and scaling a region in one step."""
        if self.yuv is None:
            img = as8(self.data if box is None else self.data[box[1] : box[3], box[0] : box[2]])
            if size is not None and (img.shape[1], img.shape[0]) != size:
                img = np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), np.uint8)
            return img
        from av import VideoFrame
        from av.video.reformatter import ColorRange, Colorspace

        x0, y0, x1, y1 = self._even(box)
        frame = VideoFrame.from_ndarray(self._packed((x0, y0, x1, y1)), format="yuv420p")
        w, h = size if size is not None else (x1 - x0, y1 - y0)
        out = frame.reformat(width=w, height=h, format="rgb24", threads=1,
                             src_colorspace=Colorspace.ITU709 if self.yuv.matrix == "bt709" else Colorspace.ITU601,
                             src_color_range=ColorRange.JPEG if self.yuv.full_range else ColorRange.MPEG)  # fmt: skip
        return np.asarray(out.to_ndarray(), np.uint8)

    def _packed(self, box: tuple[int, int, int, int]) -> U8:
        """A region as its own packed I420 array (the layout PyAV reads)."""
        x0, y0, x1, y1 = box
        if box == (0, 0, self.width, self.height):
            return np.asarray(self.data, np.uint8)
        y, u, v = self.planes()
        cs = np.s_[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2]
        return pack_planes(y[y0:y1, x0:x1], u[cs], v[cs])

    def _even(self, box: tuple[int, int, int, int] | None) -> tuple[int, int, int, int]:
        """Even edges: a region of 4:2:0 planes."""
        if box is None:
            return 0, 0, self.width, self.height
        x0, y0, x1, y1 = box
        return x0 // 2 * 2, y0 // 2 * 2, min(self.width, (x1 + 1) // 2 * 2), min(self.height, (y1 + 1) // 2 * 2)

    def even_box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """``box`` grown to what the picture can change on its own (even edges for 4:2:0)."""
        return self._even(box) if self.yuv is not None else box

    def display(self, box: tuple[int, int, int, int]) -> NDArray[Any]:
        """The region as the retouch should take it: 8-bit RGB, or display floats."""
        if self.yuv is not None or self.data.dtype == np.uint8:
            return self.rgb8(box)
        x0, y0, x1, y1 = box
        return to_display(self.data[y0:y1, x0:x1])

    # edits -----------------------------------------------------------------------------
    def copy(self) -> Picture:
        return Picture(self.data.copy(), self.yuv, self.height)

    def retouched(self, box: tuple[int, int, int, int], plan: RetouchPlan, weight: float = 1.0) -> Picture:
        """A copy with ``plan`` applied to the region ``box`` (from ``even_box``), ``weight`` of it.

        Video: the tonal change goes into Y'CbCr through the source's matrix at the
        work size, then each plane is changed and warped at its own size. Where the
        plan changes nothing the stored values stay exactly as they were."""
        x0, y0, x1, y1 = box
        out = self.copy()
        if self.yuv is None:
            region = out.data[y0:y1, x0:x1]
            done = apply_plan(to_display(region), plan, weight)
            out.data[y0:y1, x0:x1] = from_display(done, region)
            return out
        matrix, _ = self.yuv.forward()
        d = np.asarray(cv2.transform(plan.delta, matrix), np.float32) * np.float32(weight)  # code values
        y, u, v = out.planes()
        w, h = x1 - x0, y1 - y0
        field = plan.field.scaled(weight) if plan.field is not None else None
        # warp the stored 8-bit values, then add the (smooth) tonal change with one
        # saturating, rounding add: warp(x + d) and warp(x) + d differ by nothing visible.
        # The sums are made in place: the same float operations, without a temporary each
        ry = y[y0:y1, x0:x1]
        moved = apply_warp(ry, field) if field is not None else ry
        dy = _up(d[..., 0], w, h)
        if plan.fine is not None:  # neutral grey: brightness only, in code values
            fine = _up(plan.fine, w, h)
            fine *= np.float32(matrix[0].sum() * weight)
            dy += fine
        gain: F32 | None = None
        if plan.gain is not None:  # the hair's brightness gain, about black
            gain = np.float32(1.0) + (plan.gain - np.float32(1.0)) * np.float32(weight)
            dy += _about(moved, np.float32(0 if self.yuv.full_range else 16), _up(gain, w, h))
        ry[:] = cv2.add(moved, dy, dtype=cv2.CV_8U)
        cs = np.s_[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2]
        uv = cv2.merge([u[cs], v[cs]])
        if field is not None:
            uv = apply_warp(uv, field.half())
        duv = _up(d[..., 1:], w // 2, h // 2)
        if gain is not None:  # colour scales with brightness, as it does in RGB
            duv += _about(uv, np.float32(128), _up(gain, w // 2, h // 2)[..., None])
        uv = cv2.add(uv, duv, dtype=cv2.CV_8U)
        u[cs], v[cs] = uv[..., 0], uv[..., 1]
        return out

    def resized(self, w: int, h: int) -> Picture:
        """A scaled copy (w, h even for video): linear filtering, fine for review and preview."""
        if self.yuv is None:
            return Picture(np.asarray(cv2.resize(self.data, (w, h), interpolation=cv2.INTER_AREA)))
        y, u, v = self.planes()
        out = pack_planes(cv2.resize(y, (w, h), interpolation=cv2.INTER_LINEAR),
                          cv2.resize(u, (w // 2, h // 2), interpolation=cv2.INTER_LINEAR),
                          cv2.resize(v, (w // 2, h // 2), interpolation=cv2.INTER_LINEAR))  # fmt: skip
        return Picture(out, self.yuv, h)

    def draw_divider(self, x: int, labels: list[tuple[str, tuple[int, int]]], size: float) -> None:
        """A white line at ``x`` and white labels with a dark edge, in place (neutral in any format)."""
        thick, thin = max(2, int(4 * size)), max(1, int(1.5 * size))
        if self.yuv is None:
            self.data[:, max(0, x - 1) : x + 1] = 255
            for text, org in labels:
                cv2.putText(self.data, text, org, cv2.FONT_HERSHEY_DUPLEX, 0.9 * size, (0, 0, 0), thick, cv2.LINE_AA)
                cv2.putText(self.data, text, org, cv2.FONT_HERSHEY_DUPLEX, 0.9 * size, (255, 255, 255), thin,
                            cv2.LINE_AA)  # fmt: skip
            return
        y, u, v = self.planes()
        lo, hi = (0, 255) if self.yuv.full_range else (16, 235)
        mask = np.zeros_like(y)
        mask[:, max(0, x - 1) : x + 1] = 255
        y[:, max(0, x - 1) : x + 1] = hi
        for text, org in labels:
            cv2.putText(y, text, org, cv2.FONT_HERSHEY_DUPLEX, 0.9 * size, lo, thick, cv2.LINE_AA)
            cv2.putText(y, text, org, cv2.FONT_HERSHEY_DUPLEX, 0.9 * size, hi, thin, cv2.LINE_AA)
            cv2.putText(mask, text, org, cv2.FONT_HERSHEY_DUPLEX, 0.9 * size, 255, thick, cv2.LINE_AA)
        grey = cv2.resize(mask, (u.shape[1], u.shape[0]), interpolation=cv2.INTER_AREA) > 0
        u[grey] = 128
        v[grey] = 128

    def to_rgb_frame(self) -> NDArray[Any]:
        """The whole frame as stored RGB (8/16-bit or float) for writing frame files."""
        if self.yuv is None:
            return self.data
        return self.rgb8()


def _up(img: F32, w: int, h: int) -> F32:
    return np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def _about(values: NDArray[np.uint8], pivot: np.float32, gain: F32) -> F32:
    """(values - pivot) * (gain - 1): what a gain about ``pivot`` adds; ``gain`` is used up."""
    out = values.astype(np.float32)
    out -= pivot
    gain -= np.float32(1.0)
    out *= gain
    return out

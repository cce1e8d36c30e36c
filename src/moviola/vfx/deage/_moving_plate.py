"""A moving test plate made from one real photo: a camera move, a head move, live grain.

For trying de-aging on motion when no real footage is at hand (and for its tests
and benchmark): the photo is framed in a wider shot over a soft fill made from
itself, the camera pushes in, drifts and rolls a little, the head nods and turns
slightly against the body, and every frame gets fresh sensor grain, as real
footage does. Written as H.264 (BT.709) with PyAV.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core import InputError
from ...core._media import X264_FAST, atomic_movie, encode_frame, finish_movie, open_h264
from ...provenance import Claim, Credentials, Ingredient, credentials_for

U8 = NDArray[np.uint8]


def moving_frames(photo: U8, width: int, height: int, frames: int, fps: float, seed: int = 7,
                  head: tuple[float, float] | None = None) -> Iterator[U8]:  # fmt: skip
    """The frames (RGB, 8-bit), one at a time. ``head`` is the face's centre in the photo
    (x, y), 0..1."""
    ph, pw = photo.shape[:2]
    fill_scale = max(width / pw, height / ph)
    fill = cv2.resize(photo, (math.ceil(pw * fill_scale), math.ceil(ph * fill_scale)), interpolation=cv2.INTER_AREA)
    fy, fx = (fill.shape[0] - height) // 2, (fill.shape[1] - width) // 2
    fill = cv2.GaussianBlur(fill[fy : fy + height, fx : fx + width], (0, 0), height / 40) * 0.55
    scale = 0.96 * height / ph
    hx, hy = head if head is not None else (0.5, 0.4)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(frames):
        t = i / fps
        zoom = scale * (1.0 + 0.10 * min(1.0, t / 5.0))  # push in
        angle = 1.5 * math.sin(2 * math.pi * t / 4.0)  # a little roll
        cx = width / 2 + 0.03 * width * math.sin(2 * math.pi * t / 5.0)  # drift
        cy = height / 2 + 0.01 * height * math.sin(2 * math.pi * t / 3.0)
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, zoom)
        m[:, 2] += (cx - pw / 2, cy - ph / 2)
        img = cv2.warpAffine(photo.astype(np.float32), m, (width, height), flags=cv2.INTER_CUBIC,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(-1, -1, -1))  # fmt: skip
        # the head nods and turns against the body: a soft local shift around the face
        hxy = m @ np.array([hx * pw, hy * ph, 1.0])
        radius = 0.22 * ph * zoom
        fall = np.exp(-((xx - hxy[0]) ** 2 + (yy - hxy[1]) ** 2) / (2 * radius * radius))
        dx = 0.025 * radius * math.sin(2 * math.pi * t / 3.0) * fall
        dy = 0.03 * radius * math.sin(2 * math.pi * t / 2.0) * fall
        img = cv2.remap(img, (xx - dx).astype(np.float32), (yy - dy).astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        inside = img[..., :1] >= 0
        img = np.where(inside, img, fill)
        img = img + rng.normal(0.0, 2.0, img.shape).astype(np.float32)  # live grain
        yield np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_moving_plate(photo_path: Path, out: Path, *, width: int = 1920, height: int = 1080,
                      seconds: float = 5.0, fps: float = 24.0, seed: int = 7,
                      head: tuple[float, float] | None = None,
                      credentials: Credentials | None = None) -> Path:  # fmt: skip
    """Write the moving plate as an MP4 and return its path, signed as a procedural edit
    of the photo (a test plate must never pass for camera footage)."""
    data = np.fromfile(photo_path, np.uint8) if Path(photo_path).is_file() else np.zeros(0, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise InputError("not a readable photo", photo_path)
    photo = np.ascontiguousarray(bgr[..., ::-1])
    count = max(1, round(seconds * fps))
    frames = moving_frames(photo, width, height, count, fps, seed, head)

    def write(tmp: Path) -> None:
        container, stream = open_h264(tmp, fps, width, height, {**X264_FAST, "crf": "16", "preset": "veryfast"})
        for i, f in enumerate(frames):
            encode_frame(container, stream, f, i)
        finish_movie(container, stream)

    claim = Claim(f"moving test plate made from {Path(photo_path).name} (camera and head moves, grain)",
                  command="moviola vfx moving-plate", parent=Ingredient(Path(photo_path), "photo", "parentOf"),
                  details={"seconds": seconds, "fps": fps, "seed": seed})  # fmt: skip
    return atomic_movie(Path(out), write, (credentials or credentials_for(None)).finisher(Path(out), claim))

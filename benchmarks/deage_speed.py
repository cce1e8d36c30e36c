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

And, on one decoded 1080p frame, what each OpenEXR codec costs to write and to sign
(the table ``_frames.CODEC`` was chosen from).

Printed: frames per second end to end (report.json's ``fps``: decode to the last frame
written, less the one-off intensity calibration, which ``stages`` shows),
per-stage seconds (summed over the three threads, so they overlap), the quality figures,
and the core count. Anchors from the issue: open-source face tools about 1 frame/s on a
CPU, a studio neural de-ager about 5 s a frame.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
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
    """Milliseconds to write one 1080p frame with each codec, and to sign it; its size."""
    from moviola.provenance import Claim, Ingredient, credentials_for
    from moviola.vfx.deage._frames import write_frame
    from moviola.vfx.deage._picture import pictures

    _, pic = next(pictures(open_footage(plate)))
    rgb = pic.to_rgb_frame()
    cred = credentials_for(None)
    claim = Claim("benchmark frame", command="benchmark", parent=Ingredient(plate, "plate", "parentOf"))
    print("frame codecs (one 1080p frame, linear half float; ms to write / ms with its signature; MB):")
    for codec in ("NO", "RLE", "PIZ", "ZIPS", "ZIP", "HTJ2K32", "B44A", "DWAA"):
        times = []
        for signed in (False, True):
            t = time.perf_counter()
            for i in range(3):
                path = work / f"codec-{codec}-{int(signed)}-{i}.exr"
                write_frame(path, rgb, "exr", {}, 24.0, cred.finisher(path, claim) if signed else None, codec=codec)
            times.append((time.perf_counter() - t) / 3 * 1000)
        lossy = " (lossy)" if codec in ("B44A", "DWAA") else ""
        print(f"  {codec:<8} {times[0]:6.1f} / {times[1]:6.1f} ms  {path.stat().st_size / 1e6:5.2f} MB{lossy}")
    t = time.perf_counter()
    for i in range(3):
        path = work / f"codec-png-{i}.png"
        write_frame(path, rgb, "png", {}, 24.0, cred.finisher(path, claim))
    print(f"  PNG 8-bit        / {(time.perf_counter() - t) / 3 * 1000:6.1f} ms  {path.stat().st_size / 1e6:5.2f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--plate", type=Path, help="Your own 1080p video instead of the generated one.")
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
        print(f"machine: {cores} cores; x264 {X264_FAST['preset']}/{X264_TREATED['preset']}")
        codecs(plate, work)
        base = [transcode(plate, work / "baseline.mp4") for _ in range(args.runs)]
        print(f"baseline  decode + encode only           {statistics.median(base):6.1f} fps  (runs {', '.join(f'{v:.1f}' for v in base)})")
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
                  f"{r['frames']} frames, render {r['render_s']:.2f} s, wall with quality report {r['wall_s']:.1f} s)")  # fmt: skip
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

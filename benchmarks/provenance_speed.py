"""What Content Credentials cost: signing and verifying each kind of file Moviola writes.

For a 1920x1080 PNG (a storyboard panel), JPEG (a poster), half-float RGBA EXR with a
sidecar (a collapse layer) and a 5 s H.264 movie (a review), the time to write it
plain (the baseline, in the same process) and signed, and the time to verify it;
then 120 EXR frames signed on 1, 2 and 4 threads (c2pa releases the GIL).

    .venv/bin/python benchmarks/provenance_speed.py
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from moviola import provenance as pv
from moviola.core import write_bytes_atomic
from moviola.core._image_io import write_exr
from moviola.core._media import atomic_movie, encode_frame, finish_movie, open_h264


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def picture() -> np.ndarray:
    """A plate-like picture: smooth gradients and some texture (not noise, which no codec
    compresses and no real frame resembles)."""
    y, x = np.mgrid[0:1080, 0:1920].astype(np.float32)
    rng = np.random.default_rng(0)
    tex = rng.normal(0, 6, (1080, 1920)).astype(np.float32)
    rgb = np.stack([x / 1920 * 200 + tex, y / 1080 * 180 + tex, 90 + 40 * np.sin(x / 60) + tex], -1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def main() -> None:
    os.environ.setdefault("MOVIOLA_CONFIG", tempfile.mkdtemp(prefix="moviola-bench-config-"))
    creds = pv.credentials_for(None)
    claim = pv.Claim("benchmark frame", command="benchmark")
    rgb = picture()
    folder = Path(tempfile.mkdtemp(prefix="moviola-bench-"))
    print(f"cores: {len(os.sched_getaffinity(0))}; c2pa signing with {creds.identity.alg}, no thumbnails, "
          f"no time-stamp; files in {folder}")
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, "PNG", compress_level=2)
    jpg = io.BytesIO()
    Image.fromarray(rgb).save(jpg, "JPEG", quality=90)
    rgba = np.concatenate([rgb.astype(np.float32) / 255, np.ones((1080, 1920, 1), np.float32)], -1)

    def exr(path: Path, finish: Callable[[Path], None] | None) -> None:
        write_exr(path, {"RGBA": rgba}, half=True, finish=finish)

    def movie(path: Path, finish: Callable[[Path], None] | None) -> None:
        def write(tmp: Path) -> None:
            c, s = open_h264(tmp, 24, 1920, 1080)
            for i in range(120):
                encode_frame(c, s, np.roll(rgb, 8 * i, axis=1), i)
            finish_movie(c, s)

        atomic_movie(path, write, finish)

    rows = [
        ("PNG 1080p", folder / "p.png", lambda p: write_bytes_atomic(p, png.getvalue()),
         lambda p: creds.write_bytes(p, png.getvalue(), claim)),
        ("JPEG 1080p", folder / "j.jpg", lambda p: write_bytes_atomic(p, jpg.getvalue()),
         lambda p: creds.write_bytes(p, jpg.getvalue(), claim)),
        ("EXR half RGBA", folder / "e.exr", lambda p: exr(p, None), lambda p: exr(p, creds.finisher(p, claim))),
        ("MP4 120 frames", folder / "m.mp4", lambda p: movie(p, None), lambda p: movie(p, creds.finisher(p, claim))),
    ]  # fmt: skip
    for name, path, plain, signed in rows:
        repeat = 1 if "MP4" in name else 5
        t_plain = timed(lambda pl=plain, pa=path: pl(pa), repeat)
        t_signed = timed(lambda si=signed, pa=path: si(pa), repeat)
        t_verify = timed(lambda pa=path: pv.verify(pa), repeat)
        size = path.stat().st_size
        print(f"{name:<15} write {t_plain * 1000:7.1f} ms, signed {t_signed * 1000:7.1f} ms "
              f"(+{(t_signed - t_plain) * 1000:5.1f} ms), verify {t_verify * 1000:6.1f} ms; {size / 1e6:.1f} MB")

    frames = [folder / f"f.{1001 + i}.exr" for i in range(120)]
    for f in frames:
        exr(f, None)
    for threads in (1, 2, 4):
        t = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda f: creds.sign_existing(f, claim.with_details(frame=int(f.suffixes[0][1:]))), frames))
        dt = time.perf_counter() - t
        print(f"120 EXR frames signed (sidecars) on {threads} thread(s): {dt:.2f} s, {dt / 120 * 1000:.1f} ms a frame")


if __name__ == "__main__":
    main()

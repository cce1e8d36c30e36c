"""Scratch dialogue for the animatic: each character's lines spoken by espeak-ng.

An animatic cut without dialogue is hard to judge, and a robot voice is enough
to feel a scene's rhythm. Every character gets a voice of its own, chosen from a
hash of the name so it stays the same from one run (and one draft) to the next;
each line is synthesized, made to fit the time the edit gives it, and mixed at
its place on the timeline. Without espeak-ng the track is silent and says why.

espeak-ng runs as a subprocess (text on stdin, never a shell), a few at a time,
and each synthesized line can be cached as float32 samples keyed by everything
that shapes the sound, the espeak-ng version included.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import wave
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from ..core import DependencyError, InputError, write_bytes_atomic

FloatArray = npt.NDArray[np.float32]

DEBIAN_PACKAGE: Final = "espeak-ng"
MAX_SPEED_WPM: Final = 260  # faster than this stops being words
FIT_TOLERANCE_S: Final = 0.1  # a line may run this far past its window before we act
TARGET_RMS_DBFS: Final = -16.0  # level of speech (active frames only)
EDGE_FADE_S: Final = 0.005  # against clicks at a clip's ends
CUT_FADE_S: Final = 0.03  # a truncated line fades out instead of stopping dead
LIMIT_THRESHOLD: Final = 0.8  # the soft limiter is transparent below this
FULL_SCALE: Final = 32767 / 32768  # the largest 16-bit PCM sample: the mix never passes it
PEAK_CEILING: Final = 1.25  # a line's rare peaks may pass full scale: the limiter rounds them
SYNTH_TIMEOUT_S: Final = 60.0
_CACHE_FORMAT: Final = "moviola.scratch/1"

# Voice table. The first tier was chosen by farthest-point selection over every
# en-us/en variant (m1-m7, f1-f5) at -p 20..80, measured with espeak-ng 1.51 on
# three sentences: median F0 by autocorrelation, and spectral centroid (brightness).
# Any two voices of one gender differ by >= 10 % in F0 or >= 4.6 % in centroid, and
# each is far from those before it, so probing past a taken slot lands on a
# different-sounding voice. The second tier (more accents, every variant and pitch)
# is only for casts beyond it. "en" is British English: espeak-ng 1.51 silently
# drops the variant of "en-gb+f2", so that spelling must not be used.
_MALE_VOICES: Final = (
    ("en+m5", 50),  # 98 Hz, centroid 1910 Hz
    ("en-us+m7", 80),  # 137 Hz, 1521 Hz
    ("en-us+m7", 30),  # 90 Hz, 1563 Hz
    ("en-us+m2", 80),  # 140 Hz, 2075 Hz
    ("en-us+m2", 20),  # 71 Hz, 2059 Hz
    ("en+m1", 80),  # 125 Hz, 1765 Hz
    ("en+m1", 25),  # 77 Hz, 1804 Hz
    ("en+m7", 60),  # 112 Hz, 1536 Hz
    ("en-us+m4", 80),  # 122 Hz, 1937 Hz
    ("en+m1", 50),  # 93 Hz, 1752 Hz
    ("en-us+m5", 30),  # 82 Hz, 1954 Hz
    ("en-us+m6", 60),  # 109 Hz, 1811 Hz
    ("en+m2", 60),  # 110 Hz, 2018 Hz
    ("en+m3", 80),  # 138 Hz, 1915 Hz
    ("en-us+m2", 45),  # 93 Hz, 2013 Hz
    ("en+m4", 70),  # 110 Hz, 1909 Hz
)
_FEMALE_VOICES: Final = (
    ("en-us+f2", 50),  # 188 Hz, 1993 Hz
    ("en-us+f5", 75),  # 262 Hz, 2575 Hz
    ("en-us+f5", 25),  # 155 Hz, 2386 Hz
    ("en+f3", 75),  # 256 Hz, 2171 Hz
    ("en+f4", 30),  # 141 Hz, 1916 Hz
    ("en+f5", 55),  # 210 Hz, 2372 Hz
    ("en+f1", 75),  # 230 Hz, 1935 Hz
    ("en-us+f1", 45),  # 166 Hz, 1882 Hz
    ("en-us+f3", 60),  # 220 Hz, 2110 Hz
    ("en+f3", 25),  # 165 Hz, 2071 Hz
    ("en+f5", 40),  # 179 Hz, 2349 Hz
    ("en-us+f5", 65),  # 235 Hz, 2485 Hz
    ("en-us+f2", 25),  # 150 Hz, 2011 Hz
    ("en+f1", 60),  # 195 Hz, 1893 Hz
    ("en+f2", 75),  # 242 Hz, 2055 Hz
    ("en+f2", 60),  # 208 Hz, 1994 Hz
)
_TIER2_ACCENTS: Final = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029")
_TIER2_MALE: Final = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
_TIER2_FEMALE: Final = ("f1", "f2", "f3", "f4", "f5")
_TIER2_PITCHES: Final = tuple(range(20, 81, 5))
_SPEEDS_WPM: Final = (155, 165, 175, 185)  # screen dialogue is about 150 wpm


@dataclass(frozen=True)
class ScratchLine:
    """One line of dialogue placed on the movie's timeline."""

    start_s: float  # where it starts on the timeline
    duration_s: float  # the time the edit allows it; longer speech is sped up, then cut
    character: str
    text: str


@dataclass(frozen=True)
class Voice:
    """How espeak-ng speaks one character: ``-v espeak_voice -p pitch -s speed_wpm``."""

    character: str  # the canonical name (upper case, no extensions such as (V.O.))
    espeak_voice: str  # language + variant, e.g. "en-us+m3"
    pitch: int  # espeak-ng -p, 0..99
    speed_wpm: int  # espeak-ng -s before any speed-up to fit a line
    gender: str  # "m" or "f": the variant family


@dataclass
class ScratchTrack:
    """The mixed dialogue: mono float32 in -1..1, and why it is silent if it is."""

    samples: FloatArray
    sample_rate: int
    voices: dict[str, Voice]
    notice: str | None
    spoken: int = 0  # lines synthesized
    sped_up: int = 0  # lines re-synthesized faster to fit their window
    truncated: int = 0  # lines that still did not fit and were cut with a fade
    cache_hits: int = 0  # syntheses read from the cache


# --------------------------------------------------------------------------- voices


@dataclass(frozen=True)
class _Slot:
    accent: str
    variant: str
    pitch: int
    gender: str

    @property
    def key(self) -> tuple[str, int]:
        return (f"{self.accent}+{self.variant}", self.pitch)


def _tier1(gender: str) -> list[_Slot]:
    table = _MALE_VOICES if gender == "m" else _FEMALE_VOICES
    slots = []
    for voice, pitch in table:
        accent, variant = voice.split("+")
        slots.append(_Slot(accent, variant, pitch, gender))
    return slots


def _tier2(gender: str) -> list[_Slot]:
    variants = _TIER2_MALE if gender == "m" else _TIER2_FEMALE
    return [
        _Slot(accent, variant, pitch, gender)
        for pitch in _TIER2_PITCHES
        for variant in variants
        for accent in _TIER2_ACCENTS
    ]


_TIERS: Final = {
    family: (
        [s for g in family for s in _tier1(g)],
        [s for g in family for s in _tier2(g)],
    )
    for family in ("m", "f", "mf")
}

_EXTENSION = re.compile(r"\(.*?\)|\[\[.*?\]\]")


def canonical_character(name: str) -> str:
    """The name a voice is keyed by: upper case, without (V.O.)-style extensions."""
    bare = _EXTENSION.sub(" ", name).replace("^", " ").strip().lstrip("@")
    bare = " ".join(bare.split()).upper()
    return bare or " ".join(name.split()).upper()


def _digest(canonical: str) -> bytes:
    return hashlib.sha256(f"{_CACHE_FORMAT}:voice:{canonical}".encode()).digest()


def _gender_hint(value: str | None) -> str:
    hint = (value or "").strip().lower()[:1]
    return {"f": "f", "w": "f", "m": "m"}.get(hint, "mf")


def assign_voices(
    characters: Sequence[str], genders: Mapping[str, str] | None = None
) -> dict[str, Voice]:
    """Give every character its own voice, the same on every run.

    Each name hashes to a preferred slot of its family (male, female, or both
    without a hint); a taken slot passes to the next free one. Names are
    settled in hash order, not list order, so the result does not depend on
    how the cast is listed, and no two characters share (voice, pitch).
    The result is keyed by the names as given; spellings with the same
    canonical name (``OFELIA`` and ``Ofelia (V.O.)``) share one voice.
    """
    hints = {canonical_character(k): _gender_hint(v) for k, v in (genders or {}).items()}
    canon = {name: canonical_character(name) for name in characters}
    order = sorted(set(canon.values()), key=lambda c: (_digest(c), c))
    taken: set[tuple[str, int]] = set()
    by_canon: dict[str, Voice] = {}
    for name in order:
        digest = _digest(name)
        h = int.from_bytes(digest[:8], "big")
        slot = None
        for tier in _TIERS[hints.get(name, "mf")]:
            start = h % len(tier)
            slot = next(
                (s for s in tier[start:] + tier[:start] if s.key not in taken),
                None,
            )
            if slot is not None:
                break
        if slot is None:
            raise InputError(f"too many characters ({len(order)}) for distinct scratch voices")
        taken.add(slot.key)
        speed = _SPEEDS_WPM[int.from_bytes(digest[8:12], "big") % len(_SPEEDS_WPM)]
        by_canon[name] = Voice(name, slot.key[0], slot.pitch, speed, slot.gender)
    return {name: by_canon[canon[name]] for name in characters}


# --------------------------------------------------------------------------- espeak-ng


def find_espeak() -> str | None:
    """The espeak-ng executable on PATH, or None when it is not installed."""
    return shutil.which("espeak-ng")


@lru_cache(maxsize=8)
def _espeak_version(exe: str) -> str:
    """The first line of ``espeak-ng --version``: part of every cache key."""
    try:
        done = subprocess.run(
            [exe, "--version"], capture_output=True, timeout=SYNTH_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DependencyError(f"cannot run espeak-ng: {exc}", exe) from exc
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        raise DependencyError(
            f"espeak-ng --version failed (exit {done.returncode}); "
            f"reinstall it (apt-get install {DEBIAN_PACKAGE})",
            exe,
        )
    return lines[0].strip()


_NOTES = re.compile(r"\[\[.*?\]\]|/\*.*?\*/|\(.*?\)", re.DOTALL)
_STRAY = re.compile(r"[\[\]()*_~{}<>]")  # "[[" would switch espeak-ng to phoneme input
_WORDY = re.compile(r"\w")


def clean_text(text: str) -> str:
    """The words to speak: notes, parentheticals and markup removed, one line."""
    return " ".join(_STRAY.sub(" ", _NOTES.sub(" ", text)).split())


def _read_wav(path: Path, exe: str) -> tuple[FloatArray, int]:
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise DependencyError(f"espeak-ng wrote an unreadable WAV: {exc}", exe) from exc
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 4:
        data = (np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    else:
        raise DependencyError(f"espeak-ng wrote {8 * width}-bit samples, not supported", exe)
    if channels > 1:
        data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
    return data.astype(np.float32), rate


def _resample(x: FloatArray, rate_in: int, rate_out: int) -> FloatArray:
    """Band-limited resampling in the frequency domain.

    The clip is zero-padded to a length whose FFT, and that of its resampled
    length, factor into small primes: a prime-sized FFT is many times slower.
    Rates whose ratio does not reduce to small factors fall back to linear
    interpolation.
    """
    if rate_in == rate_out or len(x) == 0:
        return x.astype(np.float32)
    n_out = round(len(x) * rate_out / rate_in)
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    if not (_smooth(up) and _smooth(down)):
        t = np.arange(n_out) * (rate_in / rate_out)
        linear: FloatArray = np.interp(t, np.arange(len(x)), x).astype(np.float32)
        return linear
    m = _smooth_at_least(-(-len(x) // down))
    spectrum = np.fft.rfft(x.astype(np.float64), m * down)
    out = np.zeros(m * up // 2 + 1, np.complex128)
    keep = min(len(spectrum), len(out))
    out[:keep] = spectrum[:keep]
    if up < down and (m * up) % 2 == 0:
        out[-1] = out[-1].real  # the new Nyquist bin of a real signal is real
    y = np.fft.irfft(out, m * up)[:n_out] * (up / down)
    return y.astype(np.float32)


def _smooth(n: int) -> bool:
    """True when ``n`` has no prime factor above 7 (a fast FFT length)."""
    for p in (2, 3, 5, 7):
        while n % p == 0:
            n //= p
    return n == 1


def _smooth_at_least(n: int) -> int:
    """The smallest 2**a * 3**b * 5**c >= n."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p235 = p35
            while p235 < n:
                p235 *= 2
            best = min(best, p235)
            p35 *= 3
        p5 *= 5
    return best


def _trim(x: FloatArray, rate: int) -> FloatArray:
    """Drop espeak-ng's leading and trailing silence (keeping 10 ms), so a line starts on time."""
    if len(x) == 0:
        return x
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        return x[:0]
    loud = np.flatnonzero(np.abs(x) > peak * 0.01)  # -40 dB from the peak
    margin = int(0.01 * rate)
    return x[max(0, int(loud[0]) - margin) : int(loud[-1]) + 1 + margin]


# --------------------------------------------------------------------------- one line


@dataclass(frozen=True)
class _Job:
    index: int
    line: ScratchLine
    text: str
    voice: Voice


@dataclass
class _Spoken:
    samples: FloatArray
    sped_up: bool = False
    truncated: bool = False
    cache_hits: int = 0


@dataclass
class _Synth:
    exe: str
    version: str
    rate: int
    cache_dir: Path | None
    workdir: Path

    def cache_path(self, voice: Voice, speed: int, text: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = json.dumps(
            [_CACHE_FORMAT, self.version, voice.espeak_voice, voice.pitch, speed, text, self.rate],
            ensure_ascii=False,
        )
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.npy"

    def speak(self, job: _Job, speed: int) -> tuple[FloatArray, bool]:
        """Samples at ``rate`` for the job's text at ``speed``; True when from the cache."""
        cached = self.cache_path(job.voice, speed, job.text)
        if cached is not None:
            hit = _load_cached(cached)
            if hit is not None:
                return hit, True
        wav = self.workdir / f"line-{job.index}-{speed}.wav"
        argv = [self.exe, "-b", "1", "-v", job.voice.espeak_voice, "-p", str(job.voice.pitch)]
        argv += ["-s", str(speed), "-w", str(wav), "--stdin"]
        what = f"{job.line.character}'s line at {job.line.start_s:.2f} s ({_excerpt(job.text)})"
        try:
            done = subprocess.run(
                argv,
                input=job.text.encode("utf-8"),
                capture_output=True,
                timeout=SYNTH_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DependencyError(f"espeak-ng failed on {what}: {exc}", self.exe) from exc
        if done.returncode != 0 or not wav.exists():
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise DependencyError(
                f"espeak-ng failed on {what} with voice {job.voice.espeak_voice}: "
                f"exit {done.returncode}" + (f": {err[-1]}" if err else ""),
                self.exe,
            )
        data, rate = _read_wav(wav, self.exe)
        wav.unlink()
        samples = _resample(_trim(data, rate), rate, self.rate)
        if cached is not None:
            buf = io.BytesIO()
            np.save(buf, samples, allow_pickle=False)
            write_bytes_atomic(cached, buf.getvalue())
        return samples, False

    def line(self, job: _Job) -> _Spoken:
        """Synthesize one line, fit it to its window, fade and level it."""
        speed = job.voice.speed_wpm
        samples, hit = self.speak(job, speed)
        result = _Spoken(samples, cache_hits=int(hit))
        allowed = max(job.line.duration_s, 0.0) + FIT_TOLERANCE_S
        for _ in range(2):  # speech rate is not quite proportional to -s: aim twice
            length = len(result.samples) / self.rate
            if length <= allowed or speed >= MAX_SPEED_WPM:
                break
            wanted = speed * length / max(job.line.duration_s, 0.05) * 1.05
            speed = min(MAX_SPEED_WPM, max(speed + 5, math.ceil(wanted)))
            result.samples, hit = self.speak(job, speed)
            result.sped_up = True
            result.cache_hits += int(hit)
        limit = round(allowed * self.rate)
        out = result.samples.copy()
        if len(out) > limit:
            out = out[:limit]
            _fade(out, self.rate, CUT_FADE_S, fade_in=False)
            result.truncated = True
        result.samples = _level(out, self.rate)
        _fade(result.samples, self.rate, EDGE_FADE_S, fade_in=True)
        _fade(result.samples, self.rate, EDGE_FADE_S, fade_in=False)
        return result


def _excerpt(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


# np.load parses its header with ast.literal_eval, which CPython 3.11 can fail on two threads
# at once ("SystemError: AST constructor recursion depth mismatch"): the voices load one at a time
_NPY_HEADER = threading.Lock()


def _load_cached(path: Path) -> FloatArray | None:
    """The cached samples, or None when missing or damaged (then they are re-made)."""
    try:
        with _NPY_HEADER:
            data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(data, np.ndarray) or data.dtype != np.float32 or data.ndim != 1:
        return None
    if not np.all(np.isfinite(data)):
        return None
    samples: FloatArray = data
    return samples


def _fade(x: FloatArray, rate: int, seconds: float, *, fade_in: bool) -> None:
    n = min(len(x), max(1, round(seconds * rate)))
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    if fade_in:
        x[:n] *= ramp
    else:
        x[len(x) - n :] *= ramp[::-1]


def _level(x: FloatArray, rate: int) -> FloatArray:
    """Scale to TARGET_RMS_DBFS over the active 20 ms frames, peaks kept under PEAK_CEILING."""
    frame = max(1, int(0.02 * rate))
    n = len(x) // frame
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    active = rms[rms > rms.max() * 10 ** (-30 / 20)]
    speech = float(np.sqrt(np.mean(active**2))) if len(active) else 0.0
    peak = float(np.max(np.abs(x)))
    if speech == 0.0 or peak == 0.0:
        return x
    gain = min(10 ** (TARGET_RMS_DBFS / 20) / speech, PEAK_CEILING / peak)
    return (x * np.float32(gain)).astype(np.float32)


def soft_limit(x: FloatArray) -> FloatArray:
    """Unchanged below LIMIT_THRESHOLD, then a tanh knee that stops at FULL_SCALE.

    Works in place (a movie's track is long) and returns ``x``.
    """
    t = LIMIT_THRESHOLD
    over = np.flatnonzero(np.abs(x) > t)
    if len(over):
        v = x[over]
        knee = t + (1 - t) * np.tanh((np.abs(v) - t) / (1 - t))
        x[over] = np.sign(v) * np.minimum(knee, FULL_SCALE)
    return x


# --------------------------------------------------------------------------- the track


def _check_times(lines: Sequence[ScratchLine], total_s: float) -> None:
    if not (math.isfinite(total_s) and total_s >= 0):
        raise InputError(
            f"scratch track length must be a finite number of seconds >= 0, not {total_s}"
        )
    for line in lines:
        if not (math.isfinite(line.start_s) and line.start_s >= 0):
            raise InputError(f"{line.character}'s line starts at {line.start_s} s, not a time >= 0")
        if not (math.isfinite(line.duration_s) and line.duration_s >= 0):
            raise InputError(
                f"{line.character}'s line at {line.start_s} s has duration {line.duration_s} s"
            )


def _resolve_espeak(espeak: str | None) -> tuple[str | None, str | None]:
    """The executable and, when there is none, the notice that says why."""
    if espeak is None:
        return None, (
            f"scratch dialogue is off: the animatic is silent "
            f"(voices need {DEBIAN_PACKAGE}: apt-get install {DEBIAN_PACKAGE})"
        )
    if espeak == "auto":
        found = find_espeak()
        if found is None:
            return None, (
                f"espeak-ng not found: the animatic is silent (apt-get install {DEBIAN_PACKAGE})"
            )
        return found, None
    exe = shutil.which(espeak)
    if exe is None:
        raise DependencyError(
            f"not an executable espeak-ng (apt-get install {DEBIAN_PACKAGE})", espeak
        )
    return exe, None


def render_scratch_track(
    lines: Sequence[ScratchLine],
    total_s: float,
    *,
    sample_rate: int = 48000,
    cache_dir: Path | None = None,
    espeak: str | None = "auto",
    progress: Callable[[int, int], None] | None = None,
    voices: Mapping[str, Voice] | None = None,
) -> ScratchTrack:
    """Speak every line in its character's voice and mix them on one timeline.

    ``espeak`` is "auto" (find espeak-ng on PATH), a path or command name, or
    None for a silent track. ``voices`` overrides :func:`assign_voices` for the
    characters it names (by name as given or canonical). Lines are synthesized
    in parallel, one espeak-ng process per CPU; ``progress(done, total)`` is
    called from this thread after each. A line espeak-ng cannot speak raises
    :class:`DependencyError` naming the character and the line.
    """
    if sample_rate <= 0:
        raise InputError(f"sample rate must be positive, not {sample_rate}")
    _check_times(lines, total_s)
    names = sorted({line.character for line in lines})
    chosen = assign_voices(names)
    for name in names:
        given = (voices or {}).get(name) or (voices or {}).get(canonical_character(name))
        if given is not None:
            chosen[name] = given
    track = np.zeros(round(total_s * sample_rate), np.float32)
    exe, notice = _resolve_espeak(espeak)
    result = ScratchTrack(track, sample_rate, chosen, notice)
    if exe is None:
        return result
    jobs = [
        _Job(i, line, text, chosen[line.character])
        for i, line in enumerate(lines)
        if _WORDY.search(text := clean_text(line.text))
    ]
    if not jobs:
        return result
    version = _espeak_version(exe)
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
    spoken: dict[int, _Spoken] = {}
    with tempfile.TemporaryDirectory(prefix="moviola-scratch-") as tmp:
        synth = _Synth(exe, version, sample_rate, cache_dir, Path(tmp))
        pool = ThreadPoolExecutor(
            max_workers=min(len(jobs), os.cpu_count() or 2), thread_name_prefix="moviola-espeak"
        )
        try:
            futures: dict[Future[_Spoken], int] = {
                pool.submit(synth.line, job): job.index for job in jobs
            }
            for done, future in enumerate(as_completed(futures), start=1):
                spoken[futures[future]] = future.result()
                if progress is not None:
                    progress(done, len(jobs))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for job in jobs:
        piece = spoken[job.index]
        start = round(job.line.start_s * sample_rate)
        end = min(len(track), start + len(piece.samples))
        if end > start:
            track[start:end] += piece.samples[: end - start]
        result.spoken += 1
        result.sped_up += int(piece.sped_up)
        result.truncated += int(piece.truncated)
        result.cache_hits += piece.cache_hits
    result.samples = soft_limit(track)
    return result

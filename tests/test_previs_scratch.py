"""Scratch dialogue: real espeak-ng voices, placed, fitted, levelled, cached.

Nothing here mocks espeak-ng: the tests that speak are skipped (with the
reason) only where espeak-ng is not installed. What they hold the module to is
what an editor hears: each line in its window and silence between, a voice per
character that really differs, lines that fit the cut, and a mix that never clips.
"""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import numpy as np
import pytest

from moviola.core import DependencyError, MoviolaError
from moviola.previs import _scratch
from moviola.previs._scratch import (
    FIT_TOLERANCE_S,
    ScratchLine,
    Voice,
    assign_voices,
    canonical_character,
    clean_text,
    find_espeak,
    render_scratch_track,
    soft_limit,
)

needs_espeak = pytest.mark.skipif(
    find_espeak() is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)

CAST = ["OFELIA", "MARCUS", "DR. HALE", "JUNE", "TOMAS", "NURSE", "KID", "OLD MAN"]
SPEECH = (
    "Where were you last night? I waited by the old mill for hours, and nobody came. "
    "We should go before the river rises."
)
SR = 22050  # espeak-ng's own rate: no resampling, so these tests run faster


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def window(x: np.ndarray, start_s: float, end_s: float, rate: int = SR) -> np.ndarray:
    return x[round(start_s * rate) : round(end_s * rate)]


def last_sound_s(x: np.ndarray, rate: int = SR) -> float:
    loud = np.flatnonzero(np.abs(x) > 1e-4)
    return float(loud[-1] + 1) / rate if len(loud) else 0.0


def pitch_hz(x: np.ndarray, rate: int = SR) -> float:
    """Median F0 of the voiced 40 ms frames, by autocorrelation."""
    frame = int(0.04 * rate)
    level = rms(x)
    found = []
    for i in range(0, len(x) - frame, frame // 2):
        f = x[i : i + frame].astype(np.float64)
        if rms(f) < 0.3 * level:
            continue
        f -= f.mean()
        ac = np.correlate(f, f, "full")[frame - 1 :]
        lo, hi = rate // 400, rate // 60
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            found.append(rate / lag)
    return float(np.median(found))


def centroid_hz(x: np.ndarray, rate: int = SR) -> float:
    mag = np.abs(np.fft.rfft(x))
    return float(np.sum(mag * np.fft.rfftfreq(len(x), 1 / rate)) / np.sum(mag))


def speak(voice: Voice, text: str = SPEECH) -> np.ndarray:
    line = ScratchLine(0.0, 30.0, voice.character, text)
    track = render_scratch_track([line], 30.0, sample_rate=SR, voices={voice.character: voice})
    return track.samples[: round(last_sound_s(track.samples) * SR)]


# ---------------------------------------------------------------- voices (no espeak needed)


def test_eight_characters_get_eight_distinct_voices() -> None:
    voices = assign_voices(CAST)
    assert set(voices) == set(CAST)
    assert len({(v.espeak_voice, v.pitch) for v in voices.values()}) == len(CAST)
    for v in voices.values():
        assert v.espeak_voice.split("+")[0] in {"en", "en-us"}
        assert 0 <= v.pitch <= 99 and 80 <= v.speed_wpm <= 260


def test_voices_are_deterministic_and_order_independent() -> None:
    first = assign_voices(CAST)
    shuffled = CAST[:]
    random.Random(7).shuffle(shuffled)
    assert assign_voices(shuffled) == first
    assert assign_voices(list(reversed(CAST))) == first
    # a name keeps its preferred voice when nobody collides with it
    assert assign_voices(["OFELIA"])["OFELIA"] == assign_voices(["OFELIA"])["OFELIA"]


def test_extensions_share_the_characters_voice() -> None:
    voices = assign_voices(["OFELIA", "Ofelia (V.O.)", "@McCLANE", "MARCUS ^"])
    assert voices["OFELIA"] == voices["Ofelia (V.O.)"]
    assert voices["@McCLANE"].character == "MCCLANE"
    assert canonical_character("MARCUS (CONT'D) ^") == "MARCUS"


def test_gender_hint_picks_the_variant_family() -> None:
    genders = {"OFELIA": "f", "MARCUS": "M", "JUNE": "female", "TOMAS": "male"}
    voices = assign_voices(CAST, genders)
    for name, hint in genders.items():
        family = hint[0].lower()
        assert voices[name].gender == family
        assert voices[name].espeak_voice.split("+")[1].startswith(family)


def test_large_casts_stay_distinct() -> None:
    cast = [f"EXTRA {i}" for i in range(300)]
    voices = assign_voices(cast, {name: "f" for name in cast[:150]})
    assert len({(v.espeak_voice, v.pitch) for v in voices.values()}) == 300


def test_clean_text_removes_notes_and_parentheticals() -> None:
    assert clean_text("[[cut?]] Where (beat) were\n you?") == "Where were you?"
    assert clean_text("a [[note]] and *emphasis* /* boneyard */ here") == "a and emphasis here"
    assert clean_text("stray [[ phonemes ]") == "stray phonemes"  # "[[" is espeak-ng phoneme input
    assert clean_text("(beat)") == ""


def test_soft_limiter_is_transparent_below_threshold_and_never_clips() -> None:
    x = np.array([0.0, 0.5, -0.79, 0.9, -1.5, 4.0, -40.0], np.float32)
    y = soft_limit(x.copy())
    assert np.array_equal(y[:3], x[:3])
    assert np.all(np.abs(y) < 1.0) and np.all(np.sign(y) == np.sign(x))
    assert np.all(np.abs(np.round(y * 32768)) <= 32767)  # safe to write as 16-bit PCM
    assert np.all(np.diff(soft_limit(np.linspace(0, 10, 1000, dtype=np.float32))) >= 0)


def test_resampling_keeps_a_tone() -> None:
    t = np.arange(22050) / 22050
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    up = _scratch._resample(tone, 22050, 48000)
    assert len(up) == 48000
    want = np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)
    assert np.max(np.abs(up - want)[2000:-2000]) < 1e-3


def test_no_espeak_gives_silence_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [ScratchLine(0.5, 2.0, "OFELIA", "Hello.")]
    track = render_scratch_track(lines, 3.0, espeak=None)
    assert track.samples.dtype == np.float32 and len(track.samples) == 3 * 48000
    assert not np.any(track.samples)
    assert track.notice is not None and "apt-get install espeak-ng" in track.notice
    assert set(track.voices) == {"OFELIA"}

    monkeypatch.setenv("PATH", "/nonexistent")
    track = render_scratch_track(lines, 1.25, sample_rate=16000)
    assert len(track.samples) == 20000 and not np.any(track.samples)
    assert track.notice == (
        "espeak-ng not found: the animatic is silent (apt-get install espeak-ng)"
    )


def test_explicit_missing_espeak_is_an_error() -> None:
    with pytest.raises(DependencyError, match="apt-get install espeak-ng"):
        render_scratch_track([], 1.0, espeak="/nonexistent/espeak-ng")


# ---------------------------------------------------------------- speaking (real espeak-ng)


@needs_espeak
def test_table_voices_exist_and_apply_their_variant() -> None:
    """Every accent in the tables must honour "+variant" (espeak-ng ignores "en-gb+f2"'s)."""
    accents = {s.accent for tiers in _scratch._TIERS.values() for t in tiers for s in t}
    for accent in sorted(accents):
        low = pitch_hz(speak(Voice("A", f"{accent}+m3", 50, 175, "m"), "Where were you?"))
        high = pitch_hz(speak(Voice("A", f"{accent}+f3", 50, 175, "f"), "Where were you?"))
        assert high > 1.5 * low, accent


@needs_espeak
def test_lines_sound_in_their_windows_and_nowhere_else() -> None:
    lines = [
        ScratchLine(0.3, 2.2, "OFELIA", "Where were you last night?"),
        ScratchLine(3.0, 2.2, "MARCUS", "At the mill. (beat) Waiting."),
        ScratchLine(5.7, 2.2, "JUNE", "[[loud]] Liar!"),
    ]
    track = render_scratch_track(lines, 8.5, sample_rate=SR)
    x = track.samples
    assert len(x) == round(8.5 * SR) and track.notice is None and track.spoken == 3
    edges = [0.0]
    for line in lines:
        speech = window(x, line.start_s, line.start_s + line.duration_s)
        onset = np.flatnonzero(np.abs(speech) > 0.01)
        assert len(onset) and onset[0] / SR < 0.05, line  # starts on time
        active = speech[np.abs(speech) > 0.003]
        assert 10 ** (-22 / 20) < rms(active) < 10 ** (-10 / 20), line  # about -16 dBFS
        edges += [line.start_s, line.start_s + line.duration_s + FIT_TOLERANCE_S]
    edges.append(8.5)
    for gap_start, gap_end in zip(edges[::2], edges[1::2], strict=True):
        assert not np.any(window(x, gap_start, gap_end)), (gap_start, gap_end)


@needs_espeak
def test_long_speech_is_sped_up_then_cut_to_its_window() -> None:
    voice = assign_voices(["OFELIA"])["OFELIA"]
    natural = len(speak(voice)) / SR
    assert natural > 4.0

    fit = 0.8 * natural
    track = render_scratch_track([ScratchLine(1.0, fit, "OFELIA", SPEECH)], 12.0, sample_rate=SR)
    assert (track.sped_up, track.truncated) == (1, 0)
    assert last_sound_s(track.samples) <= 1.0 + fit + FIT_TOLERANCE_S

    cut = 0.3 * natural
    track = render_scratch_track([ScratchLine(1.0, cut, "OFELIA", SPEECH)], 12.0, sample_rate=SR)
    assert (track.sped_up, track.truncated) == (1, 1)
    end = 1.0 + cut + FIT_TOLERANCE_S
    assert end - 0.01 < last_sound_s(track.samples) <= end
    assert rms(window(track.samples, end - 0.3, end - 0.05)) > 0.01  # cut mid-speech, faded


@needs_espeak
def test_overlapping_lines_never_leave_minus_one_to_one() -> None:
    lines = [ScratchLine(0.1 * i, 3.0, name, SPEECH) for i, name in enumerate(CAST[:6])]
    track = render_scratch_track(lines, 4.0, sample_rate=SR)
    peak = float(np.max(np.abs(track.samples)))
    assert 0.8 < peak < 1.0
    assert np.all(np.isfinite(track.samples))


@needs_espeak
def test_characters_voices_differ_measurably() -> None:
    cast = ["OFELIA", "JUNE", "MARCUS", "TOMAS"]
    voices = assign_voices(cast, {"OFELIA": "f", "JUNE": "f", "MARCUS": "m", "TOMAS": "m"})
    measured = {}
    for name in cast:
        x = speak(voices[name])
        measured[name] = (pitch_hz(x), centroid_hz(x))
    for a, b in itertools.combinations(cast, 2):
        (fa, ca), (fb, cb) = measured[a], measured[b]
        f0_gap = abs(np.log(fa / fb))
        brightness_gap = abs(np.log(ca / cb))
        assert f0_gap > 0.08 or brightness_gap > 0.04, (a, b, measured[a], measured[b])
    # and across genders the pitch alone tells them apart
    assert min(measured["OFELIA"][0], measured["JUNE"][0]) > 1.15 * max(
        measured["MARCUS"][0], measured["TOMAS"][0]
    )


@needs_espeak
def test_progress_counts_every_spoken_line() -> None:
    lines = [ScratchLine(i * 1.5, 1.4, CAST[i], f"Line {i}.") for i in range(5)]
    lines.append(ScratchLine(8.0, 1.0, "KID", "(beat)"))  # nothing to say: no line, no error
    calls: list[tuple[int, int]] = []
    track = render_scratch_track(
        lines, 9.0, sample_rate=SR, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(i, 5) for i in range(1, 6)]
    assert track.spoken == 5 and set(track.voices) == {*CAST[:5], "KID"}


@needs_espeak
def test_cache_hit_is_faster_identical_and_survives_corruption(tmp_path: Path) -> None:
    lines = [ScratchLine(i * 2.0, 1.9, CAST[i], f"Line {i}, said once.") for i in range(6)]
    cache = tmp_path / "cache"

    start = time.perf_counter()
    cold = render_scratch_track(lines, 12.0, cache_dir=cache)
    cold_s = time.perf_counter() - start
    files = sorted(cache.glob("*.npy"))
    assert cold.cache_hits == 0 and cold.spoken == 6
    assert len(files) == 6 + cold.sped_up  # one file per synthesis, speed-ups included

    start = time.perf_counter()
    warm = render_scratch_track(lines, 12.0, cache_dir=cache)
    warm_s = time.perf_counter() - start
    assert warm.cache_hits == len(files)
    assert np.array_equal(warm.samples, cold.samples)
    assert warm_s < cold_s / 2, (warm_s, cold_s)

    files[0].write_bytes(b"not a numpy file")
    files[1].write_bytes(files[1].read_bytes()[:100])  # an interrupted copy
    repaired = render_scratch_track(lines, 12.0, cache_dir=cache)
    assert repaired.cache_hits == len(files) - 2
    assert np.array_equal(repaired.samples, cold.samples)
    assert np.load(files[0]).dtype == np.float32 and np.load(files[1]).dtype == np.float32
    assert sorted(p.name for p in cache.iterdir()) == [p.name for p in files]  # no temp files


@needs_espeak
def test_a_line_espeak_cannot_speak_names_character_and_line() -> None:
    bad = Voice("BOB", "xx-no-such-voice+m3", 50, 170, "m")
    lines = [ScratchLine(2.5, 2.0, "BOB", "Hello there.")]
    with pytest.raises(DependencyError) as caught:
        render_scratch_track(lines, 5.0, sample_rate=SR, voices={"BOB": bad})
    message = str(caught.value)
    assert "\n" not in message and isinstance(caught.value, MoviolaError)
    assert "BOB's line at 2.50 s" in message and "'Hello there.'" in message
    assert "xx-no-such-voice+m3" in message and "exit" in message

"""Cut an ad spot from a Moviola production: a 15 s or 30 s linear video with an end card,
ready for a VAST ``<MediaFile>``, and a folder a person can check by eye.

A spot is the source footage (letterboxed to the output size), a short dissolve, then an
end card (the title, a call to action, key art from a frame of the footage) to the exact
length: 15.000 s is 360 frames at 24 fps and 375 at 25. What the industry delivers:

- H.264 High profile, yuv420p, BT.709 limited range, in MP4 with the ``moov`` box first
  (faststart, for progressive download), a keyframe every two seconds, the bitrate capped
  (VBV) so a player's buffer never starves;
- always an AAC-LC track, 48 kHz stereo (a spot without audio confuses players): the
  source's sound faded out before the end card, else silence. Sound is normalised to
  -24 LUFS integrated (ITU-R BS.1770, ATSC A/85: what the US CALM Act asks of commercials)
  with true peaks at or under -2 dBTP, never boosted by more than 20 dB.

Where the footage comes from (``source``, see :func:`resolve_source`):

- a VFX shot's name (``PROJECT/vfx/NAME/``): its finished movie from the start;
- a previs shot id (``11A``): the animatic from that shot's first appearance on;
- ``animatic``: the stretch of the animatic around its VFX shots (the picture an
  audience has not seen before is what sells a show, and the VFX shots are where the
  production put its money), where they come with people, dialogue and pace (see
  :func:`_best_window`);
- any movie's path.

A source shorter than the spot minus its end card is not slowed, held or looped (all read
as faults, and a looped collapse rebuilds the building): the footage plays once and the end
card grows to fill the spot, with its key art pushing in slowly so the picture never
freezes. That is refused below a third of the spot (5 s of a 15 s spot, 10 s of a 30 s
one), where the spot would be mostly card.

The folder (``out``) appears whole or not at all: everything is written into a temporary
folder beside it and renamed into place. A folder holding a different spot is replaced
only with ``force``; a folder holding anything else is never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .. import __version__
from ..core import (
    InputError,
    InternalError,
    Project,
    ProjectError,
    note_step,
    one_line,
    sha256_file,
    storage_error,
)
from ..core._atomic import _umask
from ..core._fonts import draw_text, fit_text, text_width, wrap_text
from ..core._media import atomic_movie, av_module, track_container
from ..provenance import Claim, Credentials, Ingredient, Stamp, credentials_for
from ._overlay import (
    OVERLAY_DIR,
    SIMID_VERSION,
    OverlaySpec,
    ad_parameters_text,
    overlay_parameters,
    template_bytes,
    write_overlay,
)

RGB = NDArray[np.uint8]
Progress = Callable[[str, int, int], None]

SPOT_SCHEMA = "AdCreative.1"
SPOT_VERSION = 1  # bump when the same inputs would make a different spot
SPOT_LENGTHS = (15, 30)  # the industry's spot lengths, in seconds
END_CARD_S = 3.0
DISSOLVE_S = 0.5  # footage into the end card
AUDIO_FADE_S = 0.75  # the source's sound out, ending where the card begins
AUDIO_FADE_IN_S = 0.02  # no click where the cut lands mid-word
MIN_FOOTAGE_SHARE = 1 / 3  # below this the spot would be mostly end card: refused
DEFAULT_SIZE = (1280, 720)
CALL_TO_ACTION = "Now streaming"
DEFAULT_OVERLAY = OverlaySpec("add_to_list")
SAMPLE_RATE = 48000
AUDIO_KBPS = 128
TARGET_LUFS = -24.0
MAX_TRUE_PEAK_DB = -2.0
MAX_GAIN_DB = 20.0
KEY_FRAME_ZOOM = 0.05  # the end card's push-in over its length
STRIP_FRAMES = 6
THUMB_WIDTH = 320
SOURCE_KINDS = ("vfx", "previs_shot", "animatic", "movie")
MOVIE_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf")
BAR_RGB = (10, 10, 12)  # the animatic's burn-in bars (moviola.previs._burnin.BAR_RGB)
ACCENT_RGB = (232, 176, 74)
FILES = {"spot": "spot.mp4", "end_card": "endcard.png", "poster": "poster.jpg",
         "frames": "frames.png", "creative": "creative.json"}  # fmt: skip


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class SpotSource:
    """Where a spot's footage comes from, and why that stretch.

    ``start_s`` and ``footage_s`` are seconds of the source movie (from its first frame);
    ``highlights`` are the VFX shots inside the stretch, in seconds from its start (the key
    art is chosen among them).
    """

    kind: str  # one of SOURCE_KINDS
    name: str  # what the user named: "palace_collapse", "11A", "animatic", a file name
    path: Path
    start_s: float
    footage_s: float
    available_s: float  # the movie's length
    fps: float
    width: int
    height: int
    has_audio: bool
    reason: str
    highlights: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class SpotResult:
    """A creative folder as written (or found already written: ``unchanged``)."""

    folder: Path
    creative: dict[str, Any]  # creative.json
    source: SpotSource
    unchanged: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def spot(self) -> Path:
        return self.folder / FILES["spot"]


# --------------------------------------------------------------------------- movie facts


@dataclass(frozen=True)
class _Movie:
    path: Path
    duration_s: float
    fps: float
    width: int  # coded size (the picture's shape on screen is taken from its frames)
    height: int
    has_audio: bool


def probe_source(path: Path) -> _Movie:
    """What a source movie holds, or an :class:`InputError` naming it and what is wrong."""
    av = av_module()
    if not path.exists():
        raise InputError("no such file", path)
    if not path.is_file():
        raise InputError("is not a file (a movie is needed)", path)
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise InputError(f"not a readable movie ({one_line(str(exc))[:160]})", path) from exc
    with container:
        if not container.streams.video:
            raise InputError("has no video stream", path)
        v = container.streams.video[0]
        rate = v.average_rate or v.guessed_rate or v.base_rate
        fps = float(rate) if rate else 0.0
        if not 1 <= fps <= 240:
            raise InputError(f"has no usable frame rate ({fps:g} fps)", path)
        if v.duration is not None and v.time_base is not None:
            duration = float(v.duration * v.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        else:
            duration = (v.frames or 0) / fps
        if v.frames and abs(v.frames / fps - duration) > 1 / fps:
            duration = min(duration, v.frames / fps) if duration > 0 else v.frames / fps
        width, height = int(v.codec_context.width or 0), int(v.codec_context.height or 0)
        if width <= 0 or height <= 0 or duration <= 0:
            raise InputError(f"holds no pictures ({width}x{height}, {duration:g} s)", path)
        return _Movie(path, duration, fps, width, height, bool(container.streams.audio))


def _spot_rate(fps: float) -> int:
    """The spot's integer rate: a whole number of frames per second makes 15 s exact.

    NTSC rates (23.976, 29.97) become 24 and 30 (frames are taken by time, so a frame in
    a thousand repeats); rates under 24 come up to 24 (held frames), over 60 down to 60.
    """
    return min(60, max(24, round(fps)))


# ------------------------------------------------------------------------ the project


def _title_of(project: Project) -> str:
    """The screenplay's title (its title page), else the project's name."""
    if project.script is not None:
        from ..script import load_current_script

        with contextlib.suppress(Exception):  # an unreadable script is previs's problem
            _, screenplay = load_current_script(project)
            if screenplay.title:
                return one_line(screenplay.title)
    return project.name


def _title_id(project: Project) -> str:
    from ..stream import title_id_for  # the id the catalog gives this production

    return title_id_for(project.name)


@dataclass(frozen=True)
class _Clip:
    name: str
    scene: str
    start: int  # frame of the animatic
    frames: int
    vfx: bool
    people: bool  # characters in frame (the plan's subjects)


def _timeline(project: Project) -> tuple[list[_Clip], float] | None:
    """The previs editorial timeline's shots (``previs/timeline.otio``), or None without one."""
    path = project.path("previs", "timeline.otio")
    if not path.is_file():
        return None
    import opentimelineio as otio

    try:
        timeline = otio.adapters.read_from_file(str(path))
        clips: list[_Clip] = []
        rate = 0.0
        for clip in (c for track in timeline.video_tracks() for c in track.find_clips()):
            sr = clip.source_range
            rate = float(sr.duration.rate)
            ref = clip.media_reference
            available = getattr(ref, "available_range", None)
            origin = available.start_time if available is not None else timeline.global_start_time
            start = sr.start_time - origin if origin is not None else sr.start_time
            meta = clip.metadata.get("moviola") or {}
            clips.append(_Clip(str(clip.name), str(meta.get("scene") or ""),
                               round(start.rescaled_to(rate).value),
                               round(sr.duration.rescaled_to(rate).value), bool(meta.get("vfx")),
                               bool(len(meta.get("subjects") or []))))  # fmt: skip
    except Exception as exc:
        raise ProjectError(f"cannot read the previs timeline: {one_line(str(exc))[:200]}", path) from exc
    return (clips, rate) if clips and rate > 0 else None


def _vfx_shots(project: Project) -> list[str]:
    folder = project.path("vfx")
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _vfx_movie(project: Project, name: str) -> Path:
    """A VFX shot's finished movie: a de-aged result, else its review movie (a collapse's
    review is the comp; a de-aging review is a before/after split, a poorer ad)."""
    folder = project.path("vfx", name)
    candidates = sorted(folder.glob(f"*/{name}_deaged.mp4")) + sorted(folder.glob(f"render/{name}_review.mp4")) \
        + sorted(folder.glob("*/*_review.mp4"))  # fmt: skip
    movies = [m for m in candidates if not m.name.startswith(".")]
    if not movies:
        raise ProjectError(f"VFX shot {name!r} has no finished movie yet (vfx/{name}/*/{name}_review.mp4); "
                           "render it first ('moviola vfx ...')", folder)  # fmt: skip
    return movies[0]


def _animatic(project: Project) -> Path:
    path = project.path("previs", "animatic.mp4")
    if not path.is_file():
        raise ProjectError("no previs animatic (previs/animatic.mp4); run 'moviola previs' first",
                           project.root)  # fmt: skip
    return path


def _slate_frames(clips: Sequence[_Clip]) -> int:
    return min(c.start for c in clips) if clips else 0


# ------------------------------------------------------------------------ the source


def _footage_length(movie: _Movie, start_s: float, length: int, name: str) -> float:
    needed = length - END_CARD_S
    available = movie.duration_s - start_s
    if start_s < 0 or available <= 0:
        raise InputError(f"the start {start_s:g} s is outside the movie ({movie.duration_s:.2f} s long)",
                         movie.path)  # fmt: skip
    minimum = length * MIN_FOOTAGE_SHARE
    if available + 1e-6 < minimum:
        from_where = f" from {start_s:g} s" if start_s else ""
        raise InputError(
            f"{name} has {available:.2f} s of footage{from_where}; a {length} s spot needs {needed:g} s "
            f"(or at least {minimum:g} s, with a longer end card). Give a longer movie, an earlier "
            f"start{', or --length 15' if length > 15 else ''}",
            movie.path,
        )
    return min(needed, available)


@dataclass(frozen=True)
class _Window:
    start: int  # frame of the animatic
    score: float
    vfx_s: float
    people: float  # shares of the window, 0..1
    sound: float
    cuts: int


def _sound_frames(path: Path, rate: float, end: int) -> NDArray[np.bool_]:
    """Which animatic frames the scratch track speaks over, from the audio packets' sizes
    alone (no decoding: a second for a feature-length animatic): an encoder spends a few
    bytes on silence and hundreds on a voice, so a packet over twice the median size (the
    silent one, in a mostly silent track) counts as sound. A track that never rests makes
    every frame count the same, which leaves the choice to the other measures."""
    sound = np.zeros(end, np.bool_)
    av = av_module()
    with contextlib.suppress(Exception), av.open(str(path)) as container:
        if not container.streams.audio:
            return sound
        stream = container.streams.audio[0]
        packets = [(float(p.pts * p.time_base), float((p.duration or 0) * p.time_base), p.size)
                   for p in container.demux(stream) if p.pts is not None and p.size]  # fmt: skip
        if packets:
            median = float(np.median([size for _, _, size in packets]))
            for t, d, size in packets:
                if size > 2 * median + 16:
                    sound[max(0, int(t * rate)) : min(end, int((t + d) * rate) + 1)] = True
    return sound


def _best_window(clips: Sequence[_Clip], need: int, end: int, sound: NDArray[np.bool_],
                 rate: float) -> _Window:  # fmt: skip
    """The ``need``-frame stretch of the animatic, starting on a cut, that sells the show.

    Its score is its VFX screen time, scaled up by how well the stretch holds the eye: the
    share of it with people on screen, the share with dialogue, and its pace (a cut every
    two seconds counts in full): ``vfx_s * (1 + people + sound + pace)``. VFX alone is not
    enough because in previs a VFX plate is a placeholder (an empty sky where the snow will
    be): the scene where the effects happen around the characters beats a run of empty
    plates. The earliest of equal stretches wins.
    """
    lo = _slate_frames(clips)
    vfx, people = np.zeros(end, np.float64), np.zeros(end, np.float64)
    for c in clips:
        if c.vfx:
            vfx[c.start : c.start + c.frames] = 1
        if c.people:
            people[c.start : c.start + c.frames] = 1

    def total(mask: NDArray[Any]) -> NDArray[np.float64]:
        return np.concatenate([[0.0], np.cumsum(mask[:end], dtype=np.float64)])

    v, p, s = total(vfx), total(people), total(sound.astype(np.float64))
    cuts = sorted({c.start for c in clips})
    best: _Window | None = None
    for start in cuts:
        a = max(lo, min(start, end - need))
        b = min(end, a + need)
        span = max(1, b - a)
        vfx_s = (v[b] - v[a]) / rate
        shares = ((p[b] - p[a]) / span, (s[b] - s[a]) / span)
        n_cuts = sum(1 for c in cuts if a < c < b)
        pace = min(1.0, n_cuts / max(1.0, span / rate / 2))
        score = round(vfx_s * (1 + shares[0] + shares[1] + pace), 6)
        if best is None or score > best.score or (score == best.score and a < best.start):
            best = _Window(a, score, vfx_s, shares[0], shares[1], n_cuts)
    return best if best is not None else _Window(lo, 0.0, 0.0, 0.0, 0.0, 0)


def _highlights(clips: Sequence[_Clip], rate: float, start_s: float, footage_s: float,
                keep: Callable[[_Clip], bool]) -> tuple[tuple[float, float], ...]:  # fmt: skip
    spans = []
    for c in clips:
        a = max(c.start / rate - start_s, 0.0)
        b = min((c.start + c.frames) / rate - start_s, footage_s)
        if keep(c) and b > a:
            spans.append((round(a, 3), round(b, 3)))
    return tuple(spans)


def _shot_names(clips: Sequence[_Clip]) -> list[str]:
    return list(dict.fromkeys(c.name for c in clips))


def _unknown(project: Project, name: str, clips: Sequence[_Clip]) -> InputError:
    vfx = _vfx_shots(project)
    shots = _shot_names(clips)
    parts = [f"VFX shots: {', '.join(vfx)}" if vfx else "no VFX shots"]
    if shots:
        listed = ", ".join(shots[:24]) + (f", … ({len(shots)} in all)" if len(shots) > 24 else "")
        parts.append(f"previs shots: {listed}")
    else:
        parts.append("no previs timeline")
    return InputError(f"no VFX shot, previs shot or movie called {name!r} in project "
                      f"{project.name!r}; {'; '.join(parts)}; or give 'animatic' or a movie's path")  # fmt: skip


def resolve_source(project: Project, source: str | Path, *, length: int = 15,
                   start_s: float | None = None) -> SpotSource:  # fmt: skip
    """Find the footage ``source`` names and the stretch of it the spot uses.

    Looked up in this order: the word ``animatic``; a VFX shot folder ``vfx/NAME/``; a
    previs shot id in ``previs/timeline.otio`` (case-insensitive); a movie's path (as given,
    else inside the project). ``start_s`` overrides where the cut starts (seconds into the
    movie). Unknown names raise an :class:`InputError` listing the names that exist.
    """
    _check_length(length)
    text = str(source)
    needed = length - END_CARD_S
    looks_like_path = isinstance(source, Path) or "/" in text or text.lower().endswith(MOVIE_SUFFIXES)
    loaded = None if looks_like_path else _timeline(project)
    clips, rate = loaded if loaded else ([], 0.0)

    if not looks_like_path and text.lower() == "animatic":
        movie = probe_source(_animatic(project))
        if start_s is not None:
            footage = _footage_length(movie, start_s, length, "the animatic")
            return _source("animatic", "animatic", movie, start_s, footage,
                           f"the animatic from {start_s:g} s (as asked)",
                           _highlights(clips, rate, start_s, footage, lambda c: c.vfx) if clips else ())  # fmt: skip
        if not clips:
            footage = _footage_length(movie, 0.0, length, "the animatic")
            return _source("animatic", "animatic", movie, 0.0, footage,
                           "the animatic from its start (no previs timeline to find the VFX shots in)")  # fmt: skip
        end = min(round(movie.duration_s * rate), max(c.start + c.frames for c in clips))
        need = round(needed * rate)
        window = _best_window(clips, need, end, _sound_frames(movie.path, rate, end), rate)
        first = window.start
        start = first / rate
        footage = _footage_length(movie, start, length, "the animatic")
        inside = [c for c in clips if c.vfx and c.start < first + need and c.start + c.frames > first]
        opening = next((c for c in clips if c.start <= first < c.start + c.frames), clips[0])
        if window.vfx_s:
            reason = (f"the {footage:g} s of the animatic where the VFX hold the eye best: "
                      f"{window.vfx_s:.1f} s of VFX (shots {', '.join(_shot_names(inside))}), people on "
                      f"screen {window.people:.0%} of it, dialogue {window.sound:.0%}, {window.cuts} cuts; "
                      f"from shot {opening.name} (scene {opening.scene}) at {start:.2f} s")  # fmt: skip
        else:
            reason = f"the animatic from its first shot ({opening.name}; the timeline marks no VFX shots)"
        return _source("animatic", "animatic", movie, start, footage, reason,
                       _highlights(clips, rate, start, footage, lambda c: c.vfx))  # fmt: skip

    if not looks_like_path and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", text) \
            and project.path("vfx", text).is_dir():  # fmt: skip
        movie = probe_source(_vfx_movie(project, text))
        start = start_s or 0.0
        footage = _footage_length(movie, start, length, f"VFX shot {text}")
        where = "from its start" if not start else f"from {start:g} s (as asked)"
        return _source("vfx", text, movie, start, footage, f"VFX shot {text}'s finished movie, {where}")

    if not looks_like_path and clips:
        matches = [c for c in clips if c.name.casefold() == text.casefold()]
        if matches:
            shot = matches[0]
            movie = probe_source(_animatic(project))
            end = round(movie.duration_s * rate)
            need = round(needed * rate)
            if start_s is None:
                first = max(_slate_frames(clips), min(shot.start, end - need))
                start = first / rate
                where = "its first appearance" if first == shot.start else "the end of the animatic"
                reason = (f"previs shot {shot.name} (scene {shot.scene}): the animatic from "
                          f"{where} at {start:.2f} s")  # fmt: skip
            else:
                start = start_s
                reason = f"previs shot {shot.name} (scene {shot.scene}): the animatic from {start:g} s (as asked)"
            footage = _footage_length(movie, start, length, f"the animatic from shot {shot.name}")
            return _source("previs_shot", shot.name, movie, start, footage, reason,
                           _highlights(clips, rate, start, footage, lambda c: c.name == shot.name))  # fmt: skip

    path = Path(text).expanduser()
    if not path.exists() and not path.is_absolute() and project.path(text).exists():
        path = project.path(text)
    if path.exists() or looks_like_path:
        movie = probe_source(path)
        start = start_s or 0.0
        footage = _footage_length(movie, start, length, path.name)
        where = "from its start" if not start else f"from {start:g} s (as asked)"
        return _source("movie", path.name, movie, start, footage, f"the movie {path.name}, {where}")
    raise _unknown(project, text, clips)


def _source(kind: str, name: str, movie: _Movie, start: float, footage: float, reason: str,
            highlights: tuple[tuple[float, float], ...] = ()) -> SpotSource:  # fmt: skip
    return SpotSource(kind, name, movie.path, round(start, 6), footage, movie.duration_s, movie.fps,
                      movie.width, movie.height, movie.has_audio, reason, highlights)  # fmt: skip


def _relative(path: Path, project: Project) -> str:
    try:
        return path.resolve().relative_to(project.root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _check_length(length: int) -> None:
    if length not in SPOT_LENGTHS:
        raise InputError(f"a spot is 15 or 30 seconds long, not {length}")


# ----------------------------------------------------------------------------- audio

# ITU-R BS.1770-4 K-weighting at 48 kHz: a high shelf (the head) then a high-pass (RLB).
_K_SHELF = ([1.53512485958697, -2.69169618940638, 1.19839281085285],
            [1.0, -1.69065929318241, 0.73248077421585])  # fmt: skip
_K_HIGHPASS = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


def loudness_lufs(samples: NDArray[np.float32]) -> float | None:
    """Integrated loudness of (channels, n) samples at 48 kHz (ITU-R BS.1770-4: K-weighted,
    400 ms blocks overlapping by 75 %, gated at -70 LUFS and 10 LU under the ungated mean);
    None for silence or under 400 ms."""
    from scipy.signal import lfilter

    x = np.asarray(samples, np.float64)
    block, step = round(0.4 * SAMPLE_RATE), round(0.1 * SAMPLE_RATE)
    if x.ndim != 2 or x.shape[1] < block:
        return None
    y = lfilter(*_K_HIGHPASS, lfilter(*_K_SHELF, x, axis=1), axis=1)
    power = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(y * y, axis=1)], axis=1)
    starts = np.arange(0, y.shape[1] - block + 1, step)
    z = ((power[:, starts + block] - power[:, starts]) / block).sum(axis=0)  # L and R weigh 1
    with np.errstate(divide="ignore"):
        blocks = -0.691 + 10 * np.log10(z)
    kept = z[blocks > -70.0]
    if not kept.size:
        return None
    relative = -0.691 + 10 * np.log10(kept.mean()) - 10.0
    gated = z[(blocks > -70.0) & (blocks > relative)]
    return float(-0.691 + 10 * np.log10(gated.mean()))


def true_peak_db(samples: NDArray[np.float32]) -> float:
    """Peak level after 4x oversampling (BS.1770's true-peak estimate), in dBTP."""
    from scipy.signal import resample_poly

    if samples.size == 0:
        return float("-inf")
    peak = float(np.abs(resample_poly(np.asarray(samples, np.float64), 4, 1, axis=1)).max())
    return 20 * float(np.log10(peak)) if peak > 0 else float("-inf")


def _read_audio(path: Path, start_s: float, seconds: float) -> NDArray[np.float32] | None:
    """``seconds`` of the movie's first audio track from ``start_s``, as 48 kHz stereo."""
    av = av_module()
    n = round(seconds * SAMPLE_RATE)
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            tb = stream.time_base
            origin = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
            want = origin + start_s
            if start_s > 0 and tb:
                container.seek(int(want / tb), stream=stream, backward=True)
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
            chunks: list[NDArray[np.float32]] = []
            first: float | None = None
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else None
                if t is not None and t + frame.samples / frame.sample_rate < want - 0.05:
                    continue
                if first is None:
                    first = t if t is not None else want
                chunks += [np.asarray(f.to_ndarray(), np.float32) for f in resampler.resample(frame)]
                if t is not None and t > want + seconds:
                    break
            chunks += [np.asarray(f.to_ndarray(), np.float32) for f in resampler.resample(None)]
    except Exception as exc:
        raise InputError(f"cannot read its sound: {one_line(str(exc))[:160]}", path) from exc
    data = np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), np.float32)
    offset = round(((first if first is not None else want) - want) * SAMPLE_RATE)
    if offset > 0:  # the sound starts after the cut's start: silence first
        data = np.concatenate([np.zeros((2, offset), np.float32), data], axis=1)
    elif offset < 0:
        data = data[:, -offset:]
    out = np.zeros((2, n), np.float32)
    out[:, : min(n, data.shape[1])] = data[:, :n]
    return out


@dataclass(frozen=True)
class _Sound:
    samples: NDArray[np.float32]  # (2, total) at 48 kHz: the whole spot
    from_source: bool
    loudness: float | None
    true_peak: float | None
    gain_db: float


def _spot_sound(source: SpotSource, footage_samples: int, total_samples: int) -> _Sound:
    """The spot's sound: the source's (faded in briefly, out before the card, normalised),
    then silence under the end card; all silence for a silent source."""
    out = np.zeros((2, total_samples), np.float32)
    audio = _read_audio(source.path, source.start_s, footage_samples / SAMPLE_RATE) if source.has_audio else None
    if audio is None:
        return _Sound(out, False, None, None, 0.0)
    env = np.ones(footage_samples, np.float32)
    fade_in = min(footage_samples, round(AUDIO_FADE_IN_S * SAMPLE_RATE))
    env[:fade_in] = np.linspace(0, 1, fade_in, dtype=np.float32)
    fade = min(footage_samples, round(AUDIO_FADE_S * SAMPLE_RATE))
    if fade:
        env[footage_samples - fade :] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade))).astype(np.float32)
    audio = audio[:, :footage_samples] * env
    measured = loudness_lufs(audio)
    if measured is None:  # silent (or nearly): leave it be
        out[:, :footage_samples] = audio
        return _Sound(out, True, None, None, 0.0)
    peak = true_peak_db(audio)
    gain = min(TARGET_LUFS - measured, MAX_GAIN_DB, MAX_TRUE_PEAK_DB - peak)
    out[:, :footage_samples] = audio * np.float32(10 ** (gain / 20))
    return _Sound(out, True, round(measured + gain, 2), round(peak + gain, 2), round(gain, 2))


# --------------------------------------------------------------------------- pictures


@dataclass(frozen=True)
class _Fit:
    """Where the source's picture sits in the spot's frame."""

    width: int
    height: int
    x: int
    y: int
    turns: int  # quarter turns to play upright


def _fit(frame: Any, sar: Any, size: tuple[int, int]) -> _Fit:
    """Letterbox (or pillarbox) the frame's displayed shape, sample aspect ``sar`` and
    rotation applied, into ``size``."""
    w, h = size
    turns = round(float(getattr(frame, "rotation", 0) or 0) / 90) % 4
    shown_w = frame.width * (float(sar) if sar and float(sar) > 0 else 1.0)
    aspect = shown_w / frame.height if turns % 2 == 0 else frame.height / shown_w
    if aspect >= w / h:
        fw, fh = w, min(h, max(2, round(w / aspect)))
    else:
        fw, fh = min(w, max(2, round(h * aspect))), h
    return _Fit(fw, fh, (w - fw) // 2, (h - fh) // 2, turns)


def _to_rgb(frame: Any, fit: _Fit, reformatter: Any) -> RGB:
    """One decoded frame, converted with its own matrix and range and scaled to ``fit``."""
    from av.video.reformatter import ColorRange, Colorspace, Interpolation

    w, h = (fit.height, fit.width) if fit.turns % 2 else (fit.width, fit.height)
    kwargs: dict[str, Any] = {}
    if frame.format.name.startswith(("yuv", "nv", "p0", "p2")):
        cs = frame.colorspace
        bt601 = cs in (5, 6) or (cs not in (1,) and frame.height < 720)
        kwargs = {"src_colorspace": Colorspace.ITU601 if bt601 else Colorspace.ITU709,
                  "src_color_range": ColorRange.JPEG if frame.color_range == 2 else ColorRange.MPEG}  # fmt: skip
    shrink = w * h <= frame.width * frame.height
    out = reformatter.reformat(frame, width=w, height=h, format="rgb24",
                               interpolation=Interpolation.AREA if shrink else Interpolation.BICUBIC, **kwargs)  # fmt: skip
    rgb = np.asarray(out.to_ndarray(), np.uint8)
    return np.ascontiguousarray(np.rot90(rgb, k=fit.turns)) if fit.turns else rgb


def _decode_footage(source: SpotSource, fps: int, frames: int, size: tuple[int, int]) -> Iterator[RGB]:
    """The spot's footage frames: for each output time, the source frame showing then,
    letterboxed onto a black frame of ``size``."""
    av = av_module()
    w, h = size
    try:
        container = av.open(str(source.path))
    except Exception as exc:
        raise InputError(f"not a readable movie ({one_line(str(exc))[:160]})", source.path) from exc
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = stream.time_base
        origin = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
        if source.start_s > 0 and tb:
            container.seek(int((origin + source.start_s) / tb), stream=stream, backward=True)
        tolerance = 0.25 / source.fps
        fit: _Fit | None = None
        from av.video.reformatter import VideoReformatter

        reformatter = VideoReformatter()
        held: Any = None  # the source frame on screen now, and its picture once converted
        held_rgb: RGB | None = None
        index = 0

        def canvas(frame: Any) -> RGB:
            nonlocal fit
            if fit is None:
                fit = _fit(frame, stream.codec_context.sample_aspect_ratio, size)
            picture = np.zeros((h, w, 3), np.uint8)
            picture[fit.y : fit.y + fit.height, fit.x : fit.x + fit.width] = _to_rgb(frame, fit, reformatter)
            return picture

        decoded = -1
        try:
            for frame in container.decode(stream):
                decoded += 1
                t = (float(frame.time) if frame.time is not None else decoded / source.fps) - origin
                while index < frames and t > source.start_s + index / fps + tolerance:
                    if held is None:  # nothing before the cut's start: the first frame shows
                        held, held_rgb = frame, None
                    if held_rgb is None:
                        held_rgb = canvas(held)
                    yield held_rgb
                    index += 1
                if index >= frames:
                    return
                held, held_rgb = frame, None
        except av.error.FFmpegError as exc:
            raise InputError(f"the movie is corrupt after {index / fps:.2f} s of the cut ({exc})",
                             source.path) from exc  # fmt: skip
        if held is None:
            raise InputError(f"no pictures after {source.start_s:g} s", source.path)
        if frames - index > 2:  # shorter than it said: more than rounding
            raise InputError(f"ends {(frames - index) / fps:.2f} s before the length it declares "
                             f"({source.available_s:.2f} s)", source.path)  # fmt: skip
        held_rgb = held_rgb if held_rgb is not None else canvas(held)
        while index < frames:
            yield held_rgb
            index += 1


def _content_box(rgb: RGB) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the picture inside a frame: letterbox, pillarbox and the
    animatic's burn-in bars (flat dark rows, with a little type) trimmed off."""
    h, w = rgb.shape[:2]
    small = rgb[::2, ::2].astype(np.int16)
    flat = (np.abs(small - np.array(BAR_RGB, np.int16)).max(axis=2) <= 3) | (small.max(axis=2) <= 8)
    rows, cols = flat.mean(axis=1), flat.mean(axis=0)

    def edge(fractions: NDArray[Any], limit: int) -> int:
        i = 0
        while i < limit and fractions[i] >= 0.5:
            i += 1
        return i

    top = edge(rows, int(len(rows) * 0.35)) * 2
    bottom = h - edge(rows[::-1], int(len(rows) * 0.35)) * 2
    left = edge(cols, int(len(cols) * 0.35)) * 2
    right = w - edge(cols[::-1], int(len(cols) * 0.35)) * 2
    if bottom - top < h // 4 or right - left < w // 4:
        return 0, 0, w, h
    return left, top, right, bottom


def _key_score(rgb: RGB, box: tuple[int, int, int, int]) -> float:
    """How well a frame serves as key art: contrast and colour (Hasler and Süsstrunk's
    colourfulness), halved for frames too dark or too bright to read."""
    x0, y0, x1, y1 = box
    f = rgb[y0:y1:6, x0:x1:6].astype(np.float32) / 255
    if f.size == 0:
        return 0.0
    luma = 0.2126 * f[..., 0] + 0.7152 * f[..., 1] + 0.0722 * f[..., 2]
    rg = f[..., 0] - f[..., 1]
    yb = 0.5 * (f[..., 0] + f[..., 1]) - f[..., 2]
    colour = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    exposure = 1.0 if 0.12 <= float(luma.mean()) <= 0.85 else 0.5
    return (float(luma.std()) + 0.5 * colour) * exposure


def _key_candidates(source: SpotSource, frames: int, fps: int) -> set[int]:
    """Footage frames the key art may come from: inside the VFX shots (away from the first
    and last tenth, where cuts and the dissolve sit), else the 40-80 % stretch, where a
    single shot's action has usually built up."""
    lo, hi = round(frames * 0.1), round(frames * 0.9)
    chosen = {i for a, b in source.highlights for i in range(round(a * fps), round(b * fps)) if lo <= i < hi}
    return chosen or set(range(round(frames * 0.4), max(round(frames * 0.4) + 1, round(frames * 0.8))))


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` scaled to cover ``size`` and cropped to it, centred."""
    w, h = size
    scale = max(w / image.width, h / image.height)
    scaled = image.resize((max(w, round(image.width * scale)), max(h, round(image.height * scale))),
                          Image.Resampling.LANCZOS)  # fmt: skip
    x, y = (scaled.width - w) // 2, (scaled.height - h) // 2
    return scaled.crop((x, y, x + w, y + h))


class _EndCard:
    """The end card: key art pushing in slowly under a dark gradient, the title, a rule and
    the call to action on the left (the overlay's panel sits top right), type fading in."""

    def __init__(self, art: RGB | None, title: str, action: str, size: tuple[int, int], frames: int,
                 fps: int) -> None:  # fmt: skip
        w, h = size
        self.size, self.frames, self.fps = size, max(1, frames), fps
        margin = 1 + KEY_FRAME_ZOOM
        base_size = (math.ceil(w * margin), math.ceil(h * margin))
        if art is not None and art.size:
            self.base = _cover(Image.fromarray(art), base_size)
        else:
            self.base = Image.new("RGB", base_size, (24, 22, 28))
        x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        shade = np.clip(0.12 + 0.8 * (1 - x) ** 1.6, 0, 0.92) + 0.35 * yy**3  # dark left, and low
        keep = np.clip(1 - shade, 0.06, 1)[..., 0]
        self.keep = Image.fromarray(np.round(keep * 255).astype(np.uint8), "L").convert("RGB")
        self.title_layer, self.action_layer = self._type(title, action)

    def _type(self, title: str, action: str) -> tuple[Image.Image, Image.Image]:
        w, h = self.size
        left, width = round(w * 0.075), w * 0.52
        size = max(12, round(h * 0.13))
        words = one_line(title).split() or [""]
        while size > h * 0.05 and max(text_width(word, size, True) for word in words) > width:
            size = round(size * 0.9)
        lines = wrap_text(title, size, width, 2, bold=True)
        action_size = max(10, round(h * 0.05))
        block = len(lines) * size * 1.08 + h * 0.03 + action_size * 1.2
        y = h * 0.47 - block / 2
        layers = []
        for part in ("title", "action"):
            layer = Image.new("RGBA", self.size, (0, 0, 0, 0))
            draw = ImageDraw.Draw(layer)
            cursor = y
            for line in lines:
                if part == "title":
                    draw_text(draw, (left, cursor), line, size, bold=True, fill=(255, 255, 255, 255))
                cursor += size * 1.08
            cursor += h * 0.015
            if part == "title":
                draw.rectangle((left, cursor, left + w * 0.1, cursor + max(2, h * 0.006)), fill=(*ACCENT_RGB, 255))
            cursor += h * 0.03
            if part == "action":
                text = fit_text(action, action_size, width)
                draw_text(draw, (left, cursor), text, action_size, fill=(240, 236, 228, 255))
            shadow = Image.new("RGBA", self.size, (0, 0, 0, 0))
            shadow.putalpha(layer.getchannel("A").filter(ImageFilter.GaussianBlur(max(1, h // 180))))
            layers.append(Image.alpha_composite(shadow, layer))
        return layers[0], layers[1]

    def frame(self, k: int) -> RGB:
        """Card frame ``k`` (0 = the first after the dissolve): the type fades in, the title
        first, the call to action a third of a second later."""
        image = self._background(k).convert("RGBA")
        t = k / self.fps
        for layer, begin in ((self.title_layer, 0.0), (self.action_layer, 0.35)):
            alpha = min(1.0, max(0.0, (t - begin) / 0.45))
            if alpha <= 0:
                continue
            if alpha < 1:
                faded = layer.copy()
                faded.putalpha(layer.getchannel("A").point(lambda a, f=alpha: round(a * f)))
                layer = faded
            image = Image.alpha_composite(image, layer)
        return np.asarray(image.convert("RGB"), np.uint8)

    def background(self, k: int = 0) -> RGB:
        """Card frame ``k`` without its type (frame 0: what the footage dissolves into)."""
        return np.asarray(self._background(k), np.uint8)

    def _background(self, k: int) -> Image.Image:
        w, h = self.size
        zoom = 1 + KEY_FRAME_ZOOM * (k / max(1, self.frames - 1))
        bw, bh = self.base.size
        cw, ch = bw / zoom, bh / zoom  # the whole (5 % larger) art at first, its centre at last
        box = ((bw - cw) / 2, (bh - ch) / 2, (bw + cw) / 2, (bh + ch) / 2)
        picture = self.base.resize((w, h), Image.Resampling.BILINEAR, box=box)
        return ImageChops.multiply(picture, self.keep)


# --------------------------------------------------------------------------- encoding


def _x264_options(size: tuple[int, int], fps: int) -> dict[str, str]:
    """High profile, CRF 19 under a VBV cap (4.5 Mb/s at 720p, scaled by pixels), a keyframe
    every two seconds; x264 ``fast`` (High profile tools, B-frames, CABAC; about half
    the time of ``medium`` for a few per cent more bits)."""
    w, h = size
    maxrate = max(800, round(4500 * (w * h) / (1280 * 720) * (fps / 24) ** 0.5))
    return {"preset": "fast", "profile": "high", "crf": "19", "maxrate": f"{maxrate}k",
            "bufsize": f"{2 * maxrate}k", "g": str(2 * fps), "keyint_min": str(fps),
            "threads": str(min(8, os.cpu_count() or 2))}  # fmt: skip


@dataclass
class _Encoded:
    key_index: int  # footage frame used as key art (-1: none)
    key_frame: RGB | None  # that frame as it shows in the spot
    card: _EndCard


def _encode(target: Path, source: SpotSource, *, size: tuple[int, int], fps: int, footage: int,
            total: int, sound: _Sound, title: str, action: str,
            progress: Progress | None) -> _Encoded:  # fmt: skip
    """Write the spot to ``target``: footage, dissolve, end card; sound interleaved."""
    av = av_module()
    container = av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"})
    track_container(container)
    video = container.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
    video.options = _x264_options(size, fps)
    cc = video.codec_context  # BT.709 limited range, as to_yuv() converts
    cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1
    audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
    audio.bit_rate = AUDIO_KBPS * 1000
    sent = 0  # audio samples encoded so far

    def put_audio(upto: int) -> None:
        nonlocal sent
        last = sound.samples.shape[1]
        while sent < upto and (sent + 1024 <= upto or upto == last):
            chunk = np.ascontiguousarray(sound.samples[:, sent : min(sent + 1024, last)])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = SAMPLE_RATE, sent
            for packet in audio.encode(frame):
                container.mux(packet)
            sent += chunk.shape[1]

    written = 0
    from av.video.reformatter import ColorRange, Colorspace, VideoReformatter

    reformatter = VideoReformatter()  # keeps its swscale context from frame to frame

    def to_yuv(picture: RGB) -> Any:
        # swscale with the BT.709 matrix, limited range: the same codes as core._yuv's
        # rgb_to_yuv420 (checked on flat colours), several times faster.
        return reformatter.reformat(av.VideoFrame.from_ndarray(picture, format="rgb24"), format="yuv420p",
                                    dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)

    def put_video(picture: RGB) -> None:
        nonlocal written
        frame = to_yuv(picture)
        frame.pts = written
        for packet in video.encode(frame):
            container.mux(packet)
        written += 1
        put_audio(round(written / fps * SAMPLE_RATE))
        if progress is not None and (written % 12 == 0 or written == total):
            progress("encode", written, total)

    dissolve = min(footage, round(DISSOLVE_S * fps))
    candidates = _key_candidates(source, footage, fps)
    best: tuple[float, int, RGB | None] = (-1.0, -1, None)
    held: list[RGB] = []
    for i, picture in enumerate(_decode_footage(source, fps, footage, size)):
        if i in candidates:
            score = _key_score(picture, _content_box(picture))
            if score > best[0]:
                best = (score, i, picture.copy())
        if i >= footage - dissolve:
            held.append(picture)
        else:
            put_video(picture)
    key_frame = best[2]
    art = None
    if key_frame is not None:
        x0, y0, x1, y1 = _content_box(key_frame)
        art = key_frame[y0:y1, x0:x1]
    card = _EndCard(art, title, action, size, total - footage, fps)
    under = card.background().astype(np.float32)
    for j, picture in enumerate(held):
        mix = (j + 1) / (len(held) + 1)
        put_video((picture.astype(np.float32) * (1 - mix) + under * mix).round().astype(np.uint8))
    for k in range(total - footage):
        put_video(card.frame(k))
    put_audio(sound.samples.shape[1])
    for packet in video.encode():
        container.mux(packet)
    for packet in audio.encode():
        container.mux(packet)
    container.close()
    return _Encoded(best[1], key_frame, card)


# ------------------------------------------------------------------------ read back


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order (``moov`` before ``mdat`` = faststart)."""
    boxes: list[str] = []
    with path.open("rb") as f:
        size_total = path.stat().st_size
        at = 0
        while at + 8 <= size_total:
            f.seek(at)
            head = f.read(16)
            size = int.from_bytes(head[:4], "big")
            kind = head[4:8].decode("latin-1")
            if size == 1:
                size = int.from_bytes(head[8:16], "big")
            elif size == 0:
                size = size_total - at
            if size < 8:
                break
            boxes.append(kind)
            at += size
    return boxes


def _read_back(path: Path) -> dict[str, Any]:
    """What the written spot holds: frames, exact duration, codec string, audio."""
    av = av_module()
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        extradata = bytes(v.codec_context.extradata or b"")
        if len(extradata) < 4 or extradata[0] != 1:
            raise InternalError("the spot's H.264 stream has no avcC record", path)
        profile, compat, level = extradata[1], extradata[2], extradata[3]
        duration = Fraction(v.duration or 0) * v.time_base if v.time_base else Fraction(0)
        a = c.streams.audio[0] if c.streams.audio else None
        return {
            "frames": int(v.frames),
            "duration": duration,
            "container_duration_s": (c.duration or 0) / 1_000_000,
            "codec": f"avc1.{profile:02x}{compat:02x}{level:02x}",
            "profile": {66: "Baseline", 77: "Main", 88: "Extended", 100: "High"}.get(profile, str(profile)),
            "level": f"{level // 10}.{level % 10}",
            "pix_fmt": v.codec_context.pix_fmt,
            "colorspace": v.codec_context.colorspace,
            "audio": None if a is None else {"codec": a.codec_context.name,
                                             "sample_rate": a.codec_context.sample_rate,
                                             "channels": a.codec_context.channels},  # fmt: skip
            "video_kbps": round((v.bit_rate or 0) / 1000),
        }


def _frames_at(path: Path, indices: Sequence[int]) -> dict[int, RGB]:
    av = av_module()
    wanted = set(indices)
    found: dict[int, RGB] = {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in wanted:
                found[i] = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
                if len(found) == len(wanted):
                    break
    return found


def _contact_strip(path: Path, title: str, header: str, fps: int, total: int, footage: int) -> Image.Image:
    """Six frames across the spot, read back from the file, labelled with their time."""
    indices = [min(total - 1, round((k + 0.5) * total / STRIP_FRAMES)) for k in range(STRIP_FRAMES)]
    frames = _frames_at(path, indices)
    first = next(iter(frames.values()))
    tw = THUMB_WIDTH
    th = round(tw * first.shape[0] / first.shape[1])
    pad, head, label = 12, 44, 30
    sheet = Image.new("RGB", (pad + STRIP_FRAMES * (tw + pad), head + th + label + pad), (18, 18, 22))
    draw = ImageDraw.Draw(sheet)
    draw_text(draw, (pad, 12), fit_text(title, 20, tw * 2), 20, bold=True)
    draw_text(draw, (sheet.width - pad, 16), fit_text(header, 15, sheet.width - tw * 2 - 3 * pad), 15,
              fill=(200, 200, 200), anchor="ra")  # fmt: skip
    for k, index in enumerate(indices):
        x = pad + k * (tw + pad)
        thumb = Image.fromarray(frames[index]).resize((tw, th), Image.Resampling.LANCZOS)
        sheet.paste(thumb, (x, head))
        part = "end card" if index >= footage else "footage"
        draw_text(draw, (x, head + th + 7), f"{index / fps:05.2f} s · frame {index} · {part}", 13,
                  fill=(210, 210, 210))  # fmt: skip
    return sheet


# ---------------------------------------------------------------------- the folder


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "spot"


def _existing(out: Path, key: str, force: bool) -> str:
    """"new" (missing or empty), "same" (this very spot, intact) or "replace" (another
    spot, with ``force``); anything else is refused, saying why."""
    if not out.exists():
        if out.is_symlink():
            raise InputError("is a broken link; give a new folder", out)
        return "new"
    if not out.is_dir():
        raise InputError("exists and is not a folder", out)
    names = sorted(p.name for p in out.iterdir())
    if not names:
        return "new"
    info = out / FILES["creative"]
    old: Any = None
    if info.is_file():
        with contextlib.suppress(OSError, ValueError):
            old = json.loads(info.read_text(encoding="utf-8"))
    if not isinstance(old, dict) or old.get("schema") != SPOT_SCHEMA:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        raise InputError(f"holds other files ({shown}), not a spot of ours; Moviola writes a creative "
                         "into a new or empty folder, or replaces one it wrote (even --force does not "
                         "delete other files); give another --out", out)  # fmt: skip
    if old.get("inputs") == key and _intact(out, old) and not force:
        return "same"
    if not force:
        source = old.get("source", {}) if isinstance(old.get("source"), dict) else {}
        raise InputError(f"holds a different spot ({old.get('id')}, cut from {source.get('name')!r}, "
                         f"{old.get('duration_s')} s, overlay {(old.get('overlay') or {}).get('kind', 'none')}); "
                         "give --force to replace it, or another --out", out)  # fmt: skip
    return "replace"


def _intact(out: Path, info: dict[str, Any]) -> bool:
    files = info.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) and (out / v).is_file() for v in files.values()):
        return False
    spot = out / FILES["spot"]
    return spot.is_file() and sha256_file(spot) == info.get("sha256")


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(staged: Path, out: Path, replace: bool) -> None:
    """Rename the finished folder into place (over a missing or empty folder, or, with
    ``replace``, over the old spot, which is restored if the rename fails)."""
    _fsync_tree(staged)
    try:
        if not replace:
            os.rename(staged, out)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        os.rename(out, old / "spot")
        try:
            os.rename(staged, out)
        except BaseException:
            os.rename(old / "spot", out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise storage_error(exc, out, "cannot put the creative in place") from exc


def _inputs_key(source: SpotSource, source_sha: str, *, length: int, size: tuple[int, int], fps: int,
                title: str, action: str, parameters: dict[str, Any] | None) -> str:  # fmt: skip
    templates = {k: hashlib.sha256(v).hexdigest() for k, v in template_bytes().items()} if parameters else {}
    blob = json.dumps({"v": SPOT_VERSION, "source": [source.kind, source.name, source_sha, source.start_s,
                                                      source.footage_s],
                       "length": length, "size": list(size), "fps": fps, "title": title, "action": action,
                       "overlay": parameters, "templates": templates}, sort_keys=True, ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _timestamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _parse_size(size: tuple[int, int]) -> tuple[int, int]:
    w, h = size
    if not (160 <= w <= 3840 and 90 <= h <= 2160) or w % 2 or h % 2:
        raise InputError(f"a spot's size is even WIDTHxHEIGHT between 160x90 and 3840x2160, not {w}x{h}")
    return w, h


def cut_spot(project: Project, source: str | Path, out: str | Path, *, length: int = 15,
             overlay: OverlaySpec | None = DEFAULT_OVERLAY,
             call_to_action: str = CALL_TO_ACTION, title: str | None = None,
             size: tuple[int, int] = DEFAULT_SIZE, fps: int | None = None, start_s: float | None = None,
             force: bool = False, progress: Progress | None = None,
             credentials: Credentials | None = None) -> SpotResult:  # fmt: skip
    """Cut a ``length``-second spot from ``source`` of ``project`` into the folder ``out``.

    ``source``: a VFX shot name, a previs shot id, ``"animatic"`` or a movie's path (see
    :func:`resolve_source`). ``overlay``: the SIMID overlay to ship beside it (None: none).
    ``fps``: the spot's rate (default the source's, made whole: see :func:`_spot_rate`).
    The folder holds ``spot.mp4``, ``endcard.png``, ``poster.jpg`` (the key frame),
    ``frames.png`` (a strip of six frames to look at), ``creative.json`` (what a VAST
    ``<MediaFile>`` needs, and where it all came from) and ``simid/`` (the overlay).
    Running it again with the same inputs finds the folder intact and returns at once
    (``unchanged``). The movie and the pictures carry Content Credentials (``credentials``,
    by default the project's): the source footage as their parent, the cut as an edit.
    """
    _check_length(length)
    size = _parse_size(size)
    action = one_line(call_to_action)
    if not action or len(action) > 60:
        raise InputError("the call to action must be 1 to 60 characters")
    out = Path(out)
    note_step("ads creative: source", source)
    spot_source = resolve_source(project, source, length=length, start_s=start_s)
    rate = _spot_rate(spot_source.fps) if fps is None else int(fps)
    if not 12 <= rate <= 60:
        raise InputError(f"a spot's frame rate is 12 to 60 fps, not {rate}")
    the_title = one_line(title) if title else _title_of(project)
    title_id = _title_id(project)
    parameters = overlay_parameters(overlay, title=the_title, title_id=title_id) if overlay else None
    source_sha = sha256_file(spot_source.path)
    key = _inputs_key(spot_source, source_sha, length=length, size=size, fps=rate, title=the_title,
                      action=action, parameters=parameters)  # fmt: skip
    state = _existing(out, key, force)
    if state == "same":
        info = json.loads((out / FILES["creative"]).read_text(encoding="utf-8"))
        return SpotResult(out, info, spot_source, unchanged=True)

    total = length * rate
    footage = min(round(spot_source.footage_s * rate), int(spot_source.footage_s * rate + 1e-6))
    notes: list[str] = []
    card_s = (total - footage) / rate
    if card_s > END_CARD_S + 1e-6:
        notes.append(f"the source gives {footage / rate:.2f} s of footage, under the {length - END_CARD_S:g} s "
                     f"a full cut needs: the end card runs {card_s:.2f} s (its key art pushes in)")  # fmt: skip
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
        os.chmod(staged, 0o777 & ~_umask())
    except OSError as exc:
        raise storage_error(exc, out, "cannot write") from exc
    stamp = Stamp(credentials or credentials_for(project), Claim(
        "ad spot", command="moviola ads creative", parent=Ingredient(spot_source.path, "source footage", "parentOf"),
        details={"project": project.name, "source": spot_source.name, "length_s": length,
                 "start_s": round(spot_source.start_s, 3), "call_to_action": action}))  # fmt: skip
    try:
        note_step("ads creative: encode", spot_source.path)
        sound = _spot_sound(spot_source, round(footage / rate * SAMPLE_RATE), round(length * SAMPLE_RATE))
        encoded: list[_Encoded] = []
        atomic_movie(staged / FILES["spot"], lambda tmp: encoded.append(
            _encode(tmp, spot_source, size=size, fps=rate, footage=footage, total=total, sound=sound,
                    title=the_title, action=action, progress=progress)),
            stamp.finisher(staged / FILES["spot"], f"{length} s ad spot for {the_title}"))  # fmt: skip
        spot = staged / FILES["spot"]
        note_step("ads creative: check", spot)
        facts = _read_back(spot)
        if facts["frames"] != total or facts["duration"] != length:
            raise InternalError(f"the spot came out {facts['frames']} frames, {float(facts['duration']):.3f} s; "
                                f"{total} frames, {length} s were meant", spot)  # fmt: skip
        boxes = top_level_boxes(spot)
        if "moov" not in boxes or "mdat" not in boxes or boxes.index("moov") > boxes.index("mdat"):
            raise InternalError(f"the spot's moov box is not before its media ({boxes})", spot)
        if progress is not None:
            progress("check", 1, 2)
        made = encoded[0]
        card = made.card
        def save(name: str, image: Image.Image, what: str, fmt: str = "PNG", **options: Any) -> None:
            buf = io.BytesIO()
            image.save(buf, fmt, **options)
            stamp.write_bytes(staged / FILES[name], buf.getvalue(), what)

        save("end_card", Image.fromarray(card.frame(card.frames - 1)), f"end card of the spot for {the_title}")
        poster = made.key_frame if made.key_frame is not None else card.frame(card.frames - 1)
        save("poster", Image.fromarray(poster), f"poster frame of the spot for {the_title}", "JPEG",
             quality=90, optimize=True)
        header = f"{length} s · {size[0]}x{size[1]} · {rate} fps · {facts['codec']} · from {spot_source.name}"
        save("frames", _contact_strip(spot, the_title, header, rate, total, footage),
             f"frames of the spot for {the_title}")
        if progress is not None:
            progress("check", 2, 2)

        files = dict(FILES)
        overlay_info = None
        if parameters is not None:
            write_overlay(staged, parameters)
            files["overlay"] = f"{OVERLAY_DIR}/overlay.html"
            files["ad_parameters"] = f"{OVERLAY_DIR}/ad_parameters.json"
            overlay_info = {"kind": parameters["kind"], "api_framework": "SIMID", "simid_version": SIMID_VERSION,
                            "file": files["overlay"], "type": "text/html", "variable_duration": False,
                            "parameters": parameters, "ad_parameters": ad_parameters_text(parameters),
                            "tracking": "the ad server adds track.interaction (a URL with a query) to the "
                                        "parameters per decision; the overlay reports the viewer's choice "
                                        "once to that URL + '&v=CHOICE'"}  # fmt: skip
        size_bytes = spot.stat().st_size
        sha = sha256_file(spot)
        creative_id = f"{title_id}-{_slug(spot_source.name)}-{length}s-{key[:6]}"
        info = {
            "schema": SPOT_SCHEMA,
            "id": creative_id,
            "title": the_title,
            "title_id": title_id,
            "project": project.name,
            "duration_s": float(facts["duration"]),
            "duration": _timestamp(float(facts["duration"])),
            "frames": facts["frames"],
            "fps": rate,
            "width": size[0],
            "height": size[1],
            "mime_type": "video/mp4",
            "codec": facts["codec"],
            "codecs": f"{facts['codec']}, mp4a.40.2",
            "profile": facts["profile"],
            "level": facts["level"],
            "pix_fmt": facts["pix_fmt"],
            "colour": "bt709",
            "faststart": True,
            "bitrate_kbps": round(size_bytes * 8 / length / 1000),
            "video_kbps": facts["video_kbps"],
            "size_bytes": size_bytes,
            "sha256": sha,
            "audio": {"codec": "mp4a.40.2", "sample_rate": SAMPLE_RATE, "channels": 2,
                      "bitrate_kbps": AUDIO_KBPS, "from_source": sound.from_source,
                      "loudness_lufs": sound.loudness, "true_peak_dbtp": sound.true_peak,
                      "gain_db": sound.gain_db},  # fmt: skip
            "source": {"kind": spot_source.kind, "name": spot_source.name,
                       "path": _relative(spot_source.path, project), "sha256": source_sha,
                       "start_s": round(spot_source.start_s, 3), "footage_s": round(footage / rate, 3),
                       "available_s": round(spot_source.available_s, 3), "reason": spot_source.reason},  # fmt: skip
            "end_card": {"start_s": round(footage / rate, 3), "duration_s": round(card_s, 3),
                         "dissolve_s": round(min(footage, round(DISSOLVE_S * rate)) / rate, 3),
                         "title": the_title, "call_to_action": action,
                         "key_frame_s": round(made.key_index / rate, 3) if made.key_index >= 0 else None,
                         "key_frame_source_s": round(spot_source.start_s + made.key_index / rate, 3)
                         if made.key_index >= 0 else None},  # fmt: skip
            "overlay": overlay_info,
            "files": files,
            "notes": notes,
            "inputs": key,
            "moviola": __version__,
        }
        text = json.dumps(info, indent=2, ensure_ascii=False) + "\n"
        (staged / FILES["creative"]).write_text(text, encoding="utf-8")
        _publish(staged, out, replace=state == "replace")
    except OSError as exc:
        raise storage_error(exc, out, "cannot write the creative") from exc
    finally:
        shutil.rmtree(staged, ignore_errors=True)  # gone already when it was renamed into place
    return SpotResult(out, info, spot_source, unchanged=False, notes=tuple(notes))


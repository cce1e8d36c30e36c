"""Editorial handoff: the animatic as an OTIO timeline, exported to EDL, FCP7 XML and FCPXML.

Each shot is a clip pointing at its segment of the one animatic movie, so an editor
can import the cut into Resolve, Premiere or Final Cut and relink to the movie.
Times are whole frames at the movie's rate (no float seconds), and both the record
side and the movie's own timecode start at 01:00:00:00.

What each format carries, as OTIO's adapters write and read it back (see
:func:`check_round_trip`):

- ``.otio``: everything, including our shot fields under ``metadata["moviola"]``.
- CMX 3600 EDL: clip names, reel, record and source timecode, the movie URL and the
  scene markers (``* LOC:``, names upper-cased). No metadata. Timecode needs a SMPTE
  rate; 29.97 and 59.94 are written drop-frame (OTIO infers it from the rate).
- FCP7 XML: names, record and source frames, sequence and file timecode, the movie
  path. Integer and NTSC (N×1000/1001) rates only. No shot metadata.
- FCPXML: names, offsets and source starts as exact rational seconds, the movie path,
  clip markers. No shot metadata; we fix the adapter's output where FCP X would
  misread it (see :func:`_fcpx_text`).
"""

from __future__ import annotations

import copy
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from ..core import DocumentError, write_text_atomic

NAMESPACE = "moviola"  # the one metadata key our shot fields live under
START_TIMECODE = "01:00:00:00"
START_TIMECODE_DF = "01:00:00;00"
TRACK_NAME = "V1"
MARKER_COLOR = "BLUE"  # RED/GREEN would become to-do items in FCP X

# key -> (file name, OTIO adapter)
FORMATS: dict[str, tuple[str, str]] = {
    "otio": ("timeline.otio", "otio_json"),
    "edl": ("timeline.edl", "cmx_3600"),
    "fcp7": ("timeline.xml", "fcp_xml"),
    "fcpx": ("timeline.fcpxml", "fcpx_xml"),
}


@dataclass(frozen=True)
class EditClip:
    """One shot of the animatic: where it sits in the movie and what it is."""

    name: str  # shot id, e.g. "6A"
    scene: str  # scene number, e.g. "6" or "7A"
    start: int  # first frame of the clip inside the movie, 0-based
    frames: int  # length in frames (> 0)
    metadata: dict[str, Any] = field(default_factory=dict)  # shot fields, JSON-able


# --------------------------------------------------------------------------- rates


def normalise_rate(fps: float) -> float:
    """The exact rate meant by ``fps``: 23.976 means 24000/1001, and so on.

    A rounded NTSC rate would make every frame land a hair off the grid, and OTIO
    refuses timecode at it.
    """
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"frame rate must be positive, not {fps}")
    if RationalTime.is_valid_timecode_rate(fps):
        return fps
    nearest = float(RationalTime.nearest_valid_timecode_rate(fps))
    return nearest if abs(nearest - fps) < 0.01 else float(fps)


def _drop_frame(fps: float) -> bool:
    # OTIO's EDL writer infers drop-frame for these and cannot be told otherwise,
    # so we count our 01:00:00:00 the same way everywhere.
    return any(abs(fps - n * 1000 / 1001) < 1e-9 for n in (30, 60))


def timecode_start(fps: float) -> RationalTime:
    """01:00:00:00 as a frame count at ``fps`` (timecode counts frames, not seconds).

    At 23.976 that is frame 86400, i.e. 3603.6 s; at rates without SMPTE timecode,
    one hour of frames.
    """
    fps = normalise_rate(fps)
    if RationalTime.is_valid_timecode_rate(fps):
        tc = START_TIMECODE_DF if _drop_frame(fps) else START_TIMECODE
        return otio.opentime.from_timecode(tc, fps)
    return RationalTime(round(3600 * fps), fps)


def _ntsc_or_integer(fps: float) -> bool:
    return fps == int(fps) or abs(fps - math.ceil(fps) * 1000 / 1001) < 1e-9


def formats_for_rate(fps: float) -> tuple[str, ...]:
    """The export keys OTIO's adapters can write faithfully at ``fps``."""
    fps = normalise_rate(fps)
    keys = ["otio"]
    if RationalTime.is_valid_timecode_rate(fps):
        keys.append("edl")
    if _ntsc_or_integer(fps):
        keys.append("fcp7")
    keys.append("fcpx")  # any rate: we write the exact frame duration ourselves
    return tuple(keys)


# ------------------------------------------------------------------------ timeline


def build_timeline(
    clips: Sequence[EditClip], fps: float, movie: Path, name: str
) -> otio.schema.Timeline:
    """One video track of clips, each an exact frame range of ``movie``.

    Record time starts at 01:00:00:00 (``global_start_time``) and so does the
    movie's timecode, so a clip's source range is that start plus its frames.
    A scene marker sits on the first clip of each run of a scene.
    """
    try:
        fps = normalise_rate(fps)
    except ValueError as exc:
        raise DocumentError(str(exc), path=movie) from exc
    if not clips:
        raise DocumentError("no shots to put in the editorial timeline", path=movie)
    origin = timecode_start(fps)
    movie_end = 0
    for clip in clips:
        if not clip.name:
            raise DocumentError(f"a shot of scene {clip.scene} has no id", path=movie)
        if clip.frames <= 0 or clip.start < 0:
            raise DocumentError(
                f"shot {clip.name}: start {clip.start} and length {clip.frames} frames "
                "do not describe a part of the movie",
                path=movie,
            )
        movie_end = max(movie_end, clip.start + clip.frames)
    url = movie.resolve().as_uri()
    available = TimeRange(origin, RationalTime(movie_end, fps))

    timeline = otio.schema.Timeline(name=name, global_start_time=origin)
    track = otio.schema.Track(name=TRACK_NAME, kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    previous_scene: str | None = None
    for clip in clips:
        reference = otio.schema.ExternalReference(target_url=url, available_range=available)
        reference.name = movie.name
        item = otio.schema.Clip(
            name=clip.name,
            media_reference=reference,
            source_range=TimeRange(
                origin + RationalTime(clip.start, fps), RationalTime(clip.frames, fps)
            ),
            metadata={NAMESPACE: _shot_metadata(clip, movie)},
        )
        if clip.scene != previous_scene:
            item.markers.append(
                otio.schema.Marker(
                    name=f"SCENE {clip.scene}",
                    marked_range=TimeRange(item.source_range.start_time, RationalTime(0, fps)),
                    color=MARKER_COLOR,
                    metadata={NAMESPACE: {"scene": clip.scene}},
                )
            )
        previous_scene = clip.scene
        track.append(item)
    return timeline


def _shot_metadata(clip: EditClip, movie: Path) -> dict[str, Any]:
    try:  # a JSON round trip both checks and normalises (tuples become lists)
        fields = json.loads(json.dumps({**clip.metadata, "scene": clip.scene}, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise DocumentError(f"shot {clip.name}: metadata is not JSON: {exc}", path=movie) from exc
    assert isinstance(fields, dict)
    return fields


def _rate_of(timeline: otio.schema.Timeline) -> float:
    if timeline.global_start_time is not None:
        return float(timeline.global_start_time.rate)
    for clip in timeline.find_clips():
        return float(clip.source_range.duration.rate)
    raise ValueError("the timeline has no clips and no start time")


def _origin_of(timeline: otio.schema.Timeline, fps: float) -> RationalTime:
    start = timeline.global_start_time
    return start if start is not None else RationalTime(0, fps)


# ------------------------------------------------------------------------- writing


def write_timeline_files(
    timeline: otio.schema.Timeline,
    out_dir: Path,
    formats: Sequence[str] = tuple(FORMATS),
) -> dict[str, Path]:
    """Write ``timeline`` as .otio, .edl, FCP7 .xml and .fcpxml in ``out_dir``.

    Every format is rendered before any file is written, so an adapter failure
    leaves nothing behind; each file is then replaced atomically. Raises
    :class:`DocumentError` naming the file that could not be made.
    """
    try:
        fps = _rate_of(timeline)
    except ValueError as exc:
        raise DocumentError(str(exc), path=out_dir) from exc
    rendered: dict[str, tuple[Path, str]] = {}
    for key in formats:
        if key not in FORMATS:
            raise ValueError(f"unknown editorial format {key!r}")
        filename, _ = FORMATS[key]
        target = out_dir / filename
        try:
            rendered[key] = (target, _RENDERERS[key](timeline, fps))
        except Exception as exc:  # adapters raise anything from KeyError to OTIOError
            raise DocumentError(
                f"cannot export the timeline as {key}: {type(exc).__name__}: {exc}", path=target
            ) from exc
    written: dict[str, Path] = {}
    for key, (target, text) in rendered.items():
        try:
            written[key] = write_text_atomic(target, text)
        except OSError as exc:
            raise DocumentError(f"cannot write: {exc.strerror or exc}", path=target) from exc
    return written


def _otio_text(timeline: otio.schema.Timeline, fps: float) -> str:
    return str(otio.adapters.write_to_string(timeline, "otio_json"))


def _movie_path(timeline: otio.schema.Timeline) -> Path | None:
    for clip in timeline.find_clips():
        url = getattr(clip.media_reference, "target_url", None)
        if url:
            return Path(unquote(urlparse(str(url)).path))
    return None


def _edl_reel(timeline: otio.schema.Timeline) -> str:
    """A CMX reel name (≤ 8 of A-Z, 0-9) from the movie's file name, else "AX"."""
    movie = _movie_path(timeline)
    stem = movie.stem if movie is not None else ""
    return re.sub(r"[^A-Z0-9]", "", stem.upper())[:8] or "AX"


def _edl_text(timeline: otio.schema.Timeline, fps: float) -> str:
    export = copy.deepcopy(timeline)
    reel = _edl_reel(export)
    for clip in export.find_clips():
        # An explicit reel: without it the adapter derives one from the file name
        # (lower case, padded) and adds an "OTIO TRUNCATED REEL NAME" comment.
        clip.metadata["cmx_3600"] = {"reel": reel}
    origin = _origin_of(export, fps)
    if origin.value:
        # The adapter takes record time from the track, ignoring global_start_time;
        # trimming the track by -origin is what its own reader does for 01:00:00:00.
        for track in export.tracks:
            duration = track.available_range().duration
            track.source_range = TimeRange(RationalTime(0, fps) - origin, duration)
    text = str(
        otio.adapters.write_to_string(export, "cmx_3600", rate=fps, style="avid", reelname_len=8)
    )
    fcm = "FCM: DROP FRAME" if _drop_frame(fps) else "FCM: NON-DROP FRAME"
    lines = text.split("\n")
    at = 1 if lines and lines[0].startswith("TITLE:") else 0
    return "\n".join([*lines[:at], fcm, *lines[at:]])


def _fcp7_text(timeline: otio.schema.Timeline, fps: float) -> str:
    if not _ntsc_or_integer(fps):
        # The adapter writes <timebase>ceil(fps)</timebase> with ntsc TRUE, which
        # reads back as ceil(fps)*1000/1001: every time would be wrong.
        raise ValueError(f"FCP7 XML has no way to say {fps:g} fps")
    export = copy.deepcopy(timeline)
    # Scene markers become sequence markers at their record frame: the adapter
    # writes clip markers' OTIO (timecode) frame as <in>, where FCP7 apps expect a
    # frame counted from the start of the media, so they would land off the clip.
    for track in export.tracks:
        for clip in track.find_clips():
            at = clip.range_in_parent().start_time - clip.source_range.start_time
            for marker in list(clip.markers):
                moved = copy.deepcopy(marker)
                moved.marked_range = TimeRange(
                    marker.marked_range.start_time + at, marker.marked_range.duration
                )
                export.tracks.markers.append(moved)
            clip.markers.clear()
            if _drop_frame(fps):
                _ask_fcp7_drop_frame(clip.media_reference)
    if _drop_frame(fps):
        _ask_fcp7_drop_frame(export)
    return str(otio.adapters.write_to_string(export, "fcp_xml"))


def _ask_fcp7_drop_frame(item: Any) -> None:
    # The adapter reads the displayformat of <timecode> from fcp_xml metadata.
    item.metadata["fcp_xml"] = {"timecode": {"displayformat": "DF"}}


def _fraction_of_rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001 * 1000)


def _seconds(value: Fraction) -> str:
    return f"{value.numerator}s" if value.denominator == 1 else f"{value}s"


def _parse_seconds(text: str | None) -> Fraction:
    if not text or text == "0s":
        return Fraction(0)
    return Fraction(text.removesuffix("s"))


def _fcpx_text(timeline: otio.schema.Timeline, fps: float) -> str:
    """The adapter's FCPXML, corrected where Final Cut Pro would misread it.

    - ``frameDuration`` comes from a table keyed by ``int(fps)``, so 23.976 and any
      rate not in it get an empty one: we write the exact 1/fps.
    - ``<video offset="0s">`` inside each clip ignores the asset's start timecode, so
      the media would sit an hour before the clip's range: we set the video's offset
      and start to the asset's start.
    - The sequence gets ``tcStart`` (01:00:00:00), which the adapter drops.
    - The format's name (from ffprobe, when installed, with the rate as a float, e.g.
      "FFVideoFormat1080p24.0") is not one FCP knows: we leave it out.
    - The adapter adds one whole-movie browser clip per shot name at the top level:
      we remove them, as an editor would see N copies of the movie named like shots.
    """
    text = str(otio.adapters.write_to_string(timeline, "fcpx_xml"))
    root = ET.fromstring(text)
    frame = 1 / _fraction_of_rate(fps)
    for fmt in root.iter("format"):
        fmt.set("frameDuration", _seconds(frame))
        fmt.attrib.pop("name", None)
    movie = _movie_path(timeline)
    assets = {a.get("id"): a for a in root.iter("asset")}
    for asset in assets.values():
        if movie is not None:
            asset.set("name", movie.name)  # the adapter names it after the first shot
    for video in root.iter("video"):
        owner = assets.get(video.get("ref"))
        if owner is not None and owner.get("start"):
            video.set("offset", owner.get("start", "0s"))
            video.set("start", owner.get("start", "0s"))
    for stray in root.findall("asset-clip"):
        root.remove(stray)
    origin = _origin_of(timeline, fps)
    for sequence in root.iter("sequence"):
        sequence.set("tcStart", _seconds(int(origin.value) * frame))
        sequence.set("tcFormat", "DF" if _drop_frame(fps) else "NDF")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{body}\n'


_RENDERERS = {"otio": _otio_text, "edl": _edl_text, "fcp7": _fcp7_text, "fcpx": _fcpx_text}


# ---------------------------------------------------------------------- round trip


@dataclass(frozen=True)
class _Cut:
    """What one clip says, in whole frames at the timeline's rate."""

    name: str
    record: tuple[int, int] | None  # absolute record frame (timecode count), length
    source: tuple[int, int] | None  # movie timecode frame, length
    url: str | None
    available: tuple[int, int] | None  # the movie's range as the file declares it
    metadata: Any


@dataclass(frozen=True)
class _Reading:
    title: str
    cuts: list[_Cut]
    markers: list[tuple[str, int | None]]  # name, absolute record frame


def _frames(time: RationalTime, fps: float) -> int | None:
    value = float(time.value_rescaled_to(fps))
    whole = round(value)
    return whole if abs(value - whole) < 1e-6 else None


def _span(time_range: TimeRange | None, fps: float) -> tuple[int, int] | None:
    if time_range is None:
        return None
    start = _frames(time_range.start_time, fps)
    length = _frames(time_range.duration, fps)
    return None if start is None or length is None else (start, length)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


def _reading(
    timeline: otio.schema.Timeline, fps: float, origin: RationalTime | None = None
) -> _Reading:
    """Summarise a timeline; record times count from ``origin`` if it has no start time."""
    start = timeline.global_start_time
    if start is None:
        start = origin if origin is not None else RationalTime(0, fps)
    cuts: list[_Cut] = []
    markers: list[tuple[str, int | None]] = []
    for track in timeline.video_tracks():
        for clip in track.find_clips():
            # Through the track's own trim: the EDL reader keeps 01:00:00:00 there.
            record = clip.transformed_time_range(clip.trimmed_range(), timeline.tracks)
            record = TimeRange(record.start_time + start, record.duration)
            reference = clip.media_reference
            cuts.append(
                _Cut(
                    name=str(clip.name),
                    record=_span(record, fps),
                    source=_span(clip.source_range, fps),
                    url=getattr(reference, "target_url", None),
                    available=_span(reference.available_range, fps),
                    metadata=_plain(clip.metadata.get(NAMESPACE)),
                )
            )
            for marker in clip.markers:
                at = marker.marked_range.start_time - clip.source_range.start_time
                markers.append((str(marker.name), _frames(record.start_time + at, fps)))
    for marker in timeline.tracks.markers:
        markers.append((str(marker.name), _frames(marker.marked_range.start_time + start, fps)))
    return _Reading(str(timeline.name), cuts, markers)


# The _Cut fields each reading carries (names, clip count and title always count).
# OTIO's FCPXML reader turns rational seconds into frames with int(seconds * int(fps)):
# 29 frames at 25 fps read back as 28, and 23.976 is read as 23 fps. Its times are
# therefore not compared; the exact reading checks them instead.
_CARRIES: dict[str, tuple[str, ...]] = {
    "otio": ("record", "source", "url", "available", "metadata"),
    "edl": ("record", "source", "url"),
    "fcp7": ("record", "source", "url", "available"),
    "fcpx": ("url",),
    "fcpx exact": ("record", "source", "url", "available"),
}


def check_round_trip(files: Mapping[str, Path], timeline: otio.schema.Timeline) -> list[str]:
    """Read each written file back and compare it with ``timeline``, frame for frame.

    Compares clip count, names, record and source ranges (whole frames), the movie
    URL, the title and the scene markers, plus whatever else a format carries:
    the movie's declared range (not in an EDL) and our metadata (.otio only).
    Returns one line per difference, each starting with the file; empty is good.

    Every file is read with OTIO's own adapter. OTIO's FCPXML reader rounds times
    down to frames of an integer rate, so for the FCPXML it vouches for names, the
    movie and the markers' names only; times there are checked by an exact reading
    of the rational seconds, which is how Final Cut reads them.
    """
    fps = _rate_of(timeline)
    origin = _origin_of(timeline, fps)
    expected = _reading(timeline, fps)
    problems: list[str] = []
    for key, path in files.items():
        if key not in FORMATS:
            problems.append(f"{path}: unknown editorial format {key!r}")
            continue
        labels = [key, "fcpx exact"] if key == "fcpx" else [key]
        for label in labels:
            try:
                if label == "fcpx exact":
                    got = _read_fcpx_exactly(path, fps)
                else:
                    got = _read_with_otio(key, path, fps, origin)
            except Exception as exc:  # a reader failing on our own file is the finding
                how = "read exactly" if label == "fcpx exact" else "read back by OTIO"
                problems.append(f"{path}: cannot be {how}: {type(exc).__name__}: {exc}")
                continue
            problems += [f"{path}: {p}" for p in _compare(label, expected, got, fps)]
    return problems


def _read_with_otio(key: str, path: Path, fps: float, origin: RationalTime) -> _Reading:
    adapter = FORMATS[key][1]
    options = {"rate": fps} if key == "edl" else {}
    result = otio.adapters.read_from_file(str(path), adapter_name=adapter, **options)
    if not isinstance(result, otio.schema.Timeline):
        raise ValueError(f"expected one timeline, got {type(result).__name__}")
    # The EDL reader keeps the record start in the track's trim (which _reading
    # follows); OTIO's FCPXML reader drops tcStart, so its times count from zero.
    return _reading(result, fps, origin if key == "fcpx" else None)


def _read_fcpx_exactly(path: Path, fps: float) -> _Reading:
    """Final Cut's view of the file: rational seconds over the format's frame duration."""
    root = ET.parse(path).getroot()
    formats = {f.get("id"): _parse_seconds(f.get("frameDuration")) for f in root.iter("format")}
    assets = {a.get("id"): a for a in root.iter("asset")}
    project = root.find(".//project")
    sequence = project.find("sequence") if project is not None else None
    if project is None or sequence is None:
        raise ValueError("no project with a sequence")
    frame = formats.get(sequence.get("format"))
    if not frame:
        raise ValueError("the sequence's format has no frame duration")
    if frame != 1 / _fraction_of_rate(fps):
        raise ValueError(f"frame duration {frame}s is not 1/{fps:g} s")

    def count(text: str | None) -> int | None:
        frames = _parse_seconds(text) / frame
        return int(frames) if frames.denominator == 1 else None

    def pair(a: int | None, b: int | None) -> tuple[int, int] | None:
        return None if a is None or b is None else (a, b)

    tc_start = count(sequence.get("tcStart")) or 0
    cuts: list[_Cut] = []
    markers: list[tuple[str, int | None]] = []
    for clip in sequence.iterfind("spine/clip"):
        offset, start = count(clip.get("offset")), count(clip.get("start"))
        length = count(clip.get("duration"))
        video = clip.find("video")
        asset = assets.get(video.get("ref")) if video is not None else None
        record = None if offset is None else offset + tc_start
        cuts.append(
            _Cut(
                name=clip.get("name", ""),
                record=pair(record, length),
                source=pair(start, length),
                url=asset.get("src") if asset is not None else None,
                available=(
                    pair(count(asset.get("start")), count(asset.get("duration")))
                    if asset is not None
                    else None
                ),
                metadata=None,
            )
        )
        for marker in clip.iterfind("marker"):
            at = count(marker.get("start"))
            where = None if at is None or start is None or record is None else record + at - start
            markers.append((marker.get("value", ""), where))
    return _Reading(project.get("name", ""), cuts, markers)


def _compare(key: str, expected: _Reading, got: _Reading, fps: float) -> list[str]:
    """The differences ``key``'s reading can show (see _CARRIES)."""
    problems: list[str] = []
    if got.title != expected.title:
        problems.append(f"title {got.title!r}, expected {expected.title!r}")
    if len(got.cuts) != len(expected.cuts):
        problems.append(f"{len(got.cuts)} clips, expected {len(expected.cuts)}")
    for index, (want, have) in enumerate(zip(expected.cuts, got.cuts, strict=False), 1):
        if have.name != want.name:
            problems.append(f"clip {index} is named {have.name!r}, expected {want.name!r}")
        for attribute in _CARRIES[key]:
            mine, theirs = getattr(want, attribute), getattr(have, attribute)
            if theirs != mine:
                problems.append(f"clip {index} ({want.name}) {attribute} {theirs}, expected {mine}")
    want_markers, got_markers = expected.markers, got.markers
    if key == "edl":  # the writer upper-cases LOC comments
        want_markers = [(name.upper(), at) for name, at in want_markers]
    if key == "fcpx":  # times as above
        want_markers = [(name, None) for name, _ in want_markers]
        got_markers = [(name, None) for name, _ in got_markers]
    # OTIO's EDL reader skips LOC lines with drop-frame timecode (a ';' in them).
    if got_markers != want_markers and not (key == "edl" and _drop_frame(fps)):
        problems.append(f"markers {got_markers}, expected {want_markers}")
    prefix = "read exactly, " if key == "fcpx exact" else ""
    return [prefix + problem for problem in problems]

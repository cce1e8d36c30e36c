"""Editorial handoff: the animatic as an OTIO timeline, exported to EDL, FCP7 XML and FCPXML.

Each shot is a clip pointing at its segment of the one animatic movie, so an editor
can import the cut into Resolve, Premiere or Final Cut and relink to the movie. When
the movie carries the scratch dialogue, each shot also has a sound clip on an audio
track (A1) over the same frames of the same movie (see :func:`build_timeline`).
Times are whole frames at the movie's rate (no float seconds), and both the record
side and the movie's own timecode start at 01:00:00:00.

What each format carries, as OTIO's adapters write and read it back (see
:func:`check_round_trip`):

- ``.otio``: everything, including our shot fields under ``metadata["moviola"]`` and
  the A1 track.
- CMX 3600 EDL: clip names, reel, record and source timecode, the movie URL and the
  scene markers (``* LOC:``, names upper-cased). The sound is the channel field:
  ``B`` (picture and A1) on each event instead of ``V``. OTIO's writer writes the
  video track only, so we set the field; as an event carries its sound with its
  picture, sound cut otherwise than the picture cannot be written (an error, not a
  silent loss). No metadata. Timecode needs a SMPTE rate; 29.97 and 59.94 are
  written drop-frame (OTIO infers it from the rate).
- FCP7 XML: names, record and source frames, sequence and file timecode, the movie
  path. The sound is an ``<audio>`` track of clipitems on the same ``<file>``, each
  with ``<sourcetrack>`` audio and ``<link>``-ed to its picture; the file declares
  its channel and rate (see :func:`_fcp7_fix_sound`). Integer and NTSC
  (N×1000/1001) rates only. No shot metadata.
- FCPXML: names, offsets and source starts as exact rational seconds, the movie path,
  clip markers. The sound is the asset's own (``hasAudio="1"``, one mono source):
  each shot is an ``asset-clip`` of it, which plays picture and sound together, with
  the dialogue role. OTIO's reader sees asset-clips as picture only, so the sound is
  checked by the exact reading; sound cut otherwise than the picture cannot be
  written. No shot metadata; we fix the adapter's output where FCP X would misread it
  (see :func:`_fcpx_text`).
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
AUDIO_TRACK_NAME = "A1"
# The animatic's sound as _animatic.join_movie muxes it: mono AAC at 48 kHz.
AUDIO_CHANNELS = 1
AUDIO_RATE = 48000
AUDIO_ROLE = "dialogue"  # FCP X's role for the scratch voices
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
    clips: Sequence[EditClip],
    fps: float,
    movie: Path,
    name: str,
    *,
    audio: bool = True,
) -> otio.schema.Timeline:
    """A video track "V1" of clips, each an exact frame range of ``movie``, and, when
    the movie has sound (``audio``), an audio track "A1" of its scratch dialogue.

    Record time starts at 01:00:00:00 (``global_start_time``) and so does the
    movie's timecode, so a clip's source range is that start plus its frames.
    A scene marker sits on the first clip of each run of a scene.

    The sound is one clip per shot, named like the shot, over the same frames of the
    same movie (same URL, same source range) as its picture, rather than one clip
    under the whole cut. Each shot's picture and sound then import as a pair that
    moves, trims and relinks together, and that an editor can still split (a J or L
    cut, a line laid over the reverse) as editors expect to; one long sound clip
    would drift out of sync at the first recut and could not follow a trimmed shot.
    Shot fields and scene markers stay on the picture. Pass ``audio=False`` for a
    silent movie: a track of sound that is not there would only mislead.
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

    def reference() -> otio.schema.ExternalReference:
        ref = otio.schema.ExternalReference(target_url=url, available_range=available)
        ref.name = movie.name
        return ref

    timeline = otio.schema.Timeline(name=name, global_start_time=origin)
    track = otio.schema.Track(name=TRACK_NAME, kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    sound: otio.schema.Track | None = None
    if audio:
        sound = otio.schema.Track(name=AUDIO_TRACK_NAME, kind=otio.schema.TrackKind.Audio)
        timeline.tracks.append(sound)
    previous_scene: str | None = None
    for clip in clips:
        item = otio.schema.Clip(
            name=clip.name,
            media_reference=reference(),
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
        if sound is not None:
            sound.append(
                otio.schema.Clip(
                    name=clip.name, media_reference=reference(), source_range=item.source_range
                )
            )
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


def _heard_urls(timeline: otio.schema.Timeline) -> set[str]:
    """The media whose sound the timeline plays."""
    return {
        str(url)
        for track in timeline.audio_tracks()
        for clip in track.find_clips()
        if (url := getattr(clip.media_reference, "target_url", None))
    }


def _sound_follows_picture(timeline: otio.schema.Timeline) -> bool:
    """Whether the timeline has sound, cut exactly as its picture (A1 mirrors V1).

    An EDL event and an FCPXML asset-clip, as we write them, carry a shot's sound
    with its picture; sound cut any other way (its own ranges, a second track) raises
    ValueError rather than being left out.
    """
    sound = [t for t in timeline.audio_tracks() if any(True for _ in t.find_clips())]
    if not sound:
        return False
    pictures = timeline.video_tracks()
    if len(sound) != 1 or len(pictures) != 1:
        raise ValueError(
            f"{len(sound)} audio and {len(pictures)} video tracks: only one of each, "
            "cut together, can be written"
        )

    def cut(track: otio.schema.Track) -> list[tuple[Any, ...]]:
        return [
            (
                clip.range_in_parent(),
                clip.source_range,
                getattr(clip.media_reference, "target_url", None),
            )
            for clip in track.find_clips()
        ]

    if cut(sound[0]) != cut(pictures[0]):
        raise ValueError(
            f"the sound ({sound[0].name}) is not cut with the picture ({pictures[0].name}): "
            "only sound that follows the picture can be written"
        )
    return True


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
    sound = _sound_follows_picture(timeline)
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
    if sound:
        # The writer writes the video track only, every event "V". "B" is CMX 3600's
        # picture and audio channel 1 (A1), which OTIO's and pycmx's readers both know.
        text, events = _EDL_PICTURE_ONLY.subn(r"\g<1>B    ", text)
        clips = sum(1 for _ in export.video_tracks()[0].find_clips())
        if events != clips:
            raise ValueError(f"{events} picture events for {clips} clips with sound")
    fcm = "FCM: DROP FRAME" if _drop_frame(fps) else "FCM: NON-DROP FRAME"
    lines = text.split("\n")
    at = 1 if lines and lines[0].startswith("TITLE:") else 0
    return "\n".join([*lines[:at], fcm, *lines[at:]])


# An event line as OTIO writes it: number, reel padded to 8, channel padded to 5, cut.
_EDL_PICTURE_ONLY = re.compile(r"^(\d{3}  .{8} )V    (?= C )", re.MULTILINE)


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
    root = ET.fromstring(str(otio.adapters.write_to_string(export, "fcp_xml")))
    _fcp7_fix_sound(root, _heard_urls(timeline))
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n{body}\n'


def _fcp7_fix_sound(root: ET.Element, heard: set[str]) -> None:
    """Give the adapter's FCP7 XML what Premiere and FCP 7 need to play the sound.

    - Each ``<file>`` says what the movie holds. The adapter gives every file an empty
      ``<audio/>``; we describe the movie's sound (rate, channels) when the timeline
      plays it (``heard``), and drop it when the movie is silent.
    - Each clipitem of an ``<audio>`` track names the file's track it plays
      (``<sourcetrack>``: audio, track 1).
    - A sound clipitem cut exactly like a picture clipitem (same file, same record
      and source frames) is ``<link>``-ed to it, both ways, so the pair imports as
      one clip that moves together and can still be unlinked for a split edit.
    """
    for file_e in root.iter("file"):
        media = file_e.find("media")
        if media is None:
            continue
        for old in media.findall("audio"):
            media.remove(old)
        if file_e.findtext("pathurl") in heard:
            audio = ET.SubElement(media, "audio")
            sample = ET.SubElement(audio, "samplecharacteristics")
            ET.SubElement(sample, "depth").text = "16"
            ET.SubElement(sample, "samplerate").text = str(AUDIO_RATE)
            ET.SubElement(audio, "channelcount").text = str(AUDIO_CHANNELS)
    for sequence in root.iter("sequence"):
        pictures = _fcp7_items(sequence, "video")
        sounds = _fcp7_items(sequence, "audio")
        for item in sounds:
            if item.element.find("sourcetrack") is None:
                source = ET.SubElement(item.element, "sourcetrack")
                ET.SubElement(source, "mediatype").text = "audio"
                ET.SubElement(source, "trackindex").text = "1"
        unlinked = {item.cut: item for item in reversed(pictures)}  # the first of equals
        for item in sounds:
            picture = unlinked.pop(item.cut, None)
            if picture is None or item.element.find("link") is not None:
                continue
            for member in (picture, item):
                for linked in (picture, item):
                    link = ET.SubElement(member.element, "link")
                    ET.SubElement(link, "linkclipref").text = linked.element.get("id")
                    ET.SubElement(link, "mediatype").text = linked.kind
                    ET.SubElement(link, "trackindex").text = str(linked.track)
                    ET.SubElement(link, "clipindex").text = str(linked.index)
                    if linked.kind == "audio":
                        ET.SubElement(link, "groupindex").text = "1"


@dataclass(frozen=True)
class _Fcp7Item:
    element: ET.Element
    kind: str  # "video" or "audio"
    track: int  # 1-based, within its kind
    index: int  # 1-based, among the track's items
    cut: tuple[str | None, ...]  # file id, start, end, in, out


def _fcp7_items(sequence: ET.Element, kind: str) -> list[_Fcp7Item]:
    items: list[_Fcp7Item] = []
    for track_index, track in enumerate(sequence.iterfind(f"media/{kind}/track"), 1):
        children = [e for e in track if e.tag in ("clipitem", "generatoritem", "transitionitem")]
        for index, element in enumerate(children, 1):
            if element.tag != "clipitem":
                continue
            file_e = element.find("file")
            cut = (
                file_e.get("id") if file_e is not None else None,
                *(element.findtext(tag) for tag in ("start", "end", "in", "out")),
            )
            items.append(_Fcp7Item(element, kind, track_index, index, cut))
    return items


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
    - Each shot is a ``<clip>`` holding a ``<video offset="0s">`` that ignores the
      asset's start timecode (the media would sit an hour before the clip's range)
      and plays no sound. We write each shot as an ``<asset-clip>`` of the movie
      instead, the form Final Cut itself writes: same name, offset, start and
      duration, it plays the asset's picture and, when the asset has sound, its
      sound, in sync, with the dialogue role. The shot's markers stay on it.
    - The adapter's own sound, a connected clip per shot holding a gap the length of
      the movie with an ``<audio>`` of the whole movie from 0s (before the asset's
      01:00:00:00 start), would not play the shot's sound; at 23.976, 29.97 or 12.5
      fps the adapter fails on it outright. So it is given the picture only, and the
      sound is the asset's, played by the asset-clips.
    - The asset declares its sound as the timeline has it: ``hasAudio="1"`` with one
      source of :data:`AUDIO_CHANNELS` channels at :data:`AUDIO_RATE`, or
      ``hasAudio="0"`` for a silent movie.
    - The sequence gets ``tcStart`` (01:00:00:00), which the adapter drops.
    - The format's name (from ffprobe, when installed, with the rate as a float, e.g.
      "FFVideoFormat1080p24.0") is not one FCP knows: we leave it out.
    - The adapter adds one whole-movie browser clip per shot name at the top level:
      we remove them, as an editor would see N copies of the movie named like shots.
    """
    sound = _sound_follows_picture(timeline)
    heard = _heard_urls(timeline) if sound else set()
    picture = copy.deepcopy(timeline)
    for track in list(picture.tracks):
        if track.kind == otio.schema.TrackKind.Audio:
            picture.tracks.remove(track)
    text = str(otio.adapters.write_to_string(picture, "fcpx_xml"))
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
        if asset.get("src") in heard:
            asset.set("hasAudio", "1")
            asset.set("audioSources", "1")
            asset.set("audioChannels", str(AUDIO_CHANNELS))
            asset.set("audioRate", str(AUDIO_RATE))
        else:
            asset.set("hasAudio", "0")
            for name in ("audioSources", "audioChannels", "audioRate"):
                asset.attrib.pop(name, None)
    for spine in list(root.iter("spine")):
        for index, clip in enumerate(list(spine)):
            video = clip.find("video")
            owner = assets.get(video.get("ref")) if video is not None else None
            if clip.tag != "clip" or video is None or owner is None:
                continue
            shot = ET.Element("asset-clip", {"ref": str(owner.get("id"))})
            for name in ("name", "offset", "duration", "start"):
                if clip.get(name) is not None:
                    shot.set(name, str(clip.get(name)))
            if owner.get("hasAudio") == "1":
                shot.set("audioRole", AUDIO_ROLE)
            # what is anchored to it (the adapter's sound) goes; markers and the like stay
            shot.extend(c for c in clip if c is not video and c.get("lane") is None)
            spine[index] = shot
    for stray in root.findall("asset-clip"):
        root.remove(stray)
    origin = _origin_of(timeline, fps)
    for sequence in root.iter("sequence"):
        sequence.set("tcStart", _seconds(int(origin.value) * frame))
        sequence.set("tcFormat", "DF" if _drop_frame(fps) else "NDF")
    ET.indent(root, space="    ")
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
    cuts: list[_Cut]  # the picture
    markers: list[tuple[str, int | None]]  # name, absolute record frame
    sound: list[_Cut] = field(default_factory=list)  # the audio tracks' clips


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

    def record_of(clip: otio.schema.Clip) -> TimeRange:
        # Through the track's own trim: the EDL reader keeps 01:00:00:00 there.
        record = clip.transformed_time_range(clip.trimmed_range(), timeline.tracks)
        return TimeRange(record.start_time + start, record.duration)

    def cut_of(clip: otio.schema.Clip) -> _Cut:
        reference = clip.media_reference
        return _Cut(
            name=str(clip.name),
            record=_span(record_of(clip), fps),
            source=_span(clip.source_range, fps),
            url=getattr(reference, "target_url", None),
            available=_span(reference.available_range, fps),
            metadata=_plain(clip.metadata.get(NAMESPACE)),
        )

    cuts: list[_Cut] = []
    markers: list[tuple[str, int | None]] = []
    for track in timeline.video_tracks():
        for clip in track.find_clips():
            cuts.append(cut_of(clip))
            record = record_of(clip)
            for marker in clip.markers:
                at = marker.marked_range.start_time - clip.source_range.start_time
                markers.append((str(marker.name), _frames(record.start_time + at, fps)))
    for marker in timeline.tracks.markers:
        markers.append((str(marker.name), _frames(marker.marked_range.start_time + start, fps)))
    sound = [cut_of(clip) for track in timeline.audio_tracks() for clip in track.find_clips()]
    return _Reading(str(timeline.name), cuts, markers, sound)


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
# The readings that see the sound (compared like the picture, with the same fields).
# OTIO's FCPXML reader takes an asset-clip for picture only; the exact reading hears it.
_HEARS = {"otio", "edl", "fcp7", "fcpx exact"}


def check_round_trip(files: Mapping[str, Path], timeline: otio.schema.Timeline) -> list[str]:
    """Read each written file back and compare it with ``timeline``, frame for frame.

    Compares clip count, names, record and source ranges (whole frames), the movie
    URL, the title and the scene markers, plus whatever else a format carries:
    the movie's declared range (not in an EDL) and our metadata (.otio only). The
    sound (the audio tracks' clips) is compared the same way in every reading that
    can see it, so sound that went missing, or that a file has and the timeline has
    not, is a difference too.
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
    sound: list[_Cut] = []
    markers: list[tuple[str, int | None]] = []
    for clip in sequence.iterfind("spine/*"):
        # An asset-clip plays what its asset has (and srcEnable allows); a clip plays
        # what it holds, here its <video>.
        if clip.tag == "asset-clip":
            asset = assets.get(clip.get("ref"))
            enabled = clip.get("srcEnable", "all")
            seen = asset is None or (asset.get("hasVideo") == "1" and enabled in ("all", "video"))
            heard = (
                asset is not None and asset.get("hasAudio") == "1" and enabled in ("all", "audio")
            )
        elif clip.tag == "clip":
            video = clip.find("video")
            asset = assets.get(video.get("ref")) if video is not None else None
            seen, heard = True, False
        else:
            continue
        offset, start = count(clip.get("offset")), count(clip.get("start"))
        length = count(clip.get("duration"))
        record = None if offset is None else offset + tc_start
        cut = _Cut(
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
        if seen:
            cuts.append(cut)
        if heard:
            sound.append(cut)
        for marker in clip.iterfind("marker"):
            at = count(marker.get("start"))
            where = None if at is None or start is None or record is None else record + at - start
            markers.append((marker.get("value", ""), where))
    return _Reading(project.get("name", ""), cuts, markers, sound)


def _compare(key: str, expected: _Reading, got: _Reading, fps: float) -> list[str]:
    """The differences ``key``'s reading can show (see _CARRIES)."""
    problems: list[str] = []
    if got.title != expected.title:
        problems.append(f"title {got.title!r}, expected {expected.title!r}")
    problems += _compare_cuts("clip", _CARRIES[key], expected.cuts, got.cuts)
    if key in _HEARS:
        problems += _compare_cuts("sound clip", _CARRIES[key], expected.sound, got.sound)
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


def _compare_cuts(
    what: str, carried: Sequence[str], expected: Sequence[_Cut], got: Sequence[_Cut]
) -> list[str]:
    problems: list[str] = []
    if len(got) != len(expected):
        problems.append(f"{len(got)} {what}s, expected {len(expected)}")
    for index, (want, have) in enumerate(zip(expected, got, strict=False), 1):
        if have.name != want.name:
            problems.append(f"{what} {index} is named {have.name!r}, expected {want.name!r}")
        for attribute in carried:
            mine, theirs = getattr(want, attribute), getattr(have, attribute)
            if theirs != mine:
                problems.append(
                    f"{what} {index} ({want.name}) {attribute} {theirs}, expected {mine}"
                )
    return problems

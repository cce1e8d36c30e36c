"""The editorial handoff: real files, read back by OTIO and by independent parsers.

pycmx (an EDL parser that shares no code with OTIO) and the standard library's XML
parser check that the files say what an editor's software will read, not only that
OTIO agrees with itself. The cut carries the animatic's scratch dialogue as sound
clips beside the picture, unless the movie is silent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pycmx
import pytest

from moviola.core import DocumentError, StorageError
from moviola.previs._editorial import (
    AUDIO_CHANNELS,
    AUDIO_RATE,
    EditClip,
    build_timeline,
    check_round_trip,
    formats_for_rate,
    write_timeline_files,
)

NTSC_FILM = 24000 / 1001

SHOTS = [
    EditClip("6", "6", 0, 29, {"size": "WS", "angle": "eye", "lens_mm": 24.0}),
    EditClip("6A", "6", 29, 42, {"size": "MCU", "movement": "push", "lens_mm": 50.0}),
    EditClip("7A", "7A", 71, 13, {"size": "CU", "description": "Nora sees the truck"}),
    EditClip("7A-1", "7A", 84, 100, {"size": "OTS", "tags": ["night", 2]}),
]
START = {24: 86400, 25: 90000, NTSC_FILM: 86400}  # 01:00:00:00 as a frame count


def export(
    tmp_path: Path, fps: float, audio: bool = True
) -> tuple[otio.schema.Timeline, dict[str, Path], Path]:
    movie = tmp_path / "media" / "nevada animatic.mp4"
    timeline = build_timeline(SHOTS, fps, movie, "Nevada animatic", audio=audio)
    return timeline, write_timeline_files(timeline, tmp_path / "editorial"), movie


def picture(timeline: otio.schema.Timeline) -> list[otio.schema.Clip]:
    (track,) = timeline.video_tracks()
    return list(track.find_clips())


def sound(timeline: otio.schema.Timeline) -> list[otio.schema.Clip]:
    return [clip for track in timeline.audio_tracks() for clip in track.find_clips()]


def timecode(frame: int, base: int) -> str:
    """Non-drop timecode, computed without OTIO."""
    seconds, ff = divmod(frame, base)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{ff:02d}"


def test_timeline_times_are_whole_frames_from_one_hour(tmp_path: Path) -> None:
    movie = tmp_path / "animatic.mp4"
    timeline = build_timeline(SHOTS, 24, movie, "Nevada")
    assert timeline.global_start_time == otio.opentime.RationalTime(86400, 24)
    clips = picture(timeline)
    assert [c.name for c in clips] == ["6", "6A", "7A", "7A-1"]
    for shot, clip in zip(SHOTS, clips, strict=True):
        assert clip.source_range.start_time == otio.opentime.RationalTime(86400 + shot.start, 24)
        assert clip.source_range.duration == otio.opentime.RationalTime(shot.frames, 24)
        ref = clip.media_reference
        assert isinstance(ref, otio.schema.ExternalReference)
        assert ref.target_url == movie.resolve().as_uri()
        assert ref.available_range == otio.opentime.TimeRange(
            otio.opentime.RationalTime(86400, 24), otio.opentime.RationalTime(184, 24)
        )
        assert clip.metadata["moviola"]["scene"] == shot.scene
    assert [[m.name for m in c.markers] for c in clips] == [["SCENE 6"], [], ["SCENE 7A"], []]


def test_23_976_means_24000_over_1001_with_non_drop_timecode(tmp_path: Path) -> None:
    timeline = build_timeline(SHOTS, 23.976, tmp_path / "a.mp4", "Nevada")
    start = timeline.global_start_time
    assert start.rate == NTSC_FILM and start.value == 86400
    assert otio.opentime.to_timecode(start, start.rate) == "01:00:00:00"


@pytest.mark.parametrize("fps", [24, 25, NTSC_FILM, 30000 / 1001, 50])
def test_all_four_files_are_written_and_read_back_unchanged(tmp_path: Path, fps: float) -> None:
    timeline, files, _ = export(tmp_path, fps)
    assert files == {
        "otio": tmp_path / "editorial" / "timeline.otio",
        "edl": tmp_path / "editorial" / "timeline.edl",
        "fcp7": tmp_path / "editorial" / "timeline.xml",
        "fcpx": tmp_path / "editorial" / "timeline.fcpxml",
    }
    assert all(path.stat().st_size > 0 for path in files.values())
    assert sorted(p.name for p in (tmp_path / "editorial").iterdir()) == sorted(
        p.name for p in files.values()
    )  # no temporary files left over
    assert check_round_trip(files, timeline) == []


@pytest.mark.parametrize("fps", [24, 25, NTSC_FILM])
def test_edl_read_by_pycmx_has_the_cut(tmp_path: Path, fps: float) -> None:
    _, files, _ = export(tmp_path, fps)
    text = files["edl"].read_text()
    assert "FCM: NON-DROP FRAME" in text
    with files["edl"].open() as fh:
        edl = pycmx.parse_cmx3600(fh)
    assert edl.title == "Nevada animatic"
    assert edl.format == "3600"
    edits = [edit for event in edl.events for edit in event.edits]
    assert len(edits) == len(SHOTS)
    base, start, record = round(fps), START[fps], START[fps]
    for shot, edit in zip(SHOTS, edits, strict=True):
        assert edit.clip_name == shot.name
        assert edit.source == "NEVADAAN"  # reel: the movie's name, ≤ 8 CMX characters
        assert edit.channels.video
        assert edit.source_in == timecode(start + shot.start, base)
        assert edit.source_out == timecode(start + shot.start + shot.frames, base)
        assert edit.record_in == timecode(record, base)
        assert edit.record_out == timecode(record + shot.frames, base)
        record += shot.frames
    assert f"* LOC: {timecode(start + 71, base)} BLUE    SCENE 7A" in text


@pytest.mark.parametrize(
    ("fps", "timebase", "ntsc"), [(24, "24", "FALSE"), (NTSC_FILM, "24", "TRUE")]
)
def test_fcp7_xml_has_the_clips_and_the_movie(
    tmp_path: Path, fps: float, timebase: str, ntsc: str
) -> None:
    _, files, movie = export(tmp_path, fps)
    root = ET.parse(files["fcp7"]).getroot()
    sequence = root.find("./project/children/sequence")
    assert sequence is not None
    assert sequence.findtext("name") == "Nevada animatic"
    assert sequence.findtext("rate/timebase") == timebase
    assert sequence.findtext("rate/ntsc") == ntsc
    assert sequence.findtext("timecode/frame") == "86400"
    assert sequence.findtext("timecode/string") == "01:00:00:00"
    items = sequence.findall("./media/video/track/clipitem")
    assert [i.findtext("name") for i in items] == [s.name for s in SHOTS]
    paths = {f.findtext("pathurl") for f in root.iter("file") if f.find("pathurl") is not None}
    assert paths == {movie.resolve().as_uri()}
    assert "nevada%20animatic.mp4" in movie.resolve().as_uri()
    record = 0
    for shot, item in zip(SHOTS, items, strict=True):
        # in/out count from the start of the media; start/end from the sequence's
        assert (item.findtext("in"), item.findtext("out")) == (
            str(shot.start),
            str(shot.start + shot.frames),
        )
        assert (item.findtext("start"), item.findtext("end")) == (
            str(record),
            str(record + shot.frames),
        )
        record += shot.frames
    markers = [(m.findtext("name"), m.findtext("in")) for m in sequence.findall("marker")]
    assert markers == [("SCENE 6", "0"), ("SCENE 7A", "71")]


def test_fcpxml_times_are_exact_rationals_at_23_976(tmp_path: Path) -> None:
    _, files, movie = export(tmp_path, NTSC_FILM)
    root = ET.parse(files["fcpx"]).getroot()
    (fmt,) = root.iter("format")
    assert fmt.get("frameDuration") == "1001/24000s"
    (asset,) = root.iter("asset")
    assert asset.get("src") == movie.resolve().as_uri()
    frame = Fraction(1001, 24000)
    sequence = root.find("./project/sequence")
    assert sequence is not None
    assert Fraction(sequence.get("tcStart", "").removesuffix("s")) == 86400 * frame
    clips = root.findall("./project/sequence/spine/asset-clip")
    assert [c.get("name") for c in clips] == [s.name for s in SHOTS]
    record = 0
    for shot, clip in zip(SHOTS, clips, strict=True):
        # start is in the movie's time, which begins at the asset's start (01:00:00:00)
        assert Fraction(asset.get("start", "").removesuffix("s")) == 86400 * frame
        start = Fraction(clip.get("start", "").removesuffix("s"))
        assert start == (86400 + shot.start) * frame
        assert Fraction(clip.get("offset", "").removesuffix("s")) == record * frame
        assert Fraction(clip.get("duration", "").removesuffix("s")) == shot.frames * frame
        assert clip.get("ref") == asset.get("id")
        record += shot.frames
    assert root.find("asset-clip") is None


def test_metadata_survives_the_otio_file(tmp_path: Path) -> None:
    _, files, _ = export(tmp_path, 24)
    again = otio.adapters.read_from_file(str(files["otio"]))
    fields = [dict(c.metadata["moviola"]) for c in picture(again)]
    assert fields[0] == {"size": "WS", "angle": "eye", "lens_mm": 24.0, "scene": "6"}
    assert fields[2]["description"] == "Nora sees the truck"
    assert list(fields[3]["tags"]) == ["night", 2]


def test_round_trip_reports_a_changed_file(tmp_path: Path) -> None:
    timeline, files, _ = export(tmp_path, 25)
    edl = files["edl"]
    edl.write_text(edl.read_text().replace("* FROM CLIP NAME:  7A\n", "* FROM CLIP NAME:  7B\n"))
    xml = files["fcp7"]
    xml.write_text(xml.read_text().replace("<in>71</in>", "<in>72</in>", 1))
    fcpx = files["fcpx"]
    assert 'start="90071/25s"' in fcpx.read_text()  # 7A: (01:00:00:00 + 71 frames) / 25
    fcpx.write_text(fcpx.read_text().replace('start="90071/25s"', 'start="90072/25s"', 1))
    problems = check_round_trip(files, timeline)
    assert any(p.startswith(f"{edl}: clip 3 is named '7B'") for p in problems), problems
    assert any(p.startswith(f"{xml}: clip 3 (7A) source") for p in problems), problems
    assert any(p.startswith(f"{fcpx}: read exactly, clip 3 (7A) source") for p in problems)
    assert not any(str(files["otio"]) in p for p in problems)
    files["otio"].unlink()
    assert check_round_trip({"otio": files["otio"]}, timeline)[0].startswith(
        f"{files['otio']}: cannot be read back"
    )


def test_a_rate_without_timecode_still_makes_otio_and_fcpxml(tmp_path: Path) -> None:
    timeline = build_timeline(SHOTS, 12.5, tmp_path / "a.mp4", "Nevada")
    assert formats_for_rate(12.5) == ("otio", "fcpx")
    files = write_timeline_files(timeline, tmp_path / "out", formats_for_rate(12.5))
    assert set(files) == {"otio", "fcpx"}
    assert check_round_trip(files, timeline) == []
    with pytest.raises(DocumentError, match=r"timeline\.edl"):
        write_timeline_files(timeline, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def test_an_output_folder_that_is_a_file_is_refused_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "editorial"
    blocker.write_text("not a folder")
    timeline = build_timeline(SHOTS, 24, tmp_path / "a.mp4", "Nevada")
    with pytest.raises(StorageError) as info:  # the file system's refusal, naming the path
        write_timeline_files(timeline, blocker / "cut")
    assert str(info.value).startswith(str(blocker / "cut"))
    assert [p.name for p in tmp_path.iterdir()] == ["editorial"]
    assert blocker.read_text() == "not a folder"


def test_an_adapter_failure_names_the_file_and_writes_nothing(tmp_path: Path) -> None:
    timeline = build_timeline(SHOTS, 24, tmp_path / "a.mp4", "Nevada")
    timeline.tracks.append(otio.schema.Track(name="V2", kind=otio.schema.TrackKind.Video))
    out = tmp_path / "editorial"
    with pytest.raises(DocumentError) as info:
        write_timeline_files(timeline, out)
    assert str(info.value).startswith(str(out / "timeline.edl"))
    assert not out.exists()


def test_shots_that_are_not_part_of_the_movie_are_refused(tmp_path: Path) -> None:
    movie = tmp_path / "a.mp4"
    with pytest.raises(DocumentError, match="shot 6A"):
        build_timeline([EditClip("6A", "6", 0, 0, {})], 24, movie, "Nevada")
    with pytest.raises(DocumentError, match="not JSON"):
        build_timeline([EditClip("6A", "6", 0, 5, {"x": object()})], 24, movie, "Nevada")
    with pytest.raises(DocumentError, match="no shots"):
        build_timeline([], 24, movie, "Nevada")


# ---------------------------------------------------------------------------- sound


def test_the_dialogue_is_a_sound_clip_per_shot_over_the_same_frames_of_the_movie(
    tmp_path: Path,
) -> None:
    movie = tmp_path / "animatic.mp4"
    timeline = build_timeline(SHOTS, 24, movie, "Nevada")
    assert [(t.name, t.kind) for t in timeline.tracks] == [
        ("V1", otio.schema.TrackKind.Video),
        ("A1", otio.schema.TrackKind.Audio),
    ]
    for seen, heard in zip(picture(timeline), sound(timeline), strict=True):
        assert heard.name == seen.name
        assert heard.source_range == seen.source_range  # whole frames, at 24
        assert heard.range_in_parent() == seen.range_in_parent()
        assert heard.media_reference.target_url == movie.resolve().as_uri()
        assert heard.media_reference.available_range == seen.media_reference.available_range
        assert heard.media_reference is not seen.media_reference  # relinked one by one
        assert not heard.markers  # scene markers and shot fields stay on the picture
    assert len(sound(timeline)) == len(SHOTS)


def test_the_otio_file_reads_back_with_its_audio_track(tmp_path: Path) -> None:
    _, files, movie = export(tmp_path, NTSC_FILM)
    again = otio.adapters.read_from_file(str(files["otio"]))
    assert [(t.name, t.kind) for t in again.tracks] == [("V1", "Video"), ("A1", "Audio")]
    heard = sound(again)
    assert [c.name for c in heard] == [s.name for s in SHOTS]
    for shot, clip in zip(SHOTS, heard, strict=True):
        assert clip.source_range.start_time == otio.opentime.RationalTime(
            86400 + shot.start, NTSC_FILM
        )
        assert clip.source_range.duration.to_frames() == shot.frames
        assert clip.media_reference.target_url == movie.resolve().as_uri()


@pytest.mark.parametrize("fps", [24, NTSC_FILM, 30000 / 1001])
def test_edl_events_carry_picture_and_the_dialogue_on_a1(tmp_path: Path, fps: float) -> None:
    _, files, _ = export(tmp_path, fps)
    with files["edl"].open() as fh:
        edl = pycmx.parse_cmx3600(fh)
    edits = [edit for event in edl.events for edit in event.edits]
    assert [e.clip_name for e in edits] == [s.name for s in SHOTS]
    for edit in edits:  # channel "B": picture and audio channel 1
        assert edit.channels.video and edit.channels.a1
        assert list(edit.channels.channels) == [1]
    # and OTIO's reader puts the same cut on a V and an A1 track
    again = otio.adapters.read_from_file(str(files["edl"]), adapter_name="cmx_3600", rate=fps)
    assert [(t.name, t.kind) for t in again.tracks] == [("V", "Video"), ("A1", "Audio")]
    assert [c.name for c in sound(again)] == [s.name for s in SHOTS]


@pytest.mark.parametrize("fps", [24, NTSC_FILM])
def test_fcp7_xml_has_an_audio_track_playing_the_same_file(tmp_path: Path, fps: float) -> None:
    _, files, movie = export(tmp_path, fps)
    root = ET.parse(files["fcp7"]).getroot()
    sequence = root.find("./project/children/sequence")
    assert sequence is not None
    pictures = sequence.findall("./media/video/track/clipitem")
    tracks = sequence.findall("./media/audio/track")
    assert len(tracks) == 1
    sounds = tracks[0].findall("clipitem")
    assert [i.findtext("name") for i in sounds] == [s.name for s in SHOTS]
    (described,) = [f for f in root.iter("file") if f.find("pathurl") is not None]
    assert described.findtext("pathurl") == movie.resolve().as_uri()
    assert described.findtext("media/audio/channelcount") == str(AUDIO_CHANNELS)
    assert described.findtext("media/audio/samplecharacteristics/samplerate") == str(AUDIO_RATE)
    for seen, heard in zip(pictures, sounds, strict=True):
        for item in (seen, heard):
            file_e = item.find("file")
            assert file_e is not None and file_e.get("id") == described.get("id")
        assert heard.findtext("sourcetrack/mediatype") == "audio"
        assert heard.findtext("sourcetrack/trackindex") == "1"
        timing = ("in", "out", "start", "end")
        assert [heard.findtext(t) for t in timing] == [seen.findtext(t) for t in timing]
        # linked both ways, so the pair moves together (and can be unlinked to split)
        for item in (seen, heard):
            links = [
                (k.findtext("linkclipref"), k.findtext("mediatype")) for k in item.iter("link")
            ]
            assert links == [(seen.get("id"), "video"), (heard.get("id"), "audio")]


@pytest.mark.parametrize("fps", [24, NTSC_FILM, 12.5])
def test_fcpxml_asset_declares_the_dialogue_and_each_shot_plays_it(
    tmp_path: Path, fps: float
) -> None:
    movie = tmp_path / "animatic.mp4"
    timeline = build_timeline(SHOTS, fps, movie, "Nevada")
    files = write_timeline_files(timeline, tmp_path / "out", ("fcpx",))
    root = ET.parse(files["fcpx"]).getroot()
    (asset,) = root.iter("asset")
    assert asset.get("src") == movie.resolve().as_uri()
    assert (asset.get("hasVideo"), asset.get("hasAudio")) == ("1", "1")
    assert asset.get("audioSources") == "1"
    assert asset.get("audioChannels") == str(AUDIO_CHANNELS)
    assert asset.get("audioRate") == str(AUDIO_RATE)
    spine = root.find("./project/sequence/spine")
    assert spine is not None
    assert [(c.tag, c.get("name")) for c in spine] == [("asset-clip", s.name) for s in SHOTS]
    for clip in spine:  # an asset-clip plays its asset's picture and sound, in sync
        assert clip.get("ref") == asset.get("id")
        assert clip.get("srcEnable", "all") == "all"
        assert clip.get("audioRole") == "dialogue"
    # no sound of the adapter's own: connected clips, gaps, stray <audio> elements
    assert not [e for e in spine.iter() if e.tag in ("audio", "gap", "clip") or e.get("lane")]
    assert check_round_trip(files, timeline) == []


def test_the_sound_rate_is_the_animatics(tmp_path: Path) -> None:
    from moviola.previs._animatic import SAMPLE_RATE

    assert AUDIO_RATE == SAMPLE_RATE


@pytest.mark.parametrize("fps", [24, 30000 / 1001])
def test_a_silent_movie_has_no_audio_track_and_every_file_still_reads_back(
    tmp_path: Path, fps: float
) -> None:
    timeline, files, _ = export(tmp_path, fps, audio=False)
    assert [t.kind for t in timeline.tracks] == [otio.schema.TrackKind.Video]
    assert check_round_trip(files, timeline) == []
    again = otio.adapters.read_from_file(str(files["otio"]))
    assert again.audio_tracks() == [] and len(picture(again)) == len(SHOTS)
    with files["edl"].open() as fh:
        edits = [edit for event in pycmx.parse_cmx3600(fh).events for edit in event.edits]
    assert len(edits) == len(SHOTS)
    assert all(e.channels.video and not e.channels.audio for e in edits)
    root = ET.parse(files["fcp7"]).getroot()
    assert root.findall(".//sequence/media/audio/track") == []
    assert not [f for f in root.iter("file") if f.find("media/audio") is not None]
    assert [f.find("media/video") is not None for f in root.iter("file") if f.find("media")] == [
        True
    ]
    fcpx = ET.parse(files["fcpx"]).getroot()
    (asset,) = fcpx.iter("asset")
    assert asset.get("hasAudio") == "0" and asset.get("audioChannels") is None
    clips = fcpx.findall("./project/sequence/spine/asset-clip")
    assert len(clips) == len(SHOTS) and not any(c.get("audioRole") for c in clips)


def test_round_trip_reports_sound_that_went_missing(tmp_path: Path) -> None:
    heard = build_timeline(SHOTS, 25, tmp_path / "a.mp4", "Nevada")
    silent = build_timeline(SHOTS, 25, tmp_path / "a.mp4", "Nevada", audio=False)
    files = write_timeline_files(silent, tmp_path / "editorial")
    problems = check_round_trip(files, heard)
    for key in ("otio", "edl", "fcp7"):
        assert f"{files[key]}: 0 sound clips, expected 4" in problems, problems
    assert f"{files['fcpx']}: read exactly, 0 sound clips, expected 4" in problems
    # and the other way: sound in a file that the timeline has not
    other = write_timeline_files(heard, tmp_path / "other", ("otio", "fcp7"))
    assert check_round_trip(other, silent) == [
        f"{other['otio']}: 4 sound clips, expected 0",
        f"{other['fcp7']}: 4 sound clips, expected 0",
    ]


def test_round_trip_reports_a_sound_clip_that_moved(tmp_path: Path) -> None:
    timeline, files, _ = export(tmp_path, 25)
    xml = files["fcp7"]
    text = xml.read_text()
    at = text.index("<audio>\n                        <track>")  # the sequence's audio track
    xml.write_text(text[:at] + text[at:].replace("<in>71</in>", "<in>72</in>", 1))
    problems = check_round_trip({"fcp7": xml}, timeline)
    assert problems and all(p.startswith(f"{xml}: sound clip 3 (7A) source") for p in problems)


def test_sound_cut_apart_from_the_picture_is_written_where_a_format_can_say_it(
    tmp_path: Path,
) -> None:
    timeline = build_timeline(SHOTS, 24, tmp_path / "a.mp4", "Nevada")
    slipped = sound(timeline)[1]  # 6A's line heard 2 frames later: a slip, not a recut
    slipped.source_range = otio.opentime.TimeRange(
        slipped.source_range.start_time + otio.opentime.RationalTime(2, 24),
        slipped.source_range.duration,
    )
    files = write_timeline_files(timeline, tmp_path / "ok", ("otio", "fcp7"))
    assert check_round_trip(files, timeline) == []
    root = ET.parse(files["fcp7"]).getroot()
    sounds = root.findall(".//sequence/media/audio/track/clipitem")
    assert [s.find("link") is not None for s in sounds] == [True, False, True, True]
    for key, name in (("edl", "timeline.edl"), ("fcpx", "timeline.fcpxml")):
        # an EDL event / an FCPXML asset-clip carries sound only with its picture
        with pytest.raises(DocumentError, match="not cut with the picture") as info:
            write_timeline_files(timeline, tmp_path / key, (key,))
        assert str(info.value).startswith(str(tmp_path / key / name))
        assert not (tmp_path / key).exists()

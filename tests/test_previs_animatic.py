"""The animatic: timed H.264 segments with burn-in, a slate, a scratch track, joined exactly.

A small stage is built by hand (one room, two standing mannequins, two locked-off
shots and a dolly) and cut into a short segment at 640x360. What is checked is
what an editor receives: the movie as PyAV reads it back (codec, size, rate, frame
count, timecode track, AAC audio), the burnt-in bars as decoded pixels, and the
colours as a player would show them.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

pxr = pytest.importorskip("pxr")
av = pytest.importorskip("av")

from moviola.core import DependencyError, DocumentError  # noqa: E402
from moviola.core._media import encode_frame, finish_movie, frame_at, probe_movie  # noqa: E402
from moviola.core._yuv import rgb_to_yuv420  # noqa: E402
from moviola.plan import Shot  # noqa: E402
from moviola.plan._model import Camera  # noqa: E402
from moviola.previs import _animatic  # noqa: E402
from moviola.previs._animatic import (  # noqa: E402
    SAMPLE_RATE,
    Cut,
    MovieSpec,
    Subtitle,
    join_movie,
    render_segment,
    render_slate,
    segment_key,
)
from moviola.previs._burnin import BAR_RGB, layout, paste_timecode, timecode  # noqa: E402
from moviola.previs._layout import build_scene_stage  # noqa: E402
from moviola.previs._render import Renderer  # noqa: E402
from moviola.previs._scratch import ScratchLine, find_espeak, render_scratch_track  # noqa: E402

FPS = 24.0
ASPECT = 2.39
SPEC = MovieSpec("THE TEST", FPS, width=640, height=360, slate_s=0.5)
SCENE: dict[str, Any] = {
    "number": "4",
    "heading": "INT. KITCHEN - DAY",
    "edit": [
        {"shot": "4A", "beat": 0, "duration_s": 1.25},  # frames 1001-1030
        {"shot": "4B", "beat": 1, "duration_s": 0.75},  # frames 1031-1048
        {"shot": "4C", "beat": 2, "duration_s": 1.0},  # frames 1049-1072
    ],
    "blocking": {
        "kind": "room",
        "width": 5.0,
        "depth": 4.0,
        "characters": [  # one mark each: they stand still all scene
            {
                "name": "ANA",
                "height": 1.7,
                "marks": [{"beat": 0, "x": 0.5, "y": 0.3, "facing": 90}],
            },
            {
                "name": "BEN",
                "height": 1.8,
                "marks": [{"beat": 0, "x": -0.8, "y": 0.6, "facing": 0}],
            },
        ],
    },
}
SHOTS = [
    Shot("4A", "4", "WS", "eye", "static", 28.0, Camera("alexa35", 0.0, -1.8, 1.6, 90.0)),
    Shot("4B", "4", "MCU", "eye", "static", 75.0, Camera("alexa35", 2.0, 0.0, 1.5, 180.0, tilt=-3.0)),
    Shot("4C", "4", "MS", "eye", "dolly", 40.0, Camera(
        "alexa35", -1.5, -1.5, 1.6, 60.0, end={"x": 1.0, "y": -1.5, "pan": 110.0})),
]  # fmt: skip
#: Two held shots, 30 + 18 frames; the segment follows the slate on the movie's timeline.
CUTS = (
    Cut("4", "4A", 1001, 30, "WS · eye · static · 28 mm", ASPECT),
    Cut("4", "4B", 1031, 18, "MCU · eye · static · 75 mm", ASPECT),
)
MOVING = Cut("4", "4C", 1049, 24, "MS · eye · dolly · 40 mm", ASPECT)
START = SPEC.slate_frames  # the segment's first movie frame
SUB_FROM, SUB_TO = 5, 20  # segment frames the subtitle is on (end exclusive)
SUBS = (Subtitle(START + SUB_FROM, START + SUB_TO, "ANA: Hello there."),)

LAY = layout(SPEC.width, SPEC.height, ASPECT)
BAR = LAY.bar
PICTURE = slice(BAR, SPEC.height - BAR)
TOP_BAR = slice(0, BAR)
#: The bottom bar, less the two rows whose chroma 4:2:0 shares with the picture above it.
BOTTOM_BAR = slice(SPEC.height - BAR + 2, SPEC.height)
LEFT = slice(0, SPEC.width // 3)  # record timecode
CENTRE = slice(SPEC.width // 3, 2 * SPEC.width // 3)  # subtitle


@pytest.fixture(scope="module")
def renderer() -> Iterator[Renderer]:
    try:
        r = Renderer()
    except DependencyError as exc:
        pytest.skip(str(exc))
    yield r
    r.release()


@pytest.fixture(scope="module")
def stage() -> Any:
    return build_scene_stage(SCENE, SHOTS, FPS)


@pytest.fixture(scope="module")
def movies(renderer: Any, stage: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("animatic")
    segment, held = render_segment(root / "scene-4.mp4", renderer, stage, CUTS, SPEC, START, SUBS)
    moving, dolly = render_segment(root / "scene-4c.mp4", renderer, stage, [MOVING], SPEC,
                                   START + 48, [])  # fmt: skip
    slate_path = render_slate(root / "slate.mp4", SPEC, [("Script", "The Test · revision 3")])
    return {"segment": segment, "held": held, "moving": moving, "dolly": dolly, "slate": slate_path}


@pytest.fixture(scope="module")
def segment_frames(movies: dict[str, Any]) -> NDArray[np.int16]:
    return decode(movies["segment"])


def decode(path: Path) -> NDArray[np.int16]:
    """Every frame of a movie as RGB (int16, so differences do not wrap)."""
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(np.int16)


def decode_audio(path: Path) -> tuple[NDArray[np.float32], int]:
    """The audio, mono, each decoded frame placed on the movie's timeline by its timestamp."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        rate = int(stream.codec_context.sample_rate)
        pieces = [(round(f.time * rate), f.to_ndarray()[0]) for f in c.decode(stream)]
    out = np.zeros(max(at + len(x) for at, x in pieces), np.float32)
    for at, x in pieces:
        out[max(at, 0) : at + len(x)] = x[max(-at, 0) :]
    return out, rate


def diff(a: NDArray[Any], b: NDArray[Any]) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def luma(rgb: NDArray[Any]) -> NDArray[np.float64]:
    weights = np.array([0.2126, 0.7152, 0.0722])
    return np.asarray(rgb.astype(np.float64) @ weights, np.float64)


def tone(seconds: float, start_s: float, end_s: float, hz: float = 440.0) -> NDArray[np.float32]:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return np.where((t >= start_s) & (t < end_s), 0.5 * np.sin(2 * np.pi * hz * t), 0.0).astype(
        np.float32
    )


def rms(x: NDArray[np.float32], rate: int, a: float, b: float) -> float:
    return float(
        np.sqrt(np.mean(np.square(x[round(a * rate) : round(b * rate)], dtype=np.float64)))
    )


# --------------------------------------------------------------------------- segments


def test_a_segment_is_h264_at_the_spec_with_every_frame_of_its_cuts(
    movies: dict[str, Any],
) -> None:
    info = probe_movie(movies["segment"])
    assert info["codec"] == "h264"
    assert (info["width"], info["height"]) == (SPEC.width, SPEC.height)
    assert info["fps"] == pytest.approx(FPS)
    assert info["frames"] == sum(c.frames for c in CUTS) == 48
    assert info["duration_s"] == pytest.approx(48 / FPS, abs=1e-3)
    assert info["audio"] == []
    assert len(decode(movies["segment"])) == 48  # what a decoder really gets, not the header


def test_held_shots_render_once_per_cut_and_motion_on_twos(
    movies: dict[str, Any],
) -> None:
    # Locked-off cameras on standing mannequins: one picture per cut, repeated.
    assert movies["held"] == len(CUTS)
    # A dolly changes every frame but is drawn on twos: about half its frames.
    assert MOVING.frames // 2 - 1 <= movies["dolly"] <= MOVING.frames // 2 + 1
    assert probe_movie(movies["moving"])["frames"] == MOVING.frames
    frames = decode(movies["moving"])[:, PICTURE]
    for k in range(0, MOVING.frames - 2, 2):
        assert diff(frames[k], frames[k + 1]) < 1.0, k  # the odd frame holds the even one
        assert diff(frames[k], frames[k + 2]) > 2.0, k  # ... and the picture then moves on


def test_a_cut_without_a_camera_is_a_grey_card_between_the_bars(
    renderer: Any, stage: Any, tmp_path: Path
) -> None:
    cut = Cut("4", "4Z", 1001, 6, "no camera on the stage", ASPECT)
    path, rendered = render_segment(tmp_path / "grey.mp4", renderer, stage, [cut], SPEC, 0, [])
    assert rendered == 0
    frames = decode(path)
    assert len(frames) == 6
    picture = frames[:, PICTURE].reshape(-1, 3)
    assert np.abs(np.median(picture, axis=0) - 40).max() <= 2
    centre = frames[:, BOTTOM_BAR, CENTRE].reshape(-1, 3)
    assert np.abs(np.median(centre, axis=0) - np.array(BAR_RGB)).max() <= 3


# --------------------------------------------------------------------------- burn-in


def test_timecode_is_smpte_non_drop_from_one_hour() -> None:
    assert timecode(0, 24) == "01:00:00:00"
    assert timecode(23, 24) == "01:00:00:23"
    assert timecode(24, 24) == "01:00:01:00"
    assert timecode(24 * 3600 + 5, 24) == "02:00:00:05"
    assert timecode(25 * 61 + 24, 25) == "01:01:01:24"
    assert timecode(25 * 3599, 25) == "01:59:59:00"
    assert timecode(24, 24000 / 1001) == "01:00:01:00"  # 23.976 counts at the nominal 24
    assert timecode(30 * 60, 30000 / 1001) == "01:01:00:00"  # non-drop 29.97


def test_a_held_shot_repeats_its_picture_while_the_timecode_runs(
    segment_frames: NDArray[np.int16],
) -> None:
    a, b = segment_frames[22], segment_frames[23]  # cut 1, after the subtitle
    assert diff(a[PICTURE], b[PICTURE]) < 0.5
    assert diff(segment_frames[0][PICTURE], segment_frames[29][PICTURE]) < 1.0
    timecode_a, timecode_b = a[BOTTOM_BAR, LEFT], b[BOTTOM_BAR, LEFT]
    assert np.abs(timecode_a - timecode_b).max() > 100 and diff(timecode_a, timecode_b) > 0.5


def test_the_top_bar_names_the_shot_of_each_cut(segment_frames: NDArray[np.int16]) -> None:
    first, last_of_1, first_of_2 = segment_frames[0], segment_frames[29], segment_frames[30]
    assert diff(first[TOP_BAR], last_of_1[TOP_BAR]) < 0.5  # the same cut: the same bar
    assert diff(first[TOP_BAR], first_of_2[TOP_BAR]) > 1.0  # 4A -> 4B
    assert np.abs(first[TOP_BAR] - first_of_2[TOP_BAR]).max() > 100


@pytest.mark.parametrize("index", [0, 22, 29, 30, 47])
def test_the_burnt_in_timecode_is_the_movie_timecode_of_the_frame(
    segment_frames: NDArray[np.int16], index: int
) -> None:
    """The bar reads best as the movie frame's own timecode, not its neighbours'."""

    def expected(movie_frame: int) -> NDArray[np.uint8]:
        bar = np.zeros((BAR, SPEC.width, 3), np.uint8)
        bar[:] = BAR_RGB
        paste_timecode(bar, LAY, timecode(movie_frame, FPS), f"{movie_frame:06d}")
        return bar

    got = luma(segment_frames[index][SPEC.height - BAR :])
    frame = START + index
    candidates = [frame, frame - 1, frame + 1, index, frame + 10, frame + 100]
    errors = {f: float(np.abs(got - luma(expected(f))).mean()) for f in candidates}
    assert min(errors, key=errors.__getitem__) == frame, errors


def test_a_subtitle_shows_only_while_it_is_on(segment_frames: NDArray[np.int16]) -> None:
    centre = segment_frames[:, BOTTOM_BAR, CENTRE]
    lit = [bool(np.abs(centre[i] - np.array(BAR_RGB)).max() > 100) for i in range(len(centre))]
    assert lit == [SUB_FROM <= i < SUB_TO for i in range(len(centre))]
    assert diff(centre[10], centre[30]) > 2.0
    assert diff(centre[10], centre[22]) > 2.0  # the same cut, just after the line
    assert diff(centre[22], centre[30]) < 0.5  # no line: the bare bar


# --------------------------------------------------------------------------- slate and join


def test_the_slate_is_slate_s_long(movies: dict[str, Any]) -> None:
    info = probe_movie(movies["slate"])
    assert SPEC.slate_frames == round(0.5 * FPS) == 12
    assert info["frames"] == SPEC.slate_frames
    assert (info["codec"], info["width"], info["height"]) == ("h264", SPEC.width, SPEC.height)
    frames = decode(movies["slate"])
    assert len(frames) == SPEC.slate_frames
    assert diff(frames[0], frames[-1]) < 1.0  # a still card
    assert frames[0].std() > 5  # with something written on it


def test_the_joined_movie_has_every_frame_a_timecode_track_and_the_audio(
    movies: dict[str, Any], tmp_path: Path
) -> None:
    total = SPEC.slate_frames + 48
    seconds = total / FPS
    audio = tone(seconds, 1.0, 2.0)
    movie = join_movie(tmp_path / "animatic.mp4", [movies["slate"], movies["segment"]], audio,
                       SPEC)  # fmt: skip
    info = probe_movie(movie)
    assert info["frames"] == total
    assert (info["codec"], info["width"], info["height"]) == ("h264", SPEC.width, SPEC.height)
    assert info["fps"] == pytest.approx(FPS)
    assert info["timecode"] == "01:00:00:00"
    assert info["audio"] == ["aac"]
    with av.open(str(movie)) as c:
        assert [s.type for s in c.streams].count("data") == 1  # the tmcd track
        video, sound = c.streams.video[0], c.streams.audio[0]
        video_s = float(video.duration * video.time_base)
        audio_s = float(sound.duration * sound.time_base)
        assert sound.codec_context.sample_rate == SAMPLE_RATE
        assert sound.codec_context.channels == 1
    assert video_s == pytest.approx(seconds, abs=1e-3)
    assert audio_s == pytest.approx(video_s, abs=0.1)
    samples, rate = decode_audio(movie)
    assert len(samples) / rate == pytest.approx(video_s, abs=0.1)
    assert rms(samples, rate, 1.1, 1.9) > 0.25  # the tone (0.5 peak: 0.35 RMS)
    assert rms(samples, rate, 0.1, 0.85) < 0.01  # silence before it
    assert rms(samples, rate, 2.15, 2.45) < 0.01  # ... and after
    onset = int(np.argmax(np.abs(samples) > 0.1)) / rate
    assert onset == pytest.approx(1.0, abs=0.03)  # in sync with the picture
    spectrum = np.abs(np.fft.rfft(samples[round(1.1 * rate) : round(1.9 * rate)]))
    peak_hz = float(np.fft.rfftfreq(round(1.9 * rate) - round(1.1 * rate), 1 / rate)[
        np.argmax(spectrum)])  # fmt: skip
    assert peak_hz == pytest.approx(440.0, abs=3.0)
    assert not list(tmp_path.glob(".*"))  # no temporary file left beside it


def test_a_movie_without_audio_has_no_audio_stream(movies: dict[str, Any], tmp_path: Path) -> None:
    movie = join_movie(tmp_path / "silent.mp4", [movies["slate"], movies["segment"]], None, SPEC)
    info = probe_movie(movie)
    assert info["audio"] == []
    assert info["frames"] == SPEC.slate_frames + 48
    assert info["timecode"] == "01:00:00:00"
    with av.open(str(movie)) as c:
        assert len(c.streams.audio) == 0


def test_a_scratch_line_is_heard_where_it_is_placed(movies: dict[str, Any], tmp_path: Path) -> None:
    if find_espeak() is None:
        pytest.skip("espeak-ng is not installed")
    seconds = (SPEC.slate_frames + 48) / FPS
    line = ScratchLine(1.0, 1.4, "ANA", "Hello there, Ben.")
    track = render_scratch_track([line], seconds, sample_rate=SAMPLE_RATE)
    assert track.notice is None and track.spoken == 1
    assert track.samples.dtype == np.float32 and len(track.samples) == round(seconds * SAMPLE_RATE)
    movie = join_movie(tmp_path / "voiced.mp4", [movies["slate"], movies["segment"]],
                       track.samples, SPEC)  # fmt: skip
    info = probe_movie(movie)
    assert info["audio"] == ["aac"] and info["frames"] == SPEC.slate_frames + 48
    samples, rate = decode_audio(movie)
    assert len(samples) / rate == pytest.approx(seconds, abs=0.1)
    assert rms(samples, rate, 1.0, 2.4) > 0.02  # the voice
    assert rms(samples, rate, 0.0, 0.9) < 0.002  # silence before the line


def test_joining_keeps_every_frame_exact(
    movies: dict[str, Any], segment_frames: NDArray[np.int16], tmp_path: Path
) -> None:
    movie = join_movie(tmp_path / "joined.mp4", [movies["slate"], movies["segment"]], None, SPEC)
    joined = decode(movie)
    slate_frames = decode(movies["slate"])
    n = SPEC.slate_frames
    assert len(joined) == n + len(segment_frames)
    for i in range(n):
        assert diff(joined[i], slate_frames[i]) < 3, i
    for i in range(len(segment_frames)):
        assert diff(joined[n + i], segment_frames[i]) < 3, n + i
    assert np.array_equal(frame_at(movie, n + 22), frame_at(movies["segment"], 22))
    with av.open(str(movie)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert times == pytest.approx([i / FPS for i in range(len(joined))], abs=1e-3)


def test_frame_at_past_the_end_is_a_document_error(movies: dict[str, Any]) -> None:
    with pytest.raises(DocumentError):
        frame_at(movies["slate"], SPEC.slate_frames)


# --------------------------------------------------------------------------- colour


def bt709_limited(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """Y'CbCr from ITU-R BT.709 (Kr 0.2126, Kb 0.0722), 8-bit limited range."""
    kr, kb = 0.2126, 0.0722
    r, g, b = (c / 255 for c in rgb)
    y = kr * r + (1 - kr - kb) * g + kb * b
    cb = (b - y) / (2 * (1 - kb))
    cr = (r - y) / (2 * (1 - kr))
    return 16 + 219 * y, 128 + 224 * cb, 128 + 224 * cr


COLOURS = [(255, 255, 255), (0, 0, 0), (128, 128, 128), (255, 0, 0), (0, 255, 0), (0, 0, 255),
           (200, 60, 30), (40, 40, 40), (10, 10, 12)]  # fmt: skip


@pytest.mark.parametrize("colour", COLOURS)
def test_rgb_to_yuv420_is_bt709_limited_range(colour: tuple[int, int, int]) -> None:
    h, w = 12, 16
    yuv = rgb_to_yuv420(np.full((h, w, 3), colour, np.uint8))
    assert yuv.shape == (h * 3 // 2, w) and yuv.dtype == np.uint8
    y, u, v = yuv[:h], yuv[h : h + h // 4], yuv[h + h // 4 :]
    ey, eu, ev = bt709_limited(colour)
    for plane, want in ((y, ey), (u, eu), (v, ev)):
        assert np.all(np.abs(plane.astype(float) - want) <= 0.5 + 1e-6), (colour, plane[0, 0], want)


def test_rgb_to_yuv420_known_values_and_plane_layout() -> None:
    def one(colour: tuple[int, int, int]) -> tuple[int, int, int]:
        yuv = rgb_to_yuv420(np.full((4, 4, 3), colour, np.uint8))
        return int(yuv[0, 0]), int(yuv[4, 0]), int(yuv[5, 0])

    assert one((255, 255, 255)) == (235, 128, 128)
    assert one((0, 0, 0)) == (16, 128, 128)
    assert one((128, 128, 128)) == (126, 128, 128)
    assert one((255, 0, 0)) == (63, 102, 240)
    # Planar, as PyAV packs yuv420p: Y (h x w), then U and V (h/2 x w/2 each) as h/4 rows of w.
    h, w = 8, 8
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2] = (255, 0, 0)
    rgb[:, w // 2 :] = (0, 0, 255)
    rgb[0, 0] = rgb[1, 1] = (0, 0, 255)  # half of the top-left 2x2 block is blue
    yuv = rgb_to_yuv420(rgb)
    u = yuv[h : h + h // 4].reshape(h // 2, w // 2)
    v = yuv[h + h // 4 :].reshape(h // 2, w // 2)
    assert (u[1:, : w // 4] == 102).all() and (u[:, w // 4 :] == 240).all()
    assert (v[1:, : w // 4] == 240).all() and (v[:, w // 4 :] == 118).all()
    _, eu, ev = bt709_limited((127.5, 0.0, 127.5))  # chroma of the block's mean colour
    assert abs(int(u[0, 0]) - eu) <= 0.5 and abs(int(v[0, 0]) - ev) <= 0.5


@pytest.mark.parametrize("colour", [(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 60, 30),
                                    (128, 128, 128), (255, 255, 255), (0, 0, 0), (40, 40, 40)])  # fmt: skip
def test_a_flat_colour_comes_back_through_a_player(
    colour: tuple[int, int, int], tmp_path: Path
) -> None:
    """Decoding honours the stream's tags: BT.709, limited range, as the pixels were made.

    The frames go through the module's own writer (the one every segment and slate use),
    so what is checked is the tags it sets, against the conversion it does.
    """
    spec = replace(SPEC, width=64, height=48)
    path = tmp_path / "flat.mp4"
    container, stream = _animatic._open_writer(path, spec)
    for i in range(3):
        encode_frame(container, stream, np.full((48, 64, 3), colour, np.uint8), i)
    finish_movie(container, stream)
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        assert (int(frame.colorspace), int(frame.color_range)) == (1, 1)  # BT.709, MPEG range
        rgb = frame.to_ndarray(format="rgb24").astype(int)
    assert np.abs(rgb[8:-8, 8:-8] - np.array(colour)).max() <= 6, rgb[24, 32]


# --------------------------------------------------------------------------- never half-written


class FailingScene:
    """A loaded stage whose renders fail after ``after`` frames (a lost GPU, a ^C)."""

    def __init__(self, scene: Any, after: int, error: BaseException) -> None:
        self._scene, self._left, self._error = scene, after, error
        self.released = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scene, name)

    def render(self, *args: Any, **kwargs: Any) -> Any:
        if self._left <= 0:
            raise self._error
        self._left -= 1
        return self._scene.render(*args, **kwargs)

    def release(self) -> None:
        self.released = True
        self._scene.release()


def failing_after(renderer: Any, monkeypatch: pytest.MonkeyPatch, after: int,
                  error: BaseException) -> list[FailingScene]:  # fmt: skip
    loaded: list[FailingScene] = []
    real_load = renderer.load

    def load(stage: Any, look: Any = None) -> FailingScene:
        loaded.append(FailingScene(real_load(stage, look), after, error))
        return loaded[-1]

    monkeypatch.setattr(renderer, "load", load)
    return loaded


@pytest.mark.parametrize("error", [RuntimeError("GPU lost"), KeyboardInterrupt()],
                         ids=["error", "interrupt"])  # fmt: skip
def test_an_interrupted_render_leaves_no_movie_and_no_temporary(
    renderer: Any, stage: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
) -> None:  # fmt: skip
    folder = tmp_path / "segments"
    target = folder / "scene-4c.mp4"
    loaded = failing_after(renderer, monkeypatch, 3, error)
    seen: list[int] = []
    with pytest.raises(type(error)):
        render_segment(target, renderer, stage, [MOVING], SPEC, 0, [], progress=seen.append)
    assert len(seen) >= 5  # it did fail in the middle, with frames already encoded
    assert not target.exists()
    assert sorted(p.name for p in folder.iterdir()) == []
    assert loaded and loaded[0].released
    monkeypatch.undo()  # the run resumes: the same call now writes the whole segment
    path, _ = render_segment(target, renderer, stage, [MOVING], SPEC, 0, [])
    assert probe_movie(path)["frames"] == MOVING.frames
    assert sorted(p.name for p in folder.iterdir()) == [target.name]


def open_files_under(folder: Path) -> list[str]:
    """Paths under ``folder`` this process holds open (Linux: /proc/self/fd)."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.skip("needs /proc/self/fd")
    links = []
    for fd in fd_dir.iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:  # the fd of the listing itself, closed by now
            continue
    return [link for link in links if link.startswith(str(folder))]


def test_an_interrupted_render_lets_go_of_its_temporary_file(
    renderer: Any, stage: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "segments"
    failing_after(renderer, monkeypatch, 3, RuntimeError("GPU lost"))
    with pytest.raises(RuntimeError, match="GPU lost"):
        render_segment(folder / "scene-4c.mp4", renderer, stage, [MOVING], SPEC, 0, [])
    gc.collect()
    assert open_files_under(folder) == []


def test_a_failed_re_render_leaves_the_old_segment_untouched(
    renderer: Any, stage: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "scene-4.mp4"
    render_segment(target, renderer, stage, [MOVING], SPEC, 0, [])
    before = target.read_bytes()
    failing_after(renderer, monkeypatch, 2, RuntimeError("GPU lost"))
    with pytest.raises(RuntimeError, match="GPU lost"):
        render_segment(target, renderer, stage, [replace(MOVING, frames=20)], SPEC, 0, [])
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    assert probe_movie(target)["frames"] == MOVING.frames


# --------------------------------------------------------------------------- cache key


def test_segment_key_changes_with_everything_that_shows_and_nothing_else() -> None:
    digest = "a" * 64
    base = segment_key(SPEC, digest, list(CUTS), START, list(SUBS))
    same = segment_key(replace(SPEC), digest, [replace(c) for c in CUTS], START,
                       [replace(s) for s in SUBS])  # fmt: skip
    assert same == base
    assert segment_key(SPEC, digest, tuple(CUTS), START, tuple(SUBS)) == base
    changed = {
        "cut frames": segment_key(SPEC, digest, [replace(CUTS[0], frames=31), CUTS[1]], START,
                                  list(SUBS)),
        "cut start": segment_key(SPEC, digest, [replace(CUTS[0], stage_start=1002), CUTS[1]],
                                 START, list(SUBS)),
        "cut detail": segment_key(SPEC, digest, [CUTS[0], replace(CUTS[1], detail="MCU · 85 mm")],
                                  START, list(SUBS)),
        "cut order": segment_key(SPEC, digest, [CUTS[1], CUTS[0]], START, list(SUBS)),
        "movie start": segment_key(SPEC, digest, list(CUTS), START + 1, list(SUBS)),
        "subtitle text": segment_key(SPEC, digest, list(CUTS), START,
                                     [replace(SUBS[0], text="ANA: Hello.")]),
        "subtitle time": segment_key(SPEC, digest, list(CUTS), START,
                                     [replace(SUBS[0], end=SUBS[0].end + 1)]),
        "no subtitle": segment_key(SPEC, digest, list(CUTS), START, []),
        "spec size": segment_key(replace(SPEC, width=1280, height=720), digest, list(CUTS), START,
                                 list(SUBS)),
        "spec fps": segment_key(replace(SPEC, fps=25.0), digest, list(CUTS), START, list(SUBS)),
        "spec title": segment_key(replace(SPEC, title="OTHER"), digest, list(CUTS), START,
                                  list(SUBS)),
        "stage": segment_key(SPEC, "b" * 64, list(CUTS), START, list(SUBS)),
    }  # fmt: skip
    assert base not in changed.values(), [k for k, v in changed.items() if v == base]
    assert len(set(changed.values())) == len(changed)
    assert all(isinstance(k, str) and k.isalnum() for k in changed.values())


def test_the_slate_length_is_slate_s_in_whole_frames() -> None:
    assert MovieSpec("T", 24.0).slate_frames == 48  # two seconds by default
    assert MovieSpec("T", 25.0, slate_s=1.0).slate_frames == 25
    assert MovieSpec("T", 24000 / 1001).slate_frames == 48
    assert MovieSpec("T", 30.0, slate_s=0.5).slate_frames == 15

"""The animatic: every cut of the plan rendered from its camera, timed, encoded.

Each scene becomes an H.264 segment (PyAV's bundled FFmpeg/libx264), cached
under a key of everything that shows in it, so an interrupted run resumes at
the scene it stopped in and a change re-renders only the scenes it touches.
Segments are then joined without re-encoding and the scratch dialogue is
mixed in as AAC. The movie carries a 01:00:00:00 timecode track; the head
slate is the first two seconds.

Frames are rendered only when something in view changed: a held camera on
standing mannequins is rendered once per cut and repeated. The set is rendered
again only when the camera moves; its picture (colour and depth) is kept on the
GPU and what moves is drawn into it: the cast and the VFX elements on twos,
falling weather on fours. (By day, when the sun casts the movers' shadows on the
set, they re-render the whole frame instead.) A crowd's idling and a fire's
flicker do not make a still shot render again: they move whenever it does, as a
limited-animation background would.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..core import DocumentError, InputError
from ..core._media import (
    atomic_movie,
    av_module,
    encode_frame,
    finish_movie,
    movie_rate,
    open_h264,
    track_container,
)
from ..core._yuv import rgb_to_yuv420
from ..provenance import Stamp, finisher
from ._burnin import Layout, cut_bars, layout, slate, stamp_timecode, subtitle, timecode
from ._render import Renderer
from ._stage_query import stage_cameras
from ._tessellate import may_move

ANIMATIC_VERSION = 5  # 5: signed
SAMPLE_RATE = 48000


@dataclass(frozen=True)
class Cut:
    """One cut of the edit: a shot's camera over a span of its scene's stage time."""

    scene: str
    shot: str
    stage_start: int  # first stage frame (the scene's cut starts at 1001)
    frames: int
    detail: str  # "MS · 50 mm · static"
    aspect: float


@dataclass(frozen=True)
class Subtitle:
    start: int  # movie frame (0-based)
    end: int
    text: str


@dataclass(frozen=True)
class MovieSpec:
    title: str
    fps: float
    width: int = 1280
    height: int = 720
    slate_s: float = 2.0

    @property
    def slate_frames(self) -> int:
        return round(self.slate_s * self.fps)


def _open_writer(path: Path, spec: MovieSpec) -> tuple[Any, Any]:
    return open_h264(path, spec.fps, spec.width, spec.height)


def segment_key(spec: MovieSpec, stage_digest: str, cuts: Sequence[Cut], start: int,
                subtitles: Sequence[Subtitle]) -> str:  # fmt: skip
    """Everything that shows in a scene's segment (the burnt-in timecode included)."""
    blob = json.dumps([ANIMATIC_VERSION, asdict(spec), stage_digest, [asdict(c) for c in cuts],
                       start, [asdict(s) for s in subtitles]], sort_keys=True)  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


_Job = tuple[NDArray[np.uint8], int, "tuple[Layout, str, str] | None"]


class _Encoder:
    """x264 on its own thread (PyAV lets go of the GIL while encoding).

    A job is a picture shared by every frame that holds it, plus the timecode to
    burn in; the copy and the stamp happen here too, so the producer runs ahead
    through held frames and renders the next moving one while this thread works
    through the backlog (up to five seconds of frames).
    """

    def __init__(self, container: Any, stream: Any) -> None:
        self.container, self.stream = container, stream
        self.queue: queue.Queue[_Job | None] = queue.Queue(maxsize=120)
        self.error: BaseException | None = None
        self.aborted = False
        self.thread = threading.Thread(target=self._run, name="moviola-x264", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                if self.aborted:
                    continue
                picture, pts, stamp = item
                if stamp is not None:
                    picture = picture.copy()
                    stamp_timecode(picture, *stamp)
                encode_frame(self.container, self.stream, picture, pts, yuv=True)
        except BaseException as exc:  # handed to the caller at the next submit or finish
            self.error = exc
            while self.queue.get() is not None:  # drain so the producer never blocks
                pass

    def submit(self, yuv: NDArray[np.uint8], pts: int,
               stamp: tuple[Layout, str, str] | None = None) -> None:  # fmt: skip
        """Queue a frame: ``yuv`` is not modified (it may be shared by held frames)."""
        if self.error is not None:
            self._stop()
        try:
            self.queue.put((yuv, pts, stamp))
        except BaseException:
            self._stop(reraise=False)
            raise

    def _stop(self, reraise: bool = True) -> None:
        self.queue.put(None)
        self.thread.join()
        if reraise and self.error is not None:
            raise self.error

    def finish(self) -> None:
        self._stop()
        finish_movie(self.container, self.stream)

    def abort(self) -> None:
        """Stop without encoding what is queued; the container may then be closed."""
        self.aborted = True
        while self.thread.is_alive():  # a second Ctrl-C must not leave it running
            try:
                self.queue.put(None, timeout=0.1)
                self.thread.join()
            except (KeyboardInterrupt, queue.Full):
                continue


def render_slate(path: Path, spec: MovieSpec, facts: list[tuple[str, str]]) -> Path:
    lay = Layout(spec.width, spec.height, spec.width, spec.height)
    card = slate(lay, facts, spec.title)

    def write(tmp: Path) -> None:
        container, stream = _open_writer(tmp, spec)
        for i in range(spec.slate_frames):
            encode_frame(container, stream, card, i)
        finish_movie(container, stream)

    return atomic_movie(path, write)


def render_segment(
    path: Path,
    renderer: Renderer,
    stage: Any,
    cuts: Sequence[Cut],
    spec: MovieSpec,
    movie_start: int,
    subtitles: Sequence[Subtitle],
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[Path, int]:
    """One scene's cuts as an H.264 segment; returns the path and frames rendered (not held)."""
    if not cuts or sum(c.frames for c in cuts) <= 0:
        raise InputError("no cuts to render (a segment needs at least one frame)", path)
    cams = stage_cameras(stage)
    scene = renderer.load(stage)
    rendered = 0

    def write(tmp: Path) -> None:
        nonlocal rendered
        encoder = _Encoder(*_open_writer(tmp, spec))
        try:
            _frames(encoder)
            encoder.finish()
        except BaseException:
            encoder.abort()  # before the container is closed under the encoding thread
            raise

    def _frames(encoder: _Encoder) -> None:
        nonlocal rendered
        pts = 0
        movie_frame = movie_start
        for cut in cuts:
            cam = cams.get(cut.shot)
            lay = layout(spec.width, spec.height, cut.aspect)
            top, bottom = cut_bars(lay, cut.scene, cut.shot, cut.detail, spec.title)
            picture: NDArray[np.uint8] | None = None
            state: bytes | None = None
            view_state: bytes | None = None
            air = scene.has_air
            canvas = np.zeros((spec.height, spec.width, 3), np.uint8)
            bars: dict[str, NDArray[np.uint8]] = {}
            base: tuple[int, str, NDArray[np.uint8]] | None = None
            version = 0
            for k in range(cut.frames):
                time = float(cut.stage_start + k)
                if cam is None:
                    if picture is None:
                        picture = np.full((lay.image_h, lay.image_w, 3), 40, np.uint8)
                        version += 1
                elif k % 2 == 0 or picture is None:  # motion on twos, as animatics are
                    w, h = lay.image_w, lay.image_h
                    view = _camera_state(cam.camera, time)
                    movers = _state(scene, None, time)
                    # the set is drawn again only when the camera moves (or, by day, when the
                    # movers' shadows move on it); the cast and elements are drawn into the held
                    # set as they move, falling snow on fours; a crowd's idling and a fire's
                    # flicker show whenever the shot is drawn again, not on their own
                    held = scene.holds_movers
                    if picture is None or view != view_state or (not held and movers != state):
                        if held:
                            scene.render(cam.camera, time, w, h, still=True)
                            scene.hold(w, h)
                            picture = scene.render_over(cam.camera, time, w, h).rgb
                        elif air:
                            scene.render(cam.camera, time, w, h, air=False)
                            scene.hold(w, h)
                            picture = scene.render_air(cam.camera, time, w, h).rgb
                        else:
                            picture = scene.render(cam.camera, time, w, h).rgb
                        view_state, state = view, movers
                        rendered += 1
                        version += 1
                    elif held and (movers != state or (air and k % 4 == 0)):
                        picture = scene.render_over(cam.camera, time, w, h).rgb
                        state = movers
                        version += 1
                    elif air and k % 4 == 0:
                        picture = scene.render_air(cam.camera, time, w, h).rgb
                        version += 1
                line = next((x for x in subtitles if x.start <= movie_frame < x.end), None)
                text = line.text if line else ""
                if base is None or base[0] != version or base[1] != text:
                    rgb = _compose(canvas, lay, picture, top, bottom, bars, text)
                    base = (version, text, rgb_to_yuv420(rgb))
                encoder.submit(base[2], pts,
                               (lay, timecode(movie_frame, spec.fps), f"{movie_frame:06d}"))  # fmt: skip
                pts += 1
                movie_frame += 1
                if progress:
                    progress(1)

    try:
        return atomic_movie(path, write), rendered
    finally:
        scene.release()


WEATHER = "/World/Weather/"  # what moves of itself, in the background: falling weather ...
CROWDS = ("/World/Crowds/", "/World/Elements/fire_")  # ... idling crowds and flickering flames (untracked)


def _moving_prims(scene: Any, group: Any = "") -> list[Any]:
    """The prims whose transform may change over time (theirs or an ancestor's): the cast,
    the cameras and the elements (``group`` ""), or those under ``WEATHER`` or ``CROWDS``."""
    cached: dict[Any, list[Any]] | None = getattr(scene, "_moving", None)
    if cached is None:
        cached = {"": [], WEATHER: [], CROWDS: []}
        for prim in scene.tess.prims:
            if may_move(prim):
                path = str(prim.GetPath())
                kind = WEATHER if path.startswith(WEATHER) else CROWDS if path.startswith(CROWDS) else ""
                cached[kind].append(prim)
        scene._moving = cached
    return list(cached[group])


def _camera_state(camera: Any, time: float) -> bytes:
    """The camera's transform and lens at ``time``: what the held set depends on."""
    gf = camera.GetCamera(time)
    lens = np.array([gf.focalLength, gf.horizontalAperture, gf.verticalAperture,
                     gf.horizontalApertureOffset, gf.verticalApertureOffset], np.float32)  # fmt: skip
    return np.asarray(gf.transform, np.float32).tobytes() + lens.tobytes()


def _state(scene: Any, camera: Any, time: float, *, group: Any = "") -> bytes:
    """What decides the picture at ``time``: the camera and every moving prim's matrix (or
    only those of ``group``: the weather's, the crowds')."""
    from pxr import UsdGeom

    h = hashlib.blake2b(digest_size=16)
    if camera is not None:
        h.update(np.asarray(camera.GetCamera(time).transform, np.float32).tobytes())
    moving = _moving_prims(scene, group)
    if moving:
        cache = UsdGeom.XformCache(time)
        for prim in moving:
            h.update(np.asarray(cache.GetLocalToWorldTransform(prim), np.float32).tobytes())
    return h.digest()


def _compose(canvas: NDArray[np.uint8], lay: Layout, picture: NDArray[np.uint8],
             top: NDArray[np.uint8], bottom: NDArray[np.uint8], bars: dict[str, NDArray[np.uint8]],
             text: str) -> NDArray[np.uint8]:  # fmt: skip
    """The frame without its timecode: picture, top bar, bottom bar with the subtitle."""
    canvas[:] = 0
    y0 = (lay.height - lay.image_h) // 2
    x0 = (lay.width - lay.image_w) // 2
    canvas[y0 : y0 + lay.image_h, x0 : x0 + lay.image_w] = picture
    bar = lay.bar
    canvas[:bar] = top[:bar]
    if text not in bars:
        bars[text] = subtitle(bottom, lay, text) if text else bottom
    canvas[lay.height - bar :] = bars[text]
    return canvas


def join_movie(target: Path, segments: Sequence[Path], audio: NDArray[np.float32] | None,
               spec: MovieSpec, stamp: Stamp | None = None) -> Path:  # fmt: skip
    """Concatenate H.264 segments without re-encoding and add the AAC scratch track;
    the whole movie signed with ``stamp``'s Content Credentials before it is named."""
    av = av_module()
    if not segments:
        raise DocumentError("no segments to join", target)

    def write(tmp: Path) -> None:
        out = av.open(str(tmp), "w", format="mp4")
        track_container(out)
        first = av.open(str(segments[0]))
        try:
            vs = out.add_stream_from_template(first.streams.video[0])
        finally:
            first.close()
        vs.metadata["timecode"] = timecode(0, spec.fps)
        a_stream = None
        if audio is not None:
            a_stream = out.add_stream("aac", rate=SAMPLE_RATE)
            a_stream.layout = "mono"
            a_stream.bit_rate = 128_000
        frame_dur = 1 / movie_rate(spec.fps)
        offset = Fraction(0)
        audio_at = 0
        for seg in segments:
            src = av.open(str(seg))
            try:
                stream = src.streams.video[0]
                frames = 0
                for packet in src.demux(stream):
                    if packet.dts is None:
                        continue
                    tb = packet.time_base
                    shift = round(offset / tb)
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = vs
                    out.mux(packet)
                    frames += 1
            finally:
                src.close()
            offset += frames * frame_dur
            if a_stream is not None and audio is not None:
                upto = min(len(audio), round(float(offset) * SAMPLE_RATE))
                audio_at = _mux_audio(out, a_stream, audio, audio_at, upto)
        if a_stream is not None and audio is not None:
            _mux_audio(out, a_stream, audio, audio_at, len(audio))
            for packet in a_stream.encode():
                out.mux(packet)
        out.close()

    return atomic_movie(target, write, finisher(target, stamp, "previs animatic"))


def _mux_audio(out: Any, stream: Any, audio: NDArray[np.float32], start: int, end: int) -> int:
    av = av_module()
    block = 1024
    at = start
    while at + block <= end or (end == len(audio) and at < end):
        chunk = audio[at : at + block]
        if len(chunk) < block:
            chunk = np.pad(chunk, (0, block - len(chunk)))
        frame = av.AudioFrame.from_ndarray(chunk[None, :].astype(np.float32), format="fltp",
                                           layout="mono")  # fmt: skip
        frame.sample_rate = SAMPLE_RATE
        frame.pts = at
        for packet in stream.encode(frame):
            out.mux(packet)
        at += block
    return at


def still(rgb: NDArray[np.uint8]) -> Image.Image:
    return Image.fromarray(rgb)

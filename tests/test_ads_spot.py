"""Ad spots cut from a production (``moviola ads creative``) and their SIMID overlay.

The sources are small movies made here: each frame carries its own index as a barcode
across its top, so a test can read which source frame the spot shows. The project is a
minimal one (a two-line screenplay, a VFX shot folder, an animatic with its previs
timeline). The overlay is driven in Debian's chromium by a tiny player page on another
port, inside the sandboxed iframe a real player uses.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from fractions import Fraction
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from moviola.ads import _overlay, _spot
from moviola.ads._overlay import OverlaySpec, overlay_parameters, parse_answers, write_overlay
from moviola.ads._spot import (
    cut_spot,
    loudness_lufs,
    resolve_source,
    top_level_boxes,
    true_peak_db,
)
from moviola.core import InputError, MoviolaError, Project, init_project, open_project, sha256_file
from moviola.core._media import av_module, encode_frame, finish_movie, open_h264

SRC_SIZE = (192, 108)
OUT = (192, 108)  # small, so the suite stays fast; one test scales to 320x180
BITS = 10
FOUNTAIN = "Title: THE LONG SNOW\nAuthor: Tests\n\nEXT. CITY - NIGHT\n\nSnow falls on the city.\n"


# ----------------------------------------------------------------------- fixtures


def _picture(index: int, size: tuple[int, int]) -> np.ndarray:
    """A frame: a colour field that drifts with ``index``, and ``index`` in binary as ten
    black/white blocks across the top quarter."""
    w, h = size
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    phase = index / 24
    rgb = np.stack([0.5 + 0.4 * np.sin(6 * x + phase) * np.ones_like(y),
                    0.5 + 0.4 * np.cos(5 * y + 2 * phase) * np.ones_like(x),
                    0.5 + 0.3 * np.sin(4 * (x + y) - phase)], axis=-1)  # fmt: skip
    img = (rgb * 255).astype(np.uint8)
    bw = w // BITS
    for bit in range(BITS):
        img[: h // 4, bit * bw : (bit + 1) * bw] = 255 if index >> bit & 1 else 0
    return img


def read_index(rgb: np.ndarray) -> int:
    """The barcode of a frame that fills the picture (same aspect as the source)."""
    h, w = rgb.shape[:2]
    bw = w / BITS
    row = rgb[h // 8]
    return sum(1 << bit for bit in range(BITS) if row[int((bit + 0.5) * bw)].mean() > 128)


def write_movie(path: Path, seconds: float, fps: int = 24, *, sound: list[tuple[float, float]] | None = None,
                size: tuple[int, int] = SRC_SIZE) -> Path:  # fmt: skip
    """A test movie: barcoded frames; with ``sound``, a 440 Hz tone over those (start, end)
    seconds (AAC mono 48 kHz) and silence elsewhere."""
    av = av_module()
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = round(seconds * fps)
    container, stream = open_h264(path, fps, *size)
    audio = None
    if sound is not None:
        audio = container.add_stream("aac", rate=48000, layout="mono")
    for i in range(frames):
        encode_frame(container, stream, _picture(i, size), i)
    if audio is not None and sound is not None:
        t = np.arange(round(seconds * 48000)) / 48000
        on = np.zeros_like(t, dtype=bool)
        for a, b in sound:
            on |= (t >= a) & (t < b)
        tone = (0.3 * np.sin(2 * np.pi * 440 * t) * on).astype(np.float32)
        for at in range(0, len(tone), 1024):
            chunk = np.zeros(1024, np.float32)
            part = tone[at : at + 1024]
            chunk[: len(part)] = part
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, at
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    finish_movie(container, stream)
    return path


# The animatic: a 2 s slate, then twelve 3 s shots; 3A and 3B are VFX (3A with people).
SHOTS = [("1", False, True), ("1A", False, False), ("2", False, True), ("2A", False, True),
         ("3", False, True), ("3A", True, True), ("3B", True, False), ("3C", False, True),
         ("4", False, True), ("4A", False, False), ("5", False, True), ("5A", False, True)]  # fmt: skip
SLATE, SHOT = 48, 72


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    from moviola.previs._editorial import EditClip, build_timeline, write_timeline_files
    from moviola.script import import_script

    root = tmp_path_factory.mktemp("spot") / "snow"
    init_project(root, "snow")
    script = root.parent / "snow.fountain"
    script.write_text(FOUNTAIN, encoding="utf-8")
    import_script(open_project(root), script)
    write_movie(root / "vfx" / "blast" / "render" / "blast_review.mp4", 6.0)
    (root / "vfx" / "empty").mkdir(parents=True)
    seconds = (SLATE + SHOT * len(SHOTS)) / 24
    animatic = write_movie(root / "previs" / "animatic.mp4", seconds, sound=[(15.0, 18.0), (24.0, 26.0)])
    clips = [EditClip(name, name.rstrip("ABC") or name, SLATE + i * SHOT, SHOT,
                      {"vfx": vfx, "subjects": ["OFELIA"] if people else []})
             for i, (name, vfx, people) in enumerate(SHOTS)]  # fmt: skip
    write_timeline_files(build_timeline(clips, 24.0, animatic, "snow previs"), root / "previs")
    return open_project(root)


def _frames(path: Path) -> list[np.ndarray]:
    av = av_module()
    with av.open(str(path)) as c:
        return [np.asarray(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def _audio(path: Path) -> np.ndarray:
    av = av_module()
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)


# -------------------------------------------------------------------- the spot


def test_a_vfx_shot_becomes_an_exact_faststart_h264_spot_with_an_end_card(project: Project,
                                                                         tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "spot"
    result = cut_spot(project, "blast", out, size=OUT)
    info = json.loads((out / "creative.json").read_text(encoding="utf-8"))
    assert info == result.creative and not result.unchanged
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "creative.json", "endcard.png", "frames.png", "poster.jpg", "simid/ad_parameters.json",
        "simid/overlay.css", "simid/overlay.html", "simid/overlay.js", "spot.mp4"]  # fmt: skip
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    spot = out / "spot.mp4"

    av = av_module()
    with av.open(str(spot)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        assert v.frames == 360 and Fraction(v.duration) * v.time_base == 15
        assert float(a.duration * a.time_base) == pytest.approx(15.0, abs=0.001)
        assert c.duration / 1e6 == pytest.approx(15.0, abs=0.001)
        cc = v.codec_context
        assert (cc.name, cc.pix_fmt, cc.width, cc.height) == ("h264", "yuv420p", *OUT)
        assert (cc.colorspace, cc.color_primaries, cc.color_trc) == (1, 1, 1)  # BT.709
        assert bytes(cc.extradata)[1] in (77, 100)  # Main or High profile
        assert (a.codec_context.name, a.codec_context.sample_rate, a.codec_context.channels) == ("aac", 48000, 2)
    boxes = top_level_boxes(spot)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart
    # every file a player or a trafficker sees carries Content Credentials: an edit of its source
    from moviola import provenance

    for name in ("spot.mp4", "endcard.png", "poster.jpg", "frames.png"):
        v = provenance.verify(out / name)
        assert v.state == provenance.TRUSTED, (name, v.problems)
        assert [a["action"] for a in v.actions] == ["c2pa.opened", "c2pa.edited"]
        assert v.ingredients[0]["role"] == "source footage" and v.render["command"] == "moviola ads creative"
    assert info["codec"] == "avc1." + bytes(cc.extradata)[1:4].hex()
    assert info["codec"].startswith(("avc1.64", "avc1.4d")) and info["profile"] in ("High", "Main")
    assert (info["duration_s"], info["frames"], info["fps"], info["width"], info["height"]) == (15.0, 360, 24, *OUT)
    assert info["size_bytes"] == spot.stat().st_size
    assert info["sha256"] == sha256_file(spot)
    assert info["bitrate_kbps"] == round(spot.stat().st_size * 8 / 15 / 1000)

    # 6 s of footage (frame i of the spot is frame i of the shot), then a 9 s end card.
    frames = _frames(spot)
    assert [read_index(frames[i]) for i in (0, 1, 50, 100)] == [0, 1, 50, 100]
    assert info["source"] == {**info["source"], "kind": "vfx", "name": "blast", "start_s": 0.0,
                              "footage_s": 6.0, "path": "vfx/blast/render/blast_review.mp4"}  # fmt: skip
    assert info["end_card"]["start_s"] == 6.0 and info["end_card"]["duration_s"] == 9.0
    assert info["title"] == "THE LONG SNOW" and info["title_id"] == "mv-snow"
    assert any("end card runs 9.00 s" in n for n in result.notes)
    card = np.asarray(Image.open(out / "endcard.png").convert("RGB"))
    assert card.shape == (OUT[1], OUT[0], 3)
    assert np.abs(frames[-1].astype(int) - card.astype(int)).mean() < 6  # the last frame is the card
    assert frames[-1][:, : OUT[0] // 2].mean() < frames[-1][:, OUT[0] // 2 :].mean()  # dark behind the type
    assert Image.open(out / "poster.jpg").size == OUT
    strip = Image.open(out / "frames.png")
    assert strip.width > 6 * 320 and strip.height > 200
    # silence: the shot has no sound
    sound = _audio(spot)
    assert sound.shape[0] == 2 and float(np.abs(sound).max()) < 1e-3
    assert info["audio"]["from_source"] is False and info["audio"]["loudness_lufs"] is None
    # the overlay, configured for this title
    assert info["overlay"]["parameters"] == {"kind": "add_to_list", "label": "Add THE LONG SNOW to my list",
                                             "title": "THE LONG SNOW", "title_id": "mv-snow",
                                             "confirmation": "Added to my list ✓"}  # fmt: skip
    assert json.loads(info["overlay"]["ad_parameters"]) == info["overlay"]["parameters"]
    assert (out / "simid" / "overlay.js").read_bytes() == _overlay.template_bytes()["overlay.js"]


def test_a_25_fps_movie_makes_375_frames_with_its_sound_faded_before_the_card(project: Project,
                                                                              tmp_path: Path) -> None:  # fmt: skip
    movie = write_movie(tmp_path / "in" / "trailer.mp4", 14.0, 25, sound=[(0.0, 14.0)])
    out = tmp_path / "spot"
    result = cut_spot(project, movie, out, size=(320, 180), overlay=None, start_s=1.0, call_to_action="Tonight")
    info = result.creative
    assert (info["frames"], info["fps"], info["duration_s"]) == (375, 25, 15.0)
    assert info["source"]["start_s"] == 1.0 and info["source"]["footage_s"] == 12.0
    assert info["end_card"] == {**info["end_card"], "start_s": 12.0, "duration_s": 3.0, "call_to_action": "Tonight"}
    assert info["overlay"] is None and not (out / "simid").exists()
    frames = _frames(out / "spot.mp4")
    assert len(frames) == 375 and read_index(frames[0]) == 25 and read_index(frames[100]) == 125
    sound = _audio(out / "spot.mp4")
    rms = lambda a, b: float(np.sqrt((sound[:, round(a * 48000) : round(b * 48000)] ** 2).mean()))  # noqa: E731
    assert rms(2, 10) > 0.02 and rms(12.1, 15) < 1e-3  # the tone, then silence under the card
    assert rms(11.5, 11.9) < rms(2, 10) / 2  # fading out before the card
    assert info["audio"]["from_source"] and info["audio"]["loudness_lufs"] == pytest.approx(-24.0, abs=0.1)
    assert loudness_lufs(sound[:, : 12 * 48000]) == pytest.approx(-24.0, abs=0.3)  # read back after AAC


def test_the_animatic_stretch_and_a_previs_shot(project: Project, tmp_path: Path) -> None:
    source = resolve_source(project, "animatic", length=15)
    vfx_start = (SLATE + 5 * SHOT) / 24  # 3A, 3B
    assert source.kind == "animatic" and source.footage_s == 12.0
    assert source.start_s <= vfx_start and source.start_s + 12 >= vfx_start + 6  # both VFX shots inside
    assert (source.start_s * 24 - SLATE) % SHOT == 0  # on a cut
    assert "3A, 3B" in source.reason and source.highlights
    shot = resolve_source(project, "3b", length=15)
    assert (shot.kind, shot.name, shot.start_s) == ("previs_shot", "3B", (SLATE + 6 * SHOT) / 24)
    assert shot.highlights == ((0.0, 3.0),)
    late = resolve_source(project, "5A", length=30)  # too near the end: the cut slides back
    assert late.start_s + late.footage_s == pytest.approx(late.available_s) and late.footage_s == 27.0

    out = tmp_path / "spot"
    result = cut_spot(project, "3B", out, size=OUT, overlay=OverlaySpec.poll("Snow in January?", ["Yes", "No"]))
    frames = _frames(out / "spot.mp4")
    assert read_index(frames[0]) == SLATE + 6 * SHOT and read_index(frames[200]) == SLATE + 6 * SHOT + 200
    assert result.creative["end_card"]["key_frame_source_s"] is not None
    assert 20.0 <= result.creative["end_card"]["key_frame_source_s"] < 23.0  # from 3B itself
    sound = _audio(out / "spot.mp4")  # the scratch track speaks at 24-26 s: 4-6 s into the spot
    level = lambda a, b: float(np.abs(sound[:, round(a * 48000) : round(b * 48000)]).max())  # noqa: E731
    assert result.creative["audio"]["from_source"] and level(4.2, 5.8) > 0.05 and level(0.5, 3.5) < 1e-3


def test_sources_that_cannot_make_a_spot_are_refused_with_what_exists(project: Project, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        resolve_source(project, "palace")
    text = str(caught.value)
    assert "'palace'" in text and "VFX shots: blast, empty" in text and "previs shots: 1, 1A, 2" in text
    with pytest.raises(MoviolaError, match="no finished movie"):
        resolve_source(project, "empty")
    bogus = tmp_path / "clip.mp4"
    bogus.write_bytes(b"this is not a movie\n")
    with pytest.raises(InputError, match="not a readable movie") as caught:
        resolve_source(project, bogus)
    assert caught.value.path == bogus
    short = write_movie(tmp_path / "short.mp4", 4.0)
    with pytest.raises(InputError, match=r"4\.00 s of footage; a 15 s spot needs 12 s \(or at least 5 s"):
        resolve_source(project, short)
    with pytest.raises(InputError, match="or at least 10 s"):
        resolve_source(project, "blast", length=30)
    with pytest.raises(InputError, match="15 or 30"):
        resolve_source(project, "blast", length=20)
    with pytest.raises(InputError, match="outside the movie"):
        resolve_source(project, "blast", start_s=9.0)
    with pytest.raises(InputError, match="2 to 4 answers"):
        overlay_parameters(OverlaySpec.poll("Q?", ["a", "b", "c", "d", "e"]), title="T", title_id="mv-t")
    with pytest.raises(InputError, match="repeat"):
        overlay_parameters(OverlaySpec.poll("Q?", ["Yes", "yes"]), title="T", title_id="mv-t")
    with pytest.raises(InputError, match="empty answer"):
        parse_answers("Yes,,No")
    with pytest.raises(InputError, match="at most 80"):
        overlay_parameters(OverlaySpec.add_to_list("x" * 81), title="T", title_id="mv-t")


def test_the_folder_appears_whole_and_is_replaced_only_with_force(project: Project, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    out = tmp_path / "spot"
    first = cut_spot(project, "blast", out, size=OUT)
    stamp = (out / "spot.mp4").stat().st_mtime_ns
    again = cut_spot(project, "blast", out, size=OUT)
    assert again.unchanged and (out / "spot.mp4").stat().st_mtime_ns == stamp
    poll = OverlaySpec.poll("Snow in January?", ["Yes", "No"])
    with pytest.raises(InputError, match=r"holds a different spot .*--force"):
        cut_spot(project, "blast", out, size=OUT, overlay=poll)

    def broken(self: Any, k: int) -> np.ndarray:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(_spot._EndCard, "frame", broken)
    with pytest.raises(RuntimeError):
        cut_spot(project, "blast", out, size=OUT, overlay=poll, force=True)
    assert json.loads((out / "creative.json").read_text())["id"] == first.creative["id"]  # the old spot, intact
    with pytest.raises(RuntimeError):
        cut_spot(project, "blast", tmp_path / "fresh", size=OUT)
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spot"]  # no temporary folder left
    monkeypatch.undo()

    replaced = cut_spot(project, "blast", out, size=OUT, overlay=poll, force=True)
    assert replaced.creative["overlay"]["kind"] == "poll" and replaced.creative["id"] != first.creative["id"]
    assert json.loads((out / "simid" / "ad_parameters.json").read_text())["answers"] == ["Yes", "No"]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not a spot of ours"):
        cut_spot(project, "blast", other, size=OUT, force=True)
    assert (other / "notes.txt").read_text() == "keep me"


def test_loudness_follows_bs1770() -> None:
    t = np.arange(48000 * 3) / 48000
    sine = np.sin(2 * np.pi * 997 * t).astype(np.float32)
    assert loudness_lufs(np.stack([sine, sine])) == pytest.approx(0.0, abs=0.1)
    assert loudness_lufs(np.stack([sine, np.zeros_like(sine)])) == pytest.approx(-3.01, abs=0.1)
    assert loudness_lufs(np.stack([sine, sine]) * 0.1) == pytest.approx(-20.0, abs=0.1)
    assert loudness_lufs(np.zeros((2, 48000), np.float32)) is None
    assert true_peak_db(np.stack([sine, sine]) * 0.5) == pytest.approx(-6.02, abs=0.05)


def test_key_art_trims_the_animatic_bars_and_the_limits_match_the_overlay() -> None:
    from moviola.previs._burnin import BAR_RGB

    assert _spot.BAR_RGB == BAR_RGB
    frame = np.zeros((180, 320, 3), np.uint8) + np.array(BAR_RGB, np.uint8)
    frame[30:150] = 200
    frame[5:20, 10:60] = 255  # burnt-in type in the top bar
    assert _spot._content_box(frame) == (0, 30, 320, 150)
    js = (Path(_overlay.__file__).parent / "simid" / "overlay.js").read_text()
    limits = dict(re.findall(r"(\w+): (\d+)", re.search(r"var LIMITS = \{([^}]*)\}", js).group(1)))  # type: ignore[union-attr]
    assert {k: int(v) for k, v in limits.items() if k != "confirmation"} == {
        "label": _overlay.MAX_LABEL, "question": _overlay.MAX_QUESTION, "answer": _overlay.MAX_ANSWER,
        "minAnswers": _overlay.MIN_ANSWERS, "maxAnswers": _overlay.MAX_ANSWERS}  # fmt: skip


def test_the_command(project: Project, tmp_path: Path) -> None:
    from moviola.cli._ads_creative import register_creative

    app = typer.Typer()
    app.command("noop")(lambda: None)  # a group, so 'creative' stays a subcommand
    printed: list[Any] = []
    register_creative(app, __import__("rich.console").console.Console(), printed.append)
    runner = CliRunner()
    out = tmp_path / "spot"
    done = runner.invoke(app, ["creative", str(project.root), "--from", "blast", "--out", str(out), "--size",
                               "320x180", "--overlay", "poll", "--question", "Snow?", "--answers", "Yes, No",
                               "--json"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert printed[0]["folder"] == str(out) and printed[0]["overlay"]["parameters"]["answers"] == ["Yes", "No"]
    summary = runner.invoke(app, ["creative", str(project.root), "--from", "blast", "--out", str(out), "--size",
                                  "320x180", "--overlay", "poll", "--question", "Snow?", "--answers", "Yes, No"])  # fmt: skip
    assert summary.exit_code == 0 and "Unchanged" in summary.output and "15.000 s" in summary.output
    for args, message in ((["--length", "20"], "15 or 30"), (["--overlay", "poll"], "--question"),
                          (["--question", "Q?"], "go with --overlay poll"), (["--overlay", "quiz"], "quiz")):  # fmt: skip
        bad = runner.invoke(app, ["creative", str(project.root), "--from", "blast", "--out", str(tmp_path / "x"),
                                  *args])  # fmt: skip
        assert bad.exit_code == 2 and message in bad.output, bad.output
    missing = runner.invoke(app, ["creative", str(project.root), "--from", "nothing", "--out", str(tmp_path / "x")])
    assert isinstance(missing.exception, InputError) and "VFX shots: blast" in str(missing.exception)


# ------------------------------------------------------------------ the overlay


CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking", "--disable-component-update", "--no-first-run"]  # fmt: skip

PLAYER = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><style>
  body { margin: 0; background: #000; }
  #player { position: relative; width: 960px; height: 540px; background: url(video.png) center / cover; }
  #ad { position: absolute; left: 0; top: 0; width: 960px; height: 540px; border: 0; visibility: hidden; }
</style></head><body>
<div id="player"><iframe id="ad"
  sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox allow-forms"></iframe></div>
<script>
const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const frame = document.getElementById('ad');
window.received = []; window.replies = {};
let sid = null, next = 0;
const waiting = {};
function send(type, args, label) {
  const m = {sessionId: sid, messageId: next++, timestamp: Date.now(), type, args};
  if (label) waiting[m.messageId] = label;
  frame.contentWindow.postMessage(JSON.stringify(m), '*');
}
window.startCreative = () => send('SIMID:Player:startCreative', {}, 'start');
window.stopAd = () => { frame.style.visibility = 'hidden'; send('SIMID:Player:adStopped', {code: 2}, 'stopped'); };
window.tick = (t) => send('SIMID:Media:timeupdate', {currentTime: t});
window.resize = (w, h) => send('SIMID:Player:resize', {videoDimensions: {x: 0, y: 0, width: w, height: h},
  creativeDimensions: {x: 0, y: 0, width: 960, height: 540}, fullscreen: false});
window.addEventListener('message', (e) => {
  if (e.source !== frame.contentWindow) return;
  const m = JSON.parse(e.data);
  received.push(Object.assign({origin: e.origin}, m));
  if (m.type === 'createSession') {
    sid = m.sessionId;
    send('resolve', {messageId: m.messageId, value: {}});
    const box = {x: 0, y: 0, width: 960, height: 540};
    send('SIMID:Player:init', {
      environmentData: {videoDimensions: box, creativeDimensions: box, fullscreen: false,
        fullscreenAllowed: false, variableDurationAllowed: false,
        skippableState: cfg.skippableState || 'playerHandles', skipoffset: cfg.skipoffset,
        version: cfg.version, muted: false, volume: 1, navigationSupport: 'playerHandles'},
      creativeData: {adParameters: cfg.adParameters, clickThruUrl: cfg.clickThruUrl}}, 'init');
    return;
  }
  if (m.sessionId !== sid) return;
  if (m.type === 'resolve' || m.type === 'reject') {
    const label = waiting[m.args.messageId];
    replies[label] = m;
    if (label === 'init' && m.type === 'resolve' && !cfg.holdStart) window.startCreative();
    if (label === 'start' && m.type === 'resolve') frame.style.visibility = 'visible';
    return;
  }
  if (['SIMID:Creative:reportTracking', 'SIMID:Creative:clickThru', 'SIMID:Creative:requestSkip'].includes(m.type)) {
    send('resolve', {messageId: m.messageId, value: {}});
  }
});
frame.src = cfg.src;
</script></body></html>
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, str, Path]]:
    """Chromium, a player page on one port and the overlay's files on another."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    root = tmp_path_factory.mktemp("simid")
    (root / "player").mkdir()
    (root / "player" / "index.html").write_text(PLAYER, encoding="utf-8")
    rng = np.random.default_rng(7)  # a busy, bright "video": the panel must read on it
    busy = np.clip(rng.normal(200, 60, (54, 96, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(busy).resize((960, 540), Image.Resampling.NEAREST).save(root / "player" / "video.png")
    write_overlay(root / "creative", {"kind": "add_to_list"})
    player, player_url = _serve(root / "player")
    creative, creative_url = _serve(root / "creative")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        except sync_api.Error as exc:
            pytest.skip(f"chromium cannot run here: {str(exc).splitlines()[0]}")
        yield browser, player_url, f"{creative_url}/simid/overlay.html", root
        browser.close()
    player.shutdown()
    creative.shutdown()


def _open(stage: tuple[Any, str, str, Path], **cfg: Any) -> Any:
    browser, player_url, overlay_url, _ = stage
    page = browser.new_page(viewport={"width": 960, "height": 540})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.problems = problems
    settings = {"src": overlay_url, "version": "1.2", **cfg}
    page.goto(f"{player_url}/index.html#{quote(json.dumps(settings))}")
    return page


ADD = {"kind": "add_to_list", "label": "Add THE LONG SNOW to my list", "title_id": "mv-snow",
       "track": {"interaction": "https://ads.example/i?d=42&s=abc"}}  # fmt: skip


def test_the_overlay_adds_to_the_list_once_after_the_handshake(stage: tuple[Any, str, str, Path]) -> None:
    page = _open(stage, adParameters=json.dumps(ADD), holdStart=True,
                 clickThruUrl="https://watch.example/t/mv-snow")  # fmt: skip
    page.wait_for_function("() => window.replies.init")
    assert page.evaluate("window.replies.init.type") == "resolve"
    overlay = page.frame_locator("#ad")
    assert overlay.locator("#stage").is_hidden()  # nothing shows before startCreative
    page.evaluate("window.startCreative()")
    page.wait_for_function("() => window.replies.start")
    assert page.evaluate("window.replies.start.type") == "resolve"
    button = overlay.get_by_role("button", name="Add THE LONG SNOW to my list")
    button.wait_for(state="visible")

    box = overlay.locator("#panel").bounding_box()
    assert box["x"] > 480 and box["y"] + box["height"] < 270  # top-right, clear of the centre
    page.screenshot(path=str(stage[3] / "add-to-list-before.png"))
    button.click()
    page.wait_for_function("() => received.some(m => m.type === 'SIMID:Creative:reportTracking')")
    button.click(force=True)  # a second click (on a button now aria-disabled) reports nothing
    overlay.get_by_text("Added to my list ✓").wait_for()
    page.wait_for_timeout(150)
    page.screenshot(path=str(stage[3] / "add-to-list-after.png"))
    shot = np.asarray(Image.open(stage[3] / "add-to-list-after.png").convert("RGB"), np.float32)
    assert shot[200:340, 100:860].mean() > 150  # the video shows through the iframe (transparent)

    received = page.evaluate("window.received")
    tracking = [m for m in received if m["type"] == "SIMID:Creative:reportTracking"]
    assert [m["args"] for m in tracking] == [{"trackingUrls": ["https://ads.example/i?d=42&s=abc&v=add"]}]
    assert received[0]["type"] == "createSession" and received[0]["messageId"] == 0
    assert [m["messageId"] for m in received] == list(range(len(received)))  # counts up from 0
    assert {m["sessionId"] for m in received} == {received[0]["sessionId"]}
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", received[0]["sessionId"])
    assert {m["origin"] for m in received} == {"null"}  # sandboxed: an opaque origin

    overlay.get_by_role("link", name="Watch now").click()
    page.wait_for_function("() => received.some(m => m.type === 'SIMID:Creative:clickThru')")
    click = next(m for m in page.evaluate("window.received") if m["type"] == "SIMID:Creative:clickThru")
    assert click["args"]["playerHandles"] is True and click["args"]["url"] == "https://watch.example/t/mv-snow"
    assert 480 < click["args"]["x"] < 960 and 0 < click["args"]["y"] < 270

    page.evaluate("window.resize(480, 270)")  # the video now fills the top-left quarter
    page.wait_for_timeout(150)
    box = overlay.locator("#panel").bounding_box()
    assert box["x"] > 240 and box["x"] + box["width"] <= 480 and box["y"] < 135  # its top-right corner

    page.evaluate("window.stopAd()")
    page.wait_for_function("() => window.replies.stopped")
    assert page.evaluate("window.replies.stopped.type") == "resolve"
    assert overlay.locator("#stage").is_hidden()
    assert page.problems == []
    page.close()


def test_the_overlay_polls_from_the_keyboard_and_draws_a_skip_button_when_asked(stage: tuple[Any, str, str, Path]) -> None:
    poll = {"kind": "poll", "question": "Would you stay where it snows in January?",
            "answers": ["Yes", "No", "Only for a night"], "track": {"interaction": "https://ads.example/i?d=7"}}  # fmt: skip
    page = _open(stage, adParameters=json.dumps(poll), skippableState="adHandles", skipoffset="00:00:05")
    overlay = page.frame_locator("#ad")
    overlay.get_by_role("button", name="Yes").wait_for(state="visible")
    overlay.get_by_role("button", name="Yes").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Only for a night", without a mouse
    overlay.get_by_text("Thanks!").wait_for()
    tracking = [m for m in page.evaluate("window.received") if m["type"] == "SIMID:Creative:reportTracking"]
    assert tracking[0]["args"]["trackingUrls"] == ["https://ads.example/i?d=7&v=Only%20for%20a%20night"]
    assert overlay.get_by_role("button", name="Only for a night").get_attribute("aria-pressed") == "true"

    skip = overlay.locator("#skip")
    assert skip.inner_text() == "Skip in 5"
    page.evaluate("window.tick(5.2)")
    overlay.get_by_role("button", name="Skip ad ▸").click()
    page.wait_for_function("() => received.some(m => m.type === 'SIMID:Creative:requestSkip')")
    page.screenshot(path=str(stage[3] / "poll.png"))
    assert page.problems == []
    page.close()


@pytest.mark.parametrize(("cfg", "code", "words"), [
    ({"version": "9.0", "adParameters": json.dumps(ADD)}, 1103, "9.0"),
    ({"adParameters": "{not json"}, 1101, "not JSON"),
    ({"adParameters": ""}, 1101, "missing"),
    ({"adParameters": json.dumps({"kind": "poll", "question": "Q?", "answers": ["only one"]})}, 1101, "2 to 4"),
    ({"adParameters": json.dumps({**ADD, "track": {"interaction": "javascript:alert(1)"}})}, 1101, "http"),
])  # fmt: skip
def test_the_overlay_rejects_init_it_cannot_honour(stage: tuple[Any, str, str, Path], cfg: dict[str, Any],
                                                   code: int, words: str) -> None:  # fmt: skip
    page = _open(stage, **cfg)
    page.wait_for_function("() => window.replies.init")
    reply = page.evaluate("window.replies.init")
    assert reply["type"] == "reject" and reply["args"]["value"]["errorCode"] == code
    assert words in reply["args"]["value"]["reason"]
    assert page.evaluate("window.replies.start") is None  # the player does not start it
    page.close()

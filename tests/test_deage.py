"""De-aging, end to end, on real faces: Grace Hopper (US Navy, public domain) and Eileen
Collins (NASA, public domain), as stills and as a moving plate made from the photo.

What a user relies on: nothing is read or written without a valid consent record; the
face looks younger to an age model and is still the same person to an identity model;
a moving shot comes out steadier, not jumpier; pixels away from the face are untouched;
several faces need a choice, a lost face fades rather than glitches, and bad footage,
a killed render and a phone's rotation flag are handled.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from documents import absolute_paths
from moviola.consent import new_consent, write_consent
from moviola.core import ConsentError, InputError, SchemaVersionError, read_document
from moviola.core._media import probe_movie
from moviola.vfx._footage import open_footage
from moviola.vfx.deage._deage import (
    REPORT_SCHEMA,
    DeageSettings,
    frame_path,
    read_report,
    run_deage,
)
from moviola.vfx.deage._face_models import MODELS, model_path
from moviola.vfx.deage._moving_plate import make_moving_plate
from moviola.vfx.deage._picture import Picture, YuvFormat, pictures, yuv_format
from moviola.vfx.deage._retouch import RetouchPlan
from moviola.vfx.deage._warp import WarpField, apply_warp

ROOT = Path(__file__).resolve().parents[1]
HOPPER = ROOT / "examples" / "hopper" / "grace_hopper.jpg"
ASTRONAUT = ROOT / "examples" / "astronaut" / "astronaut.png"
PALACE = ROOT / "examples" / "palace" / "palace_plate.jpg"


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-c", "from moviola.cli import main; raise SystemExit(main())", *args]


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _consent(folder: Path, **kw: Any) -> Path:
    args = {"performer": "Grace Hopper", "scope": "project", "expires": (date.today() + timedelta(days=365)).isoformat(),
            "signed_by": "Moviola tests (demonstration)", "use": "de-age by 25 years for the flashback"} | kw  # fmt: skip
    path = folder / f"consent-{len(list(folder.glob('consent-*')))}.json"
    write_consent(path, new_consent(**args))
    return path


@pytest.fixture(scope="module")
def consent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _consent(tmp_path_factory.mktemp("consent"))


@pytest.fixture(scope="module")
def moving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second of a moving 640x360 plate made from the photo: push-in, roll, nod, grain."""
    return make_moving_plate(HOPPER, tmp_path_factory.mktemp("plate") / "hopper_move.mp4", width=640, height=360,
                             seconds=1.0, fps=24.0, head=(0.5, 0.43))  # fmt: skip


@pytest.fixture(scope="module")
def still(tmp_path_factory: pytest.TempPathFactory, consent: Path) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("still")
    return out, run_deage(DeageSettings(plate=str(HOPPER), years=25, consent=str(consent), name="hopper"), out)


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory, consent: Path, moving: Path) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("shot")
    return out, run_deage(DeageSettings(plate=str(moving), years=25, consent=str(consent), name="hopper"), out)


def test_a_still_looks_younger_and_is_still_the_same_person(still: tuple[Path, dict[str, Any]]) -> None:
    out, report = still
    for key in ("frames", "fps", "identity_distance", "age_before", "age_after", "flicker_before", "flicker_after",
                "stages"):  # fmt: skip
        assert key in report, key
    assert report["frames"] == 1 and report["frames_treated"] == 1
    assert report["identity_distance"] < 0.4 and report["same_person"]
    assert report["age_after"] <= report["age_before"] - 5, (report["age_before"], report["age_after"])
    assert report["flicker_before"] is None  # a still has no frame-to-frame change to measure
    assert {"track", "retouch", "quality"} <= set(report["stages"])
    frame = frame_path(out, "hopper", 1001, "png")
    after, before = _rgb(frame), _rgb(HOPPER)
    changed = np.any(after != before, axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.mean() > 0.05  # the face changed...
    assert xs.min() > 70 and xs.max() < 450 and ys.min() > 40 and ys.max() < 460  # ...and only around the face
    assert np.array_equal(after[470:], before[470:])  # the uniform, bit for bit


def test_every_output_names_the_consent_it_was_made_under(still: tuple[Path, dict[str, Any]],
                                                          shot: tuple[Path, dict[str, Any]]) -> None:  # fmt: skip
    out, report = still
    digest = report["consent"]["sha256"]
    text = Image.open(frame_path(out, "hopper", 1001, "png")).text  # type: ignore[attr-defined]
    assert text["moviola_consent_sha256"] == digest and text["moviola_consent_performer"] == "Grace Hopper"
    out2, report2 = shot
    import av

    with av.open(str(out2 / report2["outputs"]["movie"])) as c:
        assert c.metadata.get("moviola_consent_sha256") == digest
    saved = json.loads((out / "report.json").read_text())
    assert saved["consent"]["performer"] == "Grace Hopper" and saved["consent"]["sha256"] == digest


def test_the_report_is_a_deage_report_with_paths_relative_to_its_folder(
        still: tuple[Path, dict[str, Any]], consent: Path, tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    out, report = still
    assert read_document(out / "report.json", expect="DeageReport") == report
    assert report["schema"] == REPORT_SCHEMA == "DeageReport.1"
    assert not absolute_paths(report, tmp_path_factory.getbasetemp())
    assert (out / report["plate"]["path"]).resolve() == HOPPER.resolve()  # outside the folder: with ..
    assert (out / report["settings"]["plate"]).resolve() == HOPPER.resolve()
    assert (out / report["settings"]["consent"]).resolve() == consent.resolve()


def test_a_report_from_a_newer_moviola_is_refused_not_misread(still: tuple[Path, dict[str, Any]], tmp_path: Path,
                                                              run_cli: Any) -> None:  # fmt: skip
    out, report = still
    (tmp_path / "report.json").write_text(json.dumps({**report, "schema": "DeageReport.2"}))
    with pytest.raises(SchemaVersionError, match=r"DeageReport\.2, written by a newer Moviola"):
        read_report(tmp_path / "report.json")
    result = run_cli("vfx", "report", tmp_path)
    assert result.code == 4 and "newer Moviola" in result.err and len(result.err_lines) == 1, result.err
    shown = run_cli("vfx", "report", out)  # this Moviola's own reads, as a de-aging report
    assert shown.code == 0 and "Identity" in shown.out and "Grace Hopper" in shown.out, shown.err


def test_a_moving_shot_is_tracked_through_and_comes_out_steadier(shot: tuple[Path, dict[str, Any]]) -> None:
    out, report = shot
    assert report["frames"] == 24 and report["frames_treated"] == 24 and report["fps"] > 0
    assert report["identity_distance_max"] < 0.6
    assert report["age_after"] < report["age_before"]
    # no flicker added: the edit is a smooth function of steady landmarks
    assert report["flicker_after"] <= report["flicker_before"] * 1.05, (report["flicker_before"], report["flicker_after"])
    assert report["landmark_jitter_smoothed"] < report["landmark_jitter_raw"]
    # a video's frames are linear half-float EXR by default, each signed in its .c2pa sidecar
    frames = sorted((out / "frames").glob("hopper.*.exr"))
    assert [p.name for p in frames[:2]] == ["hopper.1001.exr", "hopper.1002.exr"] and len(frames) == 24
    from moviola.provenance import sidecar_of

    assert all(sidecar_of(p).is_file() for p in frames)
    assert report["outputs"]["frames"] == "frames/hopper.####.exr"
    for key in ("movie", "review"):
        info = probe_movie(out / report["outputs"][key])
        assert info["frames"] == 24 and abs(info["fps"] - 24.0) < 0.01
    assert probe_movie(out / report["outputs"]["movie"])["width"] == 640
    assert (out / report["outputs"]["contact_sheet"]).stat().st_size > 10_000
    assert not [p for p in out.rglob(".*") if p.is_file() and p.name != ".moviola-render.json"]


def test_without_consent_nothing_is_read_or_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(_cli(["vfx", "deage", "--plate", str(HOPPER), "--years", "20", "--out", str(out)]),
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 6, result.stderr
    assert "consent" in result.stderr and "moviola consent new" in result.stderr
    assert not out.exists()


def test_expired_or_out_of_scope_consent_is_refused(tmp_path: Path) -> None:
    expired = _consent(tmp_path, signed_on="2020-01-01", expires="2021-01-01")
    with pytest.raises(ConsentError, match="expired"):
        run_deage(DeageSettings(plate=str(HOPPER), years=20, consent=str(expired)), tmp_path / "a")
    only_12a = _consent(tmp_path, scope="12A")
    with pytest.raises(ConsentError, match="12B"):
        run_deage(DeageSettings(plate=str(HOPPER), years=20, consent=str(only_12a), shot="12B"), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_no_face_is_a_clear_error_and_leaves_nothing(tmp_path: Path, consent: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(InputError, match="no face was found") as err:
        run_deage(DeageSettings(plate=str(PALACE), years=20, consent=str(consent)), out)
    assert "palace_plate.jpg" in str(err.value)
    assert not list((out / "frames").glob("*.png")) and not list(out.glob("*.mp4"))


def _two_faces(tmp_path: Path) -> Path:
    a, b = _rgb(HOPPER), _rgb(ASTRONAUT)
    b = cv2.resize(b, (round(b.shape[1] * a.shape[0] / b.shape[0]), a.shape[0]), interpolation=cv2.INTER_AREA)
    path = tmp_path / "two.png"
    Image.fromarray(np.concatenate([a, b], axis=1)).save(path)
    return path


def test_several_faces_need_a_choice_and_only_the_chosen_one_changes(tmp_path: Path, consent: Path) -> None:
    two = _two_faces(tmp_path)
    with pytest.raises(InputError, match="2 faces") as err:
        run_deage(DeageSettings(plate=str(two), years=20, consent=str(consent)), tmp_path / "a")
    assert "--face" in str(err.value) and "--reference" in str(err.value)
    width = _rgb(HOPPER).shape[1]
    for pick in (DeageSettings(plate=str(two), years=20, consent=str(consent), face=1),
                 DeageSettings(plate=str(two), years=20, consent=str(consent), reference=str(HOPPER))):  # fmt: skip
        out = tmp_path / f"pick{pick.face}"
        report = run_deage(pick, out)
        after, before = _rgb(frame_path(out, "deage", 1001, "png")), _rgb(two)
        assert report["faces_seen"] == 2
        assert np.array_equal(after[:, width:], before[:, width:])  # the other person is untouched
        assert not np.array_equal(after[:, :width], before[:, :width])


def test_a_reference_photo_that_matches_nobody_is_refused(tmp_path: Path, consent: Path) -> None:
    with pytest.raises(InputError, match="reference"):
        run_deage(DeageSettings(plate=str(HOPPER), years=20, consent=str(consent), reference=str(ASTRONAUT)),
                  tmp_path / "o")  # fmt: skip


def test_a_face_too_small_to_retouch_is_refused(tmp_path: Path, consent: Path) -> None:
    small = cv2.resize(_rgb(HOPPER), (64, 75), interpolation=cv2.INTER_AREA)
    canvas = np.full((360, 640, 3), 90, np.uint8)
    canvas[140:215, 290:354] = small
    path = tmp_path / "far.png"
    Image.fromarray(canvas).save(path)
    with pytest.raises(InputError, match=r"too small|no face") as err:
        run_deage(DeageSettings(plate=str(path), years=20, consent=str(consent)), tmp_path / "o")
    assert "far.png" in str(err.value)


def test_a_face_lost_mid_shot_holds_and_fades_then_comes_back(tmp_path: Path, consent: Path, moving: Path) -> None:
    seq = tmp_path / "seq"
    seq.mkdir()
    footage = open_footage(moving)
    for i, pic in pictures(footage):
        rgb = pic.rgb8()
        if 6 <= i < 16:  # something passes in front of the face
            rgb = rgb.copy()
            rgb[:, 200:440] = 40
        Image.fromarray(rgb).save(seq / f"plate.{1001 + i:04d}.png")
    report = run_deage(DeageSettings(plate=str(seq / "plate.####.png"), years=25, consent=str(consent), fps=24,
                                     movie=False, frame_format="png"), tmp_path / "out")  # fmt: skip
    assert report["frames"] == 24 and report["frames_fading"] >= 1 and report["frames_without_face"] >= 1
    assert any("lost" in w for w in report["warnings"])
    last = _rgb(frame_path(tmp_path / "out", "deage", 1024, "png"))
    assert not np.array_equal(last, _rgb(seq / "plate.1024.png"))  # treated again once it is back
    covered = _rgb(frame_path(tmp_path / "out", "deage", 1015, "png"))
    assert np.array_equal(covered, _rgb(seq / "plate.1015.png"))  # faded out: the plate as it was


def test_a_truncated_or_corrupt_video_is_refused_with_its_name(tmp_path: Path, consent: Path, moving: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\0\1\2 not a movie" * 100)
    with pytest.raises(InputError, match=r"garbage\.mp4"):
        run_deage(DeageSettings(plate=str(garbage), years=20, consent=str(consent)), tmp_path / "a")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(moving.read_bytes()[:2000])
    with pytest.raises(InputError, match=r"cut\.mp4"):
        run_deage(DeageSettings(plate=str(cut), years=20, consent=str(consent)), tmp_path / "b")


def _vfr_video(path: Path) -> Path:
    import av

    frames = [pic.rgb8() for _, pic in pictures(open_footage(ROOT / "examples" / "hopper" / "grace_hopper.jpg"))]
    img = cv2.resize(frames[0], (320, 376))
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 320, 376, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        s.time_base = Fraction(1, 1000)
        t = 0
        for i in range(12):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = t, Fraction(1, 1000)
            t += 42 if i % 3 else 90  # a stutter every third frame, as phones do
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_a_variable_frame_rate_is_reported_and_frames_are_kept_one_for_one(tmp_path: Path, consent: Path) -> None:
    vfr = _vfr_video(tmp_path / "vfr.mp4")
    report = run_deage(DeageSettings(plate=str(vfr), years=20, consent=str(consent), frame_format="none",
                                     movie=False, review=False), tmp_path / "o")  # fmt: skip
    assert report["frames"] == 12 and report["plate"]["variable_frame_rate"]
    assert any("variable frame rate" in w for w in report["warnings"])


def test_a_phone_video_is_turned_upright(tmp_path: Path) -> None:
    import av

    path = tmp_path / "phone.mp4"
    img = np.zeros((32, 64, 3), np.uint8)
    img[:, :32] = 255  # the left half is white as stored
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 32, "yuv420p"
        for i in range(3):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    data = bytearray(path.read_bytes())  # what a phone writes: a display matrix in the track header
    i = data.find(b"tkhd")
    off = i + 4 + 4 + (32 if data[i + 4] == 1 else 20) + 8 + 8
    data[off : off + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
    footage = open_footage(path)
    assert (footage.width, footage.height) == (32, 64) and footage.rotation in (90, 270)
    upright = next(pictures(footage))[1].rgb8()
    assert upright.shape[:2] == (64, 32)
    assert upright[:32].mean() > 200 and upright[32:].mean() < 60  # turned clockwise, as a player shows it


def test_a_killed_render_resumes_from_its_frames(tmp_path: Path, consent: Path, moving: Path) -> None:
    out = tmp_path / "out"
    settings = DeageSettings(plate=str(moving), years=20, consent=str(consent), name="hopper")

    def stop_at_ten(stage: str, done: int, total: int) -> None:
        if stage == "render" and done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_deage(settings, out, progress=stop_at_ten)
    kept = sorted((out / "frames").glob("hopper.*.exr"))
    assert 1 <= len(kept) < 24
    import OpenEXR

    for p in kept:
        with OpenEXR.File(str(p)) as f:  # every frame on disk is whole
            assert np.asarray(f.channels()["RGB"].pixels).shape == (360, 640, 3)
    assert not [p for p in out.rglob(".*") if p.is_file() and p.name != ".moviola-render.json"]
    assert not list(out.glob("*.mp4"))
    report = run_deage(settings, out)
    assert report["frames"] == 24 and len(list((out / "frames").glob("hopper.*.exr"))) == 24
    with pytest.raises(Exception, match="different recipe"):  # other settings do not mix into this render
        run_deage(DeageSettings(plate=str(moving), years=10, consent=str(consent), name="hopper"), out)


def test_the_models_are_recorded_with_licences_and_non_commercial_ones_need_an_opt_in(
    still: tuple[Path, dict[str, Any]],
) -> None:
    _, report = still
    assert all(m["commercial_use"] for m in report["models"])
    assert {m["licence"] for m in report["models"]} <= {"Apache-2.0", "CC0-1.0"}
    with pytest.raises(InputError, match="non-commercial"):
        model_path("dlib-68-point")
    assert model_path("dlib-68-point", allow_non_commercial=True).is_file()
    assert not MODELS["dlib-68-point"].commercial


def test_video_pictures_keep_their_code_values_where_nothing_changes() -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(16, 200, (96 * 3 // 2, 128)).astype(np.uint8)
    pic = Picture(data, YuvFormat("bt709"), 96)
    plan = RetouchPlan(np.zeros((20, 30, 3), np.float32), np.zeros((20, 30), np.float32), None, (40, 48),
                       np.zeros((478, 2), np.float32))  # fmt: skip
    same = pic.retouched(pic.even_box((10, 10, 50, 58)), plan)
    assert np.array_equal(same.data, data) and same.data is not data
    lift = RetouchPlan(np.full((20, 30, 3), 0.1, np.float32), np.ones((20, 30), np.float32), None, (40, 48),
                       np.zeros((478, 2), np.float32))  # fmt: skip
    box = pic.even_box((10, 10, 50, 58))
    brighter = pic.retouched(box, lift)
    y0, y1 = pic.planes()[0], brighter.planes()[0]
    assert np.allclose(y1[box[1] : box[3], box[0] : box[2]].astype(int) - y0[box[1] : box[3], box[0] : box[2]],
                       22, atol=1)  # 0.1 of white is 21.9 code values in limited range  # fmt: skip
    assert np.array_equal(y1[box[3] :], y0[box[3] :])
    assert yuv_format(1, 1, 1080) == YuvFormat("bt709") and yuv_format(6, 2, 480) == YuvFormat("bt601", True)
    assert yuv_format(None, None, 480).matrix == "bt601" and yuv_format(2, None, 1080).matrix == "bt709"


def test_video_composite_is_the_plain_sums_made_in_place() -> None:
    # the composite makes its sums in place (and on the writer's thread): the same float
    # operations as the plain expression, so the same code values, warp and hair gain included
    rng = np.random.default_rng(5)
    h, w = 120, 160
    data = rng.integers(16, 236, (h * 3 // 2, w)).astype(np.uint8)
    pic = Picture(data, YuvFormat("bt709"), h)
    box = pic.even_box((20, 10, 140, 110))
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    field = WarpField(rng.normal(0, 1.5, (7, 9, 2)).astype(np.float32), 20.0, bh, bw)
    plan = RetouchPlan(delta=rng.normal(0, 0.03, (25, 30, 3)).astype(np.float32), skin=np.ones((25, 30), np.float32),
                       field=field, size=(bw, bh), landmarks=np.zeros((478, 2), np.float32),
                       gain=rng.uniform(0.8, 1.3, (25, 30)).astype(np.float32),
                       fine=rng.normal(0, 0.02, (50, 60)).astype(np.float32))  # fmt: skip
    weight = 0.7
    got = pic.retouched(box, plan, weight)
    # the plain sums, as written before they were made in place
    matrix, _ = pic.yuv.forward()  # type: ignore[union-attr]
    d = np.asarray(cv2.transform(plan.delta, matrix), np.float32) * np.float32(weight)
    y, u, v = (p.copy() for p in pic.planes())
    moved = apply_warp(y[y0:y1, x0:x1], field.scaled(weight))
    dy = cv2.resize(d[..., 0], (bw, bh)) + cv2.resize(plan.fine, (bw, bh)) * np.float32(matrix[0].sum() * weight)
    gain = np.float32(1.0) + (plan.gain - np.float32(1.0)) * np.float32(weight)  # type: ignore[operator]
    dy = dy + (moved.astype(np.float32) - np.float32(16)) * (cv2.resize(gain, (bw, bh)) - np.float32(1.0))
    y[y0:y1, x0:x1] = cv2.add(moved, dy, dtype=cv2.CV_8U)
    cs = np.s_[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2]
    uv = apply_warp(cv2.merge([u[cs], v[cs]]), field.scaled(weight).half())
    g2 = cv2.resize(gain, (bw // 2, bh // 2))[..., None]
    duv = cv2.resize(d[..., 1:], (bw // 2, bh // 2)) + (uv.astype(np.float32) - np.float32(128)) * (g2 - np.float32(1.0))
    uv = cv2.add(uv, duv, dtype=cv2.CV_8U)
    u[cs], v[cs] = uv[..., 0], uv[..., 1]
    for mine, want in zip(got.planes(), (y, u, v), strict=True):
        assert np.array_equal(mine, want)
    assert np.array_equal(pic.data, data)  # the frame itself is left as it was (the review shows it)


def test_a_videos_frames_are_whole_and_the_plate_itself_away_from_the_face(shot: tuple[Path, dict[str, Any]],
                                                                          moving: Path) -> None:  # fmt: skip
    import OpenEXR

    from moviola.vfx.deage._frames import linear_half

    out, _ = shot
    changed = 0.0
    for i, pic in pictures(open_footage(moving)):
        with OpenEXR.File(str(frame_path(out, "hopper", 1001 + i, "exr"))) as f:
            got = np.asarray(f.channels()["RGB"].pixels)
        want = linear_half(pic.rgb8())  # the plate's own pixels, taken to linear half float
        assert got.shape == (360, 640, 3) and got.dtype == np.float16  # the whole frame, every frame
        same = np.all(got.view(np.uint16) == want.view(np.uint16), axis=2)
        assert same[:, :180].all() and same[:, 490:].all() and same[300:].all()  # bit for bit, away from the face
        changed = max(changed, float((~same).mean()))
    assert changed > 0.02  # and the face did change


def test_the_treated_movie_is_the_plate_away_from_the_face_up_to_the_codec(shot: tuple[Path, dict[str, Any]],
                                                                           moving: Path) -> None:  # fmt: skip
    import av

    out, report = shot
    with av.open(str(out / report["outputs"]["movie"])) as c:
        treated = [f.to_ndarray()[:360] for f in c.decode(video=0)]  # Y, as stored
    plate = [pic.planes()[0] for _, pic in pictures(open_footage(moving))]
    assert len(treated) == len(plate) == 24
    for mine, theirs in zip(treated, plate, strict=True):
        for side in (np.s_[:, :180], np.s_[:, 490:]):
            err = mine[side].astype(np.float64) - theirs[side]
            assert 10 * np.log10(255**2 / max(float(np.mean(err**2)), 1e-9)) > 40  # x264 at CRF 18, nothing else


def test_the_cli_prints_json_with_the_contract_fields(tmp_path: Path, consent: Path) -> None:
    out = tmp_path / "o"
    result = subprocess.run(_cli(["vfx", "deage", "--plate", str(HOPPER), "--years", "15", "--consent", str(consent),
                                  "--performer", "Grace Hopper", "--out", str(out), "--json", "--no-review"]),
                            capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("frames", "fps", "identity_distance", "age_before", "age_after", "flicker_before", "flicker_after",
                "stages"):  # fmt: skip
        assert key in report
    assert "review" not in report["outputs"] and (out / "report.json").is_file()
    assert Image.open(io.BytesIO((out / "frames" / "deage.1001.png").read_bytes())).size == (512, 600)


def test_odd_frame_sizes_and_an_exr_plate_work_end_to_end(tmp_path: Path, consent: Path) -> None:
    # 1998x1080-like shapes: a height that is even but not a multiple of four, in YUV all the way
    plate = make_moving_plate(HOPPER, tmp_path / "odd.mp4", width=642, height=362, seconds=0.25, fps=24.0,
                              head=(0.5, 0.43))  # fmt: skip
    report = run_deage(DeageSettings(plate=str(plate), years=20, consent=str(consent), frame_format="none"),
                       tmp_path / "a")  # fmt: skip
    assert report["frames"] == 6 and report["frames_treated"] == 6
    assert probe_movie(tmp_path / "a" / report["outputs"]["movie"])["height"] == 362
    # an EXR still comes back as an EXR (linear, half float) by default, with the consent in its header
    import OpenEXR

    from moviola.core._image_io import write_exr

    linear = (np.asarray(Image.open(HOPPER).convert("RGB"), np.float32) / 255.0) ** 2.4
    exr = write_exr(tmp_path / "hopper.exr", {"RGB": linear}, half=True)
    report = run_deage(DeageSettings(plate=str(exr), years=20, consent=str(consent), name="h"), tmp_path / "b")
    out = frame_path(tmp_path / "b", "h", 1001, "exr")
    with OpenEXR.File(str(out)) as f:
        assert f.header()["moviola_consent_sha256"] == report["consent"]["sha256"]
        rgb = np.asarray(f.channels()["RGB"].pixels, np.float32)
    assert rgb.shape == linear.shape and np.allclose(rgb[500:], linear[500:], atol=2e-3)  # away from the face
    assert report["age_after"] < report["age_before"]


def test_force_replaces_every_output_of_another_render(tmp_path: Path, consent: Path, moving: Path) -> None:
    out = tmp_path / "out"
    run_deage(DeageSettings(plate=str(moving), years=20, consent=str(consent), name="hopper"), out)
    report = run_deage(DeageSettings(plate=str(moving), years=10, consent=str(consent), name="hopper", frames=5,
                                     movie=False), out, force=True)  # fmt: skip
    assert report["frames"] == 5 and len(list((out / "frames").glob("*.exr"))) == 5
    assert not list(out.glob("*_deaged.mp4"))  # the other render's movie is gone with it


def test_a_project_keeps_the_consent_and_the_plan_shot_is_marked(planned_project: tuple[Path, str], consent: Path) -> None:
    from moviola.core import open_project
    from moviola.plan import load_plan

    root, shot_id = planned_project
    result = subprocess.run(_cli(["vfx", "deage", "--plate", str(HOPPER), "--years", "20", "--consent", str(consent),
                                  "--performer", "Grace Hopper", "--project", str(root), "--shot", shot_id,
                                  "--name", "hopper", "--no-review"]),
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (root / "consent" / consent.name).read_bytes() == consent.read_bytes()
    report = read_report(root / "vfx" / "hopper" / "deage" / "report.json")
    assert not absolute_paths(report, root) and report["settings"]["consent"] == f"../../../consent/{consent.name}"
    shot = next(s for s in load_plan(open_project(root))["shots"] if s["id"] == shot_id)
    assert shot["vfx"] and shot["vfx_kind"] == "de_aging"

"""Content Credentials on the VFX shots, and the consent audit that reads them back.

A collapse's every layer, its movie and sheet say they are the plate edited by a
procedural simulation under a recipe; a de-aging's every frame, movie and sheet say
they are the plate edited with trained models, name each model with its licence and
the consent it was made under; ``moviola consent audit`` finds them all from the files,
and after ``moviola consent revoke`` no new render is made under the record.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("moderngl")
pytest.importorskip("mediapipe")

from moviola import provenance
from moviola.consent import new_consent, write_consent
from moviola.core import init_project
from moviola.vfx import LAYERS, CollapseRecipe, layer_path, parse_box, run_collapse

ROOT = Path(__file__).resolve().parents[1]
PALACE = ROOT / "examples" / "palace" / "palace_plate.jpg"
HOPPER = ROOT / "examples" / "hopper" / "grace_hopper.jpg"
USE = "de-age by 20–30 years for the flashback, shot 7"


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviola", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def collapse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], CollapseRecipe]:
    box = parse_box("88,8,512,384")
    recipe = CollapseRecipe(plate=str(PALACE), building=[list(p) for p in box.points], resolution=[192, 144],
                            frames=6, name="palace")  # fmt: skip
    out = tmp_path_factory.mktemp("collapse")
    return out, run_collapse(recipe, out), recipe


def test_every_collapse_layer_frame_is_signed_as_an_edit_of_the_plate(collapse: Any) -> None:
    out, report, _ = collapse
    for layer in LAYERS:
        for frame in range(report["first_frame"], report["last_frame"] + 1):
            path = layer_path(out, "palace", layer, frame)
            assert provenance.sidecar_of(path).is_file(), path
    comp = provenance.verify(layer_path(out, "palace", "comp", report["first_frame"] + 3))
    assert comp.state == provenance.TRUSTED
    assert [a["action"] for a in comp.actions] == ["c2pa.opened", "c2pa.edited"]
    assert comp.actions[1]["source_type"] == "algorithmicMedia"  # procedural: no trained model
    assert comp.ingredients[0]["role"] == "plate" and comp.ingredients[0]["title"] == PALACE.name
    assert comp.render["documents"]["recipe"] == report["recipe_key"]
    assert comp.render["frame"] == report["first_frame"] + 3 and comp.render["layer"] == "comp"
    for name in (report["outputs"]["movie"], report["outputs"]["contact_sheet"]):
        v = provenance.verify(out / name)
        assert v.state == provenance.TRUSTED and v.actions[1]["source_type"] == "algorithmicMedia"


def test_a_changed_collapse_frame_is_reported_as_tampered(collapse: Any, tmp_path: Path) -> None:
    out, report, _ = collapse
    frame = layer_path(out, "palace", "comp", report["first_frame"])
    copy = tmp_path / frame.name
    data = bytearray(frame.read_bytes())
    data[len(data) // 2] ^= 0x04
    copy.write_bytes(bytes(data))
    provenance.sidecar_of(copy).write_bytes(provenance.sidecar_of(frame).read_bytes())
    result = _cli(["provenance", "verify", str(copy)])
    assert result.returncode == 8
    assert "tampered" in result.stdout and "BROKEN" in result.stdout


@pytest.fixture(scope="module")
def deaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("film") / "film"
    init_project(root, name="film")
    record = write_consent(root.parent / "grace.json", new_consent(
        "Grace Hopper", "project", (date.today() + timedelta(days=90)).isoformat(), "Her Estate", use=USE))  # fmt: skip
    made = _cli(["vfx", "deage", "--plate", str(HOPPER), "--years", "25", "--consent", str(record),
                 "--performer", "Grace Hopper", "--project", str(root), "--name", "hopper"])  # fmt: skip
    assert made.returncode == 0, made.stderr
    return root, record


def test_a_de_aged_frame_names_the_models_and_the_consent(deaged: tuple[Path, Path]) -> None:
    root, record = deaged
    out = root / "vfx" / "hopper" / "deage"
    files = sorted(p for p in out.rglob("*") if p.suffix in (".png", ".mp4", ".exr"))
    assert files
    for path in files:
        v = provenance.verify(path)
        assert v.state == provenance.TRUSTED, (path, v.problems)
        assert v.actions[1]["source_type"] == "compositeWithTrainedAlgorithmicMedia"
        assert v.consent is not None and v.consent["performer"] == "Grace Hopper" and v.consent["use"] == USE
        import hashlib

        assert v.consent["record_sha256"] == hashlib.sha256(record.read_bytes()).hexdigest()
        assert {m["name"] for m in v.models} >= {"mediapipe-face-mesh", "age-v1"}
        assert all(m["licence"] for m in v.models)
    assert (root / "moviola.toml").read_text().count("[provenance]") == 1  # the project knows its signer


def test_the_audit_lists_every_file_made_under_the_record_and_revocation_stops_new_renders(
        deaged: tuple[Path, Path], tmp_path: Path) -> None:  # fmt: skip
    root, record = deaged
    audit = _cli(["consent", "audit", str(root), "--json"])
    assert audit.returncode == 0, audit.stderr
    [entry] = json.loads(audit.stdout)["records"]
    assert entry["performer"] == "Grace Hopper" and entry["use"] == USE and entry["revoked"] is None
    made = sorted(p.relative_to(root).as_posix() for p in (root / "vfx" / "hopper").rglob("*")
                  if p.suffix in (".png", ".mp4", ".exr") and not p.name.startswith("."))  # fmt: skip
    assert sorted(entry["files"]) == made and entry["record"].startswith("consent/")
    revoked = _cli(["consent", "revoke", str(record), "--reason", "the estate withdrew it", "--project", str(root)])
    assert revoked.returncode == 0, revoked.stderr
    kept = root / entry["record"]
    assert kept.with_name(kept.name.removesuffix(".json") + ".revoked.json").is_file()  # travels with the project
    again = _cli(["vfx", "deage", "--plate", str(HOPPER), "--years", "25", "--consent", str(record),
                  "--performer", "Grace Hopper", "--out", str(tmp_path / "again")])  # fmt: skip
    assert again.returncode == 6 and "revoked" in again.stderr
    assert not (tmp_path / "again").exists()
    # the project's own copy of the record is refused too, here and on any machine the project goes to
    assert _cli(["consent", "check", str(kept)]).returncode == 6
    listed = _cli(["consent", "audit", str(root)])
    assert "REVOKED" in listed.stdout and "the estate withdrew it" in listed.stdout

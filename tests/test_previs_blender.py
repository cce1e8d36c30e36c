"""The 3D handoff as Blender reads it: lens and filmback in millimetres, not 100 times off.

Runs Blender's own USD importer (``bpy==5.0.1``, in its own venv made by
``bash scripts/setup_blender.sh``, or the Python named by ``MOVIOLA_BPY_PYTHON``);
skipped when that is absent, as on a machine without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pxr")

from moviola.plan import CAMERAS
from moviola.previs._camera_export import export_shot_cameras
from moviola.previs._layout import build_scene_stage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from test_previs_camera_export import FPS, SCENE, SHOTS  # noqa: E402


def blender_python() -> Path | None:
    named = os.environ.get("MOVIOLA_BPY_PYTHON")
    candidate = Path(named) if named else ROOT / ".venv-blender" / "bin" / "python"
    return candidate if candidate.exists() else None


BPY = blender_python()
pytestmark = pytest.mark.skipif(BPY is None, reason="no Blender Python (bash scripts/setup_blender.sh)")


def blender_cameras(stage: Path) -> dict[str, dict[str, Any]]:
    assert BPY is not None
    done = subprocess.run([str(BPY), str(ROOT / "tests" / "blender" / "read_cameras.py"), "--",
                           str(stage)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("CAMERAS "))
    out: dict[str, dict[str, Any]] = json.loads(line.removeprefix("CAMERAS "))
    return out


def test_blender_reads_every_lens_and_filmback_in_millimetres(tmp_path: Path) -> None:
    path = tmp_path / "scene-7.usda"
    stage = build_scene_stage(SCENE, SHOTS, FPS, path)
    stage.GetRootLayer().Save()
    exported = export_shot_cameras(path, tmp_path / "cameras")
    expected = {f"shot_{s.id}": (float(s.lens_mm), CAMERAS[s.camera.body].used(s.camera.aspect))
                for s in SHOTS}  # fmt: skip
    seen = blender_cameras(path)
    assert set(seen) == set(expected)
    for name, (lens, (w, _h)) in expected.items():
        assert seen[name]["lens"] == pytest.approx(lens, abs=1e-3), name
        assert seen[name]["sensor_width"] == pytest.approx(w, abs=1e-2), name
    for shot_id, files in exported.items():  # each shot's own camera file, the same lens
        (one,) = blender_cameras(files["usd"]).values()
        lens, (w, _h) = expected[f"shot_{shot_id}"]
        assert one["lens"] == pytest.approx(lens, abs=1e-3)
        assert one["sensor_width"] == pytest.approx(w, abs=1e-2)

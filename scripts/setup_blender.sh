#!/usr/bin/env bash
# Blender's Python module (bpy 5.0.1, about 370 MB) in its own venv, .venv-blender/, for the
# test that imports our USD stages with Blender's own importer (tests/test_previs_blender.py).
# Optional: without it that test is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv-blender/bin/python ] || "$PY" -m venv .venv-blender
.venv-blender/bin/python -c "import bpy" 2>/dev/null || {
  apt-get install -y libxi6 libxxf86vm1 libxfixes3 libxrender1 libxkbcommon0 libsm6 libgl1 >/dev/null 2>&1 || true
  .venv-blender/bin/pip install -q "bpy==5.0.1"
}
.venv-blender/bin/python -c "import bpy; print('bpy', bpy.app.version_string)"

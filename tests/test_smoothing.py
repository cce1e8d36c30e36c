"""The One-Euro filter: landmarks of a still face stop shaking; a moving one is followed closely."""

from __future__ import annotations

import numpy as np
import pytest

from moviola.vfx.deage._smoothing import OneEuroFilter

FPS = 24.0


def test_jitter_on_a_still_point_is_cut_by_far() -> None:
    rng = np.random.default_rng(0)
    raw = 100.0 + rng.normal(0, 1.0, (240, 478, 2))  # a px of tracking noise around a still face
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    out = np.array([f(frame, 1 / FPS) for frame in raw])
    before = np.abs(np.diff(raw, axis=0)).mean()
    after = np.abs(np.diff(out[24:], axis=0)).mean()
    assert after < 0.25 * before


def test_a_fast_move_is_followed_with_little_lag() -> None:
    t = np.arange(48) / FPS
    raw = (400.0 * t)[:, None] * np.ones((1, 2))  # 400 px/s: a head turning
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    out = np.array([f(x, 1 / FPS) for x in raw])
    lag_px = np.abs(out[-1] - raw[-1]).max()
    slow = OneEuroFilter(min_cutoff=1.0, beta=0.0)  # a plain low-pass at the same rest cut-off
    plain = np.array([slow(x, 1 / FPS) for x in raw])
    assert lag_px < 0.3 * np.abs(plain[-1] - raw[-1]).max()


def test_reset_starts_again_from_the_next_sample() -> None:
    f = OneEuroFilter()
    f(np.zeros(3), 1 / FPS)
    f.reset()
    assert np.array_equal(f(np.full(3, 7.0), 1 / FPS), np.full(3, 7.0))


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0)

"""The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): steady when still, quick when moving.

A low-pass filter whose cut-off rises with the signal's speed: tracked
landmarks of a face that holds still stop jittering, and a turning head is
followed without the lag a fixed low-pass would add. Works on arrays of any
shape (e.g. (478, 2) landmarks), each value filtered on its own.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


def _alpha(cutoff: F64 | float, dt: float) -> F64 | float:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """``min_cutoff`` (Hz) sets the smoothing at rest, ``beta`` how fast it opens up with speed."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("min_cutoff and d_cutoff must be positive, beta not negative")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: F64 | None = None
        self._dx: F64 | None = None

    def reset(self) -> None:
        """Forget the past (a cut, or a face lost and found again)."""
        self._x = self._dx = None

    def __call__(self, value: NDArray[np.floating], dt: float) -> F64:
        """The filtered value for a new sample ``dt`` seconds after the previous one."""
        x = np.asarray(value, np.float64)
        if self._x is None or self._x.shape != x.shape or dt <= 0:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x.copy()
        assert self._dx is not None
        dx = (x - self._x) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self._dx = self._dx + a_d * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = _alpha(cutoff, dt)
        self._x = self._x + a * (x - self._x)
        return self._x.copy()

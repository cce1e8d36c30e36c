"""When each storey of a collapsing building fails: one model for the previs and the VFX shot.

A progressive (pancake) collapse runs as a failure front that starts a little
below the top and travels down at a constant acceleration: 0.8 g by default
(measured progressive collapses run at 0.6-0.9 g), or whatever acceleration
brings the front to the foot in the time a recipe or a script asks for. The
pymunk simulation of ``moviola vfx collapse`` breaks its bonds where this front
has passed; the previs drops its tower's floors at the times it gives. So the
previs and the final shot agree on how long the fall takes and in which order
the floors go (top first).

Pure arithmetic: metres and seconds, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GRAVITY = 9.81
STOREY_M = 3.5  # a storey of an apartment block, slab to slab
DEFAULT_ACCEL = 0.8 * GRAVITY
MIN_ACCEL, MAX_ACCEL = 0.2 * GRAVITY, 3.0 * GRAVITY
FAILURE_BELOW_TOP = 0.06  # the failure starts this share of the height below the top


def front_accel(height_m: float, duration_s: float | None) -> float:
    """The failure front's acceleration (m/s²): reaching the foot in ``duration_s`` when given
    (kept within 0.2-3 g), else 0.8 g."""
    if not duration_s:
        return DEFAULT_ACCEL
    return min(MAX_ACCEL, max(MIN_ACCEL, 2.0 * height_m / duration_s**2))


def front_depth(tau: float, accel: float, storey_m: float = STOREY_M) -> float:
    """How far below the failure point (m) the front has travelled ``tau`` s after it starts."""
    return 0.5 * accel * tau * tau + storey_m * 0.5 if tau >= 0 else 0.0


def collapse_duration(height_m: float, duration_s: float | None) -> float:
    """Seconds from the first failure until the front reaches the foot."""
    accel = front_accel(height_m, duration_s)
    return math.sqrt(2.0 * height_m / accel)


@dataclass(frozen=True)
class CollapseTiming:
    """A pancake collapse of ``storeys`` floors: when it starts (seconds into the shot or
    scene) and how fast its front runs."""

    height_m: float
    storeys: int
    start_s: float
    duration_s: float | None = None  # None: as physics has it (0.8 g)
    mode: str = "pancake"

    @property
    def accel(self) -> float:
        return front_accel(self.height_m, self.duration_s)

    @property
    def length_s(self) -> float:
        return collapse_duration(self.height_m, self.duration_s)

    def floor_failures(self) -> list[float]:
        """Per storey, ground floor first: the time (s) its slab lets go.

        Pancake: when the front (the simulation's, to the same formula) reaches the
        slab, from the top down. Topple: the whole block at once, hinged at its foot.
        Blast: the floors at mid height first, the rest as the shock spreads both ways.
        """
        n = max(1, self.storeys)
        storey = self.height_m / n
        if self.mode == "topple":
            return [self.start_s] * n
        if self.mode == "blast":
            mid = 0.55 * n
            return [self.start_s + self.front_time(abs(k + 0.5 - mid) * storey) for k in range(n)]
        failure_h = self.height_m * (1.0 - FAILURE_BELOW_TOP)
        return [self.start_s + self.front_time(failure_h - (k + 1) * storey) for k in range(n)]

    def front_time(self, depth_m: float) -> float:
        """Seconds until the front is ``depth_m`` below the failure point (:func:`front_depth`
        solved for time; 0 for what the first storey's failure takes at once)."""
        reach = depth_m - STOREY_M * 0.5
        return math.sqrt(2.0 * reach / self.accel) if reach > 0 else 0.0

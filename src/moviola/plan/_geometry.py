"""Plane geometry of the floor plan (metres, x right, y up the page, z height).

Angles are degrees counter-clockwise from +x, as on a map seen from above.
"""

from __future__ import annotations

import math

Vec = tuple[float, float]


def sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1])


def add(a: Vec, b: Vec) -> Vec:
    return (a[0] + b[0], a[1] + b[1])


def scale(a: Vec, k: float) -> Vec:
    return (a[0] * k, a[1] * k)


def length(a: Vec) -> float:
    return math.hypot(a[0], a[1])


def unit(angle_deg: float) -> Vec:
    r = math.radians(angle_deg)
    return (math.cos(r), math.sin(r))


def heading(a: Vec) -> float:
    """Direction of vector ``a`` in degrees (0 = +x, counter-clockwise)."""
    return math.degrees(math.atan2(a[1], a[0]))


def cross(a: Vec, b: Vec) -> float:
    return a[0] * b[1] - a[1] * b[0]


def dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1]


def angle_between(a_deg: float, b_deg: float) -> float:
    """Smallest absolute difference of two directions, 0..180."""
    d = (a_deg - b_deg) % 360.0
    return min(d, 360.0 - d)


def side_of_line(p: Vec, a: Vec, b: Vec) -> float:
    """Signed distance of ``p`` from the line a→b: > 0 on its left, < 0 on its right."""
    d = sub(b, a)
    n = length(d)
    if n == 0:
        return 0.0
    return cross(d, sub(p, a)) / n


def screen_x(point: Vec, cam: Vec, pan_deg: float) -> float:
    """Where ``point`` lands across the frame: -1 left edge .. +1 right, per unit tan.

    Returned as tan(angle off the optical axis), positive to the camera's right.
    """
    rel = sub(point, cam)
    fwd = unit(pan_deg)
    right = (fwd[1], -fwd[0])
    depth = dot(rel, fwd)
    if depth <= 1e-6:
        return math.copysign(math.inf, dot(rel, right) or 1.0)
    return dot(rel, right) / depth


def screen_direction(move: Vec, pan_deg: float) -> float:
    """How a movement reads on screen: > 0 left-to-right, < 0 right-to-left."""
    fwd = unit(pan_deg)
    right = (fwd[1], -fwd[0])
    return dot(move, right)


def r2(x: float) -> float:
    return round(x, 3)

"""Auto-framing: where the camera goes for a shot size, a lens and a subject.

Distance from size: the frame's height at the subject is the visible height
of the size (``VISIBLE_HEIGHT_M``), so distance = (visible / 2) / tan(vfov / 2)
with the used filmback's vertical field of view. Two subjects are fitted
across the frame so that each sits on a third; a single is placed off-centre
with look room on the side the subject faces.
"""

from __future__ import annotations

import math

from ._cameras import Filmback, nearest_prime
from ._geometry import Vec, add, heading, length, r2, scale, side_of_line, sub, unit
from ._model import Camera
from ._vocabulary import VISIBLE_HEIGHT_M

EYE = 0.93  # eye height as a fraction of body height


def fov(body: Filmback, lens: float, aspect: float) -> tuple[float, float]:
    return body.fov_deg(lens, aspect)


def distance_for_size(size: str, lens: float, body: Filmback, aspect: float) -> float:
    """distance = radius / tan(fov / 2), the radius being half the visible height."""
    _, vfov = fov(body, lens, aspect)
    return (VISIBLE_HEIGHT_M[size] / 2) / math.tan(math.radians(vfov / 2))


def lens_for_distance(size: str, distance: float, body: Filmback, aspect: float) -> int:
    """The prime that frames ``size`` from ``distance``."""
    _, used_h = body.used(aspect)
    focal = used_h * distance / VISIBLE_HEIGHT_M[size]
    return nearest_prime(focal, body)


def make_camera(
    body: Filmback,
    lens: float,
    aspect: float,
    position: Vec,
    height: float,
    target: Vec,
    target_height: float,
    *,
    screen_offset: float = 0.0,
    roll: float = 0.0,
) -> Camera:
    """A camera at ``position`` aimed at ``target``, the target put ``screen_offset``
    of the half-frame to the right of centre (negative: to the left)."""
    hfov, vfov = fov(body, lens, aspect)
    pan = heading(sub(target, position))
    if screen_offset:
        pan += math.degrees(math.atan(screen_offset * math.tan(math.radians(hfov / 2))))
    dist = max(0.05, length(sub(target, position)))
    tilt = math.degrees(math.atan2(target_height - height, dist))
    return Camera(
        body=body.key,
        x=r2(position[0]),
        y=r2(position[1]),
        height=r2(height),
        pan=r2(_wrap(pan)),
        tilt=r2(tilt),
        roll=roll,
        aspect=aspect,
        hfov=r2(hfov),
        vfov=r2(vfov),
    )


def _wrap(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def look_room_offset(subject_facing: float, camera_pan: float) -> float:
    """Put the subject on the third away from where they look (look room ahead)."""
    fwd = unit(camera_pan)
    right = (fwd[1], -fwd[0])
    looks_right = unit(subject_facing)[0] * right[0] + unit(subject_facing)[1] * right[1]
    return -1 / 3 if looks_right > 0 else 1 / 3


def single_position(
    subject: Vec,
    facing: float,
    distance: float,
    line: tuple[Vec, Vec] | None,
    camera_side: float,
    off_axis_deg: float = 30.0,
) -> Vec:
    """A 3/4 single: along the subject's eyeline, turned toward the camera side."""
    # Turn further off the eyeline until the camera is on its side of the line.
    for turn in (off_axis_deg, off_axis_deg + 15, off_axis_deg + 30, 80.0, 100.0, 120.0):
        for sign in (1.0, -1.0):
            pos = add(subject, scale(unit(facing + sign * turn), distance))
            if line is None or side_of_line(pos, *line) * camera_side > 0.2:
                return pos
    return add(subject, scale(unit(facing + off_axis_deg), distance))


def perpendicular_position(a: Vec, b: Vec, distance: float, camera_side: float) -> Vec:
    """On the camera side of the a-b line, square to it, at ``distance`` from its middle."""
    mid = scale(add(a, b), 0.5)
    d = sub(b, a)
    n = length(d) or 1.0
    left = (-d[1] / n, d[0] / n)  # side_of_line > 0 is to the left of a->b
    return add(mid, scale(left, distance * camera_side))


def fit_distance(half_width: float, hfov: float) -> float:
    return half_width / math.tan(math.radians(hfov / 2))

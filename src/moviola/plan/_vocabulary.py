"""The trade's vocabulary for shots: sizes, angles, movements.

Each size is defined by how much of a standing person the frame's height
shows (metres of subject visible, top of head down), the way a camera
operator reads "waist up" or "head and shoulders". Auto-framing turns this
into a camera distance: distance = (visible / 2) / tan(vertical fov / 2).
"""

from __future__ import annotations

SIZES: tuple[str, ...] = ("EWS", "WS", "FS", "MWS", "MS", "MCU", "CU", "ECU", "INSERT")
SIZE_NAMES = {
    "EWS": "extreme wide",
    "WS": "wide",
    "FS": "full",
    "MWS": "medium wide (cowboy)",
    "MS": "medium (waist up)",
    "MCU": "medium close-up (chest up)",
    "CU": "close-up (head and shoulders)",
    "ECU": "extreme close-up (eyes, mouth)",
    "INSERT": "insert (an object)",
}
#: Frame height in metres at the subject, for a 1.75 m person.
VISIBLE_HEIGHT_M = {
    "EWS": 30.0,
    "WS": 6.0,
    "FS": 2.2,
    "MWS": 1.4,
    "MS": 0.95,
    "MCU": 0.6,
    "CU": 0.38,
    "ECU": 0.15,
    "INSERT": 0.3,
}
ANGLES: tuple[str, ...] = ("eye level", "high", "low", "overhead", "dutch", "POV", "OTS")
MOVEMENTS: tuple[str, ...] = (
    "static",
    "pan",
    "tilt",
    "dolly in",
    "dolly out",
    "truck",
    "crane",
    "handheld",
    "steadicam",
    "zoom",
    "orbit",
)
#: Movements whose camera travels (a moving shot may cross the line).
TRAVELLING = {"dolly in", "dolly out", "truck", "crane", "steadicam", "orbit", "handheld"}


def size_index(size: str) -> int:
    return SIZES.index(size)

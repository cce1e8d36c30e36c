"""The timing model: how long each beat of a scene plays on screen.

Raw estimate from the text:

- dialogue: words / 2.5 words a second (150 wpm, the pace of screen dialogue)
  plus 0.5 s for the cue pick-up; a parenthetical adds 1.0 s;
- lyrics: words / 1.2 (sung lines are slower);
- action: 1.0 s plus 0.35 s a word (action reads fast and plays slow);
- transitions: no time of their own.

The scene's length is then set by its page count, the scheduling convention
(one page a minute, eighths of a page; see the breakdown): the raw estimates
only share that time out among the beats. The raw total is kept in the plan
(``text_estimate_s``) so a director can see where the two disagree.
"""

from __future__ import annotations

from typing import Any

DIALOGUE_WPS = 2.5
CUE_PICKUP_S = 0.5
PARENTHETICAL_S = 1.0
LYRICS_WPS = 1.2
ACTION_BASE_S = 1.0
ACTION_PER_WORD_S = 0.35
SECONDS_PER_EIGHTH = 7.5


def raw_beat_seconds(beat: dict[str, Any]) -> float:
    words = int(beat.get("words", 0))
    kind = beat.get("kind")
    if kind == "dialogue":
        extra = PARENTHETICAL_S if beat.get("parenthetical") else 0.0
        return CUE_PICKUP_S + words / DIALOGUE_WPS + extra
    if kind == "lyrics":
        return CUE_PICKUP_S + words / LYRICS_WPS
    if kind == "action":
        return ACTION_BASE_S + ACTION_PER_WORD_S * words
    return 0.0


def beat_durations(beats: list[dict[str, Any]], eighths: int) -> tuple[list[float], float]:
    """Seconds per beat, summing to the scene's page time, and the raw text estimate."""
    raw = [raw_beat_seconds(b) for b in beats]
    total_raw = sum(raw)
    page_time = max(1, eighths) * SECONDS_PER_EIGHTH
    if total_raw <= 0:
        share = page_time / max(1, len(beats))
        return [round(share, 3) for _ in beats], 0.0
    k = page_time / total_raw
    return [round(r * k, 3) for r in raw], round(total_raw, 2)

"""Poses from the action lines: who sits, runs, points or falls, and from which beat.

A mannequin that sits when the script says "Mara sits" reads at a glance in a
storyboard; one that stands through it does not. The cue is a verb in a
sentence that names the character; it holds until another cue changes it.
Walking is not a cue here: the blocking's marks move people, and the layout
swings their limbs while they travel.
"""

from __future__ import annotations

import re
from typing import Any

_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("fall", re.compile(r"\b(falls?|falling|fell|collapses?|collapsing|topples?|drops? to)\b", re.I)),
    ("sit", re.compile(r"\b(sits?|sitting|sat|seated|perches|perched|kneels?|crouch(es)?)\b", re.I)),
    ("run", re.compile(r"\b(runs?|running|ran|sprints?|sprinting|races?|dashes|bolts?|flees)\b", re.I)),
    ("point", re.compile(r"\b(points?|pointing|gestures? (at|to|toward))\b", re.I)),
    ("stand", re.compile(r"\b(stands?( up)?|stood|standing|gets? up|rises|jumps? up|on (his|her|their) feet)\b", re.I)),
)  # fmt: skip
_SENTENCE = re.compile(r"[^.!?]+[.!?]?")


def _named(sentence: str, name: str) -> re.Match[str] | None:
    return re.search(rf"\b{re.escape(name.split()[0])}\b", sentence, re.I)


def pose_cues(beats: list[dict[str, Any]], names: list[str]) -> dict[str, list[tuple[int, str]]]:
    """Per character, (beat index, pose) where the action says their pose changes."""
    out: dict[str, list[tuple[int, str]]] = {n: [] for n in names}
    for index, beat in enumerate(beats):
        if beat.get("kind") != "action":
            continue
        for sentence in _SENTENCE.findall(str(beat.get("text", ""))):
            found = [(m.start(), n) for n in names if (m := _named(sentence, n))]
            if not found:
                continue
            name = min(found)[1]  # the first name in a sentence is most often its subject
            for pose, pattern in _CUES:
                if pattern.search(sentence):
                    if (out[name][-1][1] if out[name] else "stand") != pose:
                        out[name].append((index, pose))
                    break
    return out

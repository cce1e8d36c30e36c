"""The interactive half of an ad creative: a SIMID 1.2 overlay of our own.

The overlay is three static files shipped as package data (``moviola/ads/simid/``:
``overlay.html``, ``overlay.js``, ``overlay.css``), copied unchanged beside the spot. What
differs from one creative to the next (the kind, the button's words, a poll's question
and answers) is *not* baked into those files: SIMID hands a creative its configuration in
``creativeData.adParameters``, the text of the VAST ``<AdParameters>`` element, so one
copy of the files serves every creative and the ad server can fill in per-decision values
(the ``track.interaction`` URL that reports the viewer's choice). :func:`overlay_parameters`
builds that configuration; it is written as ``simid/ad_parameters.json`` and into
``creative.json`` for whoever writes the VAST.

The configuration, as the overlay reads it::

    {"kind": "add_to_list", "label": "Add NEVADA to my list", "title": "NEVADA",
     "title_id": "mv-nevada", "confirmation": "Added to my list ✓",
     "track": {"interaction": "https://ads.example/i?d=123"}}
    {"kind": "poll", "question": "Who do you trust?", "answers": ["Ofelia", "Nico"],
     "confirmation": "Thanks!", "track": {"interaction": "..."}}

``track`` is added by the ad server; without it the overlay still works and says (in a
``SIMID:Creative:log``) that the choice went unreported. The limits below are the ones
``overlay.js`` enforces too, so a configuration this module accepts is one the overlay
accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..core import InputError, one_line

OVERLAY_KINDS = ("add_to_list", "poll")
TEMPLATE_FILES = ("overlay.html", "overlay.js", "overlay.css")
PARAMETERS_FILE = "ad_parameters.json"
OVERLAY_DIR = "simid"
SIMID_VERSION = "1.2"

# Kept equal to LIMITS in overlay.js (tests check both sides).
MAX_LABEL = 80
MAX_QUESTION = 140
MAX_ANSWER = 40
MIN_ANSWERS = 2
MAX_ANSWERS = 4

ADDED = "Added to my list ✓"
THANKS = "Thanks!"


@dataclass(frozen=True)
class OverlaySpec:
    """Which overlay a creative carries and its words (before the title is known).

    ``label`` is the add-to-list button's text (default "Add TITLE to my list");
    ``question`` and ``answers`` make a one-question poll.
    """

    kind: str
    label: str | None = None
    question: str | None = None
    answers: tuple[str, ...] = ()

    @classmethod
    def add_to_list(cls, label: str | None = None) -> OverlaySpec:
        return cls("add_to_list", label=label)

    @classmethod
    def poll(cls, question: str, answers: tuple[str, ...] | list[str]) -> OverlaySpec:
        return cls("poll", question=question, answers=tuple(answers))


def parse_answers(text: str) -> tuple[str, ...]:
    """``"Yes,No,Not yet"`` as answers: split at commas, spaces trimmed, empties refused."""
    answers = tuple(one_line(a) for a in text.split(","))
    if any(not a for a in answers):
        raise InputError(f"--answers {text!r} has an empty answer (answers are comma-separated)")
    return answers


def _text(value: str | None, what: str, limit: int) -> str:
    text = one_line(value or "")
    if not text:
        raise InputError(f"the overlay's {what} is empty")
    if len(text) > limit:
        raise InputError(f"the overlay's {what} is {len(text)} characters; at most {limit} fit "
                         f"on a player: {text[:40]!r}…")  # fmt: skip
    return text


def overlay_parameters(spec: OverlaySpec, *, title: str, title_id: str) -> dict[str, Any]:
    """The overlay's configuration (the ``<AdParameters>`` object), checked against the limits
    the overlay itself enforces; a bad one raises :class:`InputError` saying what to change."""
    if spec.kind == "add_to_list":
        label = _text(spec.label or f"Add {one_line(title)} to my list", "button label", MAX_LABEL)
        return {"kind": "add_to_list", "label": label, "title": one_line(title),
                "title_id": title_id, "confirmation": ADDED}  # fmt: skip
    if spec.kind == "poll":
        question = _text(spec.question, "poll question (--question)", MAX_QUESTION)
        answers = [_text(a, "poll answer", MAX_ANSWER) for a in spec.answers]
        if not MIN_ANSWERS <= len(answers) <= MAX_ANSWERS:
            raise InputError(f"a poll needs {MIN_ANSWERS} to {MAX_ANSWERS} answers (--answers "
                             f"\"A,B,C\"), not {len(answers)}")  # fmt: skip
        folded = [a.casefold() for a in answers]
        if len(set(folded)) != len(folded):
            raise InputError(f"the poll's answers repeat one another: {', '.join(answers)}")
        return {"kind": "poll", "question": question, "answers": answers,
                "title_id": title_id, "confirmation": THANKS}  # fmt: skip
    raise InputError(f"unknown overlay kind {spec.kind!r}; one of {', '.join(OVERLAY_KINDS)}")


def ad_parameters_text(parameters: dict[str, Any]) -> str:
    """The configuration as the text of VAST ``<AdParameters>`` (compact JSON, UTF-8)."""
    return json.dumps(parameters, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def template_bytes() -> dict[str, bytes]:
    """The overlay's files as shipped in the package, by name."""
    folder = resources.files("moviola.ads") / "simid"
    return {name: (folder / name).read_bytes() for name in TEMPLATE_FILES}


def write_overlay(folder: Path, parameters: dict[str, Any]) -> dict[str, Path]:
    """Write ``folder/simid/``: the overlay's files and its configuration.

    ``folder`` is a creative being assembled (a temporary folder the caller renames into
    place whole), so plain writes suffice here.
    """
    target = folder / OVERLAY_DIR
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, data in template_bytes().items():
        (target / name).write_bytes(data)
        written[name] = target / name
    text = json.dumps(parameters, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    (target / PARAMETERS_FILE).write_text(text, encoding="utf-8")
    written[PARAMETERS_FILE] = target / PARAMETERS_FILE
    return written

"""The breakdown: scenes with their length, cast and tagged elements.

This module is the core model of the breakdown and does no I/O: it turns a
parsed :class:`Screenplay` into a ``Breakdown.1`` document (a plain dict,
JSON-ready) using the deterministic rules and, when given one, the embedding
classifier. Every tag records its category, the exact source span, a
confidence, a status (proposed / accepted / rejected) and what proposed it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core import Document, register_schema, schema_tag
from . import _rules as rules
from ._classifier import LineClassifier
from ._headings import parse_heading
from ._model import Element, ElementType, ParseWarning, Screenplay, Span, strip_emphasis
from ._pagination import (
    LINES_PER_PAGE,
    absolute_line,
    eighths_to_seconds,
    format_eighths,
    lines_to_eighths,
    paginate,
)

SCHEMA = "Breakdown"
register_schema(SCHEMA, 1)

#: Tag categories, in the order a breakdown sheet lists them, with their
#: customary colour-coding (red cast, orange stunts, green extras, blue SFX...).
CATEGORIES: dict[str, dict[str, str]] = {
    "cast": {"label": "Cast", "colour": "#d62728"},
    "non_speaking": {"label": "Non-speaking cast", "colour": "#ff9896"},
    "extras": {"label": "Extras / atmosphere", "colour": "#2ca02c"},
    "stunts": {"label": "Stunts", "colour": "#ff7f0e"},
    "vfx": {"label": "Visual effects", "colour": "#17becf"},
    "sfx": {"label": "Special effects", "colour": "#1f77b4"},
    "props": {"label": "Props", "colour": "#9467bd"},
    "vehicles": {"label": "Vehicles", "colour": "#e377c2"},
    "wardrobe": {"label": "Wardrobe", "colour": "#bcbd22"},
    "sound": {"label": "Sound", "colour": "#8c564b"},
}
VFX_KINDS = (
    "collapse",
    "destruction",
    "explosion",
    "fire",
    "weather",
    "crowd",
    "de_aging",
    "set_extension",
    "screen_replacement",
    "creature",
    "other",
)
STATUSES = ("proposed", "accepted", "rejected")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(¡¿]?[A-ZÁÉÍÓÚÑ0-9])")
_CONTD = re.compile(r"\b(?:CONT'?D|CONT’D|CONTINUED|V\.O\.|O\.S\.|O\.C\.)\b", re.I)

ProgressFn = Callable[[str, int, int], None]


@dataclass
class _Scene:
    index: int
    heading: Element | None
    elements: list[Element] = field(default_factory=list)


@dataclass
class _Sentence:
    scene: int
    element: Element
    start: int
    end: int
    text: str  # plain text given to the classifier


def scene_fingerprint(heading: str, body: str) -> str:
    """A hash of a scene's normalised words: equal when nothing but spacing changed."""
    norm = " ".join(re.findall(r"[^\W_]+", f"{heading}\n{body}".lower()))
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:16]


def normalise(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", strip_emphasis(text).lower()))


def tag_id(scene_key: str, kind: str, vfx_kind: str | None, text: str) -> str:
    raw = f"{scene_key}|{kind}|{vfx_kind or ''}|{normalise(text)}"
    return "T" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:8]


# Lead-ins a writer puts before the first heading; like transitions, they are not story.
_LEAD_IN = re.compile(
    r"^(?:FADE (?:IN|UP|FROM BLACK)|FROM BLACK|(?:OVER |IN )?BLACK(?: SCREEN)?|COLD OPEN|"
    r"TEASER|PROLOGUE|(?:END (?:OF )?)?ACT [A-Z0-9]+|OPENING (?:CREDITS|TITLES)|MAIN TITLES?)"
    r"(?:\s*[:.])?$",
    re.I,
)
_WRITERS_NOTE = re.compile(r"^\W*(?:author'?s |writer'?s |production )?notes?\b\s*[:.-]", re.I)


def tells_story(element: Element) -> bool:
    """Whether an element before the first heading is part of the story.

    Dialogue and lyrics are; action is unless it is only a lead-in ("FADE IN:",
    "COLD OPEN") or a writer's note to the reader (a paragraph all in emphasis, or
    one that opens with "Note:"). Transitions, centred titles, sections, synopses,
    notes and boneyard never are.
    """
    if element.type in (ElementType.DIALOGUE, ElementType.LYRICS):
        return True
    if element.type is not ElementType.ACTION:
        return False
    plain = " ".join(element.plain.split())
    if not re.search(r"[^\W_]", plain) or _LEAD_IN.match(plain) or _WRITERS_NOTE.match(plain):
        return False
    raw = element.text.strip()
    all_emphasis = raw != element.plain.strip() and raw[:1] in "*_" and raw[-1:] in "*_"
    return not all_emphasis


def split_scenes(screenplay: Screenplay) -> tuple[list[_Scene], list[Element]]:
    """Scenes start at headings. Material before the first heading is returned apart
    (kept, not a scene), unless it tells story of its own: then it is an unheaded
    scene 0 (:func:`tells_story`)."""
    scenes: list[_Scene] = []
    pre: list[Element] = []
    for el in screenplay.elements:
        if el.type is ElementType.SCENE_HEADING:
            scenes.append(_Scene(len(scenes), el))
        elif scenes:
            scenes[-1].elements.append(el)
        else:
            pre.append(el)
    if any(tells_story(e) for e in pre):
        scenes.insert(0, _Scene(0, None, pre))
        for i, s in enumerate(scenes):
            s.index = i
        return scenes, []
    return scenes, pre


def sentences(element: Element) -> list[tuple[int, int]]:
    """Sentence offsets ``[start, end)`` in an element's text."""
    text = element.text
    out: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, len(text)))
    trimmed = []
    for a, b in out:
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        a, b = a + lead, a + len(seg.rstrip())
        if b > a and re.search(r"[^\W_]", text[a:b]):
            trimmed.append((a, b))
    return trimmed


_OFFSCREEN = re.compile(
    r"\b(?:V\.?O|O\.?S|O\.?C|ON (?:THE )?(?:PHONE|RADIO|TV|SPEAKER)|FILTERED|PRE-?LAP)\b", re.I
)
_BEAT_KINDS = {
    ElementType.ACTION: "action",
    ElementType.DIALOGUE: "dialogue",
    ElementType.LYRICS: "lyrics",
    ElementType.TRANSITION: "transition",
    ElementType.CENTERED: "action",
}


def scene_beats(scene: _Scene) -> list[dict[str, Any]]:
    """The scene's story beats in order, for the stages that time and shoot it.

    One beat per action paragraph and per speech (a parenthetical goes with
    the speech it qualifies); each with its words and exact span.
    """
    beats: list[dict[str, Any]] = []
    pending_paren: str | None = None
    offscreen = False
    for el in scene.elements:
        if el.type is ElementType.CHARACTER:
            # V.O., O.S. and voices on a phone or a radio are heard, not seen.
            offscreen = any(_OFFSCREEN.search(x) for x in el.extensions)
            continue
        if el.type is ElementType.PARENTHETICAL:
            pending_paren = el.plain.strip("() ")
            continue
        kind = _BEAT_KINDS.get(el.type)
        if kind is None:
            continue
        text = " ".join(el.plain.split())
        beat: dict[str, Any] = {
            "kind": kind,
            "text": text,
            "words": len(re.findall(r"[^\W_]+", text)),
            "span": el.span.to_json(),
        }
        if el.type in (ElementType.DIALOGUE, ElementType.LYRICS) and el.character:
            beat["character"] = _CONTD.sub("", el.character).strip().upper()
            if el.dual:
                beat["dual"] = el.dual
            if pending_paren:
                beat["parenthetical"] = pending_paren
            if offscreen:
                beat["offscreen"] = True
        pending_paren = None
        beats.append(beat)
    return beats


def cue_name(element: Element) -> str:
    name = element.character or element.text
    name = _CONTD.sub("", name)
    return " ".join(name.replace("^", "").split()).strip(" .").upper()


def build_breakdown(
    screenplay: Screenplay,
    *,
    classifier: LineClassifier | None = None,
    script: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> Document:
    """Break ``screenplay`` down into a ``Breakdown.1`` document."""
    pagination = paginate(screenplay)
    scenes, preamble = split_scenes(screenplay)
    warnings = [{"line": w.line, "message": w.message} for w in screenplay.warnings]
    if scenes and scenes[0].heading is None:
        told = next(e for e in scenes[0].elements if tells_story(e))
        warnings.append({"line": told.line, "message": "the script tells story before its first "
                         "scene heading; kept as scene 0, flagged unheaded (add a heading to place it)"})  # fmt: skip
    speakers = {cue_name(e) for e in screenplay.elements if e.type is ElementType.CHARACTER} - {""}
    introduced: set[str] = set()
    for e in screenplay.elements:
        if e.type is ElementType.ACTION:
            introduced |= {n for n, _, _ in rules.find_introductions(e.text)}
    canon = _name_canon(speakers)
    known = speakers | {canon(n) for n in introduced}

    # Positions of scene starts on the printed page give their lengths.
    starts: list[int] = []
    for s in scenes:
        first = s.heading or next((e for e in s.elements if pagination.of(e)), None)
        placement = pagination.of(first) if first is not None else None
        starts.append(absolute_line(placement) if placement else (starts[-1] if starts else 0))
    end_of_script = pagination.pages * LINES_PER_PAGE
    last_printed = [e for e in screenplay.elements if pagination.of(e) is not None]
    if last_printed:
        tail = pagination.of(last_printed[-1])
        assert tail is not None
        end_of_script = absolute_line(tail) + tail.height

    # Sentences for the classifier, across the whole script (one batch).
    all_sentences: list[_Sentence] = []
    for s in scenes:
        for el in s.elements:
            if el.type is ElementType.ACTION:
                for a, b in sentences(el):
                    all_sentences.append(_Sentence(s.index, el, a, b, strip_emphasis(el.text[a:b])))
    predictions: list[dict[str, float]] = [{} for _ in all_sentences]
    note_predictions: dict[int, dict[str, float]] = {}
    vfx_notes = [
        (id(n), n.text)
        for s in scenes
        for el in s.elements
        for n in el.notes
        if re.match(r"\s*VFX\b", n.text, re.I)
    ]
    if classifier is not None:
        # Each distinct sentence is classified once ("The door opens." recurs).
        # Sorted by length, so each batch pads little.
        texts = sorted(dict.fromkeys(x.text for x in all_sentences), key=len)
        found: dict[str, dict[str, float]] = {}
        batch = 256
        for i in range(0, max(1, len(texts)), batch):
            chunk = texts[i : i + batch]
            if chunk:
                found.update(zip(chunk, classifier.predict(chunk), strict=True))
            if progress:
                progress("classify", min(len(texts), i + batch), len(texts))
        predictions = [found[x.text] for x in all_sentences]
        if vfx_notes:
            note_out = classifier.predict([re.sub(r"^\s*VFX\s*:?", "", t) for _, t in vfx_notes])
            note_predictions = {nid: p for (nid, _), p in zip(vfx_notes, note_out, strict=True)}

    by_scene: dict[int, list[tuple[_Sentence, dict[str, float]]]] = {}
    for sent, pred in zip(all_sentences, predictions, strict=True):
        by_scene.setdefault(sent.scene, []).append((sent, pred))

    heading_counts: dict[str, int] = {}
    out_scenes: list[dict[str, Any]] = []
    day_night = "DAY"
    for s in scenes:
        if progress:
            progress("scenes", s.index + 1, len(scenes))
        heading_text = strip_emphasis(s.heading.text) if s.heading else "(before the first scene)"
        hnorm = normalise(heading_text)
        heading_counts[hnorm] = heading_counts.get(hnorm, 0) + 1
        scene_key = f"{hnorm}#{heading_counts[hnorm]}"
        next_start = starts[s.index + 1] if s.index + 1 < len(scenes) else end_of_script
        lines = max(1, next_start - starts[s.index])
        eighths = lines_to_eighths(lines)
        parts = parse_heading(heading_text) if s.heading else None
        day_night = _day_night(parts.time_of_day if parts else None, day_night)
        builder = _SceneTags(scene_key, known, speakers, canon)
        builder.collect(s, by_scene.get(s.index, []), note_predictions)
        placement = pagination.of(s.heading) if s.heading else None
        body = "\n".join(e.text for e in s.elements if e.type is not ElementType.BONEYARD)
        synopsis = next((e.plain for e in s.elements if e.type is ElementType.SYNOPSIS), None)
        number = (s.heading.scene_number if s.heading else None) or str(
            s.index if scenes[0].heading is None else s.index + 1
        )
        out_scenes.append(
            {
                "number": number,
                "heading": heading_text,
                **({"unheaded": True} if s.heading is None else {}),
                "int_ext": parts.int_ext if parts else None,
                "location": parts.location if parts else "",
                "time_of_day": parts.time_of_day if parts else None,
                "era": parts.era if parts else None,
                "day_night": day_night,
                "span": (s.heading.span if s.heading else s.elements[0].span).to_json(),
                "page": placement.page if placement else 1,
                "eighths": eighths,
                "length": format_eighths(eighths),
                "screen_time_s": round(eighths_to_seconds(eighths), 1),
                "speaking": builder.speaking,
                "non_speaking": builder.non_speaking,
                "synopsis": synopsis,
                "fingerprint": scene_fingerprint(heading_text, body),
                "key": scene_key,
                "beats": scene_beats(s),
                "tags": builder.tags,
            }
        )
    _warn_duplicate_numbers(out_scenes, screenplay)
    total_eighths = sum(s["eighths"] for s in out_scenes)
    return {
        "schema": schema_tag(SCHEMA),
        "script": {
            **(script or {}),
            "title": screenplay.title,
            "title_lines": screenplay.title_lines,
            "format": screenplay.source_format,
            "encoding": screenplay.encoding,
            "pages": pagination.pages,
        },
        "classifier": (
            {"used": True, **classifier.embedder.info.to_json()}
            if classifier is not None
            else {"used": False, "reason": "rules only (no embedding model loaded)"}
        ),
        "categories": CATEGORIES,
        "totals": {
            "scenes": len(out_scenes),
            "eighths": total_eighths,
            "length": format_eighths(total_eighths),
            "screen_time_s": round(eighths_to_seconds(total_eighths), 1),
            "cast": sorted(speakers),
        },
        "warnings": warnings,
        # What comes before the first heading and is not story (a lead-in, a note to the
        # reader, a transition): kept here, word for word, but never a scene or a shot.
        "preamble": [{"type": e.type.value, "text": e.text, "span": e.span.to_json()} for e in preamble
                     if e.type is not ElementType.BONEYARD and e.text.strip()],  # fmt: skip
        "scenes": out_scenes,
    }


def _warn_duplicate_numbers(scenes: list[dict[str, Any]], screenplay: Screenplay) -> None:
    seen: dict[str, int] = {}
    for s in scenes:
        if s["number"] in seen:
            screenplay.warnings.append(
                ParseWarning(s["span"]["line"], f"scene number {s['number']} is used twice")
            )
        seen[s["number"]] = 1


class _SceneTags:
    """Collects one scene's tags: one per element per category, first mention's span."""

    def __init__(
        self, scene_key: str, known: set[str], speakers: set[str], canon: Callable[[str], str]
    ) -> None:
        self.canon = canon
        self.scene_key = scene_key
        self.known = known
        self.speakers = speakers
        self.tags: list[dict[str, Any]] = []
        self._index: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.speaking: list[str] = []
        self.non_speaking: list[str] = []

    def add(
        self,
        kind: str,
        text: str,
        element: Element,
        start: int,
        end: int,
        confidence: float,
        source: str,
        *,
        vfx_kind: str | None = None,
        name: str | None = None,
        evidence: str | None = None,
        span: Span | None = None,
    ) -> None:
        label = name or text
        key = (kind, vfx_kind, normalise(label))
        existing = self._index.get(key)
        if existing is not None:
            existing["mentions"] += 1
            if confidence > existing["confidence"]:
                existing["confidence"] = round(confidence, 3)
            if source not in existing["source"].split("+"):
                existing["source"] = "+".join(sorted({*existing["source"].split("+"), source}))
            return
        span = span or element.span_of(start, end)
        line_text = next((sl.text for sl in element.lines if sl.line == span.line), element.text)
        tag: dict[str, Any] = {
            "id": tag_id(self.scene_key, kind, vfx_kind, label),
            "kind": kind,
            "name": label,
            "text": text,
            "span": span.to_json(),
            "context": strip_emphasis(line_text).strip(),
            "confidence": round(confidence, 3),
            "status": "proposed",
            "source": source,
            "mentions": 1,
        }
        if vfx_kind is not None:
            tag["vfx_kind"] = vfx_kind
        if evidence:
            tag["evidence"] = evidence
        self._index[key] = tag
        self.tags.append(tag)

    def collect(
        self,
        scene: _Scene,
        classified: list[tuple[_Sentence, dict[str, float]]],
        note_predictions: dict[int, dict[str, float]],
    ) -> None:
        speaking: dict[str, None] = {}
        for el in scene.elements:
            if el.type is ElementType.CHARACTER:
                name = cue_name(el)
                if name:
                    speaking.setdefault(name)
                    written = el.character or name
                    start = max(0, el.text.find(written))
                    end = start + len(written)
                    self.add("cast", el.text[start:end], el, start, end, 1.0, "rule", name=name)
        self.speaking = list(speaking)
        present: dict[str, None] = {}
        for el in scene.elements:
            if el.type is not ElementType.ACTION:
                continue
            text = el.text
            for name, a, b in rules.find_introductions(text):
                name = self.canon(name)
                if name not in speaking:
                    present.setdefault(name)
                    self.add("non_speaking", text[a:b], el, a, b, 0.9, "rule", name=name)
            for name, a, b in rules.find_name_mentions(text, self.known):
                name = self.canon(name)
                if name not in speaking:
                    present.setdefault(name)
                    self.add("non_speaking", text[a:b], el, a, b, 0.8, "rule", name=name)
            for hit in (
                *rules.find_vehicles(text),
                *rules.find_wardrobe(text),
                *rules.find_props(text),
                *rules.find_sounds(text, self.known),
                *(h for h in rules.find_crowds(text) if h.kind == "extras"),
            ):
                self.add(
                    hit.kind,
                    text[hit.start : hit.end],
                    el,
                    hit.start,
                    hit.end,
                    hit.confidence,
                    "rule",
                    name=hit.name,
                )
        self.non_speaking = [n for n in present if n not in speaking]

        # Line-level cues (VFX, stunts, SFX, crowds): rules and model, per sentence.
        for sent, pred in classified:
            el, a, b = sent.element, sent.start, sent.end
            sentence = el.text[a:b]
            found = line_cues(sentence, pred)
            for (kind, vfx_kind), (conf, src, ev) in found.items():
                if kind == "extras" and any(t["kind"] == "extras" for t in self.tags):
                    continue  # the crowd noun already names the extras
                self.add(
                    kind,
                    strip_emphasis(sentence),
                    el,
                    a,
                    b,
                    conf,
                    src,
                    vfx_kind=vfx_kind,
                    evidence=ev,
                )

        # The writer's own VFX notes are VFX cues by definition.
        for el in scene.elements:
            for note in el.notes:
                if id(note) not in note_predictions and not re.match(r"\s*VFX\b", note.text, re.I):
                    continue
                pred = note_predictions.get(id(note), {})
                kinds = (
                    rules.vfx_kinds_in_note(note.text)
                    or [
                        lab.split(".", 1)[1]
                        for lab, _ in sorted(pred.items(), key=lambda kv: -kv[1])
                        if lab.startswith("vfx.")
                    ][:1]
                    or ["other"]
                )
                for vkind in kinds:
                    self.add(
                        "vfx", note.text, el, 0, 0, 0.95, "note", vfx_kind=vkind, span=note.span
                    )


_NIGHT = {"NIGHT", "DUSK", "EVENING", "MIDNIGHT", "SUNSET", "MAGIC HOUR", "NOCHE", "ATARDECER"}
_INHERIT = {"CONTINUOUS", "LATER", "MOMENTS LATER", "SAME", "MÁS TARDE", None}


def _day_night(time_of_day: str | None, previous: str) -> str:
    """DAY or NIGHT for scheduling; CONTINUOUS/LATER scenes inherit the previous scene's."""
    if time_of_day in _INHERIT:
        return previous
    assert time_of_day is not None
    return "NIGHT" if any(w in time_of_day for w in _NIGHT) else "DAY"


def _name_canon(speakers: set[str]) -> Callable[[str], str]:
    """Map ``OFELIA MARCHETTI`` or ``DON ALFREDO McLOUGHLIN`` to the cue name that speaks."""
    by_word: dict[str, str] = {}
    for sp in sorted(speakers, key=len):
        for word in sp.upper().split():
            if len(word) > 2 and word not in {"THE", "MR.", "MRS.", "DR.", "DON", "DOÑA"}:
                by_word.setdefault(word, sp)

    def canon(name: str) -> str:
        upper = " ".join(name.upper().split())
        if upper in speakers:
            return upper
        words = upper.split()
        for word in words:
            if word in by_word and (word == words[0] or by_word[word] == word):
                return by_word[word]
        return upper

    return canon


Cues = dict[tuple[str, str | None], tuple[float, str, str | None]]


def line_cues(sentence: str, prediction: dict[str, float]) -> Cues:
    """Line-level cues of one action sentence: rules first, then the model's labels.

    Returns ``(kind, vfx_kind) -> (confidence, source, evidence)``; the same
    function serves the breakdown and the precision/recall benchmark.
    """
    found: Cues = {}
    for hit in rules.find_certain_cues(sentence):
        k = (hit.kind, hit.vfx_kind)
        if k not in found or hit.confidence > found[k][0]:
            found[k] = (hit.confidence, "rule", hit.name)
    for hit in rules.find_crowds(sentence):
        k = ("vfx", "crowd") if hit.kind == "vfx" else ("extras", None)
        if k not in found:
            found[k] = (hit.confidence, "rule", hit.name)
    for label, conf in prediction.items():
        k = _label_to_kind(label)
        if k in found:
            c, _, ev = found[k]
            found[k] = (max(c, conf), "model+rule", ev)
        else:
            found[k] = (conf, "model", None)
    return found


def cue_labels(cues: Cues) -> set[str]:
    """Cues as the classifier's label names (``vfx.collapse``, ``stunt``, ``crowd``...)."""
    names = {"stunts": "stunt", "sfx": "sfx", "extras": "crowd"}
    return {f"vfx.{v}" if k == "vfx" else names[k] for k, v in cues}


def _label_to_kind(label: str) -> tuple[str, str | None]:
    if label.startswith("vfx."):
        return "vfx", label.split(".", 1)[1]
    return {"stunt": ("stunts", None), "sfx": ("sfx", None), "crowd": ("extras", None)}[label]

"""Carrying people's decisions across a script revision, and saying what moved.

Scenes are matched old→new by content fingerprint first (unchanged, perhaps
moved), then by heading (changed in place). A tag's accepted/rejected status
survives when the same tag (category, kind, name) is found again in the
matched scene *and* the source line it rests on reads the same; if the words
changed, the decision is reset to proposed and reported. Tags people added by
hand are kept while their line still exists. No module here does I/O.
"""

from __future__ import annotations

import difflib
from typing import Any

from ..core import Document

Report = dict[str, Any]


def _key(tag: dict[str, Any]) -> tuple[str, str | None, str]:
    from ._breakdown import normalise

    return (tag["kind"], tag.get("vfx_kind"), normalise(tag.get("name") or tag["text"]))


def _label(scene: dict[str, Any]) -> str:
    return f"{scene['number']} {scene['heading']}"


def match_scenes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[int, int]:
    """new index → old index for scenes that are the same scene in both drafts."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    by_fp: dict[str, list[int]] = {}
    for i, s in enumerate(old):
        by_fp.setdefault(s["fingerprint"], []).append(i)
    for j, s in enumerate(new):
        cands = [i for i in by_fp.get(s["fingerprint"], []) if i not in used]
        if cands:
            pairs[j] = cands[0]
            used.add(cands[0])
    for j, s in enumerate(new):
        if j in pairs:
            continue
        best, best_score = None, 0.0
        for i, o in enumerate(old):
            if i in used:
                continue
            score = difflib.SequenceMatcher(None, o["heading"], s["heading"]).ratio()
            if o["number"] == s["number"]:
                score += 0.25
            if score > best_score:
                best, best_score = i, score
        if best is not None and best_score >= 0.9:
            pairs[j] = best
            used.add(best)
    return pairs


def _moved(pairs: dict[int, int]) -> set[int]:
    """New indices of matched scenes outside the longest in-order run (they moved)."""
    seq = sorted(pairs.items())  # by new index
    olds = [o for _, o in seq]
    n = len(olds)
    if n == 0:
        return set()
    length = [1] * n
    prev = [-1] * n
    for i in range(n):
        for k in range(i):
            if olds[k] < olds[i] and length[k] + 1 > length[i]:
                length[i], prev[i] = length[k] + 1, k
    end = max(range(n), key=lambda i: length[i])
    keep: set[int] = set()
    while end >= 0:
        keep.add(end)
        end = prev[end]
    return {seq[i][0] for i in range(n) if i not in keep}


def carry_over(old_doc: Document, new_doc: Document) -> Report:
    """Copy decisions from ``old_doc`` into ``new_doc`` (in place) and report changes."""
    old, new = old_doc.get("scenes", []), new_doc["scenes"]
    pairs = match_scenes(old, new)
    moved = _moved(pairs)
    report: Report = {
        "previous_sha256": old_doc.get("script", {}).get("sha256"),
        "scenes_added": [_label(new[j]) for j in range(len(new)) if j not in pairs],
        "scenes_removed": [_label(old[i]) for i in range(len(old)) if i not in set(pairs.values())],
        "scenes_moved": [_label(new[j]) for j in sorted(moved)],
        "scenes_changed": [
            _label(new[j])
            for j, i in sorted(pairs.items())
            if new[j]["fingerprint"] != old[i]["fingerprint"]
        ],
        "tags_new": [],
        "tags_vanished": [],
        "decisions_kept": 0,
        "decisions_reset": [],
        "user_tags_kept": 0,
    }
    for j, i in sorted(pairs.items()):
        ns, os_ = new[j], old[i]
        old_tags = {_key(t): t for t in os_.get("tags", [])}
        new_keys = set()
        for tag in ns["tags"]:
            k = _key(tag)
            new_keys.add(k)
            prev = old_tags.get(k)
            if prev is None:
                report["tags_new"].append(f"{_label(ns)}: {tag['kind']} '{tag['name']}'")
                continue
            tag["id"] = prev.get("id", tag["id"])  # ids people already use stay valid
            if prev.get("status", "proposed") == "proposed":
                continue
            if " ".join(prev.get("context", "").split()) == " ".join(tag["context"].split()):
                tag["status"] = prev["status"]
                if prev.get("comment"):
                    tag["comment"] = prev["comment"]
                report["decisions_kept"] += 1
            else:
                report["decisions_reset"].append(
                    f"{_label(ns)}: {tag['kind']} '{tag['name']}' (its line changed)"
                )
        body = "\n".join(t["context"] for t in ns["tags"])
        for k, prev in old_tags.items():
            if k in new_keys:
                continue
            if prev.get("source") == "user" and (
                prev.get("context", "") in body
                or prev.get("context", "") in ns["heading"]
                or ns["fingerprint"] == os_["fingerprint"]
            ):
                ns["tags"].append(dict(prev))
                report["user_tags_kept"] += 1
                continue
            report["tags_vanished"].append(f"{_label(ns)}: {prev['kind']} '{prev['name']}'")
    for j in range(len(new)):
        if j not in pairs:
            for tag in new[j]["tags"]:
                report["tags_new"].append(
                    f"{_label(new[j])}: {tag['kind']} '{tag['name']}' (new scene)"
                )
    for i in range(len(old)):
        if i not in set(pairs.values()):
            for prev in old[i].get("tags", []):
                report["tags_vanished"].append(
                    f"{_label(old[i])}: {prev['kind']} '{prev['name']}' (scene removed)"
                )
    return report

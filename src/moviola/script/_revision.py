"""Carrying people's decisions across a script revision, and saying what moved.

Scenes are matched old→new by content fingerprint first (unchanged, perhaps
moved), then by heading (changed in place). A tag's accepted/rejected status
survives when the same tag (category, kind, name) is found again in the
matched scene *and* the source line it rests on reads the same; if the words
changed, the decision is reset to proposed and reported. Tags people added by
hand are kept while their line still exists. No module here does I/O.
"""

from __future__ import annotations

import bisect
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
    # Then by heading: the same heading first (cheap, and what a global rename leaves), the
    # same number preferred; then a heading changed a little, compared only where the
    # quick upper bounds allow a match (so a draft where everything moved stays linear-ish).
    by_heading: dict[str, list[int]] = {}
    for i, o in enumerate(old):
        if i not in used:
            by_heading.setdefault(o["heading"], []).append(i)
    for j, s in enumerate(new):
        if j in pairs:
            continue
        cands = [i for i in by_heading.get(s["heading"], []) if i not in used]
        if cands:
            best = next((i for i in cands if old[i]["number"] == s["number"]), cands[0])
            pairs[j] = best
            used.add(best)
    for j, s in enumerate(new):
        if j in pairs:
            continue
        fuzzy: int | None = None
        best_score = 0.0
        for i, o in enumerate(old):
            if i in used:
                continue
            bonus = 0.25 if o["number"] == s["number"] else 0.0
            matcher = difflib.SequenceMatcher(None, o["heading"], s["heading"])
            if matcher.real_quick_ratio() + bonus < 0.9 or matcher.quick_ratio() + bonus < 0.9:
                continue
            score = matcher.ratio() + bonus
            if score > best_score:
                fuzzy, best_score = i, score
        if fuzzy is not None and best_score >= 0.9:
            pairs[j] = fuzzy
            used.add(fuzzy)
    return pairs


def _moved(pairs: dict[int, int]) -> set[int]:
    """New indices of matched scenes outside the longest in-order run (they moved).

    The longest increasing run of old indices, by patience sorting: O(n log n), so a
    5,000-scene draft is matched in milliseconds.
    """
    seq = sorted(pairs.items())  # by new index
    olds = [o for _, o in seq]
    if not olds:
        return set()
    tails: list[int] = []  # tails[k]: old index ending the best run of length k + 1
    tail_at: list[int] = []  # ... and its position in seq
    prev = [-1] * len(olds)
    for i, o in enumerate(olds):
        k = bisect.bisect_left(tails, o)
        if k == len(tails):
            tails.append(o)
            tail_at.append(i)
        else:
            tails[k], tail_at[k] = o, i
        prev[i] = tail_at[k - 1] if k else -1
    keep: set[int] = set()
    end = tail_at[-1]
    while end >= 0:
        keep.add(end)
        end = prev[end]
    return {seq[i][0] for i in range(len(olds)) if i not in keep}


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

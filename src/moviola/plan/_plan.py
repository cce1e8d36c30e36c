"""The shot plan document: built from a breakdown, merged with the last plan.

A scene whose text did not change keeps its shots exactly as they were,
people's edits, deletions and additions included. A scene that changed is
covered again; a new setup that matches an old one (same purpose and
subjects) takes over its id and any fields a person edited. Ids are never
reused: deleted and removed ids are retired. No I/O here.
"""

from __future__ import annotations

from typing import Any

from ..core import Document, schema_tag
from ..script._revision import match_scenes
from ._cameras import camera as camera_body
from ._coverage import STYLES, TAG_TRUST, ScenePlan, Setup, describe_move, plan_scene, shot_ids
from ._model import SCHEMA, Shot

#: Bumped when the planner's choices change, so old plans are covered again
#: (people's edits are still carried over by setup).
PLANNER_VERSION = 1

EDITABLE = (
    "size", "angle", "movement", "lens_mm", "camera", "fps", "shutter_deg", "subjects",
    "duration_s", "vfx", "vfx_kind", "vfx_recipe", "notes", "cross_line", "description",
)  # fmt: skip


def setup_key(setup: Setup) -> str:
    return ":".join(str(k) for k in setup.key if k is not None)


def _shot(setup: Setup, sid: str, scene: dict[str, Any], plan: ScenePlan, fps: float,
          shutter: float) -> Shot:  # fmt: skip
    beats = scene.get("beats", [])
    used = [b for k, b, _ in plan.edit if k == setup.key]
    covers = []
    for b in dict.fromkeys(used):
        span = dict(beats[b]["span"])
        if span not in covers:
            covers.append(span)
    seconds = sum(s for k, _, s in plan.edit if k == setup.key)
    move = describe_move(setup.camera)
    return Shot(
        id=sid,
        scene=plan.number,
        size=setup.size,
        angle=setup.angle,
        movement=setup.movement,
        lens_mm=setup.lens_mm,
        camera=setup.camera,
        fps=fps,
        shutter_deg=shutter,
        subjects=list(setup.subjects),
        covers=covers,
        duration_s=round(max(0.5, seconds), 1),
        vfx=setup.vfx,
        vfx_kind=setup.vfx_kind,
        purpose=setup.purpose,
        description=setup.description + (f"; camera {move}" if move else ""),
        subject_distance_m=setup.subject_distance_m,
    )


def build_plan(
    breakdown: Document,
    *,
    style: str = "classical",
    seed: int = 0,
    camera: str = "alexa35",
    aspect: float = 2.39,
    fps: float = 24.0,
    shutter: float = 180.0,
    previous: Document | None = None,
) -> tuple[Document, dict[str, Any]]:
    """A ``ShotPlan.1`` document for ``breakdown`` and the report of what changed."""
    if style not in STYLES:
        from ..core import InputError

        raise InputError(f"unknown style '{style}'; one of: {', '.join(STYLES)}")
    body = camera_body(camera)
    settings = {"style": style, "seed": seed, "camera": camera, "aspect": aspect, "fps": fps,
                "shutter_deg": shutter, "planner": PLANNER_VERSION}  # fmt: skip
    old_settings = (previous or {}).get("settings", {})
    same_settings = previous is not None and all(
        old_settings.get(k) == v for k, v in settings.items()
    )
    prev_list: list[dict[str, Any]] = list((previous or {}).get("scenes", []))
    # One old scene per new scene: same words first, then the same heading (as the
    # breakdown matches scenes across drafts), never by number alone.
    pairs = match_scenes(prev_list, breakdown["scenes"])
    prev_shots: dict[str, dict[str, Any]] = {s["id"]: s for s in (previous or {}).get("shots", [])}
    taken: set[str] = set(prev_shots) | set((previous or {}).get("retired_ids", []))
    report: dict[str, Any] = {"scenes_kept": [], "shots_new": [], "shots_removed": [],
                              "shots_changed": []}  # fmt: skip
    scenes_out: list[dict[str, Any]] = []
    shots_out: list[dict[str, Any]] = []
    retired = set((previous or {}).get("retired_ids", []))
    seen_locations: set[str] = set()
    # Other scenes' numbers are reserved: scene 7's shots skip "7A" when a scene 7A exists.
    numbers = {s["number"] for s in breakdown["scenes"]}
    for index, scene in enumerate(breakdown["scenes"]):
        location = scene.get("location", "")
        new_location = location not in seen_locations
        seen_locations.add(location)
        signature = coverage_signature(scene, new_location)
        before = prev_list[pairs[index]] if index in pairs else None
        if (
            before is not None
            and same_settings
            and before["fingerprint"] == scene["fingerprint"]
            and before.get("signature") == signature
        ):
            # Unchanged scene (same words, same tags, same place in the story):
            # keep it as it is, edits and all.
            kept = [prev_shots[i] for i in before["shot_ids"] if i in prev_shots]
            for s in kept:
                s["scene"] = scene["number"]
            scenes_out.append({**before, "number": scene["number"], "heading": scene["heading"]})
            shots_out.extend(kept)
            report["scenes_kept"].append(scene["number"])
            continue
        plan = plan_scene(scene, style=style, seed=seed, new_location=new_location, body=body,
                          aspect=aspect)  # fmt: skip
        old_by_setup = {}
        deleted: set[str] = set()
        if before is not None:
            old_by_setup = {prev_shots[i]["setup"]: prev_shots[i] for i in before["shot_ids"]
                            if i in prev_shots and "setup" in prev_shots[i]}  # fmt: skip
            deleted = set(before.get("deleted_setups", []))
        setups = [s for s in plan.setups if setup_key(s) not in deleted]
        reserved = taken | (numbers - {scene["number"]})
        fresh = shot_ids(scene["number"], sum(1 for s in setups if setup_key(s) not in old_by_setup),
                         reserved)  # fmt: skip
        taken |= set(fresh)
        ids: dict[tuple[Any, ...], str] = {}
        scene_shots: list[dict[str, Any]] = []
        for setup in setups:
            key = setup_key(setup)
            old_shot = old_by_setup.pop(key, None)
            sid = old_shot["id"] if old_shot else fresh.pop(0)
            ids[setup.key] = sid
            shot = _shot(setup, sid, scene, plan, fps, shutter).to_json()
            shot["setup"] = key
            if old_shot:
                for fieldname in old_shot.get("edited", []):
                    if fieldname in old_shot:
                        shot[fieldname] = old_shot[fieldname]
                shot["edited"] = list(old_shot.get("edited", []))
                if _differs(old_shot, shot):
                    report["shots_changed"].append(f"{sid} ({shot['description']}): scene "
                                                   f"{scene['number']} changed")  # fmt: skip
            elif previous is not None:
                report["shots_new"].append(f"{sid} ({shot['description']})")
            scene_shots.append(shot)
        keep_user: list[dict[str, Any]] = []
        for old_shot in old_by_setup.values():
            if old_shot.get("user_added"):
                scene_shots.append(old_shot)  # a person's own shot stays
                keep_user.append(old_shot)
                continue
            retired.add(old_shot["id"])
            report["shots_removed"].append(
                f"{old_shot['id']} ({old_shot.get('description', '')}): no longer needed"
            )
        # A deleted setup's part of the cut goes to the master, else to the cut before it.
        master = next((ids[k] for k in ids if k[0] == "master"), None)
        edit: list[dict[str, Any]] = []
        for k, b, secs in plan.edit:
            shot_id = ids.get(k) or master or (edit[-1]["shot"] if edit else None)
            if shot_id is None:
                continue
            if edit and edit[-1]["shot"] == shot_id and edit[-1]["beat"] == b:
                edit[-1]["duration_s"] = round(edit[-1]["duration_s"] + secs, 2)
            else:
                edit.append({"shot": shot_id, "beat": b, "duration_s": round(secs, 2)})
        for user_shot in keep_user:  # back into the cut where its author put it
            uses = [i for i, e in enumerate(edit) if e["shot"] == user_shot.get("cut_after")]
            at = uses[-1] + 1 if uses else len(edit)
            beat = edit[at - 1]["beat"] if at else 0
            edit.insert(at, {"shot": user_shot["id"], "beat": beat,
                             "duration_s": user_shot["duration_s"]})  # fmt: skip
        scenes_out.append(
            {
                "number": scene["number"],
                "heading": scene["heading"],
                "fingerprint": scene["fingerprint"],
                "eighths": scene.get("eighths", 1),
                "duration_s": round(sum(plan.durations), 1),
                "text_estimate_s": plan.text_estimate_s,
                "beats": [
                    {"kind": b["kind"], "span": b["span"], "character": b.get("character")}
                    for b in scene.get("beats", [])
                ],  # fmt: skip
                "blocking": plan.blocking.to_json(),
                "shot_ids": [s["id"] for s in scene_shots],
                "deleted_setups": sorted(deleted),
                "signature": signature,
                "edit": edit,
            }
        )
        shots_out.extend(scene_shots)
    matched_old = set(pairs.values())
    for i, old_scene in enumerate(prev_list):
        if i in matched_old:
            continue
        for sid in old_scene.get("shot_ids", []):
            retired.add(sid)
            report["shots_removed"].append(f"{sid}: scene {old_scene['number']} was removed")
    doc: Document = {
        "schema": schema_tag(SCHEMA),
        "breakdown": {
            "sha256": breakdown.get("script", {}).get("sha256"),
            "title": breakdown.get("script", {}).get("title"),
        },  # fmt: skip
        "settings": settings,
        "style_description": STYLES[style]["description"],
        "totals": {
            "scenes": len(scenes_out),
            "shots": len(shots_out),
            "duration_s": round(sum(s["duration_s"] for s in scenes_out), 1),
            "vfx_shots": sum(1 for s in shots_out if s.get("vfx")),
        },
        "scenes": scenes_out,
        "shots": shots_out,
        "retired_ids": sorted(retired - {s["id"] for s in shots_out}),
    }
    return doc, report


def coverage_signature(scene: dict[str, Any], new_location: bool) -> str:
    """What a scene's coverage depends on besides its words: the tags people reviewed
    and whether it opens a new location (an establishing shot)."""
    import hashlib

    tags = sorted(
        f"{t['kind']}|{t.get('vfx_kind') or ''}|{t['name']}|{t.get('status')}|"
        f"{t.get('confidence', 0) >= TAG_TRUST}"
        for t in scene.get("tags", [])
    )
    raw = "\n".join([str(new_location), *tags])
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:16]


def _differs(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("size", "angle", "movement", "lens_mm", "duration_s", "subjects")
    return any(a.get(k) != b.get(k) for k in keys)

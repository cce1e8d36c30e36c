"""Consent records: written once and signed, checked before any likeness edit, cited in what is
rendered.

Each test runs with its own configuration folder (``MOVIOLA_CONFIG``), so "this account"
is a fresh one with its own signing key; a second folder plays another person.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from moviola.consent import (
    KEY_FILE,
    SigningKey,
    check_consent,
    check_consent_for,
    new_consent,
    read_consent,
    signing_key,
    trust_key,
    write_consent,
)
from moviola.core import ConsentError, DocumentError, InputError, init_project

USE = "de-age by 20–30 years for flashback scenes 7 and 7A"


@pytest.fixture(autouse=True)
def own_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This account's configuration folder (its signing key, the keys it trusts)."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("MOVIOLA_CONFIG", str(folder))
    return folder


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviola", *args], capture_output=True, text=True, timeout=120)


def record_file(tmp_path: Path, scope: str = "project", expires: str = "2030-01-01",
                signed_on: str = "2026-01-01") -> Path:  # fmt: skip
    record = new_consent("Ada Lovelace", scope, expires, "Ada Lovelace", signed_on=signed_on, use=USE)
    return write_consent(tmp_path / "ada.json", record)


def test_a_record_round_trips_and_is_cited_by_its_sha256(tmp_path: Path) -> None:
    path = record_file(tmp_path, scope="12A,12B")
    record, digest = read_consent(path)
    assert record.performer == "Ada Lovelace" and record.scope == ("12A", "12B")
    assert json.loads(path.read_text())["schema"] == "Consent.3"
    meta = check_consent(path, shot="12B", today=date(2026, 6, 1))
    assert meta["moviola_consent_sha256"] == digest and meta["moviola_consent_performer"] == "Ada Lovelace"
    assert meta["moviola_consent_key_id"] == signing_key().key_id  # and which key vouched for it


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
        new_consent("Ada", scope, expires, "Ada", signed_on="2026-01-01", use=USE)


def test_a_record_is_never_overwritten(tmp_path: Path) -> None:
    path = record_file(tmp_path)
    before = path.read_bytes()
    with pytest.raises(InputError, match="not edited in place"):
        write_consent(path, new_consent("Someone Else", "project", "2031-01-01", "X", signed_on="2026-01-01", use=USE))
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
                 "--signed-by", "Her Agent", "--use", USE, "--project", str(root)])  # fmt: skip
    assert made.returncode == 0, made.stderr
    [path] = (root / "consent").glob("ada-lovelace.*.json")
    ok = _cli(["consent", "check", str(path), "--shot", "12A", "--json"])
    assert ok.returncode == 0 and json.loads(ok.stdout)["moviola_consent_signed_by"] == "Her Agent"
    refused = _cli(["consent", "check", str(path), "--shot", "14"])
    assert refused.returncode == 6 and "not shot 14" in refused.stderr
    again = _cli(["consent", "new", "--performer", "Ada Lovelace", "--scope", "12A", "--expires", "2099-12-31",
                  "--signed-by", "Her Agent", "--use", USE, "--project", str(root)])  # fmt: skip
    assert again.returncode == 2 and "not edited in place" in again.stderr


# --- integrity: a record is what its issuer signed, or it grants nothing --------------------


def edited(path: Path, **changes: Any) -> Path:
    """The record with fields changed by hand (its signature left as it was)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(changes)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


@pytest.mark.parametrize("change", [
    {"performer": "Grace Hopper"},
    {"expires": "2099-12-31"},
    {"signed_on": "2025-01-01"},
    {"scope": ["project"]},
    {"scope": ["12A", "13"]},
    {"signed_by": "Ada Lovelace herself"},
    {"project": "another-film"},
    {"notes": "amended"},
    {"created": "2020-01-01T00:00:00Z"},
])  # fmt: skip
def test_a_record_edited_by_hand_grants_nothing(tmp_path: Path, change: dict[str, Any]) -> None:
    path = edited(record_file(tmp_path, scope="12A"), **change)
    with pytest.raises(ConsentError, match="changed after it was signed") as info:
        check_consent(path, shot="12A", today=date(2026, 6, 1))
    assert info.value.exit_code == 6


def test_a_record_is_judged_by_its_fields_not_its_layout(tmp_path: Path) -> None:
    path = record_file(tmp_path)
    before = check_consent(path, today=date(2026, 6, 1))
    path.write_text(json.dumps(json.loads(path.read_text()), indent=None, sort_keys=True))  # same fields, re-laid
    after = check_consent(path, today=date(2026, 6, 1))
    assert after["moviola_consent_performer"] == "Ada Lovelace"
    assert after["moviola_consent_sha256"] != before["moviola_consent_sha256"]  # outputs cite the very file


def test_a_record_without_its_signature_or_with_a_broken_one_grants_nothing(tmp_path: Path) -> None:
    path = record_file(tmp_path)
    doc = json.loads(path.read_text())
    signature = doc.pop("signature")
    path.write_text(json.dumps(doc))
    with pytest.raises(ConsentError, match="not signed"):
        check_consent(path, today=date(2026, 6, 1))
    for broken in ({**signature, "value": "AAAA"}, {**signature, "key_id": "0" * 16}, {**signature, "algorithm": "rsa"},
                   {"value": signature["value"]}, "signed"):  # fmt: skip
        path.write_text(json.dumps({**doc, "signature": broken}))
        with pytest.raises(ConsentError, match="signature"):
            check_consent(path, today=date(2026, 6, 1))


def test_a_record_re_signed_by_whoever_edited_it_is_refused_for_its_key(tmp_path: Path) -> None:
    # the editor signs the edited record with a key of their own: it holds together, but nobody trusts that key
    forger = SigningKey.generate()
    path = write_consent(tmp_path / "forged.json", new_consent("Grace Hopper", "project", "2099-12-31",
                                                                 "Grace Hopper", signed_on="2026-01-01", use=USE), key=forger)  # fmt: skip
    with pytest.raises(ConsentError, match=f"signed with key {forger.key_id}, which this account does not trust"):
        check_consent(path, today=date(2026, 6, 1))


def test_records_from_another_issuer_are_accepted_once_their_key_is_trusted(tmp_path: Path, own_config: Path) -> None:
    producer = signing_key(tmp_path / "producer-config")  # the producer's account, elsewhere
    path = write_consent(tmp_path / "ada.json", new_consent("Ada Lovelace", "project", "2030-01-01", "Ada Lovelace",
                                                            signed_on="2026-01-01", use=USE), key=producer)  # fmt: skip
    with pytest.raises(ConsentError, match="does not trust"):
        check_consent(path, today=date(2026, 6, 1))
    trust_key(producer.public, "Production legal")
    assert check_consent(path, today=date(2026, 6, 1))["moviola_consent_key_id"] == producer.key_id
    assert not (own_config / KEY_FILE).exists()  # checking made no key: only issuing does


def test_the_signing_key_is_made_once_for_its_owner_only_and_never_replaced(own_config: Path) -> None:
    first = signing_key()
    assert first.created and first.path == own_config / KEY_FILE
    assert stat.S_IMODE(own_config.stat().st_mode) == 0o700
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    again = signing_key()
    assert not again.created and again.public == first.public
    os.chmod(first.path, 0o644)  # a key others can read could sign for anyone: refused until fixed
    with pytest.raises(ConsentError, match=r"can be read by others.*chmod 600"):
        signing_key()


def test_a_consent_1_record_is_read_and_refused_with_the_command_that_re_issues_it(tmp_path: Path) -> None:
    old = tmp_path / "old.json"  # as Moviola wrote records before they were signed
    old.write_text(json.dumps({"schema": "Consent.1", "performer": "Ada O'Hara", "scope": ["12A", "12B"],
                               "signed_on": "2026-01-01", "expires": "2030-01-01", "signed_by": "Her Agent",
                               "project": None, "created": "2026-01-01T10:00:00Z", "notes": ""}))  # fmt: skip
    record, _ = read_consent(old)
    assert record.performer == "Ada O'Hara" and record.signature is None
    with pytest.raises(ConsentError, match="not signed") as info:
        check_consent(old, shot="12A", today=date(2026, 6, 1))
    message = str(info.value)
    assert message.count("\n") == 0
    command = message.split("re-issue it from the signed consent: ")[1]
    assert command.startswith("moviola consent new --performer 'Ada O'\"'\"'Hara' --scope 12A,12B --expires 2030-01-01")
    # the command it gives, run, makes a record that is accepted
    import shlex

    args = shlex.split(command.removeprefix("moviola "))
    args[args.index("NEW.json")] = str(tmp_path / "new.json")
    args[args.index("THE USE THE AGREEMENT NAMES")] = USE  # what the agreement says: the user fills it in
    made = _cli([*args, "--signed-on", "2026-01-01"])
    assert made.returncode == 0, made.stderr
    assert check_consent(tmp_path / "new.json", shot="12A", today=date(2026, 6, 1))


def test_a_consent_2_record_without_a_use_is_refused_for_renders(tmp_path: Path) -> None:
    import base64

    from moviola.consent import signing_key
    from moviola.consent._records import signed_message

    key = signing_key()
    fields = {"schema": "Consent.2", "performer": "Ada Lovelace", "scope": ["project"], "signed_on": "2026-01-01",
              "expires": "2030-01-01", "signed_by": "Her Agent", "project": None,
              "created": "2026-01-01T10:00:00Z", "notes": ""}  # fmt: skip
    value = base64.b64encode(key._private.sign(signed_message(fields))).decode()
    old = tmp_path / "v2.json"
    old.write_text(json.dumps({**fields, "signature": {"algorithm": "ed25519", "key": key.public,
                                                       "key_id": key.key_id, "value": value}}))  # fmt: skip
    record, _ = read_consent(old)
    assert record.use == "" and record.signature is not None  # read, and its signature still holds
    with pytest.raises(ConsentError, match=r"names no intended use .*--use 'THE USE THE AGREEMENT NAMES'"):
        check_consent(old, today=date(2026, 6, 1))


def test_a_use_is_required_and_kept_in_words(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="intended use"):
        new_consent("Ada", "project", "2030-01-01", "Ada", use="   ")
    with pytest.raises(InputError, match="at most 1000"):
        new_consent("Ada", "project", "2030-01-01", "Ada", use="x" * 1001)
    path = write_consent(tmp_path / "a.json", new_consent("Ada Lovelace", "project", "2099-01-01", "Ada Lovelace",
                                                          use="  de-age by   20–30 years\nfor scene 7 "))  # fmt: skip
    assert read_consent(path)[0].use == "de-age by 20–30 years for scene 7"
    assert check_consent(path)["moviola_consent_use"] == "de-age by 20–30 years for scene 7"


def test_a_revoked_record_refuses_every_new_render_here_and_beside_it(tmp_path: Path) -> None:
    from moviola.consent import revocation_of, revoke_consent

    path = write_consent(tmp_path / "ada.json", new_consent("Ada Lovelace", "project", "2099-01-01",
                                                            "Ada Lovelace", use=USE))  # fmt: skip
    assert check_consent(path)
    written = revoke_consent(path, "the performer withdrew")
    assert (tmp_path / "ada.revoked.json") in written and len(written) == 2
    with pytest.raises(ConsentError, match=r"revoked on .*the performer withdrew.*no new render"):
        check_consent(path)
    # a copy of the record elsewhere (a project's consent folder) is refused by its hash
    copy = tmp_path / "elsewhere" / "ada-copy.json"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    with pytest.raises(ConsentError, match="revoked"):
        check_consent(copy)
    with pytest.raises(InputError, match="already revoked"):
        revoke_consent(path, "again")
    with pytest.raises(InputError, match="say why"):
        revoke_consent(copy, " ")
    assert revocation_of(copy, read_consent(copy)[1]) is not None


def test_cli_revoke_then_check_refuses(tmp_path: Path) -> None:
    made = _cli(["consent", "new", "--performer", "Ada Lovelace", "--scope", "project", "--expires", "2099-12-31",
                 "--signed-by", "Her Agent", "--use", USE, "--out", str(tmp_path / "ada.json")])  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = _cli(["consent", "revoke", str(tmp_path / "ada.json"), "--reason", "agreement ended"])
    assert done.returncode == 0 and "Revoked the consent of Ada Lovelace" in done.stdout
    refused = _cli(["consent", "check", str(tmp_path / "ada.json")])
    assert refused.returncode == 6 and "revoked" in refused.stderr and len(refused.stderr.splitlines()) == 1


@pytest.mark.parametrize(("change", "words"), [
    ({"scope": "project"}, r"scope must be a list of shot ids or \[\"project\"\], not text \('project'\)"),
    ({"scope": []}, r"scope must be a list"),
    ({"scope": ["12A", 13]}, r"scope holds 13"),
    ({"scope": ["../12A"]}, r"neither 'project' nor a shot id"),
    ({"performer": ["Ada", "Lovelace"]}, r"performer must be text, not a list"),
    ({"performer": " "}, r"needs the performer's name"),
    ({"signed_by": None}, r"signed_by must be text, not null"),
    ({"expires": 20300101}, r"expires must be text, not a number"),
    ({"expires": "20300101"}, r"expires '20300101' is not a date"),
    ({"expires": "2025-01-01"}, r"expires is before signed_on"),
    ({"project": ["film"]}, r"project must be text, not a list"),
    ({"notes": {"a": 1}}, r"notes must be text, not an object"),
    ({"scope_extra": ["project"]}, r"unknown field\(s\) in a consent record: scope_extra"),
])  # fmt: skip
def test_every_field_is_checked_for_its_type_and_form(tmp_path: Path, change: dict[str, Any], words: str) -> None:
    path = edited(record_file(tmp_path), **change)
    with pytest.raises(DocumentError, match=words):
        read_consent(path)
    with pytest.raises(ConsentError, match=words):  # and a likeness edit is refused for it, exit 6
        check_consent(path, today=date(2026, 6, 1))


@pytest.mark.parametrize("named", ["Ada Lovelace", "ada lovelace", "  Ada   LOVELACE ", "Ａｄａ Ｌｏｖｅｌａｃｅ"])
def test_the_named_performer_is_matched_as_a_person_reads_a_name(tmp_path: Path, named: str) -> None:
    assert check_consent_for(record_file(tmp_path), named, today=date(2026, 6, 1))


@pytest.mark.parametrize(("named", "words"), [
    ("Ada Lovelace-King", "not Ada Lovelace-King's"),
    ("AdaLovelace", "not AdaLovelace's"),
    ("Grace Hopper", "not Grace Hopper's"),
    (None, "--performer NAME"),
    ("   ", "--performer NAME"),
])  # fmt: skip
def test_a_face_edit_needs_the_performer_named_and_it_must_be_the_records(tmp_path: Path, named: str | None,
                                                                          words: str) -> None:  # fmt: skip
    with pytest.raises(ConsentError, match=words):
        check_consent_for(record_file(tmp_path), named, today=date(2026, 6, 1))


def test_cli_key_and_trust_let_another_account_check_a_record(tmp_path: Path, own_config: Path) -> None:
    made = _cli(["consent", "new", "--performer", "Ada Lovelace", "--scope", "project", "--expires", "2099-12-31",
                 "--signed-by", "Her Agent", "--use", USE, "--out", str(tmp_path / "ada.json")])  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "Made your consent signing key" in made.stdout and (own_config / KEY_FILE).is_file()
    public = _cli(["consent", "key"]).stdout.strip()
    other = dict(os.environ, MOVIOLA_CONFIG=str(tmp_path / "vendor-config"))  # the vendor's account

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "moviola", *args], capture_output=True, text=True,
                              timeout=120, env=other)  # fmt: skip

    refused = run("consent", "check", str(tmp_path / "ada.json"))
    assert refused.returncode == 6 and "does not trust" in refused.stderr
    assert run("consent", "trust", public, "--name", "Ada's production").returncode == 0
    ok = run("consent", "check", str(tmp_path / "ada.json"))
    assert ok.returncode == 0 and "valid: Ada Lovelace" in ok.stdout
    bad = run("consent", "trust", "not-a-key", "--name", "X")
    assert bad.returncode == 2 and "not an Ed25519 public key" in bad.stderr

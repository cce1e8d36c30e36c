"""Consent records: no likeness edit without the performer's consent on record.

A record (schema ``Consent.1``) names the performer, what it covers (the whole
project, or named shots), when it was signed, when it expires and who signed
it. It is written once and never edited in place; its sha256 goes into the
metadata of everything rendered under it, so a delivered frame can be traced
back to the consent that allowed it. ``check_consent`` is what a likeness
edit calls before it touches a single pixel.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from ..core import (
    ConsentError,
    DocumentError,
    InputError,
    now_iso,
    read_document,
    register_schema,
    schema_tag,
    write_document,
)

CONSENT_SCHEMA = "Consent"
register_schema(CONSENT_SCHEMA, 1)
WHOLE_PROJECT = "project"


@dataclass(frozen=True)
class ConsentRecord:
    performer: str
    scope: tuple[str, ...]  # "project", or shot ids
    signed_on: str  # YYYY-MM-DD
    expires: str  # YYYY-MM-DD
    signed_by: str
    project: str | None = None  # the project it was recorded in, if any
    created: str = ""
    notes: str = ""

    def covers(self, shot: str | None) -> bool:
        return WHOLE_PROJECT in self.scope or (shot is not None and shot in self.scope)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InputError(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def parse_scope(text: str) -> tuple[str, ...]:
    """``project`` or a comma-separated list of shot ids (``12A,12B``)."""
    items = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not items:
        raise InputError("--scope is empty: give 'project' or shot ids like 12A,12B")
    bad = [p for p in items if p != WHOLE_PROJECT and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", p)]
    if bad:
        raise InputError(f"--scope has items that are neither 'project' nor shot ids: {', '.join(bad)}")
    return items


def new_consent(performer: str, scope: str, expires: str, signed_by: str, *, signed_on: str | None = None,
                project: str | None = None, notes: str = "") -> ConsentRecord:  # fmt: skip
    """A validated record; the signing date is today unless given."""
    if not performer.strip() or not signed_by.strip():
        raise InputError("a consent record needs the performer's name and the signer's name")
    today = date.today().isoformat()
    signed = _day(signed_on or today, "the signing date")
    until = _day(expires, "--expires")
    if until < signed:
        raise InputError(f"--expires {expires} is before the consent was signed ({signed.isoformat()})")
    return ConsentRecord(performer.strip(), parse_scope(scope), signed.isoformat(), until.isoformat(),
                         signed_by.strip(), project, now_iso(), notes)  # fmt: skip


def write_consent(path: Path, record: ConsentRecord, *, overwrite: bool = False) -> Path:
    """Write a record atomically; an existing record is never replaced unless asked."""
    if path.exists() and not overwrite:
        raise InputError("a consent record is already there; records are not edited in place, "
                         "write a new file", path)  # fmt: skip
    data = asdict(record)
    data["scope"] = list(record.scope)
    return write_document(path, {"schema": schema_tag(CONSENT_SCHEMA), **data})


def read_consent(path: Path) -> tuple[ConsentRecord, str]:
    """The record and the sha256 of its file (what rendered output cites)."""
    path = Path(path)
    doc = read_document(path, CONSENT_SCHEMA)
    try:
        record = ConsentRecord(
            performer=str(doc["performer"]), scope=tuple(str(s) for s in doc["scope"]),
            signed_on=str(doc["signed_on"]), expires=str(doc["expires"]), signed_by=str(doc["signed_by"]),
            project=doc.get("project"), created=str(doc.get("created", "")), notes=str(doc.get("notes", "")),
        )  # fmt: skip
    except (KeyError, TypeError) as exc:
        raise DocumentError(f"not a complete consent record (missing {exc})", path) from exc
    for text, what in ((record.signed_on, "signed_on"), (record.expires, "expires")):
        try:
            date.fromisoformat(text)
        except ValueError:
            raise DocumentError(f"{what} {text!r} is not a date (YYYY-MM-DD)", path) from None
    return record, hashlib.sha256(path.read_bytes()).hexdigest()


def check_consent(path: Path | None, *, performer: str | None = None, shot: str | None = None,
                  project: str | None = None, today: date | None = None) -> dict[str, str]:  # fmt: skip
    """Refuse a likeness edit the record does not allow; the metadata to write when it does."""
    if path is None:
        raise ConsentError("no consent on record: a likeness edit needs the performer's consent "
                           "(moviola consent new --performer NAME --scope SCOPE --expires YYYY-MM-DD "
                           "--signed-by NAME --out FILE, then --consent FILE)")  # fmt: skip
    if not Path(path).is_file():
        raise ConsentError("no such consent record", path)
    record, digest = read_consent(Path(path))
    day = today or date.today()
    if day < date.fromisoformat(record.signed_on):
        raise ConsentError(f"the consent is dated {record.signed_on}, after today ({day.isoformat()})", path)
    if day > date.fromisoformat(record.expires):
        raise ConsentError(f"the consent of {record.performer} expired on {record.expires}", path)
    if performer is not None and performer.strip().casefold() != record.performer.casefold():
        raise ConsentError(f"the consent is {record.performer}'s, not {performer}'s", path)
    if project is not None and record.project is not None and project != record.project:
        raise ConsentError(f"the consent covers the project {record.project!r}, not {project!r}", path)
    if not record.covers(shot):
        where = f"shot {shot}" if shot else "work outside a named shot"
        raise ConsentError(f"the consent covers {', '.join(record.scope)}, not {where}", path)
    return {
        "moviola_consent_performer": record.performer,
        "moviola_consent_expires": record.expires,
        "moviola_consent_signed_by": record.signed_by,
        "moviola_consent_sha256": digest,
        "moviola_consent_scope": json.dumps(list(record.scope)),
    }

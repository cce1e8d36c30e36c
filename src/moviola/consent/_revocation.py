"""Revoking a consent record: after it, every new render under the record is refused.

A record is never edited, so a revocation is a document of its own
(``ConsentRevocation.1``): the record's sha256, its performer and use, the day and
the reason, signed with this account's key. It is written beside the record
(``NAME.revoked.json``, so it travels with a project's ``consent/`` folder) and into
this account's configuration folder (keyed by the record's sha256, so a copy of the
record elsewhere is refused too). Files rendered before the revocation keep their
Content Credentials: ``moviola consent audit`` lists them.

Any well-formed revocation that names a record refuses it, signed by a trusted key or
not: a revocation can only stop work, never allow it, so when in doubt it stops.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from ..core import (
    ConsentError,
    Document,
    DocumentError,
    InputError,
    config_dir,
    now_iso,
    read_document,
    register_schema,
    schema_tag,
    sha256_file,
    write_document,
)
from ._keys import SigningKey, signing_key
from ._records import read_consent

REVOCATION_SCHEMA = "ConsentRevocation"
register_schema(REVOCATION_SCHEMA, 1)
REVOKED_FOLDER = "consent-revocations"
SUFFIX = ".revoked.json"
_DOMAIN = b"moviola consent revocation\n"


def revocation_beside(record: Path) -> Path:
    """``ada.2026-01-01.json`` -> ``ada.2026-01-01.revoked.json``."""
    return record.with_name(record.name.removesuffix(".json") + SUFFIX)


def is_revocation(path: Path) -> bool:
    return path.name.endswith(SUFFIX)


def _account_copy(digest: str) -> Path:
    return config_dir() / REVOKED_FOLDER / f"{digest}.json"


def revoke_consent(record: Path, reason: str, *, today: date | None = None, key: SigningKey | None = None,
                   copies: Iterable[Path] = ()) -> list[Path]:  # fmt: skip
    """Revoke ``record``: the revocation beside it, beside each of its ``copies`` (a project's
    copy of the record: the revocation then travels with the project) and in this account."""
    why = " ".join(reason.split())
    if not why:
        raise InputError("say why the consent is revoked (--reason), for whoever reads the audit")
    try:
        rec, digest = read_consent(record)
    except DocumentError as exc:
        raise InputError(exc.message, record) from exc
    if (found := revocation_of(record, digest)) is not None:
        raise InputError(f"the consent of {rec.performer} was already revoked on {found.get('revoked_on')}", record)
    key = key or signing_key()
    fields: Document = {"schema": schema_tag(REVOCATION_SCHEMA), "record_sha256": digest,
                        "record": record.name, "performer": rec.performer, "use": rec.use,
                        "revoked_on": (today or date.today()).isoformat(), "reason": why,
                        "created": now_iso()}  # fmt: skip
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    doc = {**fields, "signature": {"algorithm": "ed25519", "key": key.public, "key_id": key.key_id,
                                   "value": key.sign_bytes(_DOMAIN + body)}}  # fmt: skip
    written = []
    for target in (_account_copy(digest), revocation_beside(record), *map(revocation_beside, copies)):
        try:
            written.append(write_document(target, doc, exclusive=True))
        except FileExistsError:
            continue  # already there (the account's copy of a record revoked elsewhere)
    return written


def copies_in(folder: Path, digest: str) -> list[Path]:
    """The records in ``folder`` that are byte-for-byte the record with ``digest``."""
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if is_revocation(path):
            continue
        try:
            if sha256_file(path) == digest:
                found.append(path)
        except OSError:
            continue
    return found


def revocation_of(record: Path, digest: str) -> dict[str, Any] | None:
    """The revocation of the record with ``digest``, if any, beside it or in this account."""
    for candidate in (revocation_beside(record), _account_copy(digest)):
        if not candidate.is_file():
            continue
        try:
            doc = read_document(candidate, expect=REVOCATION_SCHEMA)
        except DocumentError:
            # damaged or unreadable: it still says "revoked" to whoever wrote it there
            return {"revoked_on": "an unknown day", "reason": f"a damaged revocation at {candidate}"}
        if doc.get("record_sha256") == digest:
            return doc
    return None


def refuse_if_revoked(record: Path, digest: str, performer: str) -> None:
    """Raise :class:`ConsentError` when the record has been revoked."""
    found = revocation_of(record, digest)
    if found is not None:
        raise ConsentError(f"the consent of {performer} was revoked on {found.get('revoked_on')} "
                           f"({found.get('reason', 'no reason given')}); no new render may use it", record)  # fmt: skip

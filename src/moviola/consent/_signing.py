"""Signing a consent record, and checking one before a likeness edit.

A record is written once, signed over every field with this account's key, and never
edited in place. ``check_consent`` is what a likeness edit calls before it touches a
single pixel: it refuses a record that is missing, edited, unsigned, signed by a key
this account does not trust, expired, premature, someone else's or out of scope
(``ConsentError``, exit 6), and returns the metadata (with the record's sha256 and its
key id) that everything rendered under it carries, so a delivered frame can be traced
back to the consent that allowed it.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from datetime import date
from pathlib import Path

from ..core import ConsentError, DocumentError, InputError, write_document
from ._keys import SigningKey, crypto, signing_key, trusted_keys
from ._records import (
    ConsentRecord,
    decode_b64,
    load_record,
    record_of,
    same_person,
    signed_fields,
    signed_message,
)
from ._revocation import refuse_if_revoked


def write_consent(path: Path, record: ConsentRecord, *, overwrite: bool = False,
                  key: SigningKey | None = None) -> Path:  # fmt: skip
    """Sign ``record`` (with this account's key unless given) and write it atomically; an
    existing record is never replaced unless asked."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError("a consent record is already there; records are not edited in place, "
                         "write a new file", path)  # fmt: skip
    signed = (key or signing_key()).sign(record)
    assert signed.signature is not None
    sig = signed.signature
    doc = {**signed_fields(signed), "signature": {
        "algorithm": sig.algorithm, "key": sig.key, "key_id": sig.key_id, "value": sig.value}}  # fmt: skip
    try:  # exclusive: two writers at once cannot both think the name was free
        return write_document(path, doc, exclusive=not overwrite)
    except FileExistsError:
        raise InputError("a consent record is already there; records are not edited in place, "
                         "write a new file", path) from None


def _reissue(record: ConsentRecord) -> str:
    scope = ",".join(record.scope)
    use = f" --use {shlex.quote(record.use or 'THE USE THE AGREEMENT NAMES')}"
    return (f"moviola consent new --performer {shlex.quote(record.performer)} --scope {shlex.quote(scope)} "
            f"--expires {record.expires} --signed-by {shlex.quote(record.signed_by)}{use} --out NEW.json")  # fmt: skip


def verify_consent(path: Path, *, trusted: dict[str, str] | None = None) -> tuple[ConsentRecord, str, str]:
    """A record whose signature holds over every field, made by a key this account trusts:
    the record, the sha256 of its file and who holds the key. ``ConsentError`` otherwise
    (a record that cannot be read as one included: it grants nothing)."""
    path = Path(path)
    try:
        raw, doc, data = load_record(path)
        record = record_of(doc, path)
    except DocumentError as exc:
        raise ConsentError(exc.message, path) from exc
    sig = record.signature
    if sig is None:
        raise ConsentError("the record is not signed (made before Moviola signed consent records, or its "
                           "signature was removed), so it cannot be told from one edited by hand; re-issue it "
                           f"from the signed consent: {_reissue(record)}", path)  # fmt: skip
    fields = {k: v for k, v in raw.items() if k != "signature"}
    from cryptography.exceptions import InvalidSignature

    try:
        public = crypto().Ed25519PublicKey.from_public_bytes(decode_b64(sig.key, 32))
        public.verify(decode_b64(sig.value, 64), signed_message(fields))
    except (InvalidSignature, ValueError) as exc:  # or a key that is not a curve point
        raise ConsentError("the record was changed after it was signed (its signature no longer matches its "
                           "fields); records are never edited: issue a new one with moviola consent new", path) from exc  # fmt: skip
    keys = trusted if trusted is not None else trusted_keys()
    if sig.key not in keys:
        raise ConsentError(f"the record is signed with key {sig.key_id}, which this account does not trust; "
                           "if it is the issuer's, add it with moviola consent trust KEY --name NAME "
                           "(the issuer prints KEY with moviola consent key)", path)  # fmt: skip
    return record, hashlib.sha256(data).hexdigest(), keys[sig.key]


def check_consent(path: Path | None, *, performer: str | None = None, shot: str | None = None,
                  project: str | None = None, today: date | None = None) -> dict[str, str]:  # fmt: skip
    """Refuse a likeness edit the record does not allow; the metadata to write when it does.

    ``performer`` is the face the user names: when given it must be the record's performer
    (NFKC, case and spacing aside)."""
    if path is None:
        raise ConsentError("no consent on record: a likeness edit needs the performer's consent "
                           "(moviola consent new --performer NAME --scope SCOPE --expires YYYY-MM-DD "
                           "--signed-by NAME --out FILE, then --consent FILE)")  # fmt: skip
    record, digest, _ = verify_consent(Path(path))
    assert record.signature is not None
    refuse_if_revoked(Path(path), digest, record.performer)
    if not record.use:
        raise ConsentError("the record names no intended use (a Consent.2 record); performers' agreements "
                           f"require the use in words: re-issue it, saying the use: {_reissue(record)}", path)  # fmt: skip
    day = today or date.today()
    if day < date.fromisoformat(record.signed_on):
        raise ConsentError(f"the consent is dated {record.signed_on}, after today ({day.isoformat()})", path)
    if day > date.fromisoformat(record.expires):
        raise ConsentError(f"the consent of {record.performer} expired on {record.expires}", path)
    if performer is not None and not same_person(performer, record.performer):
        raise ConsentError(f"the consent is {record.performer}'s, not {' '.join(performer.split())}'s", path)
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
        "moviola_consent_key_id": record.signature.key_id,
        "moviola_consent_use": record.use,
        "moviola_consent_record": Path(path).name,
    }


def check_consent_for(path: Path | None, performer: str | None, *, shot: str | None = None,
                      project: str | None = None, today: date | None = None) -> dict[str, str]:  # fmt: skip
    """``check_consent`` for a command that edits a face: the user must name whose face it
    is (``--performer``), and that must be the record's performer. Without the name, the
    record's performer would be matched to nothing, and a record for one performer could
    serve for another's face."""
    if path is not None and (performer is None or not performer.strip()):
        raise ConsentError("name the performer whose face this is with --performer NAME; it must be the "
                           "performer of the consent record", path)  # fmt: skip
    return check_consent(path, performer=performer, shot=shot, project=project, today=today)

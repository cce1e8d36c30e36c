"""Consent records: no likeness edit without the performer's consent on record.

A record (schema ``Consent.3``) names the performer, the intended use in words
(as performers' agreements require: "de-age by 20-30 years for flashback scenes 7
and 7A"), what it covers (the whole project, or named shots), when it was signed,
when it expires and who signed it, and carries an Ed25519 signature over all of that (``_signing``, with this
account's key from ``_keys``). It is written once and never edited in place.
This module is the record itself: its fields, each checked for its type and
form when read, and what exactly is signed. Records from before signing
(``Consent.1``) and records that name no use (``Consent.2``) are read, named for what
they are, and refused for new renders until re-issued.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import stat
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..core import (
    Document,
    DocumentError,
    InputError,
    now_iso,
    parse_document,
    register_schema,
    schema_tag,
    upgrade,
    upgrade_from,
)

CONSENT_SCHEMA = "Consent"
register_schema(CONSENT_SCHEMA, 3)
MAX_USE_CHARS = 1000  # a sentence or a paragraph of the agreement, not the agreement
WHOLE_PROJECT = "project"
ALGORITHM = "ed25519"
MAX_RECORD_BYTES = 1 << 20  # a record is a few hundred bytes; anything this big is not one
# what the signature is over: this prefix, then the record without its signature as
# canonical JSON (sorted keys, no spaces, UTF-8), so no other signed message can pass for one
_DOMAIN = b"moviola consent record\n"
_FIELDS = ("schema", "performer", "use", "scope", "signed_on", "expires", "signed_by", "project", "created",
           "notes")
_SHOT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class ConsentSignature:
    """An Ed25519 signature and the public key that made it (both base64)."""

    key: str
    value: str
    algorithm: str = ALGORITHM

    @property
    def key_id(self) -> str:
        return key_id(self.key)


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
    signature: ConsentSignature | None = None  # None: not signed (yet, or never: Consent.1)
    use: str = ""  # the intended use, in words ("" only in a Consent.2 record: refused for renders)

    def covers(self, shot: str | None) -> bool:
        return WHOLE_PROJECT in self.scope or (shot is not None and shot in self.scope)


# --- the fields ---------------------------------------------------------------------------


def same_person(a: str, b: str) -> bool:
    """Names compared as a person reads them: Unicode NFKC, case and runs of spaces ignored."""

    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", s).casefold().split())

    return norm(a) == norm(b)


def _day(text: str, what: str) -> date:
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InputError(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def person_name(text: str, what: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise InputError(f"a consent record needs {what}")
    if any(unicodedata.category(c) == "Cc" for c in text if c not in "\t\n\r"):
        raise InputError(f"{what} has control characters")
    return name


def parse_scope(text: str) -> tuple[str, ...]:
    """``project`` or a comma-separated list of shot ids (``12A,12B``)."""
    items = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not items:
        raise InputError("--scope is empty: give 'project' or shot ids like 12A,12B")
    bad = [p for p in items if p != WHOLE_PROJECT and not _SHOT_ID.fullmatch(p)]
    if bad:
        raise InputError(f"--scope has items that are neither 'project' nor shot ids: {', '.join(bad)}")
    return items


def intended_use(text: str) -> str:
    """The intended use as the record keeps it: one line, not empty, not a whole file."""
    use = " ".join(text.split())
    if not use:
        raise InputError("a consent record needs the intended use in words (--use \"de-age by 20-30 years "
                         "for flashback scenes 7 and 7A\"), as performers' agreements require")  # fmt: skip
    if len(use) > MAX_USE_CHARS:
        raise InputError(f"--use is {len(use)} characters; say the use in at most {MAX_USE_CHARS} "
                         "(the agreement itself stays with the agreement)")  # fmt: skip
    if any(unicodedata.category(c) == "Cc" for c in use):
        raise InputError("--use has control characters")
    return use


def new_consent(performer: str, scope: str, expires: str, signed_by: str, *, use: str,
                signed_on: str | None = None, project: str | None = None, notes: str = "") -> ConsentRecord:  # fmt: skip
    """A validated, not yet signed record (``write_consent`` signs it); the signing date is
    today unless given."""
    what = intended_use(use)
    who = person_name(performer, "the performer's name")
    by = person_name(signed_by, "the signer's name")
    today = date.today().isoformat()
    signed = _day(signed_on or today, "the signing date")
    until = _day(expires, "--expires")
    if until < signed:
        raise InputError(f"--expires {expires} is before the consent was signed ({signed.isoformat()})")
    return ConsentRecord(who, parse_scope(scope), signed.isoformat(), until.isoformat(), by, project,
                         now_iso(), notes, use=what)  # fmt: skip


def signed_fields(record: ConsentRecord) -> Document:
    """The record as its document, without the signature: what is signed."""
    return {"schema": schema_tag(CONSENT_SCHEMA), "performer": record.performer, "use": record.use,
            "scope": list(record.scope),
            "signed_on": record.signed_on, "expires": record.expires, "signed_by": record.signed_by,
            "project": record.project, "created": record.created, "notes": record.notes}  # fmt: skip


def signed_message(fields: Document) -> bytes:
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return _DOMAIN + body.encode("utf-8")



def key_id(public_b64: str) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its sha256."""
    return hashlib.sha256(decode_b64(public_b64, 32)).hexdigest()[:16]


def decode_b64(text: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("not base64") from None
    if len(raw) != size:
        raise ValueError(f"{len(raw)} bytes, not {size}")
    return raw


# --- reading --------------------------------------------------------------------------------


@upgrade_from(CONSENT_SCHEMA, 1)
def _from_v1(doc: Document) -> Document:
    """Consent.1 had no signature: it reads as a record that is not signed (and is refused)."""
    doc.setdefault("project", None)
    doc.setdefault("created", "")
    doc.setdefault("notes", "")
    doc["signature"] = None
    return doc


@upgrade_from(CONSENT_SCHEMA, 2)
def _from_v2(doc: Document) -> Document:
    """Consent.2 named no intended use: it reads with none (and is refused for renders)."""
    doc["use"] = ""
    return doc


def load_record(path: Path) -> tuple[Document, Document, bytes]:
    """The document as written, the same brought to the current schema, and its bytes,
    from one read (what is checked is what is cited)."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise DocumentError("is a folder, not a consent record", path)
        if not stat.S_ISREG(mode):  # a pipe or a device would hang or never end
            raise DocumentError("is not a file, so not a consent record", path)
        with path.open("rb") as fh:
            data = fh.read(MAX_RECORD_BYTES + 1)
    except FileNotFoundError:
        raise DocumentError("no such consent record", path) from None
    except OSError as exc:
        raise DocumentError(f"cannot read the consent record ({exc.strerror})", path) from exc
    if len(data) > MAX_RECORD_BYTES:
        raise DocumentError("is far too large to be a consent record", path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError("is not a consent record (not UTF-8 text)", path) from None
    raw = parse_document(text, path, CONSENT_SCHEMA, what="consent record")
    return raw, upgrade(dict(raw), source=path), data


def _text(doc: Document, name: str, path: Path) -> str:
    value = doc[name]
    if not isinstance(value, str):
        raise DocumentError(f"{name} must be text, not {_kind(value)}", path)
    return value


def _kind(value: object) -> str:
    return {type(None): "null", bool: "true/false", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)  # fmt: skip


def record_of(doc: Document, path: Path) -> ConsentRecord:
    """Every field checked for its type and form; a string where a list belongs (which
    would read letter by letter) or a field nobody writes is refused, not coerced."""
    unknown = sorted(set(doc) - {*_FIELDS, "signature"})
    if unknown:
        raise DocumentError(f"unknown field(s) in a consent record: {', '.join(unknown)}", path)
    missing = [f for f in _FIELDS if f not in doc]
    if missing:
        raise DocumentError(f"not a complete consent record (missing {', '.join(missing)})", path)
    scope = doc["scope"]
    if not isinstance(scope, list) or not scope:
        raise DocumentError(f"scope must be a list of shot ids or [\"project\"], not {_kind(scope)}"
                            + (f" ({scope!r})" if isinstance(scope, str) else ""), path)  # fmt: skip
    for item in scope:
        if not isinstance(item, str) or not (item == WHOLE_PROJECT or _SHOT_ID.fullmatch(item)):
            raise DocumentError(f"scope holds {item!r}, which is neither 'project' nor a shot id", path)
    t = {f: _text(doc, f, path) for f in ("performer", "use", "signed_on", "expires", "signed_by", "created",
                                          "notes")}  # fmt: skip
    project = None if doc["project"] is None else _text(doc, "project", path)
    try:
        person_name(t["performer"], "the performer's name (performer)")
        person_name(t["signed_by"], "the signer's name (signed_by)")
        if _day(t["expires"], "expires") < _day(t["signed_on"], "signed_on"):
            raise InputError("expires is before signed_on")
    except InputError as exc:
        raise DocumentError(exc.message, path) from None
    return ConsentRecord(t["performer"], tuple(scope), t["signed_on"], t["expires"], t["signed_by"], project,
                         t["created"], t["notes"], _signature(doc.get("signature"), path), use=t["use"])  # fmt: skip


def _signature(block: object, path: Path) -> ConsentSignature | None:
    if block is None:
        return None
    if not isinstance(block, dict) or set(block) != {"algorithm", "key", "key_id", "value"}:
        raise DocumentError("the signature is damaged (not the four fields moviola writes)", path)
    if block["algorithm"] != ALGORITHM:
        raise DocumentError(f"the signature is {block['algorithm']!r}; only {ALGORITHM} records are read", path)
    try:
        if not all(isinstance(block[k], str) for k in ("key", "key_id", "value")):
            raise ValueError("its fields must be text")
        sig = ConsentSignature(block["key"], block["value"])
        decode_b64(sig.value, 64)
        if sig.key_id != block["key_id"]:
            raise ValueError("its key and key id disagree")
    except ValueError as exc:
        raise DocumentError(f"the signature is damaged ({exc})", path) from None
    return sig


def read_consent(path: Path) -> tuple[ConsentRecord, str]:
    """The record (every field checked for type and form; signed or not) and the sha256 of
    its file (what rendered output cites). Integrity and trust are ``check_consent``'s."""
    path = Path(path)
    _, doc, data = load_record(path)
    return record_of(doc, path), hashlib.sha256(data).hexdigest()

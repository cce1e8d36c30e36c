"""Consent records: no likeness edit without the performer's consent on record.

A record (schema ``Consent.2``) names the performer, what it covers (the whole
project, or named shots), when it was signed, when it expires and who signed
it, and carries an Ed25519 signature over all of that. It is written once and
never edited in place; its sha256 and its signing key go into the metadata of
everything rendered under it, so a delivered frame can be traced back to the
consent that allowed it. ``check_consent`` is what a likeness edit calls before
it touches a single pixel.

Integrity: ``moviola consent new`` signs with the issuer's own key, made on first
use and kept private (0600) in the issuer's configuration folder, never in a
project a whole crew can write to. A record is accepted only when its signature
holds over every field (so an edit by hand is refused), and only when it was
signed by a key this account trusts: its own, or one added on purpose with
``moviola consent trust`` (so re-signing an edited record with a fresh key does
not help). The record carries its public key, so it is checked the same way
inside a project or outside one. Records from before signing (``Consent.1``) are
read, named for what they are, and refused until re-issued.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import shlex
import stat
import tempfile
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from ..core import (
    ConsentError,
    Document,
    DocumentError,
    InputError,
    MoviolaError,
    now_iso,
    parse_document,
    read_document,
    register_schema,
    schema_tag,
    upgrade,
    upgrade_from,
    write_document,
)

CONSENT_SCHEMA = "Consent"
register_schema(CONSENT_SCHEMA, 2)
KEYS_SCHEMA = "ConsentKeys"
register_schema(KEYS_SCHEMA, 1)
WHOLE_PROJECT = "project"
ALGORITHM = "ed25519"
KEY_FILE = "consent-signing-key.pem"
TRUST_FILE = "trusted-consent-keys.json"
MAX_RECORD_BYTES = 1 << 20  # a record is a few hundred bytes; anything this big is not one
# what the signature is over: this prefix, then the record without its signature as
# canonical JSON (sorted keys, no spaces, UTF-8), so no other signed message can pass for one
_DOMAIN = b"moviola consent record\n"
_FIELDS = ("schema", "performer", "scope", "signed_on", "expires", "signed_by", "project", "created", "notes")
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


def _name(text: str, what: str) -> str:
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


def new_consent(performer: str, scope: str, expires: str, signed_by: str, *, signed_on: str | None = None,
                project: str | None = None, notes: str = "") -> ConsentRecord:  # fmt: skip
    """A validated, not yet signed record (``write_consent`` signs it); the signing date is
    today unless given."""
    who = _name(performer, "the performer's name")
    by = _name(signed_by, "the signer's name")
    today = date.today().isoformat()
    signed = _day(signed_on or today, "the signing date")
    until = _day(expires, "--expires")
    if until < signed:
        raise InputError(f"--expires {expires} is before the consent was signed ({signed.isoformat()})")
    return ConsentRecord(who, parse_scope(scope), signed.isoformat(), until.isoformat(), by, project,
                         now_iso(), notes)  # fmt: skip


def _fields(record: ConsentRecord) -> Document:
    """The record as its document, without the signature: what is signed."""
    return {"schema": schema_tag(CONSENT_SCHEMA), "performer": record.performer, "scope": list(record.scope),
            "signed_on": record.signed_on, "expires": record.expires, "signed_by": record.signed_by,
            "project": record.project, "created": record.created, "notes": record.notes}  # fmt: skip


def _message(fields: Document) -> bytes:
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return _DOMAIN + body.encode("utf-8")


# --- keys ---------------------------------------------------------------------------------


def config_dir() -> Path:
    """``$MOVIOLA_CONFIG``, else ``$XDG_CONFIG_HOME/moviola``, else ``~/.config/moviola``:
    this account's signing key and the keys it trusts."""
    if os.environ.get("MOVIOLA_CONFIG"):
        return Path(os.environ["MOVIOLA_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "moviola"


def key_id(public_b64: str) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its sha256."""
    return hashlib.sha256(_b64(public_b64, 32)).hexdigest()[:16]


def _b64(text: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("not base64") from None
    if len(raw) != size:
        raise ValueError(f"{len(raw)} bytes, not {size}")
    return raw


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:  # pragma: no cover - a declared dependency
        from ..core import DependencyError

        raise DependencyError(f"consent records are signed with 'cryptography', which is missing ({exc}); "
                              "pip install cryptography") from exc  # fmt: skip
    return ed25519


class SigningKey:
    """This account's Ed25519 key (the private half never leaves its file)."""

    def __init__(self, private: Any, path: Path | None = None, created: bool = False) -> None:
        self._private = private
        self.path = path
        self.created = created  # made by this call (first use)

    @property
    def public(self) -> str:
        from cryptography.hazmat.primitives import serialization

        raw = self._private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode("ascii")

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, record: ConsentRecord) -> ConsentRecord:
        value = self._private.sign(_message(_fields(record)))
        return replace(record, signature=ConsentSignature(self.public, base64.b64encode(value).decode("ascii")))

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key held in memory only (a test, or a tool that keeps keys elsewhere)."""
        return cls(_crypto().Ed25519PrivateKey.generate())


def signing_key(folder: Path | None = None, *, create: bool = True) -> SigningKey:
    """This account's signing key, made on first use: ``consent-signing-key.pem`` in
    ``config_dir()``, readable by its owner only (a key others can read is refused)."""
    from cryptography.hazmat.primitives import serialization

    folder = folder or config_dir()
    path = folder / KEY_FILE
    created = False
    if not path.exists():
        if not create:
            raise ConsentError("no consent signing key here yet (moviola consent new makes one)", path)
        created = _create_key(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ConsentError("the consent signing key is not a file", path)
        if st.st_mode & 0o077:
            raise ConsentError(f"the consent signing key can be read by others (mode {stat.S_IMODE(st.st_mode):o}); "
                               f"chmod 600 {shlex.quote(str(path))}, or move it away to make a new one", path)  # fmt: skip
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except MoviolaError:
        raise
    except (OSError, ValueError, TypeError) as exc:
        raise ConsentError(f"cannot read the consent signing key: {exc}", path) from exc
    if not isinstance(private, _crypto().Ed25519PrivateKey):
        raise ConsentError("the consent signing key is not an Ed25519 key", path)
    return SigningKey(private, path, created)


def _create_key(path: Path) -> bool:
    """Write a new private key, 0600 from the first byte, under its name only if nobody
    else made one meanwhile (link, not rename: an existing key is never replaced)."""
    from cryptography.hazmat.primitives import serialization

    pem = _crypto().Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
    except OSError as exc:
        raise ConsentError(f"cannot make the consent signing key ({exc.strerror}); set MOVIOLA_CONFIG to a "
                           "private folder", path) from exc  # fmt: skip
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False  # made meanwhile by another moviola: use that one
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def public_key_of(text: str) -> str:
    """A public key as given to ``consent trust`` (base64 of 32 bytes), checked."""
    text = text.strip()
    try:
        raw = _b64(text, 32)
        _crypto().Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InputError(f"not an Ed25519 public key as 'moviola consent key' prints it ({exc})") from None
    return text


def trusted_keys(folder: Path | None = None) -> dict[str, str]:
    """Public key (base64) -> who it is, for every key this account accepts records from."""
    folder = folder or config_dir()
    keys: dict[str, str] = {}
    path = folder / TRUST_FILE
    if path.exists():
        try:
            doc = read_document(path, KEYS_SCHEMA)
            for entry in doc["keys"]:
                keys[public_key_of(str(entry["key"]))] = str(entry["name"])
        except (DocumentError, InputError, KeyError, TypeError) as exc:
            message = exc.message if isinstance(exc, MoviolaError) else f"missing {exc}"
            raise ConsentError(f"the list of trusted consent keys is damaged ({message})", path) from exc
    if (folder / KEY_FILE).exists():
        keys[signing_key(folder, create=False).public] = "this account's own key"
    return keys


def trust_key(public: str, name: str, folder: Path | None = None) -> Path:
    """Accept records signed by ``public`` from now on (kept in ``config_dir()``)."""
    folder = folder or config_dir()
    public = public_key_of(public)
    label = _name(name, "a name for the key (--name)")
    path = folder / TRUST_FILE
    doc: Document = {"schema": schema_tag(KEYS_SCHEMA), "keys": []}
    if path.exists():
        trusted_keys(folder)  # refuses a damaged list rather than writing over it
        doc = read_document(path, KEYS_SCHEMA)
    entries = [e for e in doc["keys"] if e.get("key") != public]
    entries.append({"key": public, "key_id": key_id(public), "name": label, "added": now_iso()})
    return write_document(path, {"schema": schema_tag(KEYS_SCHEMA), "keys": entries})


# --- writing and reading ------------------------------------------------------------------


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
    doc = {**_fields(signed), "signature": {
        "algorithm": sig.algorithm, "key": sig.key, "key_id": sig.key_id, "value": sig.value}}  # fmt: skip
    try:  # exclusive: two writers at once cannot both think the name was free
        return write_document(path, doc, exclusive=not overwrite)
    except FileExistsError:
        raise InputError("a consent record is already there; records are not edited in place, "
                         "write a new file", path) from None


@upgrade_from(CONSENT_SCHEMA, 1)
def _from_v1(doc: Document) -> Document:
    """Consent.1 had no signature: it reads as a record that is not signed (and is refused)."""
    doc.setdefault("project", None)
    doc.setdefault("created", "")
    doc.setdefault("notes", "")
    doc["signature"] = None
    return doc


def _load(path: Path) -> tuple[Document, Document, bytes]:
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


def _record(doc: Document, path: Path) -> ConsentRecord:
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
    t = {f: _text(doc, f, path) for f in ("performer", "signed_on", "expires", "signed_by", "created", "notes")}
    project = None if doc["project"] is None else _text(doc, "project", path)
    try:
        _name(t["performer"], "the performer's name (performer)")
        _name(t["signed_by"], "the signer's name (signed_by)")
        if _day(t["expires"], "expires") < _day(t["signed_on"], "signed_on"):
            raise InputError("expires is before signed_on")
    except InputError as exc:
        raise DocumentError(exc.message, path) from None
    return ConsentRecord(t["performer"], tuple(scope), t["signed_on"], t["expires"], t["signed_by"], project,
                         t["created"], t["notes"], _signature(doc.get("signature"), path))  # fmt: skip


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
        _b64(sig.value, 64)
        if sig.key_id != block["key_id"]:
            raise ValueError("its key and key id disagree")
    except ValueError as exc:
        raise DocumentError(f"the signature is damaged ({exc})", path) from None
    return sig


def read_consent(path: Path) -> tuple[ConsentRecord, str]:
    """The record (every field checked for type and form; signed or not) and the sha256 of
    its file (what rendered output cites). Integrity and trust are ``check_consent``'s."""
    path = Path(path)
    _, doc, data = _load(path)
    return _record(doc, path), hashlib.sha256(data).hexdigest()


def _reissue(record: ConsentRecord) -> str:
    scope = ",".join(record.scope)
    return (f"moviola consent new --performer {shlex.quote(record.performer)} --scope {shlex.quote(scope)} "
            f"--expires {record.expires} --signed-by {shlex.quote(record.signed_by)} --out NEW.json")  # fmt: skip


def verify_consent(path: Path, *, trusted: dict[str, str] | None = None) -> tuple[ConsentRecord, str, str]:
    """A record whose signature holds over every field, made by a key this account trusts:
    the record, the sha256 of its file and who holds the key. ``ConsentError`` otherwise
    (a record that cannot be read as one included: it grants nothing)."""
    path = Path(path)
    try:
        raw, doc, data = _load(path)
        record = _record(doc, path)
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
        public = _crypto().Ed25519PublicKey.from_public_bytes(_b64(sig.key, 32))
        public.verify(_b64(sig.value, 64), _message(fields))
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

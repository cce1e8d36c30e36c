"""The keys consent records are signed with, and the keys this account trusts.

``moviola consent new`` signs with the issuer's own key, made on first use and kept
private (0600) in the issuer's configuration folder (``core.config_dir``), never in a
project a whole crew can write to. A record is accepted only when it was signed by a
key this account trusts: its own, or one added on purpose with ``moviola consent
trust`` (so re-signing an edited record with a fresh key does not help).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shlex
import stat
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core import (
    ConsentError,
    Document,
    DocumentError,
    InputError,
    MoviolaError,
    config_dir,
    now_iso,
    read_document,
    register_schema,
    schema_tag,
    write_document,
)
from ._records import (
    ConsentRecord,
    ConsentSignature,
    decode_b64,
    key_id,
    person_name,
    signed_fields,
    signed_message,
)

KEYS_SCHEMA = "ConsentKeys"
register_schema(KEYS_SCHEMA, 1)
KEY_FILE = "consent-signing-key.pem"
TRUST_FILE = "trusted-consent-keys.json"


def crypto() -> Any:
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

    def sign_bytes(self, message: bytes) -> str:
        """An Ed25519 signature over ``message`` (base64): for documents beside records."""
        return base64.b64encode(self._private.sign(message)).decode("ascii")

    def sign(self, record: ConsentRecord) -> ConsentRecord:
        value = self._private.sign(signed_message(signed_fields(record)))
        return replace(record, signature=ConsentSignature(self.public, base64.b64encode(value).decode("ascii")))

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key held in memory only (a test, or a tool that keeps keys elsewhere)."""
        return cls(crypto().Ed25519PrivateKey.generate())


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
    if not isinstance(private, crypto().Ed25519PrivateKey):
        raise ConsentError("the consent signing key is not an Ed25519 key", path)
    return SigningKey(private, path, created)


def _create_key(path: Path) -> bool:
    """Write a new private key, 0600 from the first byte, under its name only if nobody
    else made one meanwhile (link, not rename: an existing key is never replaced)."""
    from cryptography.hazmat.primitives import serialization

    pem = crypto().Ed25519PrivateKey.generate().private_bytes(
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
        raw = decode_b64(text, 32)
        crypto().Ed25519PublicKey.from_public_bytes(raw)
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
    label = person_name(name, "a name for the key (--name)")
    path = folder / TRUST_FILE
    doc: Document = {"schema": schema_tag(KEYS_SCHEMA), "keys": []}
    if path.exists():
        trusted_keys(folder)  # refuses a damaged list rather than writing over it
        doc = read_document(path, KEYS_SCHEMA)
    entries = [e for e in doc["keys"] if e.get("key") != public]
    entries.append({"key": public, "key_id": key_id(public), "name": label, "added": now_iso()})
    return write_document(path, {"schema": schema_tag(KEYS_SCHEMA), "keys": entries})

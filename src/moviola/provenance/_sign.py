"""Signing files with Content Credentials (c2pa-python), before they get their final name.

Pictures and movies carry their manifest inside (PNG, JPEG, MP4, MOV, PDF); an EXR
cannot, so its manifest goes into a ``.c2pa`` sidecar beside it, bound to the EXR
by a hash of the whole file. Every writer signs its temporary file and only then
renames it into place (``core.atomic_path(finish=...)``), so a file under its
final name is always signed, and a failure to sign leaves nothing behind.

Signing is offline: no time-stamp authority unless one is configured (a
project's ``[provenance] tsa_url`` or ``$MOVIOLA_TSA_URL``), no thumbnails (the
frames are the pictures; a thumbnail per frame would only add size).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import threading
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..core import (
    DependencyError,
    InputError,
    Project,
    ProvenanceError,
    write_bytes_atomic,
)
from ._claim import Claim, Ingredient, ingredient_definition, manifest
from ._keys import (
    CHAIN_FILE,
    DEFAULT_NAME,
    KEY_FILE,
    SigningIdentity,
    key_set_dir,
    load_key_set,
    new_keys,
)

EMBEDDED = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".pdf": "application/pdf",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
}
SIDECAR = {".exr": "image/x-exr"}
SIDECAR_SUFFIX = ".c2pa"
GENERATOR = "Moviola"


def c2pa_module() -> Any:
    try:
        import c2pa
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyError(f"Content Credentials need c2pa-python ({exc}); pip install c2pa-python") from exc
    return c2pa


def generator() -> tuple[str, str]:
    try:
        return GENERATOR, version("moviola")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return GENERATOR, "0+unknown"


def mime_of(path: Path) -> tuple[str, bool]:
    """The media type of ``path`` and whether its manifest is embedded (False: a sidecar)."""
    suffix = path.suffix.lower()
    if suffix in EMBEDDED:
        return EMBEDDED[suffix], True
    if suffix in SIDECAR:
        return SIDECAR[suffix], False
    raise InputError(f"Moviola does not sign '{suffix}' files", path)


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


class _HashCache:
    """Content hashes of ingredients, by (path, size, mtime): a plate used by every frame
    of a shot is hashed once."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    def sha256(self, path: Path) -> str:
        try:
            st = path.stat()
        except OSError as exc:
            raise InputError(f"an ingredient of a signed file cannot be read: {exc.strerror}", path) from exc
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        with self._lock:
            if key in self._known:
                return self._known[key]
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        with self._lock:
            self._known[key] = digest.hexdigest()
        return self._known[key]


class Credentials:
    """One signing identity, ready to sign any number of files (thread-safe)."""

    def __init__(self, identity: SigningIdentity, *, tsa_url: str | None = None,
                 on_first_sign: Callable[[], None] | None = None) -> None:
        self.identity = identity
        self._first = on_first_sign  # what to record once something is really signed
        self._first_lock = threading.Lock()
        self.tsa_url = tsa_url or os.environ.get("MOVIOLA_TSA_URL") or None
        self._local = threading.local()
        self._hashes = _HashCache()
        c2pa = c2pa_module()
        self._context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
        self.signed = 0

    def _signer(self) -> Any:
        if self._first is not None:
            with self._first_lock:
                if self._first is not None:
                    self._first()
                    self._first = None
        signer = getattr(self._local, "signer", None)
        if signer is None:  # one per thread: c2pa's native signer is not shared across threads
            c2pa = c2pa_module()
            tsa = self.tsa_url.encode() if self.tsa_url else None
            info = c2pa.C2paSignerInfo(self.identity.alg.encode(), self.identity.chain_pem, self.identity.key_pem, tsa)
            try:
                signer = c2pa.Signer.from_info(info)
            except c2pa.C2paError as exc:
                raise ProvenanceError(f"c2pa cannot sign with this certificate: {exc}", self.identity.path) from exc
            self._local.signer = signer
        return signer

    def _builder(self, claim: Claim, title: str) -> Any:
        c2pa = c2pa_module()
        builder = c2pa.Builder(manifest(claim, title, generator()), context=self._context)
        if claim.parent is not None:  # the label the opened action points at
            self._add_ingredient(builder, claim.parent, "parent")
        for ingredient in claim.ingredients:
            self._add_ingredient(builder, ingredient, None)
        return builder

    def _add_ingredient(self, builder: Any, ingredient: Ingredient, label: str | None) -> None:
        c2pa = c2pa_module()
        path = ingredient.path
        if not path.is_file() and ingredient.sha256:
            # a frame sequence (a folder, plate.####.png) named by its digest: no one file to read
            builder.add_ingredient(ingredient_definition(ingredient, label), "application/octet-stream",
                                   io.BytesIO(b""))  # fmt: skip
            return
        if not ingredient.sha256:
            ingredient = Ingredient(path, ingredient.role, ingredient.relationship, self._hashes.sha256(path))
        suffix = path.suffix.lower()
        mime = EMBEDDED.get(suffix) or SIDECAR.get(suffix) or "application/octet-stream"
        definition = ingredient_definition(ingredient, label)
        try:
            with path.open("rb") as fh:
                if mime in EMBEDDED.values():  # its own credentials, if any, travel with it
                    builder.add_ingredient(definition, mime, fh)
                else:
                    builder.add_ingredient(definition, "application/octet-stream", io.BytesIO(b""))
        except OSError as exc:
            raise InputError(f"an ingredient of a signed file cannot be read: {exc.strerror}", path) from exc
        except c2pa.C2paError as exc:  # a foreign or broken manifest in the ingredient: keep it by hash
            with contextlib.suppress(c2pa.C2paError):
                builder.add_ingredient(definition, "application/octet-stream", io.BytesIO(b""))
                return
            raise ProvenanceError(f"cannot take this file as an ingredient: {exc}", path) from exc

    def sign_file(self, tmp: Path, target: Path, claim: Claim) -> None:
        """Sign the whole file ``tmp`` that is about to become ``target``: embedded in
        place, or a sidecar written beside ``target`` (before ``tmp`` is renamed)."""
        mime, embedded = mime_of(target)
        c2pa = c2pa_module()
        builder = self._builder(claim, target.name)
        try:
            if not embedded:
                builder.set_no_embed()
                with tmp.open("rb") as src:
                    store = builder.sign(self._signer(), mime, src, io.BytesIO())
                write_bytes_atomic(sidecar_of(target), bytes(store))
            else:
                fd, signed = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".sig", dir=tmp.parent)
                try:
                    with tmp.open("rb") as src, os.fdopen(fd, "w+b") as dst:
                        builder.sign(self._signer(), mime, src, dst)
                    os.replace(signed, tmp)
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(signed)
        except c2pa.C2paError as exc:
            raise ProvenanceError(f"cannot sign: {exc}", target) from exc
        except OSError as exc:
            raise ProvenanceError(f"cannot sign: {exc.strerror or exc}", target) from exc
        self.signed += 1

    def finisher(self, target: Path, claim: Claim) -> Callable[[Path], None]:
        """The ``finish`` step for ``core.atomic_path``/``atomic_movie`` writing ``target``."""
        return lambda tmp: self.sign_file(tmp, target, claim)

    def write_bytes(self, target: Path, data: bytes, claim: Claim) -> Path:
        """Write ``data`` to ``target`` atomically, signed (embedded, or with its sidecar)."""
        return write_bytes_atomic(target, data, finish=self.finisher(target, claim))

    def sign_existing(self, path: Path, claim: Claim) -> Path:
        """Sign a file already in place (written by a tool we do not control), atomically."""
        from ..core import atomic_path

        with atomic_path(path, path.suffix, self.finisher(path, claim)) as tmp, \
                path.open("rb") as src, tmp.open("wb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                dst.write(block)
        return path


# -- which certificate signs ----------------------------------------------------------------


def _default_identity() -> tuple[SigningIdentity, bool]:
    folder = key_set_dir(DEFAULT_NAME)
    if not (folder / CHAIN_FILE).exists() and not (folder / KEY_FILE).exists():
        try:
            return new_keys(DEFAULT_NAME), True
        except ProvenanceError:
            if not (folder / CHAIN_FILE).exists():  # not another moviola making it meanwhile
                raise
    return load_key_set(DEFAULT_NAME), False


def project_identity(project: Project) -> SigningIdentity:
    """The identity the project records, checked to be the same certificate."""
    name = project.provenance.get("keys", DEFAULT_NAME)
    identity = load_key_set(name)
    recorded = project.provenance.get("fingerprint")
    if recorded and recorded != identity.fingerprint:
        raise ProvenanceError(
            f"this account's key set '{name}' is not the certificate this project signs with "
            f"({project.provenance.get('subject', 'fingerprint ' + recorded[:16])}); sign with that "
            f"one, or switch the project on purpose: moviola keys use {project.root} --name {name}",
            identity.path)  # fmt: skip
    return identity


def use_keys(project: Project, name: str = DEFAULT_NAME) -> SigningIdentity:
    """Record key set ``name`` as the one that signs this project's files."""
    identity = load_key_set(name)
    with project.lock():
        project.provenance.update({"keys": name, "fingerprint": identity.fingerprint,
                                   "subject": identity.subject})  # fmt: skip
        project.save()
    return identity


_NOTICES: list[Callable[[str], None]] = []


def on_notice(callback: Callable[[str], None]) -> None:
    """Have ``callback`` told when keys are made on first use (the CLI prints it)."""
    _NOTICES.append(callback)


def credentials_for(project: Project | None = None) -> Credentials:
    """The credentials a command signs with: the project's recorded certificate, else this
    account's default key set (made on first use, then recorded in the project)."""
    if project is not None and project.provenance.get("keys"):
        identity = project_identity(project)
    else:
        identity, created = _default_identity()
        if created:
            for tell in _NOTICES:
                tell(f"made a local Content Credentials signing certificate in {key_set_dir(DEFAULT_NAME)} "
                     "(for delivery, bring your organisation's: moviola keys import)")  # fmt: skip
    tsa = project.provenance.get("tsa_url") if project is not None else None
    record = None
    if project is not None and not project.provenance.get("keys"):
        # the project learns which certificate signs it with its first signed file, not
        # before: a command refused before writing anything leaves the project as it was
        record = lambda: _record_default(project)  # noqa: E731
    return Credentials(identity, tsa_url=tsa, on_first_sign=record)


def _record_default(project: Project) -> None:
    from ..core import open_project

    fresh = open_project(project.root)  # the manifest as it is now, not as it was opened
    if not fresh.provenance.get("keys"):
        use_keys(fresh, DEFAULT_NAME)
    project.provenance.update(fresh.provenance)


class Stamp:
    """Credentials and the claim a whole command's outputs share (its command, project,
    documents, consent), handed down to the writers, which add what is theirs."""

    def __init__(self, credentials: Credentials, claim: Claim) -> None:
        self.credentials = credentials
        self.claim = claim

    def but(self, **changes: Any) -> Stamp:
        """The same credentials, with the base claim changed (a stage's own documents)."""
        return Stamp(self.credentials, self.claim.but(**changes))

    def claim_for(self, what: str, **changes: Any) -> Claim:
        details = changes.pop("details", {})
        return self.claim.but(what=what, **changes).with_details(**details)

    def write_bytes(self, target: Path, data: bytes, what: str, **changes: Any) -> Path:
        return self.credentials.write_bytes(target, data, self.claim_for(what, **changes))

    def finisher(self, target: Path, what: str, **changes: Any) -> Callable[[Path], None]:
        return self.credentials.finisher(target, self.claim_for(what, **changes))


def write_signed(target: Path, data: bytes, stamp: Stamp | None, what: str, **changes: Any) -> Path:
    """Write ``data`` to ``target`` atomically: signed when a stamp is given (every
    command gives one), plain otherwise (a library caller that asked for none)."""
    if stamp is None:
        return write_bytes_atomic(target, data)
    return stamp.write_bytes(target, data, what, **changes)


def finisher(target: Path, stamp: Stamp | None, what: str, **changes: Any) -> Callable[[Path], None] | None:
    """The signing step for an atomic writer of ``target``, or None without a stamp."""
    return None if stamp is None else stamp.finisher(target, what, **changes)

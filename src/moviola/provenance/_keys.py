"""Signing keys for Content Credentials: a local CA, a signing certificate, trust.

C2PA signs with an X.509 certificate whose key usage is digitalSignature and
whose extended key usage is one the C2PA trust model accepts (here
``emailProtection``, which c2pa-rs and the C2PA conformance tools both accept, with
``documentSigning`` beside it); a self-signed certificate is refused by
validators, so ``moviola keys new`` makes a small local CA and a signing
certificate under it (ES256, P-256). The keys live in this account's
configuration folder, never in a project (a crew shares the project folder), and
the private keys are readable by their owner only. A production with a
certificate from a real CA brings it with ``moviola keys import``.

Trust is this account's list of CA certificates: the local CAs made here, and any
added with ``moviola keys trust``. A file signed under one of them verifies as
*trusted*; any other intact signature as *valid but untrusted*.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shlex
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import InputError, ProvenanceError, config_dir

KEYS_FOLDER = "c2pa"
DEFAULT_NAME = "default"
CHAIN_FILE = "signer.pem"  # the signing certificate, then the CAs above it
KEY_FILE = "signer.key"
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"
TRUST_FOLDER = "trusted"
CA_DAYS = 10 * 365
SIGNER_DAYS = 2 * 365
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# extended key usages a C2PA claim signer may carry (C2PA 2.x, section 14.5.1)
EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4"
DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"
C2PA_EKUS = {
    EMAIL_PROTECTION: "emailProtection",
    DOCUMENT_SIGNING: "documentSigning",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "1.3.6.1.4.1.311.76.59.1.9": "Microsoft C2PA signing",
    "1.3.6.1.4.1.62558.2.1": "c2pa-kp-claimSigning",
}


@dataclass(frozen=True)
class SigningIdentity:
    """A signing certificate chain and its private key, checked and ready to sign."""

    chain_pem: bytes  # the signer's certificate first, then its CAs
    key_pem: bytes
    alg: str  # es256, es384, es512, ps256, ed25519
    subject: str
    issuer: str
    fingerprint: str  # sha256 of the signer's certificate (DER), hex
    not_after: dt.datetime
    path: Path | None = None  # the chain file, when it came from one

    def describe(self) -> str:
        return f"{self.subject} (issued by {self.issuer}, valid until {self.not_after:%Y-%m-%d})"


def keys_root() -> Path:
    """``<config>/c2pa``: one folder per named key set, and ``trusted/`` CAs."""
    return config_dir() / KEYS_FOLDER


def key_set_dir(name: str = DEFAULT_NAME) -> Path:
    if not _NAME.fullmatch(name):
        raise InputError(f"a key set's name is one file-name part (letters, digits, '.', '_', '-'); "
                         f"got {name!r}")  # fmt: skip
    return keys_root() / name


# -- making keys ----------------------------------------------------------------------------


def _x509() -> Any:
    from cryptography import x509

    return x509


def _name(common: str, organisation: str) -> Any:
    x509 = _x509()
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)])  # fmt: skip


def _usage(**on: bool) -> Any:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")  # fmt: skip
    return _x509().KeyUsage(**{n: on.get(n, False) for n in names})


def make_key_set(organisation: str, common_name: str, *, days: int = SIGNER_DAYS,
                 now: dt.datetime | None = None) -> dict[str, bytes]:
    """A local CA and a signing certificate under it, as PEM files (not yet written).

    ES256 on P-256: the algorithm every C2PA validator supports. The CA may sign only
    end-entity certificates (path length 0); the signer is not a CA, signs only
    (digitalSignature), for emailProtection and documentSigning.
    """
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ObjectIdentifier

    if days < 1:
        raise InputError(f"a certificate must be valid for at least a day, not {days}")
    now = now or dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{organisation} Moviola local CA", organisation)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=max(CA_DAYS, days + 1)))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))  # fmt: skip
    signer = (x509.CertificateBuilder().subject_name(_name(common_name, organisation))
              .issuer_name(ca_name).public_key(key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5))
              .not_valid_after(now + dt.timedelta(days=days))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(_usage(digital_signature=True), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ObjectIdentifier(EMAIL_PROTECTION),
                                                    ObjectIdentifier(DOCUMENT_SIGNING)]), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))  # fmt: skip
    pem = serialization.Encoding.PEM

    def private(k: Any) -> bytes:
        return bytes(k.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    return {CHAIN_FILE: signer.public_bytes(pem) + ca.public_bytes(pem), KEY_FILE: private(key),
            CA_FILE: ca.public_bytes(pem), CA_KEY_FILE: private(ca_key)}  # fmt: skip


def new_keys(name: str = DEFAULT_NAME, *, organisation: str | None = None, common_name: str | None = None,
             days: int = SIGNER_DAYS, force: bool = False) -> SigningIdentity:
    """Make and store a key set under ``<config>/c2pa/NAME``; an existing set is never
    replaced unless ``force`` (then it is moved aside, not deleted)."""
    folder = key_set_dir(name)
    user = _user()
    files = make_key_set(organisation or f"{user} (Moviola)", common_name or f"{user} Moviola signer",
                         days=days)  # fmt: skip
    if (folder / CHAIN_FILE).exists() or (folder / KEY_FILE).exists():
        if not force:
            raise ProvenanceError("a signing key set is already here; pass --force to set it aside and "
                                  "make a new one (files signed with it stay verifiable)", folder)  # fmt: skip
        _set_aside(folder)
    _write_private_folder(folder, files)
    return load_key_set(name)


def import_keys(chain: Path, key: Path, name: str, *, force: bool = False) -> SigningIdentity:
    """Bring a certificate chain and key from a real CA into ``<config>/c2pa/NAME``,
    after checking they can sign C2PA manifests."""
    identity = load_identity(chain, key, check_mode=False)
    folder = key_set_dir(name)
    if (folder / CHAIN_FILE).exists() and not force:
        raise ProvenanceError("a signing key set is already here; pass --force to set it aside", folder)
    if (folder / CHAIN_FILE).exists():
        _set_aside(folder)
    _write_private_folder(folder, {CHAIN_FILE: identity.chain_pem, KEY_FILE: identity.key_pem})
    return load_key_set(name)


def _user() -> str:
    with contextlib.suppress(Exception):
        import getpass

        return getpass.getuser()
    return "moviola"


def _set_aside(folder: Path) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    folder.rename(folder.with_name(f"{folder.name}.replaced-{stamp}"))


def _write_private_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Write the key set into a fresh 0700 folder, all files 0600, then rename it into place."""
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))  # 0700
    except OSError as exc:
        raise ProvenanceError(f"cannot make the signing keys ({exc.strerror}); set MOVIOLA_CONFIG to "
                              "a private folder", folder) from exc  # fmt: skip
    try:
        for file, data in files.items():
            fd = os.open(tmp / file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.rename(tmp, folder)  # fails if another moviola made one meanwhile: theirs is kept
    except OSError as exc:
        for leftover in tmp.glob("*"):
            leftover.unlink()
        tmp.rmdir()
        raise ProvenanceError(f"cannot store the signing keys: {exc.strerror or exc}", folder) from exc


# -- loading and checking -------------------------------------------------------------------


def _read(path: Path, what: str, *, private: bool) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ProvenanceError(f"the {what} is missing; make keys with 'moviola keys new' or bring "
                              "yours with 'moviola keys import'", path) from None  # fmt: skip
    except OSError as exc:
        raise ProvenanceError(f"cannot read the {what}: {exc.strerror}", path) from exc
    if not stat.S_ISREG(st.st_mode):
        raise ProvenanceError(f"the {what} is not a file", path)
    if private and st.st_mode & 0o077:
        raise ProvenanceError(f"the {what} can be read by others (mode {stat.S_IMODE(st.st_mode):o}); "
                              f"chmod 600 {shlex.quote(str(path))}", path)  # fmt: skip
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProvenanceError(f"cannot read the {what}: {exc.strerror}", path) from exc


def load_key_set(name: str = DEFAULT_NAME) -> SigningIdentity:
    """The key set ``name`` in this account's folder, checked (see :func:`load_identity`)."""
    folder = key_set_dir(name)
    return load_identity(folder / CHAIN_FILE, folder / KEY_FILE)


def load_identity(chain: Path, key: Path, *, check_mode: bool = True,
                  now: dt.datetime | None = None) -> SigningIdentity:
    """The signing identity in ``chain`` + ``key``, refused (naming the file and why) when
    the certificate is expired or not yet valid, a CA, self-signed, without the key
    usages C2PA requires, or not the key's own."""
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    chain_pem = _read(chain, "signing certificate", private=False)
    key_pem = _read(key, "signing key", private=check_mode)
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise ProvenanceError(f"not a PEM certificate chain: {exc}", chain) from exc
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError as exc:
        raise ProvenanceError("the signing key is encrypted; give an unencrypted PKCS#8 key", key) from exc
    except ValueError as exc:
        raise ProvenanceError(f"not a PEM private key: {exc}", key) from exc
    cert = certs[0]
    now = now or dt.datetime.now(dt.UTC)
    if now > cert.not_valid_after_utc:
        raise ProvenanceError(f"the signing certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}; "
                              "make a new one with 'moviola keys new --force'", chain)  # fmt: skip
    if now < cert.not_valid_before_utc:
        raise ProvenanceError(f"the signing certificate is not valid before "
                              f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC", chain)  # fmt: skip
    _check_usage(cert, chain)
    if len(certs) < 2 or cert.issuer == cert.subject:
        raise ProvenanceError("the signing certificate is self-signed or its chain has no CA; C2PA "
                              "validators refuse that (give the chain: signer first, then its CA)",
                              chain)  # fmt: skip
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if private.public_key().public_bytes(der, pub) != cert.public_key().public_bytes(der, pub):
        raise ProvenanceError(f"this key does not belong to the certificate {chain}", key)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        alg = algs.get(private.curve.name)
        if alg is None:
            raise ProvenanceError(f"the curve {private.curve.name} cannot sign C2PA (use P-256)", key)
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        alg = "ed25519"
    elif isinstance(private, rsa.RSAPrivateKey):
        alg = "ps256"
    else:
        raise ProvenanceError(f"a {type(private).__name__} cannot sign C2PA (use EC P-256)", key)
    return SigningIdentity(chain_pem, key_pem, alg, cert.subject.rfc4514_string(),
                           cert.issuer.rfc4514_string(), cert.fingerprint(hashes.SHA256()).hex(),
                           cert.not_valid_after_utc, chain)  # fmt: skip


def _check_usage(cert: Any, path: Path) -> None:
    x509 = _x509()
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if basic.ca:
            raise ProvenanceError("the signing certificate is a CA certificate; sign with the end-entity "
                                  "certificate it issued", path)  # fmt: skip
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.digital_signature:
        raise ProvenanceError("the signing certificate lacks the digitalSignature key usage C2PA "
                              "requires", path)  # fmt: skip
    try:
        ekus = {oid.dotted_string for oid in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound:
        ekus = set()
    if not ekus & set(C2PA_EKUS):
        raise ProvenanceError("the signing certificate has no extended key usage C2PA accepts (one of "
                              + ", ".join(sorted(set(C2PA_EKUS.values()))) + ")", path)


def fingerprint_of(chain: Path) -> str:
    """sha256 (hex) of the first certificate in a PEM chain file."""
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes

    certs = x509.load_pem_x509_certificates(_read(chain, "signing certificate", private=False))
    return str(certs[0].fingerprint(hashes.SHA256()).hex())


# -- trust ----------------------------------------------------------------------------------


def trust_anchors() -> bytes:
    """Every CA this account trusts (its own local CAs and those added on purpose), as PEM."""
    root = keys_root()
    found: list[bytes] = []
    for pem in sorted([*root.glob(f"*/{CA_FILE}"), *root.glob(f"{TRUST_FOLDER}/*.pem")]):
        with contextlib.suppress(OSError):
            found.append(pem.read_bytes().strip() + b"\n")
    return b"".join(found)


def trust_ca(pem_file: Path, name: str | None = None) -> Path:
    """Add a CA certificate to this account's trust list (checked to be a CA first)."""
    x509 = _x509()
    try:
        data = pem_file.read_bytes()
        certs = x509.load_pem_x509_certificates(data)
    except OSError as exc:
        raise InputError(f"cannot read the certificate: {exc.strerror}", pem_file) from exc
    except ValueError as exc:
        raise InputError(f"not a PEM certificate: {exc}", pem_file) from exc
    ca = certs[-1]
    try:
        is_ca = ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise InputError("not a CA certificate (only a CA can be trusted to vouch for signers)", pem_file)
    from ..core import write_bytes_atomic

    stem = name or hashlib.sha256(ca.public_bytes(_pem())).hexdigest()[:16]
    return write_bytes_atomic(keys_root() / TRUST_FOLDER / f"{key_set_dir(stem).name}.pem", ca.public_bytes(_pem()))


def _pem() -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.PEM

"""Content Credentials (C2PA) on everything Moviola makes: what was generated, from what,
by which model, under which consent; signed offline with this account's certificate."""

from ._claim import IPTC, SOURCE_TYPES, Claim, ConsentUse, Ingredient, ModelUse, manifest
from ._keys import (
    DEFAULT_NAME,
    SigningIdentity,
    import_keys,
    key_set_dir,
    keys_root,
    load_identity,
    make_key_set,
    new_keys,
    trust_anchors,
    trust_ca,
)
from ._sign import (
    Credentials,
    credentials_for,
    mime_of,
    on_notice,
    project_identity,
    sidecar_of,
    use_keys,
)
from ._verify import BROKEN, TRUSTED, UNTRUSTED, Verification, describe, verify

__all__ = [
    "BROKEN",
    "DEFAULT_NAME",
    "IPTC",
    "SOURCE_TYPES",
    "TRUSTED",
    "UNTRUSTED",
    "Claim",
    "ConsentUse",
    "Credentials",
    "Ingredient",
    "ModelUse",
    "SigningIdentity",
    "Verification",
    "credentials_for",
    "describe",
    "import_keys",
    "key_set_dir",
    "keys_root",
    "load_identity",
    "make_key_set",
    "manifest",
    "mime_of",
    "new_keys",
    "on_notice",
    "project_identity",
    "sidecar_of",
    "trust_anchors",
    "trust_ca",
    "use_keys",
    "verify",
]

"""Performers' consent to likeness edits: signed records, the keys that sign them, and the
check every likeness edit makes before it touches a pixel.

A record (``Consent.2``) names the performer, its scope (the project, or shots), when it
was signed and when it expires, and who signed it; it is signed with Ed25519 by this
account's key (kept in ``core.config_dir()``), written once and never edited.
``check_consent`` refuses an edit the record does not allow (``ConsentError``, exit 6)
and returns the metadata rendered output carries.
"""

from ._keys import (
    KEY_FILE,
    KEYS_SCHEMA,
    TRUST_FILE,
    SigningKey,
    public_key_of,
    signing_key,
    trust_key,
    trusted_keys,
)
from ._records import (
    CONSENT_SCHEMA,
    WHOLE_PROJECT,
    ConsentRecord,
    ConsentSignature,
    key_id,
    new_consent,
    parse_scope,
    read_consent,
    same_person,
)
from ._signing import check_consent, check_consent_for, verify_consent, write_consent
from ._workflow import PROJECT_FOLDER, issue_consent, record_path

__all__ = [
    "CONSENT_SCHEMA",
    "KEYS_SCHEMA",
    "KEY_FILE",
    "PROJECT_FOLDER",
    "TRUST_FILE",
    "WHOLE_PROJECT",
    "ConsentRecord",
    "ConsentSignature",
    "SigningKey",
    "check_consent",
    "check_consent_for",
    "issue_consent",
    "key_id",
    "new_consent",
    "parse_scope",
    "public_key_of",
    "read_consent",
    "record_path",
    "same_person",
    "signing_key",
    "trust_key",
    "trusted_keys",
    "verify_consent",
    "write_consent",
]

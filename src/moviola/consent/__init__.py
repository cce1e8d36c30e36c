"""Performers' consent to likeness edits: signed records, the keys that sign them, and the
check every likeness edit makes before it touches a pixel.

A record (``Consent.3``) names the performer, the intended use in words, its scope (the project, or shots), when it
was signed and when it expires, and who signed it; it is signed with Ed25519 by this
account's key (kept in ``core.config_dir()``), written once and never edited.
``check_consent`` refuses an edit the record does not allow (``ConsentError``, exit 6)
and returns the metadata rendered output carries. ``revoke_consent`` ends a record (every
new render under it is refused); ``audit_consent`` lists every file made under each
record, read from the files' Content Credentials.
"""

from ._audit import AuditedRecord, audit_consent
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
    intended_use,
    key_id,
    new_consent,
    parse_scope,
    read_consent,
    same_person,
)
from ._revocation import REVOCATION_SCHEMA, revocation_of, revoke_consent
from ._signing import check_consent, check_consent_for, verify_consent, write_consent
from ._workflow import PROJECT_FOLDER, issue_consent, record_path

__all__ = [
    "CONSENT_SCHEMA",
    "KEYS_SCHEMA",
    "KEY_FILE",
    "PROJECT_FOLDER",
    "REVOCATION_SCHEMA",
    "TRUST_FILE",
    "WHOLE_PROJECT",
    "AuditedRecord",
    "ConsentRecord",
    "ConsentSignature",
    "SigningKey",
    "audit_consent",
    "check_consent",
    "check_consent_for",
    "intended_use",
    "issue_consent",
    "key_id",
    "new_consent",
    "parse_scope",
    "public_key_of",
    "read_consent",
    "record_path",
    "revocation_of",
    "revoke_consent",
    "same_person",
    "signing_key",
    "trust_key",
    "trusted_keys",
    "verify_consent",
    "write_consent",
]

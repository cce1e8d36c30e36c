"""``moviola consent new`` on a project: where a record is kept, and issuing it.

A project keeps its consent records in ``consent/``, named after the performer and the
signing date; a record is never written over an existing file, and this account's
signing key is made on first use, before the record is signed with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..core import InputError, Project
from ._keys import SigningKey, signing_key
from ._records import ConsentRecord
from ._signing import write_consent

PROJECT_FOLDER = "consent"  # a project's consent records (and the copies a de-aging render made)


def record_path(project: Project, record: ConsentRecord) -> Path:
    """Where ``project`` keeps ``record``: ``consent/<performer>.<signed on>.json``."""
    slug = re.sub(r"[^a-z0-9]+", "-", record.performer.lower()).strip("-") or "performer"
    return project.root / PROJECT_FOLDER / f"{slug}.{record.signed_on}.json"


def issue_consent(record: ConsentRecord, out: Path | None = None, *, project: Project | None = None,
                  on_new_key: Callable[[SigningKey], None] | None = None) -> tuple[Path, SigningKey]:  # fmt: skip
    """Sign ``record`` with this account's key and write it to ``out`` (by default into
    ``project``); returns where it went and the key. A file already there is refused
    before a key is made for a record that could not be written; ``on_new_key`` hears of
    a key made by this call, before the record is signed with it."""
    if out is None:
        if project is None:
            raise InputError("a consent record needs a file to go to, or a project to keep it")
        out = record_path(project, record)
    if out.exists():
        raise InputError("a consent record is already there; records are not edited in place, "
                         "write a new file", out)  # fmt: skip
    key = signing_key()
    if key.created and on_new_key is not None:
        on_new_key(key)
    return write_consent(out, record, key=key), key


def revoke_in_project(record: Path, reason: str, project: Project | None = None) -> list[Path]:
    """``moviola consent revoke``: the record revoked, and with a project, beside every copy of
    it in the project's ``consent/`` folder too, so the revocation travels with the project."""
    from ._records import read_consent
    from ._revocation import copies_in, revoke_consent

    _, digest = read_consent(record)
    copies = [] if project is None else [c for c in copies_in(project.root / PROJECT_FOLDER, digest)
                                         if c.resolve() != Path(record).resolve()]  # fmt: skip
    return revoke_consent(record, reason, copies=copies)

"""``moviola consent audit``: every file made under each consent record, read from the files.

The audit trusts nothing but the files themselves: it reads the Content Credentials of
every picture and movie in the project (``moviola.provenance``) and groups them by the
consent record each cites (its sha256). Records kept in the project's ``consent/``
folder are listed even when nothing was made under them; a file citing a record the
project does not hold is listed under that record's hash; a file whose credentials do
not hold is marked, since what it says cannot be taken as proof.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core import DocumentError, Project
from ._records import read_consent
from ._revocation import is_revocation, revocation_of
from ._workflow import PROJECT_FOLDER


@dataclass
class AuditedRecord:
    """One consent record and the files made under it."""

    sha256: str
    performer: str = ""
    use: str = ""
    scope: tuple[str, ...] = ()
    expires: str = ""
    record: str | None = None  # its file in the project, if the project holds it
    revoked: str | None = None  # "YYYY-MM-DD: reason"
    files: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # files whose credentials do not hold

    def to_json(self) -> dict[str, Any]:
        return {"record_sha256": self.sha256, "performer": self.performer, "use": self.use,
                "scope": list(self.scope), "expires": self.expires, "record": self.record,
                "revoked": self.revoked, "files": self.files, "broken": self.broken}  # fmt: skip


def audit_consent(project: Project, *, progress: Callable[[int, int], None] | None = None) -> list[AuditedRecord]:
    """Each record (the project's, and any a file cites) with the files made under it."""
    from .. import provenance

    records: dict[str, AuditedRecord] = {}
    folder = project.root / PROJECT_FOLDER
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if is_revocation(path):
            continue
        try:
            rec, digest = read_consent(path)
        except DocumentError:
            continue  # not a record (a note, a damaged file): consent check names those
        revoked = revocation_of(path, digest)
        records[digest] = AuditedRecord(
            digest, rec.performer, rec.use, rec.scope, rec.expires, path.relative_to(project.root).as_posix(),
            f"{revoked.get('revoked_on')}: {revoked.get('reason', '')}" if revoked else None)  # fmt: skip
    for v in provenance.read_all(project.root, progress=progress):
        consent = v.consent
        if not consent:
            continue
        digest = str(consent.get("record_sha256", ""))
        entry = records.get(digest)
        if entry is None:
            entry = records[digest] = AuditedRecord(
                digest, str(consent.get("performer", "")), str(consent.get("use", "")),
                tuple(consent.get("scope", [])), str(consent.get("expires", "")))  # fmt: skip
        rel = v.path.relative_to(project.root).as_posix()
        (entry.files if v.ok else entry.broken).append(rel)
    return sorted(records.values(), key=lambda r: (r.performer.casefold(), r.sha256))

"""``moviola consent ...``: recording and checking a performer's consent to likeness edits,
and the keys records are signed with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..core import open_project

consent_app = typer.Typer(help="Performers' consent to likeness edits: record (signed), check, keys.",
                          no_args_is_help=True)


def _sequences(files: list[str]) -> list[str]:
    """Files as a person reads a listing: a numbered frame sequence on one line."""
    import re

    groups: dict[str, list[int]] = {}
    order: list[str] = []
    for f in files:
        m = re.fullmatch(r"(.*\.)(\d{4,})(\.[A-Za-z0-9]+)", f)
        key = f"{m.group(1)}{'#' * len(m.group(2))}{m.group(3)}" if m else f
        if key not in groups:
            order.append(key)
            groups[key] = []
        if m:
            groups[key].append(int(m.group(2)))
    return [f"{k} ({min(groups[k])}-{max(groups[k])}, {len(groups[k])} frames)" if len(groups[k]) > 1
            else (k if not groups[k] else k.replace("#" * k.count("#"), f"{groups[k][0]:0{k.count('#')}d}"))
            for k in order]  # fmt: skip


def register(app: typer.Typer, out: Any, print_json: Any) -> None:
    """Attach ``consent`` to the main app (called by the cli package)."""
    app.add_typer(consent_app, name="consent")

    @consent_app.command("new")
    def new(
        performer: Annotated[str, typer.Option(help="The performer whose likeness may be edited.")],
        scope: Annotated[str, typer.Option(help="'project' (all of it) or shot ids: 12A,12B.")],
        expires: Annotated[str, typer.Option(help="Last day it is valid, YYYY-MM-DD.")],
        signed_by: Annotated[str, typer.Option(help="Who signed it (the performer or their agent).")],
        use: Annotated[str, typer.Option(help="The intended use in words, as the agreement says: "
                                              "'de-age by 20-30 years for flashback scenes 7 and 7A'.")],
        out_file: Annotated[Path | None, typer.Option("--out", help="Where to write the record (JSON).")] = None,
        project: Annotated[Path | None, typer.Option(help="Keep it in this project (consent/).")] = None,
        signed_on: Annotated[str | None, typer.Option(help="Signing date, YYYY-MM-DD (default today).")] = None,
        notes: Annotated[str, typer.Option(help="Anything the record should carry.")] = "",
    ) -> None:
        """Write a consent record, signed with your key (never over an existing one)."""
        from ..consent import issue_consent, new_consent

        proj = open_project(project) if project is not None else None
        record = new_consent(performer, scope, expires, signed_by, use=use, signed_on=signed_on,
                             project=proj.name if proj else None, notes=notes)  # fmt: skip
        if out_file is None and proj is None:
            raise typer.BadParameter("give --out FILE (or --project DIR)")

        def made(key: Any) -> None:
            out.print(f"Made your consent signing key {key.key_id}: {escape(str(key.path))} (keep it private; "
                      "'moviola consent key' prints the public half for whoever checks your records)")  # fmt: skip

        path, key = issue_consent(record, out_file, project=proj, on_new_key=made)
        out.print(f"Consent of {escape(record.performer)} for {escape(', '.join(record.scope))} until "
                  f"{record.expires}, signed by {escape(record.signed_by)} with key {key.key_id}: "
                  f"{escape(str(path))}")  # fmt: skip

    @consent_app.command("revoke")
    def revoke(
        record_file: Annotated[Path, typer.Argument(help="The consent record to end.")],
        reason: Annotated[str, typer.Option(help="Why (the performer withdrew, the agreement ended...).")],
        project: Annotated[Path | None, typer.Option(help="Also beside the project's copies of the record, so "
                                                          "the revocation travels with the project.")] = None,
    ) -> None:
        """End a consent record: every new render under it is refused from now on (files made
        before keep their credentials; 'moviola consent audit' lists them)."""
        from ..consent import read_consent
        from ..consent._workflow import revoke_in_project

        written = revoke_in_project(record_file, reason, open_project(project) if project is not None else None)
        record, _ = read_consent(record_file)
        out.print(f"Revoked the consent of {escape(record.performer)} ({escape(record.use or 'no use named')}): "
                  + ", ".join(escape(str(p)) for p in written))  # fmt: skip

    @consent_app.command("audit")
    def audit(
        project: Annotated[Path, typer.Argument(help="The project.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Every file made under each consent record, read from the files' Content Credentials."""
        from ..consent import audit_consent

        records = audit_consent(open_project(project))
        if as_json:
            print_json({"project": str(project), "records": [r.to_json() for r in records]})
            return
        if not records:
            out.print("No consent records in the project and no file made under one.")
        for r in records:
            state = f"REVOKED {r.revoked}" if r.revoked else f"until {r.expires}"
            where = r.record or "not in this project"
            out.print(f"[bold]{escape(r.performer)}[/] — {escape(r.use or 'no use named')} ({escape(', '.join(r.scope))}; "
                      f"{escape(state)}) record {escape(where)} sha256 {r.sha256[:16]}…")  # fmt: skip
            out.print(f"  {len(r.files)} file(s) made under it" + (":" if r.files else ""))
            for line in _sequences(r.files):
                out.print(f"    {escape(line)}")
            for f in r.broken:
                out.print(f"    {escape(f)}  [red](credentials BROKEN: not proof)[/]")

    @consent_app.command("check")
    def check(
        record_file: Annotated[Path, typer.Argument(help="A consent record.")],
        performer: Annotated[str | None, typer.Option(help="The performer to be edited.")] = None,
        shot: Annotated[str | None, typer.Option(help="The shot to be edited.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the metadata it grants as JSON.")] = False,
    ) -> None:
        """Say whether the record allows the edit (exit 6 and why, if not): signed, by a key
        you trust, unchanged since, in date, for this performer and shot."""
        from ..consent import check_consent

        meta = check_consent(record_file, performer=performer, shot=shot)
        if as_json:
            print_json(meta)
            return
        out.print(f"valid: {escape(meta['moviola_consent_performer'])}, until {meta['moviola_consent_expires']}, "
                  f"signed with key {meta['moviola_consent_key_id']}")  # fmt: skip

    @consent_app.command("key")
    def key() -> None:
        """Print your public signing key (made on first use): whoever checks your records on another
        account adds it with 'moviola consent trust KEY --name NAME'."""
        from ..consent import signing_key

        print(signing_key().public)  # alone on its line, for: moviola consent trust "$(...)" --name NAME

    @consent_app.command("trust")
    def trust(
        public_key: Annotated[str, typer.Argument(help="A public key as 'moviola consent key' prints it.")],
        name: Annotated[str, typer.Option(help="Whose key it is (shown when a record is checked).")],
    ) -> None:
        """Accept consent records signed with another person's key (kept for your account only)."""
        from ..consent import key_id, trust_key

        path = trust_key(public_key, name)
        out.print(f"trusted key {key_id(public_key.strip())} ({escape(' '.join(name.split()))}): {escape(str(path))}")

"""``moviola keys ...`` and ``moviola provenance ...``: the certificate Moviola signs its
files with, and reading a file's Content Credentials back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..core import ProvenanceError, open_project

keys_app = typer.Typer(help="The certificate that signs Moviola's Content Credentials.", no_args_is_help=True)
provenance_app = typer.Typer(help="Content Credentials (C2PA) on Moviola's files: verify.",
                             no_args_is_help=True)  # fmt: skip


def register(app: typer.Typer, out: Any, print_json: Any) -> None:
    """Attach ``keys`` and ``provenance`` to the main app (called by the cli package)."""
    from .. import provenance as pv

    app.add_typer(keys_app, name="keys")
    app.add_typer(provenance_app, name="provenance")
    # said to a person at a terminal; a script's stderr stays clean (moviola keys show tells it)
    pv.on_notice(lambda text: print(text, file=sys.stderr) if sys.stderr.isatty() else None)

    def _show(identity: pv.SigningIdentity, what: str) -> None:
        out.print(f"{what}: {escape(identity.describe())}")
        out.print(f"  certificate: {escape(str(identity.path))}  sha256 {identity.fingerprint[:32]}…")

    @keys_app.command("new")
    def new(
        name: Annotated[str, typer.Option(help="Name of the key set (a folder in your Moviola config).")] = pv.DEFAULT_NAME,
        organisation: Annotated[str | None, typer.Option(help="Organisation named in the certificates.")] = None,
        common_name: Annotated[str | None, typer.Option(help="The signer's name in its certificate.")] = None,
        days: Annotated[int, typer.Option(help="Days the signing certificate is valid.")] = 730,
        force: Annotated[bool, typer.Option(help="Set an existing key set aside and make a new one.")] = False,
        project: Annotated[Path | None, typer.Option(help="Record it as the signer of this project.")] = None,
    ) -> None:
        """Make a local CA and an ES256 signing certificate under it, outside any project."""
        proj = open_project(project) if project is not None else None
        identity = pv.new_keys(name, organisation=organisation, common_name=common_name, days=days, force=force)
        _show(identity, "Made the signing certificate")
        out.print(f"  its CA (trusted by this account): {escape(str(pv.key_set_dir(name) / 'ca.pem'))}")
        if proj is not None:
            pv.use_keys(proj, name)
            out.print(f"  {escape(str(proj.root))} now signs with it")

    @keys_app.command("import")
    def import_(
        cert: Annotated[Path, typer.Option(help="PEM chain: the signing certificate, then its CAs.")],
        key: Annotated[Path, typer.Option(help="Its private key (PEM, unencrypted PKCS#8).")],
        name: Annotated[str, typer.Option(help="Name of the key set to store it as.")] = pv.DEFAULT_NAME,
        force: Annotated[bool, typer.Option(help="Set an existing key set of that name aside.")] = False,
    ) -> None:
        """Bring a certificate from your organisation's CA (checked before it is stored)."""
        _show(pv.import_keys(cert, key, name, force=force), "Stored the signing certificate")

    @keys_app.command("use")
    def use(
        project: Annotated[Path, typer.Argument(help="The project.")],
        name: Annotated[str, typer.Option(help="The key set that signs its files from now on.")] = pv.DEFAULT_NAME,
    ) -> None:
        """Record which certificate signs this project's files."""
        identity = pv.use_keys(open_project(project), name)
        _show(identity, f"{escape(str(project))} signs with")

    @keys_app.command("show")
    def show(
        project: Annotated[Path | None, typer.Option(help="Show the certificate this project signs with.")] = None,
        name: Annotated[str, typer.Option(help="The key set.")] = pv.DEFAULT_NAME,
    ) -> None:
        """The signing certificate (of a key set, or of a project)."""
        if project is not None:
            identity = pv.project_identity(open_project(project))
        else:
            identity = pv.load_key_set(name)
        _show(identity, "Signing certificate")

    @keys_app.command("trust")
    def trust(
        ca: Annotated[Path, typer.Argument(help="A CA certificate (PEM) whose signers you trust.")],
        name: Annotated[str | None, typer.Option(help="A name for it in the trust list.")] = None,
    ) -> None:
        """Trust files signed under another CA (a colleague's, a vendor's)."""
        out.print(f"Trusted: {escape(str(pv.trust_ca(ca, name)))}")

    @provenance_app.command("verify")
    def verify(
        files: Annotated[list[Path], typer.Argument(help="Files to check (PNG, JPEG, MP4, PDF; EXR with its .c2pa).")],
        trust: Annotated[Path | None, typer.Option(help="Trust only this CA (PEM), not this account's list.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Print what each file's Content Credentials say and whether they hold: trusted,
        valid-but-untrusted or broken (exit 8 when any is broken or missing)."""
        anchors = trust.read_bytes() if trust is not None else None
        results: list[Any] = []
        failed: list[str] = []
        for file in files:
            try:
                v = pv.verify(file, anchors=anchors)
            except ProvenanceError as exc:
                failed.append(str(exc))
                results.append({"file": str(file), "state": "missing", "problems": [exc.message]})
                if not as_json:
                    out.print(f"{escape(str(file))}\n  signature: MISSING — {escape(exc.message)}")
                continue
            results.append(v.to_json())
            if not v.ok:
                failed.append(f"{file}: {v.state}")
            if not as_json:
                for line in pv.describe(v):
                    out.print(escape(line))
        if as_json:
            print_json(results if len(results) > 1 else results[0])
        if failed:
            raise ProvenanceError(f"{len(failed)} of {len(files)} file(s) without valid Content Credentials: "
                                  + "; ".join(failed[:3]))

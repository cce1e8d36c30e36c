"""``moviola ads ...``: campaigns, creatives cut from a production, and evaluating policies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

ads_app = typer.Typer(help="Ads on the streaming service: campaigns, creatives, VAST/VMAP, the bandit, "
                           "off-policy evaluation.", no_args_is_help=True)  # fmt: skip
campaign_app = typer.Typer(help="Campaigns: add from a campaign file, list, pause, resume.", no_args_is_help=True)
ads_app.add_typer(campaign_app, name="campaign")

ServiceArg = Annotated[Path, typer.Argument(help="The service folder.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def register(app: typer.Typer, out: Any, print_json: Any) -> None:
    """Attach ``ads`` to the main app (called by the cli package)."""
    app.add_typer(ads_app, name="ads")

    @campaign_app.command("add")
    def add_cmd(
        service: ServiceArg,
        file: Annotated[Path, typer.Argument(help="The campaign file (TOML; see docs/ads.md).", show_default=False)],
        as_json: JsonOpt = False,
    ) -> None:
        """Add or update a campaign and copy its creatives into the service (all or nothing;
        the same file again changes nothing)."""
        from ..ads import add_campaign
        from ..stream import open_service

        done = add_campaign(open_service(service), file)
        if as_json:
            print_json({"campaign": done.campaign_id, "file": done.file, "creatives": list(done.creatives),
                        "new": done.new})  # fmt: skip
        elif done.new:
            out.print(f"Added campaign [bold]{escape(done.campaign_id)}[/] with {len(done.creatives)} "
                      f"creative(s): {escape(', '.join(done.creatives))}")  # fmt: skip
        else:
            out.print(f"Unchanged: {escape(done.file)} was added before")

    @campaign_app.command("list")
    def list_cmd(service: ServiceArg, as_json: JsonOpt = False) -> None:
        """Every campaign: flight, budget, pacing, caps, creatives and what was served."""
        from ..ads import Cap, list_campaigns
        from ..stream import open_service

        found = list_campaigns(open_service(service))
        if as_json:
            print_json({"campaigns": found})
            return
        if not found:
            out.print("No campaigns yet: moviola ads campaign add SERVICE FILE.toml")
            return
        table = Table("campaign", "advertiser", "flight", "served / budget", "a day", "caps", "creatives", "state")
        for c in found:
            caps = "; ".join(Cap(x["per"], x["max"], x["window"]).label for x in c["caps"]) or "-"
            table.add_row(escape(c["campaign_id"]), escape(c["advertiser"]),
                          f"{_day(c['starts_at'])} to {_day(c['ends_at'] - 1)}", f"{c['served']:,} / {c['budget']:,}",
                          f"{c['daily_goal']:,}" if c["daily_goal"] else "-", caps,
                          escape(", ".join(k["creative_id"] for k in c["creatives"])), "paused" if c["paused"] else "live")  # fmt: skip
        out.print(table)

    def pause(service: Path, campaign: str, paused: bool) -> None:
        from ..ads import set_paused
        from ..stream import open_service

        set_paused(open_service(service), campaign, paused)
        out.print(f"Campaign {escape(campaign)} {'paused' if paused else 'resumed'} (servers notice within 5 s)")

    @campaign_app.command("pause")
    def pause_cmd(service: ServiceArg, campaign: Annotated[str, typer.Argument(help="The campaign id.")]) -> None:
        """Stop serving a campaign (its counters are kept)."""
        pause(service, campaign, True)

    @campaign_app.command("resume")
    def resume_cmd(service: ServiceArg, campaign: Annotated[str, typer.Argument(help="The campaign id.")]) -> None:
        """Serve a paused campaign again."""
        pause(service, campaign, False)

    try:
        from ._ads_creative import register_creative
    except ImportError:  # pragma: no cover - the spot cutter lands separately
        return
    register_creative(ads_app, out, print_json)

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

    @ads_app.command("logs")
    def logs_cmd(
        service: ServiceArg,
        out_file: Annotated[Path, typer.Option("--out", help="The JSON-lines file to write.")],
        as_json: JsonOpt = False,
    ) -> None:
        """Write the closed decisions whose ad was seen (features, choice, propensity, reward),
        one JSON object a line: what 'moviola ads ope --logs' reads."""
        from ..ads._policy_eval import read_logs, write_logs
        from ..stream import open_service

        logs = read_logs(open_service(service))
        write_logs(logs, out_file)
        if as_json:
            print_json({"file": str(out_file), "decisions": len(logs)})
        else:
            out.print(f"Wrote {len(logs):,} logged decisions to {escape(str(out_file))}")

    @ads_app.command("ope")
    def ope_cmd(
        service: ServiceArg,
        logs: Annotated[Path | None, typer.Option("--logs", help="Logged decisions (JSON lines) instead of "
                                                                 "the service's own.")] = None,
        promote: Annotated[bool, typer.Option("--promote", help="Serve the candidate if the estimate says "
                                                                "it is better.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Off-policy evaluation: fit a candidate policy on the older logs, estimate its reward
        on the newer ones (IPW, self-normalised IPW, doubly robust, 95% intervals) beside the
        serving policy's; promote it only when DR's lower bound beats the incumbent."""
        from ..ads._policy_eval import ope_report
        from ..stream import open_service

        report = ope_report(open_service(service), logs, do_promote=promote)
        if as_json:
            print_json(report)
            return
        inc = report["incumbent"]
        out.print(f"{report['logs']:,} logged decisions: the candidate fitted on {report['fitted_on']:,}, "
                  f"evaluated on {report['evaluated_on']:,}")  # fmt: skip
        out.print(f"  serving policy (on-policy)  {inc['value']:.4f}  [{inc['low']:.4f}, {inc['high']:.4f}]")
        for name, est in report["candidate"].items():
            out.print(f"  candidate, {name:<17} {est['value']:.4f}  [{est['low']:.4f}, {est['high']:.4f}]")
        verdict = "better" if report["better"] else "not shown to be better"
        promoted = f"; promoted as {report['promoted']}" if report["promoted"] else ""
        out.print(f"The candidate is {verdict} ({report['rule']}){promoted}")

    try:
        from ._ads_creative import register_creative
    except ImportError:  # pragma: no cover - the spot cutter lands separately
        return
    register_creative(ads_app, out, print_json)

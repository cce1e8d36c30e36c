"""A campaign as an advertiser buys it: the campaign file's model and its rules (no I/O).

A campaign file is TOML::

    [campaign]
    id = "nevada-launch"                  # 1-64 letters, digits, '-', '_', '.'
    advertiser = "Moviola Pictures"
    name = "NEVADA: now streaming"
    start = 2026-12-01                    # the flight: from the start of this day ...
    end = 2027-02-28                      # ... to the end of this one (dates or date-times)
    timezone = "Europe/Paris"             # of the dates and of the targeted hours (UTC if left out)
    budget_impressions = 200000
    daily_goal = 5000                     # impressions a day the pacing aims at (optional)
    category = "IAB1-5"                   # IAB content category of the ad (optional)
    click_through = "/?title=mv-nevada"   # the landing page: https://..., or a path on the service

    [targeting]                           # every field optional; all given must match
    genres = ["Drama", "Thriller"]        # the title being watched has one of these
    member_genres = ["Sci-Fi"]            # one of them is among the member's three most watched
    ages = "18-64"                        # the member's age (members without one are not matched)
    genders = ["F", "M"]
    occupations = ["student"]
    hours = ["18-23", "0-1"]              # local hours, inclusive ranges
    exclude_titles = ["mv-nevada"]        # never during these titles

    [[caps]]                              # frequency caps, all enforced
    per = "member"                        # member: impressions of this campaign to one member
    max = 3                               # creative: of one creative to one member
    window = "1d"                         # campaign: of this campaign to everyone
                                          # window: 1h, 6h, 1d, 7d (fixed windows, UTC) or "flight"
    [[creatives]]
    id = "nevada-15"
    name = "NEVADA, 15 s"
    video = "nevada-spot/spot.mp4"        # H.264 MP4, relative to the campaign file
    simid = "nevada-spot/simid/overlay.html"   # optional SIMID interactive HTML
    ad_parameters = { kind = "add_to_list", label = "Add NEVADA to my list" }  # to the SIMID creative
    skip_offset = "00:00:05"              # optional: skippable after 5 s
    click_through = "/?title=mv-nevada"   # optional: the campaign's otherwise

Every error names the file, the field and what is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core import InputError

CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
WINDOWS = {"1h": 3600, "6h": 6 * 3600, "1d": 86400, "7d": 7 * 86400, "flight": 0}
CAP_SCOPES = ("member", "creative", "campaign")
SKIP_OFFSET = re.compile(r"^\d{2}:[0-5]\d:[0-5]\d(\.\d{3})?$")
_HOURS = re.compile(r"^(\d{1,2})(?:-(\d{1,2}))?$")
_AGES = re.compile(r"^(\d{1,3})-(\d{1,3})$")
CAMPAIGN_KEYS = {"id", "advertiser", "name", "start", "end", "timezone", "budget_impressions",
                 "daily_goal", "category", "click_through"}  # fmt: skip
TARGETING_KEYS = {"genres", "member_genres", "ages", "genders", "occupations", "hours", "exclude_titles"}
CAP_KEYS = {"per", "max", "window"}
CREATIVE_KEYS = {"id", "name", "video", "simid", "ad_parameters", "skip_offset", "click_through"}
MAX_CREATIVES = 50


@dataclass(frozen=True)
class Cap:
    """At most ``max`` impressions ``per`` member, creative-and-member or campaign, in
    ``window`` seconds (0: the whole flight)."""

    per: str
    max: int
    window: int

    @property
    def label(self) -> str:
        span = next((k for k, v in WINDOWS.items() if v == self.window), f"{self.window}s")
        return f"{self.max} per {self.per} per {span}"


@dataclass(frozen=True)
class Targeting:
    genres: tuple[str, ...] = ()
    member_genres: tuple[str, ...] = ()
    ages: tuple[int, int] | None = None
    genders: tuple[str, ...] = ()
    occupations: tuple[str, ...] = ()
    hours: frozenset[int] = frozenset()  # local hours 0-23; empty: any
    exclude_titles: tuple[str, ...] = ()


@dataclass(frozen=True)
class CreativeSpec:
    """A creative as the campaign file names it (the files not yet read)."""

    id: str
    name: str
    video: Path
    simid: Path | None = None
    ad_parameters: str | None = None  # JSON text
    skip_offset: str | None = None
    click_through: str | None = None


@dataclass(frozen=True)
class Campaign:
    id: str
    advertiser: str
    name: str
    starts_at: int  # epoch seconds
    ends_at: int  # epoch seconds, exclusive
    timezone: str
    budget: int
    daily_goal: int | None
    category: str | None
    click_through: str | None
    targeting: Targeting = field(default_factory=Targeting)
    caps: tuple[Cap, ...] = ()
    creatives: tuple[CreativeSpec, ...] = ()

    def spec_json(self) -> str:
        """What the store keeps of the rules (targeting, caps, category, click-through)."""
        t = self.targeting
        return json.dumps({
            "timezone": self.timezone, "category": self.category, "click_through": self.click_through,
            "targeting": {"genres": list(t.genres), "member_genres": list(t.member_genres),
                          "ages": list(t.ages) if t.ages else None, "genders": list(t.genders),
                          "occupations": list(t.occupations), "hours": sorted(t.hours),
                          "exclude_titles": list(t.exclude_titles)},
            "caps": [{"per": c.per, "max": c.max, "window": c.window} for c in self.caps],
        }, sort_keys=True)  # fmt: skip


def rules_from_json(text: str) -> tuple[str, str | None, str | None, Targeting, tuple[Cap, ...]]:
    """The store's ``spec`` back: timezone, category, click-through, targeting, caps."""
    data = json.loads(text)
    t = data["targeting"]
    targeting = Targeting(tuple(t["genres"]), tuple(t["member_genres"]),
                          (t["ages"][0], t["ages"][1]) if t["ages"] else None, tuple(t["genders"]),
                          tuple(t["occupations"]), frozenset(t["hours"]), tuple(t["exclude_titles"]))  # fmt: skip
    caps = tuple(Cap(c["per"], int(c["max"]), int(c["window"])) for c in data["caps"])
    return data["timezone"], data["category"], data["click_through"], targeting, caps


class _Reader:
    """Field readers that name the file and the field in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> InputError:
        return InputError(f"{where}: {problem}", self.path)

    def table(self, data: dict[str, Any], key: str, allowed: set[str], *, required: bool = True) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"[{key}]", "missing (every campaign file has one)")
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        self.known(value, allowed, f"[{key}]")
        return value

    def known(self, data: dict[str, Any], allowed: set[str], where: str) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(where, f"unknown field {unknown[0]!r} (known: {', '.join(sorted(allowed))})")

    def text(self, data: dict[str, Any], key: str, where: str, *, required: bool = True, limit: int = 200) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"{where}.{key}", "missing")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}", "must be a non-empty string")
        if len(value) > limit or any(ord(ch) < 32 for ch in value):
            raise self.fail(f"{where}.{key}", f"must be one line of at most {limit} characters")
        return value.strip()

    def count(self, data: dict[str, Any], key: str, where: str, *, required: bool = True) -> int | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"{where}.{key}", "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > 10**12:
            raise self.fail(f"{where}.{key}", f"must be a whole number of at least 1, not {value!r}")
        return value

    def strings(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"{where}.{key}", "must be a list of non-empty strings")
        return tuple(v.strip() for v in value)


def _moment(reader: _Reader, value: Any, key: str, zone: ZoneInfo, *, end: bool) -> int:
    """A flight bound as epoch seconds: a date means the start of that day (for ``start``)
    or the end of it (for ``end``); a date-time without an offset is in the campaign's zone."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=zone)
    elif isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        moment = datetime.combine(day, time(0), tzinfo=zone)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise reader.fail(f"campaign.{key}", f"{value!r} is not a date (2026-12-01) or a date-time") from None
        return _moment(reader, parsed if "T" in value or " " in value else parsed.date(), key, zone, end=end)
    else:
        raise reader.fail(f"campaign.{key}", "must be a date (2026-12-01) or a date-time")
    return int(moment.timestamp())


def _click_through(reader: _Reader, value: str | None, where: str) -> str | None:
    if value is None:
        return None
    if not (value.startswith(("https://", "http://")) or (value.startswith("/") and not value.startswith("//"))):
        raise reader.fail(where, f"{value[:60]!r} must be an http(s):// URL or a path on the service (/...)")
    if any(ch in value for ch in " \"'<>[]`{}|\\^"):
        raise reader.fail(where, "must be a URL without spaces, quotes, brackets or braces")
    return value


def _hours(reader: _Reader, values: tuple[str, ...]) -> frozenset[int]:
    hours: set[int] = set()
    for text in values:
        m = _HOURS.match(text.replace(" ", ""))
        if not m or int(m[1]) > 23 or (m[2] is not None and int(m[2]) > 23):
            raise reader.fail("targeting.hours", f"{text!r} is not an hour or a range of hours (0-23, as in \"18-23\")")
        first, last = int(m[1]), int(m[2] if m[2] is not None else m[1])
        hours.update(range(first, last + 1) if first <= last else [*range(first, 24), *range(0, last + 1)])
    return frozenset(hours)


def _targeting(reader: _Reader, data: dict[str, Any]) -> Targeting:
    where = "targeting"
    ages = None
    if data.get("ages") is not None:
        m = _AGES.match(str(data["ages"]).replace(" ", ""))
        if not m or int(m[1]) > int(m[2]):
            raise reader.fail("targeting.ages", f"{data['ages']!r} is not a range of ages such as \"18-64\"")
        ages = (int(m[1]), int(m[2]))
    return Targeting(
        genres=reader.strings(data, "genres", where),
        member_genres=reader.strings(data, "member_genres", where),
        ages=ages,
        genders=tuple(g.upper() for g in reader.strings(data, "genders", where)),
        occupations=tuple(o.lower() for o in reader.strings(data, "occupations", where)),
        hours=_hours(reader, reader.strings(data, "hours", where)),
        exclude_titles=reader.strings(data, "exclude_titles", where),
    )


def _caps(reader: _Reader, values: Any) -> tuple[Cap, ...]:
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise reader.fail("caps", "must be [[caps]] tables")
    caps = []
    for i, data in enumerate(values, 1):
        where = f"caps[{i}]"
        reader.known(data, CAP_KEYS, where)
        per = reader.text(data, "per", where)
        if per not in CAP_SCOPES:
            raise reader.fail(f"{where}.per", f"{per!r} is not one of {', '.join(CAP_SCOPES)}")
        window = reader.text(data, "window", where) or ""
        if window not in WINDOWS:
            raise reader.fail(f"{where}.window", f"{window!r} is not one of {', '.join(WINDOWS)}")
        caps.append(Cap(per, reader.count(data, "max", where) or 1, WINDOWS[window]))
    return tuple(caps)


def _ad_parameters(reader: _Reader, value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError as exc:
            raise reader.fail(where, f"is not JSON ({exc.msg} at character {exc.pos})") from None
        return value
    raise reader.fail(where, "must be a table or a JSON string")


def _creatives(reader: _Reader, values: Any, base: Path) -> tuple[CreativeSpec, ...]:
    if not isinstance(values, list) or not values or not all(isinstance(v, dict) for v in values):
        raise reader.fail("creatives", "a campaign needs at least one [[creatives]] table")
    if len(values) > MAX_CREATIVES:
        raise reader.fail("creatives", f"at most {MAX_CREATIVES} creatives a campaign")
    creatives: list[CreativeSpec] = []
    for i, data in enumerate(values, 1):
        where = f"creatives[{i}]"
        reader.known(data, CREATIVE_KEYS, where)
        cid = reader.text(data, "id", where) or ""
        if not CAMPAIGN_ID.match(cid):
            raise reader.fail(f"{where}.id", f"{cid!r} must be 1-64 letters, digits, '-', '_' or '.'")
        if any(c.id == cid for c in creatives):
            raise reader.fail(f"{where}.id", f"{cid!r} is given twice")
        video = base / (reader.text(data, "video", where, limit=500) or "")
        simid_text = reader.text(data, "simid", where, required=False, limit=500)
        skip = reader.text(data, "skip_offset", where, required=False)
        if skip is not None and not SKIP_OFFSET.match(skip):
            raise reader.fail(f"{where}.skip_offset", f"{skip!r} is not HH:MM:SS or HH:MM:SS.mmm")
        creatives.append(CreativeSpec(
            id=cid, name=reader.text(data, "name", where, required=False) or cid, video=video,
            simid=base / simid_text if simid_text else None,
            ad_parameters=_ad_parameters(reader, data.get("ad_parameters"), f"{where}.ad_parameters"),
            skip_offset=skip,
            click_through=_click_through(reader, reader.text(data, "click_through", where, required=False, limit=2000),
                                         f"{where}.click_through"),
        ))  # fmt: skip
    return tuple(creatives)


def parse_campaign(data: dict[str, Any], path: Path) -> Campaign:
    """The campaign in a parsed campaign file (``path`` names it in errors and is where
    relative creative paths start)."""
    reader = _Reader(path)
    reader.known(data, {"campaign", "targeting", "caps", "creatives"}, "the file")
    c = reader.table(data, "campaign", CAMPAIGN_KEYS)
    cid = reader.text(c, "id", "campaign") or ""
    if not CAMPAIGN_ID.match(cid):
        raise reader.fail("campaign.id", f"{cid!r} must be 1-64 letters, digits, '-', '_' or '.'")
    zone_name = reader.text(c, "timezone", "campaign", required=False) or "UTC"
    try:
        zone = ZoneInfo(zone_name) if zone_name != "UTC" else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.fail("campaign.timezone", f"{zone_name!r} is not a time zone (such as Europe/Paris)") from None
    for key in ("start", "end"):
        if key not in c:
            raise reader.fail(f"campaign.{key}", "missing (the flight's dates)")
    starts = _moment(reader, c["start"], "start", zone, end=False)
    ends = _moment(reader, c["end"], "end", zone, end=True)
    if ends <= starts:
        raise reader.fail("campaign.end", "the flight ends before it starts")
    budget = reader.count(c, "budget_impressions", "campaign") or 1
    goal = reader.count(c, "daily_goal", "campaign", required=False)
    if goal is not None and goal > budget:
        raise reader.fail("campaign.daily_goal", f"{goal:,} a day is more than the whole budget ({budget:,})")
    return Campaign(
        id=cid,
        advertiser=reader.text(c, "advertiser", "campaign") or "",
        name=reader.text(c, "name", "campaign") or "",
        starts_at=starts,
        ends_at=ends,
        timezone=zone_name,
        budget=budget,
        daily_goal=goal,
        category=reader.text(c, "category", "campaign", required=False, limit=32),
        click_through=_click_through(reader, reader.text(c, "click_through", "campaign", required=False, limit=2000),
                                     "campaign.click_through"),  # fmt: skip
        targeting=_targeting(reader, reader.table(data, "targeting", TARGETING_KEYS, required=False)),
        caps=_caps(reader, data.get("caps")),
        creatives=_creatives(reader, data.get("creatives"), path.parent),
    )


def flight_label(campaign: Campaign) -> str:
    zone = ZoneInfo(campaign.timezone)
    start = datetime.fromtimestamp(campaign.starts_at, UTC).astimezone(zone)
    end = datetime.fromtimestamp(campaign.ends_at - 1, UTC).astimezone(zone)
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d} ({campaign.timezone})"

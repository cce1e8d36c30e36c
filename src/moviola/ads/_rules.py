"""The hard rules an ad must pass before the bandit sees it (no I/O): the flight, targeting,
the counters that enforce budgets, pacing, frequency caps and ad load.

Counters are fixed windows in UTC (an hour, six hours, a day, a week; or the whole flight),
as ad servers define "3 a day". Each rule is a :class:`Limit`: a counter key, how much one
ad adds to it and the most it may hold. Pacing spreads a daily goal evenly over the
campaign's local day, allowed to run one hour ahead of the line, and never past the goal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ._campaign import Cap, Targeting

PACE_AHEAD = 3600  # seconds pacing may run ahead of the even line
HOUR = 3600


@dataclass(frozen=True)
class Creative:
    creative_id: str
    campaign_id: str
    name: str
    duration_ms: int
    media: str
    width: int
    height: int
    codec: str
    bitrate_kbps: int
    simid: str | None
    ad_parameters: str | None
    click_through: str | None
    skip_offset: str | None


@dataclass(frozen=True)
class LiveCampaign:
    campaign_id: str
    advertiser: str
    name: str
    starts_at: int
    ends_at: int
    budget: int
    daily_goal: int | None
    paused: bool
    timezone: str
    category: str | None
    click_through: str | None
    targeting: Targeting
    caps: tuple[Cap, ...]
    creatives: tuple[Creative, ...]

    def local(self, now: float) -> datetime:
        return datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class Limit:
    key: str
    add: int
    most: int
    expires_at: int


@dataclass(frozen=True)
class Viewer:
    """The member and the moment, as targeting reads them."""

    member_id: str
    age: int | None
    gender: str | None
    occupation: str | None
    top_genres: tuple[str, ...]
    title_id: str | None
    title_genres: tuple[str, ...]


def targeted(campaign: LiveCampaign, viewer: Viewer, now: float) -> bool:
    """Whether the campaign runs now and targets this viewer."""
    if campaign.paused or not campaign.starts_at <= now < campaign.ends_at:
        return False
    t = campaign.targeting
    if viewer.title_id is not None and viewer.title_id in t.exclude_titles:
        return False
    if t.genres and not set(t.genres) & set(viewer.title_genres):
        return False
    if t.member_genres and not set(t.member_genres) & set(viewer.top_genres):
        return False
    if t.ages and (viewer.age is None or not t.ages[0] <= viewer.age <= t.ages[1]):
        return False
    if t.genders and (viewer.gender or "").upper() not in t.genders:
        return False
    if t.occupations and (viewer.occupation or "").lower() not in t.occupations:
        return False
    return not t.hours or campaign.local(now).hour in t.hours


def pace_limit(goal: int, campaign: LiveCampaign, now: float) -> int:
    """Impressions the campaign may have served so far today (local day) under even pacing."""
    local = campaign.local(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day = ((start + timedelta(days=1)).astimezone(UTC) - start.astimezone(UTC)).total_seconds()  # 23-25 h
    elapsed = (local - start).total_seconds()
    return min(goal, math.ceil(goal * min(1.0, (elapsed + PACE_AHEAD) / day)))


def _window(now: float, seconds: int, campaign: LiveCampaign) -> tuple[str, int]:
    if seconds == 0:
        return "f", campaign.ends_at + 7 * 86400
    bucket = int(now // seconds)
    return str(bucket), (bucket + 1) * seconds


def limits(campaign: LiveCampaign, creative: Creative, member_id: str, title_id: str | None,
           now: float, load_ms: int | None) -> list[Limit]:  # fmt: skip
    """Every counter one more impression of ``creative`` would add to, and its bound.

    ``load_ms``: the ad time this member may see during this title today (None: no title).
    """
    c, k = campaign.campaign_id, creative.creative_id
    out = [Limit(f"b:{c}", 1, campaign.budget, campaign.ends_at + 30 * 86400)]
    if campaign.daily_goal:
        local = campaign.local(now)
        out.append(Limit(f"d:{c}:{local:%Y%m%d}", 1, pace_limit(campaign.daily_goal, campaign, now),
                         int(now) + 2 * 86400))  # fmt: skip
    for cap in campaign.caps:
        bucket, expires = _window(now, cap.window, campaign)
        key = {"member": f"m:{c}:{member_id}", "creative": f"k:{k}:{member_id}", "campaign": f"g:{c}"}[cap.per]
        out.append(Limit(f"{key}:{cap.window}:{bucket}", 1, cap.max, expires))
    if title_id is not None and load_ms is not None:
        day = int(now // 86400)
        out.append(Limit(f"l:{member_id}:{title_id}:{day}", creative.duration_ms, load_ms, (day + 1) * 86400))
    return out


def within(limit: Limit, held: int) -> bool:
    return held + limit.add <= limit.most

"""Choosing the ads of one break: the hard rules first, then the bandit, then the counters
reserved and the decision logged, atomically (I/O).

For each position of the pod: the creatives that pass every rule (the flight, targeting,
budget, pacing, caps, ad load, the pod's remaining time, one ad per campaign a pod) are
scored by the bandit; one is drawn from its floored probabilities; then, in one
transaction, every counter it adds to is incremented only where the bound still holds
(``INSERT ... ON CONFLICT DO UPDATE ... WHERE n + add <= most RETURNING``) and the
decision is written with its propensity, features and model version. If another worker
took the last unit meanwhile, nothing is written, that creative is set aside and the
position is drawn again among the rest. So no cap, budget or pacing bound is exceeded
however many workers serve at once: the store, not a worker's memory, holds the counts.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from ..core import InputError, MoviolaError
from ..core._media import probe_movie
from ..stream import _schema as t
from ..stream._members import NotFound
from ..stream._schema import ID_PATTERN, dialect_insert
from ..stream._service import Service
from ._bandit import Context, Policy, action_line
from ._campaign import rules_from_json
from ._config import AdsConfig, read_config
from ._learning import Learner, write_lock
from ._member import MemberReader
from ._policy_eval import newest_policy
from ._rules import Creative, Limit, LiveCampaign, Viewer, limits, targeted, within

SLOT = re.compile(r"^(preroll|midroll(-[0-9]{1,3})?|postroll)$")
INVENTORY_TTL = 5.0  # seconds a worker reuses the campaigns it read (a pause lands within this)
DEFAULT_RUNTIME = 100 * 60  # seconds assumed for a title whose length is not known
RETRIES = 4
FIT_SLACK_MS = 500  # a 15.02 s spot still fits a 15 s pod


@dataclass(frozen=True)
class Decision:
    serving_id: str
    position: int
    creative: Creative
    campaign: LiveCampaign
    propensity: float
    probabilities: dict[str, float]  # every eligible creative's chance at this position
    model_version: str
    ts: int


@dataclass(frozen=True)
class Pod:
    member_id: str
    title_id: str | None
    slot: str
    seconds: float  # the break's length, at most
    decisions: tuple[Decision, ...]
    eligible: int  # creatives that passed the rules for the first position
    reason: str | None = None  # why the pod is empty


class _Taken(Exception):
    """A bound would be passed by the pod's ad at ``index`` (nothing was written)."""

    def __init__(self, index: int, key: str) -> None:
        super().__init__(key)
        self.index = index


def load_inventory(service: Service) -> list[LiveCampaign]:
    """Every campaign with its creatives, as the store holds them now."""
    with service.engine.connect() as conn:
        creatives: dict[str, list[Creative]] = {}
        for r in conn.execute(select(t.ad_creatives).order_by(t.ad_creatives.c.creative_id)):
            row = r._mapping
            creatives.setdefault(row["campaign_id"], []).append(Creative(**{k: row[k] for k in Creative.__dataclass_fields__}))
        out = []
        for r in conn.execute(select(t.ad_campaigns).order_by(t.ad_campaigns.c.campaign_id)):
            zone, category, click, targeting, caps = rules_from_json(r.spec)
            out.append(LiveCampaign(r.campaign_id, r.advertiser, r.name, int(r.starts_at), int(r.ends_at), int(r.budget),
                                    int(r.daily_goal) if r.daily_goal else None, bool(r.paused), zone, category, click,
                                    targeting, caps, tuple(creatives.get(r.campaign_id, ()))))  # fmt: skip
    return out


class AdServer:
    """Decisions for one service in this process: inventory, member facts and the policy."""

    def __init__(self, service: Service, config: AdsConfig | None = None, *, seed: int | None = None,
                 policy: Policy | None = None) -> None:  # fmt: skip
        self.service = service
        self.config = config or read_config(service.root)
        self.members = MemberReader(service)
        self._policy_checked = time.monotonic()
        promoted = None if policy is not None else newest_policy(service)
        self.policy = policy or (Policy(self.config, model=promoted[1], base=promoted[0]) if promoted
                                 else Policy(self.config))  # fmt: skip
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._inventory: tuple[float, list[LiveCampaign]] | None = None
        self._runtimes: dict[str, float] = {}
        self.learner = Learner(service, self.config, self.policy)
        if promoted is not None:
            self.learner.mark = promoted[2]  # it learned every reward up to here

    def inventory(self) -> list[LiveCampaign]:
        now = time.monotonic()
        with self._lock:
            if self._inventory is not None and now - self._inventory[0] < INVENTORY_TTL:
                return self._inventory[1]
        found = load_inventory(self.service)
        with self._lock:
            self._inventory = (now, found)
        return found

    def refresh(self) -> None:
        """Read the campaigns afresh on the next decision."""
        with self._lock:
            self._inventory = None

    def _load_promoted(self) -> None:
        """Serve a newly promoted policy (``moviola ads ope --promote``), checked every few seconds."""
        if time.monotonic() - self._policy_checked < INVENTORY_TTL:
            return
        self._policy_checked = time.monotonic()
        promoted = newest_policy(self.service)
        if promoted is None or promoted[0] == self.policy.base:
            return
        policy = Policy(self.config, model=promoted[1], base=promoted[0])
        self.learner.restart(policy, promoted[2])
        self.policy = policy

    def content_seconds(self, title_id: str | None) -> float:
        """The title's length: its local trailer's (the content the page plays), else assumed."""
        if title_id is None:
            return float(DEFAULT_RUNTIME)
        if title_id in self._runtimes:
            return self._runtimes[title_id]
        seconds = float(DEFAULT_RUNTIME)
        title = self.members.catalog().titles.get(title_id)
        if title is not None and title.trailer and "://" not in title.trailer:
            path = (self.service.root / title.trailer).resolve()
            if path.is_relative_to(self.service.root.resolve()) and path.is_file():
                seconds = _movie_seconds(path) or seconds
        self._runtimes[title_id] = seconds
        return seconds

    def check_title(self, title_id: str | None) -> None:
        if title_id is not None and title_id not in self.members.catalog().titles:
            raise NotFound(f"unknown title {title_id[:64]!r}")

    def decide(self, member_id: str, slot: str = "preroll", *, title_id: str | None = None,
               seconds: float | None = None, now: float | None = None) -> Pod:  # fmt: skip
        """The ads of one break for this member (an empty pod when nothing is eligible)."""
        if not ID_PATTERN.match(member_id):
            raise InputError(f"member: {member_id[:40]!r} is not an id")
        if not SLOT.match(slot):
            raise InputError(f"slot: {slot[:40]!r} is not preroll, midroll, midroll-N or postroll")
        if seconds is not None and not 1 <= seconds <= 600:
            raise InputError("seconds: a break lasts 1 to 600 seconds")
        self.check_title(title_id)
        facts = self.members.facts(member_id)  # NotFound for an unknown member
        moment = time.time() if now is None else now
        self._load_promoted()
        self.learner.sync(now=moment)
        length = float(seconds if seconds is not None else self.config.preroll_seconds)
        viewer = Viewer(member_id, facts.age, facts.gender, facts.occupation, facts.top_genres, title_id,
                        self.members.title_genres(title_id))  # fmt: skip
        local_hour = time.localtime(moment).tm_hour
        context = Context(facts.vector, facts.genres, viewer.title_genres, local_hour, facts.attributes)
        load_ms = round(self.config.ad_seconds(self.content_seconds(title_id)) * 1000) if title_id else None
        live = [c for c in self.inventory() if targeted(c, viewer, moment)]
        candidates = [(c, k) for c in live for k in c.creatives]
        rules = {k.creative_id: limits(c, k, member_id, title_id, moment, load_ms) for c, k in candidates}
        held = _held(self.service, [lim.key for ls in rules.values() for lim in ls])
        eligible = [(c, k) for c, k in candidates if all(within(lim, held.get(lim.key, 0)) for lim in rules[k.creative_id])]
        first_count = len(eligible)
        decisions = self._pod(eligible, context.line(), rules, member_id, title_id, slot, length, moment)
        reason = None
        if not decisions:
            reason = ("no campaign is running" if not self.inventory() else
                      "no campaign targets this member now" if not candidates else
                      "every eligible campaign is capped, paced or out of budget" if not first_count else
                      "no creative fits the break")  # fmt: skip
        return Pod(member_id, title_id, slot, length, tuple(decisions), first_count, reason)

    def _pod(self, eligible: list[tuple[LiveCampaign, Creative]], shared: str, rules: dict[str, list[Limit]],
             member_id: str, title_id: str | None, slot: str, length: float, now: float) -> list[Decision]:  # fmt: skip
        """Draw the pod's ads one position after another, then reserve them all in one
        transaction. When a bound is reached (another worker took the last unit, or two ads of
        the pod together pass the ad load), the ads before the one refused are kept, the
        refused creative is set aside, and the positions from it on are drawn again."""
        eligible = list(eligible)
        drawn: list[tuple[Decision, dict[str, Any]]] = []
        for _ in range(RETRIES):
            left_ms = round(length * 1000) + FIT_SLACK_MS - sum(d.creative.duration_ms for d, _ in drawn)
            while len(drawn) < self.config.pod_size:
                pool = [(c, k) for c, k in eligible if k.duration_ms <= left_ms
                        and all(d.campaign.campaign_id != c.campaign_id for d, _ in drawn)]  # fmt: skip
                if not pool:
                    break
                item = self._draw(pool, shared, len(drawn) + 1, now)
                drawn.append(item)
                left_ms -= item[0].creative.duration_ms
            if not drawn:
                return []
            try:
                _reserve(self.service, [(rules[d.creative.creative_id], d, record) for d, record in drawn],
                         member_id, title_id, slot)  # fmt: skip
            except _Taken as taken:
                refused = drawn[taken.index][0].creative.creative_id
                drawn = drawn[: taken.index]
                eligible = [(c, k) for c, k in eligible if k.creative_id != refused]
                continue
            return [d for d, _ in drawn]
        return []

    def _draw(self, pool: list[tuple[LiveCampaign, Creative]], shared: str, position: int,
              now: float) -> tuple[Decision, dict[str, Any]]:  # fmt: skip
        """One position: the policy's floored probabilities over ``pool``, and a draw."""
        actions = [action_line(k.creative_id, c.campaign_id, c.advertiser, k.duration_ms / 1000, k.simid is not None)
                   for c, k in pool]  # fmt: skip
        probabilities = self.policy.probabilities(shared, actions)
        index = self._random.choices(range(len(pool)), weights=probabilities)[0]
        campaign, creative = pool[index]
        decision = Decision(uuid.uuid4().hex, position, creative, campaign, probabilities[index],
                            {k.creative_id: round(p, 6) for (_, k), p in zip(pool, probabilities, strict=True)},
                            self.policy.version, int(now))  # fmt: skip
        record = {"shared": shared, "actions": actions, "chosen": index, "probabilities": probabilities,
                  "creatives": [k.creative_id for _, k in pool]}  # fmt: skip
        return decision, record


def _movie_seconds(path: Path) -> float | None:
    try:
        return float(probe_movie(path)["duration_s"]) or None
    except MoviolaError:  # not a readable movie: the title's length is assumed
        return None


_HELD = select(t.ad_counters.c.key, t.ad_counters.c.n).where(t.ad_counters.c.key.in_(bindparam("keys", expanding=True)))


def _held(service: Service, keys: Sequence[str]) -> dict[str, int]:
    """What the counters hold now (a key never written holds 0)."""
    if not keys:
        return {}
    unique = list(dict.fromkeys(keys))
    out: dict[str, int] = {}
    with service.engine.connect() as conn:
        for i in range(0, len(unique), 500):
            out.update({k: int(n) for k, n in conn.execute(_HELD, {"keys": unique[i : i + 500]})})
    return out


_UPSERTS: dict[str, Any] = {}


def _upsert(conn: Connection) -> Any:
    """The conditional increment, built once per dialect (its values are bound, so
    SQLAlchemy compiles it once, not for every counter of every decision)."""
    name = conn.dialect.name
    if name not in _UPSERTS:
        c = t.ad_counters.c
        stmt = dialect_insert(conn, t.ad_counters).values(key=bindparam("key"), n=bindparam("add"),
                                                   expires_at=bindparam("expires"))  # fmt: skip
        _UPSERTS[name] = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"n": c.n + bindparam("add")},
            where=(c.n + bindparam("add") <= bindparam("most"))).returning(c.n)  # fmt: skip
    return _UPSERTS[name]


_LOG = insert(t.ad_decisions)


def _reserve(service: Service, pod: list[tuple[list[Limit], Decision, dict[str, Any]]], member_id: str,
             title_id: str | None, slot: str) -> None:  # fmt: skip
    """Add the pod's impressions to every counter (each within its bound) and log its
    decisions, in one transaction; ``_Taken`` (and nothing written) when a bound would be
    passed. Threads of one process take turns (``write_lock``): on SQLite they would otherwise
    all wait in its busy handler, which sleeps longer at each retry."""
    merged: dict[str, tuple[int, Limit, int]] = {}  # key → (what the pod adds, its bound, the last ad adding)
    for index, (rules, _, _) in enumerate(pod):
        for limit in rules:
            add = merged[limit.key][0] if limit.key in merged else 0
            merged[limit.key] = (add + limit.add, limit, index)
    with write_lock(service), service.engine.begin() as conn:
        upsert = _upsert(conn)
        # Every transaction takes its counters' row locks in the same (sorted) order, so two
        # pods sharing counters wait for each other instead of deadlocking (PostgreSQL).
        for key in sorted(merged):
            add, limit, index = merged[key]
            done = None if add > limit.most else conn.execute(upsert, {
                "key": key, "add": add, "expires": limit.expires_at, "most": limit.most}).first()  # fmt: skip
            if done is None:
                raise _Taken(index, key)  # rolls the transaction back: nothing counted
        for _, decision, record in pod:
            conn.execute(_LOG, {
                "serving_id": decision.serving_id, "member_id": member_id, "title_id": title_id, "slot": slot,
                "position": decision.position, "creative_id": decision.creative.creative_id,
                "campaign_id": decision.campaign.campaign_id, "propensity": decision.propensity,
                "context": json.dumps(record, separators=(",", ":")), "model_version": decision.model_version,
                "ts": decision.ts,
            })  # fmt: skip

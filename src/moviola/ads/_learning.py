"""Rewards: a decision closes once (on its closing event, or when it is too old) with the
reward its events earned under the config; every worker's policy learns the closed
decisions in the order the store numbered them (I/O).

A decision closes on ``complete``, ``skip``, ``closeLinear``, ``close`` or ``error``, or
``close_after_seconds`` after it was taken. Its reward is the config's sum over the kinds
of its events, each once (completion, click, interaction, skip). Only decisions whose ad
was seen (an impression arrived) teach the policy: an ad that never played says nothing
about the creative. Closing is an insert into ``ad_rewards`` keyed by the decision, so it
happens once whichever worker gets there first; each worker reads ``ad_rewards`` past its
own mark, so every worker's model learns the same rewards in the same order.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, select

from ..stream import _schema as t
from ..stream._schema import dialect_insert
from ..stream._service import SQLITE_FILE, Service
from ._bandit import Policy
from ._config import AdsConfig

CLOSING = ("complete", "skip", "close_linear", "close", "error")
REWARD_OF = {  # collector event → reward term
    "complete": "complete", "click": "click", "interaction": "interaction",
    "other_ad_interaction": "interaction", "accept_invitation": "interaction", "skip": "skip",
}  # fmt: skip
SWEEP_EVERY = 30.0  # seconds between a worker's sweeps for stale decisions
LOOK_EVERY = 1.0  # seconds between a worker's looks for rewards other workers closed
BATCH = 5000
COUNTER_GRACE = 3600  # seconds a finished window's counter is kept (a decision begun before its end may still add)


class _Writers:
    """One ad writer at a time (decisions, beacons, sweeps). SQLite admits one writer; those
    it turns away wait in its busy handler, which sleeps longer at each retry (up to 100 ms),
    so under load the queue grows faster than it drains. Here threads queue on a lock and
    processes on an advisory file lock beside the SQLite store (``flock``: a waiter wakes
    the moment it is free). PostgreSQL locks rows itself: only the threads take turns."""

    def __init__(self) -> None:
        self._thread = threading.Lock()
        self._files: dict[str, int] = {}

    @contextlib.contextmanager
    def __call__(self, service: Service) -> Iterator[None]:
        with self._thread:
            fd = None if service.db else self._file(service)
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self, service: Service) -> int:
        path = str(service.path(SQLITE_FILE + ".ads-lock"))
        if path not in self._files:
            self._files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._files[path]


write_lock = _Writers()
GAP_WAIT = 30.0  # seconds a missing reward number is waited for


def decision_kinds(conn: Connection, serving_id: str) -> set[str]:
    """The ad event kinds recorded for a decision, without their ``ad_`` prefix."""
    rows = conn.execute(select(t.events.c.kind).where(t.events.c.ad_serving_id == serving_id))
    return {str(r[0])[3:] for r in rows if str(r[0]).startswith("ad_")}


def reward_row(config: AdsConfig, serving_id: str, kinds: set[str], now: int) -> dict[str, Any]:
    """The ``ad_rewards`` row of a decision whose events were ``kinds``."""
    return {"serving_id": serving_id, "reward": config.reward.of({REWARD_OF[k] for k in kinds if k in REWARD_OF}),
            "events": ",".join(sorted(kinds)), "closed_at": now}  # fmt: skip


def close_decision(conn: Connection, serving_id: str, config: AdsConfig, now: int) -> bool:
    """Close the decision with the reward its events earned; False when it was closed before."""
    stmt = dialect_insert(conn, t.ad_rewards).values(reward_row(config, serving_id, decision_kinds(conn, serving_id), now))
    done = conn.execute(stmt.on_conflict_do_nothing(index_elements=["serving_id"]).returning(t.ad_rewards.c.seq))
    return done.first() is not None


_KINDS_OF = select(t.events.c.ad_serving_id, t.events.c.kind).where(
    t.events.c.ad_serving_id.in_(bindparam("ids", expanding=True)))  # fmt: skip


def sweep(service: Service, config: AdsConfig, now: float | None = None) -> int:
    """Close every decision older than ``close_after_seconds`` that is still open (their
    events read in one query a batch, the rewards written in one statement), and drop
    counters whose windows ended over an hour ago; returns how many decisions it closed."""
    moment = int(time.time() if now is None else now)
    d, r = t.ad_decisions.c, t.ad_rewards.c
    cutoff = moment - config.reward.close_after_seconds
    with write_lock(service), service.engine.begin() as conn:
        stale = [row[0] for row in conn.execute(
            select(d.serving_id).select_from(t.ad_decisions.outerjoin(t.ad_rewards, r.serving_id == d.serving_id))
            .where(and_(d.ts < cutoff, r.serving_id.is_(None))).order_by(d.ts, d.serving_id).limit(BATCH))]  # fmt: skip
        kinds: dict[str, set[str]] = {sid: set() for sid in stale}
        for i in range(0, len(stale), 500):
            for sid, kind in conn.execute(_KINDS_OF, {"ids": stale[i : i + 500]}):
                if str(kind).startswith("ad_"):
                    kinds[sid].add(str(kind)[3:])
        rows = [reward_row(config, sid, ks, moment) for sid, ks in kinds.items()]
        if rows:  # a decision another worker closed meanwhile keeps that worker's reward
            conn.execute(dialect_insert(conn, t.ad_rewards).on_conflict_do_nothing(index_elements=["serving_id"]), rows)
        conn.execute(delete(t.ad_counters).where(t.ad_counters.c.expires_at < moment - COUNTER_GRACE))
    return len(rows)


class Learner:
    """Feeds a policy the rewards it has not learned yet (thread-safe)."""

    def __init__(self, service: Service, config: AdsConfig, policy: Policy) -> None:
        self.service, self.config, self.policy = service, config, policy
        self.mark = 0  # every reward up to here is learned (or skipped)
        self._seen_above: set[int] = set()  # learned past a gap (PostgreSQL commits out of order)
        self._gap_since: float | None = None
        self._lock = threading.Lock()
        self._swept = 0.0
        self._looked = 0.0
        self.pending = True  # this worker closed a decision: learn it before the next decision

    def restart(self, policy: Policy, mark: int) -> None:
        """Learn into ``policy`` from the reward after ``mark`` on (a promoted policy)."""
        with self._lock:
            self.policy, self.mark = policy, mark
            self._seen_above.clear()
            self._gap_since = None
            self.pending = True

    def sync(self, *, now: float | None = None) -> int:
        """Learn the rewards closed since the last look; returns how many were learned.

        A reward this worker closed is learned before its next decision (``pending``); those
        other workers closed, within ``LOOK_EVERY`` seconds. Looking before every decision
        would cost a query each."""
        with self._lock:
            clock = time.monotonic()
            if clock - self._swept > SWEEP_EVERY:
                self._swept = clock
                sweep(self.service, self.config, now)
                self.pending = True
            if not self.pending and clock - self._looked < LOOK_EVERY:
                return 0
            self._looked, self.pending = clock, False
            return self._learn_new()

    def _learn_new(self) -> int:
        r, d = t.ad_rewards.c, t.ad_decisions.c
        query = (select(r.seq, r.reward, r.events, d.context, d.propensity)
                 .select_from(t.ad_rewards.join(t.ad_decisions, d.serving_id == r.serving_id))
                 .where(r.seq > self.mark).order_by(r.seq).limit(BATCH))  # fmt: skip
        with self.service.engine.connect() as conn:
            rows = conn.execute(query).all()
        learned = 0
        for seq, reward, kinds, context, propensity in rows:
            seq = int(seq)
            if seq in self._seen_above:
                continue
            if "impression" in str(kinds).split(","):
                record = json.loads(context)
                self.policy.learn(record["shared"], record["actions"], int(record["chosen"]), float(reward),
                                  float(propensity))  # fmt: skip
                learned += 1
            if seq == self.mark + 1:
                self.mark = seq
                while self.mark + 1 in self._seen_above:
                    self._seen_above.discard(self.mark + 1)
                    self.mark += 1
            else:
                self._seen_above.add(seq)
        self._close_old_gap()
        return learned

    def _close_old_gap(self) -> None:
        """A gap in the numbers is a reward still being committed (PostgreSQL numbers
        before it commits) or one deleted with its member: wait for it a while, then go on."""
        if not self._seen_above:
            self._gap_since = None
            return
        if self._gap_since is None:
            self._gap_since = time.monotonic()
        elif time.monotonic() - self._gap_since > GAP_WAIT:
            self.mark = min(self._seen_above)
            self._seen_above.discard(self.mark)
            while self.mark + 1 in self._seen_above:
                self._seen_above.discard(self.mark + 1)
                self.mark += 1
            self._gap_since = None

"""Recording what members do: one row in ``events`` per event, once.

- **Once.** The client names each event (``event_id``); sending it again (a retry after a
  lost answer, a replayed queue) changes nothing and says ``"new": false``. The first
  version of an event is the one kept.
- **Acknowledged is committed.** :func:`record_event` returns after the transaction has
  committed: on SQLite in WAL mode with ``synchronous=NORMAL`` the commit is in the
  write-ahead log, so it survives the server being killed (``kill -9``); only a power
  cut could lose the last commits. On PostgreSQL a commit is durable.
- **Members are created by their first event** (a sign-up elsewhere names them), so a new
  member's plays count at once, before any rating.
- A ``rate`` event also records the rating (``value`` in (0, 10]), which recommendations
  read at request time.
- Kinds: ``play``, ``click``, ``search``, ``rate``, and the ad kinds (``ad_*``, joined to
  their decision by ``ad_serving_id``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import desc, select

from ..core import InputError
from . import _schema as t
from ._schema import ID_PATTERN, dialect_insert
from ._service import Service

KINDS = ("play", "click", "search", "rate")
TITLE_KINDS = ("play", "click", "rate")  # these need a title_id
_KIND = re.compile(r"^(play|click|search|rate|ad_[a-z0-9_]{1,29})$")
MAX_QUERY = 1000
SESSION_SECONDS = 30 * 60  # without a session id, the last half hour is "this session"


@dataclass(frozen=True)
class Event:
    event_id: str
    member_id: str
    kind: str
    session_id: str | None = None
    title_id: str | None = None
    query: str | None = None
    value: float | None = None
    ad_serving_id: str | None = None
    ts: int | None = None


class UnknownTitle(InputError):
    """An event names a title the catalog does not hold."""


def check_event(event: Event) -> None:
    """Refuse an event whose fields do not fit (one line naming the field)."""
    for name in ("event_id", "member_id", "session_id", "title_id", "ad_serving_id"):
        value = getattr(event, name)
        if value is not None and not ID_PATTERN.match(value):
            raise InputError(f"{name}: {value[:40]!r} is not an id (1-64 printable characters)")
    if not _KIND.match(event.kind):
        raise InputError(f"kind: {event.kind[:40]!r} is not one of {', '.join(KINDS)} or ad_*")
    if event.kind in TITLE_KINDS and event.title_id is None:
        raise InputError(f"title_id: a {event.kind} event needs the title")
    if event.kind == "search" and not (event.query or "").strip():
        raise InputError("query: a search event needs the query")
    if event.query is not None and len(event.query) > MAX_QUERY:
        raise InputError(f"query: longer than {MAX_QUERY} characters")
    if event.kind == "rate" and (event.value is None or not 0 < event.value <= 10):
        raise InputError("value: a rate event needs a rating in (0, 10]")
    if event.value is not None and not -1e9 < event.value < 1e9:
        raise InputError("value: out of range")
    if event.ts is not None and not 0 <= event.ts < 10**11:
        raise InputError("ts: epoch seconds, please")


def record_event(service: Service, event: Event) -> bool:
    """Store ``event`` (committed when this returns); False when its id was seen before."""
    check_event(event)
    now = int(time.time())
    ts = event.ts if event.ts is not None else now
    with service.engine.begin() as conn:
        if event.title_id is not None:
            known = conn.execute(select(t.titles.c.title_id).where(t.titles.c.title_id == event.title_id)).first()
            if known is None:
                raise UnknownTitle(f"title_id: {event.title_id[:40]!r} is not in the catalog")
        conn.execute(dialect_insert(conn, t.members).values(member_id=event.member_id, created_at=now)
                     .on_conflict_do_nothing(index_elements=["member_id"]))  # fmt: skip
        row = {"event_id": event.event_id, "member_id": event.member_id, "session_id": event.session_id,
               "kind": event.kind, "title_id": event.title_id, "query": event.query, "value": event.value,
               "ad_serving_id": event.ad_serving_id, "ts": ts}  # fmt: skip
        # RETURNING, not rowcount: through SQLAlchemy, psycopg reports -1 (unknown) for it
        done = conn.execute(dialect_insert(conn, t.events).values(**row).on_conflict_do_nothing(index_elements=["event_id"])
                            .returning(t.events.c.event_id))  # fmt: skip
        new = done.first() is not None
        if new and event.kind == "rate":
            stmt = dialect_insert(conn, t.ratings).values(member_id=event.member_id, title_id=event.title_id,
                                                   rating=event.value, ts=ts)  # fmt: skip
            conn.execute(stmt.on_conflict_do_update(index_elements=["member_id", "title_id"],
                                                    set_={"rating": stmt.excluded.rating, "ts": stmt.excluded.ts}))  # fmt: skip
    return new


def member_events(service: Service, member: str, *, limit: int = 500) -> list[dict[str, Any]]:
    """A member's newest events first."""
    query = (select(t.events).where(t.events.c.member_id == member)
             .order_by(desc(t.events.c.ts), desc(t.events.c.event_id)).limit(limit))  # fmt: skip
    with service.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def event_titles(service: Service, member: str, kinds: Sequence[str] = ("play", "click"), *,
                 session: str | None = None, since: int | None = None) -> list[str]:  # fmt: skip
    """Titles of the member's events of these kinds (in ``session``, or since ``since``),
    newest first, once each."""
    query = select(t.events.c.title_id).where(t.events.c.member_id == member, t.events.c.kind.in_(list(kinds)),
                                              t.events.c.title_id.is_not(None))  # fmt: skip
    if session is not None:
        query = query.where(t.events.c.session_id == session)
    if since is not None:
        query = query.where(t.events.c.ts >= since)
    with service.engine.connect() as conn:
        rows = conn.execute(query.order_by(desc(t.events.c.ts), desc(t.events.c.event_id)).limit(1000)).all()
    return list(dict.fromkeys(str(r[0]) for r in rows))


def session_titles(service: Service, member: str, session: str | None) -> list[str]:
    """Titles played or clicked in this session: the session ``session`` if given, else the
    member's events of the last half hour."""
    since = None if session is not None else int(time.time()) - SESSION_SECONDS
    return event_titles(service, member, ("play", "click"), session=session, since=since)

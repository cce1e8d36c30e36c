"""Members: knowing one, and forgetting one (``DELETE /members/{id}``,
``moviola stream members delete``).

Deleting a member removes their ratings, their events and their row in one transaction.
From the next request on, no model uses them:

- The served model scores a member from their ratings and events **read from the store
  at request time**; a deleted member has none, and asking for them is a 404.
- A trained model file (EASE) holds only title × title weights and per-title counts: no
  member ids, no member rows, nothing from which one member's titles can be read back.
  Their ratings still weigh, as one member among all, in those aggregates until the next
  ``moviola stream train``; ``retrain=True`` (``--retrain``, ``?retrain=true``) fits a new
  version without them at once, and serving uses it from the next request.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from ..core import InputError
from . import _schema as t
from ._model_store import ModelVersion, train
from ._service import Service


class NotFound(InputError):
    """An id the service does not hold (HTTP 404)."""


@dataclass(frozen=True)
class Forgotten:
    member: str
    ratings: int
    events: int
    model: ModelVersion | None  # the version trained without them, when asked for


def member_exists(service: Service, member: str) -> bool:
    with service.engine.connect() as conn:
        return conn.execute(select(t.members.c.member_id).where(t.members.c.member_id == member)).first() is not None


def require_member(service: Service, member: str) -> None:
    if not member_exists(service, member):
        raise NotFound(f"unknown member {member[:64]!r}")


def delete_member(service: Service, member: str, *, retrain: bool = False) -> Forgotten:
    """Remove ``member``'s ratings, events and row (all or nothing); optionally retrain."""
    with service.engine.begin() as conn:
        if conn.execute(select(t.members.c.member_id).where(t.members.c.member_id == member)).first() is None:
            raise NotFound(f"unknown member {member[:64]!r}")
        ratings = conn.execute(delete(t.ratings).where(t.ratings.c.member_id == member)).rowcount
        events = conn.execute(delete(t.events).where(t.events.c.member_id == member)).rowcount
        conn.execute(delete(t.members).where(t.members.c.member_id == member))
    model = None
    if retrain:
        with service.engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(t.ratings)).scalar_one()
        model = train(service) if left else None
    return Forgotten(member, int(ratings or 0), int(events or 0), model)

"""The collector: VAST tracking beacons, SIMID reportTracking, click-throughs and errors
come back to the service as ``GET /ads/t/{serving_id}/{event}?s=SIGNATURE`` (I/O).

- **Forged ids are refused.** Every URL carries an HMAC of its AdServingId under the
  service's ads secret (``ads-secret`` in the service folder, made on first use, readable
  by its owner only), so only a decision this service took can be reported on.
- **Counted once.** The event's id is ``ad:<serving id>:<event>``: a replayed beacon, a
  player that fires twice, a retry, changes nothing (``"new": false``).
- **Joined to the decision.** Each event is a row of ``events`` (kind ``ad_<event>``,
  ``ad_serving_id`` set, the decision's member and title); a closing event closes the
  decision with its reward (see ``_learning``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..core import InputError, storage_error
from ..stream import _schema as t
from ..stream._members import NotFound
from ..stream._schema import dialect_insert
from ..stream._service import Service
from ._config import AdsConfig
from ._learning import CLOSING, close_decision, write_lock

SECRET_FILE = "ads-secret"
#: The beacons the collector takes: VAST 4.2's tracking events, and impression, click
#: (VideoClicks/ClickTracking), interaction (the SIMID overlay's reportTracking) and error.
EVENTS = (
    "impression", "creativeView", "loaded", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete",
    "mute", "unmute", "pause", "resume", "rewind", "skip", "playerExpand", "playerCollapse", "closeLinear",
    "close", "acceptInvitation", "adExpand", "adCollapse", "minimize", "overlayViewDuration",
    "otherAdInteraction", "interactiveStart", "progress", "click", "interaction", "error",
)  # fmt: skip
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")
_SERVING_ID = re.compile(r"^[0-9a-f]{32}$")


def event_kind(event: str) -> str:
    """The ``events.kind`` of a beacon: ``firstQuartile`` → ``ad_first_quartile``."""
    return "ad_" + _SNAKE.sub("_", event).lower()


def _secret(root: Path) -> bytes:
    path = root / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise InputError(f"the ads secret cannot be read: {exc}", path) from exc
    try:  # made once; a second process racing here finds the first one's file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
    except FileExistsError:
        time.sleep(0.05)
    except OSError as exc:
        raise storage_error(exc, path, "cannot write the ads secret") from exc
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


@dataclass
class Signer:
    """Signs and checks AdServingIds with the service's ads secret."""

    key: bytes

    @classmethod
    def for_service(cls, service: Service) -> Signer:
        return cls(_secret(service.root))

    def sign(self, serving_id: str) -> str:
        mac = hmac.new(self.key, serving_id.encode("ascii"), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def check(self, serving_id: str, signature: str) -> bool:
        return bool(_SERVING_ID.match(serving_id)) and hmac.compare_digest(self.sign(serving_id), signature)


class Forged(InputError):
    """A beacon whose signature does not match its AdServingId."""

    http_status = 403


@dataclass(frozen=True)
class Beacon:
    serving_id: str
    event: str
    new: bool
    closed: bool  # this event closed the decision


def record_beacon(service: Service, signer: Signer, config: AdsConfig, serving_id: str, event: str,
                  signature: str, *, value: float | None = None, detail: str | None = None,
                  now: float | None = None) -> Beacon:  # fmt: skip
    """Record one beacon, once; closes the decision on a closing event."""
    if event not in EVENTS:
        raise InputError(f"event: {event[:40]!r} is not a tracking event this collector takes")
    if not signer.check(serving_id, signature):
        raise Forged("the beacon's signature does not match its AdServingId")
    moment = int(time.time() if now is None else now)
    kind = event_kind(event)
    d = t.ad_decisions.c
    with write_lock(service), service.engine.begin() as conn:
        row = conn.execute(select(d.member_id, d.title_id).where(d.serving_id == serving_id)).first()
        if row is None:  # signed by us, but its decision is gone (its member was forgotten)
            raise NotFound(f"no decision {serving_id}")
        stmt = dialect_insert(conn, t.events).values(event_id=f"ad:{serving_id}:{kind[3:]}"[:64], member_id=row.member_id,
                                              kind=kind, title_id=row.title_id, value=value,
                                              query=detail, ad_serving_id=serving_id, ts=moment)  # fmt: skip
        new = conn.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"])
                           .returning(t.events.c.event_id)).first() is not None  # fmt: skip
        closed = new and kind[3:] in CLOSING and close_decision(conn, serving_id, config, moment)
    return Beacon(serving_id, event, new, closed)

"""API keys for the service's writes (``POST /events``, ``DELETE /members/{id}``).

``moviola stream key new SERVICE`` makes a key and prints its secret once:
``mvk_<key id>_<secret>``. The store keeps only the key id and the sha256 of the whole
secret (``api_keys``), so a copy of the store gives no way to write. A key is checked by
its id, then by comparing digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from ..core import InputError
from . import _schema as t
from ._service import Service

PREFIX = "mvk"


class KeyRefused(InputError):
    """A write without a key, or with a key the service does not know (HTTP 401)."""


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str  # shown once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_key(service: Service) -> NewKey:
    """A new API key: its id and digest are stored, its secret is returned once."""
    key_id = secrets.token_hex(6)
    secret = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    with service.engine.begin() as conn:
        conn.execute(insert(t.api_keys).values(key_id=key_id, digest=_digest(secret), created_at=int(time.time())))
    return NewKey(key_id, secret)


def revoke_key(service: Service, key_id: str) -> bool:
    """Revoke a key by id; False when no such live key exists."""
    with service.engine.begin() as conn:
        done = conn.execute(update(t.api_keys).where(t.api_keys.c.key_id == key_id, t.api_keys.c.revoked_at.is_(None))
                            .values(revoked_at=int(time.time())))  # fmt: skip
    return bool(done.rowcount)


def check_key(service: Service, presented: str | None) -> str:
    """The key id of a valid, unrevoked secret; else :class:`KeyRefused`."""
    if not presented:
        raise KeyRefused("this needs an API key (header 'X-API-Key: SECRET' or 'Authorization: Bearer SECRET'); "
                         "make one with 'moviola stream key new SERVICE'")  # fmt: skip
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) > 16:
        raise KeyRefused("the API key is not valid")
    with service.engine.connect() as conn:
        row = conn.execute(select(t.api_keys.c.digest, t.api_keys.c.revoked_at)
                           .where(t.api_keys.c.key_id == parts[1])).first()  # fmt: skip
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.digest, _digest(presented.strip())):
        raise KeyRefused("the API key is not valid")
    return parts[1]

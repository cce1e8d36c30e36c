"""The service's tables, for SQLite and PostgreSQL alike (SQLAlchemy Core, no ORM).

Ids are text, as catalogs and member systems name them. Times are UTC epoch seconds.
Events are one table for everything members do (plays, clicks, searches, and later ad
impressions, quartiles and interactions): a client-chosen ``event_id`` makes a replayed
event count once, and ``session_id`` groups what one visit did.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = 64  # the longest id accepted (title, member, event, session)
#: What an id may be, everywhere ids come in (CSV, CLI, HTTP): 1-64 characters, no controls.
ID_PATTERN = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")  # 64: ID

titles = Table(
    "titles",
    metadata,
    Column("title_id", String(ID), primary_key=True),
    Column("title", Text, nullable=False),
    Column("year", Integer),
    Column("synopsis", Text),
    Column("keywords", Text),  # words for search the synopsis lacks (0002)
    Column("poster", Text),  # a path in the service folder, or a URL the catalog gave
    Column("trailer", Text),
    Column("source", String(16), nullable=False),  # csv, movielens, moviola
    Column("added_at", BigInteger, nullable=False),
)

title_genres = Table(
    "title_genres",
    metadata,
    Column("title_id", String(ID), ForeignKey("titles.title_id", ondelete="CASCADE"), primary_key=True),
    Column("genre", String(64), primary_key=True),
)

members = Table(
    "members",
    metadata,
    Column("member_id", String(ID), primary_key=True),
    Column("age", Integer),
    Column("gender", String(16)),
    Column("occupation", String(64)),
    Column("created_at", BigInteger, nullable=False),
)

ratings = Table(
    "ratings",
    metadata,
    Column("member_id", String(ID), ForeignKey("members.member_id", ondelete="CASCADE"), primary_key=True),
    Column("title_id", String(ID), ForeignKey("titles.title_id", ondelete="CASCADE"), primary_key=True),
    Column("rating", Float, nullable=False),
    Column("ts", BigInteger, nullable=False),
)
Index("ratings_by_title", ratings.c.title_id)

events = Table(
    "events",
    metadata,
    Column("event_id", String(ID), primary_key=True),
    Column("member_id", String(ID), ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(ID)),
    Column("kind", String(32), nullable=False),  # play, click, search, rate; ad kinds later
    Column("title_id", String(ID)),
    Column("query", Text),
    Column("value", Float),  # a rating, a watched fraction, a quartile
    Column("ad_serving_id", String(ID)),  # joins an ad event back to its decision
    Column("ts", BigInteger, nullable=False),
)
Index("events_by_member", events.c.member_id, events.c.ts)

imports = Table(
    "imports",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # titles, ratings, movielens
    Column("file", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("imported_at", BigInteger, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("path", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("metrics", Text),  # JSON
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("digest", String(64), nullable=False),  # sha256 of the secret; the secret is never stored
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
)

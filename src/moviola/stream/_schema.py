"""The service's tables, for SQLite and PostgreSQL alike (SQLAlchemy Core, no ORM).

Ids are text, as catalogs and member systems name them. Times are UTC epoch seconds.
Events are one table for everything members do (plays, clicks, searches, and later ad
impressions, quartiles and interactions): a client-chosen ``event_id`` makes a replayed
event count once, and ``session_id`` groups what one visit did.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
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


def dialect_insert(conn: Connection, table: Table) -> Any:
    """The store's own INSERT (SQLite's or PostgreSQL's), which has ON CONFLICT."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)

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

# Ads (0003): campaigns and their creatives, every decision taken (with the propensity it
# was taken with), the counters that enforce caps and pacing, and each decision's reward
# once it is known. Ad events themselves are rows of ``events`` (kind ``ad_*``).

ad_campaigns = Table(
    "ad_campaigns",
    metadata,
    Column("campaign_id", String(ID), primary_key=True),
    Column("advertiser", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("starts_at", BigInteger, nullable=False),  # the flight, epoch seconds, [start, end)
    Column("ends_at", BigInteger, nullable=False),
    Column("budget", BigInteger, nullable=False),  # impressions over the flight
    Column("daily_goal", BigInteger),  # impressions a day the pacing aims at
    Column("spec", Text, nullable=False),  # JSON: targeting, caps, category, click-through
    Column("sha256", String(64), nullable=False),  # of the campaign file as added
    Column("added_at", BigInteger, nullable=False),
    Column("paused", Integer, nullable=False, server_default="0"),
)

ad_creatives = Table(
    "ad_creatives",
    metadata,
    Column("creative_id", String(ID), primary_key=True),
    Column("campaign_id", String(ID), ForeignKey("ad_campaigns.campaign_id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("media", Text, nullable=False),  # a path in the service folder (ads/<creative>/...)
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("codec", String(32), nullable=False),  # RFC 6381, e.g. avc1.64001f
    Column("bitrate_kbps", Integer, nullable=False),
    Column("simid", Text),  # the SIMID HTML, a path in the service folder
    Column("ad_parameters", Text),  # JSON handed to the SIMID creative
    Column("click_through", Text),
    Column("skip_offset", String(16)),  # HH:MM:SS[.mmm], or null: not skippable
    Column("sha256", String(64), nullable=False),  # of the MP4
)
Index("ad_creatives_by_campaign", ad_creatives.c.campaign_id)

ad_decisions = Table(
    "ad_decisions",
    metadata,
    Column("serving_id", String(ID), primary_key=True),  # the VAST AdServingId
    Column("member_id", String(ID), nullable=False),
    Column("title_id", String(ID)),
    Column("slot", String(32), nullable=False),
    Column("position", Integer, nullable=False),  # in the pod, from 1
    Column("creative_id", String(ID), nullable=False),
    Column("campaign_id", String(ID), nullable=False),
    Column("propensity", Float, nullable=False),  # of the chosen creative, never below the floor
    Column("context", Text, nullable=False),  # JSON: features, eligible creatives, their probabilities
    Column("model_version", String(64), nullable=False),
    Column("ts", BigInteger, nullable=False),
)
Index("ad_decisions_by_member", ad_decisions.c.member_id, ad_decisions.c.ts)
Index("ad_decisions_by_ts", ad_decisions.c.ts)  # the sweep for decisions left open
Index("events_by_ad_serving_id", events.c.ad_serving_id)  # a decision's events (0003)

ad_counters = Table(
    "ad_counters",
    metadata,
    Column("key", String(200), primary_key=True),  # what is counted, in which window
    Column("n", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # when the window is over (for clean-up)
)

ad_rewards = Table(
    "ad_rewards",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # the order learners read them in
    Column("serving_id", String(ID), ForeignKey("ad_decisions.serving_id", ondelete="CASCADE"),
           nullable=False, unique=True),  # fmt: skip
    Column("reward", Float, nullable=False),
    Column("events", Text, nullable=False),  # the event kinds that made it, comma-separated
    Column("closed_at", BigInteger, nullable=False),
)

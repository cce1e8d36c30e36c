"""The first schema: catalog, members, ratings, events, imports, model versions, API keys.

Written out in full, not taken from ``_schema``: a migration is history and must keep
meaning what it meant when later ones change the live schema.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "titles",
        sa.Column("title_id", sa.String(64), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("year", sa.Integer),
        sa.Column("synopsis", sa.Text),
        sa.Column("poster", sa.Text),
        sa.Column("trailer", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("added_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "title_genres",
        sa.Column("title_id", sa.String(64), sa.ForeignKey("titles.title_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("genre", sa.String(64), primary_key=True),
    )
    op.create_table(
        "members",
        sa.Column("member_id", sa.String(64), primary_key=True),
        sa.Column("age", sa.Integer),
        sa.Column("gender", sa.String(16)),
        sa.Column("occupation", sa.String(64)),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ratings",
        sa.Column("member_id", sa.String(64), sa.ForeignKey("members.member_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("title_id", sa.String(64), sa.ForeignKey("titles.title_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("rating", sa.Float, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ratings_by_title", "ratings", ["title_id"])
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.String(64), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
        sa.Column("session_id", sa.String(64)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title_id", sa.String(64)),
        sa.Column("query", sa.Text),
        sa.Column("value", sa.Float),
        sa.Column("ad_serving_id", sa.String(64)),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_index("events_by_member", "events", ["member_id", "ts"])
    op.create_table(
        "imports",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("metrics", sa.Text),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger),
    )


def downgrade() -> None:
    for table in ("api_keys", "model_versions", "imports", "events", "ratings", "members",
                  "title_genres", "titles"):  # fmt: skip
        op.drop_table(table)

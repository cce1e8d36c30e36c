"""Ads: campaigns, creatives, decisions (with their propensities), cap and pacing counters,
and rewards.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ad_campaigns",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("advertiser", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("starts_at", sa.BigInteger, nullable=False),
        sa.Column("ends_at", sa.BigInteger, nullable=False),
        sa.Column("budget", sa.BigInteger, nullable=False),
        sa.Column("daily_goal", sa.BigInteger),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("added_at", sa.BigInteger, nullable=False),
        sa.Column("paused", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "ad_creatives",
        sa.Column("creative_id", sa.String(64), primary_key=True),
        sa.Column("campaign_id", sa.String(64), sa.ForeignKey("ad_campaigns.campaign_id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("media", sa.Text, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("codec", sa.String(32), nullable=False),
        sa.Column("bitrate_kbps", sa.Integer, nullable=False),
        sa.Column("simid", sa.Text),
        sa.Column("ad_parameters", sa.Text),
        sa.Column("click_through", sa.Text),
        sa.Column("skip_offset", sa.String(16)),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_index("ad_creatives_by_campaign", "ad_creatives", ["campaign_id"])
    op.create_table(
        "ad_decisions",
        sa.Column("serving_id", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("title_id", sa.String(64)),
        sa.Column("slot", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("creative_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("propensity", sa.Float, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ad_decisions_by_member", "ad_decisions", ["member_id", "ts"])
    op.create_index("ad_decisions_by_ts", "ad_decisions", ["ts"])
    op.create_index("events_by_ad_serving_id", "events", ["ad_serving_id"])
    op.create_table(
        "ad_counters",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ad_rewards",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("serving_id", sa.String(64), sa.ForeignKey("ad_decisions.serving_id", ondelete="CASCADE"),
                  nullable=False, unique=True),  # fmt: skip
        sa.Column("reward", sa.Float, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("closed_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_index("events_by_ad_serving_id", "events")
    for table in ("ad_rewards", "ad_counters", "ad_decisions", "ad_creatives", "ad_campaigns"):
        op.drop_table(table)

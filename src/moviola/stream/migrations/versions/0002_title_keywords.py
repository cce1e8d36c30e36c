"""Titles get keywords: words for search that the synopsis does not carry (a published
production's VFX and scene notes; a CSV's optional ``keywords`` column).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("titles", sa.Column("keywords", sa.Text))


def downgrade() -> None:
    op.drop_column("titles", "keywords")

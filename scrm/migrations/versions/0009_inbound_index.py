"""A partial index on the posts a file marked inbound or outbound (most mentions are neither).

``scrm.responses`` finds the posts marked inbound in a period through it, instead of reading
every mention of the period. Partial, so it costs nothing for the mentions without a mark.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_mention_inbound ON mention (created_at) WHERE inbound IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_mention_inbound")

"""Hourly activity roll-up kept exact by triggers on mention_brand.

Every trend and KPI reads ``activity_hourly`` (at most brands × hours × platforms × labels
rows) instead of scanning ``mention_brand``. Row triggers apply each insert, update and
delete of a link, on every code path (imports, relabels, cascaded deletes). Existing
databases are back-filled.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEY = "brand_id = {r}.brand_id AND hour = {r}.ts / 3600 AND platform = {r}.platform AND label = {r}.label"
SQLITE_ADD = (
    "INSERT INTO activity_hourly (brand_id, hour, platform, label, mentions, reach, engagement) "
    "VALUES (new.brand_id, new.ts / 3600, new.platform, new.label, 1, new.reach, new.engagement) "
    "ON CONFLICT (brand_id, hour, platform, label) DO UPDATE SET mentions = mentions + 1, "
    "reach = reach + excluded.reach, engagement = engagement + excluded.engagement;"
)
SQLITE_REMOVE = (
    "UPDATE activity_hourly SET mentions = mentions - 1, reach = reach - old.reach, "
    f"engagement = engagement - old.engagement WHERE {KEY.format(r='old')}; "
    f"DELETE FROM activity_hourly WHERE {KEY.format(r='old')} AND mentions <= 0;"
)
SQLITE_UP = [
    f"CREATE TRIGGER activity_hourly_ai AFTER INSERT ON mention_brand BEGIN {SQLITE_ADD} END",
    f"CREATE TRIGGER activity_hourly_ad AFTER DELETE ON mention_brand BEGIN {SQLITE_REMOVE} END",
    "CREATE TRIGGER activity_hourly_au AFTER UPDATE OF brand_id, ts, platform, label, reach, engagement "
    f"ON mention_brand BEGIN {SQLITE_REMOVE} {SQLITE_ADD} END",
]
SQLITE_DOWN = [f"DROP TRIGGER IF EXISTS activity_hourly_{s}" for s in ("ai", "ad", "au")]
PG_UP = [
    f"""CREATE OR REPLACE FUNCTION activity_hourly_apply() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE activity_hourly SET mentions = mentions - 1, reach = reach - OLD.reach,
      engagement = engagement - OLD.engagement WHERE {KEY.format(r="OLD")};
    DELETE FROM activity_hourly WHERE {KEY.format(r="OLD")} AND mentions <= 0;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO activity_hourly (brand_id, hour, platform, label, mentions, reach, engagement)
    VALUES (NEW.brand_id, NEW.ts / 3600, NEW.platform, NEW.label, 1, NEW.reach, NEW.engagement)
    ON CONFLICT (brand_id, hour, platform, label) DO UPDATE SET
      mentions = activity_hourly.mentions + 1, reach = activity_hourly.reach + EXCLUDED.reach,
      engagement = activity_hourly.engagement + EXCLUDED.engagement;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER activity_hourly_apply AFTER INSERT OR DELETE OR UPDATE OF brand_id, ts, platform, "
    "label, reach, engagement ON mention_brand FOR EACH ROW EXECUTE FUNCTION activity_hourly_apply()",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS activity_hourly_apply ON mention_brand",
    "DROP FUNCTION IF EXISTS activity_hourly_apply()",
]
BACKFILL = (
    "INSERT INTO activity_hourly (brand_id, hour, platform, label, mentions, reach, engagement) "
    "SELECT brand_id, ts / 3600, platform, label, count(*), sum(reach), sum(engagement) "
    "FROM mention_brand GROUP BY brand_id, ts / 3600, platform, label"
)


def upgrade() -> None:
    op.create_table(
        "activity_hourly",
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=10), nullable=False),
        sa.Column("mentions", sa.BigInteger(), nullable=False),
        sa.Column("reach", sa.BigInteger(), nullable=False),
        sa.Column("engagement", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("brand_id", "hour", "platform", "label"),
    )
    op.execute(BACKFILL)
    for sql in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP:
        op.execute(sql)


def downgrade() -> None:
    for sql in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN:
        op.execute(sql)
    op.drop_table("activity_hourly")

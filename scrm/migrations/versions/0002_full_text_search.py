"""Full-text search over mention text.

SQLite: an external-content FTS5 table kept in step by triggers. PostgreSQL: a GIN index on
``to_tsvector('simple', text)``. Neither is part of the SQLModel metadata; ``scrm.search``
queries them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE mention_fts USING fts5(text, content='mention', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER mention_fts_ai AFTER INSERT ON mention BEGIN "
    "INSERT INTO mention_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER mention_fts_ad AFTER DELETE ON mention BEGIN "
    "INSERT INTO mention_fts(mention_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER mention_fts_au AFTER UPDATE OF text ON mention BEGIN "
    "INSERT INTO mention_fts(mention_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO mention_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO mention_fts(mention_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS mention_fts_au",
    "DROP TRIGGER IF EXISTS mention_fts_ad",
    "DROP TRIGGER IF EXISTS mention_fts_ai",
    "DROP TABLE IF EXISTS mention_fts",
]
PG_UP = ["CREATE INDEX IF NOT EXISTS ix_mention_fts ON mention USING gin (to_tsvector('simple', text))"]
PG_DOWN = ["DROP INDEX IF EXISTS ix_mention_fts"]


def _run(statements: list[str]) -> None:
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN)

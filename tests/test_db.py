"""Database: migrations equal the models, pragmas, timezone-aware datetimes, hot-query index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from scrm.db import include_object, init_db, make_engine
from scrm.exceptions import ConfigError, DatabaseError
from scrm.models import Mention


@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning"
)
def test_migrated_schema_equals_the_models(engine) -> None:
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object}
        ctx = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_init_db_is_idempotent(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    init_db(engine)
    init_db(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0009"
    engine.dispose()


def test_sqlite_pragmas(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar_one() == 30000
    engine.dispose()


def test_datetimes_come_back_aware_utc(engine) -> None:
    paris = timezone(timedelta(hours=2))
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Mention.__table__).values(
                platform="x", external_id="1", text="t", created_at=datetime(2026, 7, 1, 12, tzinfo=paris)
            )
        )
        value = conn.execute(sa.select(Mention.__table__.c.created_at)).scalar_one()
    assert value == datetime(2026, 7, 1, 10, tzinfo=UTC) and value.utcoffset() == timedelta(0)


def test_foreign_keys_are_enforced(engine) -> None:
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO mention_brand (mention_id, brand_id, ts, platform, label, reach, "
                "engagement) VALUES (999, 999, 0, 'x', 'neutral', 0, 0)"
            )
        )


def test_hot_aggregation_is_answered_from_the_covering_index(memory_engine) -> None:
    sql = (
        "SELECT brand_id, ts / 86400 AS day, label, count(*), sum(reach), sum(engagement) FROM mention_brand "
        "WHERE brand_id IN (1, 2) AND ts >= 0 AND ts < 99999999999 GROUP BY brand_id, day, label"
    )
    with memory_engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    assert "COVERING INDEX ix_mention_brand_hot" in plan


def test_bad_database_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="Invalid database URL"):
        make_engine("sqlite:::nonsense::")
    from scrm.config import load_settings

    with pytest.raises(ConfigError, match="SCRM_DATABASE_URL"):
        load_settings(database_url="mysql://x")


def test_has_mentions(memory_engine) -> None:
    from scrm.ingest.pipeline import ingest_mentions
    from scrm.stats import has_mentions
    from tests.factories import mention

    assert not has_mentions(engine=memory_engine)
    ingest_mentions([mention(1)], engine=memory_engine, source="test")
    assert has_mentions(engine=memory_engine)


def test_customers_migration_keeps_authors_links_and_triggers(tmp_path) -> None:
    from alembic import command

    from scrm.db import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0005")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO author (platform, handle, display_name, followers, verified, location, "
                "profile_url) VALUES ('twitter', 'bob', 'Bob', 1, 0, '', '')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO mention (platform, external_id, author_id, created_at, text, url, likes, shares, "
                "comments, reach, language, source, compound, label) VALUES ('twitter', '1', 1, "
                "'2026-01-01 00:00:00', 'hello northwind', '', 0, 0, 0, 0, '', '', 0, 'neutral')"
            )
        )
    triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    with engine.connect() as conn:
        before = conn.execute(sa.text(triggers)).scalars().all()
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(sa.text(triggers)).scalars().all() == before and len(before) == 6
        assert conn.execute(sa.text("SELECT author_id FROM mention")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT email FROM author")).scalar_one() == ""
        found = conn.execute(sa.text("SELECT rowid FROM mention_fts WHERE mention_fts MATCH 'northwind'"))
        assert found.scalar_one() == 1
    engine.dispose()

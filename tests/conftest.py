"""Shared fixtures: fresh databases on SQLite and PostgreSQL, and small factories.

PostgreSQL tests take their server from ``SCRM_TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), create a database of their own for the
run and drop it at the end. Without a server they skip, except under ``CI=true``, where
they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from scrm.db import init_db, make_engine

PG_SERVER_URL = os.environ.get("SCRM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_admin_engine() -> Engine:
    return make_engine(PG_SERVER_URL).execution_options(isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database created for this test run (dropped afterwards)."""
    admin = _pg_admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL not reachable at {PG_SERVER_URL}: {str(exc.orig).strip()[:200]}"
        if IN_CI:
            pytest.fail(reason + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    name = f"scrm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """A migrated engine on this run's PostgreSQL database."""
    engine = make_engine(pg_url)
    init_db(engine)
    yield engine
    engine.dispose()


def _truncate_pg(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A fresh, migrated database: a temp-file SQLite one, then PostgreSQL."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'scrm.db'}")
        init_db(eng)
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("pg_engine")
        _truncate_pg(eng)
        yield eng


@pytest.fixture
def memory_engine() -> Iterator[Engine]:
    """A fresh in-memory SQLite database (fast, for tests that need no second backend)."""
    eng = make_engine("sqlite://")
    init_db(eng)
    yield eng
    eng.dispose()

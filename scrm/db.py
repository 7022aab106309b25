"""Engine creation, schema migration and session helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from scrm.exceptions import DatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Objects the models cannot express: full-text search (migration 0002), the explorer's sort
# indexes, one on an expression (0007), and a partial index (0009).
UNMODELLED = (
    "mention_fts",
    "ix_mention_fts",
    "ix_mention_reach",
    "ix_mention_compound",
    "ix_mention_engagement",
    "ix_mention_inbound",
)


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic hook: leave the full-text search objects, not in the models, to migrations."""
    return not (name or "").startswith(UNMODELLED)


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` (default: the configured ``SCRM_DATABASE_URL``).

    SQLite gets WAL mode, a busy timeout and foreign keys; an in-memory SQLite database
    is shared by every connection of the engine (``StaticPool``).
    """
    if url is None:
        from scrm.config import get_settings

        url = get_settings().database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        sa_url = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DatabaseError(f"Invalid database URL {url!r}: {exc}") from None
    if sa_url.get_backend_name() == "sqlite":
        memory = sa_url.database in (None, "", ":memory:")
        if not memory:
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = StaticPool
        engine = sa.create_engine(sa_url, echo=echo, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(sa_url, echo=echo, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def alembic_config(engine: Engine):
    """An Alembic config bound to ``engine`` (migrations ship inside the package)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def init_db(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (safe to call every start)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "head")
    except sa.exc.OperationalError as exc:
        raise DatabaseError(f"Cannot open or migrate the database: {exc.orig}") from None


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def is_sqlite(engine: Engine) -> bool:
    """True for a SQLite engine."""
    return engine.dialect.name == "sqlite"

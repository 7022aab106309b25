"""Alembic environment: runs against the engine scrm passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from scrm import models  # noqa: F401 - registers the tables
from scrm.db import include_object

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run migrations on scrm's engine (or one built from the configured URL)."""
    engine = context.config.attributes.get("engine")
    if engine is None:
        from scrm.db import make_engine

        engine = make_engine()
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        context.run_migrations()


run_migrations_online()

"""What every importer shares: its :class:`ImportBatch` record, the rows it rejects, safe text.

The mention pipeline and the customer importer both start a batch, keep each rejected row
(number, reason, raw content) in :class:`ImportRejection`, store their counts in the same
transaction as the rows they describe, and mark the batch done or failed at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scrm.models import ImportBatch, ImportRejection
from scrm.timeutil import utcnow

_B = ImportBatch.__table__


@dataclass(frozen=True)
class Rejection:
    """A row that was not stored (or a duplicate inside the file): its number and why."""

    row: int
    reason: str


@dataclass
class BatchResult:
    """What an import did; importers add their own counts. ``rejections`` holds the first
    1,000; all are in the database."""

    batch_id: int
    read: int = 0
    stored: int = 0
    updated: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0
    file_name: str = ""
    format: str = ""
    mapping: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the importers' ``--json`` output): every field, ``file_name`` as ``file``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "rejections":
                value = [{"row": r.row, "reason": r.reason} for r in value]
            elif f.name == "seconds":
                value = round(value, 3)
            out["file" if f.name == "file_name" else f.name] = value
        return out


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT for ``table`` with the dialect's ``on_conflict_*`` (SQLite or PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def safe_text(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, storable anywhere (no NUL, valid UTF-8)."""
    value = value[:limit].replace("\x00", "\\x00")
    return value.encode("utf-8", "replace").decode("utf-8")


def raw_record(record: dict[str, Any]) -> str:
    """A parsed record as ``key=value; ...`` text (each value cut to 300 characters)."""
    parts = []
    for k, v in record.items():
        text = v if isinstance(v, str) else repr(v)
        parts.append(f"{k}={text[:300]}")
    return "; ".join(parts)


def start_batch(engine: Engine, *, source: str, file_name: str = "") -> int:
    """Record a new running import; returns its id."""
    with engine.begin() as conn:
        return conn.execute(
            sa.insert(_B).values(
                source=source, file_name=file_name[:500], started_at=utcnow(), status="running"
            )
        ).inserted_primary_key[0]


def record_rejections(conn: Connection, batch_id: int, rows: Sequence[tuple[int, str, str]]) -> None:
    """Keep rejected rows ``(row number, reason, raw content)`` of a batch."""
    if rows:
        conn.execute(
            sa.insert(ImportRejection.__table__),
            [
                {
                    "batch_id": batch_id,
                    "row_number": row,
                    "reason": safe_text(reason, 500),
                    "raw": safe_text(raw, 2000),
                }
                for row, reason, raw in rows
            ],
        )


def save_counts(conn: Connection, batch_id: int, **counts: int) -> None:
    """Store a batch's running counts (``read``, ``stored``, ``updated``...) in ``conn``'s transaction."""
    conn.execute(sa.update(_B).where(_B.c.id == batch_id).values(**counts))


def finish_batch(engine: Engine, batch_id: int, *, status: str, error: str = "") -> None:
    """Mark a batch ``done`` or ``failed`` (with its error).

    A failure to record a failure is ignored (the original error matters more).
    """
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.update(_B)
                .where(_B.c.id == batch_id)
                .values(status=status, error=error[:2000], finished_at=utcnow())
            )
    except sa.exc.SQLAlchemyError:
        if status == "done":
            raise


def set_file_hash(engine: Engine, batch_id: int, sha256: str) -> None:
    """Record the sha256 of the file a batch read."""
    with engine.begin() as conn:
        conn.execute(sa.update(_B).where(_B.c.id == batch_id).values(file_hash=sha256))

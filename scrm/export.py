"""Exports: streamed, formula-safe CSV of mentions."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.brands import get_brand
from scrm.models import Author, Brand, Mention, MentionBrand

MENTION_COLUMNS = (
    "platform",
    "external_id",
    "brands",
    "author",
    "created_at",
    "text",
    "sentiment",
    "compound",
    "likes",
    "shares",
    "comments",
    "reach",
    "url",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_M = Mention.__table__
_MB = MentionBrand.__table__


def neutralise(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with an apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def iter_mention_rows(
    *,
    engine: Engine,
    brand: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    chunk: int = 5000,
) -> Iterator[list[str]]:
    """Rows of :data:`MENTION_COLUMNS` (formula-safe text), streamed in id order.

    ``since`` is inclusive and ``until`` exclusive; ``brand`` keeps mentions linked to it.
    """
    a = Author.__table__
    conds = []
    if brand:
        brand_id = get_brand(engine=engine, name=brand).id
        conds.append(sa.exists().where(_MB.c.mention_id == _M.c.id, _MB.c.brand_id == brand_id))
    if since:
        conds.append(_M.c.created_at >= since)
    if until:
        conds.append(_M.c.created_at < until)
    cols = [
        _M.c.id,
        _M.c.platform,
        _M.c.external_id,
        a.c.handle,
        _M.c.created_at,
        _M.c.text,
        sa.func.coalesce(_M.c.label_override, _M.c.label).label("sentiment"),
        _M.c.compound,
        _M.c.likes,
        _M.c.shares,
        _M.c.comments,
        _M.c.reach,
        _M.c.url,
    ]
    last = 0
    b = Brand.__table__
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(*cols)
                .select_from(_M.outerjoin(a, a.c.id == _M.c.author_id))
                .where(_M.c.id > last, *conds)
                .order_by(_M.c.id)
                .limit(chunk)
            ).all()
            if not rows:
                return
            names: dict[int, list[str]] = {}
            for mid, name in conn.execute(
                sa.select(_MB.c.mention_id, b.c.name)
                .join(b, b.c.id == _MB.c.brand_id)
                .where(_MB.c.mention_id.in_([r.id for r in rows]))
                .order_by(b.c.name)
            ):
                names.setdefault(mid, []).append(name)
        for r in rows:
            created = r.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
            yield [
                neutralise(r.platform),
                neutralise(r.external_id),
                neutralise(";".join(names.get(r.id, []))),
                neutralise(r.handle or ""),
                created,
                neutralise(r.text),
                r.sentiment,
                f"{r.compound:.4f}",
                str(r.likes),
                str(r.shares),
                str(r.comments),
                str(r.reach),
                neutralise(r.url),
            ]
        last = rows[-1].id


def write_mentions_csv(out: IO[str], **filters: object) -> int:
    """Write the mentions export (header + rows) to a text stream; returns the row count."""
    writer = csv.writer(out)
    writer.writerow(MENTION_COLUMNS)
    count = 0
    for row in iter_mention_rows(**filters):  # type: ignore[arg-type]
        writer.writerow(row)
        count += 1
    return count


def export_mentions(path: Path | str, **filters: object) -> int:
    """Write the mentions export to ``path`` (UTF-8); returns the number of rows."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        return write_mentions_csv(out, **filters)

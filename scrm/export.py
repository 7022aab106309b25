"""Exports: streamed, formula-safe CSV of mentions.

Two ways to choose the mentions: the command line's ``brand``/``since``/``until``, and the
explorer's shared :class:`~scrm.filters.Filters` plus search ``text`` (the very conditions
:mod:`scrm.search` uses, so the download holds every row the explorer counts). Either way
rows are read from the database in chunks, never all at once.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scrm import search
from scrm.brands import get_brand
from scrm.exceptions import ScrmError
from scrm.filters import Filters
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
_A = Author.__table__
_COLUMNS = (
    _M.c.id,
    _M.c.platform,
    _M.c.external_id,
    _A.c.handle,
    _M.c.created_at,
    _M.c.text,
    sa.func.coalesce(_M.c.label_override, _M.c.label).label("sentiment"),
    _M.c.compound,
    _M.c.likes,
    _M.c.shares,
    _M.c.comments,
    _M.c.reach,
    _M.c.url,
)


def neutralise(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with an apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def iter_mention_rows(
    *,
    engine: Engine,
    brand: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    filters: Filters | None = None,
    text: str = "",
    chunk: int = 5000,
) -> Iterator[list[str]]:
    """Rows of :data:`MENTION_COLUMNS` (formula-safe text), streamed in id order.

    ``since`` is inclusive and ``until`` exclusive; ``brand`` keeps mentions linked to it.
    ``filters`` and ``text`` keep exactly the mentions :func:`scrm.search.search_mentions`
    finds for them (all of them, not one page). All given conditions apply together.
    Raises :class:`ScrmError` for an unknown brand, or a ``text`` without ``filters``.
    """
    conds: list[sa.ColumnElement[bool]] = []
    if brand:
        brand_id = get_brand(engine=engine, name=brand).id
        conds.append(sa.exists().where(_MB.c.mention_id == _M.c.id, _MB.c.brand_id == brand_id))
    if since:
        conds.append(_M.c.created_at >= since)
    if until:
        conds.append(_M.c.created_at < until)
    if filters is None:
        if text.strip():
            raise ScrmError("A text search is exported together with the filters it applies to")
        yield from _keyset_rows(engine, conds, chunk)
        return
    brands = _brand_map(engine)
    for ids in search.iter_matching_ids(engine=engine, filters=filters, text=text, chunk=chunk):
        with engine.connect() as conn:
            rows = _select(conn, [_M.c.id.in_(ids), *conds])
            names = _brand_names(conn, rows, brands)
        yield from _format(rows, names)


def _keyset_rows(engine: Engine, conds: list[sa.ColumnElement[bool]], chunk: int) -> Iterator[list[str]]:
    """Every mention meeting ``conds``, a chunk per query (keyset on the id)."""
    brands = _brand_map(engine)
    last = 0
    while True:
        with engine.connect() as conn:
            rows = _select(conn, [_M.c.id > last, *conds], limit=chunk)
            if not rows:
                return
            names = _brand_names(conn, rows, brands)
        yield from _format(rows, names)
        last = rows[-1].id


def _select(conn: Connection, where: list[sa.ColumnElement[bool]], limit: int | None = None) -> list[sa.Row]:
    stmt = (
        sa.select(*_COLUMNS)
        .select_from(_M.outerjoin(_A, _A.c.id == _M.c.author_id))
        .where(*where)
        .order_by(_M.c.id)
        .limit(limit)
    )
    return list(conn.execute(stmt))


def _brand_map(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(Brand.__table__.c.id, Brand.__table__.c.name)).all())


def _brand_names(conn: Connection, rows: Sequence[sa.Row], brands: dict[int, str]) -> dict[int, list[str]]:
    """Mention id → sorted brand names for ``rows`` (in id order), read as one id range.

    Chunks are disjoint, ascending id ranges, so a whole export reads the link table once.
    """
    if not rows:
        return {}
    wanted = {r.id for r in rows}
    out: dict[int, list[str]] = {}
    pairs = conn.execute(
        sa.select(_MB.c.mention_id, _MB.c.brand_id).where(_MB.c.mention_id.between(rows[0].id, rows[-1].id))
    )
    for mid, bid in pairs:
        if mid in wanted and bid in brands:
            out.setdefault(mid, []).append(brands[bid])
    for names in out.values():
        names.sort()
    return out


def _format(rows: Sequence[sa.Row], names: dict[int, list[str]]) -> Iterator[list[str]]:
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


def write_mentions_csv(out: IO[str], **filters: object) -> int:
    """Write the mentions export (header + rows) to a text stream; returns the row count.

    ``filters`` are the keyword arguments of :func:`iter_mention_rows`.
    """
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


def mentions_csv_bytes(**filters: object) -> bytes:
    """The mentions export as UTF-8 bytes (for a download), built in a temp file on disk.

    Rows stream from the database into the file, so memory holds the finished bytes only
    once. ``filters`` are the keyword arguments of :func:`iter_mention_rows`.
    """
    with tempfile.TemporaryFile(mode="w+b") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        write_mentions_csv(text, **filters)
        text.flush()
        raw.seek(0)
        data = raw.read()
        text.detach()
    return data

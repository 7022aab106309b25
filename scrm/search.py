"""The mentions explorer: full-text search, filters, sorting and server-side pagination.

Text search uses SQLite FTS5 or PostgreSQL full-text search through an index (migration
0002), never a ``LIKE '%x%'`` scan. The user's words are always passed as bound
parameters and quoted, so a search cannot inject SQL or FTS syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.models import Author, Brand, Mention, MentionBrand

_M = Mention.__table__
_MB = MentionBrand.__table__
_A = Author.__table__
SORTS = {
    "newest": (_M.c.created_at.desc(), _M.c.id.desc()),
    "oldest": (_M.c.created_at.asc(), _M.c.id.asc()),
    "reach": (_M.c.reach.desc(), _M.c.id.desc()),
    "engagement": ((_M.c.likes + _M.c.shares + _M.c.comments).desc(), _M.c.id.desc()),
    "most negative": (_M.c.compound.asc(), _M.c.id.desc()),
    "most positive": (_M.c.compound.desc(), _M.c.id.desc()),
}
PAGE_COLUMNS = (
    "id",
    "created_at",
    "platform",
    "author",
    "text",
    "sentiment",
    "compound",
    "overridden",
    "likes",
    "shares",
    "comments",
    "reach",
    "url",
    "brands",
)
MAX_PAGE_SIZE = 500
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class MentionPage:
    """One page of results and the number of matching mentions."""

    rows: pd.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages the results fill."""
        return max(1, -(-self.total // self.page_size))


def fts_terms(text: str) -> list[str]:
    """The words of a search box (letters and digits only; operators are not passed through)."""
    return _WORD.findall(text.lower())[:20]


def _text_condition(conn: Connection, terms: list[str]) -> sa.ColumnElement[bool]:
    if conn.dialect.name == "sqlite":
        match = " ".join(f'"{t}"' for t in terms)  # quoted: FTS5 operators never come from users
        ids = sa.text("SELECT rowid FROM mention_fts WHERE mention_fts MATCH :q").bindparams(q=match)
        return _M.c.id.in_(ids.columns(sa.column("rowid", sa.Integer)))
    vector = sa.func.to_tsvector(sa.literal_column("'simple'"), _M.c.text)
    query = sa.func.plainto_tsquery(sa.literal_column("'simple'"), " ".join(terms))
    return vector.bool_op("@@")(query)


def _conditions(conn: Connection, filters: Filters, text: str) -> list[sa.ColumnElement[bool]]:
    link = sa.exists().where(_MB.c.mention_id == _M.c.id, *filters.link_conditions())
    conds: list[sa.ColumnElement[bool]] = [link]
    terms = fts_terms(text)
    if text.strip() and not terms:
        raise ScrmError("Search for words (letters or digits)")
    if terms:
        conds.append(_text_condition(conn, terms))
    return conds


def search_mentions(
    *,
    engine: Engine,
    filters: Filters,
    text: str = "",
    sort: str = "newest",
    page: int = 1,
    page_size: int = 50,
) -> MentionPage:
    """Mentions linked to the filtered brands in the period, optionally containing all words of ``text``.

    Columns of ``rows``: see :data:`PAGE_COLUMNS` (``sentiment`` has overrides applied,
    ``brands`` is a ``;``-joined list).
    """
    if sort not in SORTS:
        raise ScrmError(f"Unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ScrmError(f"Page size must be between 1 and {MAX_PAGE_SIZE}")
    page = max(1, page)
    with engine.connect() as conn:
        conds = _conditions(conn, filters, text)
        total = conn.execute(sa.select(sa.func.count()).select_from(_M).where(*conds)).scalar_one()
        stmt = (
            sa.select(
                _M.c.id,
                _M.c.created_at,
                _M.c.platform,
                sa.func.coalesce(_A.c.handle, "").label("author"),
                _M.c.text,
                sa.func.coalesce(_M.c.label_override, _M.c.label).label("sentiment"),
                _M.c.compound,
                _M.c.label_override.is_not(None).label("overridden"),
                _M.c.likes,
                _M.c.shares,
                _M.c.comments,
                _M.c.reach,
                _M.c.url,
            )
            .select_from(_M.outerjoin(_A, _A.c.id == _M.c.author_id))
            .where(*conds)
            .order_by(*SORTS[sort])
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        rows = conn.execute(stmt).all()
        names = _brand_names(conn, [r.id for r in rows])
    frame = pd.DataFrame(rows, columns=list(PAGE_COLUMNS[:-1]))
    frame["brands"] = [";".join(names.get(i, [])) for i in frame["id"]]
    return MentionPage(rows=frame, total=total, page=page, page_size=page_size)


def _brand_names(conn: Connection, ids: list[int]) -> dict[int, list[str]]:
    b = Brand.__table__
    out: dict[int, list[str]] = {}
    if ids:
        stmt = (
            sa.select(_MB.c.mention_id, b.c.name)
            .join(b, b.c.id == _MB.c.brand_id)
            .where(_MB.c.mention_id.in_(ids))
            .order_by(b.c.name)
        )
        for mid, name in conn.execute(stmt):
            out.setdefault(mid, []).append(name)
    return out

"""The mentions explorer: full-text search, filters, sorting, server-side pagination, details.

Text search uses SQLite FTS5 or PostgreSQL full-text search through an index (migration
0002), never a ``LIKE '%x%'`` scan. The user's words are always passed as bound
parameters and quoted, so a search cannot inject SQL or FTS syntax.

How a page is answered at a million mentions (see docs/PERFORMANCE.md):

* the **count** reads ``mention_brand`` only (the filters live there; with text, the FTS
  match is intersected as a set of ids), never the wide ``mention`` rows;
* the **page's ids** come either from walking ``ix_mention_created_at`` in order and
  testing each row (newest/oldest when matches are common: stops after one page), or
  from the set of matching ids, sorted (any other sort, or rare matches);
* only then are the page's full rows (text, author) read, by primary key.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scrm.exceptions import NotFoundError, ScrmError
from scrm.filters import Filters
from scrm.models import AuditLog, Author, Brand, Mention, MentionBrand
from scrm.sentiment import Explanation, explain

_M = Mention.__table__
_MB = MentionBrand.__table__
_A = Author.__table__
_AUDIT = AuditLog.__table__
SORTS = {
    "newest": (_M.c.created_at.desc(), _M.c.id.desc()),
    "oldest": (_M.c.created_at.asc(), _M.c.id.asc()),
    "reach": (_M.c.reach.desc(), _M.c.id.desc()),
    "engagement": ((_M.c.likes + _M.c.shares + _M.c.comments).desc(), _M.c.id.desc()),
    "most negative": (_M.c.compound.asc(), _M.c.id.desc()),
    "most positive": (_M.c.compound.desc(), _M.c.id.desc()),
}
# The index on ``mention`` that returns rows in each sort's order. The explorer walks it
# (and stops after one page) when it exists and matches are common; otherwise it sorts
# the matching ids. Migrations 0001 (created_at) and 0004 (the others) create them.
WALK_INDEXES = {
    "newest": "ix_mention_created_at",
    "oldest": "ix_mention_created_at",
    "reach": "ix_mention_reach",
    "engagement": "ix_mention_engagement",
    "most negative": "ix_mention_compound",
    "most positive": "ix_mention_compound",
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
    "engagement",
    "reach",
    "url",
    "brands",
)
MAX_PAGE_SIZE = 500
SAFE_SCHEMES = ("http", "https")
RELABEL_ACTIONS = ("relabel", "relabel_clear")
_WORD = re.compile(r"\w+", re.UNICODE)
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\<>\"'`]")


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


def safe_url(url: object) -> str:
    """``url`` when it is an absolute http(s) link a browser can safely open, else ``""``.

    ``javascript:``, ``data:``, relative and scheme-relative links, and anything with
    whitespace, control characters, quotes or angle brackets come back empty.
    """
    if not isinstance(url, str):
        return ""
    value = url.strip()
    if not value or len(value) > 2000 or _UNSAFE_URL_CHARS.search(value):
        return ""
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.hostname:
        return ""
    return value


@dataclass(frozen=True)
class MentionMatch:
    """Which mentions a search matches, as SQL: the shared filters plus all words of a text.

    Build it with :func:`mention_match`; :mod:`scrm.export` uses the same conditions.
    """

    filters: Filters
    terms: tuple[str, ...]
    dialect: str

    def _text_ids(self) -> sa.Selectable:
        """Ids of the mentions containing every term (through the full-text index)."""
        if self.dialect == "sqlite":
            match = " ".join(f'"{t}"' for t in self.terms)  # quoted: FTS5 operators never come from users
            return (
                sa.text("SELECT rowid FROM mention_fts WHERE mention_fts MATCH :q")
                .bindparams(q=match)
                .columns(sa.column("rowid", sa.Integer))
            )
        return sa.select(_M.c.id).where(self._tsquery_condition())

    def _tsquery_condition(self) -> sa.ColumnElement[bool]:
        vector = sa.func.to_tsvector(sa.literal_column("'simple'"), _M.c.text)
        query = sa.func.plainto_tsquery(sa.literal_column("'simple'"), " ".join(self.terms))
        return vector.bool_op("@@")(query)

    def link_conditions(self) -> list[sa.ColumnElement[bool]]:
        """Conditions on ``mention_brand``: the filters, and the text as a set of ids."""
        conds = self.filters.link_conditions()
        if self.terms:
            conds.append(_MB.c.mention_id.in_(self._text_ids()))
        return conds

    def ids(self) -> sa.Select:
        """``SELECT DISTINCT mention_id`` of every matching mention, in id order."""
        return (
            sa.select(_MB.c.mention_id).where(*self.link_conditions()).distinct().order_by(_MB.c.mention_id)
        )

    def count(self) -> sa.Select:
        """``SELECT`` the number of matching mentions (a mention linked to two brands counts once)."""
        if len(self.filters.brand_ids) == 1:  # one link per (mention, brand): no duplicates
            return sa.select(sa.func.count()).select_from(_MB).where(*self.link_conditions())
        return sa.select(sa.func.count(sa.distinct(_MB.c.mention_id))).where(*self.link_conditions())

    def mention_conditions(self, *, period_on_mention: bool = False) -> list[sa.ColumnElement[bool]]:
        """Correlated conditions on ``mention`` rows, for walks of an index in order.

        With ``period_on_mention`` the period is repeated on ``mention.created_at``
        (widened by a second: ``ts`` is whole seconds) so its index bounds the walk; the
        link test is exact either way.
        """
        f = self.filters
        conds: list[sa.ColumnElement[bool]] = [
            sa.exists().where(_MB.c.mention_id == _M.c.id, *f.link_conditions())
        ]
        if period_on_mention:
            conds += [
                _M.c.created_at >= f.start - timedelta(seconds=1),
                _M.c.created_at < f.end + timedelta(seconds=1),
            ]
        if self.terms:
            if self.dialect == "sqlite":
                # ``id + 0``: a membership test, so SQLite keeps walking the sort's index
                conds.append((_M.c.id + 0).in_(self._text_ids()))
            else:
                conds.append(self._tsquery_condition())
        return conds


def mention_match(*, dialect: str, filters: Filters, text: str = "") -> MentionMatch:
    """The mentions linked to the filtered brands in the period that contain all words of ``text``.

    Raises :class:`ScrmError` when ``text`` has no word to search for.
    """
    terms = fts_terms(text)
    if text.strip() and not terms:
        raise ScrmError("Search for words (letters or digits)")
    return MentionMatch(filters=filters, terms=tuple(terms), dialect=dialect)


def count_mentions(*, engine: Engine, filters: Filters, text: str = "") -> int:
    """The number of mentions :func:`search_mentions` finds for these filters and text."""
    match = mention_match(dialect=engine.dialect.name, filters=filters, text=text)
    with engine.connect() as conn:
        return conn.execute(match.count()).scalar_one()


def iter_matching_ids(
    *, engine: Engine, filters: Filters, text: str = "", chunk: int = 5000
) -> Iterator[list[int]]:
    """The ids of every matching mention, in id order, streamed in lists of up to ``chunk``."""
    match = mention_match(dialect=engine.dialect.name, filters=filters, text=text)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(match.ids())
        for part in result.partitions(chunk):
            yield [row[0] for row in part]


def mention_indexes(conn: Connection) -> set[str]:
    """The names of the indexes on ``mention``."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'mention'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'mention' AND schemaname = current_schema()"
    return set(conn.exec_driver_sql(sql).scalars())


def _walk_pays(conn: Connection, sort: str, total: int, needed: int) -> bool:
    """True when walking the sort's index beats sorting every match.

    A walk reads about ``needed × span / total`` index entries (``span``: the mentions
    there are), testing each; sorting reads all ``total`` matches.
    """
    if WALK_INDEXES[sort] not in mention_indexes(conn):
        return False
    # Two subqueries: SQLite answers a lone min() or max() from the primary key instantly,
    # but scans the table for an expression of both.
    first = sa.select(sa.func.min(_M.c.id)).scalar_subquery()
    last = sa.select(sa.func.max(_M.c.id)).scalar_subquery()
    span = conn.execute(sa.select(last - first + 1)).scalar() or 0
    return needed * span < total * total


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
    ``overridden`` says whether a user set it, ``engagement`` is likes + shares + comments,
    ``brands`` is a ``;``-joined list). Only the
    page's rows are read; ``total`` counts every match.
    """
    if sort not in SORTS:
        raise ScrmError(f"Unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ScrmError(f"Page size must be between 1 and {MAX_PAGE_SIZE}")
    page = max(1, page)
    offset = (page - 1) * page_size
    match = mention_match(dialect=engine.dialect.name, filters=filters, text=text)
    with engine.connect() as conn:
        total = conn.execute(match.count()).scalar_one()
        ids: list[int] = []
        if offset < total:
            if _walk_pays(conn, sort, total, offset + page_size):
                where = match.mention_conditions(period_on_mention=sort in ("newest", "oldest"))
            else:
                where = [_M.c.id.in_(sa.select(_MB.c.mention_id).where(*match.link_conditions()))]
            stmt = sa.select(_M.c.id).where(*where).order_by(*SORTS[sort]).limit(page_size).offset(offset)
            ids = list(conn.execute(stmt).scalars())
        rows = _page_rows(conn, ids)
        names = brand_names(conn, ids)
    frame = pd.DataFrame(rows, columns=list(PAGE_COLUMNS[:-1]))
    frame["overridden"] = frame["overridden"].astype(bool)
    frame["brands"] = [";".join(names.get(i, [])) for i in frame["id"]]
    return MentionPage(rows=frame, total=total, page=page, page_size=page_size)


def _page_rows(conn: Connection, ids: list[int]) -> list[sa.Row]:
    """The page's full rows, read by primary key, in the order of ``ids``."""
    if not ids:
        return []
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
            (_M.c.likes + _M.c.shares + _M.c.comments).label("engagement"),
            _M.c.reach,
            _M.c.url,
        )
        .select_from(_M.outerjoin(_A, _A.c.id == _M.c.author_id))
        .where(_M.c.id.in_(ids))
    )
    by_id = {r.id: r for r in conn.execute(stmt)}
    return [by_id[i] for i in ids if i in by_id]


def brand_names(conn: Connection, ids: list[int]) -> dict[int, list[str]]:
    """Mention id → the names of its brands (sorted), for the given mentions."""
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


@dataclass(frozen=True)
class MentionDetail:
    """Everything the explorer's detail view shows about one mention.

    ``url`` and ``author_url`` are already safe (http/https or ``""``); ``label`` is the
    computed label, ``label_override`` a user's (which wins: see :attr:`effective_label`).
    """

    id: int
    platform: str
    external_id: str
    created_at: datetime
    text: str
    url: str
    author_handle: str
    author_name: str
    author_followers: int
    author_verified: bool
    author_url: str
    likes: int
    shares: int
    comments: int
    reach: int
    language: str
    source: str
    parent_external_id: str | None
    compound: float
    label: str
    label_override: str | None
    override_by: str | None
    override_at: datetime | None
    brands: tuple[str, ...]
    explanation: Explanation

    @property
    def engagement(self) -> int:
        """Likes + shares + comments."""
        return self.likes + self.shares + self.comments

    @property
    def overridden(self) -> bool:
        """True when a user's label overrides the computed one."""
        return self.label_override is not None

    @property
    def effective_label(self) -> str:
        """The label shown everywhere: the user's override, else the computed label."""
        return self.label_override or self.label


def get_mention(*, engine: Engine, mention_id: int, domain_lexicon: bool | None = None) -> MentionDetail:
    """One mention with its author, brands, metrics, sentiment and the words that drove the score.

    ``domain_lexicon`` defaults to the setting the scores were computed with. Raises
    :class:`NotFoundError` when there is no such mention.
    """
    if domain_lexicon is None:
        from scrm.config import get_settings

        domain_lexicon = get_settings().domain_lexicon
    stmt = (
        sa.select(
            _M,
            _A.c.handle.label("author_handle"),
            _A.c.display_name.label("author_name"),
            _A.c.followers.label("author_followers"),
            _A.c.verified.label("author_verified"),
            _A.c.profile_url.label("author_url"),
        )
        .select_from(_M.outerjoin(_A, _A.c.id == _M.c.author_id))
        .where(_M.c.id == int(mention_id))
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
        if row is None:
            raise NotFoundError(f"No mention with id {mention_id}")
        names = brand_names(conn, [row.id]).get(row.id, [])
    return MentionDetail(
        id=row.id,
        platform=row.platform,
        external_id=row.external_id,
        created_at=row.created_at,
        text=row.text,
        url=safe_url(row.url),
        author_handle=row.author_handle or "",
        author_name=row.author_name or "",
        author_followers=row.author_followers or 0,
        author_verified=bool(row.author_verified),
        author_url=safe_url(row.author_url),
        likes=row.likes,
        shares=row.shares,
        comments=row.comments,
        reach=row.reach,
        language=row.language,
        source=row.source,
        parent_external_id=row.parent_external_id,
        compound=row.compound,
        label=row.label,
        label_override=row.label_override,
        override_by=row.override_by,
        override_at=row.override_at,
        brands=tuple(names),
        explanation=explain(row.text, domain_lexicon=domain_lexicon),
    )


@dataclass(frozen=True)
class LabelChange:
    """One audited change of a mention's label: who, when, from → to."""

    at: datetime
    user: str
    from_label: str
    to_label: str
    cleared: bool
    note: str


def label_history(*, engine: Engine, mention_id: int, limit: int = 100) -> list[LabelChange]:
    """The label changes of a mention from the audit log, newest first."""
    stmt = (
        sa.select(_AUDIT.c.at, _AUDIT.c.username, _AUDIT.c.action, _AUDIT.c.detail)
        .where(
            _AUDIT.c.action.in_(RELABEL_ACTIONS),
            _AUDIT.c.entity == "mention",
            _AUDIT.c.entity_id == str(int(mention_id)),
        )
        .order_by(_AUDIT.c.at.desc(), _AUDIT.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = []
    for r in rows:
        detail = r.detail or {}
        out.append(
            LabelChange(
                at=r.at,
                user=r.username,
                from_label=str(detail.get("from", "")),
                to_label=str(detail.get("to", "")),
                cleared=r.action == "relabel_clear",
                note=str(detail.get("note", "")),
            )
        )
    return out

"""Customer 360: one customer's record, value, linked identities, posts, alerts and leads.

**Search** (:func:`find_customers`) matches the start of a CRM reference, an e-mail
address, a name (or a word of it) or a linked handle, ignoring case. Each is answered by an
index range scan where an index exists: ``crm_ref`` (unique), ``email`` (indexed; as typed
and in lower case), identity handles (``platform, handle``: one probe per platform; handles
are stored in lower case). Names have no index of their own (see docs/LEADS.md): the name
prefix and word-prefix tests read ``customer`` once, which is a few milliseconds at
100,000 customers. Exact matches come first, then prefixes by name.

A customer's **posts** are the mentions of every author whose platform and handle are one
of their identities (``social_identity ⨝ author ⨝ mention``, by ``ix_mention_author_created``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scrm import leads
from scrm.exceptions import NotFoundError, ScrmError
from scrm.filters import Filters
from scrm.models import (
    LABELS,
    Alert,
    AlertMention,
    Author,
    Brand,
    Customer,
    Mention,
    MentionBrand,
    SocialIdentity,
)
from scrm.segments import VALUE_BANDS, band, net_sentiment

_M = Mention.__table__
_MB = MentionBrand.__table__
_A = Author.__table__
_B = Brand.__table__
_C = Customer.__table__
_SI = SocialIdentity.__table__
_AL = Alert.__table__
_AM = AlertMention.__table__
MAX_POSTS = 5000
SEARCH_COLUMNS = ("id", "crm_ref", "name", "email", "segment", "lifetime_value", "city", "country", "matched")
POST_COLUMNS = (
    "id",
    "created_at",
    "platform",
    "author",
    "text",
    "url",
    "sentiment",
    "compound",
    "reach",
    "engagement",
    "brands",
)
IDENTITY_COLUMNS = (
    "platform",
    "handle",
    "method",
    "confidence",
    "linked_by",
    "linked_at",
    "display_name",
    "followers",
    "posts",
)
ALERT_COLUMNS = ("id", "priority", "status", "kind", "brand", "title", "onset_at", "their_posts")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _upper_bound(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (None: no bound)."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def _prefix(column: sa.ColumnElement[str], prefix: str) -> list[sa.ColumnElement[bool]]:
    """``column`` starts with ``prefix``: an index range plus an exact LIKE check."""
    conds: list[sa.ColumnElement[bool]] = [column >= prefix]
    upper = _upper_bound(prefix)
    if upper is not None:
        conds.append(column < upper)
    conds.append(column.like(_like_escape(prefix) + "%", escape="\\"))
    return conds


def _handle_query(text: str) -> str:
    """A search text as a stored handle: no URL, no leading @ or u/, lower case."""
    value = text.strip()
    if "://" in value or value.lower().startswith(("www.", "twitter.com/", "x.com/", "instagram.com/")):
        parts = [p for p in value.split("?")[0].split("/") if p]
        value = parts[-1] if parts else ""
    value = value.lstrip("@")
    if value.lower().startswith("u/"):
        value = value[2:]
    return value.lower()


_KIND_ORDER = {"name": 0, "email": 1, "crm_ref": 2}


def find_customers(*, engine: Engine, query: str, limit: int = 20) -> pd.DataFrame:
    """Customers whose CRM reference, e-mail, name (or a word of it) or handle starts with ``query``.

    Case-insensitive. Columns :data:`SEARCH_COLUMNS`; ``matched`` says what matched
    (``crm_ref``, ``email``, ``name`` or ``twitter @handle``). Exact matches first, then by
    name; at most ``limit`` rows.
    """
    text = " ".join(str(query).split())
    if not text:
        return pd.DataFrame(columns=list(SEARCH_COLUMNS))
    lower = text.lower()
    handle = _handle_query(text)
    found: dict[int, tuple[int, str]] = {}  # customer id → (rank, what matched)

    def add(ids: Sequence[tuple[int, str]], rank: int) -> None:
        """Keep each customer's best match: lowest rank, then name, e-mail, CRM ref, handle."""
        for cid, what in ids:
            key = (rank, _KIND_ORDER.get(what.split(" ")[0], 3))
            if cid not in found or (found[cid][0], _KIND_ORDER.get(found[cid][1].split(" ")[0], 3)) > key:
                found[cid] = (rank, what)

    with engine.connect() as conn:
        for variant in dict.fromkeys((lower, text)):
            rows = conn.execute(sa.select(_C.c.id).where(*_prefix(_C.c.email, variant)).limit(limit))
            add([(cid, "email") for cid in rows.scalars()], 2)
        for variant in dict.fromkeys((text, text.upper(), lower)):
            rows = conn.execute(
                sa.select(_C.c.id, _C.c.crm_ref).where(*_prefix(_C.c.crm_ref, variant)).limit(limit)
            ).all()
            add([(cid, "crm_ref") for cid, ref in rows if ref.lower() == lower], 0)
            add([(cid, "crm_ref") for cid, _ in rows], 2)
        platforms = list(conn.execute(sa.select(_SI.c.platform).group_by(_SI.c.platform)).scalars())
        if handle and platforms:
            rows = conn.execute(
                sa.select(_SI.c.customer_id, _SI.c.platform, _SI.c.handle)
                .where(_SI.c.platform.in_(platforms), *_prefix(_SI.c.handle, handle))
                .order_by(_SI.c.handle)
                .limit(limit)
            ).all()
            add([(cid, f"{p} @{h}") for cid, p, h in rows if h == handle], 0)
            add([(cid, f"{p} @{h}") for cid, p, h in rows], 2)
        if not any(c.isdigit() or c in "@/" for c in text.lstrip("@")):
            name = sa.func.lower(_C.c.name)
            words = sa.or_(
                *(name.like(f"%{sep}{_like_escape(lower)}%", escape="\\") for sep in (" ", "-", "'"))
            )
            rows = conn.execute(  # no ORDER BY: a common name stops the scan after ``limit`` rows
                sa.select(_C.c.id, name == lower)
                .where(sa.or_(sa.and_(*_prefix(name, lower)), words))
                .limit(limit)
            ).all()
            add([(cid, "name") for cid, exact in rows if exact], 1)
            add([(cid, "name") for cid, _ in rows], 2)
        # An exact e-mail in any case (stored as imported) comes before everything.
        exact = conn.execute(sa.select(_C.c.id).where(sa.func.lower(_C.c.email) == lower).limit(limit))
        add([(cid, "email") for cid in exact.scalars()], 0)
        if not found:
            return pd.DataFrame(columns=list(SEARCH_COLUMNS))
        details = conn.execute(
            sa.select(
                _C.c.id,
                _C.c.crm_ref,
                _C.c.name,
                _C.c.email,
                _C.c.segment,
                _C.c.lifetime_value,
                _C.c.city,
                _C.c.country,
            ).where(_C.c.id.in_(list(found)))
        ).all()
    frame = pd.DataFrame(details, columns=list(SEARCH_COLUMNS[:-1]))
    frame["matched"] = frame["id"].map(lambda cid: found[cid][1])
    frame["rank"] = frame["id"].map(lambda cid: found[cid][0])
    frame["lifetime_value"] = frame["lifetime_value"].astype(float)
    frame = frame.sort_values(["rank", "name", "id"], key=lambda s: s.str.lower() if s.name == "name" else s)
    return frame.drop(columns="rank").head(limit).reset_index(drop=True)[list(SEARCH_COLUMNS)]


@dataclass(frozen=True)
class CustomerProfile:
    """A customer's record and what the social data says about them.

    ``value_band`` is the lifetime-value band (:data:`scrm.segments.VALUE_BANDS`);
    ``value_rank`` the share of customers (with a value) worth less, in % (None without
    a value). ``identities`` has :data:`IDENTITY_COLUMNS`. ``posts``, ``positive``,
    ``negative`` and ``net_sentiment`` cover all their posts; ``last_post_at`` is None
    without any.
    """

    id: int
    crm_ref: str
    name: str
    email: str
    country: str
    region: str
    city: str
    age: int | None
    income: float | None
    household_size: int | None
    segment: str
    lifetime_value: float | None
    attributes: dict[str, Any]
    created_at: datetime
    value_band: str
    value_rank: float | None
    identities: pd.DataFrame
    posts: int = 0
    positive: int = 0
    negative: int = 0
    net_sentiment: float = float("nan")
    last_post_at: datetime | None = None


def _identity_authors(customer_id: int) -> sa.Select:
    """Author ids of a customer's identities."""
    return (
        sa.select(_A.c.id)
        .select_from(_SI.join(_A, sa.and_(_A.c.platform == _SI.c.platform, _A.c.handle == _SI.c.handle)))
        .where(_SI.c.customer_id == customer_id)
    )


def _customer_row(conn: Connection, customer_id: int) -> sa.Row:
    row = conn.execute(sa.select(_C).where(_C.c.id == customer_id)).first()
    if row is None:
        raise NotFoundError(f"No customer #{customer_id}: search for them by name, e-mail or handle")
    return row


def profile(*, engine: Engine, customer_id: int) -> CustomerProfile:
    """The customer's record, value band and rank, linked identities and post totals.

    Raises :class:`NotFoundError` for an unknown customer.
    """
    label = sa.func.coalesce(_M.c.label_override, _M.c.label)
    with engine.connect() as conn:
        row = _customer_row(conn, customer_id)
        rank = None
        if row.lifetime_value is not None:
            ltv = _C.c.lifetime_value
            below, valued = conn.execute(
                sa.select(
                    sa.func.coalesce(sa.func.sum(sa.case((ltv < row.lifetime_value, 1), else_=0)), 0),
                    sa.func.count(ltv),
                )
            ).one()
            rank = below / valued * 100 if valued else None
        posts = (
            sa.select(_M.c.author_id, sa.func.count().label("posts"))
            .where(_M.c.author_id.in_(_identity_authors(customer_id)))
            .group_by(_M.c.author_id)
            .subquery()
        )
        identities = conn.execute(
            sa.select(
                _SI.c.platform,
                _SI.c.handle,
                _SI.c.method,
                _SI.c.confidence,
                _SI.c.linked_by,
                _SI.c.linked_at,
                sa.func.coalesce(_A.c.display_name, ""),
                _A.c.followers,
                sa.func.coalesce(posts.c.posts, 0),
            )
            .select_from(
                _SI.outerjoin(
                    _A, sa.and_(_A.c.platform == _SI.c.platform, _A.c.handle == _SI.c.handle)
                ).outerjoin(posts, posts.c.author_id == _A.c.id)
            )
            .where(_SI.c.customer_id == customer_id)
            .order_by(_SI.c.platform, _SI.c.handle)
        ).all()
        total, pos, neg, last = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.case((label == "positive", 1), else_=0)), 0),
                sa.func.coalesce(sa.func.sum(sa.case((label == "negative", 1), else_=0)), 0),
                sa.func.max(_M.c.created_at),
            ).where(_M.c.author_id.in_(_identity_authors(customer_id)))
        ).one()
    frame = pd.DataFrame(identities, columns=list(IDENTITY_COLUMNS))
    frame["linked_at"] = pd.to_datetime(frame["linked_at"], utc=True)
    frame["followers"] = frame["followers"].astype("Int64")
    frame["posts"] = frame["posts"].astype(int)
    return CustomerProfile(
        id=row.id,
        crm_ref=row.crm_ref,
        name=row.name,
        email=row.email,
        country=row.country,
        region=row.region,
        city=row.city,
        age=row.age,
        income=row.income,
        household_size=row.household_size,
        segment=row.segment,
        lifetime_value=row.lifetime_value,
        attributes=dict(row.attributes or {}),
        created_at=row.created_at,
        value_band=band(row.lifetime_value, VALUE_BANDS),
        value_rank=rank,
        identities=frame,
        posts=int(total),
        positive=int(pos),
        negative=int(neg),
        net_sentiment=net_sentiment(int(pos), int(neg)),
        last_post_at=last,
    )


def customer_posts(
    *, engine: Engine, customer_id: int, filters: Filters | None = None, limit: int = MAX_POSTS
) -> pd.DataFrame:
    """Every post of the customer's linked identities, newest first (at most ``limit``).

    With ``filters``: their period, platforms, effective sentiment and brands apply (a
    brand filter keeps posts about those brands). Columns :data:`POST_COLUMNS`;
    ``sentiment`` is the effective label (an override wins), ``brands`` the brand names
    joined with ", ".
    """
    label = sa.func.coalesce(_M.c.label_override, _M.c.label)
    stmt = (
        sa.select(
            _M.c.id,
            _M.c.created_at,
            _M.c.platform,
            _A.c.handle,
            _M.c.text,
            _M.c.url,
            label.label("sentiment"),
            _M.c.compound,
            _M.c.reach,
            (_M.c.likes + _M.c.shares + _M.c.comments).label("engagement"),
        )
        .select_from(_M.join(_A, _A.c.id == _M.c.author_id))
        .where(_M.c.author_id.in_(_identity_authors(customer_id)))
        .order_by(_M.c.created_at.desc(), _M.c.id.desc())
        .limit(limit)
    )
    if filters is not None:
        stmt = stmt.where(_M.c.created_at >= filters.start, _M.c.created_at < filters.end)
        if filters.platforms:
            stmt = stmt.where(_M.c.platform.in_(filters.platforms))
        if filters.labels:
            stmt = stmt.where(label.in_(filters.labels))
        if filters.brand_ids:
            stmt = stmt.where(
                sa.exists().where(_MB.c.mention_id == _M.c.id, _MB.c.brand_id.in_(filters.brand_ids))
            )
    with engine.connect() as conn:
        _customer_row(conn, customer_id)
        rows = conn.execute(stmt).all()
        names: dict[int, list[str]] = {}
        ids = [r.id for r in rows]
        for start in range(0, len(ids), 1000):
            part = ids[start : start + 1000]
            for mid, brand in conn.execute(
                sa.select(_MB.c.mention_id, _B.c.name)
                .join(_B, _B.c.id == _MB.c.brand_id)
                .where(_MB.c.mention_id.in_(part))
                .order_by(_B.c.name)
            ):
                names.setdefault(mid, []).append(brand)
    frame = pd.DataFrame(rows, columns=list(POST_COLUMNS[:-1]))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["brands"] = [", ".join(names.get(i, [])) for i in frame["id"]]
    return frame[list(POST_COLUMNS)]


def sentiment_over_time(posts: pd.DataFrame, *, freq: str = "W", tz: str = "UTC") -> pd.DataFrame:
    """Posts per period (``freq``: "D" day, "W" week from Monday, "MS" month, in ``tz``) by sentiment.

    Input: :func:`customer_posts`. Columns: ``ts`` (period start, aware), ``positive``,
    ``neutral``, ``negative``, ``posts``, ``net_sentiment`` (NaN without positive or
    negative posts). Every period from the first post's to the last post's is there,
    quiet ones with zeros.
    """
    cols = ["ts", *LABELS, "posts", "net_sentiment"]
    if posts.empty:
        return pd.DataFrame(columns=cols)
    period = {"D": "D", "W": "W-SUN", "MS": "M"}.get(freq)
    if period is None:
        raise ScrmError(f"Unknown period {freq!r}: use D, W or MS")
    local = posts["created_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.to_period(period)
    counts = pd.crosstab(local, posts["sentiment"]).reindex(columns=list(LABELS), fill_value=0)
    every = pd.period_range(local.min(), local.max(), freq=period)
    counts = counts.reindex(every, fill_value=0)
    frame = pd.DataFrame(
        {
            "ts": every.start_time.tz_localize(tz, ambiguous=False, nonexistent="shift_forward"),
            **{label: counts[label].to_numpy() for label in LABELS},
        }
    )
    frame["posts"] = frame[list(LABELS)].sum(axis=1)
    frame["net_sentiment"] = net_sentiment(frame["positive"], frame["negative"])
    return frame[cols]


def customer_alerts(*, engine: Engine, customer_id: int) -> pd.DataFrame:
    """Alerts that group a post of the customer's identities, most urgent first.

    Columns :data:`ALERT_COLUMNS` (``their_posts``: how many of their posts the alert holds).
    """
    theirs = (
        sa.select(_AM.c.alert_id, sa.func.count().label("their_posts"))
        .select_from(_AM.join(_M, _M.c.id == _AM.c.mention_id))
        .where(_M.c.author_id.in_(_identity_authors(customer_id)))
        .group_by(_AM.c.alert_id)
        .subquery()
    )
    stmt = (
        sa.select(
            _AL.c.id,
            _AL.c.priority,
            _AL.c.status,
            _AL.c.kind,
            sa.func.coalesce(_B.c.name, ""),
            _AL.c.title,
            _AL.c.onset_at,
            theirs.c.their_posts,
        )
        .select_from(theirs.join(_AL, _AL.c.id == theirs.c.alert_id).outerjoin(_B, _B.c.id == _AL.c.brand_id))
        .order_by(_AL.c.priority, _AL.c.onset_at.desc(), _AL.c.id)
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).all(), columns=list(ALERT_COLUMNS))
    frame["onset_at"] = pd.to_datetime(frame["onset_at"], utc=True)
    return frame


def customer_leads(*, engine: Engine, customer_id: int) -> pd.DataFrame:
    """The customer's leads: linked to them, or found in a post of one of their identities.

    Columns :data:`scrm.leads.LEAD_COLUMNS`.
    """
    return leads.list_leads(engine=engine, customer_id=customer_id)

"""Response times: how fast the brand answers, from imported reply threads and the inbox.

**Inbound posts** of a brand are the posts that wait for an answer: a mention linked to the
brand whose mapped ``inbound`` column is true, or, where the file said nothing, a
top-level negative mention (a complaint) by someone who is not one of the brand's
accounts, on a platform where the brand has an account (it cannot answer elsewhere).

**First response time** is from the inbound post to the first reply to it (same
platform, ``parent_external_id`` = the post's id) by one of the brand's accounts
(:class:`BrandAccount`) or marked ``inbound = false``; for an alert, from its onset to the
first response recorded in the inbox. Reported as median and 90th percentile, with the
share breaching the SLA: answered later than the target, or still unanswered past it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.alerts import SLA_TARGETS
from scrm.brands import get_brand
from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.ingest.mapping import clean_handle
from scrm.models import Alert, Author, BrandAccount, Mention, MentionBrand
from scrm.timeutil import utcnow

POST_SLA_S = 4 * 3600  # answer a complaint within 4 hours
ALERT_SLA_S = {p: target.total_seconds() for p, target in SLA_TARGETS.items()}  # by priority P1…P4
INBOUND_COLUMNS = ("mention_id", "brand_id", "platform", "created_at", "first_response_at", "response_s")
SUMMARY_KEYS = (
    "inbound",
    "answered",
    "answered_share",
    "median_first_response_s",
    "p90_first_response_s",
    "sla_breach_share",
)
_M, _MB, _A, _BA = Mention.__table__, MentionBrand.__table__, Author.__table__, BrandAccount.__table__


def add_brand_accounts(*, engine: Engine, brand: str, platform: str, handles: Sequence[str]) -> int:
    """Declare ``handles`` on ``platform`` as the brand's own accounts; returns how many were new."""
    brand_id = get_brand(engine=engine, name=brand).id
    clean = sorted({clean_handle(h) for h in handles if clean_handle(h)})
    if not clean:
        raise ScrmError("Name at least one brand account handle")
    platform = platform.strip().lower()
    if not platform:
        raise ScrmError("Brand accounts need a platform (use --platform)")
    added = 0
    with engine.begin() as conn:
        for handle in clean:
            known = conn.execute(
                sa.select(_BA.c.brand_id).where(_BA.c.platform == platform, _BA.c.handle == handle)
            ).first()
            if known is None:
                conn.execute(sa.insert(_BA).values(brand_id=brand_id, platform=platform, handle=handle))
                added += 1
            elif known.brand_id != brand_id:
                raise ScrmError(f"@{handle} on {platform} is already an account of another brand")
    return added


def inbound_posts(*, engine: Engine, filters: Filters) -> pd.DataFrame:
    """Inbound posts of the filtered brands and period with their first response.

    Columns: :data:`INBOUND_COLUMNS` (``first_response_at`` NaT and ``response_s`` NaN
    when unanswered). The sentiment filter is not applied: inbound is its own definition.
    """
    reply, reply_author = _M.alias("reply"), _A.alias("reply_author")
    account = (
        sa.select(_BA.c.id)
        .where(_BA.c.brand_id == _MB.c.brand_id, _BA.c.platform == reply_author.c.platform)
        .where(_BA.c.handle == reply_author.c.handle)
    )
    first_reply = (
        sa.select(sa.func.min(reply.c.created_at))
        .select_from(reply.outerjoin(reply_author, reply_author.c.id == reply.c.author_id))
        .where(reply.c.platform == _M.c.platform, reply.c.parent_external_id == _M.c.external_id)
        .where(reply.c.created_at >= _M.c.created_at)
        .where(sa.or_(reply.c.inbound.is_(False), sa.exists(account)))
        .scalar_subquery()
    )
    own_account = sa.exists(
        sa.select(_BA.c.id).where(
            _BA.c.brand_id == _MB.c.brand_id, _BA.c.platform == _A.c.platform, _BA.c.handle == _A.c.handle
        )
    )
    answerable = sa.exists(
        sa.select(_BA.c.id).where(_BA.c.brand_id == _MB.c.brand_id, _BA.c.platform == _M.c.platform)
    )
    cols = (_M.c.id, _MB.c.brand_id, _M.c.platform, _MB.c.ts, first_reply.label("first_response_at"))
    joined = _MB.join(_M, _M.c.id == _MB.c.mention_id).outerjoin(_A, _A.c.id == _M.c.author_id)
    # Two parts, each on its own index: complaints are negative links (the links' covering
    # index), posts marked inbound are found through migration 0009's partial index.
    complaints = (
        sa.select(*cols)
        .select_from(joined)
        .where(*filters.link_conditions(labels=False), _MB.c.label == "negative")
        .where(_M.c.inbound.is_(None), _M.c.parent_external_id.is_(None), answerable, ~own_account)
    )
    marked = (
        sa.select(*cols)
        .select_from(joined)
        .where(_M.c.inbound == True, _M.c.created_at >= filters.start, _M.c.created_at < filters.end)  # noqa: E712
        .where(*filters.link_conditions(labels=False))
    )
    stmt = sa.union_all(complaints, marked)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
    frame = pd.DataFrame.from_records(
        rows, columns=["mention_id", "brand_id", "platform", "ts", "first_response_at"]
    )
    # ts is the link's copy of created_at in epoch seconds: cheaper than parsing datetimes
    frame.insert(3, "created_at", pd.to_datetime(frame.pop("ts").astype("int64"), unit="s", utc=True))
    frame["first_response_at"] = pd.to_datetime(frame["first_response_at"], utc=True)
    frame["response_s"] = (frame["first_response_at"] - frame["created_at"]).dt.total_seconds()
    return frame


def summarise(
    frame: pd.DataFrame, *, sla_s: float = POST_SLA_S, now: datetime | None = None, start: str = "created_at"
) -> dict[str, float | int | None]:
    """:data:`SUMMARY_KEYS` of a frame of waits (``response_s``, NaN when unanswered).

    A post breaches the SLA when answered after ``sla_s`` seconds (a frame's own ``sla_s``
    column wins: alerts have one per priority), or unanswered and older than that at
    ``now``; unanswered posts younger than that are not counted either way. Median and 90th
    percentile are over answered posts; None when there are none.
    """
    now_ts = pd.Timestamp(now or utcnow())
    limit = frame["sla_s"] if "sla_s" in frame.columns else sla_s
    total = len(frame)
    answered = frame["response_s"].notna()
    waits = frame.loc[answered, "response_s"].to_numpy(dtype=float)
    overdue = ~answered & ((now_ts - frame[start]).dt.total_seconds() > limit)
    late = answered & (frame["response_s"] > limit)
    decided = answered | overdue
    return {
        "inbound": int(total),
        "answered": int(answered.sum()),
        "answered_share": float(answered.mean() * 100) if total else None,
        "median_first_response_s": float(np.median(waits)) if len(waits) else None,
        "p90_first_response_s": float(np.percentile(waits, 90)) if len(waits) else None,
        "sla_breach_share": float((late | overdue).sum() / decided.sum() * 100) if decided.any() else None,
    }


def summarise_by(
    frame: pd.DataFrame, by: str | list[str], *, sla_s: float = POST_SLA_S, now: datetime | None = None
) -> pd.DataFrame:
    """:func:`summarise` per group (e.g. ``brand_id``, ``platform``, a day column)."""
    keys = [by] if isinstance(by, str) else by
    rows = [
        {
            **dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)),
            **summarise(part, sla_s=sla_s, now=now),
        }
        for key, part in frame.groupby(keys, sort=True)
    ]
    return pd.DataFrame(rows, columns=[*keys, *SUMMARY_KEYS])


def alert_waits(*, engine: Engine, filters: Filters) -> pd.DataFrame:
    """Alerts with onset in the period (filtered brands): their first response and resolution times.

    Columns: ``alert_id``, ``brand_id``, ``priority``, ``assignee``, ``status``, ``onset_at``,
    ``created_at`` (= onset, for :func:`summarise`), ``response_s`` (onset → first
    response, NaN if none), ``resolve_s`` (onset → resolution, NaN if open), ``sla_s``.
    """
    a = Alert.__table__
    stmt = sa.select(
        a.c.id,
        a.c.brand_id,
        a.c.priority,
        a.c.assignee,
        a.c.status,
        a.c.onset_at,
        a.c.first_response_at,
        a.c.resolved_at,
    ).where(a.c.onset_at >= filters.start, a.c.onset_at < filters.end)
    if filters.brand_ids:
        stmt = stmt.where(a.c.brand_id.in_(filters.brand_ids))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    cols = [
        "alert_id",
        "brand_id",
        "priority",
        "assignee",
        "status",
        "onset_at",
        "first_response_at",
        "resolved_at",
    ]
    frame = pd.DataFrame(rows, columns=cols)
    for col in ("onset_at", "first_response_at", "resolved_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    frame["created_at"] = frame["onset_at"]
    frame["response_s"] = (frame["first_response_at"] - frame["onset_at"]).dt.total_seconds()
    frame["resolve_s"] = (frame["resolved_at"] - frame["onset_at"]).dt.total_seconds()
    frame["sla_s"] = frame["priority"].map(ALERT_SLA_S).astype(float)
    return frame


def alert_summary_by(frame: pd.DataFrame, by: str, *, now: datetime | None = None) -> pd.DataFrame:
    """Alert response figures per group (each alert judged by its priority's SLA, ``sla_s``).

    Columns: ``by``, :data:`SUMMARY_KEYS`, ``median_resolve_s``.
    """
    out = summarise_by(frame, by, now=now)
    resolve = frame.groupby(by, sort=True)["resolve_s"].median()
    out["median_resolve_s"] = [None if pd.isna(v) else float(v) for v in resolve.reindex(out[by])]
    return out


def awaiting(
    *, engine: Engine, filters: Filters, now: datetime | None = None, limit: int = 100
) -> pd.DataFrame:
    """Inbound posts still unanswered, longest waiting first.

    Columns: ``mention_id``, ``brand_id``, ``platform``, ``created_at``, ``waited_s``, ``author``, ``text``, ``url``.
    """
    frame = inbound_posts(engine=engine, filters=filters)
    waiting = frame[frame["response_s"].isna()].sort_values("created_at").head(limit)
    cols = ["mention_id", "brand_id", "platform", "created_at", "waited_s", "author", "text", "url"]
    if waiting.empty:
        return pd.DataFrame(columns=cols)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_M.c.id, sa.func.coalesce(_A.c.handle, "").label("author"), _M.c.text, _M.c.url)
            .select_from(_M.outerjoin(_A, _A.c.id == _M.c.author_id))
            .where(_M.c.id.in_([int(i) for i in waiting["mention_id"]]))
        ).all()
    texts = pd.DataFrame(rows, columns=["mention_id", "author", "text", "url"])
    out = waiting.drop(columns=["first_response_at", "response_s"]).merge(texts, on="mention_id")
    out["waited_s"] = (pd.Timestamp(now or utcnow()) - out["created_at"]).dt.total_seconds()
    return out[cols]

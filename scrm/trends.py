"""Trends and KPIs: SQL aggregation over ``mention_brand``, then pure functions on small frames.

Definitions (DESIGN.md): net sentiment = (positive − negative) / (positive + negative) × 100,
``None`` when there is neither; share of voice of a brand = its mentions / mentions of all
tracked brands × 100; reach = sum of the authors' followers at posting time; engagement =
likes + shares + comments. Counts are brand mentions: a post about two brands counts once
for each.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.filters import HOUR, Filters
from scrm.models import LABELS, ActivityHourly, MentionBrand

_MB = MentionBrand.__table__
_AH = ActivityHourly.__table__
ACTIVITY_COLUMNS = ("ts", "brand_id", "label", "mentions", "reach", "engagement")
DAY = 86400


def activity(*, engine: Engine, filters: Filters, bucket: int = HOUR) -> pd.DataFrame:
    """Mentions, reach and engagement by time bucket, brand and label.

    Columns: ``ts`` (bucket start, aware UTC), ``brand_id``, ``label``, ``mentions``,
    ``reach``, ``engagement``. Whole-hour periods and buckets are answered from the
    ``activity_hourly`` roll-up; others from the covering index of ``mention_brand``.
    """
    if bucket % HOUR == 0 and filters.whole_hours:
        slot = (_AH.c.hour // (bucket // HOUR)).label("slot")
        cols = (sa.func.sum(_AH.c.mentions), sa.func.sum(_AH.c.reach), sa.func.sum(_AH.c.engagement))
        table, conds = _AH, filters.hourly_conditions()
    else:
        slot = (_MB.c.ts // bucket).label("slot")
        cols = (sa.func.count(), sa.func.sum(_MB.c.reach), sa.func.sum(_MB.c.engagement))
        table, conds = _MB, filters.link_conditions()
    stmt = (
        sa.select(
            slot,
            table.c.brand_id,
            table.c.label,
            cols[0].label("mentions"),
            cols[1].label("reach"),
            cols[2].label("engagement"),
        )
        .where(*conds)
        .group_by(slot, table.c.brand_id, table.c.label)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["slot", "brand_id", "label", "mentions", "reach", "engagement"])
    frame["ts"] = pd.to_datetime(frame["slot"].astype("int64") * bucket, unit="s", utc=True)
    for col in ("mentions", "reach", "engagement"):
        frame[col] = frame[col].astype("int64")
    return frame[list(ACTIVITY_COLUMNS)]


def net_sentiment(positive: float, negative: float) -> float | None:
    """(positive − negative) / (positive + negative) × 100, or None without either."""
    total = positive + negative
    return None if total == 0 else (positive - negative) / total * 100.0


@dataclass(frozen=True)
class Totals:
    """Totals of an activity frame."""

    mentions: int
    reach: int
    engagement: int
    positive: int
    neutral: int
    negative: int

    @property
    def net_sentiment(self) -> float | None:
        """Net sentiment of these totals."""
        return net_sentiment(self.positive, self.negative)


def totals(frame: pd.DataFrame) -> Totals:
    """Sum an activity frame (any subset of it)."""
    by_label = frame.groupby("label")["mentions"].sum()
    return Totals(
        mentions=int(frame["mentions"].sum()),
        reach=int(frame["reach"].sum()),
        engagement=int(frame["engagement"].sum()),
        **{label: int(by_label.get(label, 0)) for label in LABELS},
    )


def select(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Rows of an activity frame in ``filters``' period, brands and labels.

    Platforms are not in the frame: the SQL query that built it must have applied them.
    """
    start, end = pd.Timestamp(filters.start), pd.Timestamp(filters.end)
    keep = (frame["ts"] >= start) & (frame["ts"] < end)
    if filters.brand_ids:
        keep &= frame["brand_id"].isin(list(filters.brand_ids))
    if filters.labels:
        keep &= frame["label"].isin(list(filters.labels))
    return frame[keep]


def share_of_voice(frame: pd.DataFrame, brand_ids: set[int] | tuple[int, ...]) -> float | None:
    """Mentions of ``brand_ids`` over mentions of every brand in the frame × 100 (None if empty)."""
    total = frame["mentions"].sum()
    if total == 0:
        return None
    return float(frame.loc[frame["brand_id"].isin(list(brand_ids)), "mentions"].sum() / total * 100.0)


def resample(frame: pd.DataFrame, *, freq: str, tz: str = "UTC") -> pd.DataFrame:
    """Re-bucket an activity frame to ``freq`` ("h", "D", "W-MON") in timezone ``tz``.

    Returns the same columns with ``ts`` the local bucket start (aware, in ``tz``).
    """
    if frame.empty:
        return frame.copy()
    local = frame.assign(ts=frame["ts"].dt.tz_convert(tz))
    if freq.startswith("W"):
        day = local["ts"].dt.floor("D", ambiguous=False, nonexistent="shift_forward")
        ts = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    else:
        ts = local["ts"].dt.floor(freq, ambiguous=False, nonexistent="shift_forward")
    grouped = (
        local.assign(ts=ts)
        .groupby(["ts", "brand_id", "label"], as_index=False)[["mentions", "reach", "engagement"]]
        .sum()
    )
    return grouped[list(ACTIVITY_COLUMNS)]


def series_by_brand(frame: pd.DataFrame) -> pd.DataFrame:
    """Per bucket and brand: mentions, reach, engagement, positive/neutral/negative, net_sentiment."""
    if frame.empty:
        return pd.DataFrame(
            columns=["ts", "brand_id", "mentions", "reach", "engagement", *LABELS, "net_sentiment"]
        )
    sums = frame.groupby(["ts", "brand_id"], as_index=False)[["mentions", "reach", "engagement"]].sum()
    labels = frame.pivot_table(
        index=["ts", "brand_id"], columns="label", values="mentions", aggfunc="sum", fill_value=0
    ).reindex(columns=list(LABELS), fill_value=0)
    out = sums.merge(labels.reset_index(), on=["ts", "brand_id"], how="left")
    out["net_sentiment"] = [
        net_sentiment(p, n) for p, n in zip(out["positive"], out["negative"], strict=True)
    ]
    return out


def share_of_voice_series(frame: pd.DataFrame) -> pd.DataFrame:
    """Per bucket and brand: ``share`` of the bucket's brand mentions × 100."""
    sums = frame.groupby(["ts", "brand_id"], as_index=False)["mentions"].sum()
    sums["share"] = sums["mentions"] / sums.groupby("ts")["mentions"].transform("sum") * 100.0
    return sums


def platform_mix(*, engine: Engine, filters: Filters) -> pd.DataFrame:
    """Mentions per brand and platform. Columns: ``brand_id``, ``platform``, ``mentions``."""
    table, conds = (
        (_AH, filters.hourly_conditions()) if filters.whole_hours else (_MB, filters.link_conditions())
    )
    count = sa.func.sum(_AH.c.mentions) if table is _AH else sa.func.count()
    stmt = (
        sa.select(table.c.brand_id, table.c.platform, count.label("mentions"))
        .where(*conds)
        .group_by(table.c.brand_id, table.c.platform)
        .order_by(table.c.brand_id, table.c.platform)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["brand_id", "platform", "mentions"])
    frame["mentions"] = frame["mentions"].astype("int64")
    return frame


def weekday_hour(frame: pd.DataFrame, *, tz: str = "UTC") -> pd.DataFrame:
    """Mentions by local weekday (rows 0 = Monday … 6) and hour (columns 0…23) of an hourly activity frame."""
    matrix = pd.DataFrame(0, index=range(7), columns=range(24), dtype="int64")
    if frame.empty:
        return matrix
    local = frame["ts"].dt.tz_convert(tz)
    counts = frame.groupby([local.dt.day_of_week, local.dt.hour])["mentions"].sum()
    for (day, hour), n in counts.items():
        matrix.loc[day, hour] = int(n)
    return matrix


def platforms(*, engine: Engine) -> list[str]:
    """Every platform that has brand mentions, sorted."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(_AH.c.platform).distinct().order_by(_AH.c.platform)).scalars())

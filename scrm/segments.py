"""Segments: what linked customers say, by geography, demographics, segment and value.

A post counts for a customer when its author is one of the customer's linked identities
(``mention ⨝ author ⨝ social identity ⨝ customer``: the author's platform and handle are
an identity's). Everything is aggregated in SQL, first per customer, then per group, for
the shared :class:`~scrm.filters.Filters`: the period and platforms of the post, its
effective sentiment (an override wins), and the brands it mentions (a post counts once,
whatever the number of brands it mentions; without a brand filter, any brand).

**Net sentiment** = (positive − negative) / (positive + negative) × 100 (NaN without either),
as everywhere (docs/DESIGN.md).

**Bands** (:data:`AGE_BANDS`, :data:`INCOME_BANDS`, :data:`VALUE_BANDS`, household sizes
1–4 and 5+): a missing value is "unknown".

**At risk** (:func:`at_risk`): customers in the top lifetime-value quantile (by default the
top 20%: value ≥ the 0.8 quantile of all customers' values) whose net sentiment over the
last ``days`` is below zero and below what it was over the ``before_days`` before (no
opinion before counts as 0), with at least one negative post recently.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.charts import SENTIMENT_COLOURS, escape
from scrm.exceptions import ScrmError
from scrm.export import neutralise
from scrm.filters import Filters
from scrm.models import Author, Customer, Mention, MentionBrand, SocialIdentity

_M = Mention.__table__
_MB = MentionBrand.__table__
_A = Author.__table__
_C = Customer.__table__
_SI = SocialIdentity.__table__
UNKNOWN = "unknown"

AGE_BANDS: tuple[tuple[float, str], ...] = (
    (0, "under 18"),
    (18, "18–24"),
    (25, "25–34"),
    (35, "35–44"),
    (45, "45–54"),
    (55, "55–64"),
    (65, "65+"),
)
INCOME_BANDS: tuple[tuple[float, str], ...] = (
    (0, "under 20k"),
    (20_000, "20k–40k"),
    (40_000, "40k–60k"),
    (60_000, "60k–100k"),
    (100_000, "100k+"),
)
VALUE_BANDS: tuple[tuple[float, str], ...] = (
    (0, "under 1k"),
    (1_000, "1k–5k"),
    (5_000, "5k–10k"),
    (10_000, "10k–25k"),
    (25_000, "25k+"),
)
HOUSEHOLD_BANDS: tuple[tuple[float, str], ...] = ((0, "1"), (2, "2"), (3, "3"), (4, "4"), (5, "5+"))
BAND_ORDER = {
    "age_band": [label for _, label in AGE_BANDS],
    "income_band": [label for _, label in INCOME_BANDS],
    "value_band": [label for _, label in VALUE_BANDS],
    "household_size": [label for _, label in HOUSEHOLD_BANDS],
}
DIMENSIONS = (
    "country",
    "region",
    "city",
    "age_band",
    "income_band",
    "household_size",
    "segment",
    "value_band",
)
DIMENSION_NAMES = {
    "country": "Country",
    "region": "Region",
    "city": "City",
    "age_band": "Age",
    "income_band": "Income",
    "household_size": "Household size",
    "segment": "Segment",
    "value_band": "Lifetime value",
}
COUNT_COLUMNS = ("customers", "mentions", "positive", "neutral", "negative")


def band(value: float | None, bands: Sequence[tuple[float, str]]) -> str:
    """The label of the band ``value`` falls in (bands are (lower bound, label), ascending)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNKNOWN
    label = bands[0][1]
    for lower, name in bands:
        if value >= lower:
            label = name
    return label


def _band_sql(column: sa.ColumnElement, bands: Sequence[tuple[float, str]]) -> sa.ColumnElement[str]:
    whens = [(column >= lower, label) for lower, label in reversed(bands[1:])]
    return sa.case((column.is_(None), UNKNOWN), *whens, else_=bands[0][1])


def _text(column: sa.ColumnElement) -> sa.ColumnElement[str]:
    return sa.func.coalesce(sa.func.nullif(sa.func.trim(column), ""), UNKNOWN)


def _group_columns(dimension: str) -> list[sa.ColumnElement]:
    """The SQL expressions a dimension groups by, labelled (region and city come with their country)."""
    c = _C.c
    exprs = {
        "country": [_text(c.country).label("country")],
        "region": [_text(c.country).label("country"), _text(c.region).label("region")],
        "city": [_text(c.country).label("country"), _text(c.city).label("city")],
        "age_band": [_band_sql(c.age, AGE_BANDS).label("age_band")],
        "income_band": [_band_sql(c.income, INCOME_BANDS).label("income_band")],
        "household_size": [_band_sql(c.household_size, HOUSEHOLD_BANDS).label("household_size")],
        "segment": [_text(c.segment).label("segment")],
        "value_band": [_band_sql(c.lifetime_value, VALUE_BANDS).label("value_band")],
    }
    if dimension not in exprs:
        raise ScrmError(f"Unknown dimension {dimension!r}: use one of {', '.join(DIMENSIONS)}")
    return exprs[dimension]


def _label() -> sa.ColumnElement[str]:
    return sa.func.coalesce(_M.c.label_override, _M.c.label)


def _linked_posts() -> sa.Join:
    """identity ⨝ customer ⨝ author (same platform and handle) ⨝ mention."""
    return (
        _SI.join(_C, _C.c.id == _SI.c.customer_id)
        .join(_A, sa.and_(_A.c.platform == _SI.c.platform, _A.c.handle == _SI.c.handle))
        .join(_M, _M.c.author_id == _A.c.id)
    )


def post_conditions(filters: Filters, *, labels: bool = True) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``mention`` for the filters: period, platforms, effective label, brands.

    A post must mention a tracked brand (one of ``filters.brand_ids`` when given).
    """
    brand = sa.exists().where(_MB.c.mention_id == _M.c.id)
    if filters.brand_ids:
        brand = brand.where(_MB.c.brand_id.in_(filters.brand_ids))
    linked_authors = sa.select(_A.c.id).select_from(
        _SI.join(_A, sa.and_(_A.c.platform == _SI.c.platform, _A.c.handle == _SI.c.handle))
    )
    conds: list[sa.ColumnElement[bool]] = [
        # Redundant with the join, but it makes the planner start from the (few) linked
        # authors and read their posts by (author, time), not every post of the period.
        _M.c.author_id.in_(linked_authors),
        _M.c.created_at >= filters.start,
        _M.c.created_at < filters.end,
        brand,
    ]
    if filters.platforms:
        conds.append(_M.c.platform.in_(filters.platforms))
    if labels and filters.labels:
        conds.append(_label().in_(filters.labels))
    return conds


def _count(label: str) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((_label() == label, 1), else_=0)), 0)


def net_sentiment(positive: pd.Series | float, negative: pd.Series | float) -> pd.Series | float:
    """(positive − negative) / (positive + negative) × 100; NaN where both are 0."""
    if isinstance(positive, pd.Series):
        total = (positive + negative).astype(float)
        return (positive - negative) / total.where(total > 0) * 100
    total = positive + negative
    return (positive - negative) / total * 100 if total else float("nan")


def by_dimension(*, engine: Engine, filters: Filters, dimension: str) -> pd.DataFrame:
    """Linked customers' posts and sentiment per group of ``dimension`` (:data:`DIMENSIONS`).

    Columns: the group column(s) (``country`` also for ``region`` and ``city``),
    ``customers`` (linked customers who posted), ``mentions``, ``positive``, ``neutral``,
    ``negative``, ``net_sentiment``, ``negative_share`` (% of mentions),
    ``mentions_per_customer``, ``avg_lifetime_value`` (of those customers). Bands in their
    order, other groups by mentions (most first).
    """
    groups = _group_columns(dimension)
    per_customer = (
        sa.select(
            _C.c.id.label("customer_id"),
            *groups,
            _C.c.lifetime_value.label("ltv"),
            sa.func.count().label("mentions"),
            _count("positive").label("positive"),
            _count("neutral").label("neutral"),
            _count("negative").label("negative"),
        )
        .select_from(_linked_posts())
        .where(*post_conditions(filters))
        .group_by(_C.c.id, *groups, _C.c.lifetime_value)
        .subquery()
    )
    keys = [per_customer.c[g.name] for g in groups]
    stmt = sa.select(
        *keys,
        sa.func.count().label("customers"),
        sa.func.sum(per_customer.c.mentions).label("mentions"),
        sa.func.sum(per_customer.c.positive).label("positive"),
        sa.func.sum(per_customer.c.neutral).label("neutral"),
        sa.func.sum(per_customer.c.negative).label("negative"),
        sa.func.avg(per_customer.c.ltv).label("avg_lifetime_value"),
    ).group_by(*keys)
    names = [g.name for g in groups]
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).all(), columns=[*names, *COUNT_COLUMNS, "avg_lifetime_value"])
    return _finish(frame, dimension, names)


def _finish(frame: pd.DataFrame, dimension: str, names: list[str]) -> pd.DataFrame:
    for col in COUNT_COLUMNS:
        frame[col] = frame[col].fillna(0).astype(int)
    frame["avg_lifetime_value"] = frame["avg_lifetime_value"].astype(float)
    frame["net_sentiment"] = net_sentiment(frame["positive"], frame["negative"])
    mentions = frame["mentions"].astype(float)
    frame["negative_share"] = frame["negative"] / mentions.where(mentions > 0) * 100
    frame["mentions_per_customer"] = frame["mentions"] / frame["customers"].where(frame["customers"] > 0)
    order = BAND_ORDER.get(dimension)
    if order:
        rank = {label: i for i, label in enumerate([*order, UNKNOWN])}
        frame = frame.sort_values(dimension, key=lambda s: s.map(rank), ignore_index=True)
    else:
        frame = frame.sort_values(
            ["mentions", *names], ascending=[False] + [True] * len(names), ignore_index=True
        )
    return frame[
        [
            *names,
            *COUNT_COLUMNS,
            "net_sentiment",
            "negative_share",
            "mentions_per_customer",
            "avg_lifetime_value",
        ]
    ]


def overall(*, engine: Engine, filters: Filters) -> dict[str, float]:
    """Totals over every linked customer: ``customers``, ``mentions``, the labels, ``net_sentiment``."""
    stmt = (
        sa.select(
            sa.func.count(sa.distinct(_C.c.id)),
            sa.func.count(),
            _count("positive"),
            _count("neutral"),
            _count("negative"),
        )
        .select_from(_linked_posts())
        .where(*post_conditions(filters))
    )
    with engine.connect() as conn:
        customers, mentions, pos, neu, neg = conn.execute(stmt).one()
    return {
        "customers": int(customers),
        "mentions": int(mentions),
        "positive": int(pos),
        "neutral": int(neu),
        "negative": int(neg),
        "net_sentiment": net_sentiment(int(pos), int(neg)),
    }


def groups(*, engine: Engine, dimension: str) -> list[str]:
    """Every value of ``dimension`` among all customers (for choosing segments to compare)."""
    expr = _group_columns(dimension)[-1]
    with engine.connect() as conn:
        values = [str(v) for v in conn.execute(sa.select(expr).group_by(expr)).scalars()]
    order = BAND_ORDER.get(dimension)
    if order:
        rank = {label: i for i, label in enumerate([*order, UNKNOWN])}
        return sorted(values, key=lambda v: rank.get(v, len(rank)))
    return sorted(values, key=str.lower)


COMPARE_METRICS = (
    "customers",
    "mentions",
    "mentions_per_customer",
    "positive_share",
    "negative_share",
    "net_sentiment",
    "avg_lifetime_value",
)


def compare(*, engine: Engine, filters: Filters, dimension: str, a: str, b: str) -> pd.DataFrame:
    """Two groups of ``dimension`` side by side.

    One row per metric of :data:`COMPARE_METRICS` (``positive_share`` and
    ``negative_share`` in % of mentions); columns ``metric``, ``a``, ``b``, ``difference``
    (b − a; NaN when either is undefined).
    """
    frame = by_dimension(engine=engine, filters=filters, dimension=dimension)
    rows = {}
    for key, group in (("a", a), ("b", b)):
        # Region and city rows are per country too: a name may exist in two countries.
        part = frame[frame[dimension] == group]
        counts = {c: int(part[c].sum()) for c in COUNT_COLUMNS}
        mentions, customers = counts["mentions"], counts["customers"]
        valued = part.dropna(subset=["avg_lifetime_value"])
        weight = valued["customers"].sum()
        rows[key] = {
            "customers": customers,
            "mentions": mentions,
            "mentions_per_customer": mentions / customers if customers else float("nan"),
            "positive_share": counts["positive"] / mentions * 100 if mentions else float("nan"),
            "negative_share": counts["negative"] / mentions * 100 if mentions else float("nan"),
            "net_sentiment": net_sentiment(counts["positive"], counts["negative"]),
            "avg_lifetime_value": float((valued["avg_lifetime_value"] * valued["customers"]).sum() / weight)
            if weight
            else float("nan"),
        }
    out = pd.DataFrame(
        {"metric": list(COMPARE_METRICS), "a": [rows["a"][m] for m in COMPARE_METRICS]}
    ).assign(b=[rows["b"][m] for m in COMPARE_METRICS])
    out["a"] = out["a"].astype(float)
    out["b"] = out["b"].astype(float)
    out["difference"] = out["b"] - out["a"]
    return out


# -- at risk ---------------------------------------------------------------------------

AT_RISK_COLUMNS = (
    "customer_id",
    "crm_ref",
    "name",
    "email",
    "segment",
    "lifetime_value",
    "recent_posts",
    "recent_positive",
    "recent_negative",
    "recent_net",
    "before_posts",
    "before_net",
    "change",
    "last_post_at",
)


@dataclass(frozen=True)
class RiskSettings:
    """What "at risk" means: the value quantile, the recent window and the one before it."""

    quantile: float = 0.8
    days: int = 14
    before_days: int = 90
    min_negative: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.quantile < 1:
            raise ScrmError("The value quantile is from 0 (every customer) to below 1")
        if self.days < 1 or self.before_days < 1:
            raise ScrmError("The recent and earlier windows are at least one day long")
        if self.min_negative < 1:
            raise ScrmError("At least one recent negative post is needed to call a customer at risk")


def value_threshold(*, engine: Engine, quantile: float) -> float | None:
    """The ``quantile`` of all customers' lifetime values (lower value; None without values)."""
    ltv = _C.c.lifetime_value
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).where(ltv.is_not(None))).scalar_one()
        if not n:
            return None
        offset = min(math.floor(quantile * (n - 1)), n - 1)
        value = conn.execute(
            sa.select(ltv).where(ltv.is_not(None)).order_by(ltv).limit(1).offset(offset)
        ).scalar()
    return float(value)


def at_risk(*, engine: Engine, filters: Filters, settings: RiskSettings | None = None) -> pd.DataFrame:
    """High-value customers whose recent sentiment turned negative (see the module docstring).

    The recent window is the ``settings.days`` before ``filters.end``; the one before it
    is ``settings.before_days`` long. The filters' brands and platforms apply (their
    period and sentiment do not). Columns :data:`AT_RISK_COLUMNS`; ``change`` = recent net
    − earlier net (earlier NaN counts as 0). Most valuable first.
    """
    settings = settings or RiskSettings()
    threshold = value_threshold(engine=engine, quantile=settings.quantile)
    if threshold is None:
        return pd.DataFrame(columns=list(AT_RISK_COLUMNS))
    end = filters.end
    split = end - timedelta(days=settings.days)
    window = replace(filters, start=split - timedelta(days=settings.before_days), end=end, labels=())
    recent = _M.c.created_at >= split

    def count(label: str | None, when: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        cond = when if label is None else sa.and_(when, _label() == label)
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    stmt = (
        sa.select(
            _C.c.id,
            _C.c.crm_ref,
            _C.c.name,
            _C.c.email,
            _C.c.segment,
            _C.c.lifetime_value,
            count(None, recent),
            count("positive", recent),
            count("negative", recent),
            count(None, ~recent),
            count("positive", ~recent),
            count("negative", ~recent),
            sa.func.max(_M.c.created_at),
        )
        .select_from(_linked_posts())
        .where(*post_conditions(window), _C.c.lifetime_value >= threshold)
        .group_by(_C.c.id, _C.c.crm_ref, _C.c.name, _C.c.email, _C.c.segment, _C.c.lifetime_value)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "crm_ref",
            "name",
            "email",
            "segment",
            "lifetime_value",
            "recent_posts",
            "recent_positive",
            "recent_negative",
            "before_posts",
            "before_positive",
            "before_negative",
            "last_post_at",
        ],
    )
    for col in ("recent_posts", "recent_positive", "recent_negative", "before_posts"):
        frame[col] = frame[col].astype(int)
    frame["lifetime_value"] = frame["lifetime_value"].astype(float)
    frame["recent_net"] = net_sentiment(frame["recent_positive"], frame["recent_negative"])
    frame["before_net"] = net_sentiment(frame["before_positive"], frame["before_negative"])
    frame["change"] = frame["recent_net"] - frame["before_net"].fillna(0)
    risky = (
        (frame["recent_negative"] >= settings.min_negative)
        & (frame["recent_net"] < 0)
        & (frame["recent_net"] < frame["before_net"].fillna(0))
    )
    frame["last_post_at"] = pd.to_datetime(frame["last_post_at"], utc=True)
    out = frame[risky].sort_values(
        ["lifetime_value", "customer_id"], ascending=[False, True], ignore_index=True
    )
    return out[list(AT_RISK_COLUMNS)]


EXPORT_COLUMNS = (
    "crm_ref",
    "name",
    "email",
    "segment",
    "lifetime_value",
    "recent_posts",
    "recent_negative",
    "recent_net",
    "before_net",
    "change",
    "last_post_at",
)


def at_risk_csv(frame: pd.DataFrame) -> bytes:
    """The at-risk table as formula-safe CSV (UTF-8) for the CRM: :data:`EXPORT_COLUMNS`."""

    def number(value: object, digits: int = 1) -> str:
        return "" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in frame.itertuples(index=False):
        writer.writerow(
            [
                neutralise(str(r.crm_ref)),
                neutralise(str(r.name)),
                neutralise(str(r.email)),
                neutralise(str(r.segment)),
                number(r.lifetime_value, 2),
                str(int(r.recent_posts)),
                str(int(r.recent_negative)),
                number(r.recent_net),
                number(r.before_net),
                number(r.change),
                "" if pd.isna(r.last_post_at) else r.last_post_at.isoformat().replace("+00:00", "Z"),
            ]
        )
    return out.getvalue().encode("utf-8")


# -- the map ---------------------------------------------------------------------------

ISO3: dict[str, str] = {
    "united kingdom": "GBR", "uk": "GBR", "great britain": "GBR", "britain": "GBR", "england": "GBR",
    "scotland": "GBR", "wales": "GBR", "northern ireland": "GBR", "ireland": "IRL",
    "republic of ireland": "IRL", "netherlands": "NLD", "the netherlands": "NLD", "holland": "NLD",
    "germany": "DEU", "deutschland": "DEU", "spain": "ESP", "españa": "ESP", "france": "FRA",
    "italy": "ITA", "portugal": "PRT", "belgium": "BEL", "luxembourg": "LUX", "switzerland": "CHE",
    "austria": "AUT", "denmark": "DNK", "sweden": "SWE", "norway": "NOR", "finland": "FIN",
    "iceland": "ISL", "poland": "POL", "czechia": "CZE", "czech republic": "CZE", "slovakia": "SVK",
    "hungary": "HUN", "romania": "ROU", "bulgaria": "BGR", "greece": "GRC", "croatia": "HRV",
    "slovenia": "SVN", "serbia": "SRB", "ukraine": "UKR", "lithuania": "LTU", "latvia": "LVA",
    "estonia": "EST", "malta": "MLT", "cyprus": "CYP", "turkey": "TUR", "türkiye": "TUR",
    "united states": "USA", "united states of america": "USA", "usa": "USA", "us": "USA",
    "america": "USA", "canada": "CAN", "mexico": "MEX", "brazil": "BRA", "argentina": "ARG",
    "chile": "CHL", "colombia": "COL", "peru": "PER", "australia": "AUS", "new zealand": "NZL",
    "india": "IND", "pakistan": "PAK", "bangladesh": "BGD", "china": "CHN", "japan": "JPN",
    "south korea": "KOR", "korea": "KOR", "singapore": "SGP", "malaysia": "MYS", "indonesia": "IDN",
    "philippines": "PHL", "thailand": "THA", "vietnam": "VNM", "viet nam": "VNM", "hong kong": "HKG",
    "taiwan": "TWN", "united arab emirates": "ARE", "uae": "ARE", "saudi arabia": "SAU", "qatar": "QAT",
    "israel": "ISR", "egypt": "EGY", "morocco": "MAR", "nigeria": "NGA", "ghana": "GHA", "kenya": "KEN",
    "south africa": "ZAF", "russia": "RUS", "russian federation": "RUS",
}  # fmt: skip


def iso3(country: str) -> str | None:
    """The ISO 3166-1 alpha-3 code of a country name (common English names and aliases), or None."""
    name = " ".join(str(country).replace(".", "").split()).casefold()
    if len(name) == 3 and name.upper() in set(ISO3.values()):
        return name.upper()
    return ISO3.get(name)


def country_map(frame: pd.DataFrame, *, value: str = "net_sentiment", title: str = "") -> go.Figure:
    """A choropleth of ``by_dimension(..., "country")``: ``value`` per country (ISO-3 located).

    Net sentiment is coloured red (−100) to green (100); counts from light to dark.
    Countries without a known ISO-3 code are left off the map (list them beside it).
    """
    data = frame.assign(iso3=[iso3(c) for c in frame["country"]]).dropna(subset=["iso3"])
    data = data.groupby("iso3", as_index=False).agg(
        country=("country", "first"),
        mentions=("mentions", "sum"),
        customers=("customers", "sum"),
        positive=("positive", "sum"),
        negative=("negative", "sum"),
    )
    data["net_sentiment"] = net_sentiment(data["positive"], data["negative"])
    sentiment = value == "net_sentiment"
    hover = [
        f"{escape(c)}<br>{m:,} mentions by {k:,} customers<br>net sentiment "
        + ("—" if pd.isna(n) else f"{n:+.0f}")
        for c, m, k, n in zip(
            data["country"], data["mentions"], data["customers"], data["net_sentiment"], strict=True
        )
    ]
    fig = go.Figure(
        go.Choropleth(
            locations=data["iso3"],
            locationmode="ISO-3",
            z=data[value],
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            colorscale="RdYlGn" if sentiment else "Blues",
            zmin=-100 if sentiment else None,
            zmax=100 if sentiment else None,
            marker_line_color="#666",
            marker_line_width=0.5,
            colorbar={"title": "net sentiment" if sentiment else value.replace("_", " ")},
        )
    )
    lon = lat = None
    if len(data) and set(data["iso3"]) <= _EUROPE:
        lon, lat = [-25, 40], [34, 66]
    fig.update_geos(
        showcountries=True,
        countrycolor="#bbb",
        showcoastlines=False,
        projection_type="natural earth",
        lonaxis_range=lon,
        lataxis_range=lat,
    )
    fig.update_layout(
        title={"text": escape(title)} if title else None,
        height=460,
        margin={"l": 0, "r": 0, "t": 40 if title else 10, "b": 0},
    )
    return fig


_EUROPE = frozenset(
    {"GBR", "IRL", "NLD", "DEU", "ESP", "FRA", "ITA", "PRT", "BEL", "LUX", "CHE", "AUT", "DNK", "SWE", "NOR",
     "FIN", "ISL", "POL", "CZE", "SVK", "HUN", "ROU", "BGR", "GRC", "HRV", "SVN", "SRB", "UKR", "LTU", "LVA",
     "EST", "MLT", "CYP"}
)  # fmt: skip


def bars(frame: pd.DataFrame, *, dimension: str, title: str) -> go.Figure:
    """Mentions per group, split by sentiment (stacked), with net sentiment in the hover."""
    labels = [escape(str(v), 60) for v in frame[dimension]]
    fig = go.Figure()
    for label in ("positive", "neutral", "negative"):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=frame[label],
                name=label,
                marker_color=SENTIMENT_COLOURS[label],
                customdata=frame["net_sentiment"],
                hovertemplate=f"%{{x}}: %{{y:,}} {label}<br>net sentiment %{{customdata:.0f}}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        title={"text": escape(title)},
        height=340,
        xaxis_title=DIMENSION_NAMES.get(dimension, dimension),
        yaxis_title="mentions",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    if dimension not in BAND_ORDER:
        fig.update_xaxes(type="category")
    return fig

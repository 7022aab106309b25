"""The executive overview: KPI cards with period deltas and sparklines, and a plain summary.

Everything here is a pure function of an hourly activity frame (``trends.activity``) that
covers the period *and* the previous period of the same length for *every* brand, so one
SQL query serves all cards: share of voice needs the other brands, deltas need the
previous period. Definitions are DESIGN.md's (see ``scrm.trends``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from scrm.filters import Filters
from scrm.trends import net_sentiment, select, totals

KPI_HELP = {
    "mentions": "Brand mentions in the period (a post about two brands counts for each).",
    "reach": "Sum of the authors' followers at posting time: potential impressions.",
    "engagement": "Likes + shares + comments.",
    "net_sentiment": "(positive − negative) / (positive + negative) × 100, from −100 to 100.",
    "share_of_voice": "Mentions of your own brand(s) / mentions of all tracked brands × 100.",
    "open_alerts": "Alerts not resolved yet (any age), of the chosen brands; P1 among them.",
    "first_response": "Median time from a complaint to the brand account's first reply, posts of the period.",
}


def engage_cards(
    open_counts: Mapping[str, int],
    responses_now: Mapping[str, object],
    responses_before: Mapping[str, object],
) -> list[Kpi]:
    """The Overview's two Engage cards: open alerts, and the median first response with its change.

    ``open_counts`` is ``scrm.inbox.open_alerts``'s result; the others ``scrm.responses.summarise``'s.
    """
    median_now = responses_now.get("median_first_response_s")
    median_before = responses_before.get("median_first_response_s")
    return [
        Kpi("open_alerts", "Open alerts", open_counts["open"], None, "count", help=f"{open_counts['p1']} P1"),
        Kpi("first_response", "Median first response", median_now, median_before, "seconds"),  # type: ignore[arg-type]
    ]


@dataclass(frozen=True)
class Kpi:
    """One KPI card: value, the previous period's value and a daily sparkline.

    ``unit`` is ``count``, ``score`` (net sentiment, −100…100) or ``percent``; ``value``
    and ``previous`` are None when undefined (e.g. net sentiment with no polar mention).
    """

    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str
    spark: tuple[float | None, ...] = field(default=())
    help: str = ""

    @property
    def delta(self) -> float | None:
        """``value − previous`` (points for scores and percentages), None if either is missing."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def delta_pct(self) -> float | None:
        """Relative change in % for counts; None for scores, percentages or a zero base."""
        if self.unit != "count" or self.delta is None or not self.previous:
            return None
        return self.delta / self.previous * 100.0


def format_value(value: float | None, unit: str) -> str:
    """A KPI value as shown: thousands separators, K/M for big counts, "—" when undefined."""
    if value is None:
        return "—"
    if unit == "count":
        for size, suffix, above in ((1e9, "B", 1e9), (1e6, "M", 1e6), (1e3, "K", 1e4)):
            if abs(value) >= above:
                return f"{value / size:,.1f}{suffix}"
        return f"{value:,.0f}"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "seconds":
        return f"{value / 60:.0f} min" if abs(value) < 5400 else f"{value / 3600:.1f} h"
    return f"{value:+.0f}" if round(value) != 0 else "0"


def format_delta(kpi: Kpi) -> str | None:
    """The change shown under a KPI: ``+12.5 %`` for counts, ``+4.0 pts`` otherwise."""
    if kpi.delta is None:
        return None
    if kpi.unit == "count":
        pct = kpi.delta_pct
        return f"{kpi.delta:+,.0f}" if pct is None else f"{pct:+.1f} %"
    if kpi.unit == "seconds":
        return f"{kpi.delta / 3600:+.1f} h"
    return f"{kpi.delta:+.1f} pts"


def _daily(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Per 24-hour window counted back from the period's end: mentions, reach, engagement,
    positive, negative (oldest first). Windows, not calendar days, so that a period ending
    now has no partial last day that looks like a fall."""
    n = max(1, -(-int(filters.length.total_seconds()) // 86400))
    cols = ["mentions", "reach", "engagement", "positive", "negative"]
    out = pd.DataFrame(0, index=range(n), columns=cols, dtype="int64")
    if frame.empty:
        return out
    back = (pd.Timestamp(filters.end) - frame["ts"]) // pd.Timedelta(days=1)
    window = (n - 1 - back).clip(lower=0)
    local = frame.assign(window=window)
    sums = local.groupby("window")[["mentions", "reach", "engagement"]].sum()
    out.loc[sums.index, ["mentions", "reach", "engagement"]] = sums.to_numpy()
    for label in ("positive", "negative"):
        part = local[local["label"] == label].groupby("window")["mentions"].sum()
        out.loc[part.index, label] = part.to_numpy()
    return out


def kpi_cards(frame: pd.DataFrame, *, filters: Filters, own_brand_ids: tuple[int, ...]) -> list[Kpi]:
    """The Overview's KPI cards for ``filters`` and deltas against ``filters.previous()``.

    ``frame`` is an activity frame for every brand (not only ``filters.brand_ids``) over both
    periods, platform-filtered. Share of voice is the own brands' share of all brands'
    mentions, under the same period, platform and sentiment filters.
    """
    previous = filters.previous()
    now, before = select(frame, filters), select(frame, previous)
    t_now, t_before = totals(now), totals(before)
    everyone = (replace_brands(filters), replace_brands(previous))
    sov_now = _share(select(frame, everyone[0]), own_brand_ids)
    sov_before = _share(select(frame, everyone[1]), own_brand_ids)
    daily = _daily(now, filters)
    daily_all = _daily(select(frame, everyone[0]), filters)
    daily_own = _daily(select(frame, replace_brands(filters, own_brand_ids)), filters)

    def spark(col: str) -> tuple[float | None, ...]:
        return tuple(float(v) for v in daily[col])

    net_spark = tuple(net_sentiment(p, n) for p, n in zip(daily["positive"], daily["negative"], strict=True))
    sov_spark = tuple(
        None if a == 0 else o / a * 100.0
        for o, a in zip(daily_own["mentions"], daily_all["mentions"], strict=True)
    )
    return [
        Kpi("mentions", "Mentions", t_now.mentions, t_before.mentions, "count", spark("mentions")),
        Kpi("reach", "Reach", t_now.reach, t_before.reach, "count", spark("reach")),
        Kpi("engagement", "Engagement", t_now.engagement, t_before.engagement, "count", spark("engagement")),
        Kpi(
            "net_sentiment", "Net sentiment", t_now.net_sentiment, t_before.net_sentiment, "score", net_spark
        ),
        Kpi("share_of_voice", "Share of voice (own)", sov_now, sov_before, "percent", sov_spark),
    ]


def replace_brands(filters: Filters, brand_ids: tuple[int, ...] = ()) -> Filters:
    """``filters`` with another brand selection (empty: every brand)."""
    return Filters(
        start=filters.start,
        end=filters.end,
        brand_ids=tuple(brand_ids),
        platforms=filters.platforms,
        labels=filters.labels,
    )


def _share(frame: pd.DataFrame, own: tuple[int, ...]) -> float | None:
    total = frame["mentions"].sum()
    if not own or total == 0:
        return None
    return float(frame.loc[frame["brand_id"].isin(list(own)), "mentions"].sum() / total * 100.0)


@dataclass(frozen=True)
class BrandChange:
    """How one brand's negative volume and net sentiment moved between two periods."""

    brand_id: int
    negative: int
    negative_before: int
    mentions: int
    mentions_before: int
    net: float | None
    net_before: float | None

    @property
    def negative_rise(self) -> int:
        """Negative mentions now minus before."""
        return self.negative - self.negative_before


def brand_changes(frame: pd.DataFrame, *, filters: Filters) -> list[BrandChange]:
    """Per brand of ``filters`` (all brands in the frame when none is chosen), sorted by negative rise."""
    out = []
    now, before = select(frame, filters), select(frame, filters.previous())
    ids = filters.brand_ids or tuple(sorted(set(frame["brand_id"])))
    for brand_id in ids:
        a = totals(now[now["brand_id"] == brand_id])
        b = totals(before[before["brand_id"] == brand_id])
        out.append(
            BrandChange(
                brand_id, a.negative, b.negative, a.mentions, b.mentions, a.net_sentiment, b.net_sentiment
            )
        )
    return sorted(out, key=lambda c: (-c.negative_rise, c.brand_id))


def driver_terms(rising: pd.DataFrame, *, brand_name: str, limit: int = 5) -> list[str]:
    """The rising terms that say *why*: ``rising.term`` without the brand's own name.

    "harbor", "harbor bank" and "#harborbank" say nothing about Harbor Bank's change.
    """
    own = set(re.findall(r"\w+", brand_name.lower()))
    compact = "".join(sorted(own, key=brand_name.lower().find))

    def names_brand(term: str) -> bool:
        bare = term.lstrip("#")
        return set(bare.split()) <= own or bare == compact

    return [t for t in rising["term"] if not names_brand(t)][:limit]


def summary_sentences(
    kpis: list[Kpi],
    changes: list[BrandChange],
    *,
    names: Mapping[int, str],
    drivers: Mapping[int, list[str]],
    days: int,
) -> list[str]:
    """A plain-language summary of what changed and why, computed from the numbers.

    ``drivers`` maps a brand id to the terms that rose most in its negative posts. Returns
    plain sentences (no markup): pages must show them as text.
    """
    by_key = {k.key: k for k in kpis}
    period = f"the previous {days} day{'s' if days != 1 else ''}"
    out: list[str] = []
    mentions = by_key["mentions"]
    if not mentions.value:
        return ["No mentions match the filters in this period."]
    pct = mentions.delta_pct
    trend = "" if pct is None else f", {'up' if pct >= 0 else 'down'} {abs(pct):.0f} % on {period}"
    out.append(f"{mentions.value:,.0f} mentions{trend}.")
    net = by_key["net_sentiment"]
    if net.value is not None:
        moved = "" if net.delta is None else f" ({net.delta:+.0f} pts)"
        out.append(f"Net sentiment is {net.value:+.0f}{moved}.")
    rising = [c for c in changes if c.negative_rise > 0]
    if rising:
        top = rising[0]
        name = names.get(top.brand_id, f"brand {top.brand_id}")
        growth = (
            f"from {top.negative_before:,} to {top.negative:,}"
            if top.negative_before
            else f"to {top.negative:,} (none before)"
        )
        sentence = f"{name}'s negative mentions rose most: {growth}"
        if top.net is not None:
            sentence += f", net sentiment {top.net:+.0f}"
            if top.net_before is not None:
                sentence += f" (was {top.net_before:+.0f})"
        terms = drivers.get(top.brand_id) or []
        sentence += f", driven by {', '.join(repr(t) for t in terms[:5])}." if terms else "."
        out.append(sentence)
    elif changes:
        out.append(f"No brand's negative mentions rose against {period}.")
    sov = by_key["share_of_voice"]
    if sov.value is not None:
        moved = "" if sov.delta is None else f" ({sov.delta:+.1f} pts)"
        out.append(f"Your share of voice is {sov.value:.1f} %{moved}.")
    return out

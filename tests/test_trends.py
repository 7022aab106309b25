"""Trends and KPIs on hand-built activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.scoring import set_label
from scrm.trends import (
    DAY,
    activity,
    net_sentiment,
    resample,
    series_by_brand,
    share_of_voice,
    share_of_voice_series,
    totals,
)
from tests.factories import add_activity

D0 = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def period(days: int = 2, **kw: object) -> Filters:
    return Filters(start=D0, end=D0 + timedelta(days=days), **kw)  # type: ignore[arg-type]


@pytest.fixture
def brands(engine):
    h = timedelta(hours=1)
    rows = [
        ("Own", D0 + h, "positive", 100, 5),
        ("Own", D0 + 2 * h, "negative", 1000, 50),
        ("Own", D0 + 2 * h, "negative", 10, 1),
        ("Own", D0 + timedelta(days=1, hours=3), "neutral", 5, 0),
        ("Rival", D0 + h, "positive", 7, 2),
        ("Rival", D0 - h, "positive", 7, 2),  # previous period
        ("Rival", D0 + timedelta(days=2), "negative", 7, 2),  # end is exclusive
    ]
    return add_activity(engine, rows)


def test_net_sentiment_definition() -> None:
    assert net_sentiment(3, 1) == 50.0
    assert net_sentiment(0, 2) == -100.0
    assert net_sentiment(0, 0) is None


def test_activity_and_totals(engine, brands) -> None:
    frame = activity(engine=engine, filters=period())
    t = totals(frame)
    assert (t.mentions, t.reach, t.engagement) == (5, 1122, 58)
    assert (t.positive, t.neutral, t.negative) == (2, 1, 2)
    assert t.net_sentiment == 0.0
    own = totals(frame[frame["brand_id"] == brands["Own"]])
    assert own.net_sentiment == pytest.approx(-100 / 3)
    assert share_of_voice(frame, {brands["Own"]}) == 80.0
    assert str(frame["ts"].dt.tz) == "UTC"


def test_filters_change_results(engine, brands) -> None:
    only_rival = activity(engine=engine, filters=period(brand_ids=(brands["Rival"],)))
    assert totals(only_rival).mentions == 1
    negative = activity(engine=engine, filters=period(labels=("negative",)))
    assert totals(negative).mentions == 2
    assert totals(activity(engine=engine, filters=period(platforms=("reddit",)))).mentions == 0
    previous = activity(engine=engine, filters=period().previous())
    assert totals(previous).mentions == 1


def test_daily_buckets_in_sql_and_local_resampling(engine, brands) -> None:
    daily = activity(engine=engine, filters=period(), bucket=DAY)
    assert sorted(daily.groupby("ts")["mentions"].sum().tolist()) == [1, 4]
    hourly = activity(engine=engine, filters=period())
    tokyo = resample(hourly, freq="D", tz="Asia/Tokyo")  # UTC+9: 15:00 UTC on day 1 is the next day
    per_day = tokyo.groupby("ts")["mentions"].sum()
    assert per_day.index[0] == pd.Timestamp("2026-11-02", tz="Asia/Tokyo")
    assert per_day.tolist() == [4, 1]
    weekly = resample(hourly, freq="W-MON", tz="UTC")
    assert weekly["ts"].nunique() == 1 and weekly["mentions"].sum() == 5


def test_series_and_share_of_voice_over_time(engine, brands) -> None:
    frame = activity(engine=engine, filters=period())
    s = series_by_brand(frame)
    row = s[(s["brand_id"] == brands["Own"]) & (s["ts"] == D0 + timedelta(hours=2))].iloc[0]
    assert (row["mentions"], row["negative"], row["net_sentiment"]) == (2, 2, -100.0)
    sov = share_of_voice_series(frame)
    first = sov[sov["ts"] == D0 + timedelta(hours=1)].set_index("brand_id")["share"]
    assert first.to_dict() == {brands["Own"]: 50.0, brands["Rival"]: 50.0}


def test_bad_filters_are_refused() -> None:
    with pytest.raises(ScrmError, match="after its start"):
        Filters(start=D0, end=D0)
    with pytest.raises(ScrmError, match="Unknown sentiment"):
        period(labels=("angry",))


def _rollup_and_links(engine) -> tuple[list, list]:
    with engine.connect() as conn:
        rollup = conn.execute(
            sa.text(
                "SELECT brand_id, hour, platform, label, mentions, reach, engagement FROM activity_hourly "
                "ORDER BY 1, 2, 3, 4"
            )
        ).all()
        links = conn.execute(
            sa.text(
                "SELECT brand_id, ts / 3600, platform, label, count(*), sum(reach), sum(engagement) "
                "FROM mention_brand GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
            )
        ).all()
    return [tuple(r) for r in rollup], [tuple(r) for r in links]


def test_hourly_rollup_stays_exact_through_inserts_relabels_updates_and_deletes(engine, brands) -> None:
    rollup, links = _rollup_and_links(engine)
    assert rollup == links and sum(r[4] for r in rollup) == 7
    with engine.begin() as conn:
        first = conn.execute(sa.text("SELECT min(id) FROM mention")).scalar_one()
    set_label(engine=engine, mention_ids=[first, first + 1], label="negative", user="ana")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE mention_brand SET engagement = engagement + 10, reach = 0"))
        conn.execute(sa.text("DELETE FROM mention WHERE id = :i"), {"i": first + 2})
    rollup, links = _rollup_and_links(engine)
    assert rollup == links and sum(r[4] for r in rollup) == 6
    assert all(r[4] > 0 for r in rollup)  # emptied hours are removed


def test_rollup_and_link_scan_give_the_same_activity(engine, brands) -> None:
    aligned = period(days=2)
    odd = Filters(start=D0 - timedelta(seconds=1), end=D0 + timedelta(days=2, seconds=1))
    a = activity(engine=engine, filters=aligned, bucket=DAY)
    b = activity(engine=engine, filters=odd, bucket=DAY)
    assert aligned.whole_hours and not odd.whole_hours
    # the odd period also holds the mention at exactly D0 + 2 days (end is exclusive for aligned)
    assert int(b["mentions"].sum()) == int(a["mentions"].sum()) + 1
    pd.testing.assert_frame_equal(
        a.sort_values(["ts", "brand_id", "label"], ignore_index=True),
        b[b["ts"] < pd.Timestamp(D0 + timedelta(days=2))].sort_values(
            ["ts", "brand_id", "label"], ignore_index=True
        ),
    )

"""Overview KPIs, deltas, sparklines and the plain-language summary on hand-built activity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from scrm.exceptions import ScrmError
from scrm.filters import Filters, params_from_state, period_bounds, state_from_params
from scrm.overview import (
    Kpi,
    brand_changes,
    driver_terms,
    format_delta,
    format_value,
    kpi_cards,
    summary_sentences,
)
from scrm.trends import activity, platform_mix, weekday_hour
from tests.factories import add_activity

D0 = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)


@pytest.fixture
def data(engine):
    rows = [
        # previous period (1–2 Nov): Own 1 positive, 1 negative; Rival 2 positive
        ("Own", D0 - timedelta(days=1) + H, "positive", 100, 1),
        ("Own", D0 - timedelta(days=1) + 2 * H, "negative", 50, 1),
        ("Rival", D0 - timedelta(days=1) + H, "positive", 10, 1),
        ("Rival", D0 - timedelta(days=1) + H, "positive", 10, 1),
        # current period (2–3 Nov): Own 1 positive, 3 negative; Rival 1 positive, 1 neutral
        ("Own", D0 + H, "positive", 1000, 10),
        ("Own", D0 + 2 * H, "negative", 500, 20),
        ("Own", D0 + 2 * H, "negative", 500, 20),
        ("Own", D0 + 23 * H, "negative", 100, 5),
        ("Rival", D0 + 3 * H, "positive", 5, 0),
        ("Rival", D0 + 4 * H, "neutral", 5, 0),
    ]
    ids = add_activity(engine, rows)
    period = Filters(start=D0, end=D0 + timedelta(days=1))
    frame = activity(engine=engine, filters=Filters(start=D0 - timedelta(days=1), end=D0 + timedelta(days=1)))
    return ids, period, frame


def test_kpi_cards_values_deltas_and_share_of_voice(data) -> None:
    ids, period, frame = data
    cards = {k.key: k for k in kpi_cards(frame, filters=period, own_brand_ids=(ids["Own"],))}
    assert (cards["mentions"].value, cards["mentions"].previous) == (6, 4)
    assert cards["mentions"].delta == 2 and cards["mentions"].delta_pct == pytest.approx(50.0)
    assert (cards["reach"].value, cards["reach"].previous) == (2110, 170)
    assert (cards["engagement"].value, cards["engagement"].previous) == (55, 4)
    # net sentiment: now (2 − 3) / 5 × 100 = −20; before (3 − 1) / 4 × 100 = 50
    assert cards["net_sentiment"].value == pytest.approx(-20.0)
    assert cards["net_sentiment"].delta == pytest.approx(-70.0)
    assert cards["net_sentiment"].delta_pct is None
    # share of voice of Own: 4 / 6 now, 2 / 4 before
    assert cards["share_of_voice"].value == pytest.approx(400 / 6)
    assert cards["share_of_voice"].previous == pytest.approx(50.0)
    assert cards["mentions"].spark == (6.0,)  # one day in the period


def test_brand_filter_narrows_kpis_but_not_the_share_of_voice_denominator(data) -> None:
    ids, period, frame = data
    own_only = Filters(start=period.start, end=period.end, brand_ids=(ids["Own"],))
    cards = {k.key: k for k in kpi_cards(frame, filters=own_only, own_brand_ids=(ids["Own"],))}
    assert cards["mentions"].value == 4
    assert cards["share_of_voice"].value == pytest.approx(400 / 6)
    negative = Filters(start=period.start, end=period.end, labels=("negative",))
    cards = {k.key: k for k in kpi_cards(frame, filters=negative, own_brand_ids=(ids["Own"],))}
    assert cards["mentions"].value == 3 and cards["share_of_voice"].value == pytest.approx(100.0)


def test_kpis_of_an_empty_period_are_undefined_not_errors(data) -> None:
    ids, _, frame = data
    later = Filters(start=D0 + timedelta(days=10), end=D0 + timedelta(days=11))
    cards = {k.key: k for k in kpi_cards(frame, filters=later, own_brand_ids=(ids["Own"],))}
    assert cards["mentions"].value == 0 and cards["net_sentiment"].value is None
    assert cards["share_of_voice"].value is None and cards["net_sentiment"].delta is None
    assert format_value(cards["net_sentiment"].value, "score") == "—"


def test_brand_changes_and_summary_name_the_brand_and_its_drivers(data) -> None:
    ids, period, frame = data
    changes = brand_changes(frame, filters=period)
    assert changes[0].brand_id == ids["Own"] and changes[0].negative_rise == 2
    cards = kpi_cards(frame, filters=period, own_brand_ids=(ids["Own"],))
    names = {v: k for k, v in ids.items()}
    text = summary_sentences(cards, changes, names=names, drivers={ids["Own"]: ["fees", "students"]}, days=1)
    assert text[0] == "6 mentions, up 50 % on the previous 1 day."
    assert text[1] == "Net sentiment is -20 (-70 pts)."
    assert (
        text[2]
        == "Own's negative mentions rose most: from 1 to 3, net sentiment -50 (was +0), driven by 'fees', 'students'."
    )
    assert text[3] == "Your share of voice is 66.7 % (+16.7 pts)."
    empty = kpi_cards(frame.iloc[0:0], filters=period, own_brand_ids=())
    assert summary_sentences(empty, [], names=names, drivers={}, days=1) == [
        "No mentions match the filters in this period."
    ]


def test_formatting() -> None:
    assert format_value(1234, "count") == "1,234"
    assert format_value(12_345, "count") == "12.3K"
    assert format_value(2_500_000, "count") == "2.5M"
    assert format_value(41.26, "percent") == "41.3 %"
    assert format_value(-20.4, "score") == "-20"
    assert format_value(0.2, "score") == "0"
    assert format_delta(Kpi("m", "M", 150, 100, "count")) == "+50.0 %"
    assert format_delta(Kpi("m", "M", 5, 0, "count")) == "+5"
    assert format_delta(Kpi("n", "N", 10, -5, "score")) == "+15.0 pts"
    assert format_delta(Kpi("n", "N", None, -5, "score")) is None


def test_period_bounds() -> None:
    now = datetime(2026, 11, 25, 10, 37, tzinfo=UTC)
    start, end = period_bounds("7d", now=now)
    assert end == datetime(2026, 11, 25, 11, tzinfo=UTC) and end - start == timedelta(days=7)
    start, end = period_bounds(
        "custom", now=now, tz="Europe/Paris", first=date(2026, 7, 1), last=date(2026, 7, 2)
    )
    assert start == datetime(2026, 6, 30, 22, tzinfo=UTC) and end == datetime(2026, 7, 2, 22, tzinfo=UTC)
    with pytest.raises(ScrmError, match="before its first"):
        period_bounds("custom", now=now, first=date(2026, 7, 2), last=date(2026, 7, 1))
    with pytest.raises(ScrmError, match="Unknown period"):
        period_bounds("2y", now=now)


def test_platform_mix_and_weekday_hour(data, engine) -> None:
    ids, period, _ = data
    mix = platform_mix(engine=engine, filters=period)
    assert mix.to_dict("records") == [
        {"brand_id": ids["Own"], "platform": "twitter", "mentions": 4},
        {"brand_id": ids["Rival"], "platform": "twitter", "mentions": 2},
    ]
    matrix = weekday_hour(activity(engine=engine, filters=period), tz="UTC")
    assert matrix.shape == (7, 24) and int(matrix.values.sum()) == 6
    assert matrix.loc[0, 2] == 2  # Monday 02:00 UTC
    paris = weekday_hour(activity(engine=engine, filters=period), tz="Europe/Paris")
    assert paris.loc[0, 3] == 2 and paris.loc[1, 0] == 1  # 23:00 UTC Monday is Tuesday 00:00 in Paris


def test_driver_terms_leave_out_the_brands_own_name() -> None:
    import pandas as pd

    rising = pd.DataFrame(
        {"term": ["harbor", "harbor bank", "#harborbank", "fees", "bank closed", "#fees", "branch"]}
    )
    assert driver_terms(rising, brand_name="Harbor Bank") == ["fees", "bank closed", "#fees", "branch"]
    assert driver_terms(rising, brand_name="Harbor Bank", limit=2) == ["fees", "bank closed"]


def test_filter_state_round_trips_through_query_params() -> None:
    state = {
        "period": "custom",
        "from": date(2026, 1, 1),
        "to": date(2026, 1, 31),
        "brand": ["A"],
        "sentiment": [],
    }
    params = params_from_state(state)
    assert params == {"period": ["custom"], "from": ["2026-01-01"], "to": ["2026-01-31"], "brand": ["A"]}
    back = state_from_params(params, brands=["A", "B"], platforms=["reddit"])
    assert back == {"period": "custom", "from": date(2026, 1, 1), "to": date(2026, 1, 31), "brand": ["A"]}
    assert params_from_state({"period": "7d", "brand": []}) == {}  # defaults keep links short
    junk = {
        "period": ["1y"],
        "from": ["2026-02-30"],
        "brand": ["A", "A", "<b>x</b>"],
        "platform": ["reddit", "tiktok"],
    }
    assert state_from_params(junk, brands=["A"], platforms=["reddit"]) == {
        "brand": ["A"],
        "platform": ["reddit"],
    }


def test_engage_cards_and_durations() -> None:
    from scrm.overview import engage_cards

    cards = engage_cards(
        {"open": 3, "p1": 1, "breached": 0},
        {"median_first_response_s": 5400.0},
        {"median_first_response_s": 9000.0},
    )
    assert (cards[0].value, cards[0].help) == (3, "1 P1")
    assert format_value(cards[1].value, "seconds") == "1.5 h" and format_value(1800, "seconds") == "30 min"
    assert format_delta(cards[1]) == "-1.0 h"
    assert format_value(engage_cards({"open": 0, "p1": 0}, {}, {})[1].value, "seconds") == "—"

"""Spike detection on hand-built series with known spikes and known quiet periods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scrm.exceptions import ScrmError
from scrm.spikes import SpikeRule, detect_spikes, rule_for, spikes_by_brand

T0 = pd.Timestamp("2026-11-02", tz="UTC")


def hourly(values: list[float] | np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range(T0, periods=len(values), freq="h"))


def rhythm(days: int, seed: int = 1) -> np.ndarray:
    """A noisy daily rhythm: quiet nights, busy days, like real mention volume."""
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    base = 20 + 15 * np.sin((hours % 24 - 6) / 24 * 2 * np.pi)
    return rng.poisson(np.clip(base, 2, None)).astype(float)


def test_quiet_rhythm_raises_no_spike() -> None:
    assert detect_spikes(hourly(rhythm(21))).empty


def test_daily_peak_is_not_a_spike_but_a_night_time_burst_is() -> None:
    values = rhythm(14)
    values[10 * 24 + 3] = 3 * values[10 * 24 + 3] + 25  # 03:00, quiet hour: unusual for that hour
    found = detect_spikes(hourly(values))
    assert list(found["ts"]) == [T0 + pd.Timedelta(hours=10 * 24 + 3)]


def test_known_spike_is_found_once_with_its_figures() -> None:
    values = rhythm(14)
    onset = 10 * 24 + 9
    values[onset : onset + 6] += [300, 250, 200, 150, 120, 100]  # one crisis over six hours
    found = detect_spikes(hourly(values))
    assert list(found["ts"]) == [T0 + pd.Timedelta(hours=onset)]  # cooldown: one crisis, one spike
    row = found.iloc[0]
    assert row["count"] == values[onset]
    assert row["threshold"] == pytest.approx(row["baseline_mean"] + 3 * row["baseline_sd"])
    assert row["ratio"] > 5


def test_cooldown_separates_two_incidents() -> None:
    values = rhythm(21)
    values[5 * 24 + 12] += 400
    values[14 * 24 + 12] += 400  # past the first one's 7-day baseline
    found = detect_spikes(hourly(values))
    assert len(found) == 2
    short = detect_spikes(hourly(values), SpikeRule(cooldown=24 * 10))
    assert len(short) == 1


def test_minimum_count_and_history() -> None:
    values = np.zeros(96)
    values[80] = 5  # far above a zero baseline, but below the minimum count
    assert detect_spikes(hourly(values)).empty
    values[80] = 50
    assert len(detect_spikes(hourly(values))) == 1
    early = np.zeros(96)
    early[10] = 500  # ten hours of history: not enough
    assert detect_spikes(hourly(early)).empty


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline": 1},
        {"k": -1},
        {"min_count": 0},
        {"cooldown": -2},
        {"min_history": 500},
        {"season": 100},
        {"min_ratio": 0.5},
    ],
)
def test_impossible_rules_are_refused(kwargs: dict) -> None:
    with pytest.raises(ScrmError):
        SpikeRule(**kwargs)


def test_default_rules_per_granularity() -> None:
    assert rule_for(3600).baseline == 168 and rule_for(3600).cooldown == 24
    assert rule_for(3600).season == 24  # the same hour on the previous days
    assert rule_for(86400).baseline == 7 and rule_for(86400).cooldown == 1 and rule_for(86400).season == 1


def test_spikes_by_brand_fills_gaps_and_keeps_brands_apart() -> None:
    values = rhythm(10)
    values[8 * 24] += 500
    ts = pd.date_range(T0, periods=len(values), freq="h")
    quiet = pd.DataFrame({"ts": ts, "brand_id": 2, "mentions": rhythm(10, seed=3)})
    loud = pd.DataFrame({"ts": ts, "brand_id": 1, "mentions": values})
    series = pd.concat([loud, quiet[quiet["mentions"] > 0]])  # missing buckets count 0
    found = spikes_by_brand(series, freq="h")
    assert list(found["brand_id"]) == [1]
    assert found.iloc[0]["ts"] == T0 + pd.Timedelta(days=8)
    assert spikes_by_brand(series.iloc[0:0], freq="h").empty
    with pytest.raises(ScrmError):
        spikes_by_brand(series, freq="minute")

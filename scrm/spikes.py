"""Spike detection on a regular count series (DESIGN.md's definition).

A bucket is a spike when its count exceeds the trailing baseline's mean + k·sd (sd at
least √mean, the Poisson noise of counts) and ``min_ratio`` × the mean, is at
least ``min_count``, and no spike was raised in the ``cooldown`` buckets before it, so one
crisis raises one spike, not fifty. The baseline is the ``baseline`` buckets before the
current one (the same granularity: 168 hours, or 7 days, for a 7-day baseline). The
charts use it to mark spikes; the alert engine uses the same function. With a ``season``
(24 for hourly counts) the count must also exceed mean + k·sd of the same hour on the
previous days, so the daily rhythm of posting is not mistaken for spikes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scrm.exceptions import ScrmError

SPIKE_COLUMNS = ("ts", "count", "baseline_mean", "baseline_sd", "threshold", "ratio")


@dataclass(frozen=True)
class SpikeRule:
    """Parameters of spike detection, in buckets of the series' own granularity."""

    baseline: int = 168
    k: float = 3.0
    min_count: int = 10
    cooldown: int = 24
    min_history: int = 24
    min_ratio: float = 1.5
    season: int = 24

    def __post_init__(self) -> None:
        if self.baseline < 2:
            raise ScrmError("A spike baseline needs at least 2 buckets")
        if self.k < 0:
            raise ScrmError("A spike's k (standard deviations) cannot be negative")
        if self.min_count < 1:
            raise ScrmError("A spike's minimum count must be at least 1")
        if self.cooldown < 0:
            raise ScrmError("A spike cooldown cannot be negative")
        if self.season < 1 or self.season > self.baseline // 2:
            raise ScrmError("A spike season must be between 1 and half the baseline")
        if self.min_ratio < 1:
            raise ScrmError("A spike's minimum ratio to the baseline mean must be at least 1")
        if not 2 <= self.min_history <= self.baseline:
            raise ScrmError("A spike's minimum history must be between 2 and the baseline length")


def rule_for(bucket_seconds: int) -> SpikeRule:
    """The default rule for a granularity: a 7-day baseline and a one-day cooldown."""
    per_day = max(1, 86400 // bucket_seconds)
    baseline = max(4, 7 * per_day)
    return SpikeRule(
        season=per_day if per_day > 1 else 1,
        baseline=baseline,
        min_history=max(2, min(baseline, per_day)),
        cooldown=max(1, per_day),
        min_count=20,
    )


def _baseline(values: np.ndarray, rule: SpikeRule, season: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and mean + k·sd of the baseline of each bucket (NaN without enough history).

    The baseline is the previous ``baseline // season`` buckets ``season`` apart; its sd is
    never taken below sqrt(mean), the Poisson noise of counts, which a short calm baseline
    understates.
    """
    lags = np.full((rule.baseline // season, len(values)), np.nan)
    for j in range(1, len(lags) + 1):
        if season * j < len(values):
            lags[j - 1, season * j :] = values[: len(values) - season * j]
    enough = (~np.isnan(lags)).sum(axis=0) >= max(2, rule.min_history // season)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no history yet
        mean = np.where(enough, np.nanmean(lags, axis=0), np.nan)
        sd = np.fmax(np.where(enough, np.nanstd(lags, axis=0), np.nan), np.sqrt(mean))
    return mean, mean + rule.k * sd


def detect_spikes(counts: pd.Series, rule: SpikeRule | None = None) -> pd.DataFrame:
    """Spikes in ``counts`` (indexed by bucket start, regular, gaps filled with 0).

    Columns: ``ts``, ``count``, ``baseline_mean``, ``baseline_sd``, ``threshold``
    (mean + k·sd) and ``ratio`` (count / baseline mean). Buckets with fewer than
    ``min_history`` buckets before them are never spikes.
    """
    rule = rule or SpikeRule()
    values = counts.to_numpy(dtype=float)
    mean, threshold = _baseline(values, rule, 1)
    if rule.season > 1:  # also unusual for that hour of the day
        _, seasonal = _baseline(values, rule, rule.season)
        threshold = np.fmax(threshold, seasonal)
    candidate = (
        (values >= rule.min_count)
        & (values > threshold)
        & (values >= rule.min_ratio * mean)
        & ~np.isnan(threshold)
    )
    rows = []
    last = -(10**9)
    for i in np.flatnonzero(candidate):
        if i - last <= rule.cooldown:
            continue
        last = i
        rows.append(
            (
                counts.index[i],
                int(values[i]),
                float(mean[i]),
                float((threshold[i] - mean[i]) / rule.k) if rule.k else 0.0,
                float(threshold[i]),
                float(values[i] / mean[i]) if mean[i] > 0 else float("inf"),
            )
        )
    return pd.DataFrame(rows, columns=list(SPIKE_COLUMNS))


FREQ_SECONDS = {"h": 3600, "D": 86400, "W-MON": 7 * 86400}


def spikes_by_brand(series: pd.DataFrame, *, freq: str) -> pd.DataFrame:
    """Spikes of each brand's ``mentions`` in a per-bucket, per-brand series.

    ``series`` has ``ts``, ``brand_id`` and ``mentions`` (as ``trends.series_by_brand``) at
    ``freq`` ("h", "D" or "W-MON"); missing buckets count 0. Returns :data:`SPIKE_COLUMNS`
    plus ``brand_id``.
    """
    if freq not in FREQ_SECONDS:
        raise ScrmError(f"Unknown granularity {freq!r}: use one of {', '.join(FREQ_SECONDS)}")
    rule = rule_for(FREQ_SECONDS[freq])
    if series.empty:
        return pd.DataFrame(columns=[*SPIKE_COLUMNS, "brand_id"])
    index = pd.date_range(series["ts"].min(), series["ts"].max(), freq=freq)
    parts = []
    for brand_id, part in series.groupby("brand_id"):
        counts = part.groupby("ts")["mentions"].sum().reindex(index, fill_value=0)
        found = detect_spikes(counts, rule)
        if not found.empty:
            parts.append(found.assign(brand_id=brand_id))
    if not parts:
        return pd.DataFrame(columns=[*SPIKE_COLUMNS, "brand_id"])
    return pd.concat(parts, ignore_index=True).sort_values(["ts", "brand_id"], ignore_index=True)

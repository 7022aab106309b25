"""The shared filters every page and query takes: period, brands, platforms, sentiment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from scrm.exceptions import ScrmError
from scrm.models import LABELS, ActivityHourly, MentionBrand
from scrm.timeutil import epoch, get_zone

_MB = MentionBrand.__table__
_AH = ActivityHourly.__table__
HOUR = 3600


@dataclass(frozen=True)
class Filters:
    """A period ``[start, end)`` (aware datetimes) and optional brand/platform/label filters.

    Empty tuples mean "all". Frozen and hashable, so it can key ``st.cache_data``.
    """

    start: datetime
    end: datetime
    brand_ids: tuple[int, ...] = ()
    platforms: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ScrmError("Filter dates must be timezone-aware")
        if self.end <= self.start:
            raise ScrmError("The period's end must be after its start")
        bad = [label for label in self.labels if label not in LABELS]
        if bad:
            raise ScrmError(f"Unknown sentiment {bad[0]!r}: use {', '.join(LABELS)}")

    @property
    def length(self) -> timedelta:
        """The period's length."""
        return self.end - self.start

    def previous(self) -> Filters:
        """The same filters over the previous period of the same length."""
        return replace(self, start=self.start - self.length, end=self.start)

    @property
    def whole_hours(self) -> bool:
        """True when the period starts and ends on UTC hour boundaries (the roll-up answers it)."""
        return epoch(self.start) % HOUR == 0 and epoch(self.end) % HOUR == 0

    def _conditions(self, table: sa.Table, start: int, end: int, time_col: str, labels: bool) -> list:
        conds: list[sa.ColumnElement[bool]] = [table.c[time_col] >= start, table.c[time_col] < end]
        if self.brand_ids:
            conds.append(table.c.brand_id.in_(self.brand_ids))
        if self.platforms:
            conds.append(table.c.platform.in_(self.platforms))
        if labels and self.labels:
            conds.append(table.c.label.in_(self.labels))
        return conds

    def link_conditions(self, *, labels: bool = True) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions on ``mention_brand`` (answered by its covering index)."""
        return self._conditions(_MB, epoch(self.start), epoch(self.end), "ts", labels)

    def hourly_conditions(self) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions on the ``activity_hourly`` roll-up (exact when :attr:`whole_hours`)."""
        return self._conditions(_AH, epoch(self.start) // HOUR, -(-epoch(self.end) // HOUR), "hour", True)


PERIODS = {"7d": 7, "30d": 30, "90d": 90}


def period_bounds(
    preset: str, *, now: datetime, tz: str = "UTC", first: date | None = None, last: date | None = None
) -> tuple[datetime, datetime]:
    """The ``[start, end)`` of a period preset ("7d", "30d", "90d") or of "custom" dates.

    Presets end at the next whole UTC hour after ``now`` (so the hourly roll-up answers
    them exactly); "custom" runs from local midnight of ``first`` to local midnight after
    ``last`` in ``tz``. Raises :class:`ScrmError` for an unknown preset or bad dates.
    """
    if preset in PERIODS:
        end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return end - timedelta(days=PERIODS[preset]), end
    if preset != "custom":
        raise ScrmError(f"Unknown period {preset!r}: use {', '.join(PERIODS)} or custom")
    if first is None or last is None:
        raise ScrmError("A custom period needs a first and a last day")
    if last < first:
        raise ScrmError("The custom period's last day is before its first day")
    zone = get_zone(tz)
    start = datetime.combine(first, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end


FILTER_PARAMS = ("period", "from", "to", "brand", "platform", "sentiment")


def state_from_params(
    params: Mapping[str, Sequence[str]], *, brands: Sequence[str], platforms: Sequence[str]
) -> dict[str, object]:
    """Widget values from a shared link's query parameters; unknown or malformed values are dropped.

    Keys: ``period`` (a preset or "custom"), ``from``/``to`` (dates), ``brand``,
    ``platform``, ``sentiment`` (lists of known values). Links come from strangers too, so
    nothing outside the known values passes.
    """
    state: dict[str, object] = {}
    period = (params.get("period") or [""])[-1]
    if period in (*PERIODS, "custom"):
        state["period"] = period
    for key in ("from", "to"):
        with suppress(ValueError):
            state[key] = date.fromisoformat((params.get(key) or [""])[-1])
    for key, known in (("brand", brands), ("platform", platforms), ("sentiment", LABELS)):
        values = [v for v in dict.fromkeys(params.get(key) or []) if v in known]
        if values:
            state[key] = values
    return state


def params_from_state(state: Mapping[str, object]) -> dict[str, list[str]]:
    """Query parameters for the widget values (defaults left out, so links stay short)."""
    out: dict[str, list[str]] = {}
    period = state.get("period") or "7d"
    if period != "7d":
        out["period"] = [str(period)]
    if period == "custom":
        for key in ("from", "to"):
            if isinstance(state.get(key), date):
                out[key] = [state[key].isoformat()]  # type: ignore[union-attr]
    for key in ("brand", "platform", "sentiment"):
        values = state.get(key) or []
        if values:
            out[key] = [str(v) for v in values]  # type: ignore[union-attr]
    return out

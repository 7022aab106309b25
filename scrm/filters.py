"""The shared filters every page and query takes: period, brands, platforms, sentiment."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from scrm.exceptions import ScrmError
from scrm.models import LABELS, ActivityHourly, MentionBrand
from scrm.timeutil import epoch

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

"""Alert rules and the alert engine: one incident raises one alert, with a transparent priority.

**Rules** (:class:`AlertRule`) are configured per brand (or for every brand) with a kind,
parameters validated by :func:`validate_params` and a cooldown. Kinds:

* ``negative_influencer``: a negative post whose reach (the author's followers at posting
  time) is at least ``min_reach`` or whose engagement is at least ``min_engagement``;
* ``escalation``: a negative post whose engagement grew at least ``min_velocity`` per hour
  between its last two :class:`MentionMetrics` observations and is at least ``min_engagement``;
* ``volume_spike``: the brand's mentions in a ``window_hours`` window exceed the trailing
  ``baseline_hours`` mean + ``k``·sd (:func:`scrm.spikes.detect_spikes`), at least ``min_count``;
* ``negative_share_spike``: the same test on the window's share of negative mentions (in
  percent), with at least ``min_count`` negative mentions;
* ``keyword``: a post containing any word or phrase of a watchlist (matched with
  :mod:`scrm.query`), optionally only negative posts.

Posts by the brands' own accounts (:class:`BrandAccount`, or ``inbound`` false) never raise alerts.

**The engine** (:func:`evaluate`) turns every enabled rule's matches into *signals* and
groups them by brand into incidents: a signal joins an open alert of its brand when it
falls within the rule's cooldown of that alert's evidence (and the alert is less than
:data:`MAX_INCIDENT` old), whatever rule raised the alert, so a crisis that trips four rules
is one alert listing the four. Otherwise it raises a new alert, unique by (rule, key).
Each rule keeps a watermark (the newest mention id and metrics observation it has seen),
so a run reads only what was stored since the last one; running twice raises nothing new.

**Priority** is the sum of four parts of 0–25 points (see :func:`priority_for` and
docs/ALERTS.md): reach, negativity, velocity and the linked customers' lifetime value.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from scrm.brands import get_brand, list_brands
from scrm.exceptions import NotFoundError, ScrmError
from scrm.filters import HOUR, Filters
from scrm.models import (
    ALERT_KINDS,
    ALERT_STATUSES,
    ActivityHourly,
    Alert,
    AlertEvent,
    AlertMention,
    AlertRule,
    AuditLog,
    Author,
    Brand,
    BrandAccount,
    Customer,
    Mention,
    MentionBrand,
    MentionMetrics,
    SocialIdentity,
)
from scrm.query import Query, parse_query, prepare
from scrm.spikes import SpikeRule, detect_spikes
from scrm.timeutil import epoch, utcnow
from scrm.trends import activity

SYSTEM_USER = "system"
# Time to first response by priority (the SLA); an alert's sla_due_at = raised_at + target.
# First-response targets by priority (scrm.responses and the Inbox judge alerts by them).
SLA_TARGETS: dict[int, timedelta] = {
    1: timedelta(hours=1),
    2: timedelta(hours=4),
    3: timedelta(hours=8),
    4: timedelta(hours=24),
}
# A score at least this high gives the priority; below the last one, P4.
PRIORITY_CUTS: tuple[tuple[int, float], ...] = ((1, 70.0), (2, 50.0), (3, 30.0))
# Each part's log scale: 0 points at or below ``low``, 25 points at or above ``high``.
SCALES: dict[str, tuple[float, float]] = {
    "reach": (1_000, 1_000_000),  # sum of followers of the grouped posts
    "mentions_per_hour": (1, 100),  # the busiest hour of the grouped posts
    "engagement_per_hour": (100, 100_000),  # the fastest escalation
    "customer_value": (100, 100_000),  # lifetime value of the linked customers
}
PART_POINTS = 25.0
MAX_INCIDENT = timedelta(days=7)  # an alert stops absorbing new signals this long after its onset
MAX_COOLDOWN_MINUTES = 7 * 24 * 60
MIN_VELOCITY_HOURS = 0.25  # observations closer than this count as this far apart
# Re-read this many mention ids below the watermark (and observations this much older):
# on PostgreSQL a transaction that took lower ids can commit after a higher one.
RESCAN_IDS = 10_000
RESCAN_OBSERVATIONS = timedelta(minutes=10)
DEFAULT_KEYWORDS = ("refund", "lawsuit", "hacked", "boycott", "fraud", "data breach")
ALERT_LIST_KEYS = (
    "id",
    "priority",
    "status",
    "brand",
    "kind",
    "title",
    "onset_at",
    "raised_at",
    "mentions",
    "sla_due_at",
)

_M, _MB, _A = Mention.__table__, MentionBrand.__table__, Author.__table__
_MM, _BA, _B = MentionMetrics.__table__, BrandAccount.__table__, Brand.__table__
_AL, _AM, _AE, _AR = Alert.__table__, AlertMention.__table__, AlertEvent.__table__, AlertRule.__table__
_SI, _C, _AH = SocialIdentity.__table__, Customer.__table__, ActivityHourly.__table__
_WORD = re.compile(r"\w+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 500


# -- parameters ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    type: type
    default: Any
    low: float | None = None
    high: float | None = None


_SPIKE = {
    "window_hours": _Param(int, 1, 1, 168),
    "baseline_hours": _Param(int, 168, 24, 2160),
    "k": _Param(float, 3.0, 0, 100),
}
PARAMS: dict[str, dict[str, _Param]] = {
    "negative_influencer": {
        "min_reach": _Param(int, None, 1),
        "min_engagement": _Param(int, None, 1),
    },
    "escalation": {
        "min_velocity": _Param(float, 100.0, 0.001),
        "min_engagement": _Param(int, 500, 0),
    },
    "volume_spike": {**_SPIKE, "min_count": _Param(int, 20, 1)},
    "negative_share_spike": {**_SPIKE, "min_count": _Param(int, 20, 1)},
    "keyword": {"keywords": _Param(list, None), "negative_only": _Param(bool, True)},
}
MAX_KEYWORDS = 200


def _coerce(kind: str, key: str, spec: _Param, value: Any) -> Any:
    where = f"{key} of a {kind} rule"
    if spec.type is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ScrmError(f"{where} must be true or false (got {value!r})")
    if spec.type is list:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ScrmError(f"{where} must be a list of words or phrases, e.g. refund,lawsuit")
        return list(items)
    if isinstance(value, bool):
        raise ScrmError(f"{where} must be a number (got {value!r})")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScrmError(f"{where} must be a number (got {value!r})") from None
    if not math.isfinite(number):
        raise ScrmError(f"{where} must be a finite number (got {value!r})")
    if spec.type is int:
        if number != int(number):
            raise ScrmError(f"{where} must be a whole number (got {value!r})")
        number = int(number)
    if spec.low is not None and number < spec.low:
        low = int(spec.low) if spec.type is int else spec.low
        what = "cannot be negative" if low == 0 else f"must be at least {low}"
        raise ScrmError(f"{where} {what} (got {value!r})")
    if spec.high is not None and number > spec.high:
        raise ScrmError(f"{where} must be at most {spec.high:g} (got {value!r})")
    return number


def _clean_keywords(items: list[Any]) -> list[str]:
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str):
            raise ScrmError(f"Keyword {item!r} is not text: give words or phrases")
        words = _WORD.findall(item.lower())
        if not words:
            if item.strip():
                raise ScrmError(f"Keyword {item.strip()!r} has no letters or digits to match")
            continue
        if len(item) > 100:
            raise ScrmError(f"Keyword {item[:30]!r}… is longer than 100 characters")
        prefix = len(words) == 1 and item.strip().endswith("*")
        out.setdefault(" ".join(words) + ("*" if prefix else ""), item.strip())
    if not out:
        raise ScrmError("A keyword rule needs at least one word or phrase, e.g. refund,lawsuit")
    if len(out) > MAX_KEYWORDS:
        raise ScrmError(f"A keyword rule takes at most {MAX_KEYWORDS} keywords (got {len(out)})")
    return list(out)


def validate_params(kind: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The complete parameters of a ``kind`` rule (defaults filled in), or :class:`ScrmError`.

    Numbers may come as text (the command line's ``--param key=value``); keywords as a list
    or comma-separated text. Unknown keys and impossible values are refused.
    """
    if kind not in PARAMS:
        raise ScrmError(f"Unknown alert kind {kind!r}: use one of {', '.join(ALERT_KINDS)}")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ScrmError("Rule parameters must be a mapping of names to values")
    specs = PARAMS[kind]
    unknown = [k for k in params if k not in specs]
    if unknown:
        raise ScrmError(f"Unknown parameter {unknown[0]!r} for a {kind} rule: use {', '.join(specs)}")
    out: dict[str, Any] = {}
    for key, spec in specs.items():
        value = params.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.default is not None:
                out[key] = spec.default
            continue
        out[key] = _coerce(kind, key, spec, value)
    if kind == "negative_influencer" and not out:
        raise ScrmError("A negative_influencer rule needs min_reach or min_engagement (or both)")
    if kind == "keyword":
        if "keywords" not in out:
            raise ScrmError("A keyword rule needs keywords, e.g. keywords=refund,lawsuit,hacked")
        out["keywords"] = _clean_keywords(out["keywords"])
        parse_query(_keyword_query(out["keywords"]))
    if kind in ("volume_spike", "negative_share_spike"):
        if out["window_hours"] >= out["baseline_hours"]:
            raise ScrmError(
                f"The window ({out['window_hours']} hours) must be shorter than the baseline "
                f"({out['baseline_hours']} hours)"
            )
        _spike_rule(out)
    return out


def _keyword_query(keywords: list[str]) -> str:
    """The boolean query (terms OR'ed) of a cleaned keyword list."""
    return " OR ".join(k if k.endswith("*") else f'"{k}"' for k in keywords)


def _spike_rule(params: Mapping[str, Any], *, min_count: int | None = None) -> SpikeRule:
    baseline = int(params["baseline_hours"])
    return SpikeRule(
        baseline=baseline,
        k=float(params["k"]),
        min_count=int(params["min_count"]) if min_count is None else min_count,
        cooldown=0,  # grouping into incidents is the engine's job
        min_history=min(24, baseline),
        season=24 if baseline >= 48 else 1,
    )


def _check_rule(name: str, cooldown_minutes: int) -> None:
    if not name.strip():
        raise ScrmError("An alert rule needs a name")
    if len(name) > 200:
        raise ScrmError("An alert rule's name is at most 200 characters")
    if isinstance(cooldown_minutes, bool) or not isinstance(cooldown_minutes, int):
        raise ScrmError("The cooldown is a whole number of minutes")
    if not 0 <= cooldown_minutes <= MAX_COOLDOWN_MINUTES:
        raise ScrmError(f"The cooldown must be between 0 and {MAX_COOLDOWN_MINUTES} minutes (7 days)")


# -- rule management ---------------------------------------------------------------------


def _audit(session: Session, user: str, action: str, rule: AlertRule) -> None:
    session.add(
        AuditLog(
            username=user,
            action=action,
            entity="alert_rule",
            entity_id=str(rule.id),
            detail={"name": rule.name, "kind": rule.kind, "params": rule.params, "enabled": rule.enabled},
        )
    )


def add_rule(
    *,
    engine: Engine,
    name: str,
    kind: str,
    brand: str | None = None,
    params: Mapping[str, Any] | None,
    cooldown_minutes: int = 360,
    user: str,
    enabled: bool = True,
) -> AlertRule:
    """Create a rule for ``brand`` (a name; None: every brand). Its first run reads all stored mentions."""
    _check_rule(name, cooldown_minutes)
    clean = validate_params(kind, params)
    brand_id = get_brand(engine=engine, name=brand).id if brand else None
    with Session(engine) as session:
        rule = AlertRule(
            name=name.strip(),
            brand_id=brand_id,
            kind=kind,
            params=clean,
            cooldown_minutes=cooldown_minutes,
            enabled=enabled,
            created_by=user,
        )
        session.add(rule)
        session.flush()
        _audit(session, user, "alert_rule_add", rule)
        session.commit()
        session.refresh(rule)
        return rule


def list_rules(*, engine: Engine, brand: str | None = None) -> list[AlertRule]:
    """Every rule (of ``brand`` and the all-brand ones when given), by id."""
    stmt = select(AlertRule).order_by(AlertRule.id)
    if brand:
        brand_id = get_brand(engine=engine, name=brand).id
        stmt = stmt.where(sa.or_(AlertRule.brand_id == brand_id, AlertRule.brand_id.is_(None)))
    with Session(engine) as session:
        return list(session.exec(stmt))


def get_rule(*, engine: Engine, rule_id: int) -> AlertRule:
    """The rule with this id, or :class:`NotFoundError`."""
    with Session(engine) as session:
        rule = session.get(AlertRule, rule_id)
    if rule is None:
        raise NotFoundError(f"No alert rule {rule_id}: see `python -m scrm alerts rules list`")
    return rule


_UNSET: Any = object()


def update_rule(
    *,
    engine: Engine,
    rule_id: int,
    user: str,
    name: str | None = None,
    brand: str | None = _UNSET,
    params: Mapping[str, Any] | None = None,
    cooldown_minutes: int | None = None,
    enabled: bool | None = None,
) -> AlertRule:
    """Change what is given (``brand=None`` makes the rule apply to every brand).

    ``params`` replaces the parameters (validated again). The watermark is kept: the new
    settings apply to mentions stored from now on (``alerts run --since`` re-reads a period).
    """
    current = get_rule(engine=engine, rule_id=rule_id)
    _check_rule(
        current.name if name is None else name,
        current.cooldown_minutes if cooldown_minutes is None else cooldown_minutes,
    )
    clean = validate_params(current.kind, params) if params is not None else None
    brand_id = _UNSET
    if brand is not _UNSET:
        brand_id = get_brand(engine=engine, name=brand).id if brand else None
    with Session(engine) as session:
        rule = session.get(AlertRule, rule_id)
        assert rule is not None
        if name is not None:
            rule.name = name.strip()
        if brand_id is not _UNSET:
            rule.brand_id = brand_id
        if clean is not None:
            rule.params = clean
        if cooldown_minutes is not None:
            rule.cooldown_minutes = cooldown_minutes
        if enabled is not None:
            rule.enabled = enabled
        session.add(rule)
        _audit(session, user, "alert_rule_update", rule)
        session.commit()
        session.refresh(rule)
        return rule


def delete_rule(*, engine: Engine, rule_id: int, user: str, force: bool = False) -> int:
    """Delete a rule; returns how many of its alerts were deleted with it.

    A rule whose alerts exist is refused unless ``force`` (the alerts, their grouped
    mentions and history go too): disable it instead to keep them.
    """
    with Session(engine) as session:
        rule = session.get(AlertRule, rule_id)
        if rule is None:
            raise NotFoundError(f"No alert rule {rule_id}: see `python -m scrm alerts rules list`")
        alerts = session.exec(
            select(sa.func.count()).select_from(Alert).where(Alert.rule_id == rule_id)
        ).one()
        if alerts and not force:
            raise ScrmError(
                f"Rule {rule_id} has raised {alerts} alerts: disable it to keep them "
                "(`alerts rules edit ID --disable`), or delete them with it (--force)"
            )
        _audit(session, user, "alert_rule_delete", rule)
        session.exec(sa.delete(Alert).where(Alert.rule_id == rule_id))  # type: ignore[call-overload]
        session.delete(rule)
        session.commit()
    return int(alerts)


def default_rule_specs(brand: str) -> list[dict[str, Any]]:
    """The default rules of one own brand (names, kinds, parameters, cooldowns); see docs/ALERTS.md."""
    return [
        {
            "name": f"{brand}: negative post by an influencer",
            "kind": "negative_influencer",
            "params": {"min_reach": 100_000, "min_engagement": 1_000},
        },
        {
            "name": f"{brand}: escalating negative post",
            "kind": "escalation",
            "params": {"min_velocity": 100.0, "min_engagement": 500},
        },
        {
            "name": f"{brand}: volume spike",
            "kind": "volume_spike",
            "params": {"window_hours": 1, "baseline_hours": 168, "k": 4.0, "min_count": 20},
            "cooldown_minutes": 720,  # a spike's hours can be hours apart: half a day groups them
        },
        {
            "name": f"{brand}: negative share spike",
            "kind": "negative_share_spike",
            "params": {"window_hours": 1, "baseline_hours": 168, "k": 3.0, "min_count": 20},
            "cooldown_minutes": 720,  # a spike's hours can be hours apart: half a day groups them
        },
        {
            "name": f"{brand}: watchlist keywords",
            "kind": "keyword",
            "params": {"keywords": list(DEFAULT_KEYWORDS), "negative_only": True},
            "cooldown_minutes": 1440,  # watchlist posts trickle in: a day groups them
        },
    ]


def default_rules(*, engine: Engine, user: str) -> list[AlertRule]:
    """Create the default rules for every own brand (those whose name exists are kept); returns the new ones."""
    own = [b for b in list_brands(engine=engine) if b.is_own]
    if not own:
        raise ScrmError("No own brand: mark yours with `python -m scrm brands edit NAME --own` first")
    existing = {(r.brand_id, r.name) for r in list_rules(engine=engine)}
    created = []
    for brand in own:
        for spec in default_rule_specs(brand.name):
            if (brand.id, spec["name"]) not in existing:
                created.append(add_rule(engine=engine, brand=brand.name, user=user, **spec))
    return created


# -- priority ----------------------------------------------------------------------------


def _points(value: float, scale: tuple[float, float]) -> float:
    """0–25 points on a log scale: 0 at or below ``low``, 25 at or above ``high``."""
    low, high = scale
    if value <= low:
        return 0.0
    return PART_POINTS * min(1.0, math.log10(value / low) / math.log10(high / low))


@dataclass(frozen=True)
class Priority:
    """A priority (1 = P1 … 4) with its score 0–100 and the four parts that make it."""

    priority: int
    score: float
    parts: dict[str, float]

    @property
    def label(self) -> str:
        """The label, "P1" … "P4"."""
        return f"P{self.priority}"


def priority_for(
    *,
    reach: float,
    negative_share: float,
    mentions_per_hour: float,
    engagement_per_hour: float = 0.0,
    customer_value: float = 0.0,
) -> Priority:
    """The priority of an incident from its figures (the formula of docs/ALERTS.md).

    Parts of 0–25 points: ``reach`` (log scale 1k → 1M followers), ``negativity`` (25 × the
    share of negative posts), ``velocity`` (the
    larger of mentions per hour, log 1 → 100, and engagement per hour, log 100 → 100k) and
    ``customer_value`` (log 100 → 100k). Score ≥ 70: P1, ≥ 50: P2, ≥ 30: P3, else P4.
    """
    parts = {
        "reach": _points(reach, SCALES["reach"]),
        "negativity": PART_POINTS * min(max(negative_share, 0.0), 1.0),
        "velocity": max(
            _points(mentions_per_hour, SCALES["mentions_per_hour"]),
            _points(engagement_per_hour, SCALES["engagement_per_hour"]),
        ),
        "customer_value": _points(customer_value, SCALES["customer_value"]),
    }
    parts = {k: round(v, 1) for k, v in parts.items()}
    score = round(sum(parts.values()), 1)
    priority = next((p for p, cut in PRIORITY_CUTS if score >= cut), 4)
    return Priority(priority=priority, score=score, parts=parts)


def customer_value_for_authors(*, engine: Engine, author_ids: Iterable[int]) -> float:
    """Lifetime value of the customers linked to these authors (each customer once); 0 when none.

    Authors are matched to :class:`SocialIdentity` by platform and handle.
    """
    with engine.connect() as conn:
        return _customer_value(conn, author_ids)


def _customer_value(conn: Connection, author_ids: Iterable[int]) -> float:
    values: dict[int, float] = {}
    ids = sorted({int(a) for a in author_ids if a is not None})
    for part in _chunks(ids):
        stmt = (
            sa.select(_C.c.id, _C.c.lifetime_value)
            .select_from(
                _A.join(_SI, sa.and_(_SI.c.platform == _A.c.platform, _SI.c.handle == _A.c.handle)).join(
                    _C, _C.c.id == _SI.c.customer_id
                )
            )
            .where(_A.c.id.in_(part))
        )
        for cid, value in conn.execute(stmt):
            values[cid] = float(value or 0.0)
    return float(sum(values.values()))


# -- the engine ----------------------------------------------------------------------------


@dataclass
class EvalResult:
    """What :func:`evaluate` did: rules run, alerts raised and updated, mentions newly grouped."""

    rules: int = 0
    raised: int = 0
    updated: int = 0
    grouped: int = 0
    raised_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the ``alerts run --json`` output)."""
        return {
            "rules": self.rules,
            "raised": self.raised,
            "updated": self.updated,
            "grouped": self.grouped,
            "raised_ids": self.raised_ids,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class _Scope:
    """What one rule reads: mention ids (lo, hi] and observations (obs_lo, obs_hi], or a period."""

    lo_id: int | None = None
    hi_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    obs_lo: datetime | None = None
    obs_hi: datetime | None = None

    @property
    def by_id(self) -> bool:
        return self.hi_id is not None

    def brand(self, brand_id: int) -> sa.ColumnElement[bool]:
        """The brand condition on ``mention_brand``; by id, ``+ 0`` keeps SQLite on the id range."""
        return (_MB.c.brand_id + 0 == brand_id) if self.by_id else (_MB.c.brand_id == brand_id)

    def links(self) -> list[sa.ColumnElement[bool]]:
        """Conditions on ``mention_brand`` for the mentions in scope."""
        if self.by_id:
            return [_MB.c.mention_id > (self.lo_id or 0), _MB.c.mention_id <= self.hi_id]
        conds = []
        if self.start is not None:
            conds.append(_MB.c.ts >= epoch(self.start))
        if self.end is not None:
            conds.append(_MB.c.ts < epoch(self.end))
        return conds

    def observations(self, table: sa.Table) -> list[sa.ColumnElement[bool]]:
        """Conditions on ``mention_metrics`` for the observations in scope."""
        if self.by_id:
            if self.obs_hi is None:
                return [sa.false()]
            return [table.c.observed_at > (self.obs_lo or _EPOCH), table.c.observed_at <= self.obs_hi]
        conds = []
        if self.start is not None:
            conds.append(table.c.observed_at >= self.start)
        if self.end is not None:
            conds.append(table.c.observed_at < self.end)
        return conds


@dataclass
class _Signal:
    """One piece of evidence of an incident, from one rule, for one brand."""

    rule: AlertRule
    brand_id: int
    key: str  # the alert's key when this signal raises a new one
    at: datetime  # when the evidence starts (a post's time, a spike window's first post)
    end: datetime  # when it ends (for the cooldown)
    detected_at: datetime  # when the data was enough to raise it (``replay``'s raised_at)
    facts: dict[str, Any]
    mention_ids: tuple[int, ...] = ()
    window: tuple[int, int, bool] | None = None  # (ts from, ts to, negative only) to group


def _chunks(seq: list, size: int = _CHUNK) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _ts(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def _own_posts_excluded() -> list[sa.ColumnElement[bool]]:
    """Conditions leaving out posts by the brands' own accounts (needs ``mention`` and ``author``)."""
    account = sa.exists().where(_BA.c.platform == _A.c.platform, _BA.c.handle == _A.c.handle)
    return [sa.or_(_M.c.inbound.is_(None), _M.c.inbound.is_(True)), ~account]


def _links_with_posts(
    brand_id: int | None, scope: _Scope
) -> tuple[sa.FromClause, list[sa.ColumnElement[bool]]]:
    joined = _MB.join(_M, _M.c.id == _MB.c.mention_id).outerjoin(_A, _A.c.id == _M.c.author_id)
    conds = _own_posts_excluded()
    if brand_id is not None:
        conds.append(scope.brand(brand_id))
    return joined, conds


def _influencer_signals(conn: Connection, rule: AlertRule, scope: _Scope) -> list[_Signal]:
    p = rule.params
    joined, conds = _links_with_posts(rule.brand_id, scope)
    above = []
    if p.get("min_reach") is not None:
        above.append(_MB.c.reach >= p["min_reach"])
    if p.get("min_engagement") is not None:
        above.append(_MB.c.engagement >= p["min_engagement"])
    stmt = (
        sa.select(
            _MB.c.mention_id, _MB.c.brand_id, _MB.c.reach, _MB.c.engagement, _M.c.created_at, _A.c.handle
        )
        .select_from(joined)
        .where(*scope.links(), _MB.c.label == "negative", sa.or_(*above), *conds)
    )
    out = []
    for r in conn.execute(stmt):
        out.append(
            _Signal(
                rule=rule,
                brand_id=r.brand_id,
                key=f"burst:{r.brand_id}:{epoch(r.created_at)}",
                at=r.created_at,
                end=r.created_at,
                detected_at=r.created_at,
                facts={"posts": [r.mention_id], "top": [r.handle or "", int(r.reach), int(r.engagement)]},
                mention_ids=(r.mention_id,),
            )
        )
    return out


def _keyword_signals(conn: Connection, rule: AlertRule, scope: _Scope) -> list[_Signal]:
    keywords: list[str] = rule.params["keywords"]
    queries: list[tuple[str, Query]] = [(k, parse_query(_keyword_query([k]))) for k in keywords]
    joined, conds = _links_with_posts(rule.brand_id, scope)
    if rule.params.get("negative_only", True):
        conds.append(_MB.c.label == "negative")
    if conn.dialect.name == "sqlite":
        fts = " OR ".join(
            f'"{k[:-1]}"*' if k.endswith("*") else f'"{k}"' for k in keywords
        )  # words only: no FTS syntax from users
        sql = "SELECT rowid FROM mention_fts WHERE mention_fts MATCH :q"
        binds: dict[str, Any] = {"q": fts}
        if scope.by_id:
            sql += " AND rowid > :lo AND rowid <= :hi"
            binds.update(lo=scope.lo_id or 0, hi=scope.hi_id)
        ids = sa.text(sql).bindparams(**binds).columns(sa.column("rowid", sa.Integer))
        conds.append(_MB.c.mention_id.in_(ids))
    else:
        terms = " | ".join(
            f"{k[:-1]}:*" if k.endswith("*") else "(" + " <-> ".join(k.split()) + ")" for k in keywords
        )
        vector = sa.func.to_tsvector(sa.literal_column("'simple'"), _M.c.text)
        conds.append(vector.bool_op("@@")(sa.func.to_tsquery(sa.literal_column("'simple'"), terms)))
    stmt = (
        sa.select(_MB.c.mention_id, _MB.c.brand_id, _M.c.created_at, _M.c.text, _A.c.handle)
        .select_from(joined)
        .where(*scope.links(), *conds)
    )
    out = []
    for r in conn.execute(stmt):
        doc = prepare(r.text, r.handle or "")
        matched = [k for k, q in queries if q.matches(doc)]
        if matched:
            out.append(
                _Signal(
                    rule=rule,
                    brand_id=r.brand_id,
                    key=f"keyword:{r.brand_id}:{epoch(r.created_at)}",
                    at=r.created_at,
                    end=r.created_at,
                    detected_at=r.created_at,
                    facts={"posts": [r.mention_id], "keywords": matched},
                    mention_ids=(r.mention_id,),
                )
            )
    return out


def _escalation_signals(conn: Connection, rule: AlertRule, scope: _Scope) -> list[_Signal]:
    p = rule.params
    obs, prev = _MM.alias("o"), _MM.alias("p")
    before = sa.and_(prev.c.mention_id == obs.c.mention_id, prev.c.observed_at < obs.c.observed_at)
    prev_at = sa.select(sa.func.max(prev.c.observed_at)).where(before).scalar_subquery()
    prev_eng = (
        sa.select(prev.c.engagement)
        .where(before)
        .order_by(prev.c.observed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    joined = (
        obs.join(_MB, _MB.c.mention_id == obs.c.mention_id)
        .join(_M, _M.c.id == obs.c.mention_id)
        .outerjoin(_A, _A.c.id == _M.c.author_id)
    )
    conds = [*scope.observations(obs), obs.c.engagement >= p["min_engagement"], _MB.c.label == "negative"]
    conds += _own_posts_excluded()
    if rule.brand_id is not None:
        conds.append(scope.brand(rule.brand_id))
    stmt = (
        sa.select(
            obs.c.mention_id,
            obs.c.observed_at,
            obs.c.engagement,
            _MB.c.brand_id,
            _MB.c.reach,
            _A.c.handle,
            prev_at.label("prev_at"),
            prev_eng.label("prev_engagement"),
        )
        .select_from(joined)
        .where(*conds)
    )
    out = []
    for r in conn.execute(stmt):
        if r.prev_at is None:
            continue
        prev_time = r.prev_at if r.prev_at.tzinfo else r.prev_at.replace(tzinfo=UTC)
        hours = max((r.observed_at - prev_time).total_seconds() / 3600, MIN_VELOCITY_HOURS)
        velocity = (r.engagement - (r.prev_engagement or 0)) / hours
        if velocity < p["min_velocity"]:
            continue
        out.append(
            _Signal(
                rule=rule,
                brand_id=r.brand_id,
                key=f"escalation:{r.brand_id}:{r.mention_id}",
                at=r.observed_at,
                end=r.observed_at,
                detected_at=r.observed_at,
                facts={
                    "posts": [r.mention_id],
                    "top": [r.handle or "", int(r.reach), int(r.engagement)],
                    "velocity": round(velocity, 1),
                },
                mention_ids=(r.mention_id,),
            )
        )
    return out


def _spike_ranges(conn: Connection, rule: AlertRule, scope: _Scope) -> dict[int, tuple[int, int]]:
    """Per brand, the first and last hour (epoch hours) to test for spikes."""
    if scope.by_id:
        stmt = sa.select(_MB.c.brand_id, sa.func.min(_MB.c.ts), sa.func.max(_MB.c.ts)).where(*scope.links())
        if rule.brand_id is not None:
            stmt = stmt.where(scope.brand(rule.brand_id))
        rows = conn.execute(stmt.group_by(_MB.c.brand_id)).all()
        return {b: (lo // HOUR, hi // HOUR) for b, lo, hi in rows}
    stmt = sa.select(_AH.c.brand_id, sa.func.min(_AH.c.hour), sa.func.max(_AH.c.hour))
    if rule.brand_id is not None:
        stmt = stmt.where(_AH.c.brand_id == rule.brand_id)
    if scope.start is not None:
        stmt = stmt.where(_AH.c.hour >= epoch(scope.start) // HOUR)
    if scope.end is not None:
        stmt = stmt.where(_AH.c.hour < -(-epoch(scope.end) // HOUR))
    return {b: (lo, hi) for b, lo, hi in conn.execute(stmt.group_by(_AH.c.brand_id)) if lo is not None}


def hourly_counts(frame: pd.DataFrame, *, first: int, last: int) -> pd.DataFrame:
    """Per UTC hour from ``first`` to ``last`` (epoch hours): ``total`` and ``negative`` mentions.

    ``frame`` is an activity frame (:func:`scrm.trends.activity`) of one brand; missing hours count 0.
    Indexed by the hour's start (aware UTC).
    """
    index = pd.date_range(_ts(first * HOUR), _ts(last * HOUR), freq="h")
    total = frame.groupby("ts")["mentions"].sum()
    negative = frame[frame["label"] == "negative"].groupby("ts")["mentions"].sum()
    return pd.DataFrame(
        {
            "total": total.reindex(index, fill_value=0).astype("int64"),
            "negative": negative.reindex(index, fill_value=0).astype("int64"),
        },
        index=index,
    )


def spike_windows(counts: pd.DataFrame, params: Mapping[str, Any], *, share: bool) -> pd.DataFrame:
    """Spikes of ``window_hours`` windows in hourly ``counts`` (:func:`hourly_counts`).

    Volume: :func:`scrm.spikes.detect_spikes` on the windows' mention counts. Share: on the
    windows' negative share in percent (no share without mentions), keeping windows with at
    least ``min_count`` negative mentions. Returns :data:`scrm.spikes.SPIKE_COLUMNS` plus
    ``total`` and ``negative`` (the window's counts); ``ts`` is the window's last hour.
    """
    window = int(params["window_hours"])
    total = counts["total"].rolling(window, min_periods=1).sum()
    negative = counts["negative"].rolling(window, min_periods=1).sum()
    if share:
        series = (negative / total * 100).where(total > 0)
        found = detect_spikes(series, _spike_rule(params, min_count=1))
        keep = [negative[t] >= params["min_count"] for t in found["ts"]]
        found = found.loc[pd.Series(keep, index=found.index, dtype=bool)]
    else:
        found = detect_spikes(total, _spike_rule(params))
    return found.assign(
        total=[int(total[t]) for t in found["ts"]], negative=[int(negative[t]) for t in found["ts"]]
    ).reset_index(drop=True)


def _spike_signals(conn: Connection, engine: Engine, rule: AlertRule, scope: _Scope) -> list[_Signal]:
    p = rule.params
    share = rule.kind == "negative_share_spike"
    window = int(p["window_hours"])
    out = []
    for brand_id, (first, last) in _spike_ranges(conn, rule, scope).items():
        data_start = conn.execute(
            sa.select(sa.func.min(_AH.c.hour)).where(_AH.c.brand_id == brand_id)
        ).scalar()
        if data_start is None:
            continue
        lookback = max(data_start, first - int(p["baseline_hours"]) - window - 24)
        frame = activity(
            engine=engine,
            filters=Filters(start=_ts(lookback * HOUR), end=_ts((last + 1) * HOUR), brand_ids=(brand_id,)),
        )
        counts = hourly_counts(frame, first=lookback, last=last)
        found = spike_windows(counts, p, share=share)
        for row in found.itertuples():
            hour = epoch(row.ts) // HOUR
            if hour < first:
                continue
            signal = _spike_signal(conn, rule, brand_id, hour, row, counts, window, share)
            if signal is not None:
                out.append(signal)
    return out


def _spike_signal(
    conn: Connection,
    rule: AlertRule,
    brand_id: int,
    hour: int,
    row: Any,
    counts: pd.DataFrame,
    window: int,
    share: bool,
) -> _Signal | None:
    """A spike window as a signal: its posts' times and when its count crossed the threshold."""
    lo, hi = (hour - window + 1) * HOUR, (hour + 1) * HOUR
    conds = [_MB.c.brand_id == brand_id, _MB.c.ts >= lo, _MB.c.ts < hi]
    if share:
        conds.append(_MB.c.label == "negative")
    first, last = conn.execute(sa.select(sa.func.min(_MB.c.ts), sa.func.max(_MB.c.ts)).where(*conds)).one()
    if first is None:
        return None
    detected = _crossing(conn, rule, brand_id, hour, row, counts, window, share)
    prefix = "negshare" if share else "spike"
    facts: dict[str, Any] = {
        "hours": [hour * HOUR],
        "max_ratio": round(float(row.ratio), 2) if math.isfinite(row.ratio) else None,
    }
    if share:
        facts.update(
            max_share=round(row.negative / row.total * 100, 1),
            baseline_share=round(float(row.baseline_mean), 1),
        )
    else:
        facts.update(max_count=int(row.count), baseline_mean=round(float(row.baseline_mean), 1))
    return _Signal(
        rule=rule,
        brand_id=brand_id,
        key=f"{prefix}:{brand_id}:{hour * HOUR}",
        at=_ts(first),
        end=_ts(last),
        detected_at=detected,
        facts=facts,
        window=(lo, hi, share),
    )


def _crossing(
    conn: Connection,
    rule: AlertRule,
    brand_id: int,
    hour: int,
    row: Any,
    counts: pd.DataFrame,
    window: int,
    share: bool,
) -> datetime:
    """When, within the window's last hour, its count (or share) first passed every threshold."""
    p = rule.params
    start = _ts(hour * HOUR)
    before = counts.loc[: start - timedelta(hours=1)].tail(window - 1)
    total, negative = int(before["total"].sum()), int(before["negative"].sum())
    mean, ratio = float(row.baseline_mean), _spike_rule(p).min_ratio
    stmt = (
        sa.select(_MB.c.ts, _MB.c.label)
        .where(_MB.c.brand_id == brand_id, _MB.c.ts >= hour * HOUR, _MB.c.ts < (hour + 1) * HOUR)
        .order_by(_MB.c.ts)
    )
    if not share:
        need = max(int(p["min_count"]), math.floor(float(row.threshold)) + 1, math.ceil(ratio * mean - 1e-9))
        need -= total  # posts needed in the last hour
        if need <= 0:
            return start
        ts = conn.execute(stmt.offset(need - 1).limit(1)).scalar()
        return _ts(ts) if ts is not None else start + timedelta(hours=1)
    for ts, label in conn.execute(stmt):
        total += 1
        negative += label == "negative"
        pct = negative / total * 100
        if negative >= p["min_count"] and pct > row.threshold and pct >= ratio * mean:
            return _ts(ts)
    return start + timedelta(hours=1)


def _signals(conn: Connection, engine: Engine, rule: AlertRule, scope: _Scope) -> list[_Signal]:
    if rule.kind == "negative_influencer":
        return _influencer_signals(conn, rule, scope)
    if rule.kind == "keyword":
        return _keyword_signals(conn, rule, scope)
    if rule.kind == "escalation":
        return _escalation_signals(conn, rule, scope)
    return _spike_signals(conn, engine, rule, scope)


# -- incidents -------------------------------------------------------------------------------


@dataclass
class _Incident:
    """An alert being built or updated in memory."""

    id: int | None
    rule_id: int
    brand_id: int
    kind: str
    key: str
    onset: datetime
    last: datetime
    status: str
    detail: dict[str, Any]
    raised_at: datetime | None = None
    priority: int = 4
    signals: list[_Signal] = field(default_factory=list)

    def accepts(self, s: _Signal) -> bool:
        """True when the signal belongs to this incident (same brand, within the cooldown)."""
        cooldown = timedelta(minutes=s.rule.cooldown_minutes)
        if s.brand_id != self.brand_id or s.at - self.onset > MAX_INCIDENT:
            return False
        if not self.onset - cooldown <= s.at <= self.last + cooldown:
            return False
        return self.status != "resolved" or s.at <= self.last

    def add(self, s: _Signal) -> None:
        self.signals.append(s)
        self.onset = min(self.onset, s.at)
        self.last = max(self.last, s.end)


def _merge_facts(kind: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Facts of one kind combined idempotently (unions, maxima), so re-reading changes nothing."""
    out = dict(old)
    for key, value in new.items():
        if key in ("posts", "hours"):
            out[key] = sorted(set(out.get(key, [])) | set(value))[-200:]
        elif key == "keywords":
            out[key] = sorted(set(out.get(key, [])) | set(value))
        elif key == "top":
            out[key] = max(out.get(key, value), value, key=lambda t: (t[1], t[2], t[0]))
        elif key in ("baseline_share", "baseline_mean"):
            out.setdefault(key, value)
        elif value is not None:
            out[key] = max(out.get(key, value), value) if out.get(key) is not None else value
    return out


def _open_incidents(conn: Connection, signals: list[_Signal]) -> list[_Incident]:
    """Stored alerts the signals may join: of their brands, from MAX_INCIDENT before the first."""
    brands = sorted({s.brand_id for s in signals})
    cooldown = timedelta(minutes=max(s.rule.cooldown_minutes for s in signals))
    lo = min(s.at for s in signals) - MAX_INCIDENT - cooldown
    hi = max(s.end for s in signals) + cooldown
    stmt = sa.select(_AL).where(_AL.c.brand_id.in_(brands), _AL.c.onset_at >= lo, _AL.c.onset_at <= hi)
    return [_incident_of(r) for r in conn.execute(stmt.order_by(_AL.c.id)).mappings()]


def _incident_of(r: Mapping[str, Any]) -> _Incident:
    detail = dict(r["detail"] or {})
    last = datetime.fromisoformat(detail["last_at"]) if detail.get("last_at") else r["onset_at"]
    return _Incident(
        id=r["id"],
        rule_id=r["rule_id"],
        brand_id=r["brand_id"],
        kind=r["kind"],
        key=r["key"],
        onset=r["onset_at"],
        last=last,
        status=r["status"],
        detail=detail,
        raised_at=r["raised_at"],
        priority=r["priority"],
    )


def _grouped(conn: Connection, signals: list[_Signal]) -> dict[tuple[int, int], int]:
    """(mention id, brand id) → alert id, for the signals' mentions already in an alert."""
    ids = sorted({m for s in signals for m in s.mention_ids})
    out: dict[tuple[int, int], int] = {}
    for part in _chunks(ids):
        stmt = (
            sa.select(_AM.c.mention_id, _AL.c.brand_id, _AL.c.id)
            .select_from(_AM.join(_AL, _AL.c.id == _AM.c.alert_id))
            .where(_AM.c.mention_id.in_(part))
        )
        for mention_id, brand_id, alert_id in conn.execute(stmt):
            out.setdefault((mention_id, brand_id), alert_id)
    return out


def _assign(conn: Connection, signals: list[_Signal]) -> list[_Incident]:
    """Group the signals (in time order) into stored or new incidents; returns those touched."""
    incidents = _open_incidents(conn, signals)
    by_id = {i.id: i for i in incidents}
    grouped = _grouped(conn, signals)
    missing = {a for a in grouped.values() if a not in by_id}
    if missing:
        rows = conn.execute(sa.select(_AL).where(_AL.c.id.in_(sorted(missing)))).mappings()
        for r in rows:
            by_id[r["id"]] = _incident_of(r)
    by_mention: dict[tuple[int, int], _Incident] = {k: by_id[a] for k, a in grouped.items()}
    touched: dict[int, _Incident] = {}
    for s in sorted(signals, key=lambda s: (s.at, s.rule.id, s.key)):
        inc = next(
            (by_mention[(m, s.brand_id)] for m in s.mention_ids if (m, s.brand_id) in by_mention), None
        )
        if inc is None:
            open_ = [i for i in incidents if i.accepts(s)]
            inc = max(open_, key=lambda i: i.last) if open_ else None
        if inc is None:
            inc = _Incident(
                id=None,
                rule_id=s.rule.id,  # type: ignore[arg-type]
                brand_id=s.brand_id,
                kind=s.rule.kind,
                key=s.key,
                onset=s.at,
                last=s.end,
                status="new",
                detail={},
            )
            incidents.append(inc)
        inc.add(s)
        touched[id(inc)] = inc
        for m in s.mention_ids:
            by_mention[(m, s.brand_id)] = inc
    return list(touched.values())


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _count(conn: Connection, alert_id: int) -> int:
    return conn.execute(sa.select(sa.func.count()).where(_AM.c.alert_id == alert_id)).scalar_one()


def _group_mentions(conn: Connection, inc: _Incident) -> None:
    ids = sorted({m for s in inc.signals for m in s.mention_ids})
    for part in _chunks(ids, 2000):
        stmt = _insert(conn, _AM).on_conflict_do_nothing(index_elements=["alert_id", "mention_id"])
        conn.execute(stmt, [{"alert_id": inc.id, "mention_id": m} for m in part])
    for lo, hi, negative in sorted({s.window for s in inc.signals if s.window}):
        conds = [_MB.c.brand_id == inc.brand_id, _MB.c.ts >= lo, _MB.c.ts < hi]
        if negative:
            conds.append(_MB.c.label == "negative")
        rows = sa.select(sa.literal(inc.id, sa.Integer), _MB.c.mention_id).where(*conds)
        stmt = (
            _insert(conn, _AM)
            .from_select(["alert_id", "mention_id"], rows)
            .on_conflict_do_nothing(index_elements=["alert_id", "mention_id"])
        )
        conn.execute(stmt)


def _stats(conn: Connection, alert_id: int, brand_id: int) -> dict[str, Any]:
    """Figures of the alert's grouped mentions: counts, reach, negativity, busiest hour, customers."""
    joined = _AM.join(_MB, sa.and_(_MB.c.mention_id == _AM.c.mention_id, _MB.c.brand_id == brand_id)).join(
        _M, _M.c.id == _AM.c.mention_id
    )
    row = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(_MB.c.reach),
            sa.func.sum(_MB.c.engagement),
            sa.func.sum(sa.case((_MB.c.label == "negative", 1), else_=0)),
            sa.func.avg(_M.c.compound),
            sa.func.min(_MB.c.ts),
        )
        .select_from(joined)
        .where(_AM.c.alert_id == alert_id)
    ).one()
    per_hour = (
        sa.select(sa.func.count().label("n"))
        .select_from(joined)
        .where(_AM.c.alert_id == alert_id)
        .group_by(_MB.c.ts // HOUR)
        .subquery()
    )
    peak = conn.execute(sa.select(sa.func.max(per_hour.c.n))).scalar() or 0
    authors = conn.execute(
        sa.select(_M.c.author_id).select_from(joined).where(_AM.c.alert_id == alert_id).distinct()
    ).scalars()
    author_ids = [a for a in authors if a is not None]
    mentions = int(row[0] or 0)
    return {
        "mentions": mentions,
        "reach": int(row[1] or 0),
        "engagement": int(row[2] or 0),
        "negative": int(row[3] or 0),
        "negative_share": round((row[3] or 0) / mentions, 3) if mentions else 0.0,
        "mean_compound": round(float(row[4] or 0.0), 3),
        "peak_per_hour": int(peak),
        "authors": len(author_ids),
        "customer_value": round(_customer_value(conn, author_ids), 2),
        "first_post_at": _ts(row[5]).isoformat() if row[5] is not None else None,
    }


def _times(value: str | None) -> list[datetime]:
    return [datetime.fromisoformat(value)] if value else []


def _compact(n: float) -> str:
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{n:.0f}"


def _title(brand: str, signals: dict[str, dict[str, Any]]) -> str:
    """A one-line title listing what each rule kind saw, in the order they fired."""
    parts = []
    for kind, facts in signals.items():
        if kind in ("negative_influencer", "escalation") and facts.get("top"):
            handle, reach, _ = facts["top"]
            posts = len(facts.get("posts", []))
            who = (
                f"@{handle} ({_compact(reach)} followers)" if handle else f"a post ({_compact(reach)} reach)"
            )
            text = f"negative post by {who}" + (f" and {posts - 1} more" if posts > 1 else "")
            if kind == "escalation":
                text = f"escalating {text} (+{_compact(facts.get('velocity', 0))}/h)"
            parts.append(text)
        elif kind == "volume_spike":
            ratio = facts.get("max_ratio")
            parts.append(f"volume spike ×{ratio:.1f}" if ratio else "volume spike")
        elif kind == "negative_share_spike":
            parts.append(f"negative share {facts.get('max_share', 0):.0f}%")
        elif kind == "keyword":
            parts.append("watchlist: " + ", ".join(facts.get("keywords", [])[:5]))
    return f"{brand}: " + "; ".join(parts)


def _finish(
    conn: Connection, inc: _Incident, *, brand: str, now: datetime, replay: bool, result: EvalResult
) -> None:
    """Store an incident: insert or update the alert, group its mentions, recompute priority, log it."""
    new = inc.id is None
    detected = min(s.detected_at for s in inc.signals)
    at = min(now, max(s.detected_at for s in inc.signals)) if replay else now
    if new:
        raised = min(now, detected) if replay else now
        inserted = conn.execute(
            _insert(conn, _AL)
            .values(
                rule_id=inc.rule_id,
                brand_id=inc.brand_id,
                kind=inc.kind,
                key=inc.key,
                title="",
                detail={},
                priority=4,
                status="new",
                assignee="",
                onset_at=inc.onset,
                raised_at=raised,
                sla_due_at=raised + SLA_TARGETS[4],
                response_text="",
                updated_at=at,
            )
            .on_conflict_do_nothing(index_elements=["rule_id", "key"])
            .returning(_AL.c.id)
        ).scalar()
        if inserted is None:  # raised meanwhile by a concurrent run: update it instead
            stored = (
                conn.execute(sa.select(_AL).where(_AL.c.rule_id == inc.rule_id, _AL.c.key == inc.key))
                .mappings()
                .one()
            )
            signals, inc = inc.signals, _incident_of(stored)
            for s in signals:
                inc.add(s)
            new = False
        else:
            inc.id, inc.raised_at = inserted, raised
    assert inc.id is not None and inc.raised_at is not None
    before = 0 if new else _count(conn, inc.id)
    _group_mentions(conn, inc)
    stats = _stats(conn, inc.id, inc.brand_id)
    grouped = stats["mentions"] - before
    detail = dict(inc.detail)
    rules = dict(detail.get("rules", {}))
    signals = {k: dict(v) for k, v in detail.get("signals", {}).items()}
    for s in inc.signals:
        rules.setdefault(str(s.rule.id), {"name": s.rule.name, "kind": s.rule.kind})
        signals[s.rule.kind] = _merge_facts(s.rule.kind, signals.get(s.rule.kind, {}), s.facts)
    velocity = max((f.get("velocity", 0.0) for f in signals.values()), default=0.0)
    prio = priority_for(
        reach=stats["reach"],
        negative_share=stats["negative_share"],
        mentions_per_hour=stats["peak_per_hour"],
        engagement_per_hour=velocity,
        customer_value=stats["customer_value"],
    )
    onset = (
        min(inc.onset, datetime.fromisoformat(stats["first_post_at"]))
        if stats["first_post_at"]
        else inc.onset
    )
    detail.update(
        brand=brand,
        rules=rules,
        signals=signals,
        last_at=inc.last.isoformat(),
        detected_at=min([detected, *_times(detail.get("detected_at"))]).isoformat(),
        stats=stats,
        priority={
            "label": prio.label,
            "score": prio.score,
            "parts": prio.parts,
            "inputs": {
                "reach": stats["reach"],
                "negative_share": stats["negative_share"],
                "mentions_per_hour": stats["peak_per_hour"],
                "engagement_per_hour": velocity,
                "customer_value": stats["customer_value"],
            },
        },
    )
    if not new and detail == inc.detail and prio.priority == inc.priority and onset == inc.onset:
        return  # read again, nothing new
    conn.execute(
        sa.update(_AL)
        .where(_AL.c.id == inc.id)
        .values(
            title=_title(brand, signals)[:500],
            detail=detail,
            priority=prio.priority,
            onset_at=onset,
            sla_due_at=inc.raised_at + SLA_TARGETS[prio.priority],
            updated_at=at,
        )
    )
    if new:
        note = f"{prio.label} (score {prio.score:g}): {stats['mentions']} mentions"
        event = {"action": "raised", "to_status": "new", "note": note, "at": inc.raised_at}
        result.raised += 1
        result.raised_ids.append(inc.id)
    else:
        changes = [f"+{grouped} mentions"] if grouped else []
        if prio.priority != inc.priority:
            changes.append(f"P{inc.priority} → {prio.label}")
        fired = [v["name"] for k, v in rules.items() if k not in inc.detail.get("rules", {})]
        if fired:
            changes.append("also " + ", ".join(fired))
        event = {"action": "updated", "note": "; ".join(changes) or "figures updated", "at": at}
        result.updated += 1
    conn.execute(sa.insert(_AE).values(alert_id=inc.id, username=SYSTEM_USER, from_status="", **event))
    result.grouped += grouped


def _lock(conn: Connection, rule_ids: list[int], now: datetime) -> None:
    """Serialise evaluations: a transaction-scoped lock, taken before anything is read."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x5C7A1E27})
    # the first write of the transaction: on SQLite it takes the database's write lock
    conn.execute(sa.update(_AR).where(_AR.c.id.in_(rule_ids)).values(checked_at=now))


def _advance(conn: Connection, rule_id: int, hi_id: int, hi_obs: datetime | None) -> None:
    """Move a rule's watermark forward (never back: a concurrent run may have moved it further)."""
    conn.execute(
        sa.update(_AR)
        .where(_AR.c.id == rule_id, _AR.c.checked_mention_id < hi_id)
        .values(checked_mention_id=hi_id)
    )
    if hi_obs is not None:
        conn.execute(
            sa.update(_AR)
            .where(_AR.c.id == rule_id)
            .where(sa.or_(_AR.c.checked_observed_at.is_(None), _AR.c.checked_observed_at < hi_obs))
            .values(checked_observed_at=hi_obs)
        )


def evaluate(
    *,
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    replay: bool = False,
) -> EvalResult:
    """Run every enabled rule and raise or update alerts; returns what it did.

    Without ``since``/``until`` each rule reads the mentions (and engagement observations)
    stored since its last run (all of them on its first run) and moves its watermark; with
    them, the mentions created (observations made) in ``[since, until)``, watermarks
    untouched. ``now`` is the evaluation time (default: the current time). With ``replay``
    an alert is raised at the time its evidence appeared in the data, as if the rules had
    run while it came in (the demo and backfilled history). ``progress(done, total)``
    follows the rules.
    """
    started = time.perf_counter()
    now = now or utcnow()
    rules = list_rules(engine=engine)
    rules = [r for r in rules if r.enabled]
    result = EvalResult(rules=len(rules))
    if not rules:
        return result
    with engine.connect() as conn:
        hi_id = conn.execute(sa.select(sa.func.max(_M.c.id))).scalar() or 0
        hi_obs = conn.execute(sa.select(sa.func.max(_MM.c.observed_at))).scalar()
    period = since is not None or until is not None
    signals: list[_Signal] = []
    with engine.connect() as conn:
        for done, rule in enumerate(rules, start=1):
            if period:
                scope = _Scope(start=since, end=until)
            else:
                checked = rule.checked_mention_id or 0
                seen = rule.checked_observed_at
                scope = _Scope(
                    lo_id=max(0, checked - RESCAN_IDS) if checked else 0,
                    hi_id=hi_id if hi_id > checked else 0,
                    obs_lo=seen - RESCAN_OBSERVATIONS if seen else None,
                    obs_hi=hi_obs if hi_obs is not None and (seen is None or hi_obs > seen) else None,
                )
            signals.extend(_signals(conn, engine, rule, scope))
            if progress:
                progress(done, len(rules))
    brands = {b.id: b.name for b in list_brands(engine=engine)}
    with engine.begin() as conn:
        _lock(conn, [r.id for r in rules], now)  # type: ignore[misc]
        if signals:
            for inc in _assign(conn, signals):
                _finish(conn, inc, brand=brands.get(inc.brand_id, "?"), now=now, replay=replay, result=result)
        if not period:
            for rule in rules:
                _advance(conn, rule.id, hi_id, hi_obs)  # type: ignore[arg-type]
    result.seconds = time.perf_counter() - started
    return result


# -- listing -------------------------------------------------------------------------------


def list_alerts(
    *, engine: Engine, status: str | None = None, brand: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Alerts, most urgent first (priority, then SLA due time): :data:`ALERT_LIST_KEYS` per alert."""
    if status is not None and status not in ALERT_STATUSES:
        raise ScrmError(f"Unknown status {status!r}: use {', '.join(ALERT_STATUSES)}")
    counts = sa.select(_AM.c.alert_id, sa.func.count().label("n")).group_by(_AM.c.alert_id).subquery()
    stmt = (
        sa.select(_AL, _B.c.name.label("brand"), counts.c.n)
        .select_from(
            _AL.outerjoin(_B, _B.c.id == _AL.c.brand_id).outerjoin(counts, counts.c.alert_id == _AL.c.id)
        )
        .order_by(_AL.c.priority, _AL.c.sla_due_at, _AL.c.id)
        .limit(limit)
    )
    if status:
        stmt = stmt.where(_AL.c.status == status)
    if brand:
        stmt = stmt.where(_AL.c.brand_id == get_brand(engine=engine, name=brand).id)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        {
            "id": r["id"],
            "priority": f"P{r['priority']}",
            "status": r["status"],
            "brand": r["brand"],
            "kind": r["kind"],
            "title": r["title"],
            "onset_at": r["onset_at"],
            "raised_at": r["raised_at"],
            "mentions": int(r["n"] or 0),
            "sla_due_at": r["sla_due_at"],
        }
        for r in rows
    ]

"""The response inbox: the alert queue, its workflow and the audit trail of every change.

Statuses go new → acknowledged → responded → resolved; ``reopen`` brings a responded or
resolved alert back to acknowledged. Responding needs the response text and stamps the
first response time once; resolving stamps the resolution time. Assigning and notes do
not change the status. Every change is an :class:`AlertEvent` (who, when, what, note). An
alert left unanswered past its SLA raises an alert of its own (:func:`raise_sla_breaches`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.alerts import SLA_TARGETS, SYSTEM_USER
from scrm.exceptions import NotFoundError, ScrmError
from scrm.models import Alert, AlertEvent, AlertMention, AlertRule, Author, Brand, Mention
from scrm.timeutil import utcnow

_A, _E, _AM = Alert.__table__, AlertEvent.__table__, AlertMention.__table__
OPEN = ("new", "acknowledged", "responded")
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"new"}), "acknowledged"),
    "respond": (frozenset({"new", "acknowledged"}), "responded"),
    "resolve": (frozenset({"new", "acknowledged", "responded"}), "resolved"),
    "reopen": (frozenset({"responded", "resolved"}), "acknowledged"),
}
ACTIONS = (*TRANSITIONS, "assign", "note")
QUEUE_COLUMNS = (
    "id",
    "priority",
    "status",
    "brand",
    "kind",
    "title",
    "assignee",
    "onset_at",
    "sla_due_at",
    "sla_left_s",
    "mentions",
)


@dataclass(frozen=True)
class ActionResult:
    """How many alerts an action changed, and why the others were left alone."""

    changed: int
    skipped: dict[int, str]


def act(
    *,
    engine: Engine,
    alert_ids: Sequence[int],
    action: str,
    user: str,
    note: str = "",
    response: str = "",
    assignee: str = "",
    now: datetime | None = None,
) -> ActionResult:
    """Apply ``action`` (:data:`ACTIONS`) to alerts, recording an event for each change.

    Alerts whose status does not allow the action are skipped with the reason (bulk
    actions over a mixed selection do what they can). Raises :class:`ScrmError` for an
    unknown action, a missing user, a response without text or an assignment without a name.
    """
    if action not in ACTIONS:
        raise ScrmError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    if not user.strip():
        raise ScrmError("Say who you are: every change to an alert records its author")
    if action == "respond" and not response.strip():
        raise ScrmError("Write the response you sent before marking alerts responded")
    if action == "assign" and not assignee.strip():
        raise ScrmError("Name the person to assign the alerts to")
    if action == "note" and not note.strip():
        raise ScrmError("A note needs some text")
    now = now or utcnow()
    ids = sorted({int(i) for i in alert_ids})
    skipped: dict[int, str] = {}
    changed = 0
    with engine.begin() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(_A).where(_A.c.id.in_(ids)))} if ids else {}
        for alert_id in ids:
            row = rows.get(alert_id)
            if row is None:
                raise NotFoundError(f"No alert #{alert_id}")
            values: dict[str, object] = {"updated_at": now}
            target = row.status
            if action in TRANSITIONS:
                allowed, target = TRANSITIONS[action]
                if row.status not in allowed:
                    skipped[alert_id] = f"is {row.status}: cannot {action}"
                    continue
                values["status"] = target
                if action == "respond":
                    values["response_text"] = response.strip()
                    if row.first_response_at is None:
                        values["first_response_at"] = now
                elif action == "resolve":
                    values["resolved_at"] = now
                elif action == "reopen":
                    values["resolved_at"] = None
            elif action == "assign":
                values["assignee"] = assignee.strip()[:100]
            conn.execute(sa.update(_A).where(_A.c.id == alert_id).values(**values))
            detail = {"respond": response.strip(), "assign": f"assigned to {assignee.strip()}"}.get(
                action, ""
            )
            conn.execute(
                sa.insert(_E).values(
                    alert_id=alert_id,
                    at=now,
                    username=user.strip()[:100],
                    action=action,
                    from_status=row.status,
                    to_status=target,
                    note="\n".join(p for p in (detail, note.strip()) if p),
                )
            )
            changed += 1
    return ActionResult(changed=changed, skipped=skipped)


def alert_queue(
    *,
    engine: Engine,
    statuses: Sequence[str] = OPEN,
    brand_ids: Sequence[int] = (),
    assignee: str | None = None,
    now: datetime | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Alerts to work on, most urgent first: by priority, then SLA time left.

    Columns: :data:`QUEUE_COLUMNS` (``sla_left_s`` negative once breached, NaN without a
    target; ``mentions`` the number grouped in the alert).
    """
    now = now or utcnow()
    b = Brand.__table__
    counts = sa.select(_AM.c.alert_id, sa.func.count().label("n")).group_by(_AM.c.alert_id).subquery()
    stmt = (
        sa.select(
            _A.c.id,
            _A.c.priority,
            _A.c.status,
            sa.func.coalesce(b.c.name, "").label("brand"),
            _A.c.kind,
            _A.c.title,
            _A.c.assignee,
            _A.c.onset_at,
            _A.c.sla_due_at,
            sa.func.coalesce(counts.c.n, 0).label("mentions"),
        )
        .select_from(_A.outerjoin(b, b.c.id == _A.c.brand_id).outerjoin(counts, counts.c.alert_id == _A.c.id))
        .where(_A.c.status.in_(list(statuses)))
        .order_by(_A.c.priority, sa.func.coalesce(_A.c.sla_due_at, _A.c.onset_at), _A.c.id)
        .limit(limit)
    )
    if brand_ids:
        stmt = stmt.where(_A.c.brand_id.in_(list(brand_ids)))
    if assignee is not None:
        stmt = stmt.where(_A.c.assignee == assignee)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=[c for c in QUEUE_COLUMNS if c != "sla_left_s"])
    for col in ("onset_at", "sla_due_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    frame["sla_left_s"] = (frame["sla_due_at"] - pd.Timestamp(now)).dt.total_seconds()
    return frame[list(QUEUE_COLUMNS)]


def open_alerts(*, engine: Engine, brand_ids: Sequence[int] = ()) -> dict[str, int]:
    """Counts of open alerts (not resolved): ``open``, ``p1``, ``breached`` (past SLA, unanswered)."""
    now = utcnow()
    conds = [_A.c.status.in_(OPEN)]
    if brand_ids:
        conds.append(_A.c.brand_id.in_(list(brand_ids)))
    unanswered_late = sa.and_(_A.c.first_response_at.is_(None), _A.c.sla_due_at < now)
    stmt = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((_A.c.priority == 1, 1), else_=0)), 0),
        sa.func.coalesce(sa.func.sum(sa.case((unanswered_late, 1), else_=0)), 0),
    ).where(*conds)
    with engine.connect() as conn:
        total, p1, late = conn.execute(stmt).one()
    return {"open": int(total), "p1": int(p1), "breached": int(late)}


def events(*, engine: Engine, alert_id: int) -> pd.DataFrame:
    """The audit trail of an alert, oldest first: ``at``, ``username``, ``action``, ``from_status``, ``to_status``, ``note``."""
    cols = ["at", "username", "action", "from_status", "to_status", "note"]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(*(_E.c[c] for c in cols)).where(_E.c.alert_id == alert_id).order_by(_E.c.at, _E.c.id)
        ).all()
    return pd.DataFrame(rows, columns=cols)


def alert_mentions(*, engine: Engine, alert_id: int, limit: int = 50) -> pd.DataFrame:
    """The posts grouped in an alert, highest reach first.

    Columns: ``id``, ``created_at``, ``platform``, ``author``, ``followers``, ``text``, ``compound``, ``reach``, ``url``.
    """
    m, a = Mention.__table__, Author.__table__
    cols = ["id", "created_at", "platform", "author", "followers", "text", "compound", "reach", "url"]
    stmt = (
        sa.select(
            m.c.id,
            m.c.created_at,
            m.c.platform,
            sa.func.coalesce(a.c.handle, "").label("author"),
            sa.func.coalesce(a.c.followers, 0).label("followers"),
            m.c.text,
            m.c.compound,
            m.c.reach,
            m.c.url,
        )
        .select_from(_AM.join(m, m.c.id == _AM.c.mention_id).outerjoin(a, a.c.id == m.c.author_id))
        .where(_AM.c.alert_id == alert_id)
        .order_by(m.c.reach.desc(), m.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame(rows, columns=cols)


def get_alert(*, engine: Engine, alert_id: int) -> dict:
    """One alert as a plain dict (every column, ``brand`` name added); NotFoundError if missing."""
    b = Brand.__table__
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(_A, sa.func.coalesce(b.c.name, "").label("brand"))
            .select_from(_A.outerjoin(b, b.c.id == _A.c.brand_id))
            .where(_A.c.id == alert_id)
        ).first()
    if row is None:
        raise NotFoundError(f"No alert #{alert_id}")
    return dict(row._mapping)


SLA_KIND = "sla_breach"


def _breach_rule(conn: sa.Connection, brand_id: int | None, now: datetime) -> int:
    """The brand's built-in (disabled, never evaluated) rule that SLA-breach alerts belong to."""
    rules = AlertRule.__table__
    cond = rules.c.brand_id.is_(None) if brand_id is None else rules.c.brand_id == brand_id
    found = conn.execute(sa.select(rules.c.id).where(rules.c.kind == SLA_KIND, cond)).scalar()
    if found is not None:
        return int(found)
    values = {
        "name": "SLA breach (built in)",
        "brand_id": brand_id,
        "kind": SLA_KIND,
        "params": {},
        "cooldown_minutes": 0,
        "enabled": False,
        "created_by": SYSTEM_USER,
        "created_at": now,
    }
    return int(conn.execute(sa.insert(rules).values(**values)).inserted_primary_key[0])


def raise_sla_breaches(*, engine: Engine, now: datetime | None = None) -> list[int]:
    """Raise one alert for each open alert past its SLA without a first response.

    The breach alert is one priority more urgent (P1 stays P1), groups the same posts, has
    its own SLA from now and is raised once per breached alert (key ``sla:<id>``), so
    running this again raises nothing new. Returns the new alerts' ids.
    """
    now = now or utcnow()
    raised: list[int] = []
    with engine.begin() as conn:
        late = conn.execute(
            sa.select(_A)
            .where(_A.c.status.in_(OPEN), _A.c.kind != SLA_KIND, _A.c.first_response_at.is_(None))
            .where(_A.c.sla_due_at < now)
            .order_by(_A.c.id)
        ).all()
        done = {
            k
            for (k,) in conn.execute(sa.select(_A.c.key).where(_A.c.kind == SLA_KIND, _A.c.key.like("sla:%")))
        }
        for alert in late:
            key = f"sla:{alert.id}"
            if key in done:
                continue
            priority = max(1, alert.priority - 1)
            overdue_h = (now - alert.sla_due_at).total_seconds() / 3600
            new_id = conn.execute(
                sa.insert(_A).values(
                    rule_id=_breach_rule(conn, alert.brand_id, now),
                    brand_id=alert.brand_id,
                    kind=SLA_KIND,
                    key=key,
                    title=f"SLA breached: alert #{alert.id} (P{alert.priority}) unanswered {overdue_h:.1f} h past its target",
                    detail={
                        "breached_alert": alert.id,
                        "breached_priority": alert.priority,
                        "overdue_h": round(overdue_h, 2),
                    },
                    priority=priority,
                    status="new",
                    assignee=alert.assignee,
                    onset_at=alert.sla_due_at,
                    raised_at=now,
                    sla_due_at=now + SLA_TARGETS[priority],
                    response_text="",
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.insert(_AM).from_select(
                    ["alert_id", "mention_id"],
                    sa.select(sa.literal(new_id), _AM.c.mention_id).where(_AM.c.alert_id == alert.id),
                )
            )
            for target, note in (
                (new_id, f"raised: alert #{alert.id} breached its SLA"),
                (alert.id, f"SLA breached: alert #{new_id} raised"),
            ):
                conn.execute(
                    sa.insert(_E).values(
                        alert_id=target, at=now, username=SYSTEM_USER, action="sla_breached", note=note
                    )
                )
            raised.append(int(new_id))
    return raised

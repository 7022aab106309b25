"""Alert notifications through an outbox: a Slack-compatible webhook and e-mail (SMTP).

Queueing writes one :class:`Notification` row per alert, channel and target (a unique key:
never queued twice, so never sent twice by design). Delivery claims due rows one at a time
(``pending`` → ``sending`` in its own transaction, so two workers never send the same row),
sends, and records ``sent`` — or the error, the attempt count and the next attempt after an
exponential backoff, until ``max_attempts`` makes it ``failed`` (visible, retryable by hand).
A receiver that is down, slow or answers 500 only delays a notification; the alert itself
is already stored. A row left ``sending`` by a crash is retried after :data:`LEASE`, so a
crash between sending and recording can repeat one message: at-least-once, never zero.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.config import Settings
from scrm.exceptions import ScrmError
from scrm.models import Alert, Brand, Notification
from scrm.timeutil import utcnow

_N, _A, _B = Notification.__table__, Alert.__table__, Brand.__table__
TIMEOUT_S = 10
BACKOFF_S = 60  # first retry after a minute, doubling up to MAX_BACKOFF
MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(minutes=10)
Sender = Callable[[str, dict[str, Any]], None]


class DeliveryError(ScrmError):
    """A receiver refused or did not answer."""


@dataclass
class DeliveryResult:
    """What one delivery run did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, int]:
        """As a plain dict (for ``--json``)."""
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def targets(settings: Settings) -> list[tuple[str, str]]:
    """(channel, target) pairs the settings configure."""
    out = [("webhook", settings.webhook_url)] if settings.webhook_url else []
    if settings.alert_emails:
        if not settings.smtp_host:
            raise ScrmError("SCRM_ALERT_EMAILS is set but SCRM_SMTP_HOST is not: name the mail server")
        out += [("email", a.strip()) for a in settings.alert_emails.split(",") if a.strip()]
    return out


def slack_escape(text: str) -> str:
    """Text for Slack's mrkdwn: ``&``, ``<``, ``>`` escaped, so no link or mention is injected."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload_for(alert: Any, brand: str) -> dict[str, Any]:
    """The message of an alert: Slack's ``text`` plus the plain fields e-mail uses."""
    title = f"P{alert.priority} {alert.kind.replace('_', ' ')} — {brand}: {alert.title}"
    return {
        "text": slack_escape(f"{title} (onset {alert.onset_at:%Y-%m-%d %H:%M} UTC, alert #{alert.id})"),
        "alert_id": alert.id,
        "priority": f"P{alert.priority}",
        "brand": brand,
        "title": title,
        "onset_at": alert.onset_at.isoformat(),
    }


def queue(*, engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """Queue a notification for every alert of priority ≤ ``notify_max_priority`` not yet queued.

    Idempotent: returns how many rows were added (0 on a second call).
    """
    pairs = targets(settings)
    if not pairs:
        return 0
    now = now or utcnow()
    added = 0
    with engine.begin() as conn:
        alerts = conn.execute(
            sa.select(_A, sa.func.coalesce(_B.c.name, "all brands").label("brand"))
            .select_from(_A.outerjoin(_B, _B.c.id == _A.c.brand_id))
            .where(_A.c.priority <= settings.notify_max_priority)
            .order_by(_A.c.id)
        ).all()
        known = {
            (r.alert_id, r.channel, r.target)
            for r in conn.execute(sa.select(_N.c.alert_id, _N.c.channel, _N.c.target))
        }
        rows = [
            {
                "alert_id": a.id,
                "channel": channel,
                "target": target,
                "payload": payload_for(a, a.brand),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
                "created_at": now,
            }
            for a in alerts
            for channel, target in pairs
            if (a.id, channel, target) not in known
        ]
        if rows:
            conn.execute(sa.insert(_N), rows)
            added = len(rows)
    return added


def send_webhook(url: str, payload: dict[str, Any]) -> None:
    """POST the payload as JSON; anything but 2xx, a timeout or a refused connection raises."""
    body = json.dumps({"text": payload["text"]}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            if not 200 <= response.status < 300:
                raise DeliveryError(f"webhook answered {response.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"webhook unreachable: {getattr(exc, 'reason', exc)}") from None


def email_sender(settings: Settings) -> Sender:
    """A sender that mails the payload to a recipient through the configured SMTP server."""

    def send(recipient: str, payload: dict[str, Any]) -> None:
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = recipient
        message["Subject"] = f"[scrm] {payload['title']}"[:200]
        message.set_content(
            f"{payload['title']}\nOnset: {payload['onset_at']}\nAlert #{payload['alert_id']} in the scrm inbox.\n"
        )
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"mail server: {exc}") from None

    return send


def _claim(engine: Engine, now: datetime) -> Any | None:
    """Take the next due notification (pending and due, or sending past its lease), or None."""
    due = sa.or_(
        sa.and_(_N.c.status == "pending", _N.c.next_attempt_at <= now),
        sa.and_(_N.c.status == "sending", _N.c.next_attempt_at <= now - LEASE),
    )
    while True:
        with engine.begin() as conn:
            row = conn.execute(
                sa.select(_N).where(due).order_by(_N.c.next_attempt_at, _N.c.id).limit(1)
            ).first()
            if row is None:
                return None
            taken = conn.execute(  # only if nobody else took it since the select
                sa.update(_N)
                .where(
                    _N.c.id == row.id, _N.c.status == row.status, _N.c.next_attempt_at == row.next_attempt_at
                )
                .values(status="sending", next_attempt_at=now)
            ).rowcount
        if taken == 1:
            return row


def deliver(
    *,
    engine: Engine,
    settings: Settings,
    now: datetime | None = None,
    senders: dict[str, Sender] | None = None,
    limit: int = 500,
) -> DeliveryResult:
    """Send the due notifications (at most ``limit``), recording each outcome."""
    senders = senders or {"webhook": send_webhook, "email": email_sender(settings)}
    result = DeliveryResult()
    for _ in range(limit):
        current = now or utcnow()
        row = _claim(engine, current)
        if row is None:
            break
        attempts = row.attempts + 1
        try:
            senders[row.channel](row.target, row.payload)
        except DeliveryError as exc:
            failed = attempts >= settings.notify_max_attempts
            delay = min(timedelta(seconds=BACKOFF_S * 2 ** (attempts - 1)), MAX_BACKOFF)
            values = {
                "status": "failed" if failed else "pending",
                "attempts": attempts,
                "last_error": str(exc)[:2000],
                "next_attempt_at": current + delay,
            }
            result.failed += failed
            result.retrying += not failed
        else:
            values = {"status": "sent", "attempts": attempts, "sent_at": current, "last_error": ""}
            result.sent += 1
        with engine.begin() as conn:
            conn.execute(sa.update(_N).where(_N.c.id == row.id).values(**values))
    return result


def retry_failed(*, engine: Engine, now: datetime | None = None) -> int:
    """Put failed notifications back in the queue (after fixing the receiver); returns how many."""
    with engine.begin() as conn:
        return conn.execute(
            sa.update(_N)
            .where(_N.c.status == "failed")
            .values(status="pending", attempts=0, next_attempt_at=now or utcnow())
        ).rowcount


def outbox(*, engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    """The latest notifications with their status, attempts and last error (newest first)."""
    cols = [
        _N.c.id,
        _N.c.alert_id,
        _N.c.channel,
        _N.c.target,
        _N.c.status,
        _N.c.attempts,
        _N.c.last_error,
        _N.c.next_attempt_at,
        _N.c.sent_at,
    ]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*cols).order_by(_N.c.id.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]

"""Notification outbox against a loopback webhook and a local SMTP server that fail on purpose."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from scrm import notify
from scrm.config import load_settings
from scrm.exceptions import ScrmError
from scrm.models import Alert, Notification
from tests.factories import add_alerts

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)


class Receiver(BaseHTTPRequestHandler):
    """Answers from the server's ``script`` (status codes, then 200), recording bodies."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        status = server.script.pop(0) if server.script else 200  # type: ignore[attr-defined]
        if status == 200:
            server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.script, server.received = [], []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def alerts(engine):
    add_alerts(
        engine,
        [
            {"priority": 1, "title": "Crisis <https://evil.example|click>", "onset_at": T0},
            {"priority": 3, "onset_at": T0},
        ],
        brand="Acme <b>",
    )
    return engine


def statuses(engine) -> list[tuple]:
    n = Notification.__table__
    with engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(sa.select(n.c.channel, n.c.status, n.c.attempts).order_by(n.c.id))
        ]


def test_queue_is_idempotent_and_only_for_urgent_alerts(alerts, webhook) -> None:
    settings = load_settings(webhook_url=f"http://127.0.0.1:{webhook.server_port}/hook")
    assert notify.queue(engine=alerts, settings=settings, now=T0) == 1  # the P1, not the P3
    assert notify.queue(engine=alerts, settings=settings, now=T0) == 0
    assert (
        notify.queue(
            engine=alerts,
            settings=load_settings(webhook_url=settings.webhook_url, notify_max_priority=4),
            now=T0,
        )
        == 1
    )


def test_a_failing_webhook_is_retried_with_backoff_and_delivered_once(alerts, webhook) -> None:
    webhook.script = [500, 503]
    settings = load_settings(webhook_url=f"http://127.0.0.1:{webhook.server_port}/hook")
    notify.queue(engine=alerts, settings=settings, now=T0)
    first = notify.deliver(engine=alerts, settings=settings, now=T0)
    assert first.to_dict() == {"sent": 0, "retrying": 1, "failed": 0}
    assert (
        notify.deliver(engine=alerts, settings=settings, now=T0 + timedelta(seconds=30)).sent == 0
    )  # not due
    row = notify.outbox(engine=alerts)[0]
    assert row["last_error"] == "webhook answered 500" and row["attempts"] == 1
    assert (
        notify.deliver(engine=alerts, settings=settings, now=T0 + timedelta(minutes=1)).retrying == 1
    )  # 503
    assert (
        notify.deliver(engine=alerts, settings=settings, now=T0 + timedelta(minutes=2)).sent == 0
    )  # 2 min backoff
    assert notify.deliver(engine=alerts, settings=settings, now=T0 + timedelta(minutes=4)).sent == 1
    assert (
        notify.deliver(engine=alerts, settings=settings, now=T0 + timedelta(hours=5)).sent == 0
    )  # never twice
    assert len(webhook.received) == 1
    text = webhook.received[0]["text"]
    assert text.startswith("P1 volume spike — Acme &lt;b&gt;: Crisis &lt;https://evil.example|click&gt;")
    assert statuses(alerts) == [("webhook", "sent", 3)]


def test_an_unreachable_receiver_ends_failed_and_visible_then_can_be_retried(alerts, webhook) -> None:
    settings = load_settings(webhook_url="http://127.0.0.1:9/nothing-listens", notify_max_attempts=2)
    notify.queue(engine=alerts, settings=settings, now=T0)
    notify.deliver(engine=alerts, settings=settings, now=T0)
    result = notify.deliver(engine=alerts, settings=settings, now=T0 + timedelta(hours=2))
    assert result.failed == 1 and statuses(alerts) == [("webhook", "failed", 2)]
    assert "unreachable" in notify.outbox(engine=alerts)[0]["last_error"]
    assert notify.retry_failed(engine=alerts, now=T0) == 1
    with alerts.connect() as conn:  # the alert itself is untouched
        assert conn.execute(sa.select(sa.func.count()).select_from(Alert.__table__)).scalar_one() == 2


def test_a_crashed_send_is_retried_after_its_lease(alerts, webhook) -> None:
    settings = load_settings(webhook_url=f"http://127.0.0.1:{webhook.server_port}/hook")
    notify.queue(engine=alerts, settings=settings, now=T0)
    assert notify._claim(alerts, T0) is not None  # a worker took it and died
    assert notify.deliver(engine=alerts, settings=settings, now=T0 + timedelta(minutes=5)).sent == 0
    assert (
        notify.deliver(engine=alerts, settings=settings, now=T0 + notify.LEASE + timedelta(seconds=1)).sent
        == 1
    )


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.refuse = 1

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            self.refuse -= 1
            return "451 try again later"
        self.messages.append(envelope.content.decode())
        return "250 OK"


def test_email_through_a_local_smtp_server_that_fails_once(alerts) -> None:
    box = Mailbox()
    with socket.socket() as probe:  # a free loopback port (aiosmtpd checks its own port on start)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = load_settings(
            smtp_host="127.0.0.1", smtp_port=port, alert_emails="ops@example.com, cto@example.com"
        )
        assert notify.queue(engine=alerts, settings=settings, now=T0) == 2
        first = notify.deliver(engine=alerts, settings=settings, now=T0)
        assert first.sent == 1 and first.retrying == 1
        assert notify.deliver(engine=alerts, settings=settings, now=T0 + timedelta(minutes=1)).sent == 1
        assert len(box.messages) == 2 and "Subject: [scrm] P1 volume spike" in box.messages[0]
    finally:
        controller.stop()


def test_settings_are_checked() -> None:
    with pytest.raises(ScrmError, match="SCRM_SMTP_HOST"):
        notify.targets(load_settings(alert_emails="a@example.com"))
    with pytest.raises(ScrmError, match="SCRM_WEBHOOK_URL"):
        load_settings(webhook_url="ftp://x")
    with pytest.raises(ScrmError, match="SCRM_NOTIFY_MAX_PRIORITY"):
        load_settings(notify_max_priority=7)


def test_alerts_run_notifies_the_urgent_alerts(alerts, webhook, monkeypatch, capsys) -> None:
    from scrm.cli import main
    from scrm.config import get_settings

    monkeypatch.setenv("SCRM_WEBHOOK_URL", f"http://127.0.0.1:{webhook.server_port}/hook")
    get_settings.cache_clear()
    url = alerts.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "alerts", "run", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["notifications"] == {"queued": 1, "sent": 1, "retrying": 0, "failed": 0}
    assert main(["--database-url", url, "notify", "run", "--json"]) == 0  # nothing twice
    assert json.loads(capsys.readouterr().out) == {"queued": 0, "sent": 0, "retrying": 0, "failed": 0}
    assert len(webhook.received) == 1

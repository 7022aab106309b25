"""Inbox page through the real router: counts equal scrm's, the queue lists alerts, actions are audited."""

from __future__ import annotations

from datetime import timedelta

from scrm.inbox import alert_queue, events, open_alerts
from scrm.timeutil import utcnow
from tests.factories import add_alerts


def test_inbox_shows_the_open_alerts_and_the_response_times(run_page, page_db) -> None:
    now = utcnow()
    add_alerts(
        page_db.engine,
        [
            {
                "priority": 1,
                "title": "<img src=x onerror=alert(1)> spike",
                "sla_due_at": now - timedelta(hours=1),
                "onset_at": now - timedelta(hours=2),
            },
            {"priority": 3, "status": "resolved", "onset_at": now - timedelta(hours=5)},
        ],
        at=now,
    )
    at = run_page("pages/inbox.py")
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    counts = open_alerts(engine=page_db.engine)
    assert shown["Open alerts"] == str(counts["open"]) == "1"
    assert shown["Open P1"] == "1" and shown["Past SLA, unanswered"] == "1"
    table = next(d.value for d in at.dataframe if "sla_left_h" in d.value.columns)
    assert list(table["id"]) == list(alert_queue(engine=page_db.engine)["id"])
    assert table["title"].iloc[0] == "<img src=x onerror=alert(1)> spike"  # data, not markup


def test_inbox_without_alerts_is_an_empty_state(run_page) -> None:
    at = run_page("pages/inbox.py")
    assert not at.exception
    assert any("No alert" in i.value for i in at.info)
    assert events  # the audit trail is covered in tests/test_inbox.py

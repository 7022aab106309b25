"""The inbox workflow: allowed transitions, bulk actions, stamps, the audit trail and the queue order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scrm.exceptions import NotFoundError, ScrmError
from scrm.inbox import act, alert_queue, events, get_alert, open_alerts, raise_sla_breaches
from tests.factories import add_alerts

T0 = datetime(2026, 11, 5, 9, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def three(engine):
    ids = add_alerts(
        engine,
        [
            {"priority": 2, "sla_due_at": T0 + 4 * H},
            {"priority": 1, "sla_due_at": T0 + H},
            {"priority": 2, "sla_due_at": T0 + 2 * H},
        ],
        at=T0,
    )
    return engine, ids


def test_workflow_transitions_stamps_and_audit(three) -> None:
    engine, (a, b, _) = three
    assert act(engine=engine, alert_ids=[a], action="acknowledge", user="ana", now=T0 + H).changed == 1
    result = act(engine=engine, alert_ids=[a], action="acknowledge", user="ana", now=T0 + H)
    assert result.changed == 0 and result.skipped == {a: "is acknowledged: cannot acknowledge"}
    act(
        engine=engine,
        alert_ids=[a],
        action="respond",
        user="ana",
        response="We are refunding the fee",
        now=T0 + 2 * H,
    )
    act(engine=engine, alert_ids=[a], action="resolve", user="ben", note="fee withdrawn", now=T0 + 3 * H)
    act(engine=engine, alert_ids=[a], action="reopen", user="ben", now=T0 + 4 * H)
    act(engine=engine, alert_ids=[a], action="respond", user="ana", response="Second answer", now=T0 + 5 * H)
    alert = get_alert(engine=engine, alert_id=a)
    assert alert["status"] == "responded" and alert["resolved_at"] is None
    assert alert["first_response_at"] == T0 + 2 * H  # stamped once
    assert alert["response_text"] == "Second answer"
    trail = events(engine=engine, alert_id=a)
    assert list(trail["action"]) == ["acknowledge", "respond", "resolve", "reopen", "respond"]
    assert list(trail["username"]) == ["ana", "ana", "ben", "ben", "ana"]
    assert trail["note"].iloc[2] == "fee withdrawn"
    assert list(zip(trail["from_status"], trail["to_status"], strict=True))[3] == ("resolved", "acknowledged")
    assert get_alert(engine=engine, alert_id=b)["status"] == "new"


def test_bulk_actions_do_what_they_can_and_say_why_not(three) -> None:
    engine, ids = three
    act(engine=engine, alert_ids=[ids[0]], action="resolve", user="ana", now=T0)
    result = act(engine=engine, alert_ids=ids, action="acknowledge", user="ana", now=T0)
    assert result.changed == 2 and list(result.skipped) == [ids[0]]
    assert act(engine=engine, alert_ids=ids, action="assign", assignee="cy", user="ana").changed == 3
    assert set(alert_queue(engine=engine, assignee="cy", now=T0)["id"]) == {ids[1], ids[2]}
    assert act(engine=engine, alert_ids=ids[1:], action="note", note="checking", user="ana").changed == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "escalate", "user": "a"}, "Unknown action"),
        ({"action": "acknowledge", "user": " "}, "Say who you are"),
        ({"action": "respond", "user": "a"}, "Write the response"),
        ({"action": "assign", "user": "a"}, "Name the person"),
        ({"action": "note", "user": "a"}, "needs some text"),
    ],
)
def test_bad_actions_are_refused(three, kwargs, message) -> None:
    engine, ids = three
    with pytest.raises(ScrmError, match=message):
        act(engine=engine, alert_ids=ids, **kwargs)


def test_unknown_alert(three) -> None:
    engine, _ = three
    with pytest.raises(NotFoundError):
        act(engine=engine, alert_ids=[999], action="acknowledge", user="a")


def test_queue_is_by_priority_then_sla_left_and_counts_open(three) -> None:
    engine, (a, b, c) = three
    queue = alert_queue(engine=engine, now=T0 + 3 * H)
    assert list(queue["id"]) == [b, c, a]
    assert list(queue["sla_left_s"]) == [-2 * 3600.0, -3600.0, 3600.0]
    act(engine=engine, alert_ids=[c], action="resolve", user="a")
    assert list(alert_queue(engine=engine)["id"]) == [b, a]
    counts = open_alerts(engine=engine)
    assert (
        counts["open"] == 2 and counts["p1"] == 1 and counts["breached"] == 2
    )  # their SLAs (2026) have passed


def test_an_alert_unanswered_past_its_sla_raises_its_own_alert_once(three) -> None:
    engine, (_, b, c) = three
    act(engine=engine, alert_ids=[c], action="respond", response="on it", user="ana", now=T0 + H)
    raised = raise_sla_breaches(
        engine=engine, now=T0 + 3 * H
    )  # b (due +1 h) is late; a is not yet; c answered
    assert len(raised) == 1
    breach = get_alert(engine=engine, alert_id=raised[0])
    assert (
        breach["kind"] == "sla_breach" and breach["priority"] == 1 and breach["detail"]["breached_alert"] == b
    )
    assert breach["sla_due_at"] == T0 + 3 * H + timedelta(hours=1)
    assert raise_sla_breaches(engine=engine, now=T0 + 4 * H) == []  # once per breached alert
    assert "sla_breached" in list(events(engine=engine, alert_id=b)["action"])
    later = raise_sla_breaches(engine=engine, now=T0 + 5 * H)  # now a (due +4 h, P2) is late too
    assert [get_alert(engine=engine, alert_id=i)["priority"] for i in later] == [1]
    assert raise_sla_breaches(engine=engine, now=T0 + 9 * H) == []  # breach alerts do not breed breach alerts

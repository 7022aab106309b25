"""The inbox workflow in a real browser: pick an alert, acknowledge it with your name, see the history."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from scrm.db import make_engine
from scrm.inbox import events, get_alert
from scrm.timeutil import utcnow
from tests.factories import add_alerts

from .helpers import assert_no_error, click_grid_row, dataframe, grid_texts, open_page, rerun

TITLE = "E2E crisis <b>not bold</b>"


def test_acknowledge_an_alert_from_the_inbox(page, app_url, e2e_database_url) -> None:
    engine = make_engine(e2e_database_url)
    now = utcnow()
    (alert_id,) = add_alerts(
        engine,
        [
            {
                "priority": 1,
                "title": TITLE,
                "onset_at": now - timedelta(minutes=20),
                "sla_due_at": now + timedelta(hours=1),
            }
        ],
        brand="E2E Bank",
        at=now,
    )
    open_page(page, app_url, "inbox")
    assert_no_error(page)
    queue = dataframe(page, "alert")
    assert TITLE in grid_texts(page, queue, contains=(TITLE,))  # the title as text, not markup
    click_grid_row(page, queue, 0)  # P1 first, and the soonest SLA among P1s
    expect(page.get_by_text(f"Alert #{alert_id}", exact=True)).to_be_visible()
    page.locator('input[aria-label="Your name (for the audit trail)"]').fill("e2e-tester")
    with rerun(page):
        page.get_by_role("button", name="Apply to 1 alert").click()
    assert_no_error(page)
    expect(page.get_by_text("1 alert updated.")).to_be_visible()
    assert get_alert(engine=engine, alert_id=alert_id)["status"] == "acknowledged"
    trail = events(engine=engine, alert_id=alert_id)
    assert list(trail["action"]) == ["acknowledge"] and list(trail["username"]) == ["e2e-tester"]
    assert page.locator("b", has_text="not bold").count() == 0
    engine.dispose()

"""Customer 360 in a real browser: find a customer by name, and open one from a link."""

from __future__ import annotations

import sqlalchemy as sa

from .helpers import assert_no_error, open_page, screenshot, wait_for_app


def unique_customer(database_url: str) -> tuple[int, str, str]:
    """(id, name, crm_ref) of a demo customer whose name no other customer has."""
    from scrm.db import make_engine
    from scrm.models import Customer

    c = Customer.__table__
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            name = conn.execute(
                sa.select(c.c.name)
                .group_by(c.c.name)
                .having(sa.func.count() == 1)
                .order_by(c.c.name)
                .limit(1)
            ).scalar_one()
            cid, ref = conn.execute(sa.select(c.c.id, c.c.crm_ref).where(c.c.name == name)).one()
    finally:
        engine.dispose()
    return cid, name, ref


def test_find_a_customer_by_name(page, app_url, e2e_database_url) -> None:
    cid, name, ref = unique_customer(e2e_database_url)
    open_page(page, app_url, "customer")
    assert_no_error(page)
    box = page.get_by_label("Find a customer")
    box.fill(name.lower())
    box.press("Enter")
    wait_for_app(page)
    assert_no_error(page)
    # The only match opens at once: its name, CRM reference and value, and the address names it.
    page.get_by_role("heading", name=name).wait_for(timeout=30_000)
    page.locator('[data-testid="stMetricLabel"]', has_text="Lifetime value").wait_for(timeout=30_000)
    body = page.locator("body").inner_text()
    assert ref in body and "Value band" in body
    assert f"customer={cid}" in page.url
    screenshot(page, "customer")
    assert page.dialogs == []


def test_open_a_customer_from_a_link(page, app_url, e2e_database_url) -> None:
    cid, name, ref = unique_customer(e2e_database_url)
    open_page(page, app_url, f"customer?customer={cid}")
    assert_no_error(page)
    page.get_by_role("heading", name=name).wait_for(timeout=30_000)
    assert ref in page.locator("body").inner_text()
    open_page(page, app_url, "customer?customer=999999999")
    assert "No customer #999999999" in page.locator("body").inner_text()

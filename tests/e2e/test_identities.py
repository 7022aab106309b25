"""Identities in a real browser: link a demo account to a demo customer by hand."""

from __future__ import annotations

import sqlalchemy as sa

from .helpers import assert_no_error, open_page, rerun, type_text


def unlinked_author_and_customer(database_url: str) -> tuple[str, str]:
    """(handle of a twitter author linked to no customer, crm_ref of a customer) in the e2e database."""
    from scrm.db import make_engine
    from scrm.models import Author, Customer, SocialIdentity

    a, c, si = Author.__table__, Customer.__table__, SocialIdentity.__table__
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            handles = conn.execute(
                sa.select(a.c.handle)
                .where(a.c.platform == "twitter")
                .where(~sa.exists().where(si.c.platform == a.c.platform, si.c.handle == a.c.handle))
                .order_by(a.c.handle)
            ).scalars()
            handle = next(h for h in handles if h.replace("_", "").isalnum())
            ref = conn.execute(sa.select(c.c.crm_ref).order_by(c.c.id).limit(1)).scalar_one()
    finally:
        engine.dispose()
    return handle, ref


def test_link_an_account_by_hand(page, app_url, e2e_database_url) -> None:
    from scrm.db import make_engine
    from scrm.linking import customer_of

    handle, ref = unlinked_author_and_customer(e2e_database_url)
    open_page(page, app_url, "identities")
    assert_no_error(page)
    type_text(page, "Your name", "E2E tester")
    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_label("CRM reference"))
    form.get_by_label("Handle", exact=True).fill(handle)
    form.get_by_label("CRM reference").fill(ref)
    with rerun(page):
        form.get_by_role("button", name="Link by hand").click()
    assert_no_error(page)
    page.locator('[data-testid="stAlertContentSuccess"]', has_text="Linked").wait_for(timeout=30_000)
    assert ref in page.locator('[data-testid="stAlertContentSuccess"]').first.inner_text()
    engine = make_engine(e2e_database_url)
    try:
        linked = customer_of(engine=engine, platform="twitter", handle=handle)
    finally:
        engine.dispose()
    assert linked is not None and linked.crm_ref == ref and linked.method == "manual"
    assert page.dialogs == [] and page.page_errors == []

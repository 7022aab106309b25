"""Customer, Segments and Leads pages through the real router: no exception, numbers equal scrm's."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from pages.ui import plain
from scrm import customer360, leads, segments
from scrm.ingest.pipeline import ingest_mentions
from scrm.models import Author, Customer, SocialIdentity
from scrm.timeutil import utcnow
from tests.factories import mention
from tests.pages.conftest import APP

LEAD_TEXTS = (
    "Thinking of switching from Contoso to Northwind, Contoso fees are silly",
    "Looking for a new bank account, is Northwind any good?",
)


@pytest.fixture
def customers(page_db) -> dict[str, int]:
    """Three customers; Alice owns user1 (both platforms) and Bob owns user2; two lead posts by user1."""
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    items = [
        mention(
            100 + i, text=text, created_at=now - timedelta(hours=2 + i), author="user1", platform="twitter"
        )
        for i, text in enumerate(LEAD_TEXTS)
    ]
    assert ingest_mentions(items, engine=page_db.engine, source="test", alerts=False).stored == 2
    rows = [
        ("C-1", "Alice Smith", "alice@example.com", "United Kingdom", "Student", 22, 500.0),
        ("C-2", "Bob Jones", "bob@example.com", "Ireland", "Affluent", 50, 90_000.0),
        ("C-3", "Carol <b>Bold</b>", "carol@example.com", "Germany", "Family", 40, 9_000.0),
    ]
    ids = {}
    with page_db.engine.begin() as conn:
        for ref, name, email, country, segment, age, ltv in rows:
            ids[ref] = conn.execute(
                sa.insert(Customer.__table__).values(
                    crm_ref=ref,
                    name=name,
                    email=email,
                    country=country,
                    segment=segment,
                    age=age,
                    lifetime_value=ltv,
                    attributes={},
                    created_at=now,
                )
            ).inserted_primary_key[0]
        authors = conn.execute(sa.select(Author.__table__.c.platform, Author.__table__.c.handle)).all()
        for platform, handle in authors:
            owner = {"user1": "C-1", "user2": "C-2"}.get(handle)
            if owner:
                conn.execute(
                    sa.insert(SocialIdentity.__table__).values(
                        platform=platform,
                        handle=handle,
                        customer_id=ids[owner],
                        method="exact",
                        confidence=1.0,
                        linked_by="test",
                        linked_at=now,
                    )
                )
    return ids


def shown_metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table whose leading columns are ``columns`` (display-only tables carry no key)."""
    for frame in at.dataframe:
        if list(frame.value.columns[: len(columns)]) == list(columns):
            return frame.value
    raise AssertionError(f"no table starting with {columns}: {[list(f.value.columns) for f in at.dataframe]}")


def page_filters(at: AppTest):
    return at.session_state["scrm_context"].filters


def test_customer_page_without_a_customer_invites_a_search(run_page, customers) -> None:
    at = run_page("pages/customer.py")
    assert not at.exception
    assert at.text_input(key="customer_query").value == ""
    assert "Search above" in at.info[0].value
    assert not at.metric


def test_customer_page_finds_a_customer_and_shows_scrms_figures(run_page, page_db, customers) -> None:
    at = run_page("pages/customer.py")
    at.text_input(key="customer_query").input("alice").run()
    assert not at.exception
    results = at.dataframe(key="customer_results").value
    assert list(results["crm_ref"]) == ["C-1"]
    # One match: it is opened at once, and the address names it.
    assert at.query_params["customer"] == [str(customers["C-1"])] or at.query_params["customer"] == str(
        customers["C-1"]
    )
    who = customer360.profile(engine=page_db.engine, customer_id=customers["C-1"])
    shown = shown_metrics(at)
    assert shown["Lifetime value"] == "500"
    assert shown["Posts"] == f"{who.posts:,}" and who.posts > 0
    assert shown["Net sentiment"] == ("—" if pd.isna(who.net_sentiment) else f"{who.net_sentiment:+.0f}")
    posts = table(at, "created_at", "platform", "author")
    assert len(posts) == who.posts
    identities = table(at, "platform", "handle", "method")
    assert set(identities["handle"]) == {"user1"}
    at.toggle(key="customer_use_filters").set_value(True).run()
    assert not at.exception
    filtered = customer360.customer_posts(
        engine=page_db.engine, customer_id=customers["C-1"], filters=page_filters(at)
    )
    assert len(table(at, "created_at", "platform", "author")) == len(filtered)


def test_customer_page_opens_the_customer_in_the_address(page_db, customers) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["customer"] = str(customers["C-3"])
    at.run()
    at.switch_page("pages/customer.py")
    at.run()
    assert not at.exception
    assert at.header[0].value == plain("Carol <b>Bold</b>")  # CRM text shown as text
    assert shown_metrics(at)["Value band"] == "5k–10k"
    assert "No social account is linked" in at.info[0].value
    leads.find_leads(engine=page_db.engine, filters=page_filters(at))
    at.query_params["customer"] = str(customers["C-1"])
    at.run()
    shown = table(at, "stage", "kind", "score")
    expected = customer360.customer_leads(engine=page_db.engine, customer_id=customers["C-1"])
    assert list(shown["text"]) == list(expected["text"]) and len(shown) == 2


def test_customer_page_with_an_unknown_customer_says_so(page_db, customers) -> None:
    for value, message in (("999999", "No customer #999999"), ("abc", "names no valid customer")):
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params["customer"] = value
        at.run()
        at.switch_page("pages/customer.py")
        at.run()
        assert not at.exception
        texts = [e.value for e in at.error] + [w.value for w in at.warning]
        assert any(message in t for t in texts), texts


def test_segments_page_shows_scrms_figures(run_page, page_db, customers) -> None:
    at = run_page("pages/segments.py")
    assert not at.exception
    f = page_filters(at)
    total = segments.overall(engine=page_db.engine, filters=f)
    shown = shown_metrics(at)
    assert shown["Customers who posted"] == f"{total['customers']:,}" == "2"
    assert shown["Their posts"] == f"{total['mentions']:,}"
    assert shown["Negative posts"] == f"{total['negative']:,}"
    countries = table(at, "country", "customers")
    expected = segments.by_dimension(engine=page_db.engine, filters=f, dimension="country")
    assert (
        countries[["country", "mentions"]].values.tolist()
        == expected[["country", "mentions"]].values.tolist()
    )
    segment_table = table(at, "segment")
    assert set(segment_table["segment"]) == {"Student", "Affluent"}
    compare = table(at, "metric")
    assert len(compare) == len(segments.COMPARE_METRICS)
    assert len(at.get("plotly_chart")) >= 2  # the map and the bars


def test_segments_page_compares_and_lists_customers_at_risk(run_page, page_db, customers) -> None:
    at = run_page("pages/segments.py")
    at.selectbox(key="segments_compare_a").set_value("Affluent")
    at.selectbox(key="segments_compare_b").set_value("Student").run()
    assert not at.exception
    compared = table(at, "metric")
    expected = segments.compare(
        engine=page_db.engine, filters=page_filters(at), dimension="segment", a="Affluent", b="Student"
    )
    assert list(compared.columns[1:3]) == ["Affluent", "Student"]
    assert compared["Affluent"].tolist() == pytest.approx(expected["a"].tolist(), nan_ok=True)
    risky = segments.at_risk(engine=page_db.engine, filters=page_filters(at))
    if risky.empty:
        assert any("No high-value customer" in i.value for i in at.info)
    else:
        assert list(at.dataframe(key="segments_risk_table").value["crm_ref"]) == list(risky["crm_ref"])


def test_leads_page_finds_leads_and_shows_the_funnel(run_page, page_db, customers) -> None:
    at = run_page("pages/leads.py")
    assert not at.exception
    assert shown_metrics(at)["Leads"] == "0"
    assert any("No leads in this period" in i.value for i in at.info)
    at.button(key="leads_find").click().run()
    assert not at.exception
    f = page_filters(at)
    stages = leads.funnel(engine=page_db.engine, filters=f)
    assert int(stages["leads"].sum()) == 2
    shown = shown_metrics(at)
    assert shown["Leads"] == "2" and shown["Won"] == "0" and shown["Conversion"] == "0.0%"
    shown_leads = at.dataframe(key="leads_table").value
    expected = leads.list_leads(engine=page_db.engine, filters=f, stages=leads.OPEN_STAGES)
    assert list(shown_leads["id"]) == list(expected["id"])
    assert set(shown_leads["customer"]) == {"Alice Smith"}
    by_brand = table(at, "brand", "leads")
    assert by_brand.set_index("brand")["leads"].to_dict() == {"Contoso Bank": 1, "Northwind Bank": 1}
    # A move made elsewhere shows after a rerun.
    leads.move(engine=page_db.engine, lead_ids=[int(shown_leads["id"].iloc[0])], stage="qualified", user="t")
    leads.move(engine=page_db.engine, lead_ids=[int(shown_leads["id"].iloc[0])], stage="contacted", user="t")
    leads.move(
        engine=page_db.engine, lead_ids=[int(shown_leads["id"].iloc[0])], stage="won", user="t", value=250
    )
    import streamlit as st

    st.cache_data.clear()
    at.run()
    assert shown_metrics(at)["Won"] == "1" and shown_metrics(at)["Value won"] == "250"
    assert shown_metrics(at)["Conversion"] == "50.0%"

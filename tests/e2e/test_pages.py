"""Every page in a real browser: it loads without error with its charts drawn; the shared
filters change the numbers, live in the URL, survive page switches; presentation mode.

Screenshots of each page go to ``docs/screenshots/`` (shown in the README).
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import expect

from .helpers import (
    assert_no_error,
    choose,
    drawn_charts,
    grid_texts,
    metric_value,
    multiselect_values,
    open_page,
    rerun,
    screenshot,
    select_value,
    wait_for_charts,
)

# path, screenshot name, title (h1), the fewest Plotly charts it draws on the e2e database
PAGES = [
    ("", "overview", "Overview", 2),
    ("trends", "trends", "Trends", 6),
    ("mentions", "mentions", "Mentions", 0),
    ("inbox", "inbox", "Inbox", 0),
    ("influencers", "influencers", "Influencers", 0),
    ("customer", "customer", "Customer", 0),
    ("segments", "segments", "Segments", 0),  # few linked customers post in the small e2e demo
    ("leads", "leads", "Leads", 0),
    ("identities", "identities", "Identities", 0),
    ("data", "data", "Data", 0),
    ("quality", "quality", "Sentiment quality", 2),  # confusion matrix and F1 by label
]
KPIS = ["Mentions", "Reach", "Engagement", "Net sentiment", "Share of voice (own)"]
BRAND = "Harbor Bank"  # a competitor: a name with a space, so the URL must encode it


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize(("path", "name", "title", "charts"), PAGES, ids=[p[1] for p in PAGES])
def test_page_loads_with_charts(page, app_url, path, name, title, charts):
    open_page(page, app_url, path)
    assert_no_error(page)
    assert page.locator("h1").first.inner_text().strip() == title
    drawn = wait_for_charts(page, charts) if charts else drawn_charts(page)
    assert len(drawn) >= charts, drawn
    for chart in drawn:  # every chart on the page, not just the counted ones
        assert chart["svg"] and chart["traces"] >= 1, f"chart without traces on /{path}: {chart}"
        assert chart["width"] > 200 and chart["height"] > 150, f"chart squashed on /{path}: {chart}"
    if name == "overview":
        volume = next(c for c in drawn if c["title"].startswith("Mentions per day"))
        assert volume["traces"] >= 4, f"one line per demo brand expected: {volume}"
        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert len(values) >= 7, values  # five KPIs and two places for the Engage module
        assert all(v.strip() for v in values), values
        for label in KPIS:
            assert metric_value(page, label) not in ("", "—"), label
        assert int(metric_value(page, "Mentions").replace(",", "")) > 0
    for table in page.locator('[data-testid="stDataFrame"]:visible').all():
        grid_texts(page, table)  # its cells are painted (for the screenshot)
    assert_no_error(page)  # nothing went wrong while the charts were drawn
    assert page.dialogs == []
    shot = screenshot(page, name)
    assert shot.stat().st_size > 20_000, f"{shot} looks empty"


def test_brand_filter_changes_kpi_and_url(page, app_url):
    open_page(page, app_url)
    before = metric_value(page, "Mentions")
    choose(page, "Brands", BRAND, close=True)
    assert multiselect_values(page, "Brands") == [BRAND]
    after = metric_value(page, "Mentions")
    assert after != before, f"Mentions stayed {before} with only {BRAND} chosen"
    assert int(after.replace(",", "")) < int(before.replace(",", ""))
    assert query(page).get("brand") == [BRAND], page.url  # the filters are mirrored in the URL
    assert_no_error(page)


def test_shared_link_sets_the_filters(page, app_url):
    open_page(page, app_url, f"?period=30d&brand={quote(BRAND)}")
    assert_no_error(page)
    assert select_value(page, "Period") == "Last 30 days"
    tags = sidebar(page).locator('[data-testid="stMultiSelectTagsContainer"] [data-tag]')
    expect(tags.first).to_be_visible()  # the tags can paint a moment after the script ends
    assert multiselect_values(page, "Brands") == [BRAND]
    params = query(page)
    assert params.get("period") == ["30d"] and params.get("brand") == [BRAND], page.url


def test_page_switch_keeps_the_filters(page, app_url):
    open_page(page, app_url, "trends")
    choose(page, "Period", "Last 30 days")
    assert select_value(page, "Period") == "Last 30 days"
    with rerun(page):
        sidebar(page).locator('[data-testid="stSidebarNav"] a').filter(has_text="Overview").click()
    assert page.locator("h1").first.inner_text().strip() == "Overview"
    assert select_value(page, "Period") == "Last 30 days"
    assert query(page).get("period") == ["30d"], page.url
    assert_no_error(page)


def test_presentation_mode(page, app_url):
    from playwright.sync_api import expect

    # The presentation CSS (st.html) takes effect a moment after the run has finished (up to
    # a few seconds on a busy machine; the sidebar shows meanwhile): wait for the outcome.
    open_page(page, app_url, "?present=1")
    assert_no_error(page)
    expect(sidebar(page), "the sidebar shows in presentation mode").to_be_hidden(timeout=10_000)
    for title in ("Trends", "Mentions"):
        with rerun(page):
            page.get_by_role("button", name="Next ▶").click()
        expect(page.locator("h1").first).to_have_text(title)
        expect(sidebar(page), f"the sidebar shows on {title} in presentation mode").to_be_hidden()
        assert "present=1" in page.url, page.url
        assert_no_error(page)
    expect(page.get_by_role("button", name="Next ▶")).to_be_disabled()  # the last story page
    with rerun(page):
        page.get_by_role("button", name="Exit presentation").click()
    expect(sidebar(page)).to_be_visible(timeout=10_000)
    expect(page.get_by_role("button", name="Exit presentation")).to_have_count(0)
    assert "present" not in query(page), page.url
    expect(page.locator("h1").first).to_have_text("Mentions")

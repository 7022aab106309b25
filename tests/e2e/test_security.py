"""Untrusted text stays text in a real browser: the hostile posts of the e2e database
(``HOSTILE_TEXTS``, by ``HOSTILE_AUTHOR``) are shown literally, no markup of theirs becomes
an element, no ``javascript:`` link appears and no JS dialog fires (the ``page`` fixture
fails a test on any dialog).

How the text is read: ``st.dataframe`` paints its cells on a canvas (glide-data-grid), so
``inner_text`` of the page does not hold them. The grid keeps an accessible
``<table role="grid">`` beside the canvas, one ``role="gridcell"`` per cell *in view*,
holding the cell's value as plain text: that is reliable for rows and columns that fit the
grid's box (checked here for the 10-row Overview table and the Mentions table sorted so the
hostile posts come first), not for rows scrolled out of it. The detail view's ``st.text``
(``stText``) is ordinary DOM. The CSV export is checked in test_downloads.
"""

from __future__ import annotations

import csv
import re

from .helpers import (
    HOSTILE_AUTHOR,
    HOSTILE_TEXTS,
    assert_no_error,
    choose,
    click_grid_row,
    dataframe,
    grid_texts,
    open_page,
    type_text,
)

# The hostile posts have the biggest audiences of the database (5.0M, 4.9M, 4.8M, 4.7M
# followers, in HOSTILE_TEXTS order; HOSTILE_AUTHOR wrote the last), are recent and negative.


def assert_nothing_injected(page) -> None:
    """No element or link made from the hostile markup, no dialog so far."""
    assert page.locator("img[src='x']").count() == 0, "a hostile <img> became an element"
    assert page.locator("[onerror]").count() == 0
    assert page.locator("a[href^='javascript:' i]").count() == 0, "a javascript: link is on the page"
    assert page.locator("script:has-text('alert(')").count() == 0, "a hostile <script> became an element"
    assert page.locator("a").filter(has_text="click here").count() == 0, "markdown link rendered"
    assert page.locator("a[href*='evil.example']").count() == 0
    assert page.dialogs == []


def test_overview_shows_hostile_posts_as_text(page, app_url):
    open_page(page, app_url)
    assert_no_error(page)
    # The most negative high-reach posts: the four hostile ones first (10 rows, all in view).
    cells = grid_texts(
        page, dataframe(page, "post"), minimum=4 * 7, contains=(*HOSTILE_TEXTS, HOSTILE_AUTHOR)
    )
    for text in HOSTILE_TEXTS:
        assert text in cells, f"hostile post not shown literally in the Overview table: {text!r}"
    assert HOSTILE_AUTHOR in cells
    assert_nothing_injected(page)


def test_mentions_shows_hostile_posts_as_text(page, app_url):
    from playwright.sync_api import expect

    open_page(page, app_url, "mentions")
    assert_no_error(page)
    choose(page, "Sort by", "Highest reach")
    table = dataframe(page, "Post")
    cells = grid_texts(page, table, minimum=4 * 5, contains=(*HOSTILE_TEXTS, HOSTILE_AUTHOR))
    for text in HOSTILE_TEXTS:
        assert text in cells, f"hostile post not shown literally in the Mentions table: {text!r}"
    assert HOSTILE_AUTHOR in cells
    assert_nothing_injected(page)

    # The detail view of each hostile post: its text in st.text, the author in the header.
    # The detail shows the first selected row: select one, check, clear it, next.
    detail = page.locator('[data-testid="stMain"] [data-testid="stText"]')
    for row, text in enumerate(HOSTILE_TEXTS):
        if row:
            click_grid_row(page, table, row - 1)  # clear the previous one
        click_grid_row(page, table, row)
        assert_no_error(page)
        expect(detail.first, f"row {row}: the detail view shows another post").to_have_text(text)
        assert_nothing_injected(page)
    expect(page.locator('[data-testid="stMain"]')).to_contain_text(HOSTILE_AUTHOR)  # the author, as text


NUMBER = re.compile(r"^[-+]?\d[\d.,]*(e[-+]?\d+)?$")


def test_table_toolbar_csv_is_formula_safe_or_absent(page, app_url):
    """The Mentions table's built-in CSV export (hover toolbar), besides the page's own button."""
    # Without the File System Access API the grid falls back to an ordinary download.
    page.add_init_script("delete window.showSaveFilePicker;")
    open_page(page, app_url, "mentions")
    type_text(page, "Search posts", "horrible")
    table = dataframe(page, "Post")
    grid_texts(page, table)
    table.hover()
    button = table.locator('[data-testid="stBaseButton-elementToolbar"][aria-label="Download as CSV"]')
    if button.count() == 0:
        return  # data export disabled: nothing to check
    with page.expect_download(timeout=30_000) as info:
        button.click()
    with open(info.value.path(), encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [cell for row in rows[1:] for cell in row if not NUMBER.match(cell)]
    assert any("HYPERLINK" in cell for cell in cells), rows
    unsafe = [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert not unsafe, f"the table's toolbar CSV has cells a spreadsheet runs as formulas: {unsafe}"

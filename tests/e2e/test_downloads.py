"""Downloads in a real browser: the Mentions page's CSV (all matching rows, formula-safe)
and the Overview's PDF report."""

from __future__ import annotations

import csv
import io
import re

from .helpers import HOSTILE_TEXTS, assert_no_error, open_page, type_text

HEADER = (
    "platform,external_id,brands,author,created_at,text,sentiment,compound,likes,shares,comments,reach,url"
)
# Columns that hold text from outside (a post, a handle, a link...); the others are ours.
TEXT_COLUMNS = ("platform", "external_id", "brands", "author", "text", "url")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = next(t for t in HOSTILE_TEXTS if t.startswith("=HYPERLINK("))
# "Download all 84 as CSV", or "Download as CSV" for a single match
CSV_BUTTON = re.compile(r"^Download (all [\d,]+ )?as CSV$")
COUNT = re.compile(r"([\d,]+) matching mentions?\b")


def download_csv(page) -> tuple[int, str, list[dict[str, str]]]:
    """Click the Mentions page's CSV button: (matches the page counts, header line, rows)."""
    found = COUNT.search(page.locator('[data-testid="stMain"]').inner_text())
    assert found, "the Mentions page shows no count of matching mentions"
    shown = int(found.group(1).replace(",", ""))
    # By its key: the table's own toolbar has a "Download as CSV" button too.
    button = page.locator(".st-key-mentions_download").get_by_role("button", name=CSV_BUTTON)
    label = button.inner_text().strip().splitlines()[-1]
    if shown > 1:
        assert label == f"Download all {shown:,} as CSV", label
    with page.expect_download(timeout=30_000) as info:
        button.click()
    download = info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    with open(download.path(), encoding="utf-8-sig", newline="") as fh:  # a BOM would be fine
        content = fh.read()
    header = content.splitlines()[0]
    rows = list(csv.DictReader(io.StringIO(content, newline="")))
    return shown, header, rows


def assert_formula_safe(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for column in TEXT_COLUMNS:
            assert not row[column].startswith(FORMULA_START), f"{column} would run as a formula: {row}"


def test_mentions_csv_is_complete_and_formula_safe(page, app_url):
    # Over 90 days, "terrible" matches more mentions than one page of the table (50 rows).
    open_page(page, app_url, "mentions?period=90d")
    type_text(page, "Search posts", "terrible")
    assert_no_error(page)
    shown, header, rows = download_csv(page)
    assert header == HEADER
    assert shown > 50, f"only {shown} matches: the download cannot show it holds more than a page"
    assert len(rows) == shown, f"the page counts {shown} matches, the file has {len(rows)} rows"
    for row in rows:
        assert "terrible" in row["text"].lower(), f"a row that does not match the search: {row}"
    assert_formula_safe(rows)

    # The hostile post that starts with a formula is neutralised with an apostrophe.
    type_text(page, "Search posts", "horrible")
    assert_no_error(page)
    shown, header, rows = download_csv(page)
    assert header == HEADER
    assert len(rows) == shown >= 1
    for row in rows:
        assert "horrible" in row["text"].lower(), f"a row that does not match the search: {row}"
    hostile = [row for row in rows if row["external_id"] == "e2e-hostile-2"]
    assert len(hostile) == 1, rows
    assert hostile[0]["text"] == "'" + HYPERLINK
    assert hostile[0]["text"].startswith("'=")
    assert_formula_safe(rows)


def test_overview_pdf_download(page, app_url):
    open_page(page, app_url)
    assert_no_error(page)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download this overview as PDF").click()
    download = info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    with open(download.path(), "rb") as fh:
        data = fh.read()
    assert data.startswith(b"%PDF"), data[:20]
    assert len(data) > 5_000 and b"%%EOF" in data[-1024:]

"""The app loads in a real browser, shows its counts and no error, and runs no injected code."""

from __future__ import annotations

from .helpers import HOSTILE_TEXTS, assert_no_error, open_page, screenshot


def test_home_loads(page, app_url):
    open_page(page, app_url)
    assert_no_error(page)
    body = page.locator("body").inner_text()
    assert "Mentions" in body
    path = screenshot(page, "home")
    assert path.stat().st_size > 10_000
    # Hostile post text, wherever the page shows it, is text, never markup.
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("script:has-text('alert(2)')").count() == 0
    for text in HOSTILE_TEXTS:
        if text[:30] in body:
            assert text in body, f"hostile text altered on the page: {text!r}"
    assert page.dialogs == []

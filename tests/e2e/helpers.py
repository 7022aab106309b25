"""Helpers for the browser tests: open a Streamlit page, check it for errors, screenshot it.

Selectors below were read from Streamlit 1.67's frontend bundle and checked against a
scratch app (st.error, st.exception, an uncaught exception, a syntax error):

* ``[data-testid="stApp"]`` carries ``data-test-script-state`` (``initial``, ``running``,
  ``rerunRequested``, ``stopRequested``, ``notRunning``, ``compilationError``) and
  ``data-test-connection-state`` (``INITIAL``, ``PINGING_SERVER``, ``CONNECTING``,
  ``CONNECTED``, ``DISCONNECTED_FOREVER``...).
* ``[data-testid="stStatusWidgetRunningIcon"]`` is the "Running..." man in the header.
* Errors: ``stException`` (st.exception and uncaught exceptions, with ``stExceptionMessage``),
  ``stAlertContentError`` (st.error; also inside every stException), ``stErrorCodeBlock``
  (the modal Streamlit shows for a script that does not compile).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "docs" / "screenshots"

#: Posts stored in the e2e database for Northwind Bank, recent, negative and from big
#: accounts, so that they show up on "most negative" lists. Every page that shows post
#: text must show these as literal text.
HOSTILE_TEXTS = [
    "<img src=x onerror=alert(1)> Northwind Bank is awful, terrible fees",
    "[click here](javascript:alert(1)) Northwind Bank worst service ever",
    '=HYPERLINK("http://evil.example","x") Northwind Bank horrible',
    "Northwind Bank froze my account, disgusting and useless",
]
#: The author handle of the last hostile post.
HOSTILE_AUTHOR = "<script>alert(2)</script>"

APP = '[data-testid="stApp"]'
RUNNING_ICON = '[data-testid="stStatusWidgetRunningIcon"]'
ERROR_SELECTORS = (
    '[data-testid="stException"]',
    # st.error; the same element inside an stException is reported by that one already
    '[data-testid="stAlertContentError"]:not([data-testid="stException"] *)',
    '[data-testid="stErrorCodeBlock"]',
)
SCROLLERS = ('[data-testid="stMain"]', '[data-testid="stSidebarContent"]')
_BUTTONS = {"Copy", "Ask Google", "Ask ChatGPT"}  # stException's buttons, not its message
SETTLED_STATES = ("notRunning", "compilationError")

_SETTLED_JS = """([app, icon, settled]) => {
    const a = document.querySelector(app);
    return !!a && a.getBoundingClientRect().width > 0
        && a.getAttribute('data-test-connection-state') === 'CONNECTED'
        && settled.includes(a.getAttribute('data-test-script-state'))
        && !document.querySelector(icon);
}"""


def app_state(page: Page) -> str:
    """``script-state/connection-state`` of the app, for messages."""
    return page.evaluate(
        """(app) => { const a = document.querySelector(app);
            return a ? a.getAttribute('data-test-script-state') + '/'
                + a.getAttribute('data-test-connection-state') : 'no stApp element'; }""",
        APP,
    )


def wait_for_app(page: Page, timeout: float = 60.0, settle: float = 0.3) -> None:
    """Wait until the script has finished running and the app is connected.

    The state must hold for ``settle`` seconds, so that a rerun started by the first
    run (query parameters, ``st.rerun``) is waited for too. Fails after ``timeout`` s.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    deadline = time.monotonic() + timeout
    args = [APP, RUNNING_ICON, list(SETTLED_STATES)]
    while True:
        remaining = deadline - time.monotonic()
        try:
            page.wait_for_function(_SETTLED_JS, arg=args, timeout=max(remaining, 0.1) * 1000, polling=100)
        except PlaywrightTimeoutError:
            pytest.fail(f"app did not finish running within {timeout:.0f} s (state: {app_state(page)})")
        page.wait_for_timeout(settle * 1000)
        if page.evaluate(_SETTLED_JS, args):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"app did not settle within {timeout:.0f} s (state: {app_state(page)})")


def open_page(page: Page, app_url: str, path: str = "", timeout: float = 60.0) -> Page:
    """Go to ``app_url/path`` and wait until Streamlit has run the page's script."""
    url = app_url.rstrip("/") + "/" + path.lstrip("/")
    page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
    wait_for_app(page, timeout=timeout)
    return page


def error_texts(page: Page) -> list[str]:
    """The text of every error element on the page."""
    texts = [text for sel in ERROR_SELECTORS for text in page.locator(sel).all_inner_texts()]
    return ["\n".join(ln for ln in t.strip().splitlines() if ln.strip() not in _BUTTONS) for t in texts]


def assert_no_error(page: Page) -> None:
    """Fail if the page shows an exception, an st.error box or a compile error."""
    state = app_state(page)
    errors = error_texts(page)
    if errors or state.startswith("compilationError"):
        shown = "\n---\n".join(t[:2000] for t in errors)
        pytest.fail(f"the page shows an error (state {state}) at {page.url}:\n{shown}")


def screenshot(page: Page, name: str, max_height: int = 12_000) -> Path:
    """Save a full-page screenshot as ``docs/screenshots/NAME.png`` and return its path.

    Streamlit scrolls inside ``stMain`` (and the sidebar), not the document, so Playwright's
    ``full_page`` alone stops at the viewport: the viewport is stretched to the content's
    height (at most ``max_height`` px) for the shot and put back afterwards.
    """
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    viewport = page.viewport_size
    height = page.evaluate(
        """(sels) => Math.max(document.documentElement.scrollHeight,
            ...sels.map(s => { const e = document.querySelector(s); return e ? e.scrollHeight : 0; }))""",
        list(SCROLLERS),
    )
    stretch = viewport is not None and height > viewport["height"]
    if stretch:
        page.set_viewport_size({"width": viewport["width"], "height": min(height, max_height)})
        page.wait_for_timeout(500)  # let charts and tables lay themselves out again
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if stretch:
            page.set_viewport_size(viewport)
    return path

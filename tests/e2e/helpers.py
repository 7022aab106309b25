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
from collections.abc import Iterator
from contextlib import contextmanager
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


# -- charts, widgets, tables (added for test_pages, test_downloads, test_security) ------

#: What Plotly draws for one trace: ``g.trace`` in the scatter/bar/pie layers, ``g.hm``
#: (an image) for a heatmap. Legend entries are ``g.traces`` (plural): not counted.
_CHARTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .filter(p => p.getBoundingClientRect().width > 0)
    .map(p => ({
        title: (p.querySelector('.gtitle') || {}).textContent || '',
        svg: p.querySelectorAll('.main-svg').length,
        traces: p.querySelectorAll('.main-svg g.trace, .main-svg g.hm').length,
        width: Math.round(p.getBoundingClientRect().width),
        height: Math.round(p.getBoundingClientRect().height),
    }))"""


def drawn_charts(page: Page) -> list[dict]:
    """Every visible Plotly chart: ``title``, ``svg`` (.main-svg count), ``traces`` drawn, size."""
    return page.evaluate(_CHARTS_JS)


def wait_for_charts(page: Page, minimum: int, timeout: float = 30.0, settle: float = 0.5) -> list[dict]:
    """Wait until at least ``minimum`` Plotly charts are drawn, each with its traces, and still.

    Streamlit loads its Plotly component lazily, after the script has finished: a page that
    :func:`wait_for_app` calls ready has no chart yet for a moment. Ready means at least
    ``minimum`` charts, every chart with an SVG and a trace, and the same titles, trace
    counts and sizes over ``settle`` seconds (nothing still being laid out). Returns
    :func:`drawn_charts`; fails with what was drawn after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last: list[dict] | None = None
    while True:
        charts = drawn_charts(page)
        ready = len(charts) >= minimum and all(c["svg"] and c["traces"] for c in charts)
        if ready and charts == last:
            return charts
        if time.monotonic() > deadline:
            pytest.fail(
                f"expected at least {minimum} drawn charts at {page.url} within {timeout:.0f} s, got {charts}"
            )
        last = charts if ready else None
        page.wait_for_timeout(settle * 1000)


def metric_value(page: Page, label: str) -> str:
    """The shown value of the ``st.metric`` whose label is exactly ``label``."""
    metric = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]').get_by_text(label, exact=True)
    )
    return metric.locator('[data-testid="stMetricValue"]').first.inner_text(timeout=10_000).strip()


_WATCH_RUNS_JS = """() => {
    window.__scrmRuns = 0;
    if (window.__scrmRunObserver) window.__scrmRunObserver.disconnect();
    window.__scrmRunObserver = new MutationObserver(records => {
        for (const r of records) {
            if (r.target.getAttribute('data-test-script-state') !== 'notRunning') window.__scrmRuns++;
        }
    });
    window.__scrmRunObserver.observe(document.body,
        {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
}"""


@contextmanager
def rerun(page: Page, timeout: float = 60.0) -> Iterator[None]:
    """Wait, after the body has acted (a click, a key), for the rerun it causes to finish.

    :func:`wait_for_app` alone can return before a rerun has even started: on a busy
    machine the round trip to the server can outlast its settle time. This watches
    ``stApp``'s script state from before the action, waits until it has left
    ``notRunning`` at least once (failing after 15 s if it never does), then waits for
    the app to settle::

        with rerun(page):
            page.get_by_role("button", name="Next ▶").click()
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.evaluate(_WATCH_RUNS_JS)
    yield
    try:
        page.wait_for_function("() => window.__scrmRuns > 0", timeout=15_000, polling=50)
    except PlaywrightTimeoutError:
        pytest.fail(f"the action started no rerun within 15 s at {page.url} (state: {app_state(page)})")
    wait_for_app(page, timeout=timeout)


def select_widget(page: Page, label: str):
    """The selectbox or multiselect labelled ``label`` (sidebar or page; labels are unique)."""
    return page.locator('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]').filter(
        has=page.locator(f'input[aria-label="{label}"]')
    )


def select_value(page: Page, label: str) -> str:
    """What the selectbox ``label`` shows (Streamlit 1.67: a combobox input's value)."""
    return select_widget(page, label).locator(f'input[aria-label="{label}"]').input_value()


def multiselect_values(page: Page, label: str) -> list[str]:
    """The chosen options of the multiselect ``label``, as shown on its tags."""
    tags = select_widget(page, label).locator('[data-testid="stMultiSelectTagsContainer"] [data-tag]:visible')
    return [t.get_attribute("aria-label") or t.inner_text() for t in tags.all()]


def choose(page: Page, label: str, option: str, *, close: bool = False) -> None:
    """Open the select(box) ``label``, click ``option`` in its list, wait for the rerun.

    A multiselect's list stays open after a choice: ``close=True`` presses Escape.
    """
    select_widget(page, label).locator(f'input[aria-label="{label}"]').click()
    with rerun(page):
        page.locator('[role="option"]').get_by_text(option, exact=True).click()
        if close:
            page.keyboard.press("Escape")


def type_text(page: Page, label: str, text: str) -> None:
    """Type ``text`` into the text input ``label``, press Enter and wait for the rerun."""
    box = page.locator(f'input[aria-label="{label}"]')
    box.fill(text)
    with rerun(page):
        box.press("Enter")


def dataframe(page: Page, column: str):
    """The ``st.dataframe`` that has a column headed ``column`` (exactly).

    Found by a header, not by its key: Streamlit 1.67 puts a key's ``st-key-KEY`` class on
    the element only for a dataframe with ``on_select``.
    """
    header = page.locator('[role="columnheader"]').get_by_text(column, exact=True)
    return page.locator('[data-testid="stDataFrame"]').filter(has=header).first


def grid_texts(
    page: Page, frame, minimum: int = 1, timeout: float = 15.0, contains: tuple[str, ...] = ()
) -> list[str]:
    """The cell texts of the ``st.dataframe`` ``frame`` (a locator), read from the DOM.

    st.dataframe (glide-data-grid) paints its cells on a canvas, but keeps an accessible
    ``<table role="grid">`` beside it with one ``role="gridcell"`` per cell *in view* (rows
    and columns scrolled out of the grid are not there), holding the cell's raw value as
    text. It is filled (and refilled after a rerun) a moment after the canvas is drawn, so
    this waits for ``minimum`` cells and, for up to ``timeout`` s, for every string of
    ``contains`` to be a cell (then returns what is there, for the caller's assertion).
    Only cells that fit the grid's box are listed: give long tables room or read the data
    another way (a download, a detail view).
    """
    cells = frame.locator('[role="gridcell"]')
    deadline = time.monotonic() + timeout
    while True:
        texts = [t.strip() for t in cells.all_inner_texts()]
        if len(texts) >= minimum and all(c in texts for c in contains):
            return texts
        if time.monotonic() > deadline:
            if len(texts) < minimum:
                pytest.fail(f"a table at {page.url} shows {len(texts)} cells, expected {minimum}+")
            return texts
        page.wait_for_timeout(200)


def click_grid_row(page: Page, frame, row: int) -> None:
    """Tick the selection box of ``row`` (0 = first) of the ``st.dataframe`` ``frame``; wait.

    The box is painted on the canvas, in the row-marker column at the grid's left edge;
    rows are 35 px high under a 35 px header (Streamlit's defaults). ``row`` must be in view.
    """
    box = frame.bounding_box()
    assert box is not None, f"the table is not shown at {page.url}"
    with rerun(page):
        page.mouse.click(box["x"] + 20, box["y"] + 35 * (row + 1) + 17)

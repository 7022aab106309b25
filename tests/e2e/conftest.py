"""Browser tests: the Streamlit app on a free loopback port, driven by Playwright.

They need Debian's chromium at ``/usr/bin/chromium`` (Playwright never downloads a browser
here) and the ``playwright`` Python package. Without either they skip, except under
``CI=true``, where they fail. Every test in this folder is marked ``browser``.

Fixtures shared by every test of this package (scope "package": the server and the
browser stop when the last browser test is done, not at the end of the whole run):
``e2e_database_url`` (a demo SQLite database with hostile posts), ``app_url`` (the
running app) and ``browser``; per test: ``page``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import HOSTILE_AUTHOR, HOSTILE_TEXTS, REPO_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["HOSTILE_AUTHOR", "HOSTILE_TEXTS"]

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Debian's chromium; SCRM_E2E_CHROMIUM only exists to try the skip and CI paths.
CHROMIUM = os.environ.get("SCRM_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60.0
BRAND = "Northwind Bank"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``browser`` (so ``-m "not browser"`` leaves them out)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    reasons = []
    if not os.access(CHROMIUM, os.X_OK):
        reasons.append(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("the playwright package is not installed (pip install -r requirements-dev.txt)")
    return "; ".join(reasons) or None


@pytest.fixture(scope="session", autouse=True)
def _browser_requirements() -> None:
    """Skip (fail under CI=true) every test here when chromium or Playwright is missing."""
    reason = _missing()
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests cannot run: {reason} (CI=true: browser tests must run)")
        pytest.skip(f"browser tests skipped: {reason}")


# -- the database ----------------------------------------------------------------------


def _hostile_mentions() -> list:
    from scrm.models import MentionCreate
    from scrm.timeutil import utcnow

    now = utcnow()
    authors = [f"e2e_angry_{i}" for i in range(len(HOSTILE_TEXTS) - 1)] + [HOSTILE_AUTHOR]
    return [
        MentionCreate(
            platform="twitter",
            external_id=f"e2e-hostile-{i}",
            text=text,
            created_at=now - timedelta(hours=2 + 3 * i),
            author=author,
            author_name=author,
            followers=5_000_000 - 100_000 * i,  # above every demo account
            verified=True,
            likes=4_000,
            shares=1_500,
            comments=600,
            brands=[BRAND],
        )
        for i, (text, author) in enumerate(zip(HOSTILE_TEXTS, authors, strict=True))
    ]


@pytest.fixture(scope="package")
def e2e_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A temp-file SQLite database: a small deterministic demo plus the hostile posts."""
    from scrm.db import init_db, make_engine
    from scrm.ingest.demo import load_demo
    from scrm.ingest.pipeline import ingest_mentions

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'scrm.db'}"
    engine = make_engine(url)
    try:
        init_db(engine)
        load_demo(engine=engine, mentions=3000, customers=300)
        result = ingest_mentions(_hostile_mentions(), engine=engine, source="test")
        assert result.stored == len(HOSTILE_TEXTS), result.to_dict()
    finally:
        engine.dispose()
    return url


# -- the app server --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server and its process group; kill it after 10 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _streamlit_cmd(port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip


@pytest.fixture(scope="package")
def app_url(e2e_database_url: str) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of ``streamlit run app.py`` on the e2e database.

    The server runs from the repository root in a process group of its own, which is
    terminated at the end of the session. Its output goes into the failure message.
    """
    env = {**os.environ, "SCRM_DATABASE_URL": e2e_database_url, "PYTHONUNBUFFERED": "1"}
    # The server writes to a file, not a pipe, so that it never blocks on a full pipe.
    with tempfile.TemporaryFile(mode="w+b") as log:

        def output() -> str:
            log.seek(0)
            return "server output (stdout and stderr):\n" + log.read().decode("utf-8", "replace")[-5000:]

        for attempt in range(3):  # another process may take the free port before streamlit does
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            log.seek(0)
            log.truncate()
            proc = subprocess.Popen(
                _streamlit_cmd(port),
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            try:
                deadline = time.monotonic() + SERVER_START_TIMEOUT
                while not _healthy(base):
                    if proc.poll() is not None:
                        break
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f"streamlit did not answer {base}/_stcore/health within "
                            f"{SERVER_START_TIMEOUT:.0f} s; {output()}"
                        )
                    time.sleep(0.25)
                else:
                    yield base
                    return
                if attempt == 2 or f"Port {port} is not available" not in output():
                    pytest.fail(f"streamlit exited with code {proc.returncode} before answering; {output()}")
            finally:
                _stop(proc)


# -- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, through Playwright (which never downloads a browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context's page, 1400x900, downloads accepted.

    Every JS dialog (alert, confirm, prompt) is dismissed and recorded in ``page.dialogs``
    as ``(type, message)``; the test fails at teardown if any fired. Uncaught page errors
    are recorded in ``page.page_errors`` (not failed on).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.page_errors = []  # type: ignore[attr-defined]

    def on_dialog(dialog) -> None:
        page.dialogs.append((dialog.type, dialog.message))  # type: ignore[attr-defined]
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        dialogs = list(page.dialogs)  # type: ignore[attr-defined]
        context.close()
    if dialogs:
        pytest.fail(f"JS dialogs fired: {dialogs}")

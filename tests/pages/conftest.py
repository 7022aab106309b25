"""Shared fixtures of the page tests (AppTest over the real router, app.py).

``page_db`` is a small temp-file SQLite database (two brands, a few dozen mentions over the
last days, stored through the ingest pipeline) that ``SCRM_DATABASE_URL`` points at;
``run_page(path)`` runs app.py once (the router stores the shared filters), switches to the
page and runs it. An autouse fixture clears the settings and Streamlit caches between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from scrm.brands import add_brand
from scrm.config import get_settings
from scrm.db import init_db, make_engine
from scrm.ingest.pipeline import ingest_mentions
from scrm.timeutil import utcnow
from tests.factories import mention

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "app.py"
OWN = "Northwind Bank"
COMPETITOR = "Contoso Bank"
PAGE_TEXTS = (
    "I love the new Northwind app, great job!",
    "Terrible service at Northwind, my card was blocked again",
    "Anyone know the Northwind branch hours?",
    "Contoso Bank has the best savings rate, really happy",
    "Contoso support is awful and slow",
    "Switched from Contoso to Northwind, no regrets",
)


@dataclass(frozen=True)
class PageDB:
    """The page-test database: its URL, an engine on it and the brand ids by name."""

    url: str
    engine: Engine
    brands: dict[str, int]
    mentions: int


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Settings and Streamlit caches cleared before and after each test."""
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def _router_owns_navigation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every AppTest run starts in app.py, as on a running server.

    AppTest resets ``PagesManager.uses_pages_directory`` before each run, and with a
    ``pages/`` folder next to app.py Streamlit's legacy routing then runs the switched-to
    page file alone; ``pages.ui.context()`` answers that with ``st.rerun()``, which drops the
    click of a button (a trigger lasts one run). On a server the flag is cleared for good by
    app.py's first ``st.navigation``: do the same here.
    """
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def init_without_legacy_pages(self: PagesManager, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_without_legacy_pages)


@pytest.fixture
def page_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PageDB]:
    """A small database for the pages: 2 brands and 36 mentions over the last 4.5 days."""
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    monkeypatch.setenv("SCRM_DATABASE_URL", url)
    monkeypatch.setenv("SCRM_SCORE_WORKERS", "1")
    get_settings.cache_clear()
    engine = make_engine(url)
    init_db(engine)
    own = add_brand(engine=engine, name=OWN, query="northwind", is_own=True, colour="#1f77b4")
    other = add_brand(engine=engine, name=COMPETITOR, query="contoso", colour="#d62728")
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    items = [
        mention(
            i,
            text=PAGE_TEXTS[i % len(PAGE_TEXTS)] + f" (#{i})",
            created_at=now - timedelta(hours=3 * i + 1),
            platform="twitter" if i % 3 else "reddit",
            likes=i % 5,
            shares=i % 3,
        )
        for i in range(36)
    ]
    result = ingest_mentions(items, engine=engine, source="test", file_name="page-fixture")
    assert result.stored == len(items), result.to_dict()
    try:
        yield PageDB(url=url, engine=engine, brands={OWN: own.id, COMPETITOR: other.id}, mentions=len(items))
    finally:
        engine.dispose()


@pytest.fixture
def run_page(page_db: PageDB) -> Callable[..., AppTest]:
    """``run_page("pages/x.py")``: the router run once, then the page; returns the AppTest."""

    def run(path: str, *, timeout: float = 60) -> AppTest:
        get_settings.cache_clear()  # take the environment the test has set up
        at = AppTest.from_file(str(APP), default_timeout=timeout)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        at.switch_page(path)
        at.run()
        return at

    return run

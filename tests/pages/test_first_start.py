"""First start on an empty database: the app loads the demo by itself (scoring in worker processes) and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scrm.config import get_settings
from scrm.db import make_engine
from scrm.stats import database_stats
from tests.pages.conftest import APP


def test_an_empty_database_gets_the_demo_and_the_screen_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("SCRM_DATABASE_URL", url)
    monkeypatch.setenv("SCRM_DEMO_MENTIONS", "6000")  # big enough for the scoring workers to start
    get_settings.cache_clear()
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    stats = database_stats(engine=make_engine(url))
    assert stats["mentions"] >= 6000 and stats["brands"] == 4
    assert any("Demo data loaded" in s.label for s in at.status), [s.label for s in at.status]
    assert any("demo data set was loaded" in t.value for t in at.toast)
    assert [t.value for t in at.title] == ["Overview"]
    at.run()  # a second run does not load it again
    assert database_stats(engine=make_engine(url))["mentions"] == stats["mentions"]


def test_a_demo_load_cut_short_is_finished_on_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from scrm.db import init_db
    from scrm.ingest.demo import DEMO_LOADED, demo_state, load_demo
    from scrm.models import AuditLog

    url = f"sqlite:///{tmp_path / 'partial.db'}"
    engine = make_engine(url)
    init_db(engine)
    load_demo(engine=engine, mentions=1500, customers=200)
    assert demo_state(engine=engine) == "complete"
    with engine.begin() as conn:  # as if the tab had been closed before the end of the load
        conn.execute(sa.delete(AuditLog.__table__).where(AuditLog.__table__.c.action == DEMO_LOADED))
    assert demo_state(engine=engine) == "partial"
    monkeypatch.setenv("SCRM_DATABASE_URL", url)
    monkeypatch.setenv("SCRM_DEMO_MENTIONS", "1500")
    get_settings.cache_clear()
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert demo_state(engine=engine) == "complete"
    assert any("Demo data loaded" in s.label for s in at.status)

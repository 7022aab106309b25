"""The Influencers page (AppTest over the router) against scrm.influencers' figures."""

from __future__ import annotations

import pandas as pd

from scrm import influencers
from scrm.filters import Filters
from scrm.timeutil import utcnow


def _ranking_table(at) -> pd.DataFrame:
    """The ranking (the first table: it has the five part columns)."""
    tables = [d.value for d in at.dataframe]
    return next(t for t in tables if "centrality_part" in t.columns)


def test_page_shows_rank_authors(run_page, page_db) -> None:
    at = run_page("pages/influencers.py")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Influencers"
    filters: Filters = at.session_state["scrm_context"].filters
    expected = influencers.rank_authors(engine=page_db.engine, filters=filters, top=50)
    assert not expected.empty
    shown = _ranking_table(at)
    assert list(shown["handle"]) == ["@" + h for h in expected["handle"]]
    assert list(shown["score"]) == list(expected["score"])
    for part in influencers.PART_COLUMNS:
        assert list(shown[part]) == list(expected[part])
    assert list(shown["rank"]) == list(range(1, len(expected) + 1))
    # the definitions are on the page
    texts = " ".join(m.value for m in at.markdown)
    assert "Influence = 0.30·reach" in texts
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Authors ranked"] == str(len(expected))
    advocates, detractors = influencers.advocates_and_detractors(expected)
    assert metrics["Advocates"] == str(len(advocates)) and metrics["Detractors"] == str(len(detractors))
    # only the open tab is computed: the ranking
    assert not at.get("plotly_chart")


def test_each_tab_opens(run_page, page_db) -> None:
    at = run_page("pages/influencers.py")
    filters: Filters = at.session_state["scrm_context"].filters
    expected = influencers.rank_authors(engine=page_db.engine, filters=filters, top=500)
    advocates, detractors = influencers.advocates_and_detractors(expected)
    at.session_state["infl_tab"] = "Advocates & detractors"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    tables = [d.value for d in at.dataframe]
    shown = {tuple(t["handle"]) for t in tables}
    assert not advocates.empty and not detractors.empty
    assert tuple("@" + h for h in advocates["handle"].head(15)) in shown
    assert tuple("@" + h for h in detractors["handle"].head(15)) in shown
    at.session_state["infl_tab"] = "Emerging voices"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.segmented_control(key="infl_emerging_by").set_value("engagement").run()
    assert not at.exception, [e.value for e in at.exception]
    at.session_state["infl_tab"] = "Network"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 1
    at.segmented_control(key="infl_net_top").set_value(15).run()
    assert not at.exception, [e.value for e in at.exception]


def test_author_view_and_controls(run_page, page_db) -> None:
    at = run_page("pages/influencers.py")
    at.session_state["infl_tab"] = "Author"
    at.run()
    captions = " ".join(c.value for c in at.caption)
    assert "Why here: " in captions
    assert len(at.get("plotly_chart")) == 2  # the parts and the posts over time
    options = at.selectbox(key="infl_author").options
    assert len(options) >= 2
    at.selectbox(key="infl_author").set_value(1).run()
    assert not at.exception, [e.value for e in at.exception]
    filters: Filters = at.session_state["scrm_context"].filters
    second = influencers.rank_authors(engine=page_db.engine, filters=filters, top=2).iloc[1]
    posts = influencers.author_timeline(
        engine=page_db.engine, filters=filters, author_id=int(second.author_id)
    )
    tables = [d.value for d in at.dataframe if "text" in d.value.columns]
    assert len(tables[-1]) == len(posts)


def test_empty_state(run_page) -> None:
    at = run_page("pages/influencers.py")
    at.sidebar.selectbox(key="period").set_value("custom").run()
    day = utcnow().date().replace(year=2020)
    at.sidebar.date_input(key="from").set_value(day).run()
    at.sidebar.date_input(key="to").set_value(day).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No author posted" in i.value for i in at.info)

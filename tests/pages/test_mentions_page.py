"""The Mentions explorer through the real router: counts equal scrm's, search narrows, relabel works."""

from __future__ import annotations

import re

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from scrm.models import Mention
from scrm.search import get_mention, label_history, search_mentions

PAGE = "pages/mentions.py"
COUNT = re.compile(r"\*\*([\d,]+)\*\* matching mentions?, page \*\*([\d,]+)\*\* of \*\*([\d,]+)\*\*")


def shown_count(at: AppTest) -> tuple[int, int, int]:
    """(matches, page, pages) as the page states them."""
    for md in at.markdown:
        found = COUNT.search(md.value)
        if found:
            return tuple(int(g.replace(",", "")) for g in found.groups())  # type: ignore[return-value]
    raise AssertionError(f"no count line in {[m.value for m in at.markdown]}")


def table(at: AppTest):
    return at.dataframe(key="mentions_table").value


def select(at: AppTest, rows: list[int]) -> AppTest:
    at.session_state["mentions_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def test_count_and_rows_equal_search_mentions(run_page, page_db) -> None:
    at = run_page(PAGE)
    assert not at.exception
    assert [t.value for t in at.title] == ["Mentions"]
    filters = at.session_state["scrm_context"].filters
    expected = search_mentions(engine=page_db.engine, filters=filters, page_size=50)
    assert shown_count(at) == (expected.total, 1, 1)
    assert expected.total == page_db.mentions  # 36 posts; the 6 about both brands count once
    shown = table(at)
    assert list(shown["post"]) == list(expected.rows["text"])
    assert list(shown["reach"]) == list(expected.rows["reach"])
    assert any("Select a row" in i.value for i in at.info)  # the detail's hint


def test_search_narrows_and_pages_are_server_side(run_page, page_db) -> None:
    at = run_page(PAGE)
    filters = at.session_state["scrm_context"].filters
    at.text_input(key="mentions_search").input("blocked card").run()
    assert not at.exception
    expected = search_mentions(engine=page_db.engine, filters=filters, text="blocked card")
    assert 0 < expected.total < page_db.mentions
    assert shown_count(at)[0] == expected.total
    assert all("blocked" in t for t in table(at)["post"])

    at.text_input(key="mentions_search").input("").run()
    at.selectbox(key="mentions_page_size").set_value(25).run()
    assert shown_count(at) == (page_db.mentions, 1, 2) and len(table(at)) == 25
    at.session_state["mentions_page"] = 2
    at.run()
    assert not at.exception
    page2 = search_mentions(engine=page_db.engine, filters=filters, page=2, page_size=25)
    assert shown_count(at) == (page_db.mentions, 2, 2)
    assert list(table(at)["post"]) == list(page2.rows["text"]) and len(page2.rows) == 11


def test_sort_and_links(run_page, page_db) -> None:
    with page_db.engine.begin() as conn:
        conn.execute(sa.update(Mention.__table__).values(url="javascript:alert(1)"))
        conn.execute(
            sa.update(Mention.__table__)
            .where(Mention.__table__.c.external_id == "m0")
            .values(url="https://example.com/p/0", reach=10**9)
        )
    at = run_page(PAGE)
    at.selectbox(key="mentions_sort").set_value("reach").run()
    assert not at.exception
    shown = table(at)
    assert shown["reach"].iloc[0] == 10**9 and shown["link"].iloc[0] == "https://example.com/p/0"
    assert (shown["link"].iloc[1:] == "").all()  # javascript: links are never offered


def test_bad_and_empty_searches_say_what_to_do(run_page) -> None:
    at = run_page(PAGE)
    at.text_input(key="mentions_search").input("!!!").run()
    assert not at.exception
    assert "Search for words" in at.error[0].value
    at.text_input(key="mentions_search").input("zebra").run()
    assert not at.exception and not at.error
    assert "No mentions match: clear the search" in at.info[0].value


def test_detail_relabel_and_audit(run_page, page_db) -> None:
    at = run_page(PAGE)
    at.text_input(key="mentions_search").input("blocked").run()
    ids = list(
        search_mentions(
            engine=page_db.engine, filters=at.session_state["scrm_context"].filters, text="blocked"
        ).rows["id"]
    )
    at = select(at, [0, 1])
    assert not at.exception
    first = get_mention(engine=page_db.engine, mention_id=ids[0])
    assert first.text in [t.value for t in at.text]  # the post shown literally
    assert [m.value for m in at.metric][:2] == [f"{first.likes:,}", f"{first.shares:,}"]
    assert any("No one has changed" in c.value for c in at.caption)

    # No name: an error, nothing changes.
    at.button_group(key="mentions_new_label").set_value("positive")
    at.button(key="FormSubmitter:mentions_relabel-Apply to 2 selected").click().run()
    assert not at.exception
    assert "Enter your name" in at.error[0].value
    assert get_mention(engine=page_db.engine, mention_id=ids[0]).label_override is None

    at.button_group(key="mentions_new_label").set_value("positive")
    at.text_input(key="mentions_user").input("Dana")
    at.button(key="FormSubmitter:mentions_relabel-Apply to 2 selected").click().run()
    assert not at.exception
    assert "Relabelled 2 of 2 selected mentions as positive." in at.success[0].value
    for mid in ids[:2]:
        detail = get_mention(engine=page_db.engine, mention_id=mid)
        assert (detail.effective_label, detail.override_by) == ("positive", "Dana")
    assert table(at)["sentiment"].iloc[0] == "positive ✎"  # the cache was cleared
    history = label_history(engine=page_db.engine, mention_id=ids[0])
    assert [(h.user, h.to_label) for h in history] == [("Dana", "positive")]
    audit = next(d.value for d in at.dataframe if "who" in d.value.columns)
    assert list(audit["who"]) == ["Dana"] and audit["change"].iloc[0] == f"{history[0].from_label} → positive"

    at.button_group(key="mentions_new_label").set_value("clear")
    at.button(key="FormSubmitter:mentions_relabel-Apply to 2 selected").click().run()
    assert "Override cleared on 2 of 2" in at.success[0].value
    assert get_mention(engine=page_db.engine, mention_id=ids[0]).label_override is None


def test_a_new_search_clears_the_selection(run_page) -> None:
    at = run_page(PAGE)
    at = select(at, [0])
    assert not any("Select a row" in i.value for i in at.info)
    at.text_input(key="mentions_search").input("savings").run()
    assert not at.exception
    assert any("Select a row" in i.value for i in at.info) and shown_count(at)[1] == 1


def test_from_a_post_to_the_customer_behind_it(run_page, page_db) -> None:
    from scrm.linking import customer_of, manual_link
    from scrm.models import Customer

    with page_db.engine.begin() as conn:
        customer_id = conn.execute(
            sa.insert(Customer.__table__).values(
                crm_ref="C-7",
                name="Carla [x](javascript:alert(1))",
                segment="Student",
                lifetime_value=1200.0,
                attributes={},
            )
        ).inserted_primary_key[0]
    at = run_page(PAGE)
    at.text_input(key="mentions_search").input("blocked").run()
    filters = at.session_state["scrm_context"].filters
    first_id = int(search_mentions(engine=page_db.engine, filters=filters, text="blocked").rows["id"].iloc[0])
    first = get_mention(engine=page_db.engine, mention_id=first_id)
    manual_link(
        engine=page_db.engine, platform=first.platform, handle=first.author_handle, crm_ref="C-7", user="ana"
    )
    assert (
        customer_of(engine=page_db.engine, platform=first.platform, handle=first.author_handle).crm_ref
        == "C-7"
    )
    at = select(at, [0])
    assert not at.exception
    links = [p.proto for p in at.get("page_link")]
    assert len(links) == 1
    assert links[0].page.endswith("customer") and links[0].query_string == f"customer={customer_id}"
    assert "Student" in links[0].label and "lifetime value 1,200" in links[0].label
    assert r"\[x\]\(javascript\:alert\(1\)\)" in links[0].label  # the CRM's name stays text

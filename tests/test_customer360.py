"""Customer 360 on the hand-built world of tests/test_segments.py (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from scrm import customer360, leads
from scrm.exceptions import NotFoundError, ScrmError
from scrm.filters import Filters
from scrm.models import Alert, AlertMention, AlertRule
from tests.test_segments import END, MONTH, build_world


def refs(frame: pd.DataFrame) -> list[str]:
    return list(frame["crm_ref"])


@pytest.mark.parametrize(
    ("query", "expected", "matched"),
    [
        ("alice", ["C-001"], "name"),
        ("ALICE SM", ["C-001"], "name"),
        ("smith", ["C-001", "C-003"], "name"),  # a word of the name
        ("brown", ["C-003"], "name"),
        ("carol@", ["C-003"], "email"),
        ("bob.jones@example.COM", ["C-002"], "email"),  # stored in mixed case
        ("c-00", ["C-001", "C-002", "C-003", "C-004", "C-005"], "crm_ref"),
        ("C-004", ["C-004"], "crm_ref"),
        ("@Bob_Red", ["C-002"], "reddit @bob_reddit"),
        ("https://twitter.com/Eve", ["C-005"], "twitter @eve"),
        ("=C-0", ["=C-006"], "crm_ref"),
    ],
)
def test_find_customers(engine, query, expected, matched) -> None:
    build_world(engine)
    found = customer360.find_customers(engine=engine, query=query)
    assert sorted(refs(found)) == sorted(expected)
    assert found["matched"].iloc[0] == matched
    assert list(found.columns) == list(customer360.SEARCH_COLUMNS)


def test_search_ranks_exact_matches_first_and_escapes_wildcards(engine) -> None:
    build_world(engine)
    # "eve" is Eve's exact handle and the start of "Eve Rich" and of eve@example.de
    found = customer360.find_customers(engine=engine, query="eve")
    assert refs(found) == ["C-005"] and found["matched"].iloc[0] == "twitter @eve"
    for wildcard in ("%", "_", "\\", "a%", "c-00_"):
        assert customer360.find_customers(engine=engine, query=wildcard).empty, wildcard
    assert customer360.find_customers(engine=engine, query="   ").empty
    assert customer360.find_customers(engine=engine, query="nobody").empty
    assert len(customer360.find_customers(engine=engine, query="c-", limit=2)) == 2


def test_profile(engine) -> None:
    world = build_world(engine)
    bob = customer360.profile(engine=engine, customer_id=world.customers["C-002"])
    assert (bob.crm_ref, bob.name, bob.segment, bob.lifetime_value) == (
        "C-002",
        "Bob Jones",
        "Family",
        20_000,
    )
    assert bob.value_band == "10k–25k"
    assert bob.value_rank == pytest.approx(40.0)  # 2 of the 5 valued customers are worth less
    assert bob.attributes == {"tier": "gold"}
    assert list(bob.identities["handle"]) == ["bob_reddit", "bobj"]
    assert list(bob.identities["posts"]) == [1, 2]
    assert (bob.posts, bob.positive, bob.negative) == (3, 2, 1)
    assert bob.net_sentiment == pytest.approx(100 / 3)
    assert bob.last_post_at == END - timedelta(days=6, hours=1)
    carol = customer360.profile(engine=engine, customer_id=world.customers["C-003"])
    assert carol.identities.iloc[0][["method", "confidence"]].tolist() == ["fuzzy", 0.9]
    assert carol.posts == 3 and carol.positive == 1  # the override wins
    dan = customer360.profile(engine=engine, customer_id=world.customers["C-004"])
    assert dan.identities.empty and dan.posts == 0 and dan.last_post_at is None
    assert math.isnan(dan.net_sentiment)
    blank = customer360.profile(engine=engine, customer_id=world.customers["=C-006"])
    assert blank.value_band == "unknown" and blank.value_rank is None
    with pytest.raises(NotFoundError):
        customer360.profile(engine=engine, customer_id=999_999)


def test_posts_and_sentiment_over_time(engine) -> None:
    world = build_world(engine)
    alice = world.customers["C-001"]
    posts = customer360.customer_posts(engine=engine, customer_id=alice)
    assert len(posts) == 4  # every post, also the one about no brand
    assert posts["created_at"].is_monotonic_decreasing
    assert list(posts.columns) == list(customer360.POST_COLUMNS)
    assert posts.iloc[1]["brands"] == "Acme Bank, Rival"
    assert posts.iloc[-1]["brands"] == ""
    filtered = customer360.customer_posts(
        engine=engine,
        customer_id=alice,
        filters=Filters(start=MONTH.start, end=MONTH.end, brand_ids=(world.rival,)),
    )
    assert list(filtered["text"]) == ["Acme and Rival both awful"]
    negative = customer360.customer_posts(
        engine=engine,
        customer_id=alice,
        filters=Filters(start=MONTH.start, end=MONTH.end, labels=("negative",)),
    )
    assert list(negative["sentiment"]) == ["negative"] * 3
    daily = customer360.sentiment_over_time(posts, freq="D")
    assert len(daily) == 4 and daily["posts"].sum() == 4  # days 5, 4, 3 and 2 before the end, one each
    weekly = customer360.sentiment_over_time(posts, freq="W", tz="Europe/London")
    assert weekly["posts"].sum() == 4
    assert weekly[["positive", "neutral", "negative"]].sum().tolist() == [1, 0, 3]
    assert customer360.sentiment_over_time(posts.head(0)).empty
    carol = customer360.customer_posts(engine=engine, customer_id=world.customers["C-003"])
    monthly = customer360.sentiment_over_time(carol, freq="MS")
    assert monthly["posts"].sum() == 3 and (monthly["posts"] >= 0).all()
    with pytest.raises(ScrmError):
        customer360.sentiment_over_time(posts, freq="fortnight")
    with pytest.raises(NotFoundError):
        customer360.customer_posts(engine=engine, customer_id=999_999)


def test_alerts_and_leads_of_a_customer(engine) -> None:
    world = build_world(engine)
    with engine.begin() as conn:
        rule = conn.execute(
            sa.insert(AlertRule.__table__).values(
                name="r", brand_id=world.own, kind="keyword", params={}, created_by="t", created_at=END
            )
        ).inserted_primary_key[0]
        alert = conn.execute(
            sa.insert(Alert.__table__).values(
                rule_id=rule,
                brand_id=world.own,
                kind="keyword",
                key="k",
                title="Angry customers",
                priority=2,
                status="new",
                onset_at=END,
                raised_at=END,
                updated_at=END,
                response_text="",
            )
        ).inserted_primary_key[0]
        for mid in world.mentions[:3]:  # Alice's first three posts
            conn.execute(sa.insert(AlertMention.__table__).values(alert_id=alert, mention_id=mid))
    alerts = customer360.customer_alerts(engine=engine, customer_id=world.customers["C-001"])
    assert alerts[["id", "priority", "brand", "title", "their_posts"]].values.tolist() == [
        [alert, 2, "Acme Bank", "Angry customers", 3]
    ]
    assert customer360.customer_alerts(engine=engine, customer_id=world.customers["C-002"]).empty
    stored = leads.find_leads(engine=engine, filters=MONTH)
    assert stored > 0
    bob = customer360.customer_leads(engine=engine, customer_id=world.customers["C-002"])
    assert list(bob["kind"]) == ["switching"] and list(bob["brand"]) == ["Rival"]
    assert bob["customer_ref"].iloc[0] == "C-002"

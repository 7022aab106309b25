"""The demo generator: determinism, scale, the story, customers and idempotent loading."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import islice

import sqlalchemy as sa

from scrm.ingest.demo import (
    CRISIS_DAY,
    CRISIS_HOUR,
    DAYS,
    demo_brands,
    generate_customers,
    generate_mentions,
    load_demo,
    true_identity_links,
)
from scrm.models import Customer, Mention
from scrm.query import BrandMatcher, parse_query
from scrm.sentiment import label_for, score_texts

END = datetime(2026, 11, 24, 9, tzinfo=UTC)


def dump(ms) -> list[tuple]:
    return [(m.external_id, m.text, m.created_at, m.author, m.likes) for m in ms]


def test_deterministic_from_seed() -> None:
    a = dump(islice(generate_mentions(n=3000, seed=1, end=END), 500))
    b = dump(islice(generate_mentions(n=3000, seed=1, end=END), 500))
    c = dump(islice(generate_mentions(n=3000, seed=2, end=END), 500))
    assert a == b and a != c
    assert list(islice(generate_customers(n=50, seed=1, end=END), 50)) == list(
        islice(generate_customers(n=50, seed=1, end=END), 50)
    )


def test_scale_period_and_order() -> None:
    ms = list(generate_mentions(n=5000, end=END))
    assert 4700 <= len(ms) <= 5600
    assert min(m.created_at for m in ms) >= END - timedelta(days=DAYS) and max(m.created_at for m in ms) < END
    ids = [m.external_id for m in ms]
    assert len(set(ids)) == len(ids)
    seen: set[str] = set()
    for m in ms:
        assert m.parent_id is None or m.parent_id in seen, "replies come after their parents"
        seen.add(m.external_id)
    assert len(list(generate_mentions(n=20_000, end=END))) > 3 * len(ms)


def test_brand_queries_parse_and_one_brand_is_ours() -> None:
    brands = demo_brands()
    assert len(brands) == 4 and [b.is_own for b in brands].count(True) == 1
    for b in brands:
        parse_query(b.query)
    assert len({b.colour for b in brands}) == 4


def test_crisis_is_a_negative_volume_spike_of_our_brand() -> None:
    ms = list(generate_mentions(n=20_000, end=END))
    matcher = BrandMatcher({b.name: b.query for b in demo_brands()})
    start = END - timedelta(days=DAYS)
    onset = start + timedelta(days=CRISIS_DAY, hours=CRISIS_HOUR)
    ours = [m for m in ms if "Northwind Bank" in matcher.match(m.text, m.author)]
    labels = dict(
        zip([m.external_id for m in ours], map(label_for, score_texts([m.text for m in ours])), strict=True)
    )
    before = [m for m in ours if onset - timedelta(days=7) <= m.created_at < onset]
    during = [m for m in ours if onset <= m.created_at < onset + timedelta(days=1)]
    assert len(during) > 3 * len(before) / 7
    neg_before = sum(labels[m.external_id] == "negative" for m in before) / len(before)
    neg_during = sum(labels[m.external_id] == "negative" for m in during) / len(during)
    assert neg_during > 0.6 > neg_before


def test_followers_heavy_tailed_and_support_replies() -> None:
    ms = list(generate_mentions(n=10_000, end=END))
    followers = sorted({(m.author, m.followers) for m in ms}, key=lambda x: x[1])
    values = [f for _, f in followers]
    assert values[-1] > 100 * values[len(values) // 2]
    support = [m for m in ms if m.author == "northwindhelp"]
    assert support and all(m.parent_id for m in support)


def test_customers_and_true_links() -> None:
    customers = list(generate_customers(n=2000, end=END))
    assert len({c["crm_ref"] for c in customers}) == 2000
    with_handles = [c for c in customers if "handles" in c["attributes"]]
    assert 0.25 < len(with_handles) / 2000 < 0.35
    links = true_identity_links(n_customers=2000)
    assert len(links) == len(with_handles)
    authors = {m.author for m in generate_mentions(n=50_000, end=END)}
    assert sum(handle in authors for _, handle, _ in links) / len(links) > 0.85
    segments = Counter(c["segment"] for c in with_handles)
    assert segments["Student"] / len(with_handles) > 0.3


def test_load_demo_twice_stores_nothing_the_second_time(engine) -> None:
    first = load_demo(engine=engine, mentions=3000, customers=300, end=END)
    second = load_demo(engine=engine, mentions=3000, customers=300, end=END)
    assert first.mentions.stored > 3000 and first.customers == 300
    assert second.mentions.stored == 0 and second.customers == 0
    assert first.identities > 0 and second.identities == 0
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(Mention.__table__)).scalar_one()
            == first.mentions.stored
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(Customer.__table__)).scalar_one() == 300


def test_the_demo_team_worked_the_crisis_alert(engine) -> None:
    from scrm.inbox import alert_queue, events

    load_demo(engine=engine, mentions=8000, customers=300, end=END)
    worked = alert_queue(engine=engine, statuses=("resolved", "responded"), now=END)
    assert not worked.empty and (worked["assignee"] != "").all()
    crisis = worked.sort_values("mentions").iloc[-1]
    trail = events(engine=engine, alert_id=int(crisis["id"]))
    people = trail[trail["username"] != "system"]  # the engine's own "raised"/"updated" events
    assert list(people["action"])[:3] == ["assign", "acknowledge", "respond"]
    assert set(people["username"]) <= {"maya", "tom", "priya"}
    again = events(engine=engine, alert_id=int(crisis["id"]))
    load_demo(engine=engine, mentions=8000, customers=300, end=END)  # nothing is worked twice
    assert len(events(engine=engine, alert_id=int(crisis["id"]))) == len(again)


def test_demo_state(memory_engine) -> None:
    from scrm.ingest.demo import demo_state
    from scrm.ingest.pipeline import ingest_mentions
    from tests.factories import mention

    assert demo_state(engine=memory_engine) == "empty"
    ingest_mentions([mention(1)], engine=memory_engine, source="file")
    assert demo_state(engine=memory_engine) == "data"  # the user's own data: never "completed" by a demo

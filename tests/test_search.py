"""Full-text search with filters, sorting and pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from scrm.exceptions import NotFoundError, ScrmError
from scrm.filters import Filters
from scrm.models import Mention, MentionBrand
from scrm.scoring import set_label
from scrm.search import (
    PAGE_COLUMNS,
    SORTS,
    count_mentions,
    get_mention,
    iter_matching_ids,
    label_history,
    safe_url,
    search_mentions,
)
from tests.factories import add_activity

SORT_INDEXES = {  # as migration 0007 creates them
    "ix_mention_reach": "(reach)",
    "ix_mention_compound": "(compound)",
    "ix_mention_engagement": "((likes + shares + comments))",
}

D0 = datetime(2026, 11, 2, tzinfo=UTC)
ALL = Filters(start=D0 - timedelta(days=1), end=D0 + timedelta(days=5))


@pytest.fixture
def data(engine):
    ids = add_activity(
        engine,
        [
            ("Own", D0 + timedelta(hours=i), label, 10 * i, i)
            for i, label in enumerate(
                ["negative", "positive", "neutral", "negative", "positive", "neutral", "negative"]
            )
        ],
    )
    texts = {
        1: "Refund still missing after the outage",
        2: "Great café service, merci",
        3: "Refund processed quickly",
        4: "'; DROP TABLE mention; --",
        5: "outage again!!",
        6: "nothing to see",
        7: "Refunds are slow",
    }
    with engine.begin() as conn:
        for i, text in texts.items():
            conn.execute(
                sa.update(Mention.__table__)
                .where(Mention.__table__.c.external_id == f"a{i - 1}")
                .values(text=text)
            )
    return ids


def test_text_search_uses_words(engine, data) -> None:
    page = search_mentions(engine=engine, filters=ALL, text="refund")
    assert page.total == 2 and set(page.rows["text"]) == {
        "Refund still missing after the outage",
        "Refund processed quickly",
    }
    assert search_mentions(engine=engine, filters=ALL, text="REFUND outage").total == 1
    assert search_mentions(engine=engine, filters=ALL, text="cafe").total == (
        1 if engine.dialect.name == "sqlite" else 0
    )  # FTS5 folds diacritics


@pytest.mark.parametrize("evil", ["'; DROP TABLE mention; --", '" OR 1=1 --', "NEAR(refund", "refund*"])
def test_search_input_is_never_syntax(engine, data, evil) -> None:
    page = search_mentions(engine=engine, filters=ALL, text=evil)
    assert page.total <= 7
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Mention.__table__)).scalar_one() == 7


def test_filters_sort_and_pages(engine, data) -> None:
    neg = search_mentions(engine=engine, filters=Filters(start=ALL.start, end=ALL.end, labels=("negative",)))
    assert neg.total == 3 and set(neg.rows["sentiment"]) == {"negative"}
    by_reach = search_mentions(engine=engine, filters=ALL, sort="reach", page_size=3, page=2)
    assert by_reach.total == 7 and by_reach.pages == 3
    assert by_reach.rows["reach"].tolist() == [30, 20, 10]
    newest = search_mentions(engine=engine, filters=ALL, page_size=2)
    assert newest.rows["created_at"].iloc[0] == D0 + timedelta(hours=6)
    assert newest.rows["brands"].iloc[0] == "Own"
    with pytest.raises(ScrmError, match="Unknown sort"):
        search_mentions(engine=engine, filters=ALL, sort="random")
    with pytest.raises(ScrmError, match="words"):
        search_mentions(engine=engine, filters=ALL, text="!!!")


# ---- strategies, multi-brand mentions, details, links, audit --------------------------------

WORDS = ("fee", "refund", "app", "outage")


@pytest.fixture
def varied(engine):
    """40 mentions over 3 brands (some linked to two), with ties in every sort key."""
    rows = [
        (
            ("Own", "Rival", "Third")[i % 3],
            D0 + timedelta(hours=i // 2),  # pairs share a timestamp
            ("negative", "positive", "neutral")[i % 3],
            (i * 37) % 11 * 100,  # reach ties
            i % 4,
        )
        for i in range(40)
    ]
    ids = add_activity(engine, rows)
    m, mb = Mention.__table__, MentionBrand.__table__
    with engine.begin() as conn:
        for i in range(40):
            conn.execute(
                sa.update(m)
                .where(m.c.external_id == f"a{i}")
                .values(
                    text=f"{WORDS[i % 4]} {WORDS[(i // 4) % 4]} post {i}",
                    compound=round(((i * 7) % 9 - 4) / 4, 2),
                    shares=i % 3,
                    comments=(i * 5) % 2,
                )
            )
        for i in range(0, 40, 5):  # every 5th mention is about a second brand too
            mid, ts, platform, label, reach, eng = conn.execute(
                sa.select(
                    mb.c.mention_id, mb.c.ts, mb.c.platform, mb.c.label, mb.c.reach, mb.c.engagement
                ).where(
                    mb.c.mention_id == sa.select(m.c.id).where(m.c.external_id == f"a{i}").scalar_subquery()
                )
            ).one()
            other = ids["Third"] if i % 3 != 2 else ids["Own"]
            conn.execute(
                sa.insert(mb).values(
                    mention_id=mid,
                    brand_id=other,
                    ts=ts,
                    platform=platform,
                    label=label,
                    reach=reach,
                    engagement=eng,
                )
            )
    return ids


def _expected(engine, filters: Filters, text: str, sort: str) -> list[int]:
    """The matching ids in sort order, computed in Python from every row."""
    m, mb = Mention.__table__, MentionBrand.__table__
    with engine.connect() as conn:
        mentions = {r.id: r for r in conn.execute(sa.select(m))}
        links = conn.execute(sa.select(mb)).all()
    start, end = int(filters.start.timestamp()), int(filters.end.timestamp())
    ok = {
        link.mention_id
        for link in links
        if start <= link.ts < end
        and (not filters.brand_ids or link.brand_id in filters.brand_ids)
        and (not filters.labels or link.label in filters.labels)
    }
    words = text.lower().split()
    ok = {i for i in ok if all(w in mentions[i].text.lower().split() for w in words)}
    keys = {
        "newest": lambda r: (-r.created_at.timestamp(), -r.id),
        "oldest": lambda r: (r.created_at.timestamp(), r.id),
        "reach": lambda r: (-r.reach, -r.id),
        "engagement": lambda r: (-(r.likes + r.shares + r.comments), -r.id),
        "most negative": lambda r: (r.compound, -r.id),
        "most positive": lambda r: (-r.compound, -r.id),
    }
    return [r.id for r in sorted((mentions[i] for i in ok), key=keys[sort])]


@pytest.mark.parametrize("indexes", [False, True], ids=["no-sort-indexes", "sort-indexes"])
def test_every_strategy_pages_through_the_same_order(engine, varied, indexes) -> None:
    with engine.begin() as conn:  # migration 0007 makes them; without them the explorer sorts the matches
        for name, columns in SORT_INDEXES.items():
            sql = (
                f"CREATE INDEX IF NOT EXISTS {name} ON mention {columns}"
                if indexes
                else f"DROP INDEX IF EXISTS {name}"
            )
            conn.exec_driver_sql(sql)
    cases = [
        (ALL, ""),
        (Filters(start=D0 + timedelta(hours=3), end=D0 + timedelta(hours=15)), ""),
        (Filters(start=ALL.start, end=ALL.end, brand_ids=(varied["Own"], varied["Third"])), ""),
        (Filters(start=ALL.start, end=ALL.end, brand_ids=(varied["Rival"],), labels=("positive",)), ""),
        (ALL, "fee"),
        (Filters(start=ALL.start, end=ALL.end, brand_ids=(varied["Third"],)), "refund app"),
    ]
    for filters, text in cases:
        for sort in SORTS:
            expected = _expected(engine, filters, text, sort)
            for size in (1, 3, 50):
                got: list[int] = []
                page = 1
                while True:
                    result = search_mentions(
                        engine=engine, filters=filters, text=text, sort=sort, page=page, page_size=size
                    )
                    assert result.total == len(expected), (filters, text, sort)
                    got += result.rows["id"].tolist()
                    r = result.rows
                    assert (r["engagement"] == r["likes"] + r["shares"] + r["comments"]).all()
                    if page >= result.pages:
                        break
                    page += 1
                assert got == expected, (filters, text, sort, size)


def test_a_mention_about_two_brands_counts_once(engine, varied) -> None:
    both = Filters(start=ALL.start, end=ALL.end, brand_ids=tuple(varied.values()))
    assert search_mentions(engine=engine, filters=both).total == 40
    assert count_mentions(engine=engine, filters=both) == 40
    page = search_mentions(engine=engine, filters=ALL, sort="oldest", page_size=1)
    assert page.rows["brands"].iloc[0] == "Own;Third"
    assert count_mentions(engine=engine, filters=ALL, text="fee") == len(
        _expected(engine, ALL, "fee", "newest")
    )
    ids = [i for part in iter_matching_ids(engine=engine, filters=ALL, text="fee", chunk=3) for i in part]
    assert ids == sorted(_expected(engine, ALL, "fee", "newest"))


def test_a_page_past_the_end_is_empty(engine, data) -> None:
    page = search_mentions(engine=engine, filters=ALL, page=9, page_size=5)
    assert page.total == 7 and page.rows.empty and list(page.rows.columns) == list(PAGE_COLUMNS)


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.com/p/1?x=1#y", "https://example.com/p/1?x=1#y"),
        ("  http://example.com  ", "http://example.com"),
        ("HTTPS://EXAMPLE.COM/A", "HTTPS://EXAMPLE.COM/A"),
        ("javascript:alert(1)", ""),
        ("JavaScript:alert(1)", ""),
        (" javascript:alert(1)", ""),
        ("java\tscript:alert(1)", ""),
        ("data:text/html,<script>alert(1)</script>", ""),
        ("vbscript:msgbox(1)", ""),
        ("//evil.example/x", ""),
        ("/relative/path", ""),
        ("https:javascript:alert(1)", ""),
        ("https://", ""),
        ('https://example.com/"onmouseover="alert(1)', ""),
        ("https://exa mple.com", ""),
        ("https://example.com/<img>", ""),
        ("ftp://example.com/f", ""),
        ("", ""),
        (None, ""),
        ("https://" + "a" * 2000 + ".com", ""),
    ],
)
def test_safe_url_keeps_only_http_links(url, safe) -> None:
    assert safe_url(url) == safe


def test_get_mention_has_everything_the_detail_shows(engine) -> None:
    from scrm.brands import add_brand
    from scrm.ingest.pipeline import ingest_mentions
    from tests.factories import mention

    add_brand(engine=engine, name="Northwind", query="northwind", is_own=True)
    add_brand(engine=engine, name="Contoso", query="contoso")
    items = [
        mention(
            1,
            text="Northwind is not bad, but Contoso is TERRIBLE!!",
            author="dana",
            author_name="Dana <b>S</b>",
            followers=1234,
            likes=3,
            shares=2,
            comments=1,
            url="javascript:alert(1)",
        ),
        mention(2, text="northwind hours?", url="https://example.com/2"),
    ]
    ingest_mentions(items, engine=engine, source="test", file_name="t")
    with engine.connect() as conn:
        first, second = conn.execute(
            sa.select(Mention.__table__.c.id).order_by(Mention.__table__.c.id)
        ).scalars()
    detail = get_mention(engine=engine, mention_id=first)
    assert detail.text == items[0].text and detail.platform == "twitter" and detail.external_id == "m1"
    assert (detail.author_handle, detail.author_name, detail.author_followers) == (
        "dana",
        "Dana <b>S</b>",
        1234,
    )
    assert (detail.likes, detail.shares, detail.comments, detail.engagement) == (3, 2, 1, 6)
    assert detail.reach == 1234 and detail.brands == ("Contoso", "Northwind")
    assert detail.url == "" and detail.created_at == items[0].created_at
    assert detail.label == detail.effective_label and not detail.overridden
    assert detail.compound == pytest.approx(detail.explanation.compound, abs=1e-4)
    valences = {w.word.lower(): w.valence for w in detail.explanation.words}
    assert valences["terrible"] < 0 and "northwind" not in valences
    assert get_mention(engine=engine, mention_id=second).url == "https://example.com/2"
    with pytest.raises(NotFoundError, match="No mention with id 999"):
        get_mention(engine=engine, mention_id=999)


def test_overrides_show_in_detail_results_and_history(engine, data) -> None:
    ids = search_mentions(engine=engine, filters=ALL, sort="oldest").rows["id"].tolist()
    assert label_history(engine=engine, mention_id=ids[0]) == []
    assert set_label(engine=engine, mention_ids=ids[:2], label="positive", user="ana", note="sarcasm") == 2
    assert set_label(engine=engine, mention_ids=ids[:1], label="neutral", user="bo") == 1
    detail = get_mention(engine=engine, mention_id=ids[0])
    assert (detail.label, detail.label_override, detail.effective_label) == ("negative", "neutral", "neutral")
    assert detail.overridden and detail.override_by == "bo" and detail.override_at is not None
    history = label_history(engine=engine, mention_id=ids[0])
    assert [(h.user, h.from_label, h.to_label, h.cleared, h.note) for h in history] == [
        ("bo", "positive", "neutral", False, ""),
        ("ana", "negative", "positive", False, "sarcasm"),
    ]
    assert history[0].at >= history[1].at and history[0].at.tzinfo is not None
    second = label_history(engine=engine, mention_id=ids[1])  # computed positive, now a person's too
    assert [(h.user, h.from_label, h.to_label) for h in second] == [("ana", "positive", "positive")]
    set_label(engine=engine, mention_ids=ids[:1], label=None, user="cy")
    assert label_history(engine=engine, mention_id=ids[0])[0].cleared
    assert not get_mention(engine=engine, mention_id=ids[0]).overridden
    neg = search_mentions(engine=engine, filters=Filters(start=ALL.start, end=ALL.end, labels=("negative",)))
    assert ids[0] in neg.rows["id"].tolist() and not neg.rows["overridden"].any()

"""Full-text search with filters, sorting and pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.models import Mention
from scrm.search import search_mentions
from tests.factories import add_activity

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

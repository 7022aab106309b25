"""Mentions export: formula-safe CSV, the CLI's brand/since/until, and the explorer's filters + text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from scrm.exceptions import NotFoundError, ScrmError
from scrm.export import MENTION_COLUMNS, iter_mention_rows, mentions_csv_bytes, neutralise, write_mentions_csv
from scrm.filters import Filters
from scrm.models import Mention, MentionBrand
from scrm.search import search_mentions
from tests.factories import add_activity

D0 = datetime(2026, 11, 2, tzinfo=UTC)
ALL = Filters(start=D0 - timedelta(days=1), end=D0 + timedelta(days=10))
HOSTILE = ('=HYPERLINK("http://x","fee")', "+1 fee", "-2+3 fee", "@SUM(A1) fee", "\tfee tab", "\rfee cr")
N = 23  # more than one chunk and one page in the tests below


@pytest.fixture
def data(engine):
    """N mentions of "Own" (one also of "Rival") and 3 of "Rival"; hostile texts among them."""
    rows = [("Own", D0 + timedelta(hours=i), ("negative", "positive")[i % 2], i, i % 3) for i in range(N)]
    rows += [("Rival", D0 + timedelta(hours=i, minutes=30), "neutral", 5, 0) for i in range(3)]
    ids = add_activity(engine, rows)
    m, mb = Mention.__table__, MentionBrand.__table__
    with engine.begin() as conn:
        for i in range(N):
            text = HOSTILE[i] if i < len(HOSTILE) else f"{'fee' if i % 2 else 'app'} post {i}"
            conn.execute(sa.update(m).where(m.c.external_id == f"a{i}").values(text=text, url=f"=cmd|{i}"))
        first = conn.execute(sa.select(m.c.id).where(m.c.external_id == "a0")).scalar_one()
        conn.execute(
            sa.insert(mb).values(
                mention_id=first,
                brand_id=ids["Rival"],
                ts=int(D0.timestamp()),
                platform="twitter",
                label="negative",
                reach=0,
                engagement=0,
            )
        )
    return ids


def _read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_neutralise() -> None:
    assert [neutralise(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "'\rx",
        "a=1",
        "",
    ]


def test_filters_and_text_export_every_match_not_one_page(engine, data) -> None:
    f = Filters(start=ALL.start, end=ALL.end, brand_ids=(data["Own"],))
    found = search_mentions(engine=engine, filters=f, text="fee", page_size=5)
    assert found.total > found.page_size  # more than one page
    out = _read(mentions_csv_bytes(engine=engine, filters=f, text="fee", chunk=4))
    assert out[0] == list(MENTION_COLUMNS)
    body = out[1:]
    assert len(body) == found.total == len({r[1] for r in body})  # every match, once
    wanted = {
        f"a{i}"
        for i in range(N)
        if "fee" in (HOSTILE[i] if i < len(HOSTILE) else f"{'fee' if i % 2 else 'app'} post {i}")
    }
    assert {r[1] for r in body} == wanted
    assert [int(r[1][1:]) for r in body] == sorted(int(r[1][1:]) for r in body)  # id order
    texts = {r[1]: r[5] for r in body}
    assert texts["a0"] == "'" + HOSTILE[0] and texts["a2"] == "'-2+3 fee" and texts["a3"] == "'@SUM(A1) fee"
    assert texts["a4"] == "'\tfee tab" and texts["a5"] == "'\rfee cr"
    assert all(r[12].startswith("'=cmd|") for r in body)  # urls too
    by_id = {r[1]: r for r in body}
    assert by_id["a0"][2] == "Own;Rival" and by_id["a0"][4] == "2026-11-02T00:00:00Z"


def test_filters_without_text_and_label_filters(engine, data) -> None:
    every = _read(mentions_csv_bytes(engine=engine, filters=ALL, chunk=5))[1:]
    assert len(every) == N + 3 == search_mentions(engine=engine, filters=ALL).total  # a0 once
    neg = Filters(start=ALL.start, end=ALL.end, labels=("negative",))
    rows = _read(mentions_csv_bytes(engine=engine, filters=neg))[1:]
    assert len(rows) == search_mentions(engine=engine, filters=neg).total and {r[6] for r in rows} == {
        "negative"
    }
    window = Filters(start=D0 + timedelta(hours=2), end=D0 + timedelta(hours=4))
    rows = _read(mentions_csv_bytes(engine=engine, filters=window))[1:]
    assert [r[1] for r in rows] == ["a2", "a3", f"a{N + 2}"]


def test_cli_arguments_still_work_and_combine(engine, data) -> None:
    out = io.StringIO()
    assert write_mentions_csv(out, engine=engine) == N + 3  # no filters: every mention
    out = io.StringIO()
    n = write_mentions_csv(out, engine=engine, brand="Rival", since=D0, until=D0 + timedelta(hours=2))
    rows = list(csv.reader(io.StringIO(out.getvalue())))[1:]
    assert n == len(rows) == 3 and {r[1] for r in rows} == {"a0", f"a{N}", f"a{N + 1}"}
    both = list(iter_mention_rows(engine=engine, brand="Rival", filters=ALL, text="fee"))
    assert [r[1] for r in both] == ["a0"]
    with pytest.raises(NotFoundError):
        list(iter_mention_rows(engine=engine, brand="Nope"))


def test_bad_text_and_text_without_filters_are_errors(engine, data) -> None:
    with pytest.raises(ScrmError, match="words"):
        mentions_csv_bytes(engine=engine, filters=ALL, text="!!!")
    with pytest.raises(ScrmError, match="filters"):
        list(iter_mention_rows(engine=engine, text="fee"))
    assert _read(mentions_csv_bytes(engine=engine, filters=ALL, text="zebra")) == [list(MENTION_COLUMNS)]

"""Terms: tokens, bigrams, document frequency, the bounded sample, rising terms, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.models import Mention, MentionBrand
from scrm.terms import (
    RISING_COLUMNS,
    STOP_WORDS,
    TERM_COLUMNS,
    post_terms,
    rising_terms,
    sample_texts,
    term_counts,
    tokenize,
    top_terms,
)
from tests.factories import add_activity

_M = Mention.__table__
D0 = datetime(2026, 11, 2, tzinfo=UTC)
WEEK = timedelta(days=7)
NOW = Filters(start=D0, end=D0 + WEEK)


def _posts(
    engine, rows: list[tuple[str, datetime, str, str]], *, platform: str = "twitter"
) -> dict[str, int]:
    """Mentions (brand, created_at, label, text) linked to their brand; returns brand ids by name."""
    with engine.connect() as conn:
        start = conn.execute(sa.select(sa.func.count()).select_from(_M)).scalar_one()
    ids = add_activity(engine, [(b, at, label, 0, 0) for b, at, label, _ in rows], platform=platform)
    with engine.begin() as conn:
        conn.execute(
            sa.update(_M).where(_M.c.external_id == sa.bindparam("ext")).values(text=sa.bindparam("body")),
            [{"ext": f"a{start + i}", "body": text} for i, (*_, text) in enumerate(rows)],
        )
    return ids


def _at(hours: float) -> datetime:
    return D0 + timedelta(hours=hours)


# -- tokens and bigrams --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("The fees are TOO high", ["fees", "high"]),
        ("RT @northwind: love the app via https://t.co/x1 &amp; www.nw.com/x", ["love", "app"]),
        ("#NorthwindFees are #Disgusting #2024", ["#northwindfees", "#disgusting"]),
        ("Café crème in Zürich, naïve", ["café", "crème", "zürich", "naïve"]),
        ("Cafe\u0301 again", ["café"]),  # decomposed accent: NFC first
        ("I don't know, O'Neill won’t pay", ["oneill", "pay"]),
        ("paid $5 for 24/7 help, x y z covid19", ["paid", "help", "covid"]),
        ("mail me at jo.doe+x@mail.example.com or @jo_doe", ["mail"]),
        ("Москва банк 銀行", ["москва", "банк", "銀行"]),
        ("", []),
    ],
)
def test_tokenize(text, tokens) -> None:
    assert tokenize(text) == tokens


def test_stop_words_are_a_real_list() -> None:
    assert len(STOP_WORDS) > 300
    assert {
        "the",
        "and",
        "rt",
        "amp",
        "via",
        "http",
        "https",
        "www",
        "com",
        "im",
        "dont",
        "lol",
    } <= STOP_WORDS
    assert not {"fees", "outage", "love", "hate", "good", "bad", "app", "help", "new"} & STOP_WORDS
    assert all(w == w.lower() and "'" not in w for w in STOP_WORDS)


def test_post_terms_bigrams() -> None:
    assert post_terms("Student fees, student fees everywhere") == {
        "student",
        "fees",
        "everywhere",
        "student fees",
        "fees everywhere",
    }
    # a stop word, a number, a handle, a hashtag, punctuation or a new line breaks a bigram
    for text in ["fees of app", "fees 5 app", "fees @x app", "fees #x app", "fees. app", "fees\napp"]:
        assert not any(" " in t for t in post_terms(text)), text
    assert "student fee" in post_terms("the student-fee row")
    assert post_terms("ha ha") == {"ha"}  # no 'ha ha'
    assert post_terms("I don't think it is what it was") == set()  # stop words only: nothing
    assert "#northwindfees" in post_terms("so #NorthwindFees now") and all(
        "#" not in t for t in post_terms("great #app support") if " " in t
    )


# -- counting on the database ----------------------------------------------------------------


def test_document_frequency(engine) -> None:
    _posts(
        engine, [("Own", _at(1), "negative", "fees fees FEES!"), ("Own", _at(2), "negative", "fees again")]
    )
    counts = term_counts(engine=engine, filters=NOW)
    assert tuple(counts.columns) == TERM_COLUMNS
    fees = counts.set_index("term").loc["fees"]
    assert fees["posts"] == 2 and fees["share"] == pytest.approx(100.0)
    assert counts["term"].tolist()[:1] == ["fees"]
    assert "fees fees" not in set(counts["term"])  # no bigram of a word with itself


def test_a_post_about_two_brands_counts_once(engine) -> None:
    ids = _posts(engine, [("Own", _at(1), "neutral", "shared outage"), ("Rival", _at(2), "neutral", "other")])
    with engine.begin() as conn:
        first = conn.execute(sa.select(sa.func.min(_M.c.id))).scalar_one()
        conn.execute(
            sa.insert(MentionBrand.__table__).values(
                mention_id=first,
                brand_id=ids["Rival"],
                ts=int(_at(1).timestamp()),
                platform="twitter",
                label="neutral",
                reach=0,
                engagement=0,
            )
        )
    texts, total = sample_texts(engine=engine, filters=NOW)
    assert total == 2 and sorted(texts) == ["other", "shared outage"]
    assert (
        sample_texts(engine=engine, filters=Filters(start=D0, end=D0 + WEEK, brand_ids=(ids["Rival"],)))[1]
        == 2
    )
    assert top_terms(engine=engine, filters=NOW, min_posts=1).set_index("term").loc["outage", "posts"] == 1


def test_filters_are_respected(engine) -> None:
    ids = _posts(
        engine,
        [
            ("Own", _at(1), "negative", "outage again"),
            ("Own", _at(2), "positive", "lovely service"),
            ("Rival", _at(3), "negative", "rival outage"),
            ("Own", _at(-5), "negative", "last week's fees"),  # previous period
        ],
    )
    _posts(engine, [("Own", _at(4), "negative", "reddit outage thread")], platform="reddit")

    def terms(**kw) -> set[str]:
        return set(term_counts(engine=engine, filters=Filters(start=D0, end=D0 + WEEK, **kw))["term"])

    assert {"outage", "service", "rival", "reddit"} <= terms() and "fees" not in terms()
    assert "rival" not in terms(brand_ids=(ids["Own"],)) and "reddit" in terms(brand_ids=(ids["Own"],))
    assert terms(brand_ids=(ids["Rival"],)) == {"rival", "outage", "rival outage"}
    assert "reddit" not in terms(platforms=("twitter",)) and "reddit" in terms(platforms=("reddit",))
    assert terms(labels=("positive",)) == {"lovely", "service", "lovely service"}
    assert "fees" in set(term_counts(engine=engine, filters=NOW.previous())["term"])


def test_empty_results_keep_their_columns(engine) -> None:
    assert sample_texts(engine=engine, filters=NOW) == ([], 0)
    assert tuple(term_counts(engine=engine, filters=NOW).columns) == TERM_COLUMNS
    assert tuple(top_terms(engine=engine, filters=NOW).columns) == TERM_COLUMNS
    rising = rising_terms(engine=engine, filters=NOW)
    assert rising.empty and tuple(rising.columns) == RISING_COLUMNS
    _posts(engine, [("Own", _at(1), "neutral", "the and of")])  # stop words only
    assert term_counts(engine=engine, filters=NOW).empty
    with pytest.raises(ScrmError, match="at least one"):
        sample_texts(engine=engine, filters=NOW, limit=0)


def test_top_terms_limit_and_min_posts(engine) -> None:
    texts = ["fees high"] * 5 + ["fees app"] * 3 + ["outage"]
    _posts(engine, [("Own", _at(i), "negative", t) for i, t in enumerate(texts)])
    top = top_terms(engine=engine, filters=NOW, limit=3)
    assert top["term"].tolist() == ["fees", "fees high", "high"]
    assert top["posts"].tolist() == [8, 5, 5] and top["share"].iloc[0] == pytest.approx(800 / 9)
    assert "outage" not in set(top_terms(engine=engine, filters=NOW, limit=50)["term"])
    assert "outage" in set(top_terms(engine=engine, filters=NOW, limit=50, min_posts=1)["term"])


# -- the bounded sample ----------------------------------------------------------------------------


def test_sample_is_bounded_deterministic_and_close(engine) -> None:
    # 600 posts: "alpha" in 2 of 5, "beta" in 1 of 10, "early"/"late" by half of the period
    rows = [
        (
            "Own",
            _at(i / 4),
            "neutral",
            " ".join(
                w
                for w, keep in [
                    ("alpha", i % 5 < 2),
                    ("beta", i % 10 == 3),
                    ("early" if i < 300 else "late", True),
                ]
                if keep
            ),
        )
        for i in range(600)
    ]
    _posts(engine, rows)
    texts, total = sample_texts(engine=engine, filters=NOW, limit=100)
    assert total == 600 and len(texts) == 100
    assert sample_texts(engine=engine, filters=NOW, limit=100) == (texts, total)  # deterministic
    assert 35 <= sum("early" in t for t in texts) <= 65  # spread over the period
    counts = term_counts(engine=engine, filters=NOW, limit=100).set_index("term")
    assert abs(counts.loc["alpha", "posts"] - 240) <= 60
    assert abs(counts.loc["beta", "posts"] - 60) <= 36
    assert abs(counts.loc["alpha", "share"] - 40) <= 10
    assert len(sample_texts(engine=engine, filters=NOW, limit=7)[0]) == 7
    assert len(sample_texts(engine=engine, filters=NOW, limit=5000)[0]) == 600


def test_sample_does_not_alias_with_periodic_ids(engine) -> None:
    # posts alternate with replies: a stride of 2 over ids would see only one kind
    _posts(engine, [("Own", _at(i / 10), "neutral", "question" if i % 2 else "answer") for i in range(400)])
    counts = term_counts(engine=engine, filters=NOW, limit=200).set_index("term")["posts"]
    assert abs(counts["question"] - 200) <= 40 and abs(counts["answer"] - 200) <= 40


# -- rising terms ---------------------------------------------------------------------------------


def test_rising_terms(engine) -> None:
    before = ["outage again"] * 10 + ["student fees"] * 2 + ["branch hours"] * 4
    now = ["student fees #NorthwindFees"] * 12 + ["outage"] * 2 + ["branch hours"] * 4 + ["new app"] * 2
    _posts(engine, [("Own", _at(-100 + i), "negative", t) for i, t in enumerate(before)])
    _posts(engine, [("Own", _at(1 + i), "negative", t) for i, t in enumerate(now)])
    rising = rising_terms(engine=engine, filters=NOW)
    assert tuple(rising.columns) == RISING_COLUMNS
    assert rising["term"].tolist() == ["#northwindfees", "fees", "student", "student fees"]
    fees = rising.set_index("term").loc["student fees"]
    assert (fees["current"], fees["previous"], fees["change"]) == (12, 2, 10)
    assert fees["lift"] == pytest.approx(13 / 3) and not fees["is_hashtag"]
    assert bool(rising.set_index("term").loc["#northwindfees", "is_hashtag"])
    assert "outage" not in set(rising["term"]) and "branch" not in set(rising["term"])  # fell / flat
    assert "app" in set(rising_terms(engine=engine, filters=NOW, min_posts=2)["term"])
    assert len(rising_terms(engine=engine, filters=NOW, limit=2)) == 2
    nothing = rising_terms(engine=engine, filters=NOW.previous().previous())
    assert nothing.empty and tuple(nothing.columns) == RISING_COLUMNS


def test_rising_terms_by_brand_and_label(engine) -> None:
    ids = _posts(
        engine,
        [("Own", _at(i), "negative", "card declined") for i in range(5)]
        + [("Own", _at(i), "positive", "card rewards") for i in range(5)]
        + [("Rival", _at(i), "negative", "rival declined") for i in range(5)],
    )
    own_negative = Filters(start=D0, end=D0 + WEEK, brand_ids=(ids["Own"],), labels=("negative",))
    assert set(rising_terms(engine=engine, filters=own_negative)["term"]) == {
        "card",
        "declined",
        "card declined",
    }

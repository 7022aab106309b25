"""Brand boolean queries: matching, syntax errors with positions, limits and fuzzing."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrm.exceptions import QuerySyntaxError
from scrm.query import BrandMatcher, parse_query, prepare, validate_query

CASES = [
    ("ford", "I drive a Ford", True),
    ("ford", "so affordable", False),
    ("ford", "Ford's new car", True),
    ('"northwind bank"', "I love Northwind  Bank!", True),
    ('"northwind bank"', "northwind the bank", False),
    ("northwind AND fees", "Northwind raised its fees", True),
    ("northwind fees", "Northwind raised its fees", True),
    ("northwind fees", "Northwind is fine", False),
    ("northwind OR harbor", "harbor only", True),
    ("northwind NOT fees", "northwind fees again", False),
    ("northwind -fees", "northwind is great", True),
    ("a OR b AND c", "a", True),  # AND binds tighter
    ("(a OR b) AND c", "a", False),
    ("NOT a AND b", "b", True),
    ("#united", "#United rocks", True),
    ("#united", "United rocks", False),
    ("@united", "@United help", True),
    ("@united", "#united help", False),
    ("united", "@united help", True),
    ("united", "#united", True),
    ("united", "#unitedairlines", False),
    ("refund*", "Refunds please", True),
    ("refund*", "no money back", False),
    ("at&t", "AT&T is down", True),
    ("at&t", "at the station", False),
    ("café", "Great CAFÉ here", True),
    ("müller", "Thomas Müller scored", True),
    ("o2", "o2 network outage", True),
    ("author:bob", "anything", True),
    ("author:@Bob", "anything", True),
    ("author:alice", "anything", False),
    ("and", "salt and pepper", True),  # lower case is a word
    ("", "anything", False),
]


@pytest.mark.parametrize(("query", "text", "expected"), CASES)
def test_matching(query: str, text: str, expected: bool) -> None:
    assert parse_query(query).matches(prepare(text, author="bob")) is expected


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("(a", 0, "Unclosed parenthesis"),
        ("a)", 1, "no parenthesis is open"),
        ("AND a", 0, "AND needs a term before it"),
        ("a OR", 4, "OR needs a term after it"),
        ("NOT", 3, "NOT needs a term after it"),
        ('""', 0, "Empty phrase"),
        ('a "abc', 2, "Unterminated quote"),
        ("()", 1, "Empty parentheses"),
        ("#", 0, "needs a hashtag"),
        ("a @", 2, "needs a handle"),
        ("foo:bar", 0, "Unknown field"),
        ("author:", 0, "author: needs a name"),
        ("a AND AND b", 6, "AND needs a term after it"),
        ("a (b OR) c", 7, "OR needs a term after it"),
    ],
)
def test_syntax_errors_say_where(query: str, position: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message) as info:
        parse_query(query)
    assert info.value.position == position
    assert validate_query(query) is not None


def test_limits_are_syntax_errors_not_crashes() -> None:
    with pytest.raises(QuerySyntaxError, match="Nested deeper"):
        parse_query("(" * 200 + "a" + ")" * 200)
    with pytest.raises(QuerySyntaxError, match="Nested deeper"):
        parse_query("NOT " * 900 + "a")
    with pytest.raises(QuerySyntaxError, match="longer than"):
        parse_query("a " * 3000)
    long_or = " OR ".join(f"w{i}" for i in range(500))
    assert parse_query(long_or).matches(prepare("w499"))


def test_terms_are_the_positive_ones() -> None:
    q = parse_query('"northwind bank" OR (northwind NOT fees) refund* #nw')
    assert q.terms() == ["northwind bank", "northwind", "refund*"]


def test_brand_matcher_links_a_post_to_two_brands() -> None:
    m = BrandMatcher({"Northwind": "northwind OR @northwind", "Harbor": '"harbor bank"', "Empty": ""})
    assert m.match("Moving from @Northwind to Harbor Bank") == ["Northwind", "Harbor"]
    assert m.match_many(["harbor bank", "nothing"], ["", ""]) == [["Harbor"], []]
    with pytest.raises(QuerySyntaxError, match="brand 'Bad'"):
        BrandMatcher({"Bad": "(x"})


ALPHABET = st.sampled_from(
    ["a", "b", " ", "(", ")", '"', "#", "@", "-", "*", "AND", "OR", "NOT", "author:", "x:", "é"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join), st.text(max_size=200))
def test_fuzz_parse_only_raises_syntax_errors(query: str, text: str) -> None:
    started = time.perf_counter()
    try:
        q = parse_query(query)
    except QuerySyntaxError:
        return
    q.matches(prepare(text, author=text[:10]))
    assert time.perf_counter() - started < 0.5

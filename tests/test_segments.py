"""Segments on hand-built data (SQLite and PostgreSQL): every figure checked by hand.

:func:`build_world` is shared with tests/test_customer360.py and tests/test_leads.py.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm import segments
from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.models import Author, Brand, Customer, Mention, MentionBrand, SocialIdentity
from scrm.segments import RiskSettings
from tests.factories import T0

END = T0 + timedelta(days=30)
MONTH = Filters(start=END - timedelta(days=30), end=END)

CUSTOMERS = [
    # crm_ref, name, email, country, region, city, age, income, household, segment, ltv
    ("C-001", "Alice Smith", "alice@example.com", "United Kingdom", "London", "London", 22, 15_000, 1, "Student", 300),
    ("C-002", "Bob Jones", "Bob.Jones@Example.com", "Ireland", "Leinster", "Dublin", 40, 80_000, 4, "Family", 20_000),
    ("C-003", "Carol Smith-Brown", "carol@example.org", "United Kingdom", "Scotland", "Glasgow", 70, None, None, "Retired", 8_000),
    ("C-004", "Dan Unlinked", "dan@example.com", "Spain", "Madrid", "Madrid", 35, 50_000, 2, "Affluent", 50_000),
    ("C-005", "Eve Rich", "eve@example.de", "Germany", "Berlin", "Berlin", 50, 200_000, 2, "Affluent", 60_000),
    ("=C-006", "=HYPERLINK(\"http://x\")", "", "Atlantis", "", "", None, None, None, "", None),
]  # fmt: skip
IDENTITIES = [  # crm_ref, platform, handle
    ("C-001", "twitter", "alice_s"),
    ("C-002", "twitter", "bobj"),
    ("C-002", "reddit", "bob_reddit"),
    ("C-003", "twitter", "carol"),
    ("C-005", "twitter", "eve"),
    ("=C-006", "twitter", "atlantean"),
]
AUTHORS = [  # platform, handle
    ("twitter", "alice_s"),
    ("twitter", "bobj"),
    ("reddit", "bob_reddit"),
    ("twitter", "carol"),
    ("twitter", "eve"),
    ("twitter", "stranger"),
    ("twitter", "atlantean"),
]
# handle, days before END, brands ("own", "rival"), label, override, text
POSTS = [
    ("alice_s", 2, ("own",), "negative", None, "Acme Bank charged me again, thinking of switching to Rival"),
    ("alice_s", 3, ("own", "rival"), "negative", None, "Acme and Rival both awful"),
    ("alice_s", 4, ("own",), "positive", None, "looking for a new credit card, any recommendations?"),
    ("alice_s", 5, (), "negative", None, "rainy day, no brand here"),
    ("bobj", 6, ("own",), "positive", None, "love the Acme app"),
    ("bobj", 7, ("own",), "positive", None, "Acme sorted my mortgage"),
    ("bob_reddit", 8, ("rival",), "negative", None, "Done with Rival. Leaving Rival for Acme next week"),
    ("carol", 9, ("own",), "neutral", None, "what time does Acme open"),
    ("carol", 10, ("own",), "negative", "positive", "Acme is fine actually"),
    ("carol", 40, ("own",), "negative", None, "older than the period"),
    ("eve", 20, ("own",), "positive", None, "Acme private banking is great"),
    ("eve", 25, ("own",), "positive", None, "happy with Acme"),
    ("eve", 3, ("own",), "negative", None, "Acme lost my transfer"),
    ("eve", 1, ("rival",), "negative", None, "fed up with Rival, never again"),
    ("stranger", 1, ("own",), "negative", None, "Acme is the worst"),
    ("stranger", 2, ("own",), "negative", None, "Acme again"),
    ("atlantean", 2, ("own",), "negative", None, "=cmd| Acme"),
]


@dataclass(frozen=True)
class World:
    """Ids of the hand-built data."""

    own: int
    rival: int
    customers: dict[str, int]
    authors: dict[str, int]
    mentions: list[int]


def build_world(engine: Engine, *, end: datetime = END) -> World:
    """Brands Acme Bank (own) and Rival, six customers, identities, authors and the posts above."""
    with engine.begin() as conn:
        own = conn.execute(
            sa.insert(Brand.__table__).values(
                name="Acme Bank", query="acme", is_own=True, colour="", created_at=T0
            )
        ).inserted_primary_key[0]
        rival = conn.execute(
            sa.insert(Brand.__table__).values(
                name="Rival", query="rival", is_own=False, colour="", created_at=T0
            )
        ).inserted_primary_key[0]
        customers = {}
        for ref, name, email, country, region, city, age, income, household, segment, ltv in CUSTOMERS:
            customers[ref] = conn.execute(
                sa.insert(Customer.__table__).values(
                    crm_ref=ref,
                    name=name,
                    email=email,
                    country=country,
                    region=region,
                    city=city,
                    age=age,
                    income=income,
                    household_size=household,
                    segment=segment,
                    lifetime_value=ltv,
                    attributes={"tier": "gold"} if ref == "C-002" else {},
                    created_at=T0,
                )
            ).inserted_primary_key[0]
        for ref, platform, handle in IDENTITIES:
            conn.execute(
                sa.insert(SocialIdentity.__table__).values(
                    platform=platform,
                    handle=handle,
                    customer_id=customers[ref],
                    method="fuzzy" if handle == "carol" else "exact",
                    confidence=0.9 if handle == "carol" else 1.0,
                    linked_by="test",
                    linked_at=T0,
                )
            )
        authors = {}
        for platform, handle in AUTHORS:
            authors[handle] = conn.execute(
                sa.insert(Author.__table__).values(
                    platform=platform, handle=handle, display_name=handle.title(), followers=100
                )
            ).inserted_primary_key[0]
        platform_of = dict((h, p) for p, h in AUTHORS)
        ids = []
        for i, (handle, days, brands, label, override, text) in enumerate(POSTS):
            created = end - timedelta(days=days, hours=1)
            platform = platform_of[handle]
            effective = override or label
            mid = conn.execute(
                sa.insert(Mention.__table__).values(
                    platform=platform,
                    external_id=f"w{i}",
                    author_id=authors[handle],
                    created_at=created,
                    text=text,
                    url=f"https://example.com/{i}",
                    label=label,
                    label_override=override,
                    compound={"positive": 0.6, "negative": -0.6}.get(label, 0.0),
                    likes=i,
                    reach=100,
                )
            ).inserted_primary_key[0]
            ids.append(mid)
            for brand in brands:
                conn.execute(
                    sa.insert(MentionBrand.__table__).values(
                        mention_id=mid,
                        brand_id=own if brand == "own" else rival,
                        ts=int(created.timestamp()),
                        platform=platform,
                        label=effective,
                        reach=100,
                        engagement=i,
                    )
                )
    return World(own=own, rival=rival, customers=customers, authors=authors, mentions=ids)


def row(frame: pd.DataFrame, **where: object) -> dict:
    """The one row of ``frame`` matching ``where``."""
    mask = pd.Series(True, index=frame.index)
    for col, value in where.items():
        mask &= frame[col] == value
    assert mask.sum() == 1, (where, frame)
    return frame[mask].iloc[0].to_dict()


def test_bands_and_net_sentiment() -> None:
    assert segments.band(None, segments.AGE_BANDS) == "unknown"
    assert segments.band(17, segments.AGE_BANDS) == "under 18"
    assert segments.band(18, segments.AGE_BANDS) == "18–24"
    assert segments.band(65, segments.AGE_BANDS) == "65+"
    assert segments.band(999.99, segments.VALUE_BANDS) == "under 1k"
    assert segments.band(1000, segments.VALUE_BANDS) == "1k–5k"
    assert segments.band(float("nan"), segments.VALUE_BANDS) == "unknown"
    assert segments.net_sentiment(3, 1) == 50
    assert math.isnan(segments.net_sentiment(0, 0))


def test_by_segment_counts_linked_customers_posts_once(engine) -> None:
    build_world(engine)
    frame = segments.by_dimension(engine=engine, filters=MONTH, dimension="segment")
    student = row(frame, segment="Student")
    # Alice: 3 brand posts in the period (the one naming both brands counts once; the one
    # without a brand does not count): 2 negative, 1 positive.
    assert (student["customers"], student["mentions"], student["negative"], student["positive"]) == (
        1,
        3,
        2,
        1,
    )
    assert student["net_sentiment"] == pytest.approx(-100 / 3)
    family = row(frame, segment="Family")  # Bob, two identities: 2 positive + 1 negative
    assert (family["customers"], family["mentions"], family["positive"], family["negative"]) == (1, 3, 2, 1)
    retired = row(frame, segment="Retired")  # Carol: the override wins; the 40-day-old post is out
    assert (retired["mentions"], retired["neutral"], retired["positive"], retired["negative"]) == (2, 1, 1, 0)
    assert retired["net_sentiment"] == 100
    affluent = row(frame, segment="Affluent")  # Eve only: Dan has no identity
    assert (affluent["customers"], affluent["mentions"], affluent["avg_lifetime_value"]) == (1, 4, 60_000)
    unknown = row(frame, segment="unknown")  # the customer without a segment
    assert unknown["mentions"] == 1
    assert frame["mentions"].sum() == 3 + 3 + 2 + 4 + 1  # the stranger is no customer
    overall = segments.overall(engine=engine, filters=MONTH)
    assert overall["mentions"] == 13 and overall["customers"] == 5


def test_bands_in_order_with_unknown_last(engine) -> None:
    build_world(engine)
    ages = segments.by_dimension(engine=engine, filters=MONTH, dimension="age_band")
    assert list(ages["age_band"]) == ["18–24", "35–44", "45–54", "65+", "unknown"]
    assert row(ages, age_band="65+")["mentions"] == 2
    income = segments.by_dimension(engine=engine, filters=MONTH, dimension="income_band")
    assert list(income["income_band"]) == ["under 20k", "60k–100k", "100k+", "unknown"]
    assert row(income, income_band="unknown")["customers"] == 2  # Carol and the blank record
    values = segments.by_dimension(engine=engine, filters=MONTH, dimension="value_band")
    assert list(values["value_band"]) == ["under 1k", "5k–10k", "10k–25k", "25k+", "unknown"]
    household = segments.by_dimension(engine=engine, filters=MONTH, dimension="household_size")
    assert row(household, household_size="4")["mentions"] == 3


def test_geography_keeps_the_country_beside_region_and_city(engine) -> None:
    build_world(engine)
    countries = segments.by_dimension(engine=engine, filters=MONTH, dimension="country")
    uk = row(countries, country="United Kingdom")
    assert (uk["customers"], uk["mentions"]) == (2, 5)
    assert countries["country"].iloc[0] == "United Kingdom"  # most mentions first
    cities = segments.by_dimension(engine=engine, filters=MONTH, dimension="city")
    assert row(cities, country="United Kingdom", city="Glasgow")["mentions"] == 2
    regions = segments.by_dimension(engine=engine, filters=MONTH, dimension="region")
    assert set(regions.columns[:2]) == {"country", "region"}
    assert row(regions, country="Atlantis", region="unknown")["mentions"] == 1


def test_shared_filters_apply(engine) -> None:
    world = build_world(engine)
    rival_only = Filters(start=MONTH.start, end=MONTH.end, brand_ids=(world.rival,))
    frame = segments.by_dimension(engine=engine, filters=rival_only, dimension="segment")
    assert dict(zip(frame["segment"], frame["mentions"], strict=True)) == {
        "Student": 1,
        "Family": 1,
        "Affluent": 1,
    }
    reddit = Filters(start=MONTH.start, end=MONTH.end, platforms=("reddit",))
    assert segments.overall(engine=engine, filters=reddit)["mentions"] == 1
    negative = Filters(start=MONTH.start, end=MONTH.end, labels=("negative",))
    frame = segments.by_dimension(engine=engine, filters=negative, dimension="segment")
    assert "Retired" not in set(frame["segment"])  # Carol's negative post was relabelled positive
    assert (
        frame["positive"].sum() == 0
        and frame["negative"].sum() == segments.overall(engine=engine, filters=negative)["mentions"]
    )
    week = Filters(start=END - timedelta(days=7), end=END)
    assert segments.overall(engine=engine, filters=week)["mentions"] == 3 + 1 + 2 + 1


def test_compare_two_segments(engine) -> None:
    build_world(engine)
    table = segments.compare(engine=engine, filters=MONTH, dimension="segment", a="Student", b="Family")
    got = dict(zip(table["metric"], zip(table["a"], table["b"], strict=True), strict=True))
    assert got["customers"] == (1, 1)
    assert got["mentions"] == (3, 3)
    assert got["negative_share"] == pytest.approx((200 / 3, 100 / 3))
    assert got["net_sentiment"] == pytest.approx((-100 / 3, 100 / 3))
    assert got["avg_lifetime_value"] == (300, 20_000)
    assert table.set_index("metric").loc["net_sentiment", "difference"] == pytest.approx(200 / 3)
    empty = segments.compare(engine=engine, filters=MONTH, dimension="segment", a="Student", b="Nobody")
    assert math.isnan(empty.set_index("metric").loc["net_sentiment", "b"])
    with pytest.raises(ScrmError, match="Unknown dimension"):
        segments.compare(engine=engine, filters=MONTH, dimension="shoe size", a="1", b="2")
    assert segments.groups(engine=engine, dimension="value_band") == [
        "under 1k",
        "5k–10k",
        "10k–25k",
        "25k+",
        "unknown",
    ]


def test_at_risk_finds_valuable_customers_turning_negative(engine) -> None:
    world = build_world(engine)
    # Values 300, 8000, 20000, 50000, 60000: the 0.6 quantile is 20000 (Bob, Dan, Eve).
    assert segments.value_threshold(engine=engine, quantile=0.6) == 20_000
    risky = segments.at_risk(engine=engine, filters=MONTH, settings=RiskSettings(quantile=0.6, days=14))
    # Eve: 2 positive 20-25 days ago, 2 negative in the last 3 days. Bob: positive recently.
    assert list(risky["crm_ref"]) == ["C-005"]
    eve = risky.iloc[0]
    assert (eve["recent_negative"], eve["recent_net"], eve["before_net"], eve["change"]) == (
        2,
        -100,
        100,
        -200,
    )
    assert eve["customer_id"] == world.customers["C-005"]
    # Over everyone, Alice (low value) turned negative too; the blank record has no value.
    everyone = segments.at_risk(engine=engine, filters=MONTH, settings=RiskSettings(quantile=0.0, days=14))
    assert list(everyone["crm_ref"]) == ["C-005", "C-001"]
    # A brand filter applies: about Rival alone, Eve and Bob each have a negative post and
    # nothing before.
    rival = Filters(start=MONTH.start, end=MONTH.end, brand_ids=(world.rival,))
    only_rival = segments.at_risk(engine=engine, filters=rival, settings=RiskSettings(quantile=0.6, days=14))
    assert list(only_rival["crm_ref"]) == ["C-005", "C-002"]
    assert list(only_rival["before_posts"]) == [0, 0]
    with pytest.raises(ScrmError):
        RiskSettings(quantile=1.0)


def test_at_risk_csv_is_formula_safe(engine) -> None:
    build_world(engine)
    risky = segments.at_risk(engine=engine, filters=MONTH, settings=RiskSettings(quantile=0.0, days=14))
    hostile = pd.concat(
        [
            risky,
            risky.head(1).assign(
                crm_ref="=C-006", name='=HYPERLINK("http://x")', email="@evil", segment="+1"
            ),
        ],
        ignore_index=True,
    )
    rows = list(csv.reader(io.StringIO(segments.at_risk_csv(hostile).decode("utf-8"))))
    assert rows[0] == list(segments.EXPORT_COLUMNS)
    assert rows[1][0] == "C-005" and rows[1][4] == "60000.00"
    assert rows[-1][:4] == ["'=C-006", '\'=HYPERLINK("http://x")', "'@evil", "'+1"]
    assert rows[1][-1].endswith("Z")


def test_country_codes_and_map(engine) -> None:
    assert segments.iso3("United Kingdom") == "GBR"
    assert segments.iso3("  the  Netherlands ") == "NLD"
    assert segments.iso3("U.S.") == "USA"
    assert segments.iso3("deu") == "DEU"
    assert segments.iso3("Atlantis") is None
    build_world(engine)
    frame = segments.by_dimension(engine=engine, filters=MONTH, dimension="country")
    frame.loc[len(frame)] = frame.iloc[0].to_dict() | {"country": "<b>x</b>"}
    fig = segments.country_map(frame)
    trace = fig.data[0]
    assert trace.locationmode == "ISO-3"
    assert set(trace.locations) == {"GBR", "IRL", "DEU"}  # Atlantis and the markup are not on the map
    uk = list(trace.locations).index("GBR")
    assert trace.z[uk] == pytest.approx(row(frame.head(4), country="United Kingdom")["net_sentiment"])
    assert all("<b>" not in text for text in trace.text)
    bars = segments.bars(frame, dimension="country", title="<i>t</i>")
    assert "&lt;b&gt;x&lt;/b&gt;" in list(bars.data[0].x)
    assert "<i>" not in bars.layout.title.text


def test_unknown_dimension(engine) -> None:
    with pytest.raises(ScrmError, match="Unknown dimension"):
        segments.by_dimension(engine=engine, filters=MONTH, dimension="star sign")

"""Influencers on hand-built data (SQLite and PostgreSQL) and on the demo's crisis."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from scrm import influencers as inf
from scrm.db import init_db, make_engine
from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.models import Author, Brand, Mention, MentionBrand

D0 = datetime(2026, 11, 2, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass
class Post:
    """A post to store: who, when, what, about which brands."""

    ext: str
    author: str
    label: str = "neutral"
    hours: float = 1.0
    followers: int = 100
    engagement: int = 0
    brands: tuple[str, ...] = ("Own",)
    parent: str | None = None
    text: str = ""
    platform: str = "twitter"
    extra: dict = field(default_factory=dict)


def store(engine, posts: list[Post]) -> dict[str, int]:
    """Insert authors, mentions and brand links directly; returns author ids by handle (and brand ids)."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for p in posts:
            for name in p.brands:
                if f"brand:{name}" not in ids:
                    ids[f"brand:{name}"] = conn.execute(
                        sa.insert(Brand.__table__).values(
                            name=name, query="", is_own=name == "Own", colour="", created_at=D0
                        )
                    ).inserted_primary_key[0]
            key = f"{p.platform}:{p.author}"
            if key not in ids:
                ids[key] = conn.execute(
                    sa.insert(Author.__table__).values(
                        platform=p.platform,
                        handle=p.author,
                        display_name=p.author.title(),
                        followers=p.followers,
                    )
                ).inserted_primary_key[0]
                ids.setdefault(p.author, ids[key])
            created = D0 + timedelta(hours=p.hours)
            mid = conn.execute(
                sa.insert(Mention.__table__).values(
                    platform=p.platform,
                    external_id=p.ext,
                    author_id=ids[key],
                    created_at=created,
                    text=p.text or f"post {p.ext} by {p.author}",
                    parent_external_id=p.parent,
                    likes=p.engagement,
                    reach=p.followers,
                    label=p.label,
                    **p.extra,
                )
            ).inserted_primary_key[0]
            for name in p.brands:
                conn.execute(
                    sa.insert(MentionBrand.__table__).values(
                        mention_id=mid,
                        brand_id=ids[f"brand:{name}"],
                        ts=int(created.timestamp()),
                        platform=p.platform,
                        label=p.extra.get("label_override") or p.label,
                        reach=p.followers,
                        engagement=p.engagement,
                    )
                )
    return ids


def period(days: float = 2, **kw: object) -> Filters:
    return Filters(start=D0, end=D0 + timedelta(days=days), **kw)  # type: ignore[arg-type]


def by_handle(frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {row.handle: row for row in frame.itertuples(index=False)}


# -- pure functions ---------------------------------------------------------------------------


def test_log_part_scale() -> None:
    values = pd.Series([0, 9, 99, 9999])
    part = inf.log_part(values)
    assert list(part.round(6)) == [0.0, 25.0, 50.0, 100.0]  # log10(1+x) / log10(10000)
    assert list(inf.log_part(pd.Series([0, 0]))) == [0.0, 0.0]
    assert list(inf.log_part(pd.Series([-5.0, np.nan, 3.0])).round(6)) == [0.0, 0.0, 100.0]
    assert inf.log_part(pd.Series([], dtype=float)).empty


def test_net_sentiment_and_score_parts() -> None:
    stats = pd.DataFrame(
        {
            "author_id": [1, 2, 3],
            "posts": [4, 1, 2],
            "active_days": [2, 1, 1],
            "followers": [9999, 99, 0],
            "engagement": [400, 9, 0],
            "positive": [3, 0, 0],
            "neutral": [0, 1, 2],
            "negative": [1, 0, 0],
        }
    )
    out = inf.score_parts(stats, {1: 0.0, 3: 3.0}).set_index("author_id")
    assert out.loc[1, "net_sentiment"] == 50.0
    assert math.isnan(out.loc[2, "net_sentiment"])  # neither positive nor negative
    assert out.loc[1, "engagement_per_post"] == 100.0
    assert (out.loc[1, "reach_part"], out.loc[2, "reach_part"], out.loc[3, "reach_part"]) == (
        100.0,
        50.0,
        0.0,
    )
    assert out.loc[3, "centrality_part"] == 100.0 and out.loc[1, "centrality_part"] == 0.0
    assert out.loc[2, "centrality_part"] == 0.0  # not in the graph
    assert out.loc[1, "activity_part"] == 100.0
    assert out.loc[1, "opinion_part"] == 100.0 and out.loc[2, "opinion_part"] == 0.0
    for author in (1, 2, 3):
        row = out.loc[author]
        expected = sum(row[f"{p}_part"] * w for p, w in inf.WEIGHTS.items()) / 100
        assert row["score"] == pytest.approx(expected, abs=0.1)
        assert 0 <= row["score"] <= 100
    assert out["score"].is_monotonic_decreasing and out.index[0] == 1
    assert sum(inf.WEIGHTS.values()) == 100


def test_advocates_and_detractors_split_by_net_sentiment() -> None:
    frame = pd.DataFrame(
        {
            "author_id": [1, 2, 3, 4, 5],
            "handle": list("abcde"),
            "score": [90.0, 80.0, 70.0, 60.0, 50.0],
            "followers": [1, 2, 3, 4, 5],
            "net_sentiment": [-100.0, 50.0, float("nan"), -20.0, 0.0],
        }
    )
    advocates, detractors = inf.advocates_and_detractors(frame)
    assert list(advocates["handle"]) == ["b"]
    assert list(detractors["handle"]) == ["a", "d"]
    _, top1 = inf.advocates_and_detractors(frame, top=1)
    assert list(top1["handle"]) == ["a"]


def test_timeline_series_buckets_in_local_time() -> None:
    posts = pd.DataFrame(
        {
            "created_at": pd.to_datetime(
                ["2026-11-02T23:30:00Z", "2026-11-03T00:30:00Z", "2026-11-03T08:00:00Z"], utc=True
            ),
            "sentiment": ["negative", "positive", "negative"],
        }
    )
    utc = inf.timeline_series(posts, freq="D")
    assert list(utc["posts"]) == [1, 2]
    assert list(utc["net_sentiment"]) == [-100.0, 0.0]
    tokyo = inf.timeline_series(posts, freq="D", tz="Asia/Tokyo")  # all three on 3 Nov local
    assert list(tokyo["posts"]) == [3]
    assert str(tokyo["ts"].iloc[0].tz) == "Asia/Tokyo"
    weekly = inf.timeline_series(posts, freq="W")
    assert list(weekly["posts"]) == [3] and weekly["ts"].iloc[0].weekday() == 0
    assert inf.timeline_series(posts.iloc[:0], freq="h").empty
    with pytest.raises(ScrmError):
        inf.timeline_series(posts, freq="M")


def test_pagerank_of_a_small_graph() -> None:
    graph = nx.DiGraph()
    graph.add_weighted_edges_from([(1, 9, 1), (2, 9, 1), (3, 9, 2), (9, 1, 1)])
    ranks = inf.pagerank(graph)
    assert max(ranks, key=ranks.get) == 9 and sum(ranks.values()) == pytest.approx(1.0)
    assert ranks[1] > ranks[2] == pytest.approx(ranks[3])  # 1 is linked to by the hub
    assert inf.pagerank(nx.DiGraph()) == {}


def test_centrality_is_zero_without_incoming_links() -> None:
    graph = nx.DiGraph()
    graph.add_weighted_edges_from([(1, 9, 1), (2, 9, 1), (3, 9, 1), (4, 5, 1)])
    c = inf.centrality(graph)
    assert c[1] == c[2] == c[3] == c[4] == 0.0
    assert c[9] > c[5] > 0
    assert inf.centrality(nx.DiGraph()) == {}


# -- on the database --------------------------------------------------------------------------


def test_rank_authors_parts_and_hub(engine) -> None:
    posts = [
        Post("h1", "hub", "negative", hours=1, followers=10_000, engagement=500),
        Post("h2", "hub", "negative", hours=30, followers=10_000, engagement=300),
        Post("r1", "ann", "negative", hours=2, parent="h1"),
        Post("r2", "bob", "neutral", hours=3, parent="h1", text="@hub agreed"),  # reply + mention: 1 edge
        Post("r3", "cat", "positive", hours=4, parent="h2", followers=50),
        Post("m1", "dan", "positive", hours=5, text="talking to @HUB and @nobody about it"),
        Post("s1", "eve", "positive", hours=6, followers=5_000, engagement=40),
        Post("s2", "eve", "positive", hours=7, followers=5_000, engagement=20),
        Post("x1", "eve", "negative", hours=8, followers=5_000, engagement=0),
    ]
    store(engine, posts)
    frame = inf.rank_authors(engine=engine, filters=period(), top=10)
    assert list(frame.columns) == list(inf.RANK_COLUMNS)
    assert list(frame["rank"]) == list(range(1, 7))
    rows = by_handle(frame)
    hub = rows["hub"]
    assert frame.iloc[0]["handle"] == "hub"
    assert (hub.posts, hub.active_days, hub.followers, hub.engagement) == (2, 2, 10_000, 800)
    assert hub.engagement_per_post == 400.0
    assert (hub.positive, hub.neutral, hub.negative, hub.net_sentiment) == (0, 0, 2, -100.0)
    assert hub.centrality_part == 100.0 and hub.reach_part == 100.0 and hub.engagement_part == 100.0
    assert hub.centrality > 0
    for other in ("ann", "bob", "cat", "dan", "eve"):
        assert rows[other].centrality == 0.0 and rows[other].centrality_part == 0.0
    eve = rows["eve"]
    assert (eve.positive, eve.negative) == (2, 1)
    assert eve.net_sentiment == pytest.approx(100 / 3)
    assert eve.activity_part == 100.0  # three posts, the most
    assert rows["bob"].opinion_part == 0.0 and rows["bob"].net_sentiment != rows["bob"].net_sentiment
    assert rows["hub"].display_name == "Hub" and rows["hub"].platform == "twitter"
    # the score is the documented composite of the parts shown
    for row in frame.itertuples(index=False):
        parts = sum(getattr(row, f"{p}_part") * w for p, w in inf.WEIGHTS.items()) / 100
        assert row.score == pytest.approx(parts, abs=0.1)
    top2 = inf.rank_authors(engine=engine, filters=period(), top=2)
    assert list(top2["handle"]) == list(frame["handle"][:2])


def test_graph_edges_replies_and_mentions(engine) -> None:
    posts = [
        Post("h1", "hub", hours=1),
        Post(
            "r1", "ann", hours=2, parent="h1", text="@hub @hub yes"
        ),  # reply and mention: one post, one edge
        Post("r2", "ann", hours=3, parent="h1"),
        Post("m1", "bob", hours=4, text="cc @Hub, email me at bob@example.com or @ghost"),
        Post("m2", "bob", hours=5, text="@bob talking to myself"),  # no self-loop
        Post("o1", "hub", hours=6, platform="reddit"),
        Post("m3", "cat", hours=7, platform="reddit", text="@ann is on twitter, not here"),  # no reddit ann
        Post("x1", "dan", hours=8, parent="missing"),  # parent not stored: no edge
    ]
    ids = store(engine, posts)
    with engine.connect() as conn:
        graph = inf._graph(conn, period())
    edges = {(s, t): d["weight"] for s, t, d in graph.edges(data=True)}
    assert edges == {(ids["twitter:ann"], ids["twitter:hub"]): 2, (ids["twitter:bob"], ids["twitter:hub"]): 1}
    with engine.connect() as conn:  # the bound keeps the newest posts that reply or hold an @
        newest = inf._graph(conn, period(), limit=4)  # x1, m3, m2, m1
    assert {(s, t) for s, t in newest.edges} == {(ids["twitter:bob"], ids["twitter:hub"])}


def test_filters_are_respected(engine) -> None:
    posts = [
        Post("a1", "ann", "negative", hours=1, brands=("Own",), followers=1000),
        Post("a2", "ann", "positive", hours=2, brands=("Rival",), followers=1000),
        Post("b1", "bob", "positive", hours=3, brands=("Own", "Rival"), platform="reddit"),
        Post("c1", "cat", "negative", hours=-1),  # before the period
        Post("c2", "cat", "negative", hours=48),  # the end is exclusive
    ]
    ids = store(engine, posts)
    own, rival = ids["brand:Own"], ids["brand:Rival"]
    everyone = inf.rank_authors(engine=engine, filters=period())
    assert set(everyone["handle"]) == {"ann", "bob"}
    assert by_handle(everyone)["ann"].posts == 2 and by_handle(everyone)["bob"].posts == 2  # brand mentions
    own_only = by_handle(inf.rank_authors(engine=engine, filters=period(brand_ids=(own,))))
    assert own_only["ann"].net_sentiment == -100.0 and own_only["bob"].posts == 1
    rival_only = by_handle(inf.rank_authors(engine=engine, filters=period(brand_ids=(rival,))))
    assert rival_only["ann"].net_sentiment == 100.0
    reddit = inf.rank_authors(engine=engine, filters=period(platforms=("reddit",)))
    assert list(reddit["handle"]) == ["bob"]
    negative = inf.rank_authors(engine=engine, filters=period(labels=("negative",)))
    assert list(negative["handle"]) == ["ann"]
    empty = inf.rank_authors(engine=engine, filters=period(days=1, platforms=("forum",)))
    assert empty.empty and list(empty.columns) == list(inf.RANK_COLUMNS)
    for bad in (0, -1, 5000, True):
        with pytest.raises(ScrmError, match="between 1 and"):
            inf.rank_authors(engine=engine, filters=period(), top=bad)


def test_label_override_counts(engine) -> None:
    store(engine, [Post("a1", "ann", "positive", extra={"label_override": "negative"})])
    row = inf.rank_authors(engine=engine, filters=period()).iloc[0]
    assert (row.positive, row.negative) == (0, 1)
    timeline = inf.author_timeline(engine=engine, filters=period(), author_id=int(row.author_id))
    assert list(timeline["sentiment"]) == ["negative"]


def test_emerging_voices_against_previous_period(engine) -> None:
    posts = [
        Post("n1", "newbie", "negative", hours=5, followers=5000, engagement=10),
        Post("g0", "grower", hours=-20, followers=100, engagement=50),  # previous period
        Post("g1", "grower", hours=5, followers=3000, engagement=1),
        Post("g2", "grower", hours=6, followers=3000, engagement=1),
        Post("f0", "fader", hours=-5, followers=9000, engagement=5),
        Post("f1", "fader", hours=5, followers=1000, engagement=500),
        Post("q0", "quiet", hours=-5, followers=100),  # nothing this period
    ]
    store(engine, posts)
    f = period(days=1)
    reach = inf.emerging_voices(engine=engine, filters=f, top=10)
    assert list(reach.columns) == list(inf.EMERGING_COLUMNS)
    assert list(reach["handle"]) == ["grower", "newbie"]
    grower = by_handle(reach)["grower"]
    assert (grower.reach, grower.reach_before, grower.reach_change) == (6000, 100, 5900)
    assert (grower.posts, grower.posts_before, bool(grower.new)) == (2, 1, False)
    newbie = by_handle(reach)["newbie"]
    assert bool(newbie.new) and newbie.net_sentiment == -100.0 and newbie.followers == 5000
    engagement = inf.emerging_voices(engine=engine, filters=f, top=10, by="engagement")
    assert list(engagement["handle"]) == ["fader", "newbie"]
    assert by_handle(engagement)["fader"].engagement_change == 495
    assert len(inf.emerging_voices(engine=engine, filters=f, top=1)) == 1
    with pytest.raises(ScrmError):
        inf.emerging_voices(engine=engine, filters=f, by="followers")
    assert inf.emerging_voices(engine=engine, filters=period(days=1, platforms=("forum",))).empty


def test_author_timeline(engine) -> None:
    posts = [
        Post("a1", "ann", "negative", hours=1, brands=("Own", "Rival"), engagement=7),
        Post("a2", "ann", "positive", hours=2, parent="a1"),
        Post("a3", "ann", "negative", hours=3, brands=("Rival",)),
        Post("a4", "ann", "negative", hours=60),  # outside the period
        Post("b1", "bob", "negative", hours=1),
    ]
    ids = store(engine, posts)
    ann = ids["twitter:ann"]
    posts_all = inf.author_timeline(engine=engine, filters=period(), author_id=ann)
    assert list(posts_all.columns) == list(inf.TIMELINE_COLUMNS)
    assert len(posts_all) == 3
    assert posts_all["created_at"].is_monotonic_decreasing
    first = posts_all.iloc[-1]
    assert first["brands"] == "Own, Rival" and first["engagement"] == 7 and not first["is_reply"]
    assert bool(posts_all.iloc[1]["is_reply"])
    own = inf.author_timeline(engine=engine, filters=period(brand_ids=(ids["brand:Own"],)), author_id=ann)
    assert len(own) == 2
    assert len(inf.author_timeline(engine=engine, filters=period(), author_id=ann, limit=1)) == 1
    assert inf.author_timeline(engine=engine, filters=period(), author_id=999_999).empty
    series = inf.timeline_series(posts_all, freq="h")
    assert list(series["posts"]) == [1, 1, 1]
    with pytest.raises(ScrmError):
        inf.author_timeline(engine=engine, filters=period(), author_id=ann, limit=0)


def test_network_nodes_edges_and_neighbours(engine) -> None:
    posts = [
        Post("h1", "hub", "negative", hours=1, followers=10_000, engagement=500),
        Post("r1", "ann", "negative", hours=2, parent="h1"),
        Post("r2", "bob", "positive", hours=3, parent="h1"),
        Post("o1", "old", hours=-5),  # before the period: only a neighbour
        Post("r3", "hub", "negative", hours=4, parent="o1", followers=10_000),
    ]
    ids = store(engine, posts)
    nodes, edges = inf.network(engine=engine, filters=period(), top=2)
    assert list(nodes["handle"][:2]) == list(
        inf.rank_authors(engine=engine, filters=period(), top=2)["handle"]
    )
    assert list(nodes["in_top"]) == [True, True, False, False]
    assert set(nodes["handle"][2:]) <= {"ann", "bob", "old"}
    old_nodes, _ = inf.network(engine=engine, filters=period(), top=3)
    assert "old" in set(old_nodes["handle"])
    old = old_nodes[old_nodes["handle"] == "old"].iloc[0]
    assert old["posts"] == 0 and pd.isna(old["rank"]) and not old["in_top"]
    node_ids = set(nodes["author_id"])
    assert set(edges["source"]) | set(edges["target"]) <= node_ids
    assert {(s, t) for s, t in zip(edges["source"], edges["target"], strict=True)} >= {
        (ids["twitter:ann"], ids["twitter:hub"])
    } or ids["twitter:ann"] not in node_ids
    assert nodes[["x", "y"]].notna().all().all()
    assert int(nodes.loc[nodes["handle"] == "hub", "degree"].iloc[0]) >= 1
    empty_nodes, empty_edges = inf.network(engine=engine, filters=period(platforms=("forum",)))
    assert empty_nodes.empty and empty_edges.empty


def test_network_chart_escapes_stranger_text(engine) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    store(
        engine,
        [
            Post("h1", "hub", "negative", hours=1),
            Post("r1", "evil", "positive", hours=2, parent="h1", followers=10),
        ],
    )
    with engine.begin() as conn:
        conn.execute(
            sa.update(Author.__table__)
            .where(Author.__table__.c.handle == "evil")
            .values(display_name=hostile)
        )
    nodes, edges = inf.network(engine=engine, filters=period())
    fig = inf.network_chart(nodes, edges)
    payload = fig.to_json()
    assert "<img" not in payload and "&lt;img" in payload
    assert len([t for t in fig.data if t.mode == "lines"]) >= 1


# -- the demo story ---------------------------------------------------------------------------

CRISIS_LEADS = {"financewatch", "studentvoiceuk", "moneysavvyjo"}
DEMO_END = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory):
    """The demo (20,000 mentions, no customers) in a temp SQLite database."""
    import os

    from scrm.config import get_settings
    from scrm.ingest.demo import load_demo

    old = os.environ.get("SCRM_SCORE_WORKERS")
    os.environ["SCRM_SCORE_WORKERS"] = "1"
    get_settings.cache_clear()
    path: Path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    started = time.perf_counter()
    load_demo(engine=engine, mentions=20_000, customers=0, end=DEMO_END)
    print(f"demo of 20,000 mentions loaded in {time.perf_counter() - started:.1f} s")
    if old is None:
        os.environ.pop("SCRM_SCORE_WORKERS", None)
    else:
        os.environ["SCRM_SCORE_WORKERS"] = old
    get_settings.cache_clear()
    yield engine
    engine.dispose()


@pytest.mark.slow
def test_demo_crisis_spreaders_top_the_detractors(demo_engine) -> None:
    from scrm.brands import get_brand
    from scrm.ingest.demo import CRISIS_DAY, CRISIS_HOUR, DAYS

    onset = DEMO_END - timedelta(days=DAYS) + timedelta(days=CRISIS_DAY, hours=CRISIS_HOUR)
    brand = get_brand(engine=demo_engine, name="Northwind Bank")
    crisis = Filters(start=onset, end=onset + timedelta(days=3), brand_ids=(brand.id,))
    ranking = inf.rank_authors(engine=demo_engine, filters=crisis, top=100)
    _, detractors = inf.advocates_and_detractors(ranking)
    first_handles = list(dict.fromkeys(detractors["handle"]))[:3]
    assert set(first_handles) == CRISIS_LEADS, detractors[["handle", "platform", "score"]].head(8)
    # every account of the three (one per platform they posted on) ranks above every other detractor
    leading = detractors["handle"].isin(CRISIS_LEADS)
    assert leading.iloc[: int(leading.sum())].all(), detractors[["handle", "platform", "score"]].head(10)
    # the emerging voices of the crisis are the same accounts
    emerging = inf.emerging_voices(engine=demo_engine, filters=crisis, top=3)
    assert set(emerging["handle"]) <= CRISIS_LEADS


# -- the command line -------------------------------------------------------------------------


def test_cli_influencers_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from scrm.cli import main
    from scrm.timeutil import utcnow

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    init_db(engine)
    now = utcnow()
    hours = (now - D0).total_seconds() / 3600
    store(
        engine,
        [
            Post("h1", "hub", "negative", hours=hours - 5, followers=10_000, engagement=50),
            Post("r1", "ann", "positive", hours=hours - 4, parent="h1"),
            Post("z1", "zed", "negative", hours=hours - 3, brands=("Rival",)),
            Post("o1", "old", "negative", hours=hours - 24 * 40),  # outside the default 30 days
        ],
    )
    engine.dispose()
    assert main(["--database-url", url, "influencers", "--brand", "own", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["handle"] for r in rows] == ["hub", "ann"]
    assert set(rows[0]["parts"]) == set(inf.PARTS)
    assert rows[0]["rank"] == 1 and rows[0]["platform"] == "twitter" and rows[0]["net_sentiment"] == -100.0
    assert rows[0]["score"] == pytest.approx(
        sum(rows[0]["parts"][p] * w for p, w in inf.WEIGHTS.items()) / 100, abs=0.1
    )
    assert main(["--database-url", url, "influencers", "--top", "1", "--days", "90"]) == 0
    out = capsys.readouterr().out
    assert "Influencers of all brands" in out and "@hub" in out and "@old" not in out
    assert main(["--database-url", url, "influencers", "--brand", "nope"]) == 2
    assert "No brand named" in capsys.readouterr().err
    assert main(["--database-url", url, "influencers", "--top", "0"]) == 2
    assert main(["--database-url", url, "influencers", "--days", "0"]) == 2


def test_timeline_series_fills_the_period() -> None:
    posts = pd.DataFrame(
        {"created_at": pd.to_datetime(["2026-11-03T08:00:00Z"], utc=True), "sentiment": ["negative"]}
    )
    days = inf.timeline_series(posts, freq="D", filters=period(days=4))
    assert len(days) == 4 and list(days["posts"]) == [0, 1, 0, 0]
    assert days["ts"].iloc[0] == pd.Timestamp("2026-11-02", tz="UTC")
    hours = inf.timeline_series(posts, freq="h", filters=period(days=2))
    assert len(hours) == 48 and hours["posts"].sum() == 1

"""Influencers: who matters for a brand, with a transparent influence score 0–100.

Everything is computed for the shared filters (brands, period, platforms, sentiment) from
``mention_brand`` joined to ``mention`` and aggregated in SQL, one row per author; no
query loads all mentions. An author's figures count their brand mentions (a post about two
filtered brands counts once for each, as in :mod:`scrm.trends`).

**Parts** (each 0–100, shown side by side; see docs/INFLUENCERS.md):

* ``reach_part``: followers, the largest audience of one of the author's posts in the
  period (followers at posting time, or the reach an import gave);
* ``engagement_part``: engagement per post, (likes + shares + comments) / posts;
* ``activity_part``: posts about the brand in the period;
* ``centrality_part``: PageRank (networkx, damping 0.85, edge weights) on the reply/mention
  graph: an edge from a post's author to the author of the post it replies to
  (``parent_external_id`` on the same platform) and to every ``@handle`` it mentions that is
  a known author of the same platform; each post adds 1 to each of its edges once. Only
  posts inside the filters make edges (the newest :data:`MAX_EDGE_POSTS` of them that
  reply or contain an ``@``, so the graph stays bounded at any volume). The value is PageRank / (the PageRank of an account nobody
  replies to or mentions) − 1: 0 without incoming links;
* ``opinion_part``: the share of the author's posts that take a side, (positive +
  negative) / posts × 100.

The first four are **log-scaled against the largest value in the view**: part = 100 ×
log(1 + value) / log(1 + largest value), so the top author of a part gets 100, an author
with the square root of the top's value about 50, and 0 means none. (Percentile ranks were
tried first and dropped: followers are heavy-tailed, and among thousands of small accounts
a percentile puts 1,000 followers at 96 and 2.1 million at 99.8, so the accounts that can
spread a story did not stand out.) The opinion part is already a share. **Influence
score** = Σ weight × part / 100 with :data:`WEIGHTS` (reach 30, engagement 25, centrality
20, activity 15, opinion 10).

**Net sentiment** of an author toward the brand = (positive − negative) / (positive +
negative) × 100 (NaN without either): advocates have it above 0, detractors below.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scrm.charts import FALLBACK, escape
from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.models import LABELS, Author, Brand, Mention, MentionBrand
from scrm.timeutil import epoch

_M = Mention.__table__
_MB = MentionBrand.__table__
_A = Author.__table__
_B = Brand.__table__
DAY = 86400
WEIGHTS: dict[str, int] = {"reach": 30, "engagement": 25, "centrality": 20, "activity": 15, "opinion": 10}
PARTS = tuple(WEIGHTS)
PART_COLUMNS = tuple(f"{p}_part" for p in PARTS)
PART_HELP = {
    "reach": "Followers (the largest audience of one of their posts in the period), log-scaled: "
    "100 = the largest account in this view.",
    "engagement": "Likes + shares + comments per post, log-scaled: 100 = the highest in this view.",
    "centrality": "PageRank on the graph of who replies to or @mentions whom, above that of an account "
    "nobody links to, log-scaled: 0 = no one replies to or mentions them.",
    "activity": "Posts about the brand in the period, log-scaled: 100 = the most active author here.",
    "opinion": "Share of their posts that are positive or negative rather than neutral.",
}
FORMULA = "Influence = 0.30·reach + 0.25·engagement per post + 0.20·centrality + 0.15·activity + 0.10·opinion"
PAGERANK_ALPHA = 0.85
MAX_EDGE_POSTS = 100_000  # the newest posts that reply or contain an @ make the graph's edges
MAX_TOP = 1_000
MAX_TIMELINE = 2_000
RANK_COLUMNS = (
    "rank",
    "author_id",
    "handle",
    "platform",
    "display_name",
    "verified",
    "profile_url",
    "followers",
    "posts",
    "active_days",
    "engagement",
    "engagement_per_post",
    "positive",
    "neutral",
    "negative",
    "net_sentiment",
    "centrality",
    *PART_COLUMNS,
    "score",
)
EMERGING_COLUMNS = (
    "author_id",
    "handle",
    "platform",
    "display_name",
    "followers",
    "posts",
    "posts_before",
    "reach",
    "reach_before",
    "reach_change",
    "engagement",
    "engagement_before",
    "engagement_change",
    "net_sentiment",
    "new",
)
TIMELINE_COLUMNS = (
    "id",
    "created_at",
    "platform",
    "sentiment",
    "compound",
    "likes",
    "shares",
    "comments",
    "engagement",
    "reach",
    "brands",
    "text",
    "url",
    "is_reply",
)
# @handle not preceded by a word character (so e-mail addresses do not count)
_HANDLE = re.compile(r"(?<![\w@./])@([A-Za-z0-9_](?:[\w.\-]{0,198}[A-Za-z0-9_])?)")


def _check_top(top: int) -> int:
    if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= MAX_TOP:
        raise ScrmError(f"The number of authors must be between 1 and {MAX_TOP} (got {top!r})")
    return top


# -- pure parts ------------------------------------------------------------------------------


def log_part(values: pd.Series) -> pd.Series:
    """0–100: 100 × log(1 + value) / log(1 + the largest value); 0 when every value is 0.

    Negative values and NaN count as 0.
    """
    clean = pd.to_numeric(values, errors="coerce").fillna(0.0).astype(float).clip(lower=0.0)
    top = float(clean.max()) if len(clean) else 0.0
    if top <= 0:
        return clean * 0.0
    return np.log1p(clean) / math.log1p(top) * 100.0


def net_sentiment(positive: pd.Series, negative: pd.Series) -> pd.Series:
    """(positive − negative) / (positive + negative) × 100 per row; NaN without either."""
    pos = positive.astype(float)
    neg = negative.astype(float)
    total = pos + neg
    return ((pos - neg) / total.where(total > 0) * 100.0).astype(float)


def score_parts(stats: pd.DataFrame, centrality: Mapping[int, float] | None = None) -> pd.DataFrame:
    """The parts and the influence score of per-author statistics (pure).

    ``stats`` has ``author_id``, ``posts``, ``active_days``, ``followers``, ``engagement``,
    ``positive``, ``neutral``, ``negative``; ``centrality`` maps author id → PageRank relative
    to an account without incoming links, minus 1 (absent: 0; see :func:`centrality`).
    Returns ``stats`` with ``engagement_per_post``, ``net_sentiment``, ``centrality``, the
    five ``*_part`` columns (0–100, one decimal) and ``score`` (0–100, one decimal), sorted by
    score (then followers, posts and author id).
    """
    out = stats.copy()
    posts = out["posts"].astype(float)
    out["engagement_per_post"] = (out["engagement"].astype(float) / posts.where(posts > 0)).fillna(0.0)
    out["net_sentiment"] = net_sentiment(out["positive"], out["negative"])
    known = centrality or {}
    out["centrality"] = [float(known.get(int(a), 0.0)) for a in out["author_id"]]
    out["reach_part"] = log_part(out["followers"])
    out["engagement_part"] = log_part(out["engagement_per_post"])
    out["centrality_part"] = log_part(out["centrality"])
    out["activity_part"] = log_part(out["posts"])
    opinion = (out["positive"] + out["negative"]).astype(float) / posts.where(posts > 0) * 100.0
    out["opinion_part"] = opinion.fillna(0.0)
    score = sum(out[f"{p}_part"] * w for p, w in WEIGHTS.items()) / sum(WEIGHTS.values())
    for col in PART_COLUMNS:
        out[col] = out[col].round(1)
    out["score"] = score.round(1)
    return out.sort_values(
        ["score", "followers", "posts", "author_id"], ascending=[False, False, False, True]
    ).reset_index(drop=True)


PART_NAMES = {
    "reach": "reach",
    "engagement": "engagement per post",
    "centrality": "centrality",
    "activity": "activity",
    "opinion": "opinion",
}


def explain(row: Mapping[str, object]) -> str:
    """The score of one ranking row written out, e.g. ``70.2 = 0.30 × 100 (reach) + …``."""
    terms = " + ".join(
        f"{w / 100:.2f} × {float(row[f'{p}_part']):.0f} ({PART_NAMES[p]})"  # type: ignore[arg-type]
        for p, w in WEIGHTS.items()
    )
    return f"{float(row['score']):.1f} = {terms}"  # type: ignore[arg-type]


def advocates_and_detractors(
    frame: pd.DataFrame, *, top: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Advocates (net sentiment above 0) and detractors (below 0) of a ranking, by score.

    ``frame`` is :func:`rank_authors`' output (any subset of its rows); both results keep its
    columns, sorted by ``score`` (highest first; then followers), at most ``top`` rows each.
    Authors with no positive or negative post are neither.
    """
    order = {"by": ["score", "followers", "author_id"], "ascending": [False, False, True]}
    net = frame["net_sentiment"]
    advocates = frame[net > 0].sort_values(**order)
    detractors = frame[net < 0].sort_values(**order)
    if top is not None:
        advocates, detractors = advocates.head(top), detractors.head(top)
    return advocates.reset_index(drop=True), detractors.reset_index(drop=True)


# -- SQL -------------------------------------------------------------------------------------


def _joined() -> sa.FromClause:
    return _MB.join(_M, _M.c.id == _MB.c.mention_id)


def _count_if(condition: sa.ColumnElement[bool], value: sa.ColumnElement | int = 1) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)


def _author_stats(conn: Connection, filters: Filters) -> pd.DataFrame:
    """One row per author with brand mentions in the filters (SQL ``GROUP BY``)."""
    stmt = (
        sa.select(
            _M.c.author_id,
            sa.func.count().label("posts"),
            sa.func.count(sa.distinct(_MB.c.ts // DAY)).label("active_days"),
            sa.func.max(_MB.c.reach).label("followers"),
            sa.func.coalesce(sa.func.sum(_MB.c.engagement), 0).label("engagement"),
            *(_count_if(_MB.c.label == label).label(label) for label in LABELS),
        )
        .select_from(_joined())
        .where(*filters.link_conditions(), _M.c.author_id.is_not(None))
        .group_by(_M.c.author_id)
    )
    rows = conn.execute(stmt).all()
    cols = ["author_id", "posts", "active_days", "followers", "engagement", *LABELS]
    frame = pd.DataFrame(rows, columns=cols)
    return frame.astype(dict.fromkeys(cols, "int64"))


def _edge_posts(conn: Connection, filters: Filters, limit: int) -> list[tuple[int, int, int]]:
    """(mention id, author, target author) for the newest ``limit`` posts in the filters that
    reply to a post (target: the parent's author) or contain an ``@`` (targets: the known
    authors of the same platform whose @handles they mention). One pass over the posts."""
    parent = _M.alias("parent")
    stmt = (
        sa.select(
            _MB.c.mention_id,
            _M.c.author_id,
            _M.c.platform,
            parent.c.author_id.label("parent_author"),
            sa.case((_M.c.text.contains("@"), _M.c.text), else_=None).label("text"),
        )
        .select_from(
            _joined().outerjoin(
                parent,
                sa.and_(parent.c.platform == _M.c.platform, parent.c.external_id == _M.c.parent_external_id),
            )
        )
        .where(
            *filters.link_conditions(),
            _M.c.author_id.is_not(None),
            sa.or_(_M.c.parent_external_id.is_not(None), _M.c.text.contains("@")),
        )
        .order_by(_MB.c.ts.desc(), _MB.c.mention_id.desc())
        .limit(limit)
    )
    out: list[tuple[int, int, int]] = []
    found: list[tuple[int, int, str, str]] = []
    wanted: dict[str, set[str]] = defaultdict(set)
    seen: set[int] = set()
    for mention_id, author_id, platform, parent_author, text in conn.execute(stmt):
        if mention_id in seen:  # linked to two filtered brands
            continue
        seen.add(mention_id)
        if parent_author is not None:
            out.append((int(mention_id), int(author_id), int(parent_author)))
        for handle in {h.lower() for h in _HANDLE.findall(text or "")}:
            found.append((int(mention_id), int(author_id), platform, handle))
            wanted[platform].add(handle)
    ids = _author_ids(conn, wanted)
    return out + [(m, a, ids[(p, h)]) for m, a, p, h in found if (p, h) in ids]


def _author_ids(conn: Connection, wanted: Mapping[str, Iterable[str]]) -> dict[tuple[str, str], int]:
    """(platform, handle) → author id for the handles that are known authors."""
    out: dict[tuple[str, str], int] = {}
    for platform, handles in wanted.items():
        names = sorted(handles)
        for i in range(0, len(names), 500):
            stmt = sa.select(_A.c.id, _A.c.handle).where(
                _A.c.platform == platform, _A.c.handle.in_(names[i : i + 500])
            )
            out.update({(platform, h): int(a) for a, h in conn.execute(stmt)})
    return out


def _graph(conn: Connection, filters: Filters, limit: int = MAX_EDGE_POSTS) -> nx.DiGraph:
    """The weighted reply/mention graph of the posts in the filters (no self-loops)."""
    pairs: set[tuple[int, int, int]] = set()  # (mention, source, target): a post counts once per target
    for mention_id, source, target in _edge_posts(conn, filters, limit):
        if source != target:
            pairs.add((mention_id, source, target))
    weights: dict[tuple[int, int], int] = defaultdict(int)
    for _, source, target in pairs:
        weights[(source, target)] += 1
    graph = nx.DiGraph()
    graph.add_weighted_edges_from((s, t, w) for (s, t), w in weights.items())
    return graph


def pagerank(graph: nx.DiGraph) -> dict[int, float]:
    """networkx PageRank (damping :data:`PAGERANK_ALPHA`, edge weights); {} for an empty graph."""
    if graph.number_of_nodes() == 0:
        return {}
    return nx.pagerank(graph, alpha=PAGERANK_ALPHA, weight="weight")


_SENTINEL = -1  # an extra node without links: the PageRank of an account nobody links to


def centrality(graph: nx.DiGraph) -> dict[int, float]:
    """Author id → PageRank / (PageRank of a node without incoming links) − 1 (0 for none).

    The baseline comes from one extra isolated node, so it is exact whatever the graph.
    Rounded to 6 decimals (PageRanks of equivalent nodes differ in the last bits).
    """
    if graph.number_of_edges() == 0:
        return {}
    work = graph.copy()
    work.add_node(_SENTINEL)
    ranks = pagerank(work)
    base = ranks.pop(_SENTINEL)
    return {int(a): max(0.0, round(r / base - 1.0, 6)) for a, r in ranks.items()}


_AUTHOR_COLUMNS = ("handle", "platform", "display_name", "verified", "profile_url")


def _authors(conn: Connection, ids: Iterable[int]) -> pd.DataFrame:
    """handle, platform, display name, verified and profile URL of these authors."""
    wanted = sorted({int(i) for i in ids})
    rows: list = []
    for i in range(0, len(wanted), 500):
        stmt = sa.select(
            _A.c.id, _A.c.handle, _A.c.platform, _A.c.display_name, _A.c.verified, _A.c.profile_url
        ).where(_A.c.id.in_(wanted[i : i + 500]))
        rows.extend(conn.execute(stmt).all())
    frame = pd.DataFrame(rows, columns=["author_id", *_AUTHOR_COLUMNS])
    frame["author_id"] = frame["author_id"].astype("int64")
    frame["verified"] = frame["verified"].astype(bool)
    return frame


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass(frozen=True)
class _Ranking:
    scored: pd.DataFrame  # every author in the filters, sorted by score
    graph: nx.DiGraph


def _rank(conn: Connection, filters: Filters) -> _Ranking:
    stats = _author_stats(conn, filters)
    if stats.empty:
        return _Ranking(stats, nx.DiGraph())
    graph = _graph(conn, filters)
    return _Ranking(score_parts(stats, centrality(graph)), graph)


def _with_authors(conn: Connection, frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    info = _authors(conn, frame["author_id"])
    out = frame.merge(info, on="author_id", how="left")
    return out[list(columns)]


def rank_authors(*, engine: Engine, filters: Filters, top: int = 50) -> pd.DataFrame:
    """The ``top`` authors of the filtered brands and period by influence score.

    Columns: ``rank`` (1 = most influential), ``author_id``, ``handle``, ``platform``,
    ``display_name``, ``verified``, ``profile_url``, ``followers`` (largest audience of a post
    in the period), ``posts``, ``active_days`` (UTC days with a post), ``engagement`` (total),
    ``engagement_per_post``, ``positive``/``neutral``/``negative`` (posts),
    ``net_sentiment`` (−100…100, NaN without positive or negative posts), ``centrality``
    (PageRank / PageRank of an account nobody links to − 1), ``reach_part``, ``engagement_part``, ``centrality_part``, ``activity_part``,
    ``opinion_part`` (each 0–100) and ``score`` (0–100). See the module docstring for the
    definitions. Raises :class:`ScrmError` for a ``top`` outside 1…1000.
    """
    _check_top(top)
    with engine.connect() as conn:
        ranking = _rank(conn, filters)
        if ranking.scored.empty:
            return _empty(RANK_COLUMNS)
        head = ranking.scored.head(top).copy()
        head["rank"] = np.arange(1, len(head) + 1)
        return _with_authors(conn, head, RANK_COLUMNS)


def emerging_voices(*, engine: Engine, filters: Filters, top: int = 20, by: str = "reach") -> pd.DataFrame:
    """Authors whose reach (or engagement) on the brand rose most against the previous period.

    Reach on the brand = the sum of followers at posting time over the author's posts (their
    potential impressions); engagement = likes + shares + comments. Compared with
    ``filters.previous()`` (same length, same brands, platforms and sentiment). Only authors
    who posted in the period and whose ``by`` measure rose are returned, the largest rise
    first (then the other measure's rise).

    Columns: ``author_id``, ``handle``, ``platform``, ``display_name``, ``followers``,
    ``posts``, ``posts_before``, ``reach``, ``reach_before``, ``reach_change``,
    ``engagement``, ``engagement_before``, ``engagement_change``, ``net_sentiment`` (this
    period), ``new`` (no post in the previous period).
    """
    _check_top(top)
    if by not in ("reach", "engagement"):
        raise ScrmError(f"Emerging voices rise in reach or engagement, not {by!r}")
    both = replace(filters, start=filters.previous().start)
    now = _MB.c.ts >= epoch(filters.start)
    before = _MB.c.ts < epoch(filters.start)
    stmt = (
        sa.select(
            _M.c.author_id,
            _count_if(now).label("posts"),
            _count_if(before).label("posts_before"),
            _count_if(now, _MB.c.reach).label("reach"),
            _count_if(before, _MB.c.reach).label("reach_before"),
            _count_if(now, _MB.c.engagement).label("engagement"),
            _count_if(before, _MB.c.engagement).label("engagement_before"),
            sa.func.max(sa.case((now, _MB.c.reach), else_=None)).label("followers"),
            _count_if(now & (_MB.c.label == "positive")).label("positive"),
            _count_if(now & (_MB.c.label == "negative")).label("negative"),
        )
        .select_from(_joined())
        .where(*both.link_conditions(), _M.c.author_id.is_not(None))
        .group_by(_M.c.author_id)
        .having(_count_if(now) > 0)
    )
    cols = [
        "author_id",
        "posts",
        "posts_before",
        "reach",
        "reach_before",
        "engagement",
        "engagement_before",
        "followers",
        "positive",
        "negative",
    ]
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).all(), columns=cols)
        if frame.empty:
            return _empty(EMERGING_COLUMNS)
        frame = frame.astype(dict.fromkeys(cols, "int64"))
        frame["reach_change"] = frame["reach"] - frame["reach_before"]
        frame["engagement_change"] = frame["engagement"] - frame["engagement_before"]
        frame["net_sentiment"] = net_sentiment(frame["positive"], frame["negative"])
        frame["new"] = frame["posts_before"] == 0
        other = "engagement" if by == "reach" else "reach"
        frame = frame[frame[f"{by}_change"] > 0].sort_values(
            [f"{by}_change", f"{other}_change", "author_id"], ascending=[False, False, True]
        )
        if frame.empty:
            return _empty(EMERGING_COLUMNS)
        return _with_authors(conn, frame.head(top), EMERGING_COLUMNS).reset_index(drop=True)


def author_timeline(*, engine: Engine, filters: Filters, author_id: int, limit: int = 500) -> pd.DataFrame:
    """The author's posts in the filters (brands, period, platforms, sentiment), newest first.

    Columns: ``id``, ``created_at`` (aware UTC), ``platform``, ``sentiment`` (the effective
    label), ``compound``, ``likes``, ``shares``, ``comments``, ``engagement``, ``reach``,
    ``brands`` (names, comma-separated), ``text``, ``url``, ``is_reply``. At most ``limit``
    (1…2000) posts; :func:`timeline_series` turns them into counts over time.
    """
    if not 1 <= limit <= MAX_TIMELINE:
        raise ScrmError(f"The number of posts must be between 1 and {MAX_TIMELINE}")
    label = sa.func.coalesce(_M.c.label_override, _M.c.label)
    stmt = (
        sa.select(
            _M.c.id,
            _M.c.created_at,
            _M.c.platform,
            label.label("sentiment"),
            _M.c.compound,
            _M.c.likes,
            _M.c.shares,
            _M.c.comments,
            _M.c.reach,
            _M.c.text,
            _M.c.url,
            _M.c.parent_external_id,
        )
        .where(
            _M.c.author_id == int(author_id),
            _M.c.created_at >= filters.start,
            _M.c.created_at < filters.end,
            sa.exists().where(_MB.c.mention_id == _M.c.id, *filters.link_conditions()),
        )
        .order_by(_M.c.created_at.desc(), _M.c.id.desc())
        .limit(limit)
    )
    cols = [c.name for c in stmt.selected_columns]
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).all(), columns=cols)
        names: dict[int, list[str]] = defaultdict(list)
        if not frame.empty:
            brand_name = dict(conn.execute(sa.select(_B.c.id, _B.c.name)).all())
            links = sa.select(_MB.c.mention_id, _MB.c.brand_id).where(
                _MB.c.mention_id.in_([int(i) for i in frame["id"]])
            )
            for mention_id, brand_id in conn.execute(links.order_by(_MB.c.brand_id)):
                names[int(mention_id)].append(str(brand_name.get(brand_id, brand_id)))
    if frame.empty:
        return _empty(TIMELINE_COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["engagement"] = frame["likes"] + frame["shares"] + frame["comments"]
    frame["brands"] = [", ".join(names.get(int(i), [])) for i in frame["id"]]
    frame["is_reply"] = frame["parent_external_id"].notna()
    return frame[list(TIMELINE_COLUMNS)].reset_index(drop=True)


def timeline_series(
    posts: pd.DataFrame, *, freq: str = "D", tz: str = "UTC", filters: Filters | None = None
) -> pd.DataFrame:
    """Posts per ``freq`` bucket ("h", "D" or "W": weeks from Monday) in ``tz`` by sentiment (pure).

    ``posts`` is :func:`author_timeline`'s output. With ``filters``, every bucket of its period
    is there (0 without posts), so a chart spans the period. Columns: ``ts`` (bucket start,
    aware, in ``tz``), ``positive``, ``neutral``, ``negative``, ``posts``, ``net_sentiment``.
    """
    cols = ["ts", *LABELS, "posts", "net_sentiment"]
    if freq not in ("h", "D", "W"):
        raise ScrmError(f"Unknown bucket {freq!r}: use h, D or W")
    if posts.empty:
        return _empty(cols)

    def buckets(times: pd.Series) -> pd.Series:
        local = times.dt.tz_convert(tz).dt.tz_localize(None)
        if freq == "W":
            return local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")
        return local.dt.floor(freq)

    frame = pd.DataFrame({"ts": buckets(posts["created_at"]), "sentiment": posts["sentiment"]})
    counts = frame.groupby(["ts", "sentiment"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(LABELS), fill_value=0)
    if filters is not None:
        first, last = buckets(
            pd.Series(pd.to_datetime([filters.start, filters.end - pd.Timedelta(seconds=1)]))
        )
        step = {"h": "h", "D": "D", "W": "7D"}[freq]
        counts = counts.reindex(counts.index.union(pd.date_range(first, last, freq=step)), fill_value=0)
    counts.index.name = "ts"
    out = counts.reset_index()
    out.columns.name = None
    out["ts"] = out["ts"].dt.tz_localize(
        tz, ambiguous=np.ones(len(out), dtype=bool), nonexistent="shift_forward"
    )
    out["posts"] = out[list(LABELS)].sum(axis=1)
    out["net_sentiment"] = net_sentiment(out["positive"], out["negative"])
    return out[cols].sort_values("ts").reset_index(drop=True)


def network(
    *, engine: Engine, filters: Filters, top: int = 30, neighbours: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``top`` authors, the accounts they exchange replies and mentions with, and the links.

    Nodes: :func:`rank_authors`' columns plus ``in_top`` (one of the ``top`` authors; the
    others are their strongest neighbours in the reply/mention graph, at most
    ``neighbours``, default ``top``), ``degree`` (links in the chart) and ``x``, ``y`` (a
    seeded spring layout). A neighbour outside the filters has ``posts`` 0 and no ``rank``.
    Edges: ``source``, ``target`` (author ids; the source replies to or mentions the target)
    and ``weight`` (posts), among the nodes.
    """
    _check_top(top)
    room = top if neighbours is None else neighbours
    node_cols = [*RANK_COLUMNS, "in_top", "degree", "x", "y"]
    with engine.connect() as conn:
        ranking = _rank(conn, filters)
        if ranking.scored.empty:
            return _empty(node_cols), _empty(["source", "target", "weight"])
        scored = ranking.scored.copy()
        scored["rank"] = np.arange(1, len(scored) + 1)
        head = scored.head(top)
        chosen = [int(a) for a in head["author_id"]]
        graph = ranking.graph
        pull: dict[int, float] = defaultdict(float)
        for a in chosen:
            if a not in graph:
                continue
            for _, b, d in graph.out_edges(a, data=True):
                pull[int(b)] += d["weight"]
            for b, _, d in graph.in_edges(a, data=True):
                pull[int(b)] += d["weight"]
        extra = sorted((b for b in pull if b not in set(chosen)), key=lambda b: (-pull[b], b))[:room]
        ids = chosen + extra
        by_id = scored.set_index("author_id")
        rows = []
        for a in ids:
            if a in by_id.index:
                rows.append({"author_id": a, **by_id.loc[a].to_dict()})
            else:  # in the graph, but no post in the filters
                rows.append({"author_id": a, "rank": np.nan, "posts": 0, "followers": 0, "score": 0.0})
        frame = pd.DataFrame(rows)
        frame["in_top"] = frame["author_id"].isin(chosen)
        for col in RANK_COLUMNS:
            if col not in frame and col not in _AUTHOR_COLUMNS:
                frame[col] = np.nan
        frame = frame.fillna({"posts": 0, "followers": 0, "score": 0.0})
        nodes = _with_authors(conn, frame, [*RANK_COLUMNS, "in_top"])
    sub = nx.DiGraph()
    sub.add_nodes_from(ids)
    sub.add_weighted_edges_from((s, t, d["weight"]) for s, t, d in graph.subgraph(ids).edges(data=True))
    edges = pd.DataFrame(
        [(s, t, int(d["weight"])) for s, t, d in sub.edges(data=True)], columns=["source", "target", "weight"]
    )
    layout = _layout(sub, ids)
    nodes["x"] = [layout[a][0] for a in ids]
    nodes["y"] = [layout[a][1] for a in ids]
    nodes["degree"] = [int(sub.degree(a)) for a in ids]
    for col in ("posts", "followers"):
        nodes[col] = nodes[col].astype("int64")
    return nodes[node_cols], edges.sort_values(["source", "target"]).reset_index(drop=True)


GRID_COLUMNS = 8


def _layout(graph: nx.DiGraph, ids: list[int]) -> dict[int, tuple[float, float]]:
    """Linked nodes by a seeded spring layout in the upper band (y 0.55–1); nodes without a
    link in a grid below it, in the order of ``ids`` (rank), :data:`GRID_COLUMNS` a row."""
    linked = [a for a in ids if graph.degree(a) > 0]
    alone = [a for a in ids if graph.degree(a) == 0]
    out: dict[int, tuple[float, float]] = {}
    if linked:
        sub = graph.subgraph(linked).to_undirected()
        raw = nx.spring_layout(sub, seed=7, weight="weight", k=1.5 / math.sqrt(len(linked)), iterations=100)
        xs = np.array([raw[a][0] for a in linked])
        ys = np.array([raw[a][1] for a in linked])

        def scale(v: np.ndarray, low: float, high: float) -> np.ndarray:
            span = float(v.max() - v.min())
            return (
                np.full(len(v), (low + high) / 2) if span == 0 else low + (v - v.min()) / span * (high - low)
            )

        top_band = 0.55 if alone else 0.0
        for a, x, y in zip(linked, scale(xs, 0.04, 0.96), scale(ys, top_band, 1.0), strict=True):
            out[a] = (float(x), float(y))
    rows = -(-len(alone) // GRID_COLUMNS)
    for i, a in enumerate(alone):
        row, col = divmod(i, GRID_COLUMNS)
        y = 0.3 - 0.3 * row / max(rows - 1, 1) if linked else 1.0 - row / max(rows, 1)
        out[a] = ((col + 0.5) / GRID_COLUMNS, float(y))
    return out


def _sentiment_colour(net: float) -> str:
    """Red (−100) through grey (0 or unknown) to green (+100)."""
    if net is None or (isinstance(net, float) and math.isnan(net)):
        return FALLBACK
    t = max(-1.0, min(1.0, float(net) / 100.0))
    grey, red, green = (158, 158, 158), (214, 39, 40), (44, 160, 44)
    end = green if t > 0 else red
    rgb = [round(g + (e - g) * abs(t)) for g, e in zip(grey, end, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def network_chart(
    nodes: pd.DataFrame, edges: pd.DataFrame, *, title: str = "Who replies to or mentions whom"
) -> go.Figure:
    """:func:`network`'s nodes and edges as a plotly figure.

    Edge lines (wider for more posts) under the nodes; the top authors are sized by score,
    coloured by net sentiment (red −100 … grey … green +100) and labelled; their
    neighbours are small and unlabelled. Handles, names and platforms come from strangers:
    they are escaped (:func:`scrm.charts.escape`).
    """
    pos = {int(a): (x, y) for a, x, y in zip(nodes["author_id"], nodes["x"], nodes["y"], strict=True)}
    fig = go.Figure()
    for width, part in edges.assign(w=np.minimum(edges["weight"], 4)).groupby("w"):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for s, t in zip(part["source"], part["target"], strict=True):
            if int(s) in pos and int(t) in pos:
                (x0, y0), (x1, y1) = pos[int(s)], pos[int(t)]
                xs += [x0, x1, None]
                ys += [y0, y1, None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"width": 0.8 + 0.6 * float(width), "color": "#b8bfca"},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    handles = {int(a): str(h) for a, h in zip(nodes["author_id"], nodes["handle"], strict=True)}
    links_out: dict[int, list[str]] = defaultdict(list)
    links_in: dict[int, list[str]] = defaultdict(list)
    for s, t in zip(edges["source"], edges["target"], strict=True):
        links_out[int(s)].append(handles.get(int(t), "?"))
        links_in[int(t)].append(handles.get(int(s), "?"))

    def listing(names: list[str]) -> str:
        shown = ", ".join(f"@{escape(n, 30)}" for n in names[:4])
        return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "") if names else "nobody"

    for in_top in (False, True):
        part = nodes[nodes["in_top"] == in_top]
        if part.empty:
            continue
        nets = part["net_sentiment"].astype(float)
        hover = []
        for a, h, p, n, s, f, c, v, r in zip(
            part["author_id"],
            part["handle"],
            part["platform"],
            part["display_name"],
            part["score"],
            part["followers"],
            part["posts"],
            nets,
            part["rank"],
            strict=True,
        ):
            place = f"#{int(r)} · score {float(s):.0f}" if not pd.isna(r) else "no post in this view"
            hover.append(
                f"<b>@{escape(h, 60)}</b> · {escape(p, 20)}<br>{escape(n, 60)}<br>{place}<br>"
                f"followers {int(f):,} · posts {int(c):,} · net sentiment "
                f"{'—' if math.isnan(v) else f'{v:+.0f}'}<br>"
                f"replies to / mentions: {listing(links_out[int(a)])}<br>"
                f"replied to / mentioned by: {listing(links_in[int(a)])}"
            )
        fig.add_trace(
            go.Scatter(
                x=part["x"],
                y=part["y"],
                mode="markers+text" if in_top else "markers",
                text=[f"@{escape(h, 24)}" for h in part["handle"]] if in_top else None,
                textposition="top center",
                textfont={"size": 11, "color": "#3d4450"},
                hovertext=hover,
                hovertemplate="%{hovertext}<extra></extra>",
                marker={
                    "size": [12 + 0.3 * float(s) for s in part["score"]] if in_top else 7,
                    "color": [_sentiment_colour(v) for v in nets],
                    "line": {"width": 1.5 if in_top else 0.5, "color": "#ffffff"},
                    "opacity": 0.95 if in_top else 0.55,
                },
                name="top authors" if in_top else "their contacts",
                showlegend=False,
            )
        )
    alone = nodes[(nodes["degree"] == 0) & nodes["in_top"]]
    if not alone.empty and len(alone) < len(nodes):
        fig.add_annotation(
            x=0.5,
            y=float(alone["y"].max()) + 0.12,
            text="Top authors that no one in this view replies to or mentions, and who mention no one",
            showarrow=False,
            font={"size": 12, "color": "#6b7280"},
        )
        fig.add_shape(
            type="line",
            x0=0,
            x1=1,
            y0=float(alone["y"].max()) + 0.17,
            y1=float(alone["y"].max()) + 0.17,
            line={"color": "#e5e7eb", "width": 1},
        )
    fig.update_layout(
        title={"text": escape(title)},
        height=600,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        xaxis={"visible": False, "range": [-0.04, 1.04]},
        yaxis={"visible": False, "range": [-0.08, 1.1]},
        plot_bgcolor="rgba(0,0,0,0)",
        hovermode="closest",
        hoverlabel={"align": "left"},
    )
    return fig

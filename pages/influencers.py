"""Influencers: who matters for the brand — ranking with its parts, advocates and detractors,
emerging voices, the reply/mention network and one author's posts over time."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from pages import ui
from scrm import charts, influencers
from scrm.filters import Filters
from scrm.influencers import FORMULA, PART_HELP, PARTS, WEIGHTS

POOL = 500  # authors scored for the tables; advocates and detractors come from them
TOPS = (25, 50, 100, 200)
SCORE_COLOUR = "#1f4e8c"
PART_COLOUR = "#5b9bd5"


@st.cache_data(ttl=ui.TTL, max_entries=32, show_spinner="Scoring authors…")
def ranking(_engine: Engine, filters: Filters, top: int) -> pd.DataFrame:
    """Cached :func:`scrm.influencers.rank_authors`."""
    return influencers.rank_authors(engine=_engine, filters=filters, top=top)


@st.cache_data(ttl=ui.TTL, max_entries=32, show_spinner="Comparing with the previous period…")
def emerging(_engine: Engine, filters: Filters, top: int, by: str) -> pd.DataFrame:
    """Cached :func:`scrm.influencers.emerging_voices`."""
    return influencers.emerging_voices(engine=_engine, filters=filters, top=top, by=by)


@st.cache_data(ttl=ui.TTL, max_entries=16, show_spinner="Drawing the network…")
def network(_engine: Engine, filters: Filters, top: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cached :func:`scrm.influencers.network`."""
    return influencers.network(engine=_engine, filters=filters, top=top)


@st.cache_data(ttl=ui.TTL, max_entries=64)
def timeline(_engine: Engine, filters: Filters, author_id: int) -> pd.DataFrame:
    """Cached :func:`scrm.influencers.author_timeline`."""
    return influencers.author_timeline(engine=_engine, filters=filters, author_id=author_id, limit=1000)


def part_columns() -> dict[str, object]:
    """Progress bars 0–100 for the score and its parts, with the definitions as help."""
    config: dict[str, object] = {
        "score": st.column_config.ProgressColumn(
            "Influence",
            min_value=0,
            max_value=100,
            format="%.0f",
            help=FORMULA,
            width=105,
            color=SCORE_COLOUR,
        )
    }
    for part in PARTS:
        config[f"{part}_part"] = st.column_config.ProgressColumn(
            part.capitalize(),
            min_value=0,
            max_value=100,
            format="%.0f",
            help=f"{WEIGHTS[part]}% of the score. {PART_HELP[part]}",
            width=100,
            color=PART_COLOUR,
        )
    return config


COMMON = {
    "rank": st.column_config.NumberColumn("#", width=40),
    "handle": st.column_config.TextColumn("Author", help="Handle on the platform"),
    "platform": st.column_config.TextColumn("Platform", width="small"),
    "display_name": st.column_config.TextColumn("Name"),
    "followers": st.column_config.NumberColumn(
        "Followers", format="compact", help="Largest audience of one of their posts in the period"
    ),
    "posts": st.column_config.NumberColumn("Posts", format="localized", help="Brand mentions in the period"),
    "engagement_per_post": st.column_config.NumberColumn(
        "Engagement/post", format="%.0f", help="(likes + shares + comments) / posts"
    ),
    "net_sentiment": st.column_config.NumberColumn(
        "Net sentiment",
        format="%+.0f",
        help="(positive − negative) / (positive + negative) × 100 over their posts about the brand; "
        "empty without either",
    ),
}


def at_handle(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with handles written as @handle (shown as plain text by st.dataframe)."""
    out = frame.copy()
    out["handle"] = "@" + out["handle"].astype(str)
    return out


def sided_table(frame: pd.DataFrame, key: str) -> None:
    """An advocates or detractors table."""
    cols = ["handle", "platform", "score", "net_sentiment", "positive", "negative", "followers"]
    st.dataframe(
        at_handle(frame)[cols],
        hide_index=True,
        placeholder="—",
        column_config={
            **COMMON,
            "score": part_columns()["score"],
            "positive": st.column_config.NumberColumn("Pos.", help="Positive posts", width=60),
            "negative": st.column_config.NumberColumn("Neg.", help="Negative posts", width=60),
        },
        key=key,
    )


ctx = ui.context()
engine = ui.get_engine()
f = ctx.filters
st.title("Influencers")
st.caption(ctx.period_label)

pool = ranking(engine, f, POOL)
if pool.empty:
    ui.empty_state(
        "No author posted about these brands in this period: widen the period in the sidebar, clear the "
        "platform and sentiment filters, or import mentions on the Data page."
    )
    st.stop()

advocates, detractors = influencers.advocates_and_detractors(pool)
lead = pool.iloc[0]
cols = st.columns([1, 1, 1, 1.6])
cols[0].metric("Authors ranked", f"{len(pool):,}{'+' if len(pool) == POOL else ''}", border=True)
cols[1].metric(
    "Advocates",
    f"{len(advocates):,}",
    help="Authors with net sentiment above 0 toward the brand",
    border=True,
)
cols[2].metric(
    "Detractors",
    f"{len(detractors):,}",
    help="Authors with net sentiment below 0 toward the brand",
    border=True,
)
cols[3].metric(
    "Most influential",
    f"@{ui.plain(lead['handle'])}",
    f"score {lead['score']:.0f} · {ui.plain(lead['platform'])}",
    delta_color="off",
    delta_arrow="off",
    border=True,
)

with st.expander("How the influence score works", icon=":material/functions:"):
    st.markdown(f"**{FORMULA}** (each part 0–100; the score is 0–100).")
    st.markdown(
        "\n".join(
            f"- **{influencers.PART_NAMES[p].capitalize()}** ({WEIGHTS[p]}%): {PART_HELP[p]}" for p in PARTS
        )
    )
    st.caption(
        "Reach, engagement, centrality and activity are log-scaled against the largest value among the "
        "authors in this view: 100 × log(1 + value) / log(1 + largest). Centrality is networkx PageRank on "
        "the graph where each post links its author to the author it replies to and to the @handles it "
        "mentions. Advocates have a net sentiment toward the brand above 0, detractors below 0. Full "
        "definitions: docs/INFLUENCERS.md."
    )

# Only the open tab is computed (stateful tabs): the network and the comparison with the
# previous period cost as much as the ranking at a million mentions.
tab_rank, tab_sides, tab_emerging, tab_network, tab_author = st.tabs(
    ["Ranking", "Advocates & detractors", "Emerging voices", "Network", "Author"],
    key="infl_tab",
    on_change="rerun",
)

top = st.session_state.get("infl_top") or 50
if tab_rank.open:
    with tab_rank:
        top = st.segmented_control(
            "Show", TOPS, default=50, required=True, format_func=lambda n: f"top {n}", key="infl_top"
        )
        shown = at_handle(pool.head(top))
        st.dataframe(
            shown[
                [
                    "rank",
                    "handle",
                    "platform",
                    "score",
                    *[f"{p}_part" for p in PARTS],
                    "followers",
                    "posts",
                    "engagement_per_post",
                    "net_sentiment",
                    "display_name",
                ]
            ],
            hide_index=True,
            placeholder="—",
            column_config={**COMMON, **part_columns()},
            height=min(38 + 35 * len(shown), 640),
            key="infl_ranking",
        )
        st.caption(
            "Sorted by influence. Each bar is one part of the score, 0–100, relative to the authors in this view; "
            "hover a column title for its definition."
        )

if tab_sides.open:
    with tab_sides:
        left, right = st.columns(2)
        with left:
            st.subheader("Advocates", anchor=False)
            st.caption("Net sentiment above 0, most influential first.")
            if advocates.empty:
                st.caption("No advocate here: no author is more positive than negative about the brand.")
            else:
                sided_table(advocates.head(15), "infl_advocates")
        with right:
            st.subheader("Detractors", anchor=False)
            st.caption("Net sentiment below 0, most influential first: the accounts to answer first.")
            if detractors.empty:
                st.caption("No detractor here: no author is more negative than positive about the brand.")
            else:
                sided_table(detractors.head(15), "infl_detractors")
        if f.labels:
            st.caption(
                "The sentiment filter in the sidebar keeps only "
                + ", ".join(f.labels)
                + " posts: clear it to see both sides."
            )

if tab_emerging.open:
    with tab_emerging:
        by = st.segmented_control(
            "Rise in", ["reach", "engagement"], default="reach", required=True, key="infl_emerging_by"
        )
        voices = emerging(engine, f, 20, by)
        st.caption(
            f"Authors whose {by} on the brand rose most against the previous period of the same length "
            "(reach: followers summed over their posts; engagement: likes + shares + comments)."
        )
        if voices.empty:
            st.caption(f"No author's {by} rose against the previous period.")
        else:
            st.dataframe(
                at_handle(voices)[
                    [
                        "handle",
                        "platform",
                        "new",
                        f"{by}_before",
                        by,
                        f"{by}_change",
                        "posts_before",
                        "posts",
                        "net_sentiment",
                    ]
                ],
                hide_index=True,
                placeholder="—",
                column_config={
                    **COMMON,
                    "new": st.column_config.CheckboxColumn("New", help="No post in the previous period"),
                    f"{by}_before": st.column_config.NumberColumn("Before", format="compact"),
                    by: st.column_config.NumberColumn("Now", format="compact"),
                    f"{by}_change": st.column_config.NumberColumn("Rise", format="compact"),
                    "posts_before": st.column_config.NumberColumn("Posts before"),
                },
                key="infl_emerging",
            )

if tab_network.open:
    with tab_network:
        size = st.segmented_control(
            "Authors",
            [15, 30, 50],
            default=30,
            required=True,
            format_func=lambda n: f"top {n}",
            key="infl_net_top",
        )
        nodes, edges = network(engine, f, size)
        st.plotly_chart(
            influencers.network_chart(
                nodes, edges, title=f"Top {size} authors and who they reply to or mention"
            ),
            key="infl_network",
        )
        st.caption(
            f"Large labelled dots: the top {size} authors, sized by influence; small dots: the accounts they "
            f"exchange replies and @mentions with. Colour: net sentiment toward the brand (red negative, green "
            f"positive, grey neutral or none). {len(edges):,} links shown."
        )

if tab_author.open:
    with tab_author:
        options = list(pool.head(max(top, 50)).itertuples(index=False))
        picked = st.selectbox(
            "Author",
            range(len(options)),
            format_func=lambda i: (
                f"#{options[i].rank} @{options[i].handle} · {options[i].platform} · score {options[i].score:.0f}"
            ),
            key="infl_author",
        )
        row = pool.iloc[picked]
        name = f" ({ui.plain(row['display_name'])})" if row["display_name"] else ""
        st.subheader(f"@{ui.plain(row['handle'])}{name}", anchor=False)
        cols = st.columns(4)
        net = row["net_sentiment"]
        cols[0].metric(
            "Influence",
            f"{row['score']:.0f} / 100",
            f"rank #{row['rank']}",
            delta_color="off",
            delta_arrow="off",
        )
        cols[1].metric("Followers", f"{int(row['followers']):,}")
        cols[2].metric(
            "Posts",
            f"{int(row['posts']):,}",
            f"{int(row['active_days'])} active day{'s' if row['active_days'] != 1 else ''}",
            delta_color="off",
            delta_arrow="off",
        )
        cols[3].metric("Net sentiment", "—" if pd.isna(net) else f"{net:+.0f}")
        st.caption("Why here: " + ui.plain(influencers.explain(row)))
        posts = timeline(engine, f, int(row["author_id"]))
        left, right = st.columns([1, 2])
        left.plotly_chart(
            charts.bar_chart(
                [influencers.PART_NAMES[p] for p in PARTS],
                [float(row[f"{p}_part"]) for p in PARTS],
                title="Score parts (0–100)",
                x_title="part",
                y_title="",
                horizontal=True,
            ),
            key="infl_author_parts",
        )
        if posts.empty:
            right.caption("No post of this author in these filters.")
        else:
            grain = "h" if f.length.days <= 3 else "D"
            right.plotly_chart(
                charts.sentiment_bars(
                    influencers.timeline_series(posts, freq=grain, tz=ctx.tz, filters=f),
                    title="Their posts per " + ("hour" if grain == "h" else "day"),
                ),
                key="infl_author_timeline",
            )
            st.dataframe(
                posts[["created_at", "platform", "sentiment", "engagement", "reach", "brands", "text"]],
                hide_index=True,
                column_config={
                    "created_at": st.column_config.DatetimeColumn(
                        "Posted", format="D MMM YYYY, HH:mm", timezone=ctx.tz
                    ),
                    "engagement": st.column_config.NumberColumn("Engagement", format="localized"),
                    "reach": st.column_config.NumberColumn("Reach", format="compact"),
                    "text": st.column_config.TextColumn("Post", width="large"),
                },
                key="infl_author_posts",
            )

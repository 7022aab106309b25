"""Trends: volume, sentiment, share of voice, reach and engagement over time; spikes and terms."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from pages import ui
from scrm import charts
from scrm.filters import Filters
from scrm.spikes import spikes_by_brand
from scrm.trends import resample, series_by_brand, share_of_voice_series, weekday_hour

GRAINS = {
    "Hour": ("h", timedelta(hours=1)),
    "Day": ("D", timedelta(days=1)),
    "Week": ("W-MON", timedelta(days=7)),
}

ctx = ui.context()
engine = ui.get_engine()
f = ctx.filters
st.title("Trends")
st.caption(ctx.period_label)

default_grain = "Hour" if f.length <= timedelta(days=3) else "Day"
grain = (
    st.segmented_control("Granularity", list(GRAINS), default=default_grain, key="trends_grain")
    or default_grain
)
freq, step = GRAINS[grain]

hourly = ui.activity(engine, f)
if hourly.empty:
    ui.empty_state(
        "No mentions match these filters: widen the period or clear the brand, platform and sentiment filters."
    )
    st.stop()
series = series_by_brand(resample(hourly, freq=freq, tz=ctx.tz))
spikes = spikes_by_brand(series, freq=freq)
markers = spikes.rename(columns={"count": "value"})

st.plotly_chart(
    charts.brand_lines(
        series,
        value="mentions",
        names=ctx.names,
        colours=ctx.colours,
        title=f"Mentions per {grain.lower()} by brand (▲ detected spikes)",
        y_title="mentions",
        markers=markers,
    ),
    key="trends_volume",
)
left, right = st.columns(2)
left.plotly_chart(
    charts.sentiment_bars(series, title=f"Sentiment per {grain.lower()}"), key="trends_sentiment"
)
right.plotly_chart(
    charts.brand_lines(
        series,
        value="net_sentiment",
        names=ctx.names,
        colours=ctx.colours,
        title="Net sentiment by brand",
        y_title="net sentiment (−100…100)",
    ),
    key="trends_net",
)
left, right = st.columns(2)
left.plotly_chart(
    charts.share_area(share_of_voice_series(series), names=ctx.names, colours=ctx.colours), key="trends_sov"
)
metric = (
    right.segmented_control("Measure", ["reach", "engagement"], default="reach", key="trends_measure")
    or "reach"
)
right.plotly_chart(
    charts.brand_lines(
        series,
        value=metric,
        names=ctx.names,
        colours=ctx.colours,
        title=f"{metric.capitalize()} per {grain.lower()}",
        y_title="followers reached" if metric == "reach" else "likes + shares + comments",
    ),
    key="trends_reach",
)

st.subheader("Spikes")
if spikes.empty:
    st.caption(
        f"No spike: no {grain.lower()} rose above its trailing 7-day mean + 3 standard deviations "
        "(with a minimum count)."
    )
else:
    options = list(spikes.sort_values("ratio", ascending=False).index)

    def describe(i: int) -> str:
        row = spikes.loc[i]
        return (
            f"{ctx.names.get(row.brand_id, row.brand_id)} — {row.ts:%d %b %Y %H:%M}: {row['count']:,} mentions "
            f"({row.ratio:.1f}× the baseline of {row.baseline_mean:.0f})"
        )

    chosen = st.selectbox("Spike", options, format_func=describe, key="trends_spike")
    row = spikes.loc[chosen]
    start = row.ts.tz_convert("UTC").to_pydatetime()
    window = Filters(
        start=start, end=start + step, brand_ids=(int(row.brand_id),), platforms=f.platforms, labels=f.labels
    )
    left, right = st.columns([1, 2])
    terms = ui.top_terms(engine, window, 12)
    if terms.empty:
        left.caption("No frequent terms in this spike.")
    else:
        left.plotly_chart(
            charts.bar_chart(
                terms["term"],
                terms["posts"],
                title="Top terms in the spike",
                x_title="posts",
                y_title="term",
                horizontal=True,
            ),
            key="trends_spike_terms",
        )
    posts = ui.mention_page(engine, window, sort="engagement", page_size=10).rows
    right.dataframe(
        posts[["created_at", "author", "likes", "shares", "reach", "sentiment", "text"]],
        hide_index=True,
        column_config={
            "created_at": st.column_config.DatetimeColumn("posted", format="D MMM, HH:mm", timezone=ctx.tz),
            "text": st.column_config.TextColumn("post", width="large"),
        },
        key="trends_spike_posts",
    )

st.subheader("Rising terms and hashtags")
st.caption("Against the previous period of the same length; stop words removed, two-word phrases included.")
rising = ui.rising_terms(engine, f, 30)
if rising.empty:
    st.caption("No term rose against the previous period.")
else:
    left, right = st.columns(2)
    for col, part, title in (
        (left, rising[~rising["is_hashtag"]].head(15), "Rising terms"),
        (right, rising[rising["is_hashtag"]].head(15), "Rising hashtags"),
    ):
        if part.empty:
            col.caption(f"{title}: none.")
            continue
        col.plotly_chart(
            charts.bar_chart(
                part["term"],
                part["change"],
                title=f"{title} (more posts than before)",
                x_title="extra posts",
                y_title="term",
                horizontal=True,
            ),
            key=f"trends_{title.split()[1]}",
        )

left, right = st.columns(2)
mix = ui.platform_mix(engine, f)
by_platform = (
    mix.groupby("platform", as_index=False)["mentions"].sum().sort_values("mentions", ascending=False)
)
left.plotly_chart(
    charts.bar_chart(
        by_platform["platform"],
        by_platform["mentions"],
        title="Platform mix",
        x_title="platform",
        y_title="mentions",
    ),
    key="trends_platforms",
)
right.plotly_chart(charts.heatmap(weekday_hour(hourly, tz=ctx.tz), tz=ctx.tz), key="trends_heatmap")

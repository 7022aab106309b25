"""Overview: the executive page — KPIs against the previous period, trends, worst posts, summary."""

from __future__ import annotations

import streamlit as st

from pages import ui
from scrm import charts, inbox, overview, report, responses
from scrm.filters import Filters
from scrm.overview import KPI_HELP, format_delta, format_value
from scrm.timeutil import utcnow
from scrm.trends import DAY, resample, select, series_by_brand

ctx = ui.context()
engine = ui.get_engine()
f = ctx.filters
st.title("Overview")
st.caption(ctx.period_label)

# One query covers both periods for every brand: share of voice and deltas need them.
both = Filters(start=f.previous().start, end=f.end, platforms=f.platforms)
frame = ui.activity(engine, both)
kpis = overview.kpi_cards(frame, filters=f, own_brand_ids=ctx.own_ids)
changes = overview.brand_changes(frame, filters=f)
rising = [c for c in changes if c.negative_rise > 0]
drivers: dict[int, list[str]] = {}
if rising:
    focus = Filters(
        start=f.start, end=f.end, brand_ids=(rising[0].brand_id,), platforms=f.platforms, labels=("negative",)
    )
    drivers[rising[0].brand_id] = overview.driver_terms(
        ui.rising_terms(engine, focus, 12, sample=1000), brand_name=ctx.names.get(rising[0].brand_id, "")
    )
days = max(1, round(f.length.total_seconds() / DAY))
summary = overview.summary_sentences(kpis, changes, names=ctx.names, drivers=drivers, days=days)

cols = [*st.columns(4), *st.columns(3)]
for col, kpi in zip(cols, kpis, strict=False):
    col.metric(
        kpi.label,
        format_value(kpi.value, kpi.unit),
        format_delta(kpi),
        help=KPI_HELP[kpi.key] + f" Previous period: {format_value(kpi.previous, kpi.unit)}.",
        border=True,
        chart_data=[0 if v is None else v for v in kpi.spark],
        chart_type="area" if kpi.unit == "count" else "line",
    )
engage = overview.engage_cards(
    inbox.open_alerts(engine=engine, brand_ids=f.brand_ids),
    responses.summarise(ui.inbound_posts(engine, f)),
    responses.summarise(ui.inbound_posts(engine, f.previous())),
)
for col, kpi in zip(cols[len(kpis) :], engage, strict=True):
    col.metric(
        kpi.label,
        format_value(kpi.value, kpi.unit),
        format_delta(kpi),
        delta_color="inverse",  # fewer alerts and faster answers are better
        help=KPI_HELP[kpi.key] + (f" {kpi.help}." if kpi.help else ""),
        border=True,
    )

st.subheader("What changed")
st.info("  \n".join(ui.plain(s) for s in summary), icon=":material/explore:")

if not kpis[0].value:
    ui.empty_state(
        "No mentions match these filters: widen the period or clear the brand and platform filters."
    )
    st.stop()

series = series_by_brand(resample(select(frame, f), freq="D", tz=ctx.tz))
left, right = st.columns(2)
left.plotly_chart(
    charts.brand_lines(
        series,
        value="mentions",
        names=ctx.names,
        colours=ctx.colours,
        title="Mentions per day",
        y_title="mentions",
    ),
    key="overview_volume",
)
right.plotly_chart(charts.sentiment_bars(series, title="Sentiment per day"), key="overview_sentiment")

st.subheader("Most negative high-reach posts")
worst = ui.mention_page(
    engine,
    Filters(start=f.start, end=f.end, brand_ids=f.brand_ids, platforms=f.platforms, labels=("negative",)),
    sort="reach",
    page_size=10,
)
if worst.total:
    st.dataframe(
        worst.rows[["created_at", "platform", "author", "reach", "compound", "brands", "text"]],
        hide_index=True,
        column_config={
            "created_at": st.column_config.DatetimeColumn(
                "posted", format="D MMM YYYY, HH:mm", timezone=ctx.tz
            ),
            "reach": st.column_config.NumberColumn("reach", format="localized"),
            "compound": st.column_config.NumberColumn("score", format="%.2f"),
            "text": st.column_config.TextColumn("post", width="large"),
        },
        key="overview_worst",
    )
else:
    st.caption("No negative posts in this period.")

if not ctx.present:
    st.download_button(
        "Download this overview as PDF",
        lambda: report.overview_pdf(
            title="scrm — Overview",
            period=ctx.period_label,
            kpis=kpis,
            summary=summary,
            series=series,
            names=ctx.names,
            colours=ctx.colours,
            top_posts=worst.rows,
            generated_at=utcnow(),
        ),
        file_name=f"scrm-overview-{f.end:%Y-%m-%d}.pdf",
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
    )

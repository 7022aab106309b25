"""Segments: what linked customers say by country (a map), region, city, age, income, household,
segment and lifetime value; two segments compared; high-value customers at risk, for the CRM.

Only posts by accounts linked to a customer count. Every figure comes from
:mod:`scrm.segments` (aggregated in SQL for the sidebar's filters). CRM text (names,
cities, segments) is shown through ``st.dataframe`` and escaped chart labels.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from pages import ui
from scrm import segments
from scrm.filters import Filters
from scrm.segments import DIMENSION_NAMES, RiskSettings

TABLE_CONFIG = {
    "net_sentiment": st.column_config.NumberColumn("net sentiment", format="%.0f"),
    "negative_share": st.column_config.NumberColumn("negative %", format="%.0f"),
    "mentions_per_customer": st.column_config.NumberColumn("posts per customer", format="%.1f"),
    "avg_lifetime_value": st.column_config.NumberColumn("avg lifetime value", format="%.0f"),
}
COMPARE_NAMES = {
    "customers": "Customers who posted",
    "mentions": "Posts",
    "mentions_per_customer": "Posts per customer",
    "positive_share": "Positive (% of posts)",
    "negative_share": "Negative (% of posts)",
    "net_sentiment": "Net sentiment",
    "avg_lifetime_value": "Average lifetime value",
}


@st.cache_data(ttl=ui.TTL, max_entries=64, show_spinner=False)
def by_dimension(_engine: Engine, filters: Filters, dimension: str) -> pd.DataFrame:
    """Cached :func:`scrm.segments.by_dimension`."""
    return segments.by_dimension(engine=_engine, filters=filters, dimension=dimension)


@st.cache_data(ttl=ui.TTL, max_entries=16, show_spinner=False)
def overall(_engine: Engine, filters: Filters) -> dict[str, float]:
    """Cached :func:`scrm.segments.overall`."""
    return segments.overall(engine=_engine, filters=filters)


@st.cache_data(ttl=ui.TTL, max_entries=16, show_spinner=False)
def groups(_engine: Engine, dimension: str) -> list[str]:
    """Cached :func:`scrm.segments.groups`."""
    return segments.groups(engine=_engine, dimension=dimension)


@st.cache_data(ttl=ui.TTL, max_entries=16, show_spinner="Finding customers at risk…")
def at_risk(_engine: Engine, filters: Filters, settings: RiskSettings) -> pd.DataFrame:
    """Cached :func:`scrm.segments.at_risk`."""
    return segments.at_risk(engine=_engine, filters=filters, settings=settings)


def net(value: float) -> str:
    """Net sentiment for a metric ("—" when undefined)."""
    return "—" if pd.isna(value) else f"{value:+.0f}"


ctx = ui.context()
engine = ui.get_engine()
f = ctx.filters
st.title("Segments")
st.caption(
    f"{ctx.period_label}. Posts by social accounts linked to a CRM customer, by who those customers are. "
    "Net sentiment = (positive − negative) / (positive + negative) × 100."
)

total = overall(engine, f)
cols = st.columns(4)
cols[0].metric("Customers who posted", f"{total['customers']:,}", border=True)
cols[1].metric("Their posts", f"{total['mentions']:,}", border=True)
cols[2].metric("Negative posts", f"{total['negative']:,}", border=True)
cols[3].metric("Net sentiment", net(total["net_sentiment"]), border=True)

if total["mentions"]:
    st.subheader("By country", anchor=False)
    countries = by_dimension(engine, f, "country")
    measure = st.segmented_control(
        "Colour by",
        ["net_sentiment", "mentions"],
        default="net_sentiment",
        format_func=lambda v: "Net sentiment" if v == "net_sentiment" else "Posts",
        key="segments_map_measure",
    )
    st.plotly_chart(
        segments.country_map(countries, value=measure or "net_sentiment"),
        key="segments_map",
        config={"topojsonURL": "app/static/topojson/"},  # served by scrm itself: no CDN needed
    )
    unmapped = [c for c in countries["country"] if segments.iso3(c) is None]
    if unmapped:
        st.caption("Not on the map (no known country code): " + ", ".join(ui.plain(c) for c in unmapped))
    st.dataframe(countries, hide_index=True, key="segments_country_table", column_config=TABLE_CONFIG)

    st.subheader("By group", anchor=False)
    dims = [d for d in segments.DIMENSIONS if d != "country"]
    for tab, dim in zip(st.tabs([DIMENSION_NAMES[d] for d in dims]), dims, strict=True):
        with tab:
            frame = by_dimension(engine, f, dim)
            st.plotly_chart(
                segments.bars(
                    frame.head(30), dimension=dim, title=f"Posts by {DIMENSION_NAMES[dim].lower()}"
                ),
                key=f"segments_bars_{dim}",
            )
            st.dataframe(frame, hide_index=True, key=f"segments_table_{dim}", column_config=TABLE_CONFIG)
else:
    ui.empty_state(
        "No linked customer posted within these filters: widen the period or clear the filters, and link "
        "customers to social accounts (python -m scrm link, or the review queue on the Data page)."
    )

st.subheader("Compare two segments", anchor=False)
a, b, c = st.columns(3)
dim = a.selectbox(
    "Group by",
    list(segments.DIMENSIONS),
    index=list(segments.DIMENSIONS).index("segment"),
    format_func=DIMENSION_NAMES.get,
    key="segments_compare_dim",
)
options = groups(engine, dim)
if len(options) < 2:
    st.caption("Fewer than two groups to compare: import customers with this field filled in.")
else:
    first = b.selectbox("First", options, index=0, key="segments_compare_a")
    second = c.selectbox("Second", options, index=min(1, len(options) - 1), key="segments_compare_b")
    table = segments.compare(engine=engine, filters=f, dimension=dim, a=first, b=second)
    table["metric"] = table["metric"].map(COMPARE_NAMES)
    st.dataframe(
        table.rename(columns={"a": first, "b": second}) if first != second else table,
        hide_index=True,
        key="segments_compare",
        column_config={
            col: st.column_config.NumberColumn(format="%.1f")
            for col in (first, second, "a", "b", "difference")
        },
    )

st.subheader("High-value customers at risk", anchor=False)
with st.form("segments_risk"):
    a, b, c = st.columns(3)
    top = a.slider("Top share of customers by lifetime value (%)", 5, 50, 20, step=5, key="segments_risk_top")
    days = b.number_input("Recent window (days)", 1, 90, 14, key="segments_risk_days")
    before = c.number_input("Compared with the days before (days)", 7, 365, 90, key="segments_risk_before")
    st.form_submit_button("Update")
settings = RiskSettings(quantile=1 - top / 100, days=int(days), before_days=int(before))
threshold = segments.value_threshold(engine=engine, quantile=settings.quantile)
risky = at_risk(engine, f, settings)
st.caption(
    f"Customers worth at least {'—' if threshold is None else f'{threshold:,.0f}'} (the top {top}%) whose net "
    f"sentiment over the {settings.days} days to the end of the period is below zero and below what it was "
    f"over the {settings.before_days} days before (no opinion before counts as 0). Brand and platform "
    "filters apply."
)
if risky.empty:
    ui.empty_state("No high-value customer turned negative in that window.")
else:
    picked = st.dataframe(
        risky.drop(columns=["customer_id"]),
        hide_index=True,
        key="segments_risk_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "crm_ref": "CRM ref",
            "lifetime_value": st.column_config.NumberColumn("lifetime value", format="localized"),
            "recent_net": st.column_config.NumberColumn("recent net", format="%.0f"),
            "before_net": st.column_config.NumberColumn("net before", format="%.0f"),
            "change": st.column_config.NumberColumn("change", format="%+.0f"),
            "last_post_at": st.column_config.DatetimeColumn(
                "last post", format="D MMM YYYY, HH:mm", timezone=ctx.tz
            ),
        },
    )
    left, right = st.columns([1, 3])
    left.download_button(
        f"Download {len(risky)} for the CRM (CSV)",
        segments.at_risk_csv(risky),
        file_name=f"scrm-at-risk-{f.end:%Y-%m-%d}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="segments_risk_csv",
    )
    if picked.selection.rows and right.button(
        "Open this customer", icon=":material/person_search:", key="segments_open"
    ):
        st.switch_page(
            "pages/customer.py",
            query_params={"customer": str(int(risky["customer_id"].iloc[picked.selection.rows[0]]))},
        )

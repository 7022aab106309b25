"""Leads: posts showing purchase intent or a wish to leave a competitor, and their funnel.

The funnel (new → qualified → contacted → won, or lost), conversion by source and brand, the
leads with audited stage changes, and a formula-safe CSV for the CRM. Every figure comes
from :mod:`scrm.leads`; post text is shown through ``st.dataframe`` only.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from pages import ui
from scrm import leads
from scrm.exceptions import ScrmError
from scrm.filters import Filters

KIND_NAMES = {
    "purchase_intent": "Purchase intent",
    "switching": "Switching",
    "competitor_complaint": "Competitor complaint",
}
WHEN = "D MMM YYYY, HH:mm"
PERCENT = st.column_config.NumberColumn(format="%.1f%%")


@st.cache_data(ttl=ui.TTL, max_entries=32, show_spinner=False)
def funnel(_engine: Engine, filters: Filters) -> pd.DataFrame:
    """Cached :func:`scrm.leads.funnel`."""
    return leads.funnel(engine=_engine, filters=filters)


@st.cache_data(ttl=ui.TTL, max_entries=32, show_spinner=False)
def conversion(_engine: Engine, filters: Filters, by: str) -> pd.DataFrame:
    """Cached :func:`scrm.leads.conversion`."""
    return leads.conversion(engine=_engine, filters=filters, by=by)


@st.cache_data(ttl=ui.TTL, max_entries=32, show_spinner=False)
def lead_table(
    _engine: Engine, filters: Filters, stages: tuple[str, ...], kinds: tuple[str, ...]
) -> pd.DataFrame:
    """Cached :func:`scrm.leads.list_leads`."""
    return leads.list_leads(engine=_engine, filters=filters, stages=stages, kinds=kinds, limit=1000)


def scan(engine: Engine, filters: Filters) -> None:
    """Run the detector over the period's posts, with progress on screen."""
    with st.status("Reading the period's posts for leads…", expanded=True) as status:
        bar = st.progress(0.0)

        def progress(done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"{done:,} of {total:,} posts read")

        stored = leads.find_leads(engine=engine, filters=filters, progress=progress)
        status.update(label=f"{stored:,} new lead{'s' if stored != 1 else ''} found", state="complete")
    st.cache_data.clear()


ctx = ui.context()
engine = ui.get_engine()
f = ctx.filters
st.title("Leads")
st.caption(
    f"{ctx.period_label}. Posts that show purchase intent, or a wish to leave a competitor or a complaint "
    "about one, found by transparent rules (docs/LEADS.md). The sentiment filter does not apply here."
)
if st.button(
    "Find new leads in this period",
    icon=":material/search:",
    help="Reads the period's brand posts that have no lead yet (posts about our own brand count only for "
    "purchase intent: leaving us is churn, handled in the Inbox).",
    key="leads_find",
):
    scan(engine, f)

stages = funnel(engine, f)
total = int(stages["leads"].sum())
won = int(stages.loc[stages["stage"] == "won", "leads"].sum())
lost = int(stages.loc[stages["stage"] == "lost", "leads"].sum())
cols = st.columns(5)
cols[0].metric("Leads", f"{total:,}", border=True)
cols[1].metric("Open", f"{total - won - lost:,}", help="New, qualified or contacted.", border=True)
cols[2].metric("Won", f"{won:,}", border=True)
cols[3].metric(
    "Value won",
    f"{stages.loc[stages['stage'] == 'won', 'value'].sum():,.0f}",
    help="Sum of the values recorded on won leads.",
    border=True,
)
cols[4].metric(
    "Conversion",
    "—" if not total else f"{won / total * 100:.1f}%",
    help="Won leads / all leads of the period.",
    border=True,
)
if not total:
    ui.empty_state(
        "No leads in this period yet: press “Find new leads in this period”, or widen the period "
        "(python -m scrm leads find reads everything)."
    )
    st.stop()

left, right = st.columns([1, 1])
left.plotly_chart(leads.funnel_figure(stages), key="leads_funnel")
with right:
    st.dataframe(
        stages,
        hide_index=True,
        key="leads_stages",
        column_config={"value": st.column_config.NumberColumn("value", format="localized")},
    )
    st.caption("reached: leads that got at least that far on the way to won.")

by_source, by_brand, by_kind = st.tabs(["Conversion by source", "Conversion by brand", "By kind"])
for tab, by in ((by_source, "source"), (by_brand, "brand"), (by_kind, "kind")):
    with tab:
        table = conversion(engine, f, by)
        if by == "kind":
            table[by] = table[by].map(lambda k: KIND_NAMES.get(k, k))
        st.dataframe(
            table,
            hide_index=True,
            key=f"leads_conversion_{by}",
            column_config={
                "value_won": st.column_config.NumberColumn("value won", format="localized"),
                "conversion": PERCENT,
                "win_rate": st.column_config.NumberColumn("win rate", format="%.1f%%"),
            },
        )
        st.caption("source: the platform the post came from; win rate: won / (won + lost).")

st.subheader("Leads", anchor=False)
a, b = st.columns(2)
want_stages = a.multiselect(
    "Stage", list(leads.STAGES), default=list(leads.OPEN_STAGES), key="leads_stage_filter"
)
want_kinds = b.multiselect(
    "Kind", list(leads.KINDS), format_func=KIND_NAMES.get, key="leads_kind_filter", placeholder="All kinds"
)
table = lead_table(engine, f, tuple(want_stages), tuple(want_kinds))
if table.empty:
    ui.empty_state("No lead in these stages and kinds.")
else:
    if len(table) >= 1000:
        st.caption("The 1,000 best leads (highest score, newest first); export the CSV for all of them.")
    picked = st.dataframe(
        table[
            [
                "id",
                "stage",
                "kind",
                "score",
                "value",
                "brand",
                "platform",
                "author",
                "customer",
                "posted_at",
                "text",
                "assignee",
            ]
        ],
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="leads_table",
        column_config={
            "kind": st.column_config.TextColumn("kind"),
            "score": st.column_config.NumberColumn("score", format="%.2f"),
            "value": st.column_config.NumberColumn("value", format="localized"),
            "posted_at": st.column_config.DatetimeColumn("posted", format=WHEN, timezone=ctx.tz),
            "text": st.column_config.TextColumn("post", width="large"),
        },
    )
    chosen = [int(table["id"].iloc[i]) for i in picked.selection.rows]
    if not chosen:
        st.caption("Select leads to move them through the funnel (several at once for bulk).")
    else:
        with st.form("leads_move"):
            a, b, c, d = st.columns(4)
            user = a.text_input("Your name (for the audit trail)", key="leads_user")
            stage = b.selectbox("Move to", [s for s in leads.STAGES if s != "new"], key="leads_target")
            value = c.number_input(
                "Value (optional)", min_value=0.0, value=None, step=100.0, key="leads_value"
            )
            assignee = d.text_input("Assign to (optional)", key="leads_assignee")
            if st.form_submit_button(f"Move {len(chosen)} lead{'s' if len(chosen) > 1 else ''}"):
                try:
                    done = leads.move(
                        engine=engine,
                        lead_ids=chosen,
                        stage=stage,
                        user=user,
                        value=value,
                        assignee=assignee.strip() or None,
                    )
                except ScrmError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"{done.changed} lead{'s' if done.changed != 1 else ''} moved to {stage}.")
                    for lead_id, why in done.skipped.items():
                        st.warning(f"Lead #{lead_id} {why}.")
                    st.cache_data.clear()

st.download_button(
    "Download the period's leads (CSV for the CRM)",
    lambda: leads.leads_csv_bytes(engine=engine, filters=f),
    file_name=f"scrm-leads-{f.end:%Y-%m-%d}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    key="leads_csv",
)

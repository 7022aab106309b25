"""Inbox: alerts and posts that need a response, the workflow on them, and response times."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import ui
from scrm import charts, inbox, responses
from scrm.exceptions import ScrmError
from scrm.models import ALERT_STATUSES
from scrm.timeutil import utcnow

ctx = ui.context()
engine = ui.get_engine()
f = ctx.filters
st.title("Inbox")
st.caption(
    "Alerts and complaints waiting for the team, most urgent first. SLA targets: first response within "
    + ", ".join(f"P{p} {s / 3600:g} h" for p, s in responses.ALERT_SLA_S.items())
    + f" for alerts; {responses.POST_SLA_S / 3600:g} h for a complaint."
)


def hours(seconds: float | None) -> str:
    """Seconds as hours for a metric ("—" when undefined)."""
    return "—" if seconds is None or pd.isna(seconds) else f"{seconds / 3600:.1f} h"


def in_hours(frame: pd.DataFrame) -> pd.DataFrame:
    """A summary table with its ``*_s`` durations shown in hours."""
    durations = [c for c in frame.columns if c.endswith("_s")]
    return frame.assign(**{c: frame[c].astype(float) / 3600 for c in durations}).rename(
        columns={c: c[:-2].replace("_", " ") + " (h)" for c in durations}
    )


counts = inbox.open_alerts(engine=engine, brand_ids=f.brand_ids)
posts = ui.inbound_posts(engine, f)
post_figures = responses.summarise(posts)
alerts_in_period = responses.alert_waits(engine=engine, filters=f)
alert_figures = responses.summarise(alerts_in_period)
cols = st.columns(5)
cols[0].metric(
    "Open alerts", f"{counts['open']:,}", help="Alerts not resolved yet, whatever their age.", border=True
)
cols[1].metric("Open P1", f"{counts['p1']:,}", border=True)
cols[2].metric("Past SLA, unanswered", f"{counts['breached']:,}", border=True)
cols[3].metric(
    "Median first response (alerts)",
    hours(alert_figures["median_first_response_s"]),
    help="From the alert's onset to the first response recorded here, alerts of the period.",
    border=True,
)
cols[4].metric(
    "Median first response (posts)",
    hours(post_figures["median_first_response_s"]),
    help="From a complaint to the brand account's first reply, posts of the period.",
    border=True,
)

queue_tab, posts_tab, times_tab = st.tabs(["Alerts", "Posts awaiting a response", "Response times"])

with queue_tab:
    left, right = st.columns([2, 1])
    statuses = left.multiselect("Status", list(ALERT_STATUSES), default=list(inbox.OPEN), key="inbox_status")
    queue = inbox.alert_queue(engine=engine, statuses=statuses or inbox.OPEN, brand_ids=f.brand_ids)
    if queue.empty:
        ui.empty_state(
            "No alert in these statuses: the alert rules raise them as mentions arrive (see docs/ALERTS.md)."
        )
    else:
        queue["priority"] = "P" + queue["priority"].astype(str)
        queue["sla_left_h"] = queue["sla_left_s"] / 3600
        picked = st.dataframe(
            queue[
                [
                    "id",
                    "priority",
                    "status",
                    "brand",
                    "kind",
                    "title",
                    "assignee",
                    "onset_at",
                    "sla_left_h",
                    "mentions",
                ]
            ],
            hide_index=True,
            on_select="rerun",
            selection_mode="multi-row",
            key="inbox_queue",
            column_config={
                "onset_at": st.column_config.DatetimeColumn("onset", format="D MMM, HH:mm", timezone=ctx.tz),
                "sla_left_h": st.column_config.NumberColumn("SLA left (h)", format="%.1f"),
                "title": st.column_config.TextColumn("alert", width="large"),
            },
        )
        chosen = [int(queue["id"].iloc[i]) for i in picked.selection.rows]
        if not chosen:
            st.caption(
                "Select alerts to see their posts and history, and to act on them (several at once for bulk)."
            )
        else:
            with st.form("inbox_action"):
                a, b, c = st.columns(3)
                user = a.text_input("Your name (for the audit trail)", key="inbox_user")
                action = b.selectbox("Action", list(inbox.ACTIONS), key="inbox_action_kind")
                assignee = c.text_input("Assign to (for assign)", key="inbox_assignee")
                response = st.text_area("Response sent (for respond)", key="inbox_response")
                note = st.text_input("Note", key="inbox_note")
                if st.form_submit_button(f"Apply to {len(chosen)} alert{'s' if len(chosen) > 1 else ''}"):
                    try:
                        done = inbox.act(
                            engine=engine,
                            alert_ids=chosen,
                            action=action,
                            user=user,
                            note=note,
                            response=response,
                            assignee=assignee,
                        )
                    except ScrmError as exc:
                        st.error(str(exc))
                    else:
                        st.success(f"{done.changed} alert{'s' if done.changed != 1 else ''} updated.")
                        for alert_id, why in done.skipped.items():
                            st.warning(f"Alert #{alert_id} {why}.")
                        st.cache_data.clear()
            alert = inbox.get_alert(engine=engine, alert_id=chosen[0])
            st.subheader(f"Alert #{alert['id']}")
            st.text(alert["title"])
            parts = pd.DataFrame(
                [{"part": k, "value": str(v)} for k, v in (alert["detail"] or {}).items()],
                columns=["part", "value"],
            )
            left, right = st.columns([1, 2])
            left.caption("Why this priority")
            left.dataframe(parts, hide_index=True, key="inbox_parts")
            right.caption("Posts grouped in this alert (highest reach first)")
            right.dataframe(
                inbox.alert_mentions(engine=engine, alert_id=alert["id"]),
                hide_index=True,
                key="inbox_posts",
                column_config={
                    "created_at": st.column_config.DatetimeColumn(
                        "posted", format="D MMM, HH:mm", timezone=ctx.tz
                    ),
                    "text": st.column_config.TextColumn("post", width="large"),
                    "url": st.column_config.LinkColumn("link", validate=r"^https?://"),
                },
            )
            st.caption("History")
            st.dataframe(
                inbox.events(engine=engine, alert_id=alert["id"]), hide_index=True, key="inbox_events"
            )

with posts_tab:
    waiting = responses.awaiting(engine=engine, filters=f, now=utcnow())
    if waiting.empty:
        ui.empty_state("Every complaint of the period has an answer from a brand account.")
    else:
        waiting["brand"] = waiting["brand_id"].map(ctx.names)
        waiting["waited_h"] = waiting["waited_s"] / 3600
        st.dataframe(
            waiting[["created_at", "waited_h", "brand", "platform", "author", "text", "url"]],
            hide_index=True,
            key="inbox_waiting",
            column_config={
                "created_at": st.column_config.DatetimeColumn(
                    "posted", format="D MMM, HH:mm", timezone=ctx.tz
                ),
                "waited_h": st.column_config.NumberColumn("waiting (h)", format="%.1f"),
                "text": st.column_config.TextColumn("post", width="large"),
                "url": st.column_config.LinkColumn("link", validate=r"^https?://"),
            },
        )

with times_tab:
    if posts.empty:
        ui.empty_state(
            "No inbound posts in this period: declare the brand's accounts when importing (--brand-account)."
        )
    else:
        by_brand = responses.summarise_by(posts, "brand_id")
        by_brand.insert(0, "brand", by_brand["brand_id"].map(ctx.names))
        st.dataframe(in_hours(by_brand.drop(columns=["brand_id"])), hide_index=True, key="inbox_by_brand")
        days = posts.assign(ts=posts["created_at"].dt.tz_convert(ctx.tz).dt.floor("D"))
        daily = responses.summarise_by(days, ["ts", "brand_id"])
        daily["median_h"] = daily["median_first_response_s"] / 3600
        st.plotly_chart(
            charts.brand_lines(
                daily,
                value="median_h",
                names=ctx.names,
                colours=ctx.colours,
                title="Median first response per day",
                y_title="hours",
            ),
            key="inbox_daily",
        )
        st.dataframe(
            in_hours(responses.summarise_by(posts, "platform")), hide_index=True, key="inbox_by_platform"
        )
    if not alerts_in_period.empty:
        st.subheader("Alerts: response and resolution")
        for by in ("priority", "assignee"):
            table = in_hours(responses.alert_summary_by(alerts_in_period, by))
            st.dataframe(table, hide_index=True, key=f"inbox_alerts_{by}")

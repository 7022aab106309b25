"""Mentions explorer: full-text search, sorting, server-side pages, a post's detail, relabelling, CSV.

Thin on purpose: widgets in, ``scrm`` calls, rendering out. Every count comes from
:func:`scrm.search.search_mentions`; post, author and brand text is shown as text
(``st.dataframe`` cells, ``st.text``, escaped markdown), never as HTML or markdown.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from pages import ui
from scrm import charts, export, linking, search
from scrm.exceptions import NotFoundError, ScrmError
from scrm.models import LABELS
from scrm.scoring import set_label

SORT_NAMES = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "reach": "Highest reach",
    "engagement": "Most engagement",
    "most negative": "Most negative",
    "most positive": "Most positive",
}
PAGE_SIZES = (25, 50, 100, 200)
LABEL_ICONS = {
    "positive": ":material/sentiment_satisfied:",
    "neutral": ":material/sentiment_neutral:",
    "negative": ":material/sentiment_dissatisfied:",
}
LABEL_COLOURS = {"positive": "#2e7d32", "neutral": "#757575", "negative": "#c62828"}
BADGE_COLOURS = {"positive": "green", "neutral": "gray", "negative": "red"}
CLEAR = "clear"
CHOICE_NAMES = {
    "positive": ":material/sentiment_satisfied: Positive",
    "neutral": ":material/sentiment_neutral: Neutral",
    "negative": ":material/sentiment_dissatisfied: Negative",
    CLEAR: ":material/undo: Clear override",
}
TABLE = "mentions_table"
NO_SELECTION = {"selection": {"rows": [], "columns": [], "cells": []}}
WHEN = "D MMM YYYY, HH:mm"
SHORT_WHEN = "D MMM, HH:mm"


def select_rows(positions: Sequence[int]) -> None:
    """Set the table's row selection (before the table is drawn in this run)."""
    st.session_state[TABLE] = {"selection": {"rows": list(positions), "columns": [], "cells": []}}


def relabel(ids: list[int]) -> None:
    """The relabel form's submit: apply the choice to ``ids``, audited, then refresh every page."""
    state = st.session_state
    user = (state.get("mentions_user") or "").strip()
    choice = state.get("mentions_new_label")
    if not user:
        state["mentions_flash"] = ("error", "Enter your name: every label change records who made it.")
        return
    if choice is None:
        state["mentions_flash"] = ("error", "Choose a label (or clear the override) first.")
        return
    try:
        changed = set_label(
            engine=ui.get_engine(),
            mention_ids=ids,
            label=None if choice == CLEAR else choice,
            user=user,
            note=state.get("mentions_note") or "",
        )
    except ScrmError as exc:
        state["mentions_flash"] = ("error", str(exc))
        return
    st.cache_data.clear()  # every page (KPIs, trends, this table) shows the new labels
    if choice == CLEAR:
        done = f"Override cleared on {changed} of {len(ids)} selected mentions."
        same = "Nothing changed: the selected mentions had no override."
    else:
        done = f"Relabelled {changed} of {len(ids)} selected mentions as {choice}."
        same = f"Nothing changed: the selected mentions were already labelled {choice} by a person."
    state["mentions_flash"] = ("success", done) if changed else ("info", same)
    state["mentions_reselect"] = ids


def unique_labels(words: Sequence[str]) -> list[str]:
    """Words made unique for a bar chart's axis ("bad", "bad (2)")."""
    seen: dict[str, int] = {}
    out = []
    for word in words:
        seen[word] = seen.get(word, 0) + 1
        out.append(word if seen[word] == 1 else f"{word} ({seen[word]})")
    return out


ctx = ui.context()
engine = ui.get_engine()
f = ctx.filters
st.title("Mentions")
st.caption(ctx.period_label)

# ---- search, sort, page size -------------------------------------------------------------
controls = st.columns([6, 2, 1], vertical_alignment="bottom")
text = controls[0].text_input(
    "Search posts",
    key="mentions_search",
    type="search",
    placeholder="Words that must all appear, e.g. refund outage",
    help="Full-text search: every word must appear (case and accents ignored). Operators and "
    "punctuation are ignored.",
)
text = (text or "").strip()
sort = controls[1].selectbox("Sort by", list(search.SORTS), format_func=SORT_NAMES.get, key="mentions_sort")
size = controls[2].selectbox("Per page", PAGE_SIZES, index=1, key="mentions_page_size")

# A new search (or filters, sort, page size) starts at page 1 with nothing selected.
signature = (f, text, sort, size)
if st.session_state.get("mentions_signature") != signature:
    st.session_state["mentions_signature"] = signature
    st.session_state.pop("mentions_page", None)  # the pager starts again at its default, 1
    select_rows([])
page_no = int(st.session_state.get("mentions_page") or 1)
if st.session_state.get("mentions_last_page") != page_no:
    st.session_state["mentions_last_page"] = page_no
    select_rows([])

try:
    result = ui.mention_page(engine, f, text, sort, page_no, size)
    if page_no > result.pages:  # fewer matches than when this page was chosen
        page_no = result.pages
        st.session_state.pop("mentions_page", None)  # the pager restarts at this last page
        result = ui.mention_page(engine, f, text, sort, page_no, size)
except ScrmError as exc:
    st.error(str(exc))
    st.stop()

flash = st.session_state.pop("mentions_flash", None)
if flash:
    kind, message = flash
    {"error": st.error, "success": st.success, "info": st.info}[kind](message)

if not result.total:
    if text:
        ui.empty_state(
            "No mentions match: clear the search or widen the period, brands, platforms or "
            "sentiment in the sidebar."
        )
    else:
        ui.empty_state(
            "No mentions match: widen the period or clear the brand, platform and sentiment filters."
        )
    st.stop()

# ---- count, page number, download -------------------------------------------------------
bar = st.columns([5, 2], vertical_alignment="bottom")
bar[0].markdown(
    f"**{result.total:,}** matching mention{'s' if result.total != 1 else ''}, "
    f"page **{page_no:,}** of **{result.pages:,}**",
    help="Counted in the database over every match; only this page's rows are loaded.",
)
bar[1].download_button(
    f"Download all {result.total:,} as CSV" if result.total > 1 else "Download as CSV",
    data=lambda: export.mentions_csv_bytes(engine=engine, filters=f, text=text),
    file_name=f"scrm-mentions-{f.start:%Y%m%d}-{f.end:%Y%m%d}.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
    help="Every matching mention (not just this page), streamed from the database. Cells a "
    "spreadsheet would run as formulas start with an apostrophe.",
    width="stretch",
    key="mentions_download",
)

# ---- results -------------------------------------------------------------------------
rows = result.rows
reselect = st.session_state.pop("mentions_reselect", None)
if reselect is not None:  # after a relabel, keep the same mentions selected if still listed
    ids = rows["id"].tolist()
    select_rows([ids.index(i) for i in reselect if i in ids])
table = pd.DataFrame(
    {
        "posted": rows["created_at"],
        "author": rows["author"],
        "post": rows["text"],
        "sentiment": [
            f"{s} ✎" if o else s for s, o in zip(rows["sentiment"], rows["overridden"], strict=True)
        ],
        "score": rows["compound"],
        "engagement": rows["engagement"],
        "reach": rows["reach"],
        "brands": [b.split(";") if b else [] for b in rows["brands"]],
        "link": [search.safe_url(u) for u in rows["url"]],
    }
)
styled = table.style.map(
    lambda v: f"color: {LABEL_COLOURS[v.split()[0]]}; font-weight: 600", subset=["sentiment"]
)
event = st.dataframe(
    styled,
    key=TABLE,
    on_select="rerun",
    selection_mode="multi-row",
    hide_index=True,
    height=min(38 + 35 * len(table), 640),
    column_config={
        "posted": st.column_config.DatetimeColumn("Posted", format=SHORT_WHEN, timezone=ctx.tz, width=110),
        "author": st.column_config.TextColumn("Author", width=115),
        "post": st.column_config.TextColumn("Post", width=330),
        "sentiment": st.column_config.TextColumn("Sentiment", width=88, help="✎ set by a person"),
        "score": st.column_config.NumberColumn(
            "Score", format="%+.2f", width=58, help="VADER compound, −1 to 1"
        ),
        "engagement": st.column_config.NumberColumn(
            "Engagement", format="localized", width=90, help="Likes + shares + comments"
        ),
        "reach": st.column_config.NumberColumn(
            "Reach", format="localized", width=72, help="Author's followers"
        ),
        "brands": st.column_config.ListColumn("Brands", width=110),
        "link": st.column_config.LinkColumn(
            "Link", display_text="↗", width=42, help="The original post (http/https only)"
        ),
    },
)
if result.pages > 1:
    st.pagination(result.pages, default=page_no, key="mentions_page", max_visible_pages=9, width="stretch")
positions = [i for i in event.selection.rows if 0 <= i < len(rows)]
selected = [int(rows["id"].iloc[i]) for i in positions]

# ---- detail of the first selected mention ----------------------------------------------
st.divider()
if not selected:
    st.info(
        "Select a row (the box at its left) to read the post, see its author and the words that "
        "drove its sentiment, and relabel it. Select several rows to relabel them together.",
        icon=":material/touch_app:",
    )
    st.stop()

try:
    detail = search.get_mention(engine=engine, mention_id=selected[0])
except NotFoundError as exc:
    st.warning(f"{exc}: it was deleted meanwhile. Select another row.")
    st.stop()

tz = ctx.tz
posted = pd.Timestamp(detail.created_at).tz_convert(tz)
left, right = st.columns([3, 2], gap="large")
with left:
    more = f" (and {len(selected) - 1} more selected)" if len(selected) > 1 else ""
    st.subheader(f"Post{more}")
    with st.container(border=True):
        who = detail.author_name or detail.author_handle or "unknown author"
        handle = f" @{detail.author_handle}" if detail.author_handle and detail.author_name else ""
        verified = " ✔" if detail.author_verified else ""
        st.markdown(f"**{ui.plain(who)}**{ui.plain(handle)}{verified}")
        st.caption(
            f"{ui.plain(detail.platform)} · {posted:%d %b %Y, %H:%M} ({ui.plain(tz)}) · "
            f"{detail.author_followers:,} followers"
        )
        st.text(detail.text)
        if detail.brands:
            st.caption("Brands: " + ui.plain(", ".join(detail.brands)))
        links = st.columns(2)
        if detail.url:
            links[0].link_button("Open the post", detail.url, icon=":material/open_in_new:")
        else:
            links[0].caption("No link to the post (only http and https links are shown).")
        if detail.author_url:
            links[1].link_button("Author's profile", detail.author_url, icon=":material/person:")
        customer = (
            linking.customer_of(engine=engine, platform=detail.platform, handle=detail.author_handle)
            if detail.author_handle
            else None
        )
        if customer:
            value = (
                "" if customer.lifetime_value is None else f", lifetime value {customer.lifetime_value:,.0f}"
            )
            st.page_link(
                "pages/customer.py",
                label=ui.plain(
                    f"Customer {customer.name or customer.crm_ref} ({customer.segment or 'no segment'}{value})"
                ),
                icon=":material/person_search:",
                query_params={"customer": str(customer.id)},
            )
with right:
    st.subheader("Sentiment")
    label = detail.effective_label
    badges = st.columns([1, 2], vertical_alignment="center")
    badges[0].badge(label.capitalize(), color=BADGE_COLOURS.get(label, "gray"), icon=LABEL_ICONS.get(label))
    badges[1].markdown(f"compound score **{detail.compound:+.3f}**")
    if detail.overridden:
        when = pd.Timestamp(detail.override_at).tz_convert(tz) if detail.override_at else None
        st.caption(
            f"✎ Set by {ui.plain(detail.override_by or 'unknown')}"
            + (f" on {when:%d %b %Y, %H:%M}" if when is not None else "")
            + f"; the model said {detail.label}."
        )
    else:
        st.caption("Computed by VADER: ≥ +0.05 positive, ≤ −0.05 negative, neutral between.")
    words = detail.explanation.words
    if words:
        names = unique_labels([w.word for w in words])
        values = [w.valence for w in words]
        fig = charts.bar_chart(
            names,
            values,
            title="Words that drove the score",
            x_title="valence (after negation, boosters, caps)",
            y_title="",
            colours=[charts.SENTIMENT_COLOURS["positive" if v > 0 else "negative"] for v in values],
            horizontal=True,
        )
        fig.update_layout(height=max(220, 60 + 28 * len(names)), showlegend=False)
        st.plotly_chart(fig, key="mentions_explain")
    else:
        st.caption("No word of this post is in the sentiment lexicon, so it scores neutral.")

metrics = st.columns(5)
for col, (name, value, tip) in zip(
    metrics,
    [
        ("Likes", detail.likes, None),
        ("Shares", detail.shares, None),
        ("Comments", detail.comments, None),
        ("Engagement", detail.engagement, "Likes + shares + comments"),
        ("Reach", detail.reach, "The author's followers when posting (potential impressions)"),
    ],
    strict=True,
):
    col.metric(name, f"{value:,}", border=True, help=tip)

# ---- relabel the selection, and the selected mention's audit -----------------------------
left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Relabel")
    with st.form("mentions_relabel", border=True):
        st.segmented_control(
            f"New label for the {len(selected)} selected mention{'s' if len(selected) > 1 else ''}",
            [*LABELS, CLEAR],
            format_func=CHOICE_NAMES.get,
            key="mentions_new_label",
        )
        names_row = st.columns(2)
        names_row[0].text_input("Your name", key="mentions_user", placeholder="Recorded with the change")
        names_row[1].text_input("Note (optional)", key="mentions_note", max_chars=500)
        st.form_submit_button(
            f"Apply to {len(selected)} selected",
            type="primary",
            icon=":material/label:",
            on_click=relabel,
            args=(selected,),
        )
with right:
    st.subheader("Label history")
    history = search.label_history(engine=engine, mention_id=detail.id)
    if history:
        st.dataframe(
            pd.DataFrame(
                {
                    "when": [h.at for h in history],
                    "who": [h.user for h in history],
                    "change": [
                        f"{h.from_label} → {h.to_label}" + (" (override cleared)" if h.cleared else "")
                        for h in history
                    ],
                    "note": [h.note for h in history],
                }
            ),
            hide_index=True,
            key="mentions_history",
            column_config={
                "when": st.column_config.DatetimeColumn("When", format=WHEN, timezone=tz),
                "who": st.column_config.TextColumn("Who"),
                "change": st.column_config.TextColumn("Change"),
                "note": st.column_config.TextColumn("Note"),
            },
        )
    else:
        st.caption("No one has changed this post's label.")

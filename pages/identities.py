"""Identities (admin): import CRM customers, link them to social accounts, review and fix links."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from pages import ui
from scrm import admin, linking
from scrm.customers import import_customers
from scrm.exceptions import ScrmError

UPLOAD_TYPES = ["csv", "json", "ndjson", "gz"]
PLATFORMS = ["twitter", "reddit", "facebook", "instagram", "tiktok", "youtube", "linkedin", "news", "other"]

ctx = ui.context()
engine = ui.get_engine()


def user_name() -> str | None:
    """The name typed in "Your name", or None after showing an error."""
    name = (st.session_state.get("ident_user") or "").strip()
    if not name:
        st.error("Type your name first: every change is recorded with it.", icon=":material/error:")
        return None
    return name


def show_import(result: dict[str, Any]) -> None:
    """The counts of the last customer import and its rejected rows."""
    st.caption(f"Import of {ui.plain(result['file'])} ({result['format']}) took {result['seconds']:.1f} s.")
    cols = st.columns(4)
    for col, (key, label) in zip(
        cols,
        [
            ("read", "Rows read"),
            ("stored", "New customers"),
            ("updated", "Updated"),
            ("rejected", "Rejected"),
        ],
        strict=True,
    ):
        col.metric(label, f"{result[key]:,}", border=True)
    if result["rejections"]:
        st.markdown("**Rejected rows**")
        st.dataframe(pd.DataFrame(result["rejections"]), hide_index=True, key="ident_rejections")


def import_section() -> None:
    st.subheader("Import customers")
    st.caption(
        "A CRM export: CSV with a header row, a JSON array or NDJSON, optionally gzipped. "
        "Customers are matched by their CRM reference: re-importing updates them."
    )
    uploaded = st.file_uploader("Customer file", type=UPLOAD_TYPES, key="ident_upload")
    if uploaded is None:
        ui.forget_upload("ident_saved_upload")
    else:
        path = ui.saved_upload(uploaded, "ident_saved_upload")
        try:
            preview = admin.preview_file(path, display_name=uploaded.name)
        except ScrmError as exc:
            st.error(ui.plain(exc), icon=":material/error:")
            return
        st.caption(f"{ui.plain(preview.name)}: the first {len(preview.rows)} rows.")
        st.dataframe(preview.rows, key="ident_preview", height=250)
        if st.button("Import customers", type="primary", icon=":material/upload:", key="ident_import"):
            bar = st.progress(0.0, text="Starting the import…")

            def progress(done: int, total: int) -> None:
                bar.progress(
                    min(done / max(total, 1), 1.0), text=f"{done / 1e6:,.1f} of {total / 1e6:,.1f} MB read"
                )

            try:
                result = import_customers(path, engine=engine, progress=progress, display_name=uploaded.name)
            except ScrmError as exc:
                bar.empty()
                st.error(ui.plain(exc), icon=":material/error:")
                return
            st.session_state["ident_last_import"] = result.to_dict()
            st.cache_data.clear()
    if "ident_last_import" in st.session_state:
        show_import(st.session_state["ident_last_import"])


def link_section() -> None:
    st.subheader("Link")
    st.caption(
        "Link social accounts to customers: exact handles and e-mails at once, close names "
        "to the review queue below. Running it again adds only what is new."
    )
    if st.button("Link accounts to customers", icon=":material/link:", key="ident_link"):
        try:
            with st.spinner("Linking…"):
                result = linking.link(engine=engine)
        except ScrmError as exc:
            st.error(ui.plain(exc), icon=":material/error:")
            return
        st.session_state["ident_last_link"] = result.to_dict()
        st.cache_data.clear()
    if "ident_last_link" in st.session_state:
        done = st.session_state["ident_last_link"]
        cols = st.columns(4)
        for col, (key, label) in zip(
            cols,
            [
                ("linked", "Linked"),
                ("queued", "Queued for review"),
                ("customers", "Customers"),
                ("authors", "Accounts"),
            ],
            strict=True,
        ):
            col.metric(label, f"{done[key]:,}", border=True)


def review_section() -> None:
    st.subheader("Review queue")
    queue = linking.review_queue(engine=engine, limit=500)
    if queue.empty:
        ui.empty_state("No candidates to review: run Link above after importing customers.")
        return
    st.caption(f"{len(queue):,} candidates, most confident first. Select one to accept or reject it.")
    event = st.dataframe(
        queue,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "id": st.column_config.NumberColumn("#", format="%d"),
            "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0),
            "reason": st.column_config.TextColumn("reason", width="medium"),
        },
        key="ident_queue",
    )
    rows = event.selection.rows if event is not None else []
    note = st.text_input("Note (for a rejection)", max_chars=500, key="ident_reject_note")
    left, right, _ = st.columns([1, 1, 4])
    accept = left.button(
        "Accept", type="primary", icon=":material/check:", key="ident_accept", disabled=not rows
    )
    reject = right.button("Reject", icon=":material/close:", key="ident_reject", disabled=not rows)
    if not (accept or reject) or not rows:
        return
    user = user_name()
    if user is None:
        return
    cand = queue.iloc[rows[0]]
    try:
        if accept:
            linking.accept(engine=engine, candidate_id=int(cand["id"]), user=user)
        else:
            linking.reject(engine=engine, candidate_id=int(cand["id"]), user=user, note=note or "")
    except ScrmError as exc:
        st.error(ui.plain(exc), icon=":material/error:")
        return
    st.cache_data.clear()
    verb = "Linked" if accept else "Rejected"
    st.session_state["ident_message"] = (
        f"{verb}: {ui.plain(cand['platform'])} handle {ui.plain(cand['handle'])} "
        f"and customer {ui.plain(cand['crm_ref'])}."
    )
    st.rerun()  # the queue without the decided candidate


def manual_section() -> None:
    st.subheader("Manual link")
    with st.form("ident_manual_form", border=True):
        cols = st.columns(3)
        platform = cols[0].selectbox("Platform", PLATFORMS, key="ident_manual_platform")
        handle = cols[1].text_input("Handle", max_chars=300, key="ident_manual_handle")
        crm_ref = cols[2].text_input("CRM reference", max_chars=100, key="ident_manual_ref")
        submitted = st.form_submit_button("Link by hand", type="primary", key="ident_manual_submit")
    if submitted:
        user = user_name()
        if user is not None:
            try:
                linking.manual_link(
                    engine=engine,
                    platform=platform or "",
                    handle=handle or "",
                    crm_ref=(crm_ref or "").strip(),
                    user=user,
                )
            except ScrmError as exc:
                st.error(ui.plain(exc), icon=":material/error:")
            else:
                st.cache_data.clear()
                st.success(
                    f"Linked {ui.plain(platform)} handle {ui.plain(handle)} to customer {ui.plain(crm_ref)}.",
                    icon=":material/check_circle:",
                )

    st.subheader("Unlink")
    with st.form("ident_unlink_form", border=True):
        cols = st.columns(3)
        platform = cols[0].selectbox("Platform of the account", PLATFORMS, key="ident_unlink_platform")
        handle = cols[1].text_input("Handle to unlink", max_chars=300, key="ident_unlink_handle")
        note = cols[2].text_input("Why", max_chars=500, key="ident_unlink_note")
        submitted = st.form_submit_button("Unlink", key="ident_unlink_submit")
    if submitted:
        user = user_name()
        if user is not None:
            try:
                linking.unlink(
                    engine=engine, platform=platform or "", handle=handle or "", user=user, note=note or ""
                )
            except ScrmError as exc:
                st.error(ui.plain(exc), icon=":material/error:")
            else:
                st.cache_data.clear()
                st.success(
                    f"Unlinked {ui.plain(platform)} handle {ui.plain(handle)}.", icon=":material/link_off:"
                )


st.title("Identities")
st.caption("Which social accounts belong to which CRM customers.")
import_section()
st.divider()
link_section()
st.divider()
st.text_input(
    "Your name",
    max_chars=100,
    help="Recorded with every accept, reject, link and unlink",
    key="ident_user",
)
if "ident_message" in st.session_state:
    st.success(st.session_state.pop("ident_message"), icon=":material/check_circle:")
review_section()
st.divider()
manual_section()

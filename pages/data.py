"""Data (admin): import mention files, the import history, brands and their queries, re-scoring."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from pages import ui
from scrm import admin
from scrm.brands import add_brand, edit_brand, suggest_colour
from scrm.config import get_settings
from scrm.exceptions import ScrmError
from scrm.ingest import reddit
from scrm.ingest.mapping import FIELDS
from scrm.ingest.pipeline import import_file
from scrm.scoring import rescore

UPLOAD_TYPES = ["csv", "tsv", "json", "ndjson", "jsonl", "gz"]
PLATFORMS = ["twitter", "reddit", "facebook", "instagram", "tiktok", "youtube", "linkedin", "news", "other"]
FIELD_HELP = {
    "external_id": "The post's id on its platform (re-imports update instead of duplicating)",
    "platform": "A column naming each row's platform (else the platform chosen below)",
    "text": "The post text (required)",
    "created_at": "When it was posted (required); naive times take the timezone below",
    "author": "The author's handle",
    "followers": "The author's followers when posting (reach)",
    "likes": "Likes, favourites, reactions or score",
    "shares": "Shares, retweets or reposts",
    "comments": "Comments or replies",
    "reach": "Impressions or views (else followers)",
    "url": "A link to the post",
    "brand": "Brand names (separated by ; or |) linked to each row, besides query matches",
    "parent_id": "The id of the post this one replies to",
    "language": "The language code",
    "inbound": "True for posts addressed to the brand (for response times); yes/no, true/false, 1/0",
}
NUMBER = st.column_config.NumberColumn(format="localized")

ctx = ui.context()
engine = ui.get_engine()


@st.cache_data(ttl=60, max_entries=4)
def history(_engine: Engine, limit: int = admin.HISTORY_LIMIT) -> pd.DataFrame:
    """Cached :func:`scrm.admin.import_history`."""
    return admin.import_history(engine=_engine, limit=limit)


@st.cache_data(ttl=60, max_entries=4)
def brand_table(_engine: Engine) -> pd.DataFrame:
    """Cached :func:`scrm.admin.brand_table`."""
    return admin.brand_table(engine=_engine)


@st.cache_data(ttl=60, max_entries=4)
def mention_count(_engine: Engine) -> int:
    """Cached :func:`scrm.admin.mention_count`."""
    return admin.mention_count(engine=_engine)


@st.cache_data(ttl=120, max_entries=64)
def query_matches(_engine: Engine, query: str, sample: int = admin.QUERY_SAMPLE) -> tuple[int, int]:
    """Cached :func:`scrm.admin.count_query_matches`."""
    return admin.count_query_matches(engine=_engine, query=query, sample=sample)


@st.cache_data(ttl=3600)
def timezones() -> list[str]:
    """Every IANA timezone, UTC first."""
    return ["UTC", *sorted(z for z in available_timezones() if z != "UTC")]


def show_rejections(batch_id: int, *, key: str) -> None:
    """The rows of an import that were not stored, as a table, with a CSV download."""
    rows = admin.batch_rejections(engine=engine, batch_id=batch_id, limit=1000)
    if rows.empty:
        st.caption("Every row of this import was stored or updated.")
        return
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "row": st.column_config.NumberColumn(
                "row", help="Line number (CSV, NDJSON) or element number (JSON)"
            ),
            "reason": st.column_config.TextColumn("reason", width="large"),
            "raw": st.column_config.TextColumn("raw content", width="large"),
        },
        key=f"{key}_table",
    )
    st.download_button(
        "Download the rows not stored (CSV)",
        lambda: admin.rejections_csv(engine=engine, batch_id=batch_id),
        file_name=f"scrm-import-{batch_id}-rejected.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=f"{key}_download",
    )


def show_result(result: dict[str, Any]) -> None:
    """The counts of the last import and its rejected rows."""
    st.subheader("Import result")
    st.caption(
        f"Import #{result['batch_id']} of {ui.plain(result['file'])} ({result['format']}) "
        f"took {result['seconds']:.1f} s."
    )
    cols = st.columns(5)
    for col, (key, label, tip) in zip(
        cols,
        [
            ("read", "Rows read", "Records read from the file"),
            ("stored", "New mentions", "Mentions stored for the first time"),
            ("updated", "Updated", "Known posts whose likes, shares, comments or reach changed"),
            ("duplicates", "Duplicates", "Rows already stored unchanged, or repeated in the file"),
            ("rejected", "Rejected", "Rows with a value that cannot be used; see the table below"),
        ],
        strict=True,
    ):
        col.metric(label, f"{result[key]:,}", help=tip, border=True)
    if result["rejected"] or result["duplicates"]:
        st.markdown("**Rows not stored** — rejected rows and rows repeated within the file")
        show_rejections(result["batch_id"], key="data_result_rejections")


def mapping_editor(preview: admin.FilePreview, file_key: str) -> dict[str, str | None]:
    """One selectbox per field, preset to the detected column; returns the choices."""
    options: list[str | None] = [None, *preview.columns]
    chosen: dict[str, str | None] = {}
    grid = st.columns(4)
    for i, fld in enumerate(FIELDS):
        detected = preview.mapping.get(fld)
        label = f"{fld} *" if fld in admin.REQUIRED_FIELDS else fld
        chosen[fld] = grid[i % 4].selectbox(
            label,
            options,
            index=options.index(detected) if detected in options else 0,
            format_func=lambda c: "— not mapped —" if c is None else c,
            help=FIELD_HELP.get(fld),
            key=f"data_map_{file_key}_{fld}",
        )
    return chosen


def import_tab() -> None:
    st.markdown(
        "Upload mentions exported from a social tool or platform: CSV or TSV with a header row, a JSON "
        "array, or NDJSON (one object per line), optionally gzipped. Importing the same file twice adds "
        "nothing; a newer export of known posts updates their metrics."
    )
    uploaded = st.file_uploader("Mention file", type=UPLOAD_TYPES, key="data_upload")
    if uploaded is None:
        ui.forget_upload("data_saved_upload")
        if "data_last_import" in st.session_state:
            show_result(st.session_state["data_last_import"])
        return
    path = ui.saved_upload(uploaded, "data_saved_upload")
    try:
        preview = admin.preview_file(path, display_name=uploaded.name)
    except ScrmError as exc:
        st.error(ui.plain(exc), icon=":material/error:")
        return
    packed = "gzipped " if preview.compressed else ""
    st.caption(
        f"{ui.plain(preview.name)}: {packed}{preview.format.upper()}, {len(preview.columns)} columns. "
        f"The first {len(preview.rows)} rows:"
    )
    st.dataframe(preview.rows, key="data_preview", height=300)
    for row, reason in preview.row_errors:
        st.warning(f"Row {row} cannot be read: {ui.plain(reason)}", icon=":material/warning:")

    st.subheader("Column mapping")
    st.caption("Columns were detected from their names. Change any field; * marks the required ones.")
    chosen = mapping_editor(preview, uploaded.file_id)
    try:
        mapping = admin.resolve_mapping(preview.columns, chosen)
    except ScrmError as exc:
        st.error(ui.plain(exc), icon=":material/error:")
        return
    kept = [f for f, c in chosen.items() if c is None and f in mapping]
    if kept:
        st.warning(
            "The importer still reads "
            + ", ".join(f"{f} from column {ui.plain(mapping[f])}" for f in kept)
            + " (detected by name): pick another column for it to change that.",
            icon=":material/info:",
        )
    ignored = [c for c in preview.columns if c not in mapping.values()]
    if ignored:
        shown = ", ".join(ignored[:25]) + (f" and {len(ignored) - 25} more" if len(ignored) > 25 else "")
        st.caption(f"Columns not imported: {ui.plain(shown)}")

    st.subheader("Options")
    left, mid, right = st.columns(3)
    platform_options = (
        PLATFORMS if not preview.platform or preview.platform in PLATFORMS else [preview.platform, *PLATFORMS]
    )
    if "platform" in mapping:
        platform = None
        left.text_input(
            "Platform",
            f"from column {mapping['platform']}",
            disabled=True,
            key=f"data_platform_col_{uploaded.file_id}",
        )
    else:
        platform = left.selectbox(
            "Platform",
            platform_options,
            index=platform_options.index(preview.platform or "other"),
            accept_new_options=True,
            help="The platform of every row (type another name if it is not listed)",
            key=f"data_platform_{uploaded.file_id}",
        )
    brand = mid.selectbox(
        "Brand (optional)",
        [b.name for b in ctx.brands],
        index=None,
        placeholder="Match by the brands' queries",
        accept_new_options=True,
        help="Link every row to this brand, besides the brands whose query matches (a new name creates it)",
        key="data_import_brand",
    )
    zones = timezones()
    tz = right.selectbox(
        "Timezone of naive times",
        zones,
        index=zones.index(ctx.tz) if ctx.tz in zones else 0,
        help="Dates without an offset are read in this timezone",
        key="data_import_tz",
    )
    if st.button("Import", type="primary", icon=":material/upload:", key="data_import_button"):
        bar = st.progress(0.0, text="Starting the import…")

        def progress(done: int, total: int) -> None:
            bar.progress(
                min(done / max(total, 1), 1.0), text=f"{done / 1e6:,.1f} of {total / 1e6:,.1f} MB read"
            )

        try:
            result = import_file(
                path,
                engine=engine,
                platform=(platform or "").strip().lower() or None,
                brand=(brand or "").strip() or None,
                mapping={f: c for f, c in chosen.items() if c},
                timezone=tz,
                display_name=uploaded.name,
                progress=progress,
            )
        except ScrmError as exc:
            bar.empty()
            st.error(ui.plain(exc), icon=":material/error:")
            return
        st.session_state["data_last_import"] = result.to_dict()
        st.cache_data.clear()  # every dashboard must show the new rows
        st.rerun()
    if "data_last_import" in st.session_state:
        show_result(st.session_state["data_last_import"])


def history_tab() -> None:
    frame = history(engine)
    if frame.empty:
        ui.empty_state("No imports yet: upload a file in the Import tab.")
        return
    st.caption(f"The latest {len(frame):,} imports, newest first. Times in {ctx.tz}.")
    st.dataframe(
        frame,
        hide_index=True,
        column_order=[
            "id",
            "started_at",
            "source",
            "file_name",
            "status",
            "read",
            "stored",
            "updated",
            "duplicates",
            "rejected",
            "error",
        ],
        column_config={
            "id": st.column_config.NumberColumn("#", format="%d"),
            "started_at": st.column_config.DatetimeColumn(
                "when", format="D MMM YYYY, HH:mm", timezone=ctx.tz
            ),
            "file_name": st.column_config.TextColumn("file"),
            "read": NUMBER,
            "stored": NUMBER,
            "updated": NUMBER,
            "duplicates": NUMBER,
            "rejected": NUMBER,
            "error": st.column_config.TextColumn("error", width="medium"),
        },
        key="data_history",
    )
    with_rows = frame[(frame["rejected"] > 0) | (frame["duplicates"] > 0)]
    if with_rows.empty:
        return
    labels = {int(r.id): f"#{r.id} — {r.file_name} ({r.rejected:,} rejected)" for r in with_rows.itertuples()}
    batch = st.selectbox(
        "Rows not stored by import", list(labels), format_func=labels.get, key="data_history_batch"
    )
    if batch is not None:
        show_rejections(batch, key="data_history_rejections")


@st.fragment
def brand_editor() -> None:
    brands = brand_table(engine)
    names = dict(zip(brands["id"].astype(int), brands["name"], strict=True))
    target = st.selectbox(
        "Add or edit",
        [0, *names],
        format_func=lambda i: "+ New brand" if i == 0 else f"Edit {names[i]}",
        key="data_brand_target",
    )
    row = brands[brands["id"] == target].iloc[0] if target else None
    left, right = st.columns([3, 1])
    name = left.text_input(
        "Name", "" if row is None else row["name"], max_chars=200, key=f"data_brand_name_{target}"
    )
    colour = right.color_picker(
        "Colour",
        suggest_colour(engine=engine) if row is None else (row["colour"] or "#7f7f7f"),
        help="The brand's colour on every chart",
        key=f"data_brand_colour_{target}",
    )
    query = st.text_area(
        "Query",
        "" if row is None else row["query"],
        height=90,
        max_chars=4000,
        placeholder='"northwind bank" OR northwind OR @northwind NOT "northwind trail"',
        help='Words, "phrases", AND, OR, NOT, parentheses, #hashtag, @handle, author:name, prefix*. '
        "Press Ctrl+Enter to check it.",
        key=f"data_brand_query_{target}",
    )
    is_own = st.toggle(
        "Our own brand", bool(row is not None and row["is_own"]), key=f"data_brand_own_{target}"
    )
    problem = admin.query_error(query or "")
    if problem:
        st.error(f"Query error: {ui.plain(problem[0])}", icon=":material/error:")
        st.code(problem[1], language=None)
    elif (query or "").strip():
        matched, sampled = query_matches(engine, query)
        if sampled:
            st.info(
                f"{matched:,} of the latest {sampled:,} mentions match this query.", icon=":material/search:"
            )
        else:
            st.caption("No mentions stored yet to test the query on.")
    else:
        st.caption("Without a query the brand gets only the mentions an import links to it by name.")
    if target:
        st.caption("A changed query applies to mentions imported from now on.")
    if st.button("Add brand" if not target else "Save changes", type="primary", key="data_brand_save"):
        try:
            if target:
                saved = edit_brand(
                    engine=engine,
                    name=names[target],
                    new_name=name if name != names[target] else None,
                    query=query or "",
                    is_own=is_own,
                    colour=colour,
                )
            else:
                saved = add_brand(
                    engine=engine, name=name or "", query=query or "", is_own=is_own, colour=colour
                )
        except ScrmError as exc:
            st.error(ui.plain(exc), icon=":material/error:")
            return
        st.cache_data.clear()
        st.session_state["data_brand_saved"] = saved.name
        if not target:  # an empty form for the next brand
            for key in [
                k for k in st.session_state if str(k).startswith("data_brand_") and str(k).endswith("_0")
            ]:
                del st.session_state[key]
        st.rerun()


def brands_tab() -> None:
    saved = st.session_state.pop("data_brand_saved", None)
    if saved:
        st.success(f"Saved brand {ui.plain(saved)}.", icon=":material/check_circle:")
    brands = brand_table(engine)
    if brands.empty:
        ui.empty_state("No brands yet: add your own brand and its competitors below.")
    else:
        st.dataframe(
            brands,
            hide_index=True,
            column_order=["name", "is_own", "query", "colour", "mentions"],
            column_config={
                "name": st.column_config.TextColumn("brand"),
                "is_own": st.column_config.CheckboxColumn("own"),
                "query": st.column_config.TextColumn("query", width="large"),
                "mentions": st.column_config.NumberColumn("mentions", format="localized"),
            },
            key="data_brands",
        )
    with st.container(border=True):
        brand_editor()


def rescore_tab() -> None:
    settings = get_settings()
    total = mention_count(engine)
    st.markdown(
        f"Score the sentiment of all **{total:,}** stored mentions again, for example after a change "
        "to the lexicon. Labels set by hand are kept: they win over the computed label."
    )
    lexicon = st.toggle(
        "Use the customer-service domain lexicon",
        settings.domain_lexicon,
        help="Adds banking and customer-service words to VADER's lexicon (SCRM_DOMAIN_LEXICON)",
        key="data_rescore_lexicon",
    )
    if st.button("Re-score all mentions", icon=":material/refresh:", disabled=not total, key="data_rescore"):
        bar = st.progress(0.0, text="Scoring…")

        def progress(done: int, all_: int) -> None:
            bar.progress(min(done / max(all_, 1), 1.0), text=f"{done:,} of {all_:,} mentions scored")

        try:
            done = rescore(engine=engine, all_mentions=True, domain_lexicon=lexicon, progress=progress)
        except ScrmError as exc:
            st.error(ui.plain(exc), icon=":material/error:")
            return
        st.cache_data.clear()
        st.session_state["data_rescored"] = done
    if "data_rescored" in st.session_state:
        st.success(
            f"{st.session_state['data_rescored']:,} mentions re-scored.", icon=":material/check_circle:"
        )


@st.cache_data(ttl=60, max_entries=4)
def reddit_runs(_engine: Engine, limit: int = 50) -> pd.DataFrame:
    """Cached :func:`scrm.ingest.reddit.list_runs`."""
    return reddit.list_runs(engine=_engine, limit=limit)


def reddit_tab() -> None:
    settings = get_settings()
    st.markdown(
        "Collect new posts and comments from Reddit: a search for each brand's query terms, and every "
        "new post and comment of the monitored subreddits. Each run reads only what is new; the same "
        "command runs from cron: `python -m scrm collect reddit`."
    )
    st.dataframe(
        pd.DataFrame(reddit.settings_view(settings)),
        hide_index=True,
        column_config={"variable": st.column_config.TextColumn("environment variable")},
        key="data_reddit_settings",
    )
    missing = reddit.missing_credentials(settings)
    if missing:
        st.warning(
            f"Not set: {', '.join(missing)}. Set them in the environment, `.env` or "
            "`.streamlit/secrets.toml` (or a praw.ini site); README, 'Listening to Reddit'.",
            icon=":material/key:",
        )
    names = brand_table(engine)["name"].tolist()
    with st.form("data_reddit_form", border=False):
        chosen = st.multiselect("Brands to search for", names, default=names, key="data_reddit_brands")
        subs = st.text_input(
            "Subreddits to monitor (new posts and comments)",
            settings.reddit_subreddits,
            help="Comma-separated names, e.g. banking, personalfinance (SCRM_REDDIT_SUBREDDITS)",
            key="data_reddit_subs",
        )
        limit = st.number_input(
            "At most this many items", 1, 1_000_000, settings.reddit_max_items, key="data_reddit_limit"
        )
        go = st.form_submit_button("Collect now", icon=":material/download:", key="data_reddit_collect")
    if go:
        bar = st.progress(0.0, text="Collecting from Reddit…")

        def progress(done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"{done:,} items read")

        try:
            result = reddit.collect_reddit(
                engine=engine,
                brands=chosen,
                subreddits=[s for s in subs.replace(",", " ").split() if s],
                limit=int(limit),
                progress=progress,
                trigger="page",
                settings=settings,
            )
        except ScrmError as exc:
            bar.empty()
            st.error(ui.plain(exc), icon=":material/error:")
        else:
            bar.progress(1.0, text="Done")
            st.session_state["data_reddit_last"] = result.to_dict()
            st.cache_data.clear()  # every dashboard must show the new rows
    last = st.session_state.get("data_reddit_last")
    if last:
        text = (
            f"Run {last['run_id']}: {last['fetched']:,} items read, {last['stored']:,} stored, "
            f"{last['updated']:,} updated, {last['duplicates']:,} already there, "
            f"{last['skipped']:,} skipped; {last['requests']:,} requests in {last['seconds']:.1f} s."
        )
        if last["stopped"]:
            text += f" Stopped at {last['stopped']}: the next run goes on from there."
        if last["errors"]:
            st.warning(text + " Errors: " + "; ".join(last["errors"]), icon=":material/warning:")
        else:
            st.success(text, icon=":material/check_circle:")
    st.subheader("Runs")
    runs = reddit_runs(engine)
    if runs.empty:
        ui.empty_state("No Reddit runs yet: press Collect now, or run `python -m scrm collect reddit`.")
        return
    st.dataframe(
        runs,
        hide_index=True,
        column_order=[
            "id",
            "started_at",
            "trigger",
            "status",
            "fetched",
            "stored",
            "updated",
            "duplicates",
            "skipped",
            "errors",
            "requests",
            "seconds",
            "stopped",
            "error",
        ],
        column_config={
            "id": st.column_config.NumberColumn("#", format="%d"),
            "started_at": st.column_config.DatetimeColumn(
                "when", format="D MMM YYYY, HH:mm", timezone=ctx.tz
            ),
            "fetched": NUMBER,
            "stored": NUMBER,
            "updated": NUMBER,
            "duplicates": NUMBER,
            "skipped": NUMBER,
            "errors": NUMBER,
            "requests": NUMBER,
            "seconds": st.column_config.NumberColumn("seconds", format="%.1f"),
            "error": st.column_config.TextColumn("what failed", width="large"),
        },
        key="data_reddit_runs",
    )


st.title("Data")
st.caption("Import mentions, follow past imports, manage the tracked brands and re-score sentiment.")
tab_import, tab_history, tab_brands, tab_rescore, tab_reddit = st.tabs(
    ["Import", "History", "Brands", "Re-score", "Reddit"]
)
with tab_import:
    import_tab()
with tab_history:
    history_tab()
with tab_brands:
    brands_tab()
with tab_rescore:
    rescore_tab()
with tab_reddit:
    reddit_tab()

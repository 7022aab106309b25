"""Sentiment quality (admin, analyst): how well the scores agree with human ratings."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from pages import ui
from scrm import admin, charts
from scrm.config import get_settings
from scrm.evaluation import EvalReport, evaluate_ground_truth, evaluate_labelled_csv
from scrm.exceptions import ScrmError
from scrm.models import LABELS

SET_NAMES = {
    "tweets": "Tweets",
    "nyt_editorials": "NYT editorials",
    "movie_reviews": "Movie reviews",
    "amazon_reviews": "Amazon reviews",
}
METRICS_CAPTION = (
    "**n**: texts rated. **Pearson r**: correlation of the compound score (−1…1) with the human mean "
    "rating (−4…4). **Accuracy**: share of texts whose label (positive ≥ 0.05, negative ≤ −0.05, else "
    "neutral) equals the human label (mean ≥ 0.5 positive, ≤ −0.5 negative, else neutral). "
    "**Macro-F1**: the mean over the three labels of F1, the harmonic mean of precision (of the texts "
    "given a label, the share humans gave it too) and recall (of the texts humans gave a label, the "
    "share found)."
)


@st.cache_data(ttl=24 * 3600, max_entries=4, show_spinner="Scoring the ground-truth sets…")
def ground_truth(directory: str, domain_lexicon: bool) -> list[EvalReport]:
    """Cached :func:`scrm.evaluation.evaluate_ground_truth` (it takes seconds)."""
    return evaluate_ground_truth(Path(directory), domain_lexicon=domain_lexicon)


def show_reports(reports: list[EvalReport], *, key: str) -> None:
    """The metrics table and, for a chosen set, its confusion matrix and F1 per label."""
    table = admin.evaluation_table(reports)
    table["set"] = [SET_NAMES.get(name, name) for name in table["set"]]
    config = {
        "set": st.column_config.TextColumn("set"),
        "n": st.column_config.NumberColumn("n", format="localized"),
        "pearson_r": st.column_config.NumberColumn("Pearson r", format="%.3f"),
        "accuracy": st.column_config.NumberColumn("accuracy", format="%.1f%%"),
        "macro_f1": st.column_config.NumberColumn("macro-F1", format="%.3f"),
        "skipped": st.column_config.NumberColumn("skipped", help="Rows without a usable label or text"),
    }
    table["accuracy"] *= 100
    for column in table.columns:
        if column.startswith(("precision_", "recall_")):
            kind, label = column.split("_", 1)
            table[column] *= 100
            config[column] = st.column_config.NumberColumn(f"{label[:3]}. {kind}", format="%.1f%%")
    order = [c for c in table.columns if c != "skipped" or table["skipped"].any()]
    st.dataframe(
        table, hide_index=True, column_order=order, column_config=config, placeholder="—", key=f"{key}_table"
    )
    chosen = 0
    if len(reports) > 1:
        chosen = st.columns([1, 2])[0].selectbox(
            "Data set",
            range(len(reports)),
            format_func=lambda i: SET_NAMES.get(reports[i].name, reports[i].name),
            key=f"{key}_set",
        )
    report = reports[chosen]
    name = SET_NAMES.get(report.name, report.name)
    left, right = st.columns([3, 2])
    left.plotly_chart(
        charts.confusion_heatmap(report.confusion, title=f"Confusion matrix — {name}"),
        key=f"{key}_confusion",
    )
    right.plotly_chart(
        charts.bar_chart(
            list(LABELS),
            [round(report.per_class[label]["f1"], 3) for label in LABELS],
            title=f"F1 by label — {name}",
            x_title="label",
            y_title="F1 (0–1)",
            colours=[charts.SENTIMENT_COLOURS[label] for label in LABELS],
        ),
        key=f"{key}_f1",
    )


def saved_upload(uploaded: Any) -> Path:
    """The upload copied to a temp file, once per uploaded file."""
    saved = st.session_state.get("quality_saved_upload")
    if saved and saved[0] == uploaded.file_id and Path(saved[1]).exists():
        return Path(saved[1])
    if saved:
        shutil.rmtree(Path(saved[1]).parent, ignore_errors=True)
    path = admin.save_upload(uploaded, uploaded.name, tempfile.mkdtemp(prefix="scrm-labelled-"))
    st.session_state["quality_saved_upload"] = (uploaded.file_id, str(path))
    return path


settings = get_settings()
ui.context()  # run through the router (see ui.context), like every page
st.title("Sentiment quality")
st.caption(
    "How closely the sentiment scores agree with people: on the human-rated sets published with VADER "
    "(Hutto & Gilbert, 2014) and on your own labelled posts."
)
lexicon = st.toggle(
    "Customer-service domain lexicon",
    settings.domain_lexicon,
    help="Score with the banking and customer-service words added to VADER's lexicon (as imports do "
    "when SCRM_DOMAIN_LEXICON is true)",
    key="quality_lexicon",
)

st.header("VADER ground truth")
directory = settings.ground_truth_dir
if not directory.is_dir():
    st.warning(
        f"No ground-truth data at {ui.plain(directory)}. Download the VADER ground-truth files "
        "(tweets_GroundTruth.txt, nytEditorialSnippets_GroundTruth.txt, movieReviewSnippets_GroundTruth.txt, "
        "amazonReviewSnippets_GroundTruth.txt) into a folder and set `SCRM_GROUND_TRUTH_DIR` to it, then "
        "restart the app.",
        icon=":material/warning:",
    )
else:
    try:
        reports = ground_truth(str(directory), lexicon)
    except ScrmError as exc:
        st.warning(
            f"{ui.plain(exc)}. Put the VADER ground-truth files in that folder or set "
            "`SCRM_GROUND_TRUTH_DIR` to the folder that holds them.",
            icon=":material/warning:",
        )
    else:
        show_reports(reports, key="quality_gt")
st.caption(METRICS_CAPTION)

st.header("Your labelled data")
st.markdown(
    "Upload a CSV with a header row, a column of post texts and a column of labels: positive, neutral, "
    "negative (or pos/neu/neg, 1/0/−1), or numeric ratings (−1…1 read by sign, otherwise the −4…4 scale)."
)
uploaded = st.file_uploader("Labelled CSV", type=["csv"], key="quality_upload")
if uploaded is None and "quality_saved_upload" in st.session_state:
    shutil.rmtree(Path(st.session_state.pop("quality_saved_upload")[1]).parent, ignore_errors=True)
if uploaded is not None:
    path = saved_upload(uploaded)
    try:
        columns = admin.csv_header(path)
    except ScrmError as exc:
        st.error(ui.plain(exc), icon=":material/error:")
        columns = []
    if columns:
        text_guess, label_guess = admin.guess_columns(columns)
        left, right = st.columns(2)
        text_column = left.selectbox(
            "Text column",
            columns,
            index=columns.index(text_guess) if text_guess else 0,
            key=f"quality_text_{uploaded.file_id}",
        )
        label_column = right.selectbox(
            "Label column",
            columns,
            index=columns.index(label_guess) if label_guess else min(1, len(columns) - 1),
            key=f"quality_label_{uploaded.file_id}",
        )
        if st.button("Evaluate", type="primary", icon=":material/analytics:", key="quality_evaluate"):
            if text_column == label_column:
                st.error("Choose different columns for the text and the label.", icon=":material/error:")
            else:
                try:
                    with st.spinner("Scoring your texts…"):
                        result = evaluate_labelled_csv(
                            path,
                            text_column=text_column,
                            label_column=label_column,
                            domain_lexicon=lexicon,
                            name=Path(admin.safe_file_name(uploaded.name)).stem,
                        )
                except ScrmError as exc:
                    st.error(ui.plain(exc), icon=":material/error:")
                else:
                    st.session_state["quality_upload_report"] = (
                        (uploaded.file_id, text_column, label_column, lexicon),
                        result,
                    )
        done = st.session_state.get("quality_upload_report")
        if done and done[0] == (uploaded.file_id, text_column, label_column, lexicon):
            result: EvalReport = done[1]
            if result.skipped:
                st.caption(f"{result.skipped:,} rows skipped: no usable label or text.")
            show_reports([result], key="quality_upload")

"""The Sentiment quality page through the real router: ground truth, uploads, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scrm import admin
from scrm.evaluation import evaluate_ground_truth, evaluate_labelled_csv
from scrm.models import LABELS

PAGE = "pages/quality.py"
TWEETS = [
    (2.6, "I love this bank, great service!"),
    (-2.9, "my card was blocked again, awful"),
    (-2.1, "the app is down, outage all day"),
    (0.1, "the branch opens at nine"),
    (1.8, "they refunded me quickly"),
    (-1.5, "delayed transfer, again"),
    (0.0, "new card arrived today"),
    (3.1, "best support ever, thank you"),
]
AMAZON = [
    (2.0, "works well, happy with it"),
    (-2.5, "broke after a day, terrible"),
    (0.2, "it is a phone case"),
    (-0.8, "not great, not awful"),
    (1.1, "good value"),
]
LABELLED = (
    "id,tweet,airline_sentiment\n"
    "1,I love it,positive\n"
    "2,awful delays again,negative\n"
    "3,flight at nine,neutral\n"
    "4,the outage ruined my day,negative\n"
    "5,thanks for the quick refund,positive\n"
    "6,,positive\n"
    "7,meh,unknown\n"
)


@pytest.fixture
def ground_truth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small ground-truth folder (two of the four sets) that the settings point at."""
    folder = tmp_path / "vader_ground_truth"
    folder.mkdir()
    for name, rows in (("tweets_GroundTruth.txt", TWEETS), ("amazonReviewSnippets_GroundTruth.txt", AMAZON)):
        (folder / name).write_text("".join(f"{i}\t{m}\t{t}\n" for i, (m, t) in enumerate(rows, 1)))
    monkeypatch.setenv("SCRM_GROUND_TRUTH_DIR", str(folder))
    return folder


def _table(at: AppTest, index: int = 0) -> pd.DataFrame:
    return at.dataframe[index].value


def _chart(at: AppTest, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if c.key == key)
    return json.loads(chart.proto.spec)


def _assert_table_equals(shown: pd.DataFrame, expected: pd.DataFrame, names: list[str]) -> None:
    """The page's table equals scrm's (accuracy, precision and recall are shown in %)."""
    assert list(shown["set"]) == names
    for col in expected.columns:
        if col == "set":
            continue
        scale = 100 if col == "accuracy" or col.startswith(("precision_", "recall_")) else 1
        for got, want in zip(shown[col], expected[col] * scale, strict=True):
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert got is None or pd.isna(got), col
            else:
                assert got == pytest.approx(want), col


def test_ground_truth_table_and_confusion_matrix(run_page, ground_truth: Path) -> None:
    at = run_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Sentiment quality"
    expected = admin.evaluation_table(evaluate_ground_truth(ground_truth))
    _assert_table_equals(_table(at), expected, ["Tweets", "Amazon reviews"])
    assert list(_table(at)["n"]) == [len(TWEETS), len(AMAZON)]

    reports = evaluate_ground_truth(ground_truth)
    assert _chart(at, "quality_gt_confusion")["data"][0]["z"] == reports[0].confusion
    at.selectbox(key="quality_gt_set").set_value(1).run()
    assert not at.exception
    spec = _chart(at, "quality_gt_confusion")
    assert spec["data"][0]["z"] == reports[1].confusion
    assert "Amazon reviews" in spec["layout"]["title"]["text"]
    f1 = _chart(at, "quality_gt_f1")["data"][0]
    assert f1["y"] == [round(reports[1].per_class[label]["f1"], 3) for label in LABELS]
    assert any("Macro-F1" in c.value for c in at.caption)  # the metrics are explained


def test_domain_lexicon_toggle(run_page, ground_truth: Path) -> None:
    at = run_page(PAGE)
    with_lexicon = _table(at)
    at.toggle(key="quality_lexicon").set_value(False).run()
    assert not at.exception
    without = admin.evaluation_table(evaluate_ground_truth(ground_truth, domain_lexicon=False))
    _assert_table_equals(_table(at), without, ["Tweets", "Amazon reviews"])
    assert list(with_lexicon["accuracy"]) != list(_table(at)["accuracy"])  # the lexicon matters here


def test_missing_ground_truth_is_a_warning_with_what_to_do(run_page, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCRM_GROUND_TRUTH_DIR", str(tmp_path / "nowhere"))
    at = run_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert any("No ground-truth data" in w and "SCRM_GROUND_TRUTH_DIR" in w for w in warnings), warnings
    assert not at.dataframe


def test_empty_ground_truth_folder_is_a_warning(run_page, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("SCRM_GROUND_TRUTH_DIR", str(tmp_path / "empty"))
    at = run_page(PAGE)
    assert not at.exception
    assert any("No ground-truth files" in w.value.replace("\\", "") for w in at.warning)


def test_labelled_csv_upload(run_page, ground_truth: Path, tmp_path: Path) -> None:
    at = run_page(PAGE)
    at.file_uploader(key="quality_upload").set_value(("airline.csv", LABELLED.encode(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    text_box = next(b for b in at.selectbox if b.key.startswith("quality_text_"))
    label_box = next(b for b in at.selectbox if b.key.startswith("quality_label_"))
    assert (text_box.value, label_box.value) == ("tweet", "airline_sentiment")
    assert list(text_box.options) == ["id", "tweet", "airline_sentiment"]
    at.button(key="quality_evaluate").click().run()
    assert not at.exception, [e.value for e in at.exception]

    path = tmp_path / "airline.csv"
    path.write_text(LABELLED)
    report = evaluate_labelled_csv(path, text_column="tweet", label_column="airline_sentiment")
    assert (report.n, report.skipped) == (5, 2)
    shown = _table(at, -1)
    _assert_table_equals(shown, admin.evaluation_table([report]), ["airline"])
    assert _chart(at, "quality_upload_confusion")["data"][0]["z"] == report.confusion
    assert any("2 rows skipped" in c.value for c in at.caption)


def test_labelled_csv_errors(run_page, ground_truth: Path) -> None:
    at = run_page(PAGE)
    at.file_uploader(key="quality_upload").set_value(("x.csv", b"\xff\xfe\x00b\x00a\x00d", "text/csv")).run()
    assert not at.exception
    assert any("Cannot read x.csv as UTF" in e.value.replace("\\", "") for e in at.error)

    at.file_uploader(key="quality_upload").set_value(("y.csv", LABELLED.encode(), "text/csv")).run()
    label_box = next(b for b in at.selectbox if b.key.startswith("quality_label_"))
    label_box.set_value("id").run()  # numbers 1..7 on the −4…4 scale: evaluated, no error
    at.button(key="quality_evaluate").click().run()
    assert not at.exception
    assert not at.error
    next(b for b in at.selectbox if b.key.startswith("quality_label_")).set_value("tweet").run()
    at.button(key="quality_evaluate").click().run()
    assert any("different columns" in e.value for e in at.error)


def test_upload_with_no_usable_labels_is_an_error(run_page, ground_truth: Path) -> None:
    at = run_page(PAGE)
    data = b"text,label\nhello,maybe\nworld,perhaps\n"
    at.file_uploader(key="quality_upload").set_value(("z.csv", data, "text/csv")).run()
    at.button(key="quality_evaluate").click().run()
    assert not at.exception
    assert any("No labelled rows" in e.value for e in at.error)

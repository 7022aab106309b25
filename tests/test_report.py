"""The Overview PDF: pages, metadata, literal text from strangers, empty periods, determinism.

matplotlib writes text as glyph ids in compressed streams, so the words on a page cannot be
found in the bytes: the tests read them from the figures' text artists (``overview_figures``)
and, where poppler's ``pdftotext`` is installed, from the PDF itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from scrm.charts import FALLBACK
from scrm.overview import Kpi
from scrm.report import overview_figures, overview_pdf

START = datetime(2026, 11, 18, tzinfo=UTC)
GENERATED = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
HOSTILE = "$5 fee $$$ <img src=x onerror=alert(1)> \\frac{1}{2} $x^2$"
SERIES_COLUMNS = ["ts", "brand_id", "mentions", "reach", "engagement", "positive", "neutral", "negative"]
POST_COLUMNS = ["created_at", "platform", "author", "text", "sentiment", "compound", "reach"]


def kpis(empty: bool = False) -> list[Kpi]:
    spark = (0.0,) * 7 if empty else (3.0, 5.0, 4.0, 9.0, 7.0, 8.0, 12.0)
    return [
        Kpi("mentions", "Mentions", 0 if empty else 48, 0 if empty else 40, "count", spark),
        Kpi("net_sentiment", "Net sentiment", None if empty else -20.0, None, "score", (None,) * 7),
        Kpi("share_of_voice", "Share of voice (own)", None if empty else 55.0, 50.0, "percent", spark),
    ]


def series() -> pd.DataFrame:
    rows = [
        (START + timedelta(days=d), brand, 5 + d * brand, 1000, 50, 2, 1, d + brand)
        for brand in (1, 2)
        for d in range(4)
    ]
    frame = pd.DataFrame(rows, columns=SERIES_COLUMNS)
    frame["net_sentiment"] = (
        (frame["positive"] - frame["negative"]) / (frame["positive"] + frame["negative"]) * 100
    )
    return frame


def posts(*texts: str, author: str = "@someone") -> pd.DataFrame:
    return pd.DataFrame(
        [
            (START + timedelta(hours=i), "reddit", author, text, "negative", -0.9, 12_000)
            for i, text in enumerate(texts)
        ],
        columns=POST_COLUMNS,
    )


def report_args(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "title": "scrm — Overview",
        "period": "2026-11-18 → 2026-11-25 (UTC), compared with the previous 7 days",
        "kpis": kpis(),
        "summary": ["48 mentions, up 20 % on the previous 7 days.", "Net sentiment is -20."],
        "series": series(),
        "names": {1: "Northwind Bank", 2: "Contoso"},
        "colours": {1: "#1f77b4", 2: ""},
        "top_posts": posts("Fees again!", "The app is down."),
        "generated_at": GENERATED,
    }
    args.update(changes)
    return args


def pages(pdf: bytes) -> int:
    """Page objects in the PDF (matplotlib writes page dictionaries uncompressed)."""
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def texts(figures: list[Figure]) -> list[Text]:
    return [t for figure in figures for t in figure.findobj(Text) if t.get_text()]


def words(figures: list[Figure]) -> str:
    return "\n".join(t.get_text() for t in texts(figures))


def test_three_a4_landscape_pages_with_metadata() -> None:
    pdf = overview_pdf(**report_args())
    assert pdf.startswith(b"%PDF-")
    assert pages(pdf) == 3
    assert pdf.count(b"/MediaBox [ 0 0 841.68 595.44 ]") == 3
    assert "\ufeffscrm — Overview".encode("utf-16-be") in pdf
    assert b"/CreationDate (D:20261125093000Z)" in pdf


def test_same_inputs_give_the_same_bytes() -> None:
    assert overview_pdf(**report_args()) == overview_pdf(**report_args())


def test_renders_from_several_threads() -> None:
    expected = overview_pdf(**report_args())
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: overview_pdf(**report_args()), range(3)))
    assert results == [expected] * 3


def test_pages_show_kpis_summary_brands_and_posts() -> None:
    drawn = words(overview_figures(**report_args()))
    for expected in (
        "scrm — Overview",
        "Mentions",
        "Share of voice (own)",
        "55.0 %",
        "+20.0 %",
        "48 mentions, up 20 % on the previous 7 days.",
        "Northwind Bank",
        "Contoso",
        "Mentions per day by brand",
        "Net sentiment (−100 to 100)",
        "Fees again!",
        "Page 3 of 3",
    ):
        assert expected in drawn


def test_brand_colours_with_grey_fallback() -> None:
    figures = overview_figures(**report_args(colours={1: "#1f77b4", 2: "not a colour"}))
    mentions = figures[1].axes[0]
    assert {line.get_color() for line in mentions.get_lines()} == {"#1f77b4", FALLBACK}


def test_text_from_strangers_is_drawn_literally() -> None:
    args = report_args(
        names={1: HOSTILE, 2: "_hidden?"},
        top_posts=posts(HOSTILE, author="$cash$"),
        summary=[f"{HOSTILE}'s negative mentions rose most."],
    )
    figures = overview_figures(**args)
    drawn = words(figures)
    assert HOSTILE in drawn and "$cash$" in drawn and "_hidden?" in drawn
    assert all(not t.get_parse_math() for t in texts(figures) if "$" in t.get_text())
    assert pages(overview_pdf(**args)) == 3


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
def test_pdf_text_is_extractable_and_literal(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(overview_pdf(**report_args(top_posts=posts(HOSTILE))))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("Mentions", "Northwind Bank", "$5 fee $$$ <img src=x onerror=alert(1)>"):
        assert expected in text


def test_long_posts_are_cut_and_wrapped() -> None:
    long = "word " * 300
    drawn = [t.get_text() for t in texts(overview_figures(**report_args(top_posts=posts(long))))]
    post = next(t for t in drawn if t.startswith("word"))
    lines = post.split("\n")
    assert len(lines) > 1
    assert len(" ".join(lines)) <= 280 and post.endswith("…")


def test_rows_that_do_not_fit_are_counted() -> None:
    figures = overview_figures(**report_args(top_posts=posts(*["x " * 140] * 30)))
    assert re.search(r"\d+ more posts not shown\.", words(figures))


def test_empty_period_renders_with_no_data_notes() -> None:
    args = report_args(
        kpis=kpis(empty=True),
        summary=["No mentions match the filters in this period."],
        series=pd.DataFrame(columns=[*SERIES_COLUMNS, "net_sentiment"]),
        top_posts=pd.DataFrame(columns=POST_COLUMNS),
    )
    drawn = words(overview_figures(**args))
    assert "No mentions in this period." in drawn
    assert "No negative posts in this period." in drawn
    assert pages(overview_pdf(**args)) == 3


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
def test_non_latin_text_and_control_characters_do_not_raise() -> None:
    text = "学生费用太高了 😡 Ужасный сервис. عميل غير راض. לקוח לא מרוצה.\x00\x07 ok"
    args = report_args(names={1: "銀行", 2: "Банк"}, top_posts=posts(text, author="用户"))
    assert pages(overview_pdf(**args)) == 3
    drawn = words(overview_figures(**args))
    assert "学生费用太高了 😡 Ужасный сервис. عميل غير راض. לקוח לא מרוצה. ok" in drawn

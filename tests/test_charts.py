"""Figure builders: traces, colours, escaped text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from scrm import charts

T = [datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=i) for i in range(3)]
EVIL = '<img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a>'


def series() -> pd.DataFrame:
    rows = []
    for brand in (1, 2):
        for i, ts in enumerate(T):
            rows.append(
                {
                    "ts": ts,
                    "brand_id": brand,
                    "mentions": 10 * brand + i,
                    "positive": 3,
                    "neutral": 2,
                    "negative": brand + i,
                    "share": 50.0,
                }
            )
    return pd.DataFrame(rows)


def test_brand_lines_one_colour_per_brand_and_escaped_names() -> None:
    fig = charts.brand_lines(
        series(),
        value="mentions",
        names={1: "Own", 2: EVIL},
        colours={1: "#111111"},
        title="Volume",
        y_title="mentions",
        markers=pd.DataFrame({"ts": [T[1]], "brand_id": [2], "value": [12]}),
    )
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.line.color for t in lines] == ["#111111", charts.FALLBACK]
    assert lines[0].y.tolist() == [10, 11, 12]
    assert "<img" not in lines[1].name and "&lt;img" in lines[1].name
    spike = fig.data[-1]
    assert spike.mode == "markers" and spike.y.tolist() == [12] and "<" not in spike.text[0]
    assert fig.layout.yaxis.title.text == "mentions"


def test_sentiment_bars_stack_labels_and_compute_net() -> None:
    fig = charts.sentiment_bars(series())
    names = [t.name for t in fig.data]
    assert names == ["positive", "neutral", "negative", "net sentiment"]
    net = fig.data[-1].y.tolist()
    assert net[0] == (6 - 3) / (6 + 3) * 100
    assert fig.layout.barmode == "stack"


def test_bar_heatmap_and_confusion() -> None:
    fig = charts.bar_chart([EVIL, "ok"], [3, 1], title="Terms", x_title="term", y_title="count")
    assert all("<" not in str(x) for x in fig.data[0].x)
    hm = charts.heatmap(pd.DataFrame([[1, 2]], index=[0], columns=[9, 10]))
    assert len(hm.data[0].z) == 7 and len(hm.data[0].z[0]) == 24 and hm.data[0].z[0][9] == 1
    cm = charts.confusion_heatmap([[5, 1, 0], [2, 3, 1], [0, 1, 7]])
    assert cm.data[0].z[2][2] == 7 and list(cm.data[0].x) == ["positive", "neutral", "negative"]


def test_escape_cuts_and_escapes() -> None:
    assert charts.escape("a" * 300, limit=10) == "a" * 9 + "…"
    assert charts.escape("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"

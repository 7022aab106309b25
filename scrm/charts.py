"""Plotly figure builders: DataFrame in, ``go.Figure`` out.

One brand has one colour on every page (``Brand.colour``). Text that comes from strangers
(posts, author and brand names) is HTML-escaped before it reaches a figure, because plotly
renders a subset of HTML (``<a href>``, ``<br>``, ``<b>``) in text and hover labels.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from scrm.models import LABELS

SENTIMENT_COLOURS = {"positive": "#2ca02c", "neutral": "#9e9e9e", "negative": "#d62728"}
FALLBACK = "#7f7f7f"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def escape(text: object, limit: int = 200) -> str:
    """Plain text safe for plotly labels: HTML-escaped and cut to ``limit`` characters."""
    value = str(text)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return html.escape(value, quote=True)


def _layout(fig: go.Figure, *, title: str, x: str, y: str, height: int = 360) -> go.Figure:
    fig.update_layout(
        title={"text": escape(title)},
        xaxis_title=x,
        yaxis_title=y,
        height=height,
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0.0},
        margin={"l": 10, "r": 10, "t": 50, "b": 90},
    )
    return fig


def brand_lines(
    series: pd.DataFrame,
    *,
    value: str,
    names: Mapping[int, str],
    colours: Mapping[int, str],
    title: str,
    y_title: str,
    markers: pd.DataFrame | None = None,
) -> go.Figure:
    """One line per brand of ``series[value]`` over ``series.ts``; optional spike markers.

    ``markers`` has columns ``ts``, ``brand_id`` and ``value`` (e.g. detected spikes).
    """
    fig = go.Figure()
    for brand_id, part in series.sort_values("ts").groupby("brand_id", sort=False):
        name = escape(names.get(brand_id, f"brand {brand_id}"))
        fig.add_trace(
            go.Scatter(
                x=part["ts"],
                y=part[value],
                mode="lines",
                name=name,
                line={"color": colours.get(brand_id) or FALLBACK, "width": 2},
                hovertemplate="%{fullData.name}: %{y:,.4~g}<extra></extra>",
            )
        )
    if markers is not None and not markers.empty:
        fig.add_trace(
            go.Scatter(
                x=markers["ts"],
                y=markers["value"],
                mode="markers",
                name="spike",
                marker={
                    "symbol": "triangle-up",
                    "size": 13,
                    "color": "#ff7f0e",
                    "line": {"width": 1, "color": "#333"},
                },
                text=[escape(names.get(b, "")) for b in markers["brand_id"]],
                hovertemplate="spike %{text}: %{y:,}<extra></extra>",
            )
        )
    return _layout(fig, title=title, x="time", y=y_title)


def sentiment_bars(series: pd.DataFrame, *, title: str = "Sentiment over time") -> go.Figure:
    """Stacked positive/neutral/negative counts per bucket with net sentiment on a second axis.

    ``series`` has ``ts``, the three label columns and ``net_sentiment`` (summed over brands).
    """
    data = series.groupby("ts", as_index=False)[list(LABELS)].sum()
    data["net"] = [
        None if p + n == 0 else (p - n) / (p + n) * 100
        for p, n in zip(data["positive"], data["negative"], strict=True)
    ]
    fig = go.Figure()
    for label in LABELS:
        fig.add_trace(
            go.Bar(
                x=data["ts"],
                y=data[label],
                name=label,
                marker_color=SENTIMENT_COLOURS[label],
                hovertemplate=f"{label}: %{{y:,}}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=data["ts"],
            y=data["net"],
            name="net sentiment",
            yaxis="y2",
            mode="lines",
            line={"color": "#1f77b4", "width": 2},
            hovertemplate="net sentiment: %{y:.1f}<extra></extra>",
        )
    )
    fig.update_layout(
        barmode="stack",
        yaxis2={
            "title": "net sentiment (−100…100)",
            "overlaying": "y",
            "side": "right",
            "range": [-100, 100],
            "tickvals": [-100, -50, 0, 50, 100],
            "showgrid": False,
        },
    )
    return _layout(fig, title=title, x="time", y="mentions")


def share_area(sov: pd.DataFrame, *, names: Mapping[int, str], colours: Mapping[int, str]) -> go.Figure:
    """Share of voice over time as stacked areas summing to 100 %."""
    fig = go.Figure()
    for brand_id, part in sov.sort_values("ts").groupby("brand_id", sort=False):
        name = escape(names.get(brand_id, f"brand {brand_id}"))
        colour = colours.get(brand_id) or FALLBACK
        fig.add_trace(
            go.Scatter(
                x=part["ts"],
                y=part["share"],
                name=name,
                stackgroup="sov",
                mode="lines",
                line={"color": colour, "width": 0.5},
                fillcolor=colour,
                hovertemplate="%{fullData.name}: %{y:.1f} %<extra></extra>",
            )
        )
    fig.update_yaxes(range=[0, 100], ticksuffix=" %")
    return _layout(fig, title="Share of voice", x="time", y="share of brand mentions (%)")


def bar_chart(
    labels: Sequence[object],
    values: Sequence[float],
    *,
    title: str,
    x_title: str,
    y_title: str,
    colours: Sequence[str] | None = None,
    horizontal: bool = False,
) -> go.Figure:
    """A simple bar chart (platform mix, top terms...) with escaped labels."""
    names = [escape(label, 60) for label in labels]
    bar = go.Bar(
        x=values if horizontal else names,
        y=names if horizontal else values,
        orientation="h" if horizontal else "v",
        marker_color=list(colours) if colours else "#1f77b4",
        hovertemplate="%{y}: %{x:,}<extra></extra>" if horizontal else "%{x}: %{y:,}<extra></extra>",
    )
    fig = go.Figure(bar)
    if horizontal:
        fig.update_yaxes(autorange="reversed")
    return _layout(
        fig, title=title, x=x_title, y=y_title, height=max(300, 26 * len(names)) if horizontal else 360
    )


def heatmap(
    matrix: pd.DataFrame, *, title: str = "Mentions by weekday and hour", tz: str = "UTC"
) -> go.Figure:
    """Weekday (rows, Monday first) × hour (0–23) counts."""
    full = matrix.reindex(index=range(7), columns=range(24), fill_value=0)
    fig = go.Figure(
        go.Heatmap(
            z=full.values,
            x=list(range(24)),
            y=list(WEEKDAYS),
            colorscale="Blues",
            hovertemplate="%{y} %{x}:00 — %{z:,} mentions<extra></extra>",
            colorbar={"title": "mentions"},
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title=title, x=f"hour of day ({escape(tz)})", y="weekday")


def confusion_heatmap(
    matrix: Sequence[Sequence[int]], *, labels: Sequence[str] = LABELS, title: str = "Confusion matrix"
) -> go.Figure:
    """Gold labels (rows) × predicted labels (columns) with the counts written in the cells."""
    names = [escape(label) for label in labels]
    fig = go.Figure(
        go.Heatmap(
            z=[list(row) for row in matrix],
            x=names,
            y=names,
            colorscale="Blues",
            text=[list(r) for r in matrix],
            texttemplate="%{text}",
            hovertemplate="gold %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title=title, x="predicted", y="human label", height=380)

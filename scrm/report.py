"""The executive Overview as a PDF: key figures and summary, daily trends, the worst posts.

Drawn with matplotlib ``Figure`` objects and ``PdfPages``: no pyplot (its global state is
not safe in Streamlit's threads), no browser and no network. Pages are A4 landscape. Text
from strangers (posts, handles, brand names) and our own labels are drawn literally: their
text artists have ``parse_math=False``, so ``$…$`` is never mathtext. Fonts are embedded as
TrueType (Type 42) so the text can be searched and copied. DejaVu Sans (bundled with
matplotlib) draws it; characters it lacks (CJK) come out as boxes, with a matplotlib warning.
"""

from __future__ import annotations

import io
import math
import textwrap
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.colors import is_color_like
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.textpath import text_to_path

from scrm.charts import FALLBACK, SENTIMENT_COLOURS
from scrm.models import LABELS
from scrm.overview import Kpi, format_delta, format_value
from scrm.trends import net_sentiment

A4_LANDSCAPE = (11.69, 8.27)  # inches
PAGES = 3
POST_CHARS = 280
INK, MUTED, RULE, SHADE, ACCENT = "#1f2d3d", "#5f6b7a", "#d5dae1", "#f3f5f8", "#2a5d9f"
LEFT, RIGHT = 0.05, 0.95  # page margins, in figure fractions
SPARK_X, LEGEND_X = 0.72, 0.785
MARGIN = pd.Timedelta(hours=14)  # either side of the first and last day on the charts
_LITERAL = {"parse_math": False, "usetex": False}
# The font type is an rcParam (process-wide) read while saving, so saves take turns.
_SAVE_LOCK = threading.Lock()


def _plain(value: object, limit: int | None = None) -> str:
    """``value`` as one line of text: whitespace collapsed, control characters dropped, cut to ``limit``."""
    text = " ".join(str(value).split())
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs"))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _wrap(text: str, *, width: float, size: float) -> list[str]:
    """``text`` word-wrapped to lines at most ``width`` (figure fraction) wide at ``size`` points, measured."""
    prop, limit = FontProperties(size=size), width * A4_LANDSCAPE[0] * 72
    chars = max(int(limit / (size * 0.5)), 1)
    while True:
        lines = textwrap.wrap(text, chars) or [""]
        widest = max(
            text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0] for line in lines
        )
        if widest <= limit or chars == 1:
            return lines
        chars = max(int(chars * 0.9), 1)


def _text(target: Figure | Axes, x: float, y: float, s: str, **kw: object) -> Text:
    return target.text(x, y, s, **_LITERAL, **kw)


def _literal(texts: Sequence[Text]) -> None:
    for text in texts:
        text.set_parse_math(False)
        text.set_usetex(False)


def _rule(fig: Figure, y: float, *, colour: str = RULE, width: float = 0.8) -> None:
    fig.add_artist(Line2D([LEFT, RIGHT], [y, y], color=colour, lw=width))


def _page(heading: str, *, title: str, period: str, stamp: str, number: int) -> Figure:
    """A blank page with its heading, period line and footer."""
    fig = Figure(figsize=A4_LANDSCAPE, facecolor="white")
    _text(fig, LEFT, 0.925, heading, size=22, weight="bold", color=INK)
    _text(fig, LEFT, 0.89, period, size=11, color=MUTED)
    _rule(fig, 0.87, colour=ACCENT, width=1.6)
    _rule(fig, 0.055)
    _text(fig, LEFT, 0.032, f"{title} · generated {stamp}", size=8, color=MUTED)
    _text(fig, RIGHT, 0.032, f"Page {number} of {PAGES}", size=8, color=MUTED, ha="right")
    return fig


def _no_data(fig: Figure, message: str) -> None:
    _text(fig, 0.5, 0.5, message, size=14, color=MUTED, ha="center", va="center")


def _section(fig: Figure, y: float, label: str) -> None:
    _text(fig, LEFT, y, label, size=14, weight="bold", color=INK)


def _sparkline(fig: Figure, rect: tuple[float, float, float, float], values: Sequence[float | None]) -> None:
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    y = np.array([np.nan if v is None else v for v in values], dtype=float)
    if not np.isfinite(y).any():
        _text(ax, 0.0, 0.5, "—", size=11, color=MUTED, va="center", transform=ax.transAxes)
        return
    x = np.arange(len(y))
    ax.plot(x, y, color=ACCENT, lw=1.5)
    last = np.flatnonzero(np.isfinite(y))[-1]
    ax.plot([x[last]], [y[last]], "o", color=ACCENT, ms=3.5)
    ax.set_xlim(-0.5, max(len(y) - 0.5, 0.5))
    ax.margins(y=0.15)


def _key_figures(fig: Figure, kpis: Sequence[Kpi], summary: Sequence[str]) -> None:
    """Page 1: one row per KPI (value, previous, change, daily sparkline), then the summary."""
    _section(fig, 0.81, "Key figures")
    columns = ((LEFT, "left"), (0.40, "right"), (0.54, "right"), (0.66, "right"))
    headers = ("KPI", "This period", "Previous period", "Change")
    for (x, ha), label in (*zip(columns, headers, strict=True), ((SPARK_X, "left"), "Daily trend")):
        _text(fig, x, 0.765, label.upper(), size=8.5, color=MUTED, ha=ha, weight="bold")
    _rule(fig, 0.752)
    top = 0.752
    row = min(0.075, 0.38 / max(len(kpis), 1))
    for i, kpi in enumerate(kpis):
        centre = top - (i + 0.5) * row
        cells = (
            (_plain(kpi.label, 40), "normal", INK),
            (format_value(kpi.value, kpi.unit), "bold", INK),
            (format_value(kpi.previous, kpi.unit), "normal", MUTED),
            (format_delta(kpi) or "—", "normal", MUTED),
        )
        for (x, ha), (cell, weight, colour) in zip(columns, cells, strict=True):
            _text(fig, x, centre, cell, size=12, weight=weight, color=colour, ha=ha, va="center")
        _sparkline(fig, (SPARK_X, centre - row * 0.35, RIGHT - SPARK_X, row * 0.7), kpi.spark)
        _rule(fig, top - (i + 1) * row, colour=SHADE)
    y = top - len(kpis) * row - 0.065
    if not summary:
        return
    _section(fig, y, "Summary")
    y -= 0.05
    for sentence in summary:
        _text(fig, LEFT + 0.005, y, "•", size=11, color=ACCENT)
        for line in _wrap(_plain(sentence), width=RIGHT - LEFT - 0.02, size=11):
            _text(fig, LEFT + 0.02, y, line, size=11, color=INK)
            y -= 0.028
        y -= 0.012


def _colour(value: str) -> str:
    return value if value and is_color_like(value) else FALLBACK


def _style(ax: Axes, *, title: str, x: str, y: str, days: pd.DatetimeIndex) -> None:
    ax.set_title(title, loc="left", size=12.5, weight="bold", color=INK, pad=10, **_LITERAL)
    ax.set_xlabel(x, size=9.5, color=MUTED, **_LITERAL)
    ax.set_ylabel(y, size=9.5, color=MUTED, **_LITERAL)
    ax.set_xlim(days[0] - MARGIN, days[-1] + MARGIN)
    ax.xaxis.set_major_locator(DayLocator(interval=max(1, math.ceil(len(days) / 14))))
    ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
    ax.tick_params(labelsize=8.5, colors=MUTED)
    ax.grid(axis="y", color=RULE, lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(RULE)


def _legend(ax: Axes, handles: Sequence[object], labels: Sequence[str], title: str, top: float) -> None:
    """A legend in the right margin of the page, its top at ``top`` (figure fraction)."""
    legend = ax.legend(
        handles,
        labels,
        title=title,
        loc="upper left",
        bbox_to_anchor=(LEGEND_X, top),
        bbox_transform=ax.figure.transFigure,
        alignment="left",
        frameon=False,
        fontsize=8.5,
    )
    legend.get_title().set_fontsize(9)
    legend.get_title().set_color(MUTED)
    _literal([*legend.get_texts(), legend.get_title()])


def _trends(fig: Figure, series: pd.DataFrame, names: Mapping[int, str], colours: Mapping[int, str]) -> None:
    """Page 2: mentions per day by brand; sentiment per day (stacked bars) with net sentiment."""
    if series.empty or not series["mentions"].sum():
        _no_data(fig, "No mentions in this period.")
        return
    ts = pd.to_datetime(series["ts"])
    tz = ts.dt.tz
    frame = series.assign(day=ts.dt.tz_localize(None) if tz is not None else ts)
    days = pd.date_range(frame["day"].min(), frame["day"].max(), freq="D")
    x_title = f"Day ({tz})" if tz is not None else "Day"

    ax = fig.add_axes((0.08, 0.545, 0.64, 0.25))
    wide = frame.pivot_table(index="day", columns="brand_id", values="mentions", aggfunc="sum")
    wide = wide.reindex(days, fill_value=0).fillna(0)
    order = wide.sum().sort_values(ascending=False, kind="stable").index
    handles = [
        ax.plot(days, wide[b], color=_colour(colours.get(b, "")), lw=2, marker="o", ms=3)[0] for b in order
    ]
    labels = [_plain(names.get(b, f"brand {b}"), 24) for b in order]
    _style(ax, title="Mentions per day by brand", x=x_title, y="Mentions per day (count)", days=days)
    ax.set_ylim(bottom=0)
    _legend(ax, handles, labels, "Brand", top=0.795)

    ax = fig.add_axes((0.08, 0.135, 0.64, 0.25))
    daily = frame.groupby("day")[list(LABELS)].sum().astype(float).reindex(days, fill_value=0)
    bottom = np.zeros(len(days))
    for label in ("negative", "neutral", "positive"):
        ax.bar(days, daily[label], bottom=bottom, width=0.8, color=SENTIMENT_COLOURS[label])
        bottom += daily[label].to_numpy()
    _style(ax, title="Sentiment per day", x=x_title, y="Mentions per day (count)", days=days)
    net = [net_sentiment(p, n) for p, n in zip(daily["positive"], daily["negative"], strict=True)]
    twin = ax.twinx()
    (line,) = twin.plot(days, [np.nan if v is None else v for v in net], color=INK, lw=2, marker="o", ms=3.5)
    twin.axhline(0, color=MUTED, lw=0.8, ls="--")
    twin.set_ylim(-100, 100)
    twin.set_ylabel("Net sentiment (−100 to 100)", size=9.5, color=MUTED, **_LITERAL)
    twin.tick_params(labelsize=8.5, colors=MUTED)
    for side in ("top", "left", "bottom"):
        twin.spines[side].set_visible(False)
    twin.spines["right"].set_color(RULE)
    handles = [line, *(Patch(color=SENTIMENT_COLOURS[k]) for k in ("positive", "neutral", "negative"))]
    _legend(twin, handles, ["Net sentiment", "Positive", "Neutral", "Negative"], "Sentiment", top=0.385)


def _posts(fig: Figure, top_posts: pd.DataFrame) -> None:
    """Page 3: the posts as a table; rows that do not fit are counted below it."""
    if top_posts.empty:
        _no_data(fig, "No negative posts in this period.")
        return
    created = pd.to_datetime(top_posts["created_at"])
    tz = created.dt.tz
    columns = (
        (LEFT, "left", f"Posted ({tz})" if tz is not None else "Posted"),
        (0.15, "left", "Platform"),
        (0.22, "left", "Author"),
        (0.35, "left", "Post"),
        (0.885, "right", "Sentiment"),
        (RIGHT, "right", "Reach"),
    )
    for x, ha, label in columns:
        _text(fig, x, 0.815, label.upper(), size=8.5, color=MUTED, ha=ha, weight="bold")
    _rule(fig, 0.802)
    size, line, pad = 8.5, 8.5 * 1.35 / 72 / A4_LANDSCAPE[1], 0.014
    y, bottom, shown = 0.802, 0.1, 0
    for when, (_, post) in zip(created, top_posts.iterrows(), strict=True):
        lines = _wrap(_plain(post["text"], POST_CHARS), width=0.43, size=size)
        height = len(lines) * line + 2 * pad
        if y - height < bottom:
            break
        if shown % 2:
            fig.add_artist(Rectangle((LEFT, y - height), RIGHT - LEFT, height, color=SHADE, lw=0))
        compound = "" if pd.isna(post["compound"]) else f" {post['compound']:+.2f}"
        cells = (
            when.strftime("%Y-%m-%d %H:%M"),
            _plain(post["platform"], 10),
            _plain(post["author"], 18),
            "\n".join(lines),
            f"{_plain(post['sentiment'], 10)}{compound}",
            format_value(None if pd.isna(post["reach"]) else float(post["reach"]), "count"),
        )
        for (x, ha, _), cell in zip(columns, cells, strict=True):
            _text(fig, x, y - pad, cell, size=size, color=INK, ha=ha, va="top", linespacing=1.35)
        y -= height
        shown += 1
    _rule(fig, y)
    if shown < len(top_posts):
        more = len(top_posts) - shown
        _text(
            fig,
            LEFT,
            y - 0.025,
            f"{more} more post{'s' if more != 1 else ''} not shown.",
            size=9,
            color=MUTED,
        )


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M %Z").strip()


def overview_figures(
    *,
    title: str,
    period: str,
    kpis: Sequence[Kpi],
    summary: Sequence[str],
    series: pd.DataFrame,
    names: Mapping[int, str],
    colours: Mapping[int, str],
    top_posts: pd.DataFrame,
    generated_at: datetime,
) -> list[Figure]:
    """The report's three pages as figures (arguments as for ``overview_pdf``)."""
    chrome = {"title": _plain(title, 80), "period": _plain(period, 160), "stamp": _stamp(generated_at)}
    first = _page(chrome["title"], number=1, **chrome)
    _key_figures(first, kpis, summary)
    second = _page("Trends", number=2, **chrome)
    _trends(second, series, names, colours)
    third = _page("Most negative high-reach posts", number=3, **chrome)
    _posts(third, top_posts)
    return [first, second, third]


def overview_pdf(
    *,
    title: str,
    period: str,
    kpis: Sequence[Kpi],
    summary: Sequence[str],
    series: pd.DataFrame,
    names: Mapping[int, str],
    colours: Mapping[int, str],
    top_posts: pd.DataFrame,
    generated_at: datetime,
) -> bytes:
    """The Overview as a three-page A4 landscape PDF.

    Pages: key figures (``kpis`` with sparklines) and ``summary``; mentions and sentiment per
    day from ``series`` (``scrm.trends.series_by_brand`` at day granularity; brand
    ``colours`` "#rrggbb", "" for grey); ``top_posts`` (columns created_at, platform, author,
    text, sentiment, compound, reach), text cut to 280 characters. Metadata Title and
    CreationDate are ``title`` and ``generated_at``; the same inputs give the same bytes.
    """
    figures = overview_figures(
        title=title,
        period=period,
        kpis=kpis,
        summary=summary,
        series=series,
        names=names,
        colours=colours,
        top_posts=top_posts,
        generated_at=generated_at,
    )
    metadata = {
        "Title": _plain(title),
        "Subject": _plain(period),
        "Creator": "scrm",
        "CreationDate": generated_at,
    }
    buffer = io.BytesIO()
    with _SAVE_LOCK, matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(buffer, metadata=metadata) as pdf:
        for figure in figures:
            pdf.savefig(figure)
    return buffer.getvalue()

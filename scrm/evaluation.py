"""Sentiment quality: Pearson r, 3-class accuracy, macro-F1, per-class figures, confusion matrix.

Gold labels from a human mean rating use ±0.5 bands (VADER's −4…4 scale); predicted labels
use the compound's ±0.05 bands.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scrm.exceptions import ImportFormatError, ScrmError
from scrm.models import LABELS
from scrm.sentiment import label_for, score_texts

GROUND_TRUTH_FILES = {
    "tweets": "tweets_GroundTruth.txt",
    "nyt_editorials": "nytEditorialSnippets_GroundTruth.txt",
    "movie_reviews": "movieReviewSnippets_GroundTruth.txt",
    "amazon_reviews": "amazonReviewSnippets_GroundTruth.txt",
}
HUMAN_BAND = 0.5
_LABEL_WORDS = {
    "positive": "positive",
    "pos": "positive",
    "1": "positive",
    "+1": "positive",
    "neutral": "neutral",
    "neu": "neutral",
    "0": "neutral",
    "negative": "negative",
    "neg": "negative",
    "-1": "negative",
}


@dataclass
class EvalReport:
    """Quality of the scores on one labelled set."""

    name: str
    n: int
    pearson_r: float | None
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]  # rows: gold, columns: predicted, order LABELS
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def human_label(mean: float) -> str:
    """Gold label of a human mean rating on −4…4 (±0.5 bands)."""
    if mean >= HUMAN_BAND:
        return "positive"
    if mean <= -HUMAN_BAND:
        return "negative"
    return "neutral"


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation, None when either side is constant or there are < 2 points."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return None if sxx == 0 or syy == 0 else sxy / math.sqrt(sxx * syy)


def report(
    name: str,
    gold: Sequence[str],
    predicted: Sequence[str],
    *,
    human: Sequence[float] | None = None,
    compounds: Sequence[float] | None = None,
    skipped: int = 0,
) -> EvalReport:
    """Metrics of ``predicted`` against ``gold`` labels (and r of compounds vs human scores)."""
    index = {label: i for i, label in enumerate(LABELS)}
    confusion = [[0] * len(LABELS) for _ in LABELS]
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g]][index[p]] += 1
    per_class: dict[str, dict[str, float]] = {}
    for label, i in index.items():
        tp = confusion[i][i]
        predicted_n = sum(row[i] for row in confusion)
        support = sum(confusion[i])
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    n = len(gold)
    present = [c for c in per_class.values() if c["support"]]
    return EvalReport(
        name=name,
        n=n,
        pearson_r=pearson(compounds, human) if human is not None and compounds is not None else None,
        accuracy=sum(confusion[i][i] for i in range(len(LABELS))) / n if n else 0.0,
        macro_f1=sum(c["f1"] for c in present) / len(present) if present else 0.0,
        per_class=per_class,
        confusion=confusion,
        skipped=skipped,
    )


def load_ground_truth(path: Path) -> tuple[list[str], list[float]]:
    """Texts and human mean ratings of a VADER ground-truth file (``id<TAB>mean<TAB>text``)."""
    texts: list[str] = []
    means: list[float] = []
    try:
        raw = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise ImportFormatError(f"Cannot read {path}: {exc.strerror}") from None
    for line in raw.splitlines():
        parts = line.split("\t", 2)
        if len(parts) < 3:
            continue
        try:
            means.append(float(parts[1]))
        except ValueError:
            continue
        texts.append(parts[2])
    return texts, means


def evaluate_ground_truth(directory: Path | None = None, *, domain_lexicon: bool = True) -> list[EvalReport]:
    """Reports on the four VADER ground-truth sets found in ``directory``."""
    if directory is None:
        from scrm.config import get_settings

        directory = get_settings().ground_truth_dir
    if not directory.is_dir():
        raise ScrmError(
            f"No ground-truth folder at {directory}: set SCRM_GROUND_TRUTH_DIR or pass --dataset-dir"
        )
    reports = []
    for name, file_name in GROUND_TRUTH_FILES.items():
        path = directory / file_name
        if not path.exists():
            continue
        texts, means = load_ground_truth(path)
        compounds = score_texts(texts, domain_lexicon=domain_lexicon)
        reports.append(
            report(
                name,
                [human_label(m) for m in means],
                [label_for(c) for c in compounds],
                human=means,
                compounds=compounds,
            )
        )
    if not reports:
        raise ScrmError(f"No ground-truth files in {directory}")
    return reports


def _parse_label(value: str) -> tuple[str | None, float | None]:
    text = value.strip().lower()
    if text in _LABEL_WORDS:
        return _LABEL_WORDS[text], None
    try:
        number = float(text)
    except ValueError:
        return None, None
    return None, number


def evaluate_labelled_csv(
    path: Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    domain_lexicon: bool = True,
    name: str | None = None,
) -> EvalReport:
    """Report on a CSV of texts and labels.

    Labels are positive/neutral/negative (also pos/neu/neg, 1/0/−1) or numeric human
    ratings; a numeric column whose values stay within −1…1 is read by sign (with ±0.05
    bands), any other numeric column as the −4…4 scale (±0.5 bands), and then the Pearson r
    of compound vs rating is reported too. Rows with an empty or unknown label are skipped.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            for col in (text_column, label_column):
                if col not in columns:
                    raise ImportFormatError(
                        f"No column {col!r} in {path.name}: columns are {', '.join(columns)}"
                    )
            rows = [(r[text_column] or "", r[label_column] or "") for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportFormatError(f"Cannot read {path.name}: {exc}") from None
    texts: list[str] = []
    gold: list[str] = []
    numbers: list[float] = []
    skipped = 0
    parsed = [(t, *_parse_label(v)) for t, v in rows]
    numeric = [n for _, label, n in parsed if label is None and n is not None]
    scale = max((abs(n) for n in numeric), default=0.0)
    for text, label, number in parsed:
        if label is None and number is not None:
            label = label_for(number) if scale <= 1 else human_label(number)
            numbers.append(number)
        if label is None or not text.strip():
            skipped += 1
            continue
        texts.append(text)
        gold.append(label)
    if not texts:
        raise ImportFormatError(
            f"No labelled rows in {path.name} (labels: positive/neutral/negative or numbers)"
        )
    compounds = score_texts(texts, domain_lexicon=domain_lexicon)
    human = numbers if len(numbers) == len(texts) else None
    return report(
        name or path.stem,
        gold,
        [label_for(c) for c in compounds],
        human=human,
        compounds=compounds,
        skipped=skipped,
    )


def format_reports(reports: Sequence[EvalReport]) -> str:
    """A plain-text table of the reports and their confusion matrices."""
    lines = [f"{'data set':<22}{'n':>7}{'r':>8}{'acc':>8}{'macroF1':>9}   per class P/R (pos, neu, neg)"]
    for r in reports:
        corr = f"{r.pearson_r:.3f}" if r.pearson_r is not None else "—"
        pr = "  ".join(f"{r.per_class[c]['precision']:.2f}/{r.per_class[c]['recall']:.2f}" for c in LABELS)
        lines.append(f"{r.name:<22}{r.n:>7}{corr:>8}{r.accuracy:>8.3f}{r.macro_f1:>9.3f}   {pr}")
    for r in reports:
        lines.append(f"\n{r.name}: confusion (rows human, columns predicted: {', '.join(LABELS)})")
        for label, row in zip(LABELS, r.confusion, strict=True):
            lines.append(f"  {label:<9}" + "".join(f"{v:>8}" for v in row))
        if r.skipped:
            lines.append(f"  ({r.skipped} rows skipped: no usable label or text)")
    return "\n".join(lines)

"""Benchmark: sentiment scoring throughput against stock VADER, in one run.

    python benchmarks/sentiment_throughput.py [--n 50000]

Texts are the VADER ground-truth texts (normalised, repeated to N). Times stock
``polarity_scores`` one text at a time, our ``FastAnalyzer`` one at a time, ``score_texts``
and ``BatchScorer(workers=2)``, checks that every score equals stock VADER's, and prints
texts/s with the ratio to stock.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from scrm.config import get_settings
from scrm.evaluation import GROUND_TRUTH_FILES, load_ground_truth
from scrm.sentiment import BatchScorer, FastAnalyzer, normalise, score_texts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=50_000)
    args = parser.parse_args()
    base: list[str] = []
    for name in GROUND_TRUTH_FILES.values():
        base += load_ground_truth(get_settings().ground_truth_dir / name)[0]
    texts = [normalise(t) for t in (base * (args.n // len(base) + 1))[: args.n]]
    stock = SentimentIntensityAnalyzer()
    fast = FastAnalyzer(domain_lexicon=False)

    def timed(label: str, fn) -> list[float]:
        start = time.perf_counter()
        scores = fn()
        seconds = time.perf_counter() - start
        results[label] = seconds
        return scores

    results: dict[str, float] = {}
    reference = timed(
        "stock VADER, one at a time", lambda: [stock.polarity_scores(t)["compound"] for t in texts]
    )
    checks = {
        "FastAnalyzer, one at a time": timed(
            "FastAnalyzer, one at a time", lambda: [fast.polarity_scores(t)["compound"] for t in texts]
        ),
        "score_texts (1 process)": timed(
            "score_texts (1 process)", lambda: score_texts(texts, domain_lexicon=False)
        ),
    }
    with BatchScorer(workers=2, domain_lexicon=False) as scorer:
        scorer.score(texts[:5000])  # start the workers outside the timing
        checks["BatchScorer(workers=2)"] = timed("BatchScorer(workers=2)", lambda: scorer.score(texts))
    stock_s = results["stock VADER, one at a time"]
    print(f"{len(texts):,} texts (VADER ground truth, normalised)")
    for label, seconds in results.items():
        same = (
            "" if label not in checks else ("  same scores" if checks[label] == reference else "  DIFFERENT")
        )
        print(f"{label:<30} {len(texts) / seconds:>10,.0f} texts/s  {stock_s / seconds:5.2f}x{same}")


if __name__ == "__main__":
    main()

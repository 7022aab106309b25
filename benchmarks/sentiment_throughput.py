"""Benchmark: sentiment scoring throughput against stock VADER, in one run.

    python benchmarks/sentiment_throughput.py [--n 50000] [--repeat 3]

Texts are the VADER ground-truth texts (normalised, repeated to N). Times stock
``polarity_scores`` one text at a time, our ``FastAnalyzer`` one at a time, ``score_texts``
and ``BatchScorer(workers=2)``, checks that every score equals stock VADER's, and prints
texts/s with the ratio to stock. Each is timed ``--repeat`` times, the four in turn each
round, and the best time of each counts (as ``timeit`` does): a burst of other work on a
shared machine then spoils one round, not the ratio.
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

STOCK = "stock VADER, one at a time"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best time of each counts")
    args = parser.parse_args()
    base: list[str] = []
    for name in GROUND_TRUTH_FILES.values():
        base += load_ground_truth(get_settings().ground_truth_dir / name)[0]
    texts = [normalise(t) for t in (base * (args.n // len(base) + 1))[: args.n]]
    stock = SentimentIntensityAnalyzer()
    fast = FastAnalyzer(domain_lexicon=False)
    results: dict[str, float] = {}
    scores: dict[str, list[float]] = {}
    same: dict[str, bool] = {}  # equal to stock VADER's scores in every round

    def timed(label: str, fn) -> None:
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
        results[label] = min(seconds, results.get(label, seconds))
        scores[label] = out
        if label != STOCK:
            same[label] = same.get(label, True) and out == scores[STOCK]

    with BatchScorer(workers=2, domain_lexicon=False) as scorer:
        scorer.score(texts[:5000])  # start the workers outside the timing
        for _ in range(max(1, args.repeat)):
            timed(STOCK, lambda: [stock.polarity_scores(t)["compound"] for t in texts])
            timed("FastAnalyzer, one at a time", lambda: [fast.polarity_scores(t)["compound"] for t in texts])
            timed("score_texts (1 process)", lambda: score_texts(texts, domain_lexicon=False))
            timed("BatchScorer(workers=2)", lambda: scorer.score(texts))
    stock_s = results[STOCK]
    print(f"{len(texts):,} texts (VADER ground truth, normalised), best of {max(1, args.repeat)}")
    for label, seconds in results.items():
        check = "" if label == STOCK else ("  same scores" if same[label] else "  DIFFERENT")
        print(f"{label:<30} {len(texts) / seconds:>10,.0f} texts/s  {stock_s / seconds:5.2f}x{check}")


if __name__ == "__main__":
    main()

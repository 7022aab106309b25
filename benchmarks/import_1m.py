"""Benchmark: import N mentions from a CSV end to end (read, validate, match, score, store).

    python benchmarks/import_1m.py [--rows 1000000] [--database-url URL] [--workers 0]

Prints rows/s, wall time and peak memory: RSS of this process (``getrusage``), and sampled
RSS of the largest scoring worker and of the whole process tree (see ``_memory.py``: the
workers' forkserver is never reaped, so ``getrusage(RUSAGE_CHILDREN)`` misses them).
The CSV is generated first (not timed) from a fixed seed: realistic short posts about four
brands, with @handles, URLs and hashtags, 20,000 authors.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _memory import TreeSampler

from scrm.brands import add_brand
from scrm.db import init_db, make_engine
from scrm.ingest.pipeline import import_file

BRANDS = {
    "Northwind": '"northwind bank" OR northwind OR @northwind OR #northwind',
    "Harbor": "harbor OR @harborbank OR #harborbank",
    "Summit": '"summit credit" OR @summitcu',
    "Crestline": "crestline OR @crestline",
}
OPENERS = ["", "Honestly ", "Wow, ", "So ", "Ugh. ", "Just saw that ", "PSA: "]
SUBJECTS = [
    "@northwind",
    "Northwind Bank",
    "@harborbank",
    "Harbor",
    "Summit Credit",
    "@summitcu",
    "Crestline",
    "my bank",
    "@crestline",
]
BODIES = [
    "the app keeps crashing when I try to log in",
    "customer service was super helpful today",
    "charged me a fee again without telling me",
    "the new card design looks great",
    "still waiting on hold after 40 minutes",
    "transfer arrived instantly, love it",
    "branch closed early and nobody answered the phone",
    "what are your opening hours on Saturday?",
    "thanks for sorting out my mortgage so quickly",
    "worst experience ever, switching banks",
]
ENDINGS = ["", " #fail", " #banking", " https://t.co/abc123", " 😡", " 🙏", "!!!", " lol", " #northwind"]


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    """Write ``rows`` synthetic mentions to ``path``."""
    rng = random.Random(seed)
    start = datetime(2026, 8, 1, tzinfo=UTC)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["id", "text", "created_at", "author", "followers", "likes", "retweet_count", "num_comments"]
        )
        for i in range(rows):
            text = rng.choice(OPENERS) + rng.choice(SUBJECTS) + " " + rng.choice(BODIES) + rng.choice(ENDINGS)
            ts = (start + timedelta(seconds=i * 7776000 // rows)).isoformat()
            followers = int(rng.paretovariate(1.2) * 50)
            w.writerow(
                [
                    f"b{i}",
                    text,
                    ts,
                    f"user{rng.randrange(20000)}",
                    followers,
                    rng.randrange(50),
                    rng.randrange(10),
                    rng.randrange(5),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--workers", type=int, default=0, help="scoring processes (0 = one per core)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mentions.csv"
        t = time.perf_counter()
        write_csv(path, args.rows)
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s"
        )
        engine = make_engine(args.database_url or f"sqlite:///{tmp}/bench.db")
        init_db(engine)
        for name, query in BRANDS.items():
            add_brand(engine=engine, name=name, query=query, is_own=name == "Northwind")
        with TreeSampler() as memory:
            t = time.perf_counter()
            result = import_file(path, engine=engine, workers=args.workers)
            wall = time.perf_counter() - t
        print(
            f"backend={engine.dialect.name} rows={result.read:,} stored={result.stored:,} "
            f"rejected={result.rejected} wall={wall:.1f}s rate={result.read / wall:,.0f} rows/s "
            f"{memory.summary()}"
        )
        engine.dispose()


if __name__ == "__main__":
    main()

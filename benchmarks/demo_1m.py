"""Benchmark: generate and load the demo data set at N mentions into a fresh database.

    python benchmarks/demo_1m.py [--mentions 1000000] [--customers 5000] [--seed 7]
                                 [--database-url URL] [--generate-only]

Times ``scrm.ingest.demo.load_demo`` end to end (brands, mention generation, the shared
ingest pipeline with brand matching and sentiment scoring, bulk stores, customers) and
prints wall time, mentions/s and peak memory: RSS of this process and of reaped children
(``getrusage``), and sampled RSS of the largest scoring worker and of the whole process tree
(see ``_memory.py``: the workers' forkserver is never reaped, so ``getrusage`` misses them). The default database is a temporary SQLite file, deleted afterwards; with
``--database-url`` give an empty database (e.g. a throwaway PostgreSQL one): the demo load
is idempotent, so a database that already holds the demo stores nothing new.
``--generate-only`` times the generator alone (no database), to split generation from storage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _memory import TreeSampler

from scrm.db import init_db, make_engine
from scrm.ingest.demo import DEMO_SEED, generate_mentions, load_demo


def run_generate_only(mentions: int, seed: int) -> None:
    """Iterate the generator without storing anything."""
    with TreeSampler() as memory:
        start = time.perf_counter()
        count = sum(1 for _ in generate_mentions(n=mentions, seed=seed))
        wall = time.perf_counter() - start
    print(
        f"generate only: mentions={count:,} wall={wall:.1f}s rate={count / wall:,.0f} mentions/s "
        f"{memory.summary()}"
    )


def run_load(url: str, mentions: int, customers: int, seed: int) -> None:
    """Load the demo into the database at ``url`` and print the figures."""
    engine = make_engine(url)
    init_db(engine)
    with TreeSampler() as memory:
        start = time.perf_counter()
        summary = load_demo(engine=engine, mentions=mentions, customers=customers, seed=seed)
        wall = time.perf_counter() - start
    r = summary.mentions
    size = ""
    if engine.dialect.name == "sqlite" and engine.url.database:
        files = [Path(engine.url.database + suffix) for suffix in ("", "-wal")]
        size = f" db_size={sum(f.stat().st_size for f in files if f.exists()) / 1e6:,.0f}MB"
    print(
        f"backend={engine.dialect.name} mentions={r.read:,} stored={r.stored:,} duplicates={r.duplicates:,} "
        f"rejected={r.rejected} customers={summary.customers:,} wall={wall:.1f}s "
        f"rate={r.read / wall:,.0f} mentions/s {memory.summary()}{size}"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--generate-only", action="store_true", help="time the generator alone")
    args = parser.parse_args()
    if args.generate_only:
        run_generate_only(args.mentions, args.seed)
        return
    if args.database_url:
        run_load(args.database_url, args.mentions, args.customers, args.seed)
        return
    with tempfile.TemporaryDirectory(prefix="scrm-demo-bench-") as tmp:
        run_load(f"sqlite:///{tmp}/demo.db", args.mentions, args.customers, args.seed)


if __name__ == "__main__":
    main()

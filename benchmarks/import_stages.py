"""Profile: where the import's main process spends its CPU time, stage by stage.

    python benchmarks/import_stages.py [--rows 100000] [--root PATH]

Imports the same synthetic CSV as ``import_1m.py`` into a temporary SQLite file and prints
the main thread's CPU time (``time.thread_time``) in each pipeline stage and in the cyclic
garbage collector. The main process is the import's critical path (the scoring workers
keep up), and thread CPU time is far less disturbed than wall time by other work on a
shared machine. ``--root`` profiles another checkout of scrm (e.g. an older commit
exported with ``git archive``), so two versions can be compared side by side, in the same
conditions.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--root", default=str(HERE.parent), help="the scrm checkout to profile")
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    sys.path.insert(1, str(HERE))

    import sqlalchemy.engine.base as sa_base

    import scrm.ingest.mapping as mapping
    import scrm.ingest.pipeline as pipeline
    import scrm.query as query
    from scrm.brands import add_brand
    from scrm.db import init_db, make_engine

    # only now: import_1m puts its own checkout first on sys.path, scrm is loaded by then
    bench = importlib.import_module("import_1m")

    totals: dict[str, float] = {}

    def timed(owner: object, name: str, label: str) -> None:
        fn = getattr(owner, name)

        def wrapper(*a, **k):
            start = time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                totals[label] = totals.get(label, 0.0) + time.thread_time() - start

        setattr(owner, name, wrapper)
        totals[label] = 0.0

    timed(mapping.RowMapper, "convert", "map a row to a mention (RowMapper.convert)")
    timed(pipeline.Pipeline, "_prepare", "prepare a batch (dedupe, lookup, match, submit)")
    timed(query.BrandMatcher, "match", "  of which brand matching")
    timed(pipeline, "_lookup_existing", "  of which known-mention lookups (and in store)")
    timed(pipeline.Pipeline, "_store", "store a batch (one transaction)")
    timed(pipeline, "_upsert_authors", "  of which authors")
    timed(pipeline, "_insert_ignore", "  of which mention inserts")
    timed(sa_base.Connection, "_commit_impl", "  of which commits")

    collector = {"seconds": 0.0, "runs": [0, 0, 0], "start": 0.0}

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            collector["start"] = time.thread_time()
        else:
            collector["seconds"] += time.thread_time() - collector["start"]
            collector["runs"][info["generation"]] += 1

    with tempfile.TemporaryDirectory(prefix="scrm-stages-") as tmp:
        path = Path(tmp) / "mentions.csv"
        bench.write_csv(path, args.rows)
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        init_db(engine)
        for name, q in bench.BRANDS.items():
            add_brand(engine=engine, name=name, query=q, is_own=name == "Northwind")
        gc.callbacks.append(on_gc)
        cpu, wall = time.thread_time(), time.perf_counter()
        result = pipeline.import_file(path, engine=engine)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        gc.callbacks.remove(on_gc)
        engine.dispose()
    print(
        f"{Path(pipeline.__file__).parents[2]}: {result.stored:,} rows stored, wall {wall:.1f} s, main thread CPU {cpu:.1f} s"
    )
    for label, seconds in totals.items():
        print(f"  {label:<52} {seconds:6.2f} s")
    top = sum(v for k, v in totals.items() if not k.startswith(" "))
    print(f"  {'the rest (reading and parsing the file, the loop)':<52} {cpu - top:6.2f} s")
    runs = ", ".join(f"gen{g} {n}" for g, n in enumerate(collector["runs"]))
    print(f"  {'garbage collector (inside the stages above)':<52} {collector['seconds']:6.2f} s  ({runs})")


if __name__ == "__main__":
    main()

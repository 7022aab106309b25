"""Benchmark: influencer ranking at 1M mentions (scrm.influencers).

    python benchmarks/influencers.py [--source /tmp/bench/demo1m_v3.db] [--database-url URL]
                                     [--runs 3] [--days 7 30 90] [--keep]

The database: by default a copy of the prepared 1M-mention demo ``--source`` (SQLite backup
API, the source opened read-only, so it is never written) in a temporary folder, migrated
with ``python -m scrm --database-url sqlite:///COPY init`` and deleted afterwards (``--keep``
keeps it). ``--database-url`` uses that database as it is (e.g. a PostgreSQL one holding the
demo); nothing here writes to it.

For each period (the last ``--days`` days up to the hour after the newest mention) and for
Northwind Bank alone and all brands together: ``rank_authors(top=50)``,
``emerging_voices(top=20)``, ``network(top=30)`` and ``author_timeline`` of the top author,
each the median of ``--runs`` runs (wall and CPU seconds of this process, which include
SQLite's work; on a busy shared machine CPU time is the steadier figure), plus the parts of
one ranking: the per-author SQL aggregation, the reply/mention graph (SQL + @handle
resolution) and PageRank. Peak RSS of the process at the end.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from scrm import influencers as inf  # noqa: E402
from scrm.db import make_engine  # noqa: E402
from scrm.filters import Filters  # noqa: E402
from scrm.models import Brand, MentionBrand  # noqa: E402

DEFAULT_SOURCE = "/tmp/bench/demo1m_v3.db"


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``runs`` calls, and the last result."""
    walls, cpus = [], []
    result: object = None
    for _ in range(runs):
        c, t = cpu(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(cpu() - c)
    return statistics.median(walls), statistics.median(cpus), result


def copy_database(source: Path, folder: Path) -> str:
    """A migrated copy of ``source`` in ``folder``; returns its URL."""
    if not source.exists():
        sys.exit(
            f"{source} not found: build it with `python -m scrm --database-url sqlite:///{source} demo "
            "--mentions 1000000` (about 2 minutes) or pass --source/--database-url"
        )
    target = folder / "influencers1m.db"
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    started = time.perf_counter()
    src.backup(dst)
    src.close()
    dst.close()
    url = f"sqlite:///{target}"
    subprocess.run([sys.executable, "-m", "scrm", "--database-url", url, "init"], check=True, cwd=ROOT)
    print(f"copied and migrated {source} in {time.perf_counter() - started:.1f}s")
    return url


def run(url: str, runs: int, days_list: list[int]) -> None:
    engine = make_engine(url)
    mb, brand = MentionBrand.__table__, Brand.__table__
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(mb.c.ts))).scalar()
        links = conn.execute(sa.select(sa.func.count()).select_from(mb)).scalar()
        own = conn.execute(sa.select(brand.c.id).where(brand.c.name == "Northwind Bank")).scalar()
    if last is None:
        sys.exit("the database holds no brand mentions")
    end = datetime.fromtimestamp((int(last) // 3600 + 1) * 3600, UTC)
    print(
        f"backend={engine.dialect.name} brand_mentions={links:,} period_end={end:%Y-%m-%d %H:%M} UTC runs={runs}"
    )
    header = (
        f"{'days':>4} {'brands':<9} {'links':>9} {'authors':>8} {'graph':>13} | "
        f"{'rank wall/cpu':>14} {'stats':>6} {'graph':>6} {'PR':>5} | "
        f"{'emerging':>9} {'network':>9} {'timeline':>9}"
    )
    print(header)
    for days in days_list:
        for label, brand_ids in (("Northwind", (own,) if own else ()), ("all", ())):
            f = Filters(start=end - timedelta(days=days), end=end, brand_ids=brand_ids)
            with engine.connect() as conn:
                n_links = conn.execute(
                    sa.select(sa.func.count()).select_from(mb).where(*f.link_conditions())
                ).scalar()
                _, stats_cpu, stats = timed(lambda f=f, conn=conn: inf._author_stats(conn, f), 1)
                _, graph_cpu, graph = timed(lambda f=f, conn=conn: inf._graph(conn, f), 1)
                _, pr_cpu, _ = timed(lambda graph=graph: inf.centrality(graph), 1)
            rank_wall, rank_cpu, frame = timed(
                lambda f=f: inf.rank_authors(engine=engine, filters=f, top=50), runs
            )
            em_wall, em_cpu, _ = timed(
                lambda f=f: inf.emerging_voices(engine=engine, filters=f, top=20), runs
            )
            net_wall, net_cpu, _ = timed(lambda f=f: inf.network(engine=engine, filters=f, top=30), runs)
            top_author = int(frame.iloc[0]["author_id"]) if len(frame) else 0  # type: ignore[union-attr]
            tl_wall, tl_cpu, _ = timed(
                lambda f=f, a=top_author: inf.author_timeline(engine=engine, filters=f, author_id=a), runs
            )
            graph_size = f"{graph.number_of_nodes():,}n/{graph.number_of_edges():,}e"  # type: ignore[union-attr]
            print(
                f"{days:>4} {label:<9} {n_links:>9,} {len(stats):>8,} {graph_size:>13} | "  # type: ignore[arg-type]
                f"{rank_wall:>6.2f}/{rank_cpu:<6.2f}s {stats_cpu:>6.2f} {graph_cpu:>6.2f} {pr_cpu:>5.2f} | "
                f"{em_wall:>4.2f}/{em_cpu:<4.2f} {net_wall:>4.2f}/{net_cpu:<4.2f} {tl_wall:>4.2f}/{tl_cpu:<4.2f}"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak_rss_main={peak:.0f}MiB (columns after 'rank': CPU seconds of one ranking's parts; "
        "emerging/network/timeline: median wall/CPU seconds)"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source", default=DEFAULT_SOURCE, help=f"prepared demo database (default {DEFAULT_SOURCE})"
    )
    parser.add_argument("--database-url", help="use this database as it is instead of a copy of --source")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, nargs="+", default=[7, 30, 90])
    parser.add_argument("--keep", action="store_true", help="keep the copied database")
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url, args.runs, args.days)
        return
    folder = Path(tempfile.mkdtemp(prefix="scrm-influencers-"))
    try:
        run(copy_database(Path(args.source), folder), args.runs, args.days)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


if __name__ == "__main__":
    main()

"""Benchmark of the Reddit collector against the Reddit-shaped loopback server.

    python benchmarks/reddit.py [--posts 10000] [--comments 10000] [--url sqlite:///...]

The server (tests/reddit_server.py) runs in a process of its own on 127.0.0.1, so its JSON
encoding does not share the collector's interpreter; it stops by itself. On a temporary
SQLite database (or ``--url``), with one brand (Acme, one post in ten) searched across
Reddit and the subreddit r/bench monitored (new posts and comments):

* **praw only**: the subreddit's new posts read page by page through praw and turned into
  mentions, nothing stored: what HTTP, JSON and praw's objects cost;
* **first run**: everything collected and stored (pipeline: dedupe, brand match, VADER,
  bulk insert, checkpoints after each page); items/s and requests per item;
* **resume**: the same from an empty database with ``--limit`` at half, then a second run
  that goes on from the checkpoints;
* **nothing new**: a second full run, what cron pays when nothing arrived.

Reddit itself allows about 100 requests a minute per OAuth client and 100 items a request
(listings stop at about 1,000 items), so in production Reddit's rate limit, not scrm, sets
the pace; this measures how much headroom the collector has.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from scrm.brands import add_brand  # noqa: E402
from scrm.config import load_settings  # noqa: E402
from scrm.db import init_db, make_engine  # noqa: E402
from scrm.ingest.reddit import RedditRunResult, _Budget, collect_reddit, make_reddit, to_mention  # noqa: E402
from scrm.models import Mention  # noqa: E402
from tests.reddit_server import CLIENT_ID, CLIENT_SECRET  # noqa: E402


def start_server(posts: int, comments: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "reddit_server.py"),
            "--posts",
            str(posts),
            "--comments",
            str(comments),
            "--max-seconds",
            "900",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def settings(url: str, **over: object):
    return load_settings(
        reddit_client_id=CLIENT_ID,
        reddit_client_secret=CLIENT_SECRET,
        reddit_user_agent="python:scrm-benchmark:0.1 (by u/scrm)",
        reddit_oauth_url=url,
        reddit_url=url,
        reddit_max_items=1_000_000,
        reddit_max_requests=100_000,
        reddit_max_seconds=3600,
        reddit_refresh_hours=0,
        **over,
    )


def fresh_db(url: str | None, folder: Path, name: str):
    engine = make_engine(url or f"sqlite:///{folder / name}")
    init_db(engine)
    add_brand(engine=engine, name="Acme", query="acme", is_own=True)
    return engine


def report(label: str, result: RedditRunResult, wall: float, cpu: float) -> None:
    items = max(result.fetched, 1)
    print(
        f"  {label}: {result.fetched:,} items read, {result.stored:,} stored, {result.duplicates:,} duplicates, "
        f"{result.requests:,} requests in {wall:.2f} s wall / {cpu:.2f} s CPU -> "
        f"{result.fetched / wall:,.0f} items/s, {result.requests / items:.3f} requests per item"
        + (f"; stopped at {result.stopped}" if result.stopped else "")
        + (f"; errors: {result.errors}" if result.errors else "")
    )


def run(engine, s, **kw) -> tuple[RedditRunResult, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = collect_reddit(engine=engine, settings=s, alerts=False, **kw)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument(
        "--url", help="a database URL to use instead of temporary SQLite files (emptied first)"
    )
    args = parser.parse_args()
    proc, url = start_server(args.posts, args.comments)
    s = settings(url, reddit_subreddits="bench")
    print(
        f"server {url}: {args.posts:,} posts and {args.comments:,} comments in r/bench; Python {sys.version.split()[0]}"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            import requests

            session = requests.Session()
            budget = _Budget(max_requests=100_000, max_seconds=3600)
            reddit = make_reddit(s, budget=budget, session=session)
            wall, cpu = time.perf_counter(), time.process_time()
            n = sum(1 for obj in reddit.subreddit("bench").new(limit=None) if to_mention(obj).mention)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            session.close()
            print(
                f"  praw only (r/bench new, nothing stored): {n:,} items, {budget.requests} requests in "
                f"{wall:.2f} s wall / {cpu:.2f} s CPU -> {n / wall:,.0f} items/s"
            )

            engine = fresh_db(args.url, folder, "first.db")
            first, wall, cpu = run(engine, s)
            report("first run", first, wall, cpu)
            with engine.connect() as conn:
                stored = conn.execute(sa.select(sa.func.count()).select_from(Mention)).scalar_one()
            print(f"    mentions in the database: {stored:,}")
            again, wall, cpu = run(engine, s)
            report("nothing new", again, wall, cpu)
            engine.dispose()

            if args.url:
                return
            engine = fresh_db(None, folder, "resume.db")
            half = (args.posts + args.comments) // 2
            part, wall, cpu = run(engine, s, limit=half)
            report(f"resume, run 1 (--limit {half:,})", part, wall, cpu)
            rest, wall, cpu = run(engine, s)
            report("resume, run 2", rest, wall, cpu)
            with engine.connect() as conn:
                total = conn.execute(sa.select(sa.func.count()).select_from(Mention)).scalar_one()
            print(f"    mentions after both runs: {total:,} (first run stored {stored:,})")
            engine.dispose()
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()

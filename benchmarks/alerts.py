"""Benchmark and acceptance check of the alert engine.

    python benchmarks/alerts.py [--source /tmp/bench/demo1m_v3.db] [--new 1000]
                                [--demo-mentions 50000] [--end ISO] [--skip-scale] [--skip-demo]
                                [--skip-stream]

Three parts, each on its own temporary SQLite database (deleted afterwards):

* **scale**: a copy of a 1M-mention demo database (``--source`` is only read), upgraded
  with ``python -m scrm init``; the default rules, then a full evaluation (``replay``, as
  ``load_demo`` runs it), ``--new`` new mentions stored, an incremental evaluation of them,
  and a run with nothing new (what cron pays when nothing arrived). Wall and CPU seconds.
  With ``--scale-url`` the same on an empty database given by URL (e.g. a throwaway
  PostgreSQL one), loaded with a ``--scale-mentions`` demo first.
* **demo**: ``load_demo`` at ``--demo-mentions``; every alert classified by what its
  grouped posts are about (the student-fee crisis, the app launch, Crestline's outage, or
  none of these: a false alert), and the crisis alert's detection delay from its start
  (day 70, 09:00 UTC).
* **stream**: the same demo replayed as if live: everything before day 70 stored and
  evaluated, then day 70 stored in 15-minute slices with an evaluation after each; reports
  when the crisis alert was first raised and when it first became P1.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from scrm.alerts import default_rules, evaluate
from scrm.brands import add_brand
from scrm.db import init_db, make_engine
from scrm.ingest import demo
from scrm.ingest.pipeline import ingest_mentions
from scrm.models import Alert, AlertMention, AlertRule, Brand, Mention, MentionCreate
from scrm.responses import add_brand_accounts

ROOT = Path(__file__).resolve().parent.parent
SLICE = timedelta(minutes=15)


def timed(label: str, func: Callable[[], Any]) -> Any:
    """Run ``func``, print its wall and CPU seconds, return its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    print(f"  {label}: wall={time.perf_counter() - wall:.2f}s cpu={time.process_time() - cpu:.2f}s")
    return result


def support_accounts(engine: sa.Engine) -> None:
    """The demo's brand accounts (databases made before they existed lack them)."""
    for brand in demo.BRANDS:
        for platform in demo.SUPPORT_PLATFORMS:
            add_brand_accounts(engine=engine, brand=brand.name, platform=platform, handles=[brand.support])


def new_mentions(n: int, after: datetime, seed: int = 11) -> Iterator[MentionCreate]:
    """``n`` demo-like posts in the hour after ``after`` (every brand, every mood)."""
    rng = random.Random(seed)
    authors = demo._authors(demo.DEMO_SEED)
    for i in range(n):
        brand = rng.choice(demo.BRANDS)
        mood = rng.choices(demo.MOODS, weights=brand.mood)[0]
        author = rng.choice(authors)
        text = rng.choice(demo.TEMPLATES[mood]).format(ref=rng.choice(brand.refs), product=brand.product)
        yield MentionCreate(
            platform="twitter",
            external_id=f"bench-new-{seed}-{i}",
            text=text,
            created_at=after + timedelta(seconds=3600 * i / n),
            author=author.handle,
            followers=author.followers,
            likes=rng.randrange(50),
        )


def run_scale(source: Path, new: int) -> None:
    """Full and incremental evaluation on a copy of a large demo database."""
    with tempfile.TemporaryDirectory(prefix="scrm-alerts-bench-") as tmp:
        copy = Path(tmp) / "bench.db"
        shutil.copyfile(source, copy)
        url = f"sqlite:///{copy}"
        subprocess.run([sys.executable, "-m", "scrm", "--database-url", url, "init"], check=True, cwd=ROOT)
        engine = make_engine(url)
        print(f"scale: {source.name} (copied)")
        support_accounts(engine)
        default_rules(engine=engine, user="bench")
        measure(engine, new)
        engine.dispose()


def run_scale_url(url: str, mentions: int, new: int) -> None:
    """The same figures on an empty database (e.g. PostgreSQL) loaded with the demo first."""
    engine = make_engine(url)
    init_db(engine)
    demo.load_demo(engine=engine, mentions=mentions)  # ends with the default rules evaluated
    with engine.begin() as conn:  # forget them: the timed run starts from scratch
        conn.execute(sa.delete(Alert.__table__))
        conn.execute(sa.update(AlertRule.__table__).values(checked_mention_id=0, checked_observed_at=None))
    print(f"scale: {engine.dialect.name}, demo of {mentions:,} mentions")
    measure(engine, new)
    engine.dispose()


def measure(engine: sa.Engine, new: int) -> None:
    """Time a full evaluation, the storing and incremental evaluation of ``new`` mentions, an idle run."""
    with engine.connect() as conn:
        count, first, last = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.min(Mention.__table__.c.created_at),
                sa.func.max(Mention.__table__.c.created_at),
            )
        ).one()
    print(f"  {count:,} mentions")
    full = timed("full evaluation (5 default rules)", lambda: evaluate(engine=engine, replay=True))
    print(f"    {full.to_dict()}")
    start = first.replace(minute=0, second=0, microsecond=0)
    report(classify(engine, start), start)
    after = last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    stored = timed(
        f"store {new:,} new mentions (pipeline, alerts off)",
        lambda: ingest_mentions(new_mentions(new, after), engine=engine, source="bench", alerts=False),
    )
    inc = timed(f"incremental evaluation of the {stored.stored:,} new", lambda: evaluate(engine=engine))
    print(f"    {inc.to_dict()}")
    idle = timed("evaluation with nothing new", lambda: evaluate(engine=engine))
    print(f"    {idle.to_dict()}")
    timed(
        f"store {new:,} more with the ingest hook (pipeline + evaluation)",
        lambda: ingest_mentions(
            new_mentions(new, after + timedelta(hours=1), seed=12), engine=engine, source="b2"
        ),
    )


def classify(engine: sa.Engine, start: datetime) -> list[dict[str, Any]]:
    """Every alert with the story it belongs to: crisis, launch, outage, or false."""
    a, am, m, b = Alert.__table__, AlertMention.__table__, Mention.__table__, Brand.__table__
    text = sa.func.lower(m.c.text)
    stmt = (
        sa.select(
            a.c.id,
            a.c.priority,
            a.c.kind,
            a.c.onset_at,
            a.c.raised_at,
            a.c.title,
            b.c.name.label("brand"),
            sa.func.count().label("mentions"),
            sa.func.sum(sa.case((text.like("%student%") | text.like("%northwindfees%"), 1), else_=0)).label(
                "crisis"
            ),
            sa.func.sum(
                sa.case((text.like("%northwind go%") | text.like("%northwindgo%"), 1), else_=0)
            ).label("launch"),
        )
        .select_from(
            a.join(b, b.c.id == a.c.brand_id)
            .join(am, am.c.alert_id == a.c.id)
            .join(m, m.c.id == am.c.mention_id)
        )
        .group_by(a.c.id, b.c.name)
        .order_by(a.c.onset_at)
    )
    out = []
    with engine.connect() as conn:
        for r in conn.execute(stmt).mappings():
            row = dict(r)
            day = (r["onset_at"] - start).days
            if r["crisis"] * 2 > r["mentions"]:
                row["story"] = "crisis"
            elif r["launch"] * 2 > r["mentions"] or (
                r["brand"] == "Northwind Bank" and r["kind"] == "volume_spike" and 30 <= day <= 33
            ):
                row["story"] = "launch"
            elif r["brand"] == "Crestline" and day == demo.OUTAGE_DAY:
                row["story"] = "outage"
            else:
                row["story"] = "false"
            out.append(row)
    return out


def report(alerts: list[dict[str, Any]], start: datetime) -> None:
    crisis_start = start + timedelta(days=demo.CRISIS_DAY, hours=demo.CRISIS_HOUR)
    for r in alerts:
        print(
            f"    #{r['id']:<3} P{r['priority']} {r['story']:<6} day {(r['onset_at'] - start).days:>2} "
            f"onset {r['onset_at']:%m-%d %H:%M:%S} raised {r['raised_at']:%m-%d %H:%M:%S} "
            f"{r['mentions']:>6} posts  {r['title'][:110]}"
        )
    crisis = [r for r in alerts if r["story"] == "crisis"]
    false = [r for r in alerts if r["story"] == "false"]
    if crisis:
        main = crisis[0]
        print(
            f"  crisis: {len(crisis)} alert(s); the first is P{main['priority']} with {main['mentions']} posts, "
            f"onset {(main['onset_at'] - crisis_start).total_seconds():+.0f}s and raised "
            f"{(main['raised_at'] - crisis_start).total_seconds():+.0f}s from the crisis start "
            f"({crisis_start:%Y-%m-%d %H:%M} UTC); later crisis alerts: "
            + (
                ", ".join(f"P{r['priority']} day {(r['onset_at'] - start).days}" for r in crisis[1:])
                or "none"
            )
        )
    else:
        print("  crisis: NOT DETECTED")
    print(f"  false alerts over {demo.DAYS} days: {len(false)}")


def run_demo(mentions: int, end: datetime) -> None:
    """Load the demo (which ends with the default rules evaluated) and classify its alerts."""
    start = end - timedelta(days=demo.DAYS)
    with tempfile.TemporaryDirectory(prefix="scrm-alerts-demo-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/demo.db")
        init_db(engine)
        summary = demo.load_demo(engine=engine, mentions=mentions, end=end)
        print(f"demo: {summary.mentions.stored:,} mentions, loaded with alerts in {summary.seconds:.1f}s")
        report(classify(engine, start), start)
        engine.dispose()


def run_stream(mentions: int, end: datetime) -> None:
    """Day 70 replayed in 15-minute slices, rules evaluated after each as the ingest hook would."""
    start = end - timedelta(days=demo.DAYS)
    crisis_start = start + timedelta(days=demo.CRISIS_DAY, hours=demo.CRISIS_HOUR)
    day = start + timedelta(days=demo.CRISIS_DAY)
    with tempfile.TemporaryDirectory(prefix="scrm-alerts-stream-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/stream.db")
        init_db(engine)
        for b in demo.demo_brands():
            add_brand(engine=engine, name=b.name, query=b.query, is_own=b.is_own, colour=b.colour)
        support_accounts(engine)
        default_rules(engine=engine, user="bench")
        posts = [
            m for m in demo.generate_mentions(n=mentions, end=end) if m.created_at < day + timedelta(days=1)
        ]
        ingest_mentions(
            [m for m in posts if m.created_at < day], engine=engine, source="history", alerts=False
        )
        evaluate(engine=engine, replay=True)
        with engine.connect() as conn:
            known = set(conn.execute(sa.select(Alert.__table__.c.id)).scalars())
        raised = p1 = None
        seconds: list[float] = []
        at = day
        while at < day + timedelta(days=1) and p1 is None:
            batch = [m for m in posts if at <= m.created_at < at + SLICE]
            at += SLICE
            ingest_mentions(batch, engine=engine, source="live", alerts=False)
            t = time.perf_counter()
            evaluate(engine=engine, now=at)
            seconds.append(time.perf_counter() - t)
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(Alert.__table__.c.id, Alert.__table__.c.priority).where(
                        Alert.__table__.c.id.notin_(known), Alert.__table__.c.onset_at >= crisis_start - SLICE
                    )
                ).all()
            if rows and raised is None:
                raised = at
                print(f"  stream: crisis alert raised at {at:%H:%M} (P{min(r.priority for r in rows)})")
            if any(r.priority == 1 for r in rows):
                p1 = at
        delay = lambda t: "never" if t is None else f"{(t - crisis_start).total_seconds() / 60:+.0f} min"  # noqa: E731
        print(
            f"  stream: with an evaluation every 15 minutes the crisis alert is raised {delay(raised)} and "
            f"P1 {delay(p1)} from the crisis start; each evaluation {max(seconds):.2f}s at most"
        )
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source", type=Path, default=Path("/tmp/bench/demo1m_v3.db"), help="1M demo database"
    )
    parser.add_argument("--new", type=int, default=1_000, help="new mentions for the incremental run")
    parser.add_argument(
        "--scale-url",
        help="instead of copying --source: an empty database (e.g. PostgreSQL) to load the demo into",
    )
    parser.add_argument("--scale-mentions", type=int, default=50_000, help="demo size for --scale-url")
    parser.add_argument("--demo-mentions", type=int, default=50_000)
    parser.add_argument("--end", help="the demo's end hour, ISO 8601 (default: the current hour)")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-stream", action="store_true")
    args = parser.parse_args()
    if args.scale_url:
        run_scale_url(args.scale_url, args.scale_mentions, args.new)
    elif not args.skip_scale:
        run_scale(args.source, args.new)
    end = demo._default_end(datetime.fromisoformat(args.end) if args.end else None)
    if not args.skip_demo:
        run_demo(args.demo_mentions, end)
    if not args.skip_stream:
        run_stream(args.demo_mentions, end)


if __name__ == "__main__":
    main()

"""The command line: ``python -m scrm COMMAND``. Errors print one line and exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from scrm.exceptions import ScrmError


def _engine(args: argparse.Namespace) -> Engine:
    from scrm.config import load_settings
    from scrm.db import init_db, make_engine

    url = args.database_url or load_settings().database_url
    engine = make_engine(url)
    init_db(engine)
    return engine


def _bar(total: int | None, desc: str, unit: str = "rows", **kw: Any) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=None, dynamic_ncols=True, **kw)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def cmd_init(args: argparse.Namespace) -> int:
    """Create or upgrade the database schema."""
    engine = _engine(args)
    print(f"Database ready: {engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the deterministic demo data set."""
    from scrm.ingest.demo import load_demo

    engine = _engine(args)
    with _bar(args.mentions, "demo mentions") as bar:

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        summary = load_demo(
            engine=engine, mentions=args.mentions, customers=args.customers, seed=args.seed, progress=progress
        )
    r = summary.mentions
    print(
        f"Demo loaded in {summary.seconds:.1f} s: {summary.brands} brands, {r.stored} mentions stored "
        f"({r.duplicates} already there), {summary.customers} customers, {summary.identities} identities linked"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import a CSV/JSON/NDJSON file (optionally .gz) of mentions."""
    from scrm.ingest.mapping import parse_map_args
    from scrm.ingest.pipeline import import_file

    mapping = parse_map_args(args.map or [])
    engine = _engine(args)
    if args.brand_account:
        _brand_accounts(engine, args)
    path = Path(args.path)
    size = path.stat().st_size if path.exists() else 0
    with _bar(size, f"importing {path.name}", unit="B", unit_scale=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.update(min(done, total) - bar.n)

        result = import_file(
            path,
            engine=engine,
            platform=args.platform,
            brand=args.brand,
            mapping=mapping,
            timezone=args.timezone,
            fmt=args.format,
            progress=progress,
        )
    if args.json:
        _print_json(result.to_dict())
        return 0
    print(
        f"{result.file_name}: read {result.read}, stored {result.stored}, updated {result.updated}, "
        f"duplicates {result.duplicates}, rejected {result.rejected} ({result.seconds:.1f} s)"
    )
    print("mapping: " + ", ".join(f"{k}={v}" for k, v in result.mapping.items()))
    if result.ignored_columns:
        print("ignored columns: " + ", ".join(result.ignored_columns))
    for rej in result.rejections[:20]:
        print(f"  row {rej.row}: {rej.reason}")
    more = result.rejected + result.duplicates - len(result.rejections[:20])
    if result.rejections[20:] or (result.rejected > 20):
        print(f"  ... see all rejected rows of import {result.batch_id} on the Data page ({more} more)")
    return 0


def _brand_accounts(engine: Engine, args: argparse.Namespace) -> None:
    """Register the import's --brand-account handles (their replies are the brand's responses)."""
    from scrm.brands import list_brands
    from scrm.responses import add_brand_accounts

    if not args.platform:
        raise ScrmError("--brand-account needs --platform: the platform of those accounts")
    brand = args.brand
    if not brand:
        own = [b.name for b in list_brands(engine=engine) if b.is_own]
        if len(own) != 1:
            raise ScrmError("--brand-account needs --brand NAME: the brand those accounts speak for")
        brand = own[0]
    add_brand_accounts(engine=engine, brand=brand, platform=args.platform, handles=args.brand_account)


def cmd_responses(args: argparse.Namespace) -> int:
    """First response times to inbound posts, from imported reply threads."""
    from scrm.brands import get_brand
    from scrm.filters import Filters, period_bounds
    from scrm.responses import POST_SLA_S, inbound_posts, summarise, summarise_by
    from scrm.timeutil import utcnow

    engine = _engine(args)
    end = period_bounds("7d", now=utcnow())[1]  # the next whole hour
    start = end - timedelta(days=args.days)
    brand_ids = (get_brand(engine=engine, name=args.brand).id,) if args.brand else ()
    frame = inbound_posts(engine=engine, filters=Filters(start=start, end=end, brand_ids=brand_ids))
    sla_s = args.sla_minutes * 60 if args.sla_minutes else POST_SLA_S
    figures = {
        "brand": args.brand,
        "since": start.isoformat(),
        "until": end.isoformat(),
        "sla_s": sla_s,
        **summarise(frame, sla_s=sla_s),
        "by_platform": summarise_by(frame, "platform", sla_s=sla_s).to_dict("records"),
    }
    if args.json:
        _print_json(figures)
        return 0

    def hours(value: float | None) -> str:
        return "—" if value is None else f"{value / 3600:.1f} h"

    share = figures["sla_breach_share"]
    print(
        f"{figures['inbound']} inbound posts, {figures['answered']} answered; first response median "
        f"{hours(figures['median_first_response_s'])}, p90 {hours(figures['p90_first_response_s'])}; "
        f"{'—' if share is None else f'{share:.0f} %'} breached the {sla_s / 3600:g} h SLA"
    )
    return 0


def _notify(engine: Engine) -> dict[str, int]:
    """Queue notifications for new urgent alerts and send what is due (a receiver down only delays)."""
    from scrm import notify
    from scrm.config import load_settings

    settings = load_settings()
    queued = notify.queue(engine=engine, settings=settings)
    return {"queued": queued, **notify.deliver(engine=engine, settings=settings).to_dict()}


def cmd_notify(args: argparse.Namespace) -> int:
    """Queue and send alert notifications (webhook, e-mail) from the outbox, with retries."""
    from scrm import notify

    engine = _engine(args)
    if args.action == "retry":
        print(f"{notify.retry_failed(engine=engine)} failed notifications queued again")
    if args.action == "list":
        rows = notify.outbox(engine=engine)
        if args.json:
            _print_json(rows)
        for r in [] if args.json else rows:
            print(
                f"#{r['id']} alert {r['alert_id']} {r['channel']} {r['status']} ({r['attempts']} tries) {r['last_error']}"
            )
        return 0
    sent = _notify(engine)
    if args.json:
        _print_json(sent)
    else:
        print(
            f"queued {sent['queued']}; sent {sent['sent']}, retrying {sent['retrying']}, failed {sent['failed']}"
        )
    return 0


def cmd_brands(args: argparse.Namespace) -> int:
    """Add, list or edit brands."""
    from scrm import brands

    engine = _engine(args)
    if args.brands_cmd == "add":
        b = brands.add_brand(
            engine=engine, name=args.name, query=args.query or "", is_own=args.own, colour=args.colour or ""
        )
        print(f"Added brand {b.name!r} ({'own' if b.is_own else 'competitor'})")
        return 0
    if args.brands_cmd == "edit":
        own = True if args.own else (False if args.competitor else None)
        b = brands.edit_brand(
            engine=engine,
            name=args.name,
            new_name=args.new_name,
            query=args.query,
            is_own=own,
            colour=args.colour,
        )
        print(f"Updated brand {b.name!r}")
        return 0
    rows = [
        {"name": b.name, "own": b.is_own, "colour": b.colour, "query": b.query}
        for b in brands.list_brands(engine=engine)
    ]
    if args.json:
        _print_json(rows)
    elif not rows:
        print("No brands yet: add one with `python -m scrm brands add NAME --query '...'`")
    for r in [] if args.json else rows:
        print(f"{r['name']:<24} {'own' if r['own'] else 'competitor':<10} {r['colour']:<8} {r['query']}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score mentions that have no score yet, or all of them with --all."""
    from scrm.scoring import rescore

    engine = _engine(args)
    with _bar(None, "scoring", unit="mentions") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        n = rescore(engine=engine, all_mentions=args.all, progress=progress)
    print(f"Scored {n} mentions")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Report sentiment quality on the VADER ground truth or a labelled CSV."""
    from scrm import evaluation

    lexicon = not args.no_domain_lexicon
    if args.file:
        reports = [
            evaluation.evaluate_labelled_csv(
                Path(args.file),
                text_column=args.text_column,
                label_column=args.label_column,
                domain_lexicon=lexicon,
            )
        ]
    else:
        directory = Path(args.dataset_dir) if args.dataset_dir else None
        reports = evaluation.evaluate_ground_truth(directory, domain_lexicon=lexicon)
    if args.json:
        _print_json([r.to_dict() for r in reports])
    else:
        print(evaluation.format_reports(reports))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export mentions or identity links to a formula-safe CSV."""
    from scrm.export import export_mentions
    from scrm.timeutil import get_zone, parse_datetime

    engine = _engine(args)
    if args.export_cmd == "identities":
        from scrm.linking import export_identities

        n = export_identities(args.out, engine=engine)
        print(f"Wrote {n} identities (links and queued candidates) to {args.out}")
        return 0
    since = until = None
    try:
        tz = get_zone(args.timezone)
        if args.since:
            since = parse_datetime(args.since, tz)
        if args.until:
            until = parse_datetime(args.until, tz)
            if len(args.until.strip()) == 10:  # a date: include the whole day
                until += timedelta(days=1)
    except ValueError as exc:
        raise ScrmError(f"Bad --since/--until: {exc}") from None
    n = export_mentions(args.out, engine=engine, brand=args.brand, since=since, until=until)
    print(f"Wrote {n} mentions to {args.out}")
    return 0


def cmd_import_customers(args: argparse.Namespace) -> int:
    """Import customers (CRM records) from a CSV/JSON/NDJSON file, optionally .gz; upsert by crm_ref."""
    from scrm.customers import import_customers, parse_map_args

    mapping = parse_map_args(args.map or [])
    engine = _engine(args)
    path = Path(args.path)
    size = path.stat().st_size if path.exists() else 0
    with _bar(size, f"importing {path.name}", unit="B", unit_scale=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.update(min(done, total) - bar.n)

        result = import_customers(path, engine=engine, mapping=mapping, progress=progress)
    if args.json:
        _print_json(result.to_dict())
        return 0
    print(
        f"{result.file_name}: read {result.read}, stored {result.stored}, updated {result.updated}, "
        f"unchanged {result.unchanged}, rejected {result.rejected}, handles linked {result.linked} "
        f"({result.seconds:.1f} s)"
    )
    print("mapping: " + ", ".join(f"{k}={v}" for k, v in result.mapping.items()))
    for rej in result.rejections[:20]:
        print(f"  row {rej.row}: {rej.reason}")
    if result.rejected > 20:
        print(f"  ... {result.rejected - 20} more: see import {result.batch_id} on the Data page")
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    """Link social accounts to customers (exact handle, e-mail, fuzzy); queue the uncertain for review."""
    from scrm.linking import link

    engine = _engine(args)
    with _bar(None, "fuzzy matching", unit="accounts") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = link(
            engine=engine, threshold=args.threshold, review_floor=args.review_floor, progress=progress
        )
    if args.json:
        _print_json(result.to_dict())
    else:
        methods = ", ".join(f"{k} {v}" for k, v in sorted(result.by_method.items())) or "none"
        print(
            f"{result.customers} customers, {result.authors} accounts: linked {result.linked} ({methods}), "
            f"queued {result.queued} for review ({result.seconds:.1f} s)"
        )
    return 0


def cmd_customers(args: argparse.Namespace) -> int:
    """A customer's data-subject rights: erase (right to erasure) or export (right of access)."""
    from scrm.customers import erase_customer, export_customer

    engine = _engine(args)
    if args.customers_cmd == "erase":
        counts = erase_customer(engine=engine, crm_ref=args.crm_ref, user=args.user, delete_posts=args.posts)
        print("Erased the customer: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return 0
    data = export_customer(engine=engine, crm_ref=args.crm_ref)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2, ensure_ascii=False)
    print(
        f"Wrote the customer's data ({len(data['identities'])} identities, {len(data['posts'])} posts) to {args.out}"
    )
    return 0


def _lead_filters(args: argparse.Namespace) -> Any:
    """``--since``/``--until`` as lead filters (default: everything up to the next hour)."""
    from dataclasses import replace

    from scrm.leads import whole_history

    since, until = _period(args)
    everything = whole_history()
    return replace(everything, start=since or everything.start, end=until or everything.end)


def cmd_leads(args: argparse.Namespace) -> int:
    """Find leads (purchase intent, switching, competitor complaints), list them or export them."""
    import time

    from scrm import leads

    engine = _engine(args)
    filters = _lead_filters(args)
    if args.leads_cmd == "find":
        started = time.perf_counter()
        with _bar(None, "posts read for leads", unit="posts") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            stored = leads.find_leads(engine=engine, filters=filters, progress=progress)
        result = {"stored": stored, "leads": int(leads.funnel(engine=engine)["leads"].sum())}
        result["seconds"] = round(time.perf_counter() - started, 2)
        if args.json:
            _print_json(result)
        else:
            print(f"{stored} new leads stored ({result['leads']} in all, {result['seconds']:.1f} s)")
        return 0
    if args.leads_cmd == "export":
        n = leads.export_leads_csv(args.out, engine=engine, filters=filters)
        if args.json:
            _print_json({"rows": n, "out": args.out})
        else:
            print(f"Wrote {n} leads to {args.out}")
        return 0
    frame = leads.list_leads(
        engine=engine,
        filters=filters,
        stages=[args.stage] if args.stage else (),
        kinds=[args.kind] if args.kind else (),
        limit=args.limit,
    )
    if args.json:
        rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        _print_json(
            [{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in r.items()} for r in rows]
        )
        return 0
    if frame.empty:
        print("No leads: find them with `python -m scrm leads find`")
    for r in frame.itertuples(index=False):
        text = " ".join(str(r.text).split())
        print(f"#{r.id:<6} {r.stage:<9} {r.kind:<20} {r.score:.2f} {r.brand:<16.16} {text[:70]}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Show what the database holds."""
    from scrm.stats import database_stats

    stats = database_stats(engine=_engine(args))
    if args.json:
        _print_json(stats)
        return 0
    for key in ("mentions", "authors", "brands", "customers", "imports"):
        print(f"{key:<10} {stats[key]:>10,}")
    if stats["first"]:
        print(f"period     {stats['first']:%Y-%m-%d %H:%M} to {stats['last']:%Y-%m-%d %H:%M} UTC")
    for name, n in stats["per_brand"].items():
        print(f"  {name:<24} {n:>10,}")
    return 0


def cmd_influencers(args: argparse.Namespace) -> int:
    """Rank authors by influence score (0-100) with the parts of the score."""
    import math

    from scrm.brands import get_brand
    from scrm.filters import Filters, period_bounds
    from scrm.influencers import PARTS, rank_authors
    from scrm.timeutil import utcnow

    if not 1 <= args.days <= 3650:
        raise ScrmError(f"--days must be between 1 and 3650 (got {args.days})")
    engine = _engine(args)
    brand = get_brand(engine=engine, name=args.brand) if args.brand else None
    brand_ids = (brand.id or 0,) if brand else ()
    _, end = period_bounds("7d", now=utcnow())  # ends at the next whole hour, like the dashboard
    filters = Filters(start=end - timedelta(days=args.days), end=end, brand_ids=brand_ids)
    frame = rank_authors(engine=engine, filters=filters, top=args.top)

    def number(value: Any) -> float | None:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    rows = [
        {
            "rank": int(r["rank"]),
            "handle": r["handle"],
            "platform": r["platform"],
            "display_name": r["display_name"],
            "score": float(r["score"]),
            "parts": {p: float(r[f"{p}_part"]) for p in PARTS},
            "followers": int(r["followers"]),
            "posts": int(r["posts"]),
            "engagement_per_post": round(float(r["engagement_per_post"]), 2),
            "positive": int(r["positive"]),
            "neutral": int(r["neutral"]),
            "negative": int(r["negative"]),
            "net_sentiment": number(r["net_sentiment"]),
        }
        for r in frame.to_dict("records")
    ]
    if args.json:
        _print_json(rows)
        return 0
    scope = brand.name if brand else "all brands"
    if not rows:
        print(
            f"No author posted about {scope} in the last {args.days} days: try --days 90 or another --brand"
        )
        return 0
    print(f"Influencers of {scope}, {filters.start:%Y-%m-%d %H:%M} to {filters.end:%Y-%m-%d %H:%M} UTC")
    head = f"{'#':>3}  {'author':<28} {'platform':<10} {'score':>5}  " + " ".join(
        f"{p[:6]:>6}" for p in PARTS
    )
    print(head + f"  {'followers':>10} {'posts':>6} {'net':>5}")
    for r in rows:
        net = "—" if r["net_sentiment"] is None else f"{r['net_sentiment']:+.0f}"
        parts = " ".join(f"{r['parts'][p]:>6.0f}" for p in PARTS)
        print(
            f"{r['rank']:>3}  {'@' + r['handle']:<28.28} {r['platform']:<10.10} {r['score']:>5.1f}  {parts}"
            f"  {r['followers']:>10,} {r['posts']:>6,} {net:>5}"
        )
    print(
        "score = 0.30 reach + 0.25 engagement + 0.20 centrality + 0.15 activity + 0.10 opinion (docs/INFLUENCERS.md)"
    )
    return 0


def _period(args: argparse.Namespace) -> tuple[Any, Any]:
    """``--since``/``--until`` as aware datetimes (UTC when naive; a date ``--until`` includes that day)."""
    from scrm.timeutil import parse_datetime

    since = until = None
    try:
        if args.since:
            since = parse_datetime(args.since)
        if args.until:
            until = parse_datetime(args.until)
            if len(args.until.strip()) == 10:
                until += timedelta(days=1)
    except ValueError as exc:
        raise ScrmError(f"Bad --since/--until: {exc} (use ISO 8601, e.g. 2026-11-05T09:00)") from None
    if since and until and until <= since:
        raise ScrmError("--until must be after --since")
    return since, until


def _rule_params(pairs: list[str] | None) -> dict[str, str]:
    params = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ScrmError(f"Bad --param {pair!r}: use key=value, e.g. --param min_reach=100000")
        params[key.strip()] = value.strip()
    return params


def cmd_alerts(args: argparse.Namespace) -> int:
    """Run the alert rules, list alerts, and manage the rules."""
    from scrm import alerts

    engine = _engine(args)
    if args.alerts_cmd == "run":
        since, until = _period(args)
        with _bar(None, "alert rules", unit="rules") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            result = alerts.evaluate(
                engine=engine, since=since, until=until, progress=progress, replay=args.replay
            )
        from scrm.inbox import raise_sla_breaches

        breaches = raise_sla_breaches(engine=engine)
        sent = _notify(engine)
        if args.json:
            _print_json({**result.to_dict(), "sla_breaches": len(breaches), "notifications": sent})
        else:
            print(
                f"{result.rules} rules: {result.raised} alerts raised, {result.updated} updated, "
                f"{result.grouped} mentions grouped ({result.seconds:.1f} s); {len(breaches)} SLA breaches; "
                "notifications: "
                f"queued {sent['queued']}, sent {sent['sent']}, retrying {sent['retrying']}, failed {sent['failed']}"
            )
        return 0
    if args.alerts_cmd == "list":
        rows = alerts.list_alerts(engine=engine, status=args.status, brand=args.brand, limit=args.limit)
        if args.json:
            _print_json(
                [{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in r.items()} for r in rows]
            )
        elif not rows:
            print("No alerts: rules run on every import, or with `python -m scrm alerts run`")
        for r in [] if args.json else rows:
            print(
                f"#{r['id']:<5} {r['priority']} {r['status']:<12} {r['raised_at']:%Y-%m-%d %H:%M} "
                f"{r['mentions']:>6} mentions  {r['title']}"
            )
        return 0
    return _alert_rules(engine, args)


def _alert_rules(engine: Engine, args: argparse.Namespace) -> int:
    from scrm import alerts
    from scrm.brands import list_brands

    action = args.rules_cmd
    if action == "add":
        rule = alerts.add_rule(
            engine=engine,
            name=args.name,
            kind=args.kind,
            brand=args.brand,
            params=_rule_params(args.param),
            cooldown_minutes=args.cooldown,
            user=args.user,
            enabled=not args.disabled,
        )
        print(f"Added alert rule {rule.id}: {rule.name} ({rule.kind}, {rule.params})")
    elif action == "edit":
        current = alerts.get_rule(engine=engine, rule_id=args.id)
        given = _rule_params(args.param)
        rule = alerts.update_rule(
            engine=engine,
            rule_id=args.id,
            user=args.user,
            name=args.name,
            params={**current.params, **given} if given else None,
            cooldown_minutes=args.cooldown,
            enabled=True if args.enable else (False if args.disable else None),
        )
        print(f"Updated alert rule {rule.id}: {rule.name} ({'enabled' if rule.enabled else 'disabled'})")
    elif action == "delete":
        gone = alerts.delete_rule(engine=engine, rule_id=args.id, user=args.user, force=args.force)
        print(f"Deleted alert rule {args.id}" + (f" and its {gone} alerts" if gone else ""))
    elif action == "defaults":
        created = alerts.default_rules(engine=engine, user=args.user)
        print(f"Added {len(created)} default rules" + "".join(f"\n  {r.id}: {r.name}" for r in created))
    else:
        brands = {b.id: b.name for b in list_brands(engine=engine)}
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "brand": brands.get(r.brand_id) if r.brand_id else None,
                "kind": r.kind,
                "params": r.params,
                "cooldown_minutes": r.cooldown_minutes,
                "enabled": r.enabled,
                "checked_at": r.checked_at,
            }
            for r in alerts.list_rules(engine=engine)
        ]
        if args.json:
            _print_json(rows)
        elif not rows:
            print("No alert rules: add the defaults with `python -m scrm alerts rules defaults`")
        for r in [] if args.json else rows:
            state = "on " if r["enabled"] else "off"
            print(
                f"{r['id']:>4} {state} {r['kind']:<21} {r['brand'] or 'all brands':<20} {r['name']}  {r['params']}"
            )
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    """Collect new mentions from a live source (Reddit): once for cron, or --watch to keep polling."""
    import time

    from scrm.config import load_settings
    from scrm.ingest.reddit import collect_reddit
    from scrm.timeutil import parse_datetime

    since = None
    if args.since:
        try:
            since = parse_datetime(args.since)
        except ValueError as exc:
            raise ScrmError(
                f"Bad --since: {exc} (use ISO 8601, e.g. 2026-11-05 or 2026-11-05T09:00)"
            ) from None
    if args.limit is not None and args.limit < 1:
        raise ScrmError(f"--limit must be at least 1 (got {args.limit})")
    if args.interval <= 0:
        raise ScrmError(f"--interval must be a number of seconds above 0 (got {args.interval})")
    settings = load_settings()
    engine = _engine(args)
    runs = failed = 0
    try:
        while True:
            total = args.limit or settings.reddit_max_items
            with _bar(total, "reddit", unit="items") as bar:

                def progress(done: int, _total: int, bar: Any = bar) -> None:
                    bar.update(min(done, bar.total or done) - bar.n)

                result = collect_reddit(
                    engine=engine,
                    brands=args.brand,
                    subreddits=args.subreddit,
                    limit=args.limit,
                    since=since,
                    progress=progress,
                    trigger="watch" if args.watch else "cli",
                    settings=settings,
                )
            runs += 1
            failed += not result.ok
            if args.json and args.watch:
                print(json.dumps(result.to_dict(), default=str, ensure_ascii=False), flush=True)
            elif args.json:
                _print_json(result.to_dict())
            else:
                print(result.summary(), flush=True)
            for error in result.errors:
                print(f"error: {error}", file=sys.stderr, flush=True)
            if not args.watch or (args.runs and runs >= args.runs):
                break
            time.sleep(args.interval)
    except KeyboardInterrupt:
        if not args.watch:
            raise
        print(f"stopped after {runs} runs", file=sys.stderr)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="python -m scrm", description="scrm: Social CRM for brand monitoring"
    )
    parser.add_argument("--database-url", help="database URL (default: SCRM_DATABASE_URL or data/scrm.db)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], **kw: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=func.__doc__, description=func.__doc__, **kw)
        p.set_defaults(func=func)
        return p

    add("init", cmd_init)
    p = add("demo", cmd_demo)
    p.add_argument("--mentions", type=int, default=50_000, help="number of mentions (default 50000)")
    p.add_argument("--customers", type=int, default=5_000, help="number of customers (default 5000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")

    p = add("import", cmd_import)
    p.add_argument("path", help="CSV, JSON or NDJSON file, optionally .gz")
    p.add_argument("--platform", help="platform of every row (default: a platform column, or guessed)")
    p.add_argument("--brand", help="link every row to this brand (created if needed)")
    p.add_argument(
        "--map",
        action="append",
        metavar="field=column",
        help="map a field to a column (repeatable); fields: external_id, platform, text, created_at, "
        "author, followers, likes, shares, comments, reach, url, brand, parent_id, language",
    )
    p.add_argument("--timezone", default="UTC", help="timezone of naive timestamps (default UTC)")
    p.add_argument("--format", choices=("csv", "json", "ndjson"), help="file format (default: detected)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument(
        "--brand-account",
        action="append",
        metavar="HANDLE",
        help="an account of the brand (with --platform; repeatable): its replies count as responses",
    )

    p = add("brands", cmd_brands)
    bsub = p.add_subparsers(dest="brands_cmd", required=True, metavar="ACTION")
    b = bsub.add_parser("add", help="add a brand")
    b.add_argument("name")
    b.add_argument("--query", help="boolean query, e.g. '\"northwind bank\" OR @northwind'")
    b.add_argument("--own", action="store_true", help="our own brand (default: a competitor)")
    b.add_argument("--colour", help="chart colour #RRGGBB (default: from the palette)")
    b = bsub.add_parser("list", help="list brands")
    b.add_argument("--json", action="store_true")
    b = bsub.add_parser("edit", help="change a brand")
    b.add_argument("name")
    b.add_argument("--name", dest="new_name", help="new name")
    b.add_argument("--query", help="new boolean query")
    own = b.add_mutually_exclusive_group()
    own.add_argument("--own", action="store_true", help="mark as our own brand")
    own.add_argument("--competitor", action="store_true", help="mark as a competitor")
    b.add_argument("--colour", help="chart colour #RRGGBB")

    p = add("score", cmd_score)
    p.add_argument("--all", action="store_true", help="re-score every mention (after a lexicon change)")

    p = add("evaluate", cmd_evaluate)
    p.add_argument("--dataset-dir", help="VADER ground-truth folder (default: SCRM_GROUND_TRUTH_DIR)")
    p.add_argument("--file", help="a labelled CSV to evaluate instead")
    p.add_argument("--text-column", default="text", help="text column of --file (default text)")
    p.add_argument("--label-column", default="label", help="label column of --file (default label)")
    p.add_argument("--no-domain-lexicon", action="store_true", help="stock VADER lexicon only")
    p.add_argument("--json", action="store_true")

    p = add("export", cmd_export)
    esub = p.add_subparsers(dest="export_cmd", required=True, metavar="WHAT")
    e = esub.add_parser("mentions", help="mentions as CSV")
    e.add_argument("--out", required=True, help="output CSV file")
    e.add_argument("--brand", help="only mentions of this brand")
    e.add_argument("--since", help="from this date/time (inclusive)")
    e.add_argument("--until", help="to this date (inclusive) or date/time (exclusive)")
    e.add_argument("--timezone", default="UTC", help="timezone of --since/--until (default UTC)")

    e = esub.add_parser("identities", help="identity links and queued candidates as CSV")
    e.add_argument("--out", required=True, help="output CSV file")

    p = add("collect", cmd_collect)
    p.add_argument("source", choices=("reddit",), help="the source to read (reddit)")
    p.add_argument("--brand", action="append", metavar="NAME", help="search for this brand only (repeatable)")
    p.add_argument(
        "--subreddit",
        action="append",
        metavar="S",
        help="monitor this subreddit only: new posts and comments (repeatable); with neither --brand "
        "nor --subreddit: every brand and SCRM_REDDIT_SUBREDDITS",
    )
    p.add_argument("--limit", type=int, help="at most N items this run (default SCRM_REDDIT_MAX_ITEMS)")
    p.add_argument("--since", help="skip items older than this date/time (ISO 8601, UTC)")
    p.add_argument("--watch", action="store_true", help="keep collecting, one run every --interval")
    p.add_argument("--interval", type=float, default=300, help="seconds between --watch runs (300)")
    p.add_argument("--runs", type=int, help="with --watch: stop after N runs (default: until Ctrl-C)")
    p.add_argument("--json", action="store_true", help="print each run's result as JSON")

    p = add("import-customers", cmd_import_customers)
    p.add_argument("path", help="CSV, JSON or NDJSON file, optionally .gz")
    p.add_argument(
        "--map",
        action="append",
        metavar="field=column",
        help="map a field to a column (repeatable); fields: crm_ref, name, email, country, region, city, "
        "age, income, household_size, segment, lifetime_value, and handle.PLATFORM (e.g. handle.twitter)",
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")

    p = add("link", cmd_link)
    p.add_argument("--threshold", type=float, default=0.9, help="link at this confidence or above (0.9)")
    p.add_argument("--review-floor", type=float, default=0.75, help="queue for review from here (0.75)")
    p.add_argument("--json", action="store_true", help="print linked, queued, customers, authors as JSON")

    p = add("customers", cmd_customers)
    csub = p.add_subparsers(dest="customers_cmd", required=True, metavar="ACTION")
    c = csub.add_parser("erase", help="erase a customer's personal data (one transaction, audited)")
    c.add_argument("crm_ref")
    c.add_argument("--posts", action="store_true", help="also delete the posts of their linked accounts")
    c.add_argument("--user", required=True, help="who erases (audit log)")
    c = csub.add_parser("export", help="everything held about a customer, as JSON (right of access)")
    c.add_argument("crm_ref")
    c.add_argument("--out", required=True, help="output JSON file")

    p = add("leads", cmd_leads)
    lsub = p.add_subparsers(dest="leads_cmd", required=True, metavar="ACTION")
    for name, text in (
        ("find", "read the posts without a lead and store the leads found (safe to repeat)"),
        ("list", "list leads, best first"),
        ("export", "write the leads as a formula-safe CSV for the CRM"),
    ):
        ld = lsub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        ld.add_argument("--since", help="only posts from this date/time (ISO 8601, UTC)")
        ld.add_argument("--until", help="... up to this date (inclusive) or date/time (exclusive)")
        ld.add_argument("--json", action="store_true", help="print the result as JSON")
        if name == "export":
            ld.add_argument("--out", required=True, help="output CSV file")
        if name == "list":
            ld.add_argument("--stage", choices=("new", "qualified", "contacted", "won", "lost"))
            ld.add_argument("--kind", choices=("purchase_intent", "switching", "competitor_complaint"))
            ld.add_argument("--limit", type=int, default=100, help="at most N leads (default 100)")

    p = add("stats", cmd_stats)
    p.add_argument("--json", action="store_true")

    p = add("influencers", cmd_influencers)
    p.add_argument("--brand", help="only this brand's mentions (default: every brand)")
    p.add_argument("--top", type=int, default=20, help="number of authors, 1-1000 (default 20)")
    p.add_argument("--days", type=int, default=30, help="period: the last D days (default 30)")
    p.add_argument("--json", action="store_true", help="a JSON list of authors with score and parts")

    p = add("notify", cmd_notify)
    p.add_argument(
        "action", choices=("run", "retry", "list"), help="run: queue and send due; retry: failed again"
    )
    p.add_argument("--json", action="store_true")

    p = add("responses", cmd_responses)
    p.add_argument("--brand", help="only this brand's inbound posts")
    p.add_argument("--days", type=int, default=90, help="period: the last D days (default 90)")
    p.add_argument("--sla-minutes", type=int, help="first-response target in minutes (default 240)")
    p.add_argument("--json", action="store_true")
    from scrm.models import ALERT_KINDS, ALERT_STATUSES

    p = add("alerts", cmd_alerts)
    asub = p.add_subparsers(dest="alerts_cmd", required=True, metavar="ACTION")
    a = asub.add_parser(
        "run",
        help="run the enabled rules on what was stored since their last run (or on a period)",
        description="Run the enabled alert rules: on the mentions stored since each rule's last run, "
        "or with --since/--until on the mentions created in that period. Safe to repeat (cron).",
    )
    a.add_argument("--since", help="re-read mentions created from this date/time (ISO 8601, UTC)")
    a.add_argument("--until", help="... up to this date (inclusive) or date/time (exclusive)")
    a.add_argument(
        "--replay", action="store_true", help="raise alerts at the time their evidence appeared (backfills)"
    )
    a.add_argument("--json", action="store_true", help="print rules, raised, updated, grouped as JSON")
    a = asub.add_parser(
        "list", help="list alerts, most urgent first", description="List alerts, most urgent first."
    )
    a.add_argument("--status", choices=ALERT_STATUSES, help="only alerts with this status")
    a.add_argument("--brand", help="only this brand's alerts")
    a.add_argument("--limit", type=int, default=1000, help="at most N alerts (default 1000)")
    a.add_argument("--json", action="store_true")
    a = asub.add_parser(
        "rules", help="add, list, edit or delete alert rules", description="Manage alert rules."
    )
    rsub = a.add_subparsers(dest="rules_cmd", required=True, metavar="ACTION")
    r = rsub.add_parser(
        "add",
        help="add a rule",
        description="Add an alert rule. Parameters by kind (docs/ALERTS.md): negative_influencer: "
        "min_reach, min_engagement; escalation: min_velocity, min_engagement; volume_spike and "
        "negative_share_spike: window_hours, baseline_hours, k, min_count; keyword: keywords "
        "(comma-separated), negative_only.",
    )
    r.add_argument("name")
    r.add_argument("--kind", required=True, choices=ALERT_KINDS)
    r.add_argument("--brand", help="the brand it watches (default: every brand)")
    r.add_argument("--param", action="append", metavar="key=value", help="a parameter (repeatable)")
    r.add_argument("--cooldown", type=int, default=360, help="minutes that group one incident (default 360)")
    r.add_argument("--disabled", action="store_true", help="create it disabled")
    r.add_argument("--user", default="cli", help="who makes the change (audit log)")
    r = rsub.add_parser("list", help="list rules")
    r.add_argument("--json", action="store_true")
    r = rsub.add_parser(
        "edit", help="change a rule", description="Change a rule; given parameters replace theirs."
    )
    r.add_argument("id", type=int)
    r.add_argument("--name", help="new name")
    r.add_argument("--param", action="append", metavar="key=value", help="a parameter to change (repeatable)")
    r.add_argument("--cooldown", type=int, help="new cooldown in minutes")
    on = r.add_mutually_exclusive_group()
    on.add_argument("--enable", action="store_true")
    on.add_argument("--disable", action="store_true")
    r.add_argument("--user", default="cli", help="who makes the change (audit log)")
    r = rsub.add_parser(
        "delete", help="delete a rule", description="Delete a rule (refused if it has alerts)."
    )
    r.add_argument("id", type=int)
    r.add_argument("--force", action="store_true", help="also delete its alerts")
    r.add_argument("--user", default="cli", help="who makes the change (audit log)")
    r = rsub.add_parser("defaults", help="add the default rules for every own brand")
    r.add_argument("--user", default="cli", help="who makes the change (audit log)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScrmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: whole batches were stored; run the same command again to complete it",
            file=sys.stderr,
        )
        return 130

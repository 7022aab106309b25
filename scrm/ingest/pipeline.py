"""The one ingest path for every source: validate → deduplicate → match brands → score → store.

Mentions are stored in transactional batches with bulk inserts. Each batch is one
transaction, so a crash leaves only whole batches and a rerun completes the import; the
(platform, external_id) key makes every import idempotent, and a newer export of known
posts updates their metrics instead of adding rows.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scrm.brands import ensure_brands
from scrm.exceptions import ScrmError
from scrm.ingest.batches import (
    BatchResult,
    Rejection,
    dialect_insert,
    finish_batch,
    raw_record,
    record_rejections,
    save_counts,
    set_file_hash,
    start_batch,
)
from scrm.ingest.files import MentionFile, RowError
from scrm.ingest.mapping import RowMapper
from scrm.models import (
    Author,
    Brand,
    Mention,
    MentionBrand,
    MentionCreate,
    MentionMetrics,
)
from scrm.query import BrandMatcher
from scrm.sentiment import BatchScorer, label_for
from scrm.timeutil import epoch, get_zone, utcnow

Progress = Callable[[int], None]
MAX_REPORTED_REJECTIONS = 1000
AUTHOR_CACHE_SIZE = 200_000  # authors whose id a run remembers between batches
METRICS = ("likes", "shares", "comments", "reach")
_M = Mention.__table__
_MB = MentionBrand.__table__
_A = Author.__table__


@dataclass
class ImportResult(BatchResult):
    """What a mention import did (:class:`BatchResult` plus duplicates and ignored columns)."""

    duplicates: int = 0
    ignored_columns: list[str] = field(default_factory=list)


Item = tuple[int, MentionCreate | Rejection]


@dataclass
class _Prepared:
    """A batch validated, matched and sent to scoring, waiting to be stored."""

    read: int
    new: list[tuple[int, MentionCreate, list[str]]]
    existing: dict[str, tuple[int, MentionCreate, dict[str, Any]]]  # external key -> (row, m, stored)
    rejections: list[tuple[Rejection, str]]  # (rejection, raw)
    in_batch_duplicates: int
    scores: Future[list[float]] | None


class Pipeline:
    """Stores mentions for one :class:`ImportBatch`; use :func:`ingest_mentions` or :func:`import_file`."""

    def __init__(
        self,
        *,
        engine: Engine,
        source: str,
        file_name: str = "",
        batch_size: int | None = None,
        workers: int | None = None,
        domain_lexicon: bool | None = None,
        alerts: bool = True,
    ) -> None:
        from scrm.config import get_settings

        settings = get_settings()
        self.engine = engine
        self.batch_size = batch_size or settings.batch_size
        self.workers = settings.score_workers if workers is None else workers
        self.domain_lexicon = settings.domain_lexicon if domain_lexicon is None else domain_lexicon
        self.alerts = alerts
        batch_id = start_batch(engine, source=source, file_name=file_name)
        self.result = ImportResult(batch_id=batch_id, file_name=file_name)
        # (platform, handle) -> (author id, followers as stored), for the authors this run has
        # already read or written: most batches of a large import repeat the same authors.
        self._authors: dict[tuple[str, str], tuple[int, int]] = {}
        brands = _load_brands(engine)
        self.brand_ids = {name.lower(): bid for bid, name, _ in brands}
        self.matcher = BrandMatcher({name: query for _, name, query in brands if query.strip()})

    def run(self, items: Iterable[Item], *, progress: Progress | None = None) -> ImportResult:
        """Store every item; rejections are recorded with their row numbers."""
        with _fewer_collections():
            return self._run(items, progress)

    def _run(self, items: Iterable[Item], progress: Progress | None) -> ImportResult:
        started = time.perf_counter()
        scorer = BatchScorer(workers=self.workers, domain_lexicon=self.domain_lexicon)
        try:
            pending: _Prepared | None = None
            iterator = iter(items)
            while chunk := list(islice(iterator, self.batch_size)):
                prepared = self._prepare(chunk, scorer)
                if pending is not None:
                    self._store(pending)
                    if progress:
                        progress(self.result.read)
                pending = prepared
            if pending is not None:
                self._store(pending)
                if progress:
                    progress(self.result.read)
        except BaseException as exc:
            self._finish("failed", str(exc)[:2000] if isinstance(exc, Exception) else "interrupted")
            raise
        finally:
            scorer.close()
        self.result.seconds = time.perf_counter() - started
        self._finish("done", "")
        if self.alerts and (self.result.stored or self.result.updated):
            from scrm.alerts import evaluate

            evaluate(engine=self.engine)  # the new mentions only; one query when no rule is enabled
        return self.result

    # -- stage 1: validate, dedupe, match, start scoring -----------------------------
    def _prepare(self, chunk: list[Item], scorer: BatchScorer) -> _Prepared:
        rejections: list[tuple[Rejection, str]] = []
        unique: dict[tuple[str, str], tuple[int, MentionCreate]] = {}
        in_batch = 0
        for row, item in chunk:
            if isinstance(item, Rejection):
                rejections.append((item, getattr(item, "raw", "")))
                continue
            key = (item.platform, item.external_id)
            first = unique.get(key)
            if first is not None:
                in_batch += 1
                rejections.append((Rejection(row, f"duplicate of row {first[0]} (same platform and id)"), ""))
                if _metrics(item) != _metrics(first[1]):
                    unique[key] = (first[0], item)  # a later snapshot of the same post wins
                continue
            unique[key] = (row, item)
        existing = _lookup_existing(self.engine, list(unique))
        new: list[tuple[int, MentionCreate, list[str]]] = []
        found: dict[str, tuple[int, MentionCreate, dict[str, Any]]] = {}
        for key, (row, m) in unique.items():
            stored = existing.get(key)
            if stored is not None:
                found["\x1f".join(key)] = (row, m, stored)
            else:
                matched = self.matcher.match(m.text, m.author) if self.matcher else []
                new.append((row, m, _merge(matched, m.brands)))
        texts = [m.text for _, m, _ in new]
        future = scorer.submit(texts) if texts else None
        return _Prepared(len(chunk), new, found, rejections, in_batch, future)

    # -- stage 2: store in one transaction ---------------------------------------------
    def _store(self, p: _Prepared) -> None:
        scores = p.scores.result() if p.scores is not None else []
        explicit = {b for _, m, names in p.new for b in names if b.lower() not in self.brand_ids}
        if explicit:
            self.brand_ids.update(
                {k.lower(): v for k, v in ensure_brands(engine=self.engine, names=explicit).items()}
            )
        stored = updated = duplicates = 0
        learned: dict[tuple[str, str], tuple[int, int]] = {}  # kept once the batch commits
        with self.engine.begin() as conn:
            author_ids = _upsert_authors(
                conn,
                [m for _, m, _ in p.new] + [v[1] for v in p.existing.values()],
                cache=self._authors,
                learned=learned,
            )
            now = utcnow()
            rows = []
            for (_row, m, _brands), compound in zip(p.new, scores, strict=True):
                reach = m.reach if m.reach is not None else m.followers
                rows.append(
                    {
                        "platform": m.platform,
                        "external_id": m.external_id,
                        "author_id": author_ids.get((m.platform, m.author)),
                        "created_at": m.created_at,
                        "text": m.text,
                        "url": m.url,
                        "parent_external_id": m.parent_id,
                        "likes": m.likes,
                        "shares": m.shares,
                        "comments": m.comments,
                        "reach": reach,
                        "language": m.language,
                        "inbound": m.inbound,
                        "source": self.result.file_name[:40] or "import",
                        "batch_id": self.result.batch_id,
                        "compound": compound,
                        "label": label_for(compound),
                        "scored_at": now,
                    }
                )
            inserted = _insert_ignore(conn, rows)
            links = []
            conflicts: list[tuple[int, MentionCreate]] = []
            for (row, m, names), values in zip(p.new, rows, strict=True):
                mention_id = inserted.get((m.platform, m.external_id))
                if mention_id is None:
                    conflicts.append((row, m))
                    continue
                stored += 1
                for name in names:
                    links.append(
                        {
                            "mention_id": mention_id,
                            "brand_id": self.brand_ids[name.lower()],
                            "ts": epoch(m.created_at),
                            "platform": m.platform,
                            "label": values["label"],
                            "reach": values["reach"],
                            "engagement": m.likes + m.shares + m.comments,
                        }
                    )
            if links:
                conn.execute(sa.insert(_MB), links)
            observed = [  # engagement observations, for escalation alerts
                {
                    "mention_id": mid,
                    "engagement": r["likes"] + r["shares"] + r["comments"],
                    "reach": r["reach"],
                }
                for r in rows
                if (mid := inserted.get((r["platform"], r["external_id"]))) is not None
            ]
            # posts already stored: refresh changed metrics, else count as duplicates
            if conflicts:
                again = _lookup_existing(conn, [(m.platform, m.external_id) for _, m in conflicts])
                for row, m in conflicts:
                    p.existing["\x1f".join((m.platform, m.external_id))] = (
                        row,
                        m,
                        again[(m.platform, m.external_id)],
                    )
            changes = []
            for row, m, old in p.existing.values():
                new_metrics = _metrics(m)
                if new_metrics != tuple(old[k] for k in METRICS):
                    changes.append({"b_id": old["id"], **dict(zip(METRICS, new_metrics, strict=True))})
                elif old["batch_id"] == self.result.batch_id:
                    p.rejections.append(
                        (Rejection(row, "duplicate of an earlier row (same platform and id)"), "")
                    )
                    p.in_batch_duplicates += 1
                else:
                    duplicates += 1
            if changes:
                _update_metrics(conn, changes)
                updated = len(changes)
            observed += [
                {
                    "mention_id": c["b_id"],
                    "engagement": c["likes"] + c["shares"] + c["comments"],
                    "reach": c["reach"],
                }
                for c in changes
            ]
            _observe(conn, observed, now)
            real_rejects = [r for r in p.rejections if not r[0].reason.startswith("duplicate of")]
            record_rejections(conn, self.result.batch_id, [(r.row, r.reason, raw) for r, raw in p.rejections])
            res = self.result
            res.read += p.read
            res.stored += stored
            res.updated += updated
            res.duplicates += duplicates + p.in_batch_duplicates
            res.rejected += len(real_rejects)
            room = MAX_REPORTED_REJECTIONS - len(res.rejections)
            if room > 0:
                res.rejections.extend(sorted((r for r, _ in p.rejections), key=lambda r: r.row)[:room])
            save_counts(
                conn,
                res.batch_id,
                read=res.read,
                stored=res.stored,
                updated=res.updated,
                duplicates=res.duplicates,
                rejected=res.rejected,
            )
        if len(self._authors) + len(learned) > AUTHOR_CACHE_SIZE:
            self._authors.clear()  # memory stays bounded on imports with very many authors
        self._authors.update(learned)

    def _finish(self, status: str, error: str) -> None:
        finish_batch(self.engine, self.result.batch_id, status=status, error=error)


_GC_LOCK = threading.Lock()
_GC_USERS = [0, (700, 10, 10)]  # imports running in this process, thresholds to restore
GC_GEN0_DURING_IMPORT = 50_000


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while an import runs.

    An import allocates millions of short-lived objects and almost no reference cycles; at
    the default threshold (700) the collector ran about 26,000 times per million rows and
    took about a fifth of the main process's time. Thresholds are restored when the last
    import in the process ends.
    """
    with _GC_LOCK:
        if _GC_USERS[0] == 0:
            _GC_USERS[1] = gc.get_threshold()
            old = _GC_USERS[1]
            gc.set_threshold(max(old[0], GC_GEN0_DURING_IMPORT), *old[1:])
        _GC_USERS[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_USERS[0] -= 1
            if _GC_USERS[0] == 0:
                gc.set_threshold(*_GC_USERS[1])


def _load_brands(engine: Engine) -> list[tuple[int, str, str]]:
    t = Brand.__table__
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(t.c.id, t.c.name, t.c.query))]


def _merge(matched: list[str], explicit: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in [*matched, *explicit]:
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def _metrics(m: MentionCreate) -> tuple[int, int, int, int]:
    return (m.likes, m.shares, m.comments, m.reach if m.reach is not None else m.followers)


def _chunks(seq: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _lookup_existing(bind: Engine | Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """Stored id, batch and metrics of the mentions with these (platform, external_id) keys."""
    out: dict[tuple[str, str], dict] = {}
    if not keys:
        return out
    by_platform: dict[str, list[str]] = {}
    for platform, ext in keys:
        by_platform.setdefault(platform, []).append(ext)
    cols = [_M.c.id, _M.c.platform, _M.c.external_id, _M.c.batch_id, *(_M.c[k] for k in METRICS)]

    def run(conn: Connection) -> None:
        for platform, ids in by_platform.items():
            for part in _chunks(ids):
                stmt = sa.select(*cols).where(_M.c.platform == platform, _M.c.external_id.in_(part))
                for r in conn.execute(stmt).mappings():
                    out[(r["platform"], r["external_id"])] = dict(r)

    if isinstance(bind, Connection):
        run(bind)
    else:
        with bind.connect() as conn:
            run(conn)
    return out


def _insert_ignore(conn: Connection, rows: list[dict]) -> dict[tuple[str, str], int]:
    """Insert mentions, skipping keys stored meanwhile; returns the new ids by key."""
    if not rows:
        return {}
    stmt = (
        dialect_insert(conn, _M)
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        .returning(_M.c.id, _M.c.platform, _M.c.external_id)
    )
    return {(r.platform, r.external_id): r.id for r in conn.execute(stmt, rows)}


def _upsert_authors(
    conn: Connection,
    mentions: list[MentionCreate],
    *,
    cache: dict[tuple[str, str], tuple[int, int]] | None = None,
    learned: dict[tuple[str, str], tuple[int, int]] | None = None,
) -> dict[tuple[str, str], int]:
    """Ids of the mentions' authors, inserting new ones and refreshing followers.

    ``cache`` maps (platform, handle) to (id, followers) of authors known to be stored: they
    are not looked up again. ``learned`` receives the same pair for every author of this
    call, to be added to the cache once the transaction has committed.
    """
    cache = cache or {}
    latest: dict[tuple[str, str], MentionCreate] = {}
    for m in mentions:
        if m.author:
            key = (m.platform, m.author)
            if key not in latest or m.created_at >= latest[key].created_at:
                latest[key] = m
    if not latest:
        return {}
    ids: dict[tuple[str, str], int] = {}
    known: dict[tuple[str, str], int] = {}
    by_platform: dict[str, list[str]] = {}
    for key in latest:
        cached = cache.get(key)
        if cached is not None:
            ids[key], known[key] = cached
        else:
            by_platform.setdefault(key[0], []).append(key[1])
    for platform, handles in by_platform.items():
        for part in _chunks(handles):
            stmt = sa.select(_A.c.id, _A.c.handle, _A.c.followers).where(
                _A.c.platform == platform, _A.c.handle.in_(part)
            )
            for r in conn.execute(stmt):
                ids[(platform, r.handle)] = r.id
                known[(platform, r.handle)] = r.followers
    missing = [
        {
            "platform": p,
            "handle": h,
            "display_name": m.author_name[:300] or h,
            "followers": m.followers,
            "verified": m.verified,
            "location": "",
            "profile_url": "",
        }
        for (p, h), m in latest.items()
        if (p, h) not in ids
    ]
    if missing:
        stmt = (
            dialect_insert(conn, _A)
            .on_conflict_do_nothing(index_elements=["platform", "handle"])
            .returning(_A.c.id, _A.c.platform, _A.c.handle)
        )
        for r in conn.execute(stmt, missing):
            ids[(r.platform, r.handle)] = r.id
        for p, h in [
            (r["platform"], r["handle"]) for r in missing if (r["platform"], r["handle"]) not in ids
        ]:
            ids[(p, h)] = conn.execute(
                sa.select(_A.c.id).where(_A.c.platform == p, _A.c.handle == h)
            ).scalar_one()
        for r in missing:
            known[(r["platform"], r["handle"])] = r["followers"]
    changed = [
        {"b_id": ids[k], "b_followers": m.followers}
        for k, m in latest.items()
        if k in known and m.followers and m.followers != known[k]
    ]
    if changed:
        conn.execute(
            sa.update(_A)
            .where(_A.c.id == sa.bindparam("b_id"))
            .values(followers=sa.bindparam("b_followers")),
            changed,
        )
    if learned is not None:
        for k, m in latest.items():
            followers = m.followers if m.followers and m.followers != known[k] else known[k]
            learned[k] = (ids[k], followers)
    return ids


def _observe(conn: Connection, rows: list[dict], now: datetime) -> None:
    """Record an engagement observation of each stored or updated mention (escalation alerts read them)."""
    if rows:
        stmt = dialect_insert(conn, MentionMetrics.__table__).on_conflict_do_nothing(
            index_elements=["mention_id", "observed_at"]
        )
        conn.execute(stmt, [{**r, "observed_at": now} for r in rows])


def _update_metrics(conn: Connection, changes: list[dict]) -> None:
    conn.execute(
        sa.update(_M)
        .where(_M.c.id == sa.bindparam("b_id"))
        .values(
            likes=sa.bindparam("likes"),
            shares=sa.bindparam("shares"),
            comments=sa.bindparam("comments"),
            reach=sa.bindparam("reach"),
        ),
        changes,
    )
    conn.execute(
        sa.update(_MB)
        .where(_MB.c.mention_id == sa.bindparam("b_id"))
        .values(
            reach=sa.bindparam("reach"),
            engagement=sa.bindparam("likes") + sa.bindparam("shares") + sa.bindparam("comments"),
        ),
        changes,
    )


def ingest_mentions(
    mentions: Iterable[MentionCreate],
    *,
    engine: Engine,
    source: str,
    file_name: str = "",
    progress: Progress | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    alerts: bool = True,
) -> ImportResult:
    """Store already-normalised mentions (demo, collectors) through the shared pipeline.

    With ``alerts`` (default) the enabled alert rules then run on the new mentions.
    """
    pipeline = Pipeline(
        engine=engine,
        source=source,
        file_name=file_name or source,
        batch_size=batch_size,
        workers=workers,
        alerts=alerts,
    )
    return pipeline.run(enumerate(mentions, start=1), progress=progress)


def import_file(
    path: Path | str,
    *,
    engine: Engine,
    platform: str | None = None,
    brand: str | None = None,
    mapping: dict[str, str] | None = None,
    timezone: str = "UTC",
    fmt: str | None = None,
    display_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    alerts: bool = True,
) -> ImportResult:
    """Import a CSV/JSON/NDJSON file (optionally gzipped) of mentions.

    Raises :class:`ImportFormatError` when the file cannot be read at all; bad rows are
    rejected one by one and reported. ``progress(bytes_read, file_size)`` follows the file.
    With ``alerts`` (default) the enabled alert rules then run on the new mentions.
    """
    tz = get_zone(timezone)
    with MentionFile(path, fmt=fmt, display_name=display_name) as source:
        mapper = RowMapper.build(
            source.columns, overrides=mapping, platform=platform, brand=brand, timezone=tz
        )
        pipeline = Pipeline(
            engine=engine,
            source="file",
            file_name=source.name,
            batch_size=batch_size,
            workers=workers,
            alerts=alerts,
        )
        result = pipeline.result
        result.format = source.format
        result.mapping = dict(mapper.mapping)
        result.ignored_columns = list(mapper.ignored)
        size = max(source.size, 1)

        def items() -> Iterator[Item]:
            for row, record in source.records():
                if isinstance(record, RowError):
                    yield row, _RawRejection(row, record.reason, record.raw)
                    continue
                converted = mapper.convert(record)
                if isinstance(converted, str):
                    yield row, _RawRejection(row, converted, raw_record(record))
                else:
                    yield row, converted

        tick = (lambda _n: progress(source.bytes_read, size)) if progress else None
        try:
            result = pipeline.run(items(), progress=tick)
        except ScrmError:
            raise
        set_file_hash(engine, result.batch_id, source.sha256)
        return result


@dataclass(frozen=True)
class _RawRejection(Rejection):
    raw: str = ""

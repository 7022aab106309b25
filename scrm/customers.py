"""Customer records from the CRM: import, and the data-subject rights (erasure, access).

The import reads files with the mention importer's reader (CSV, JSON, NDJSON, gzip; bad
bytes and row numbers handled alike), rejects bad rows with their reason and raw content
in :class:`ImportRejection`, and stores good rows in transactional batches. It upserts by
``crm_ref``: importing a file twice changes nothing, a newer export updates what changed.
Handle columns (``twitter``, ``reddit_handle``, ``handle.PLATFORM=COLUMN``...) become links
(method ``crm``, confidence 1.0) and are kept in ``attributes["handles"]``; other columns
go to ``attributes``. The lifetime value lookup for alert priority lives in
:func:`scrm.alerts.customer_value_for_authors`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scrm.exceptions import ImportFormatError, NotFoundError
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
from scrm.ingest.mapping import as_text, first_bad_value, fold_name, match_columns
from scrm.linking import (
    customer_handles,
    drop_stale_candidates,
    handle_platform,
    is_valid_handle,
    normalise_handle,
    platform_name,
)
from scrm.models import (
    Alert,
    AlertEvent,
    AuditLog,
    Author,
    Customer,
    IdentityCandidate,
    ImportRejection,
    Lead,
    Mention,
    Notification,
    SocialIdentity,
)
from scrm.timeutil import utcnow

FIELDS = (
    "crm_ref",
    "name",
    "email",
    "country",
    "region",
    "city",
    "age",
    "income",
    "household_size",
    "segment",
    "lifetime_value",
)
HANDLE_PREFIX = "handle."
PLATFORMS = ("twitter", "reddit", "instagram", "facebook", "tiktok", "youtube", "linkedin", "threads")
CANDIDATES: dict[str, tuple[str, ...]] = {
    "crm_ref": (
        "crm_ref",
        "crm_id",
        "customer_ref",
        "customer_id",
        "customer_number",
        "client_id",
        "account_number",
        "contact_id",
        "ref",
        "id",
    ),
    "name": ("name", "full_name", "customer_name", "contact_name"),
    "email": ("email", "e_mail", "email_address", "mail"),
    "country": ("country", "country_name"),
    "region": ("region", "state", "province", "county"),
    "city": ("city", "town"),
    "age": ("age",),
    "income": ("income", "annual_income", "household_income"),
    "household_size": ("household_size", "household", "hh_size", "household_members"),
    "segment": ("segment", "customer_segment", "tier"),
    "lifetime_value": ("lifetime_value", "ltv", "clv", "customer_lifetime_value"),
}
TEXT_LIMITS = {
    "crm_ref": 100,
    "name": 300,
    "email": 320,
    "country": 100,
    "region": 100,
    "city": 100,
    "segment": 100,
}
MAX_HOUSEHOLD = 30
MAX_AMOUNT = 1e13
MAX_REPORTED_REJECTIONS = 1000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_AMOUNT = re.compile(r"^[+-]?(\d+(?:\.\d*)?|\.\d+)$")
_HANDLE_COLUMN = re.compile(
    r"^(?:(?:attributes_)?handles?_)?(?P<p>" + "|".join((*PLATFORMS, "x")) + r")"
    r"(?:_(?:handle|username|user|name|account|url|profile))?$"
)
_C = Customer.__table__
_SI = SocialIdentity.__table__
_IC = IdentityCandidate.__table__
_A = Author.__table__
_M = Mention.__table__
_L = Lead.__table__
_R = ImportRejection.__table__
_AUDIT = AuditLog.__table__
_AL, _AE, _N = Alert.__table__, AlertEvent.__table__, Notification.__table__
Progress = Callable[[int, int], None]


@dataclass
class CustomerImportResult(BatchResult):
    """What a customer import did (:class:`BatchResult` plus unchanged rows and links made)."""

    unchanged: int = 0
    linked: int = 0


def parse_map_args(items: Sequence[str]) -> dict[str, str]:
    """Parse ``field=column`` pairs (fields of :data:`FIELDS` or ``handle.PLATFORM``)."""
    mapping: dict[str, str] = {}
    for item in items:
        fld, sep, col = item.partition("=")
        fld = fld.strip()
        if not sep or not fld or not col.strip():
            raise ImportFormatError(f"--map takes field=column, not {item!r}")
        if fld.startswith(HANDLE_PREFIX):
            platform = platform_name(fld[len(HANDLE_PREFIX) :])
            if not re.fullmatch(r"[a-z0-9_]{1,40}", platform):
                raise ImportFormatError(f"--map {item!r}: name the platform, e.g. handle.twitter=COLUMN")
            fld = HANDLE_PREFIX + platform
        elif fld not in FIELDS:
            raise ImportFormatError(
                f"Unknown field {fld!r} in --map: fields are {', '.join(FIELDS)} and handle.PLATFORM"
            )
        mapping[fld] = col.strip()
    return mapping


def detect_mapping(columns: Sequence[str]) -> dict[str, str]:
    """Map fields and ``handle.PLATFORM`` to columns by common CRM export names."""
    mapping = match_columns(columns, FIELDS, CANDIDATES)
    used = set(mapping.values())
    for name, col in {fold_name(c): c for c in columns}.items():
        match = _HANDLE_COLUMN.match(name)
        key = HANDLE_PREFIX + platform_name(match["p"]) if match else ""
        if match and col not in used and key not in mapping:
            mapping[key] = col
            used.add(col)
    return mapping


@dataclass
class CustomerMapper:
    """Turns raw records into customer rows (or the reason they are rejected)."""

    mapping: dict[str, str]
    attributes: list[str]  # the other columns, kept in ``attributes``

    @classmethod
    def build(cls, columns: Sequence[str], *, overrides: Mapping[str, str] | None = None) -> CustomerMapper:
        """Detect the mapping, apply ``overrides`` and check it names a ``crm_ref`` column."""
        overrides = dict(overrides or {})
        missing = [c for c in overrides.values() if c not in columns]
        if missing:
            raise ImportFormatError(
                f"Column {missing[0]!r} given in --map is not in the file (columns: {', '.join(columns[:30])})"
            )
        taken = set(overrides.values())
        detected = detect_mapping([c for c in columns if c not in taken])
        mapping = {**{f: c for f, c in detected.items() if f not in overrides}, **overrides}
        if "crm_ref" not in mapping:
            raise ImportFormatError(
                f"No customer reference column found (columns: {', '.join(columns[:30])}): "
                "name it with --map crm_ref=COLUMN"
            )
        used = set(mapping.values())
        return cls(mapping=mapping, attributes=[c for c in columns if c not in used])

    def convert(self, record: Mapping[str, Any]) -> dict[str, Any] | str:
        """The customer's column values (``handles`` and ``attributes`` included), or why not."""
        bad = first_bad_value(record, list(record))
        if bad:
            return bad
        row: dict[str, Any] = {}
        for fld in FIELDS:
            col = self.mapping.get(fld)
            if col is None:
                continue
            value = record.get(col)
            try:
                row[fld] = _value(fld, value)
            except ValueError as exc:
                return f"{fld} in column {col!r}: {exc}"
        if not row["crm_ref"]:
            return f"missing crm_ref (column {self.mapping['crm_ref']!r})"
        handles: dict[str, str] = {}
        for key, col in self.mapping.items():
            text = as_text(record.get(col)).strip()
            if not key.startswith(HANDLE_PREFIX) or not text:
                continue
            platform = key[len(HANDLE_PREFIX) :]
            handle = normalise_handle(platform, text)
            if not is_valid_handle(handle) or handle_platform(text) not in (None, platform):
                return f"{platform} handle in column {col!r} is not a {platform} handle: {text[:60]!r}"
            handles[platform] = handle
        attributes: dict[str, Any] = {}
        for col in self.attributes:
            value = record.get(col)
            if value not in (None, "") and not (isinstance(value, float) and math.isnan(value)):
                attributes[col.removeprefix("attributes.")] = value
        row["handles"] = handles
        row["attributes"] = attributes
        return row


def _value(fld: str, value: Any) -> Any:
    """A field's value from a cell; raises ValueError with the reason."""
    if fld in TEXT_LIMITS:
        text = as_text(value).strip()
        if len(text) > TEXT_LIMITS[fld]:
            raise ValueError(f"longer than {TEXT_LIMITS[fld]} characters")
        if fld == "email" and text and not _EMAIL.match(text):
            raise ValueError(f"not an e-mail address: {text[:60]!r}")
        return text
    number = _number(value)
    if number is None:
        return None
    if fld == "age":
        if not number.is_integer() or not 0 <= number <= 120:
            raise ValueError(f"age {number:g} is not a whole number from 0 to 120")
        return int(number)
    if fld == "household_size":
        if not number.is_integer() or not 1 <= number <= MAX_HOUSEHOLD:
            raise ValueError(f"household size {number:g} is not a whole number from 1 to {MAX_HOUSEHOLD}")
        return int(number)
    if fld == "income" and number < 0:
        raise ValueError(f"negative income {number:g}")
    if abs(number) > MAX_AMOUNT:
        raise ValueError(f"{number:g} is implausibly large")
    return number


def _number(value: Any) -> float | None:
    """A number from 42, "42", "52,000.50", "€1 200"; None when empty; ValueError otherwise."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError(f"not a number: {value!r}")
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "")
        if not text:
            return None
        text = text.lstrip("$€£¥")
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):
            text = text.replace(",", "")
        if not _AMOUNT.match(text):
            raise ValueError(f"not a number: {str(value)[:30]!r}")
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"not a number: {value!r}")
    return number


def import_customers(
    path: Path | str,
    *,
    engine: Engine,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
    batch_size: int | None = None,
    display_name: str | None = None,
) -> CustomerImportResult:
    """Import customers from a CSV/JSON/NDJSON file (optionally gzipped), upserting by ``crm_ref``.

    Raises :class:`ImportFormatError` when the file cannot be read at all; bad rows are
    rejected one by one and reported. Each batch of rows is one transaction.
    ``progress(bytes_read, file_size)`` follows the file.
    """
    from scrm.config import get_settings

    size = batch_size or get_settings().batch_size
    started = time.perf_counter()
    with MentionFile(path, display_name=display_name) as source:
        mapper = CustomerMapper.build(source.columns, overrides=mapping)
        batch_id = start_batch(engine, source="customers", file_name=source.name)
        result = CustomerImportResult(
            batch_id=batch_id, file_name=source.name, format=source.format, mapping=dict(mapper.mapping)
        )
        seen: dict[str, int] = {}  # crm_ref → first row, for duplicates within the file
        records = source.records()
        try:
            while chunk := list(islice(records, size)):
                rows: list[tuple[int, dict[str, Any]]] = []
                rejects: list[tuple[int, str, str]] = []
                for number, record in chunk:
                    if isinstance(record, RowError):
                        rejects.append((number, record.reason, record.raw))
                        continue
                    row = mapper.convert(record)
                    if isinstance(row, dict) and row["crm_ref"] in seen:
                        row = f"duplicate of row {seen[row['crm_ref']]} (same crm_ref)"
                    if isinstance(row, str):
                        rejects.append((number, row, raw_record(record)))
                        continue
                    seen[row["crm_ref"]] = number
                    rows.append((number, row))
                _store(engine, result, rows, rejects, len(chunk), set(mapper.mapping))
                if progress:
                    progress(source.bytes_read, max(source.size, 1))
        except BaseException as exc:
            finish_batch(
                engine,
                batch_id,
                status="failed",
                error=str(exc) if isinstance(exc, Exception) else "interrupted",
            )
            raise
        set_file_hash(engine, batch_id, source.sha256)
    finish_batch(engine, batch_id, status="done")
    result.seconds = time.perf_counter() - started
    return result


def _store(
    engine: Engine,
    result: CustomerImportResult,
    rows: list[tuple[int, dict[str, Any]]],
    rejects: list[tuple[int, str, str]],
    read: int,
    mapped: set[str],
) -> None:
    """Upsert one batch of customers, their handles' links and rejections in one transaction."""
    fields = [f for f in FIELDS if f in mapped and f != "crm_ref"]
    stored = updated = unchanged = linked = 0
    with engine.begin() as conn:
        refs = [r["crm_ref"] for _, r in rows]
        existing = _existing(conn, refs, fields)
        now = utcnow()
        new = [r for _, r in rows if r["crm_ref"] not in existing]
        ids: dict[str, int] = {}
        if new:
            stmt = dialect_insert(conn, _C).on_conflict_do_nothing(index_elements=["crm_ref"])
            values = [{**_columns(r, fields), "attributes": _merged({}, r), "created_at": now} for r in new]
            ids = {x.crm_ref: x.id for x in conn.execute(stmt.returning(_C.c.id, _C.c.crm_ref), values)}
            stored = len(ids)
            if len(ids) < len(new):  # stored meanwhile by another import: update those instead
                existing.update(
                    _existing(conn, [r["crm_ref"] for r in new if r["crm_ref"] not in ids], fields)
                )
        changes = []
        for _, r in rows:
            old = existing.get(r["crm_ref"])
            if old is None:
                continue
            ids[r["crm_ref"]] = old["id"]
            attributes = _merged(old["attributes"] or {}, r)
            values = {**_columns(r, fields), "attributes": attributes}
            if any(values[k] != old[k] for k in values):
                changes.append({"b_id": old["id"], **values})
            else:
                unchanged += 1
        if changes:
            conn.execute(
                sa.update(_C)
                .where(_C.c.id == sa.bindparam("b_id"))
                .values({k: sa.bindparam(k, type_=_C.c[k].type) for k in changes[0] if k != "b_id"}),
                changes,
            )
            updated = len(changes)
        linked = _link_handles(conn, [(ids[r["crm_ref"]], r["handles"]) for _, r in rows if r["handles"]])
        record_rejections(conn, result.batch_id, rejects)
        result.read += read
        result.stored += stored
        result.updated += updated
        result.unchanged += unchanged
        result.rejected += len(rejects)
        result.linked += linked
        save_counts(
            conn,
            result.batch_id,
            read=result.read,
            stored=result.stored,
            updated=result.updated,
            duplicates=result.unchanged,
            rejected=result.rejected,
        )
    room = MAX_REPORTED_REJECTIONS - len(result.rejections)
    result.rejections.extend(Rejection(n, reason) for n, reason, _ in rejects[: max(room, 0)])


def _columns(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {"crm_ref": row["crm_ref"], **{f: row[f] for f in fields}}


def _merged(old: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Stored attributes updated with the row's (its handles under ``handles``)."""
    merged = {**old, **row["attributes"]}
    if row["handles"]:
        merged["handles"] = {**customer_handles(old), **row["handles"]}
    return merged


def _existing(conn: Connection, refs: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    cols = [_C.c.id, _C.c.crm_ref, _C.c.attributes, *(_C.c[f] for f in fields)]
    for i in range(0, len(refs), 500):
        for r in conn.execute(sa.select(*cols).where(_C.c.crm_ref.in_(refs[i : i + 500]))).mappings():
            out[r["crm_ref"]] = dict(r)
    return out


def _link_handles(conn: Connection, pairs: list[tuple[int, dict[str, str]]]) -> int:
    """Link the handles a CRM file gives (method crm, 1.0), unless linked or unlinked before."""
    wanted = {(p, h): cid for cid, handles in pairs for p, h in handles.items()}
    if not wanted:
        return 0
    refused = set()
    for platform in {p for p, _ in wanted}:
        handles = [h for p, h in wanted if p == platform]
        for i in range(0, len(handles), 500):
            stmt = sa.select(_IC.c.handle, _IC.c.customer_id).where(
                _IC.c.platform == platform, _IC.c.status == "rejected", _IC.c.handle.in_(handles[i : i + 500])
            )
            refused |= {(platform, h, cid) for h, cid in conn.execute(stmt)}
    now = utcnow()
    rows = [
        {
            "platform": p,
            "handle": h,
            "customer_id": cid,
            "method": "crm",
            "confidence": 1.0,
            "linked_by": "crm import",
            "linked_at": now,
        }
        for (p, h), cid in wanted.items()
        if (p, h, cid) not in refused
    ]
    if not rows:
        return 0
    stmt = dialect_insert(conn, _SI).on_conflict_do_nothing(index_elements=["platform", "handle"])
    made = conn.execute(stmt.returning(_SI.c.id), rows).all()
    drop_stale_candidates(conn)
    return len(made)


# -- data-subject rights -----------------------------------------------------------------


def _customer(conn: Connection, crm_ref: str) -> dict[str, Any]:
    row = conn.execute(sa.select(_C).where(_C.c.crm_ref == crm_ref.strip())).mappings().first()
    if row is None:
        raise NotFoundError(f"No customer with CRM reference {crm_ref!r}")
    return dict(row)


def _identities(conn: Connection, customer_id: int) -> list[dict[str, Any]]:
    stmt = sa.select(_SI).where(_SI.c.customer_id == customer_id).order_by(_SI.c.id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def _author_ids(conn: Connection, identities: list[dict[str, Any]]) -> list[int]:
    if not identities:
        return []
    pairs = [sa.and_(_A.c.platform == i["platform"], _A.c.handle == i["handle"]) for i in identities]
    return list(conn.execute(sa.select(_A.c.id).where(sa.or_(*pairs))).scalars())


def hash_ref(crm_ref: str) -> str:
    """The sha256 of a CRM reference: how an erasure's audit record names the customer."""
    return hashlib.sha256(crm_ref.strip().encode("utf-8")).hexdigest()


def erase_customer(*, engine: Engine, crm_ref: str, user: str, delete_posts: bool = False) -> dict[str, int]:
    """Erase a customer's personal data in one transaction (right to erasure); returns counts.

    Removes the customer row, its links and review candidates, its leads' link to it, and
    with ``delete_posts`` the posts and accounts of its linked identities; scrubs import
    rejections whose raw row or reason names its crm_ref or e-mail (or, with
    ``delete_posts``, its handles) and the personal details of earlier audit records about
    it; with ``delete_posts`` its handles are also redacted from alert titles and details,
    alert notes and notification payloads. Leaves one audit record without personal data (the crm_ref as :func:`hash_ref`).
    """
    with engine.begin() as conn:
        customer = _customer(conn, crm_ref)
        cid = customer["id"]
        identities = _identities(conn, cid)
        counts = {"identities": len(identities), "posts": 0, "accounts": 0}
        if delete_posts:
            authors = _author_ids(conn, identities)
            for i in range(0, len(authors), 500):
                part = authors[i : i + 500]
                counts["posts"] += conn.execute(sa.delete(_M).where(_M.c.author_id.in_(part))).rowcount
                counts["accounts"] += conn.execute(sa.delete(_A).where(_A.c.id.in_(part))).rowcount
        counts["leads"] = conn.execute(
            sa.update(_L).where(_L.c.customer_id == cid).values(customer_id=None)
        ).rowcount
        counts["candidates"] = conn.execute(sa.delete(_IC).where(_IC.c.customer_id == cid)).rowcount
        conn.execute(sa.delete(_SI).where(_SI.c.customer_id == cid))
        conn.execute(sa.delete(_C).where(_C.c.id == cid))
        terms = [customer["crm_ref"], customer["email"]]
        if delete_posts:
            terms += [i["handle"] for i in identities]
        terms = [t for t in terms if t]
        counts["rejections"] = _scrub_rejections(conn, terms)
        counts["redacted"] = sum(
            _redact(conn, table, columns, terms)
            for table, columns in ((_AL, ("title", "detail")), (_AE, ("note",)), (_N, ("payload",)))
        )
        counts["audit"] = conn.execute(
            sa.update(_AUDIT)
            .where(_AUDIT.c.entity == "customer", _AUDIT.c.entity_id == str(cid))
            .values(entity_id="erased", detail={"erased": True})
        ).rowcount
        conn.execute(
            sa.insert(_AUDIT).values(
                at=utcnow(),
                username=user[:100],
                action="customer.erase",
                entity="customer",
                entity_id=hash_ref(customer["crm_ref"])[:200],
                detail={
                    "crm_ref_sha256": hash_ref(customer["crm_ref"]),
                    "delete_posts": delete_posts,
                    **counts,
                },
            )
        )
    return counts


def _scrub_rejections(conn: Connection, terms: list[str]) -> int:
    """Blank the raw content and reason of rejected rows that contain one of ``terms`` as a word."""
    conds = []
    for term in terms:
        needle = term.lower()
        conds += [sa.func.lower(_R.c.raw).contains(needle, autoescape=True)]
        conds += [sa.func.lower(_R.c.reason).contains(needle, autoescape=True)]
    words = [re.compile(r"(?<![\w.@-])" + re.escape(t.lower()) + r"(?![\w@-])") for t in terms]
    hits = [
        r.id
        for r in conn.execute(sa.select(_R.c.id, _R.c.raw, _R.c.reason).where(sa.or_(*conds)))
        if any(w.search(r.raw.lower()) or w.search(r.reason.lower()) for w in words)
    ]
    for i in range(0, len(hits), 500):
        conn.execute(
            sa.update(_R)
            .where(_R.c.id.in_(hits[i : i + 500]))
            .values(raw="", reason="erased (personal data)")
        )
    return len(hits)


def _redact(conn: Connection, table: sa.Table, columns: Sequence[str], terms: list[str]) -> int:
    """Replace ``terms`` (as words, any case) by ``[erased]`` in text or JSON ``columns``; returns rows changed."""
    if not terms:
        return 0
    pattern = re.compile(
        "|".join(r"(?<![\w.@-])@?" + re.escape(t) + r"(?![\w@-])" for t in terms), re.IGNORECASE
    )
    conds = [
        sa.func.lower(sa.cast(table.c[col], sa.Text)).contains(t.lower(), autoescape=True)
        for col in columns
        for t in terms
    ]
    changed = 0
    for row in conn.execute(
        sa.select(table.c.id, *(table.c[c] for c in columns)).where(sa.or_(*conds))
    ).all():
        values = {}
        for col in columns:
            value = row._mapping[col]
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            scrubbed = pattern.sub("[erased]", text)
            if scrubbed != text:
                values[col] = scrubbed if isinstance(value, str) else json.loads(scrubbed)
        if values:
            conn.execute(sa.update(table).where(table.c.id == row.id).values(**values))
            changed += 1
    return changed


def export_customer(*, engine: Engine, crm_ref: str) -> dict[str, Any]:
    """Everything held about a customer (right of access): profile, identities, their posts, leads."""
    with engine.connect() as conn:
        customer = _customer(conn, crm_ref)
        identities = _identities(conn, customer["id"])
        authors = _author_ids(conn, identities)
        accounts = [
            dict(r)
            for r in conn.execute(sa.select(_A).where(_A.c.id.in_(authors)).order_by(_A.c.id)).mappings()
        ]
        post_cols = [c for c in _M.c if c.name not in ("batch_id", "source")]
        posts = [
            dict(r)
            for r in conn.execute(
                sa.select(*post_cols).where(_M.c.author_id.in_(authors)).order_by(_M.c.created_at)
            ).mappings()
        ]
        mention_ids = [p["id"] for p in posts]
        leads = [
            dict(r)
            for r in conn.execute(
                sa.select(_L)
                .where(sa.or_(_L.c.customer_id == customer["id"], _L.c.mention_id.in_(mention_ids)))
                .order_by(_L.c.id)
            ).mappings()
        ]
        candidates = [
            dict(r)
            for r in conn.execute(
                sa.select(_IC).where(_IC.c.customer_id == customer["id"]).order_by(_IC.c.id)
            ).mappings()
        ]
    data = {
        "exported_at": utcnow(),
        "customer": customer,
        "identities": identities,
        "identity_candidates": candidates,
        "accounts": accounts,
        "posts": posts,
        "leads": leads,
    }
    return json.loads(json.dumps(data, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

"""Identity linking: which social accounts belong to which customers.

A :class:`SocialIdentity` row *is* a link (platform + handle → customer, with method,
confidence, who and when). :func:`link` makes them automatically, most certain first:

1. **exact** (1.0): a handle the CRM gave for the customer (``attributes["handles"]``);
2. **email** (0.95): an author whose source carried an e-mail equal to the customer's;
3. **fuzzy**: names and handles compared with rapidfuzz within blocks (pairs sharing a
   name key or a handle prefix, never all pairs). The confidence needs two independent
   signs: the display name agrees with the customer's name *and* the handle agrees with a
   distinctive identifier (an e-mail local part that is more than the name). A name alone,
   a handle derived from the name, or the same handle on another platform (different people
   own ``alexsmith`` on different networks) reach at most :data:`WEAK_CAP`: review, not a link.

At or above ``threshold`` a match is linked only when it is unambiguous both ways (the
author's best customer and that customer's best account on the platform, with no tie);
between ``review_floor`` and ``threshold``, or on a tie, it is queued as an
:class:`IdentityCandidate` for a person to accept or reject. Automatic linking never
changes an existing link (so never a manual one) and never re-makes a pair a person
rejected or unlinked (kept as a rejected candidate; unlinks are also in the audit log).
"""

from __future__ import annotations

import csv
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import sqlalchemy as sa
from rapidfuzz.distance import Indel
from sqlalchemy.engine import Connection, Engine

from scrm.exceptions import NotFoundError, ScrmError
from scrm.export import neutralise
from scrm.ingest.batches import dialect_insert
from scrm.models import AuditLog, Author, Customer, IdentityCandidate, SocialIdentity
from scrm.timeutil import utcnow

Progress = Callable[[int, int], None]
SYSTEM_USER = "system"
EMAIL_CONFIDENCE = 0.95
WEAK_CAP = 0.85  # the most a match without a distinctive identifier can score
TIE_MARGIN = 0.02  # scores this close are a tie
MAX_TIED = 2  # an account as similar to more customers than this is too ambiguous to review
MAX_BLOCK = 400  # a blocking key shared by more customers or accounts is too common to use
IDENTITY_COLUMNS = ("platform", "handle", "customer_ref", "method", "confidence", "status")
PLATFORM_ALIASES = {"x": "twitter", "fb": "facebook", "ig": "instagram"}
_HOSTS = {
    "twitter.com": "twitter",
    "x.com": "twitter",
    "reddit.com": "reddit",
    "instagram.com": "instagram",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "tiktok.com": "tiktok",
    "youtube.com": "youtube",
    "linkedin.com": "linkedin",
    "threads.net": "threads",
}
_URL = re.compile(r"^(?:https?://)?(?:[\w-]+\.)+[a-z]{2,}(?::\d+)?/", re.IGNORECASE)
_PATH_PREFIXES = {"u", "user", "in", "c", "channel"}  # reddit.com/u/x, linkedin.com/in/x, youtube.com/c/x
_DIGITS = re.compile(r"\d+")
_SEPARATORS = re.compile(r"[^\w]+|_")
_APOSTROPHES = re.compile(r"['’`]")
_SI = SocialIdentity.__table__
_IC = IdentityCandidate.__table__
_C = Customer.__table__
_A = Author.__table__
_AUDIT = AuditLog.__table__


def platform_name(value: str) -> str:
    """A platform as stored: lower case, ``x`` → ``twitter``."""
    name = value.strip().lower()
    return PLATFORM_ALIASES.get(name, name)


def normalise_handle(platform: str, value: str) -> str:
    """A handle as stored: no URL, leading ``@`` or ``u/``, trailing ``/``, in lower case.

    Accepts profile URLs (``https://twitter.com/Name``, ``reddit.com/u/name``,
    ``instagram.com/name/``, ``facebook.com/profile.php?id=1``); ``platform`` is the
    platform the handle belongs to (kept for its rules; all share these today).
    """
    del platform  # every supported platform normalises alike
    text = unicodedata.normalize("NFC", str(value)).strip()
    if _URL.match(text):
        parts = urlsplit(text if "://" in text else "https://" + text)
        segments = [s for s in parts.path.split("/") if s]
        if segments[:1] == ["profile.php"]:
            segments = parse_qs(parts.query).get("id", [])[:1]
        elif len(segments) > 1 and segments[0].lower() in _PATH_PREFIXES:
            segments = segments[1:]
        text = segments[0] if segments else ""
    text = text.strip().lstrip("@").strip()
    if text.lower().startswith(("u/", "/u/")):
        text = text.split("/", 2)[-1] if text.startswith("/") else text[2:]
    return text.strip("/").lower()


def is_valid_handle(handle: str) -> bool:
    """True for a normalised handle that can be stored (non-empty, no spaces, ≤ 200 characters)."""
    return 0 < len(handle) <= 200 and not any(c.isspace() for c in handle)


def handle_platform(value: str) -> str | None:
    """The platform a profile URL points to (``https://x.com/a`` → twitter), else None."""
    text = value.strip()
    if not _URL.match(text):
        return None
    host = urlsplit(text if "://" in text else "https://" + text).hostname or ""
    host = host.removeprefix("www.").removeprefix("mobile.").removeprefix("m.").removeprefix("old.")
    return _HOSTS.get(host)


def _tokens(name: str) -> list[str]:
    """A name's words in order: accents and apostrophes dropped, lower case (O'Brien → obrien)."""
    if name.isascii():
        plain = name.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", name)
        plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _SEPARATORS.sub(" ", _APOSTROPHES.sub("", plain)).split()


def person_key(name: str) -> str:
    """A name compared loosely: :func:`_tokens` sorted (word order does not matter)."""
    return " ".join(sorted(_tokens(name)))


def _alnum(value: str) -> str:
    """Letters and digits only (``Alex.Smith_42`` → ``alexsmith42``), accents dropped."""
    return "".join(_tokens(value)) if value else ""


@dataclass
class LinkResult:
    """What :func:`link` did: links made (by method), candidates queued, what it looked at."""

    linked: int = 0
    queued: int = 0
    customers: int = 0
    authors: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the ``link --json`` output)."""
        return {
            "linked": self.linked,
            "queued": self.queued,
            "customers": self.customers,
            "authors": self.authors,
            "by_method": self.by_method,
            "seconds": round(self.seconds, 3),
        }


Reference = tuple[str, list[str]]  # a letters-and-digits form and its numbers


def _reference(value: str) -> Reference:
    return value, _DIGITS.findall(value)


@dataclass
class _Customer:
    id: int
    name: str  # person_key of the name
    name_forms: tuple[str, ...]  # the name written as a handle: alexsmith, smithalex
    ident: str  # a distinctive identifier: the e-mail local part when it is more than the name
    email: str  # lower case
    handles: dict[str, str]  # platform → normalised handle the CRM gave
    strong: Reference = ("", [])  # ``ident`` for matching
    weak: list[tuple[str, Reference]] = field(default_factory=list)  # (platform or "", form)

    def __post_init__(self) -> None:
        self.strong = _reference(self.ident)
        self.weak = [("", _reference(f)) for f in self.name_forms] + [
            (p, _reference(_alnum(h))) for p, h in self.handles.items()
        ]


@dataclass
class _Author:
    id: int
    platform: str
    handle: str  # as stored
    key: str  # normalised
    name: str  # person_key of the display name
    alnum: str  # the handle's letters and digits
    email: str
    numbers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.numbers = _DIGITS.findall(self.alnum)


@dataclass
class _Plan:
    """Links and candidates one run decided, before they are written."""

    links: dict[tuple[str, str], tuple[int, str, float]] = field(default_factory=dict)
    candidates: dict[tuple[str, str, int], tuple[str, float, str]] = field(default_factory=dict)

    def link(self, platform: str, handle: str, customer_id: int, method: str, confidence: float) -> None:
        self.links[(platform, handle)] = (customer_id, method, round(confidence, 4))

    def queue(
        self, platform: str, handle: str, customer_id: int, method: str, confidence: float, reason: str
    ) -> None:
        self.candidates.setdefault(
            (platform, handle, customer_id), (method, round(confidence, 4), reason[:500])
        )


def link(
    *, engine: Engine, threshold: float = 0.9, review_floor: float = 0.75, progress: Progress | None = None
) -> LinkResult:
    """Link authors to customers automatically (exact handle, e-mail, fuzzy); queue the uncertain.

    Idempotent: a second run links and queues nothing new. ``progress(done, total)`` follows
    the fuzzy stage in authors.
    """
    if not 0 < review_floor <= threshold <= 1:
        raise ScrmError("Linking needs 0 < review_floor ≤ threshold ≤ 1 (defaults 0.75 and 0.9)")
    started = time.perf_counter()
    with engine.connect() as conn:
        customers = _load_customers(conn)
        authors = _load_authors(conn)
        linked = {(r.platform, r.handle): r.customer_id for r in conn.execute(sa.select(_SI))}
        decided = {
            (r.platform, r.handle, r.customer_id)
            for r in conn.execute(sa.select(_IC.c.platform, _IC.c.handle, _IC.c.customer_id))
        }
        rejected = {
            (r.platform, r.handle, r.customer_id)
            for r in conn.execute(
                sa.select(_IC.c.platform, _IC.c.handle, _IC.c.customer_id).where(_IC.c.status == "rejected")
            )
        }
    plan = _Plan()
    taken = {(p, normalise_handle(p, h)) for p, h in linked}  # handles linked to someone
    on_platform = {(p, cid) for (p, _), cid in linked.items()}  # customers linked on a platform
    _exact(customers, authors, plan, taken, rejected)
    _by_email(customers, authors, plan, taken, rejected)
    on_platform |= {(p, cid) for (p, _), (cid, _, _) in plan.links.items()}
    _fuzzy(customers, authors, plan, taken, on_platform, rejected, threshold, review_floor, progress)
    result = LinkResult(customers=len(customers), authors=len(authors))
    with engine.begin() as conn:
        result.linked, result.by_method = _write_links(conn, plan, SYSTEM_USER)
        fresh = [
            {
                "platform": p,
                "handle": h,
                "customer_id": cid,
                "method": m,
                "confidence": conf,
                "status": "queued",
                "reason": reason,
                "created_at": utcnow(),
                "decided_by": "",
            }
            for (p, h, cid), (m, conf, reason) in plan.candidates.items()
            if (p, h, cid) not in decided and (p, h) not in plan.links
        ]
        for part in _chunks(fresh):
            stmt = dialect_insert(conn, _IC).on_conflict_do_nothing(
                index_elements=["platform", "handle", "customer_id"]
            )
            result.queued += len(conn.execute(stmt.returning(_IC.c.id), part).all())
        drop_stale_candidates(conn)
    result.seconds = time.perf_counter() - started
    return result


def _chunks(rows: list, size: int = 2000) -> Iterable[list]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _load_customers(conn: Connection) -> list[_Customer]:
    out = []
    for r in conn.execute(sa.select(_C.c.id, _C.c.name, _C.c.email, _C.c.attributes)):
        tokens = _tokens(r.name or "")
        forms = tuple({"".join(tokens), "".join(reversed(tokens))})
        local = _alnum((r.email or "").partition("@")[0])
        ident = local if local and local not in forms else ""
        handles = {}
        for platform, value in customer_handles(r.attributes).items():
            handle = normalise_handle(platform, value)
            if is_valid_handle(handle):
                handles[platform] = handle
        email = (r.email or "").strip().lower()
        out.append(_Customer(r.id, " ".join(sorted(tokens)), forms if tokens else (), ident, email, handles))
    return out


def customer_handles(attributes: dict[str, Any] | None) -> dict[str, str]:
    """Platform → handle from a customer's ``attributes["handles"]`` (as the CRM wrote them)."""
    handles = (attributes or {}).get("handles") or {}
    if not isinstance(handles, dict):
        return {}
    return {platform_name(str(p)): str(v) for p, v in handles.items() if v not in (None, "")}


def _load_authors(conn: Connection) -> list[_Author]:
    cols = (_A.c.id, _A.c.platform, _A.c.handle, _A.c.display_name, _A.c.email)
    return [
        _Author(
            r.id,
            r.platform,
            r.handle,
            normalise_handle(r.platform, r.handle),
            person_key(r.display_name or ""),
            _alnum(r.handle),
            (r.email or "").strip().lower(),
        )
        for r in conn.execute(sa.select(*cols))
    ]


def _exact(
    customers: list[_Customer],
    authors: list[_Author],
    plan: _Plan,
    taken: set[tuple[str, str]],
    rejected: set[tuple[str, str, int]],
) -> None:
    """Handles the CRM gave: linked (exact, 1.0) unless two customers claim the same one."""
    stored = {(a.platform, a.key): a.handle for a in authors}
    claims: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c in customers:
        for platform, handle in c.handles.items():
            claims[(platform, handle)].append(c.id)
    for (platform, key), ids in claims.items():
        handle = stored.get((platform, key), key)
        ids = [cid for cid in ids if (platform, handle, cid) not in rejected]
        if (platform, key) in taken or not ids:
            continue
        if len(ids) == 1:
            plan.link(platform, handle, ids[0], "exact", 1.0)
            taken.add((platform, key))
        else:
            for cid in ids:  # a CRM error for a person to settle
                plan.queue(
                    platform, handle, cid, "exact", 1.0, f"the CRM gives this handle to {len(ids)} customers"
                )


def _by_email(
    customers: list[_Customer],
    authors: list[_Author],
    plan: _Plan,
    taken: set[tuple[str, str]],
    rejected: set[tuple[str, str, int]],
) -> None:
    """Authors whose source carried an e-mail: linked to the one customer with that e-mail."""
    if not any(a.email for a in authors):
        return
    by_email: dict[str, list[int]] = defaultdict(list)
    for c in customers:
        if c.email:
            by_email[c.email].append(c.id)
    for a in authors:
        if not a.email or (a.platform, a.key) in taken:
            continue
        ids = [cid for cid in by_email.get(a.email, []) if (a.platform, a.handle, cid) not in rejected]
        if len(ids) == 1:
            plan.link(a.platform, a.handle, ids[0], "email", EMAIL_CONFIDENCE)
            taken.add((a.platform, a.key))
        for cid in ids if len(ids) > 1 else []:  # a shared (family) address
            plan.queue(
                a.platform,
                a.handle,
                cid,
                "email",
                EMAIL_CONFIDENCE,
                f"{len(ids)} customers share this e-mail",
            )


def _name_keys(name: str) -> list[str]:
    """Blocking keys of a name: its token pairs by their first three letters."""
    tokens = name.split()[:4]
    return [f"n:{a[:3]}|{b[:3]}" for i, a in enumerate(tokens) for b in tokens[i + 1 :]]


def _customer_keys(c: _Customer) -> set[str]:
    keys = set(_name_keys(c.name))
    for ident in (c.ident, *c.name_forms, *(_alnum(h) for h in c.handles.values())):
        if len(ident) >= 4:
            keys.add("h:" + ident[:5])
    return keys


def _author_keys(a: _Author) -> set[str]:
    keys = set(_name_keys(a.name))
    if len(a.alnum) >= 4:
        keys.add("h:" + a.alnum[:5])
    return keys


def _handle_similarity(handle: str, numbers: list[str], reference: Reference) -> float:
    """Similarity of a letters-and-digits handle (with its ``numbers``) to a reference form.

    ``alexsmith`` is 0.9 like ``alexsmith37`` but, the number being what distinguishes one
    Alex Smith from another, scores at most 0.5 against it.
    """
    form, form_numbers = reference
    if not handle or not form:
        return 0.0
    score = Indel.normalized_similarity(handle, form)
    return min(score, 0.5) if form_numbers and form_numbers != numbers else score


MIN_NAME = 0.6  # names less alike are different people (every score would stay below 0.68)


def confidence(
    a_name: str, a_handle: str, platform: str, c: _Customer, *, numbers: list[str] | None = None
) -> float:
    """How sure a match of an account (display name, handle) with a customer is, 0–1.

    Strong: the name agrees and the handle agrees with a distinctive identifier (mean of
    the two). Otherwise at most :data:`WEAK_CAP`, from the name and the best of the handle's
    likeness to the name or to the customer's handle on another platform. A name less
    similar than :data:`MIN_NAME` scores 0.
    """
    name = Indel.normalized_similarity(a_name, c.name, score_cutoff=MIN_NAME) if a_name and c.name else 0.0
    if not name:
        return 0.0
    numbers = _DIGITS.findall(a_handle) if numbers is None else numbers
    strong = _handle_similarity(a_handle, numbers, c.strong)
    weak = max(
        (_handle_similarity(a_handle, numbers, ref) for p, ref in c.weak if p != platform), default=0.0
    )
    best = WEAK_CAP * (name + max(weak, strong)) / 2
    if strong >= 0.85:
        best = max(best, (name + strong) / 2)
    return best


def _fuzzy(
    customers: list[_Customer],
    authors: list[_Author],
    plan: _Plan,
    taken: set[tuple[str, str]],
    on_platform: set[tuple[str, int]],
    rejected: set[tuple[str, str, int]],
    threshold: float,
    floor: float,
    progress: Progress | None,
) -> None:
    """Blocked fuzzy matching: link the unambiguous sure matches, queue the rest above ``floor``."""
    pool = [a for a in authors if (a.platform, a.key) not in taken and (a.name or a.alnum)]
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(customers):
        for key in _customer_keys(c):
            by_key[key].append(i)
    author_keys: dict[str, list[int]] = defaultdict(list)
    for j, a in enumerate(pool):
        for key in _author_keys(a):
            author_keys[key].append(j)
    pairs: dict[int, set[int]] = defaultdict(set)
    for key, js in author_keys.items():
        ids = by_key.get(key)
        if ids and len(ids) <= MAX_BLOCK and len(js) <= MAX_BLOCK:
            for j in js:
                pairs[j].update(ids)
    scored: dict[int, list[tuple[float, int]]] = {}
    per_customer: dict[tuple[str, int], list[float]] = defaultdict(list)
    for done, (j, ids) in enumerate(pairs.items(), start=1):
        a = pool[j]
        found = []
        for i in ids:
            c = customers[i]
            if (a.platform, c.id) in on_platform or (a.platform, a.handle, c.id) in rejected:
                continue
            conf = confidence(a.name, a.alnum, a.platform, c, numbers=a.numbers)
            if conf >= floor:
                found.append((conf, i))
                per_customer[(a.platform, i)].append(conf)
        if found:
            scored[j] = sorted(found, reverse=True)
        if progress and done % 10_000 == 0:
            progress(done, len(pairs))
    for j, found in scored.items():
        a = pool[j]
        best, i = found[0]
        tied = [k for conf, k in found if conf >= best - TIE_MARGIN]
        rivals = sum(conf >= best - TIE_MARGIN for conf in per_customer[(a.platform, i)]) - 1
        if best >= threshold and len(tied) == 1 and not rivals:
            plan.link(a.platform, a.handle, customers[i].id, "fuzzy", best)
            continue
        if len(tied) > MAX_TIED:
            continue
        reason = (
            f"as similar to {len(tied)} customers"
            if len(tied) > 1
            else f"{rivals} other account(s) as similar"
            if rivals and best >= threshold
            else "below the linking threshold"
        )
        for conf, k in found if len(found) <= MAX_TIED else found[: len(tied)]:
            plan.queue(a.platform, a.handle, customers[k].id, "fuzzy", conf, reason)
    if progress:
        progress(len(pairs), len(pairs))


def _write_links(conn: Connection, plan: _Plan, user: str) -> tuple[int, dict[str, int]]:
    """Insert the planned links (a handle linked meanwhile keeps its link); returns counts."""
    now = utcnow()
    rows = [
        {
            "platform": p,
            "handle": h,
            "customer_id": cid,
            "method": method,
            "confidence": conf,
            "linked_by": user,
            "linked_at": now,
        }
        for (p, h), (cid, method, conf) in plan.links.items()
    ]
    by_method: dict[str, int] = defaultdict(int)
    for part in _chunks(rows):
        stmt = dialect_insert(conn, _SI).on_conflict_do_nothing(index_elements=["platform", "handle"])
        for r in conn.execute(stmt.returning(_SI.c.method), part):
            by_method[r.method] += 1
    return sum(by_method.values()), dict(by_method)


def drop_stale_candidates(conn: Connection) -> None:
    """Queued candidates of handles that are linked now are no longer a question."""
    linked = sa.select(_SI.c.id).where(_SI.c.platform == _IC.c.platform, _SI.c.handle == _IC.c.handle)
    conn.execute(sa.delete(_IC).where(_IC.c.status == "queued", sa.exists(linked)))


# -- decisions by a person ---------------------------------------------------------------


def _audit(conn: Connection, *, user: str, action: str, customer_id: int, detail: dict[str, Any]) -> None:
    """An audit record about a customer's identities (entity ``customer``, id = the customer's id)."""
    conn.execute(
        sa.insert(_AUDIT).values(
            at=utcnow(),
            username=user[:100],
            action=action,
            entity="customer",
            entity_id=str(customer_id),
            detail=detail,
        )
    )


def _customer_id(conn: Connection, crm_ref: str) -> int:
    cid = conn.execute(sa.select(_C.c.id).where(_C.c.crm_ref == crm_ref.strip())).scalar()
    if cid is None:
        raise NotFoundError(f"No customer with CRM reference {crm_ref!r}")
    return cid


def _decide(conn: Connection, candidate_id: int) -> sa.Row:
    row = conn.execute(sa.select(_IC).where(_IC.c.id == candidate_id).with_for_update()).first()
    if row is None:
        raise NotFoundError(f"No identity candidate {candidate_id}")
    if row.status != "queued":
        raise ScrmError(f"Candidate {candidate_id} was already {row.status} by {row.decided_by or 'someone'}")
    return row


def _remember(
    conn: Connection,
    *,
    platform: str,
    handle: str,
    customer_id: int,
    method: str,
    confidence: float,
    status: str,
    reason: str,
    user: str,
) -> None:
    """Record a person's decision on a pair (insert or update its candidate row)."""
    values = {"status": status, "reason": reason[:500], "decided_by": user[:100], "decided_at": utcnow()}
    stmt = dialect_insert(conn, _IC).values(
        platform=platform,
        handle=handle,
        customer_id=customer_id,
        method=method,
        confidence=confidence,
        created_at=utcnow(),
        **values,
    )
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["platform", "handle", "customer_id"], set_=values)
    )


def _make_link(
    conn: Connection,
    *,
    platform: str,
    handle: str,
    customer_id: int,
    method: str,
    confidence: float,
    user: str,
) -> None:
    """Link a handle a person chose; other customers' open candidates for it are rejected."""
    conn.execute(
        sa.insert(_SI).values(
            platform=platform,
            handle=handle,
            customer_id=customer_id,
            method=method,
            confidence=confidence,
            linked_by=user[:100],
            linked_at=utcnow(),
        )
    )
    conn.execute(
        sa.update(_IC)
        .where(_IC.c.platform == platform, _IC.c.handle == handle, _IC.c.status == "queued")
        .where(_IC.c.customer_id != customer_id)
        .values(
            status="rejected", reason="linked to another customer", decided_by=user[:100], decided_at=utcnow()
        )
    )


def _current_link(conn: Connection, platform: str, handle: str) -> sa.Row | None:
    return conn.execute(sa.select(_SI).where(_SI.c.platform == platform, _SI.c.handle == handle)).first()


def accept(*, engine: Engine, candidate_id: int, user: str) -> None:
    """Accept a queued candidate: link it with its method and confidence, by ``user``, now."""
    with engine.begin() as conn:
        cand = _decide(conn, candidate_id)
        current = _current_link(conn, cand.platform, cand.handle)
        if current is not None and current.customer_id != cand.customer_id:
            raise ScrmError(
                f"{cand.platform} handle {cand.handle!r} is linked to another customer: unlink it first"
            )
        if current is None:
            _make_link(
                conn,
                platform=cand.platform,
                handle=cand.handle,
                customer_id=cand.customer_id,
                method=cand.method,
                confidence=cand.confidence,
                user=user,
            )
        conn.execute(
            sa.update(_IC)
            .where(_IC.c.id == candidate_id)
            .values(status="accepted", decided_by=user[:100], decided_at=utcnow())
        )
        detail = {"platform": cand.platform, "handle": cand.handle, "method": cand.method}
        _audit(
            conn,
            user=user,
            action="identity.accept",
            customer_id=cand.customer_id,
            detail={**detail, "confidence": cand.confidence},
        )


def reject(*, engine: Engine, candidate_id: int, user: str, note: str = "") -> None:
    """Reject a queued candidate: that pair is never linked automatically again."""
    with engine.begin() as conn:
        cand = _decide(conn, candidate_id)
        conn.execute(
            sa.update(_IC)
            .where(_IC.c.id == candidate_id)
            .values(status="rejected", reason=note[:500], decided_by=user[:100], decided_at=utcnow())
        )
        detail = {"platform": cand.platform, "handle": cand.handle, "method": cand.method, "note": note}
        _audit(conn, user=user, action="identity.reject", customer_id=cand.customer_id, detail=detail)


def manual_link(*, engine: Engine, platform: str, handle: str, crm_ref: str, user: str) -> None:
    """Link a handle to a customer by hand (method manual, confidence 1.0).

    Replaces an automatic link of that handle to another customer (kept in the audit log);
    a manual link to another customer must be unlinked first.
    """
    platform = platform_name(platform)
    key = normalise_handle(platform, handle)
    if not platform or not is_valid_handle(key):
        raise ScrmError(f"Not a usable handle: {handle!r} on {platform!r}")
    with engine.begin() as conn:
        cid = _customer_id(conn, crm_ref)
        current = _current_link(conn, platform, key)
        if current is not None:
            if current.customer_id == cid and current.method == "manual":
                return
            if current.method == "manual" and current.customer_id != cid:
                raise ScrmError(
                    f"{platform} handle {key!r} was linked by hand to another customer: unlink it first"
                )
            conn.execute(sa.delete(_SI).where(_SI.c.id == current.id))
            _audit(
                conn,
                user=user,
                action="identity.replace",
                customer_id=current.customer_id,
                detail={"platform": platform, "handle": key, "method": current.method, "by": "manual link"},
            )
        _make_link(
            conn, platform=platform, handle=key, customer_id=cid, method="manual", confidence=1.0, user=user
        )
        _remember(
            conn,
            platform=platform,
            handle=key,
            customer_id=cid,
            method="manual",
            confidence=1.0,
            status="accepted",
            reason="linked by hand",
            user=user,
        )
        _audit(
            conn,
            user=user,
            action="identity.link",
            customer_id=cid,
            detail={"platform": platform, "handle": key},
        )


def unlink(*, engine: Engine, platform: str, handle: str, user: str, note: str = "") -> None:
    """Remove a link; the audit log keeps it, and automatic linking never re-makes that pair."""
    platform = platform_name(platform)
    key = normalise_handle(platform, handle)
    with engine.begin() as conn:
        current = _current_link(conn, platform, key)
        if current is None:
            raise NotFoundError(f"{platform} handle {key!r} is not linked to a customer")
        conn.execute(sa.delete(_SI).where(_SI.c.id == current.id))
        _remember(
            conn,
            platform=platform,
            handle=key,
            customer_id=current.customer_id,
            method=current.method,
            confidence=current.confidence,
            status="rejected",
            reason=f"unlinked: {note}" if note else "unlinked",
            user=user,
        )
        _audit(
            conn,
            user=user,
            action="identity.unlink",
            customer_id=current.customer_id,
            detail={
                "platform": platform,
                "handle": key,
                "method": current.method,
                "confidence": current.confidence,
                "linked_by": current.linked_by,
                "linked_at": current.linked_at.isoformat(),
                "note": note,
            },
        )


REVIEW_COLUMNS = (
    "id",
    "platform",
    "handle",
    "display_name",
    "crm_ref",
    "customer_name",
    "method",
    "confidence",
    "reason",
    "created_at",
)


def review_queue(*, engine: Engine, limit: int = 500) -> pd.DataFrame:
    """Queued candidates, most confident first: columns :data:`REVIEW_COLUMNS`.

    ``display_name`` is the account's (empty when no post of it is stored); ``id`` is what
    :func:`accept` and :func:`reject` take.
    """
    stmt = (
        sa.select(
            _IC.c.id,
            _IC.c.platform,
            _IC.c.handle,
            sa.func.coalesce(_A.c.display_name, "").label("display_name"),
            _C.c.crm_ref,
            _C.c.name.label("customer_name"),
            _IC.c.method,
            _IC.c.confidence,
            _IC.c.reason,
            _IC.c.created_at,
        )
        .join(_C, _C.c.id == _IC.c.customer_id)
        .outerjoin(_A, sa.and_(_A.c.platform == _IC.c.platform, _A.c.handle == _IC.c.handle))
        .where(_IC.c.status == "queued")
        .order_by(_IC.c.confidence.desc(), _IC.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(), columns=list(REVIEW_COLUMNS))


def identity_rows(*, engine: Engine) -> Iterable[list[str]]:
    """Rows of :data:`IDENTITY_COLUMNS` (formula-safe): every link, then every queued candidate."""
    linked = sa.select(
        _SI.c.platform, _SI.c.handle, _C.c.crm_ref, _SI.c.method, _SI.c.confidence, sa.literal("linked")
    ).join(_C, _C.c.id == _SI.c.customer_id)
    queued = (
        sa.select(
            _IC.c.platform, _IC.c.handle, _C.c.crm_ref, _IC.c.method, _IC.c.confidence, sa.literal("queued")
        )
        .join(_C, _C.c.id == _IC.c.customer_id)
        .where(_IC.c.status == "queued")
    )
    with engine.connect() as conn:
        for stmt, order in ((linked, _SI.c.id), (queued, _IC.c.id)):
            for p, h, ref, method, conf, status in conn.execute(stmt.order_by(order)):
                yield [neutralise(p), neutralise(h), neutralise(ref), method, f"{conf:.4f}", status]


def export_identities(path: Path | str, *, engine: Engine) -> int:
    """Write links and queued candidates to a CSV of :data:`IDENTITY_COLUMNS`; returns the rows."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(IDENTITY_COLUMNS)
        for row in identity_rows(engine=engine):
            writer.writerow(row)
            count += 1
    return count


@dataclass(frozen=True)
class LinkedCustomer:
    """The customer behind a social account, as a post's detail view shows it."""

    id: int
    crm_ref: str
    name: str
    segment: str
    lifetime_value: float | None
    method: str
    confidence: float


def customer_of(*, engine: Engine, platform: str, handle: str) -> LinkedCustomer | None:
    """The customer linked to ``handle`` on ``platform``, or None."""
    si, c = SocialIdentity.__table__, Customer.__table__
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                c.c.id, c.c.crm_ref, c.c.name, c.c.segment, c.c.lifetime_value, si.c.method, si.c.confidence
            )
            .join(c, c.c.id == si.c.customer_id)
            .where(si.c.platform == platform, si.c.handle == normalise_handle(platform, handle))
        ).first()
    return None if row is None else LinkedCustomer(*row)

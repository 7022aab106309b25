"""Identity linking: handle normalisation, matching, the review queue, manual decisions, demo quality."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scrm.exceptions import NotFoundError, ScrmError
from scrm.ingest.demo import generate_customers, true_identity_links
from scrm.linking import (
    IDENTITY_COLUMNS,
    REVIEW_COLUMNS,
    accept,
    export_identities,
    handle_platform,
    link,
    manual_link,
    normalise_handle,
    person_key,
    reject,
    review_queue,
    unlink,
)
from scrm.models import AuditLog, Author, Customer, IdentityCandidate, SocialIdentity

_C, _A, _SI, _IC = Customer.__table__, Author.__table__, SocialIdentity.__table__, IdentityCandidate.__table__


@pytest.mark.parametrize(
    ("platform", "value", "expected"),
    [
        ("twitter", "AliceM", "alicem"),
        ("twitter", "  @AliceM ", "alicem"),
        ("twitter", "https://twitter.com/AliceM", "alicem"),
        ("twitter", "https://x.com/AliceM?lang=en", "alicem"),
        ("twitter", "mobile.twitter.com/alicem/", "alicem"),
        ("reddit", "u/Some_User", "some_user"),
        ("reddit", "/u/some_user", "some_user"),
        ("reddit", "reddit.com/u/some_user", "some_user"),
        ("reddit", "https://www.reddit.com/user/some_user/", "some_user"),
        ("instagram", "instagram.com/alice.m/", "alice.m"),
        ("facebook", "https://www.facebook.com/profile.php?id=1000123", "1000123"),
        ("facebook", "https://facebook.com/Alice.Martin", "alice.martin"),
        ("twitter", "Zoë", "zoë"),
        ("twitter", "Zoe\u0308", "zoë"),  # decomposed ë is the same handle
        ("twitter", "ÅSA_Ö", "åsa_ö"),
    ],
)
def test_normalise_handle(platform: str, value: str, expected: str) -> None:
    assert normalise_handle(platform, value) == expected


def test_handle_platform_and_person_key() -> None:
    assert (
        handle_platform("https://x.com/a") == "twitter" and handle_platform("old.reddit.com/u/b") == "reddit"
    )
    assert handle_platform("alicem") is None
    assert person_key("José  García-O'Brien") == person_key("garcia obrien jose")
    assert person_key("Ærøskøbing Łukasz") == "ærøskøbing łukasz"  # letters without a decomposition stay


def _customer(conn: Any, ref: str, name: str, email: str = "", handles: dict | None = None) -> int:
    attributes = {"handles": handles} if handles else {}
    return conn.execute(
        sa.insert(_C).values(crm_ref=ref, name=name, email=email, attributes=attributes)
    ).inserted_primary_key[0]


def _author(conn: Any, platform: str, handle: str, name: str = "", email: str = "") -> int:
    return conn.execute(
        sa.insert(_A).values(platform=platform, handle=handle, display_name=name, email=email)
    ).inserted_primary_key[0]


def _links(engine: Any) -> set[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        stmt = sa.select(_SI.c.platform, _SI.c.handle, _C.c.crm_ref, _SI.c.method).join(
            _C, _C.c.id == _SI.c.customer_id
        )
        return {tuple(r) for r in conn.execute(stmt)}


def _queued(engine: Any) -> set[tuple[str, str, str]]:
    with engine.connect() as conn:
        stmt = (
            sa.select(_IC.c.platform, _IC.c.handle, _C.c.crm_ref)
            .join(_C, _C.c.id == _IC.c.customer_id)
            .where(_IC.c.status == "queued")
        )
        return {tuple(r) for r in conn.execute(stmt)}


def test_exact_email_and_fuzzy_matches(engine) -> None:
    with engine.begin() as conn:
        _customer(conn, "C1", "Alice Martin", handles={"x": "https://twitter.com/AliceM", "reddit": "u/dup"})
        _customer(conn, "C2", "Bob Stone", email="Bob.Stone@Example.com")
        _customer(conn, "C3", "José García", email="jgarcia1987@example.com")
        _customer(conn, "C4", "Chen Wei", email="chen.wei@example.com")
        _customer(conn, "C5", "Dana Kim", email="kimmy@example.com")
        _author(conn, "twitter", "alicem", "Alice M.")
        _author(conn, "reddit", "stoner", "B", email="bob.stone@example.com")
        _author(conn, "twitter", "jgarcia_1987", "Jose Garcia")  # accents folded, number agrees
        _author(conn, "twitter", "jgarcia1990", "José García")  # another number: not him
        _author(conn, "instagram", "kimmy", "Totally Different")  # e-mail-like handle, other name
        _author(conn, "twitter", "weichen", "Wei Chen")  # the name alone: review at most
    result = link(engine=engine)
    assert _links(engine) == {
        ("twitter", "alicem", "C1", "exact"),
        ("reddit", "dup", "C1", "exact"),
        ("reddit", "stoner", "C2", "email"),
        ("twitter", "jgarcia_1987", "C3", "fuzzy"),
    }
    assert (result.linked, result.customers, result.authors) == (4, 5, 6)
    assert result.by_method == {"exact": 2, "email": 1, "fuzzy": 1}
    assert _queued(engine) == {("twitter", "weichen", "C4")}
    again = link(engine=engine)
    assert (again.linked, again.queued) == (0, 0)


def test_ties_are_queued_never_linked(engine) -> None:
    with engine.begin() as conn:
        _customer(conn, "C1", "Sam Berg", email="samberg77@example.com")
        _customer(conn, "C2", "Sam Berg", email="samberg77@example.net")
        _customer(conn, "C3", "Ann Lee", handles={"twitter": "annlee"})
        _customer(conn, "C4", "Ann Lee", handles={"twitter": "@AnnLee"})
        _author(conn, "twitter", "samberg77", "Sam Berg")
    result = link(engine=engine)
    assert result.linked == 0 and _links(engine) == set()
    assert _queued(engine) == {
        ("twitter", "samberg77", "C1"),
        ("twitter", "samberg77", "C2"),
        ("twitter", "annlee", "C3"),
        ("twitter", "annlee", "C4"),
    }


def test_two_accounts_as_similar_to_one_customer_are_queued(engine) -> None:
    with engine.begin() as conn:
        _customer(conn, "C1", "Mia Novak", email="mianovak12@example.com")
        _author(conn, "twitter", "mia_novak12", "Mia Novak")
        _author(conn, "twitter", "mianovak12", "Mia Novak")
    assert link(engine=engine).linked == 0
    assert len(_queued(engine)) == 2


def test_unicode_names_match(engine) -> None:
    with engine.begin() as conn:
        _customer(conn, "C1", "Zoë Ångström", email="zoe.angstrom88@example.com")
        _customer(conn, "C2", "山田 太郎", email="yamada.taro5@example.jp")
        _author(conn, "twitter", "zoeangstrom88", "Zoe Angstrom")
        _author(conn, "twitter", "yamadataro5", "太郎 山田")
    link(engine=engine)
    assert _links(engine) == {
        ("twitter", "zoeangstrom88", "C1", "fuzzy"),
        ("twitter", "yamadataro5", "C2", "fuzzy"),
    }


def test_review_queue_accept_and_reject(engine) -> None:
    with engine.begin() as conn:
        _customer(conn, "C1", "Wei Chen", email="wei.chen@example.com")
        _customer(conn, "C2", "Omar Khan", email="omar.khan@example.com")
        _author(conn, "twitter", "weichen", "Wei Chen")
        _author(conn, "twitter", "omarkhan", "Omar Khan")
    link(engine=engine)
    queue = review_queue(engine=engine)
    assert list(queue.columns) == list(REVIEW_COLUMNS) and len(queue) == 2
    assert queue.iloc[0][["platform", "display_name", "method"]].tolist() == [
        "twitter",
        queue.iloc[0]["customer_name"],
        "fuzzy",
    ]
    ids = dict(zip(queue["handle"], queue["id"].astype(int), strict=True))
    accept(engine=engine, candidate_id=ids["weichen"], user="ann")
    reject(engine=engine, candidate_id=ids["omarkhan"], user="ann", note="different person")
    with pytest.raises(ScrmError, match="already accepted by ann"):
        accept(engine=engine, candidate_id=ids["weichen"], user="bob")
    with pytest.raises(NotFoundError):
        reject(engine=engine, candidate_id=999, user="ann")
    with engine.connect() as conn:
        si = conn.execute(sa.select(_SI)).one()
        decided = {r.handle: (r.status, r.decided_by) for r in conn.execute(sa.select(_IC))}
        actions = [
            r.action for r in conn.execute(sa.select(AuditLog.__table__).order_by(AuditLog.__table__.c.id))
        ]
    assert (si.handle, si.method, si.linked_by) == ("weichen", "fuzzy", "ann") and 0.75 <= si.confidence < 0.9
    assert decided == {"weichen": ("accepted", "ann"), "omarkhan": ("rejected", "ann")}
    assert actions == ["identity.accept", "identity.reject"]
    assert link(engine=engine).queued == 0  # a rejected pair is not queued again
    assert review_queue(engine=engine).empty


def test_manual_link_and_unlink_are_never_overridden(engine) -> None:
    with engine.begin() as conn:
        _customer(conn, "C1", "Alice Martin", handles={"twitter": "alicem"})
        _customer(conn, "C2", "Bob Stone")
        _author(conn, "twitter", "alicem", "Alice Martin")
    manual_link(engine=engine, platform="twitter", handle="@AliceM", crm_ref="C2", user="ann")
    link(engine=engine)
    assert _links(engine) == {("twitter", "alicem", "C2", "manual")}
    with pytest.raises(ScrmError, match="unlink it first"):
        manual_link(engine=engine, platform="twitter", handle="alicem", crm_ref="C1", user="bob")
    unlink(engine=engine, platform="twitter", handle="https://twitter.com/alicem", user="ann", note="wrong")
    link(engine=engine)  # C1's CRM handle: now free, so linked exactly
    assert _links(engine) == {("twitter", "alicem", "C1", "exact")}
    unlink(engine=engine, platform="twitter", handle="alicem", user="ann")
    link(engine=engine)
    assert _links(engine) == set()  # both pairs were unlinked by a person: never re-made
    with pytest.raises(NotFoundError):
        unlink(engine=engine, platform="twitter", handle="alicem", user="ann")
    with pytest.raises(NotFoundError):
        manual_link(engine=engine, platform="twitter", handle="x", crm_ref="nobody", user="ann")
    with engine.connect() as conn:
        audit = [
            (r.username, r.action, r.detail.get("handle"), r.detail.get("method"))
            for r in conn.execute(sa.select(AuditLog.__table__).order_by(AuditLog.__table__.c.id))
        ]
    assert audit == [
        ("ann", "identity.link", "alicem", None),
        ("ann", "identity.unlink", "alicem", "manual"),
        ("ann", "identity.unlink", "alicem", "exact"),
    ]
    manual_link(engine=engine, platform="twitter", handle="alicem", crm_ref="C1", user="bob")  # a person may
    assert _links(engine) == {("twitter", "alicem", "C1", "manual")}


def test_manual_link_replaces_an_automatic_one(engine) -> None:
    with engine.begin() as conn:
        _customer(conn, "C1", "Alice Martin", handles={"twitter": "alicem"})
        _customer(conn, "C2", "Alice Martin")
    link(engine=engine)
    manual_link(engine=engine, platform="twitter", handle="alicem", crm_ref="C2", user="ann")
    assert _links(engine) == {("twitter", "alicem", "C2", "manual")}


def test_export_identities_is_formula_safe(engine, tmp_path: Path) -> None:
    with engine.begin() as conn:
        _customer(conn, "=C1", "Alice Martin", handles={"twitter": "alicem"})
        _customer(conn, "C2", "Wei Chen", email="wei.chen@example.com")
        _author(conn, "twitter", "weichen", "Wei Chen")
    link(engine=engine)
    out = tmp_path / "ids.csv"
    assert export_identities(out, engine=engine) == 2
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(IDENTITY_COLUMNS)
    assert rows[1] == ["twitter", "alicem", "'=C1", "exact", "1.0000", "linked"]
    assert rows[2][:3] == ["twitter", "weichen", "C2"] and rows[2][5] == "queued"


def test_bad_thresholds_are_refused(engine) -> None:
    with pytest.raises(ScrmError, match="review_floor"):
        link(engine=engine, threshold=0.5, review_floor=0.8)


@pytest.mark.slow
def test_precision_and_recall_on_the_demo(memory_engine) -> None:
    """Measured on the default demo (5,000 customers, ~17,000 accounts): precision 0.998, recall 1.0."""
    from scrm.ingest.demo import generate_mentions, store_customers
    from scrm.ingest.pipeline import ingest_mentions

    ingest_mentions(generate_mentions(), engine=memory_engine, source="demo", alerts=False)
    store_customers(generate_customers(), engine=memory_engine)
    result = link(engine=memory_engine)
    made = {(p, h, ref) for p, h, ref, _ in _links(memory_engine)}
    truth = set(true_identity_links())
    hits = len(made & truth)
    precision, recall = hits / len(made), hits / len(truth)
    assert precision >= 0.99 and recall >= 0.99, (precision, recall, result.to_dict())

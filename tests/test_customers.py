"""Customer import (validation, upsert, handles), erasure and the access export, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scrm.customers import (
    CustomerMapper,
    erase_customer,
    export_customer,
    hash_ref,
    import_customers,
    parse_map_args,
)
from scrm.exceptions import ImportFormatError, NotFoundError
from scrm.ingest.pipeline import ingest_mentions
from scrm.linking import manual_link, unlink
from scrm.models import (
    Alert,
    AlertEvent,
    AuditLog,
    Author,
    Customer,
    IdentityCandidate,
    ImportBatch,
    ImportRejection,
    Lead,
    Mention,
    Notification,
    SocialIdentity,
)
from tests.factories import add_alerts, csv_bytes, mention, ndjson_bytes, write

GOOD = [
    {
        "crm_ref": "C1",
        "name": "Alice Martin",
        "email": "alice@example.com",
        "country": "Ireland",
        "age": "34",
        "income": "52,000",
        "household_size": "2",
        "segment": "Family",
        "lifetime_value": "5200.50",
        "twitter": "@AliceM",
        "loyalty": "gold",
    },
    {
        "crm_ref": "C2",
        "name": "Bob Stone",
        "email": "bob@example.org",
        "country": "Spain",
        "age": "",
        "income": "",
        "household_size": "",
        "segment": "Student",
        "lifetime_value": "400",
        "twitter": "https://twitter.com/bobstone",
        "loyalty": "",
    },
]


def _rows(engine: Any, table: Any, *cols: Any) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(sa.select(*(cols or [table])).order_by(*(cols or [table.c.id])))
        ]


def test_import_maps_validates_and_links_handles(engine, tmp_path: Path) -> None:
    result = import_customers(write(tmp_path / "c.csv", csv_bytes(GOOD)), engine=engine)
    assert (result.read, result.stored, result.updated, result.rejected, result.linked) == (2, 2, 0, 0, 2)
    assert result.mapping["handle.twitter"] == "twitter"
    C = Customer.__table__
    rows = {r.crm_ref: r for r in _rows_full(engine, C)}
    alice = rows["C1"]
    assert (alice.age, alice.income, alice.household_size, alice.lifetime_value) == (34, 52000.0, 2, 5200.5)
    assert alice.attributes == {"loyalty": "gold", "handles": {"twitter": "alicem"}}
    assert rows["C2"].age is None and rows["C2"].attributes == {"handles": {"twitter": "bobstone"}}
    SI = SocialIdentity.__table__
    assert _rows(engine, SI, SI.c.platform, SI.c.handle, SI.c.method, SI.c.confidence) == [
        ("twitter", "alicem", "crm", 1.0),
        ("twitter", "bobstone", "crm", 1.0),
    ]


def _rows_full(engine: Any, table: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).order_by(table.c.id)))


def test_import_is_idempotent_and_updates_changed_fields(engine, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", csv_bytes(GOOD))
    import_customers(path, engine=engine)
    again = import_customers(path, engine=engine)
    assert (again.stored, again.updated, again.unchanged, again.linked) == (0, 0, 2, 0)
    changed = [dict(GOOD[0], lifetime_value="9000", loyalty="platinum"), GOOD[1]]
    third = import_customers(write(tmp_path / "d.csv", csv_bytes(changed)), engine=engine)
    assert (third.stored, third.updated, third.unchanged) == (0, 1, 1)
    C = Customer.__table__
    assert _rows(engine, C, C.c.crm_ref, C.c.lifetime_value) == [("C1", 9000.0), ("C2", 400.0)]
    assert len(_rows(engine, C, C.c.id)) == 2
    with engine.connect() as conn:
        batch = conn.execute(
            sa.select(ImportBatch.__table__).order_by(ImportBatch.__table__.c.id.desc())
        ).first()
    assert (batch.source, batch.status, batch.read, batch.updated) == ("customers", "done", 2, 1)
    assert len(batch.file_hash) == 64


BAD_ROWS = [
    ({"crm_ref": ""}, "missing crm_ref"),
    ({"email": "not-an-email"}, "not an e-mail address"),
    ({"email": "a@b"}, "not an e-mail address"),
    ({"age": "-1"}, "age -1 is not a whole number from 0 to 120"),
    ({"age": "121"}, "from 0 to 120"),
    ({"age": "thirty"}, "age in column 'age': not a number"),
    ({"income": "lots"}, "income in column 'income': not a number"),
    ({"income": "-5"}, "negative income"),
    ({"lifetime_value": "12abc"}, "lifetime_value in column 'lifetime_value': not a number"),
    ({"lifetime_value": "nan"}, "not a number"),
    ({"household_size": "0"}, "household size 0 is not a whole number from 1 to 30"),
    ({"household_size": "2.5"}, "household size"),
    ({"name": "x" * 5_000_000}, "5,000,000 characters"),
    ({"name": "nul\x00byte"}, "NUL bytes"),
    ({"twitter": "not a handle"}, "twitter handle in column 'twitter' is not a twitter handle"),
    ({"twitter": "https://instagram.com/someone"}, "not a twitter handle"),
    ({"crm_ref": "C1"}, "duplicate of row 2 (same crm_ref)"),
]


@pytest.mark.parametrize(("change", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_bad_rows_are_rejected_with_their_reason(engine, tmp_path: Path, change: dict, reason: str) -> None:
    bad = {**GOOD[0], "crm_ref": "BAD", **change}
    path = write(tmp_path / "c.csv", csv_bytes([GOOD[0], bad, GOOD[1]]))
    result = import_customers(path, engine=engine)
    assert (result.read, result.stored, result.rejected) == (3, 2, 1)
    assert result.rejections[0].row == 3 and reason in result.rejections[0].reason
    C = Customer.__table__
    assert _rows(engine, C, C.c.crm_ref) == [("C1",), ("C2",)]
    R = ImportRejection.__table__
    [(row, stored_reason, raw)] = _rows(engine, R, R.c.row_number, R.c.reason, R.c.raw)
    assert row == 3 and reason in stored_reason and raw


def test_json_ndjson_gzip_and_explicit_mapping(engine, tmp_path: Path) -> None:
    records = [
        {"Ref": "J1", "Full Name": "Zoë Ångström", "socials": {"reddit": "u/Zoe_A"}, "extra": {"tier": 2}},
        {"Ref": "J2", "Full Name": "Ömer Şahin", "socials": {"reddit": "https://www.reddit.com/user/omer/"}},
    ]
    path = write(tmp_path / "c.ndjson.gz", ndjson_bytes(records), gz=True)
    result = import_customers(
        path,
        engine=engine,
        mapping=parse_map_args(["crm_ref=Ref", "name=Full Name", "handle.reddit=socials.reddit"]),
    )
    assert (result.format, result.stored, result.rejected) == ("ndjson", 2, 0)
    SI = SocialIdentity.__table__
    assert _rows(engine, SI, SI.c.platform, SI.c.handle) == [("reddit", "omer"), ("reddit", "zoe_a")]
    first = _rows_full(engine, Customer.__table__)[0]
    assert (first.name, first.attributes) == (
        "Zoë Ångström",
        {"extra.tier": 2, "handles": {"reddit": "zoe_a"}},
    )
    array = write(
        tmp_path / "c.json", json.dumps([{"crm_ref": "J3", "attributes": {"handles": {"twitter": "@J3"}}}])
    )
    assert import_customers(array, engine=engine).linked == 1


def test_mapping_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="crm_ref=COLUMN"):
        CustomerMapper.build(["foo", "bar"])
    with pytest.raises(ImportFormatError, match="Unknown field"):
        parse_map_args(["nope=x"])
    with pytest.raises(ImportFormatError, match="not in the file"):
        CustomerMapper.build(["crm_ref"], overrides={"name": "missing"})
    assert CustomerMapper.build(["id", "X Handle", "instagram_url", "Facebook"]).mapping == {
        "crm_ref": "id",
        "handle.twitter": "X Handle",
        "handle.instagram": "instagram_url",
        "handle.facebook": "Facebook",
    }


def test_unreadable_file_is_one_error(engine, tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError):
        import_customers(write(tmp_path / "e.csv", b""), engine=engine)
    with pytest.raises(ImportFormatError, match="Cannot open"):
        import_customers(tmp_path / "missing.csv", engine=engine)


def test_reimport_never_relinks_an_unlinked_handle(engine, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", csv_bytes(GOOD))
    import_customers(path, engine=engine)
    unlink(engine=engine, platform="twitter", handle="alicem", user="ann", note="not her")
    assert import_customers(path, engine=engine).linked == 0
    SI = SocialIdentity.__table__
    assert _rows(engine, SI, SI.c.handle) == [("bobstone",)]


def _personal_strings(engine: Any) -> str:
    """Every text value of every table, as one string."""
    from sqlmodel import SQLModel

    parts = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.append(json.dumps([str(v) for v in row], ensure_ascii=False).lower())
    return "\n".join(parts)


def _populated(engine: Any, tmp_path: Path) -> None:
    """Alice with a linked account, posts, a lead, a candidate, a rejected row and audit records."""
    bad = {**GOOD[0], "age": "999"}  # rejected: its raw row holds Alice's e-mail and crm_ref
    import_customers(write(tmp_path / "c.csv", csv_bytes([GOOD[0], GOOD[1], bad])), engine=engine)
    ingest_mentions(
        [mention(1, author="alicem", author_name="Alice Martin"), mention(2, author="bobstone")],
        engine=engine,
        source="test",
    )
    manual_link(engine=engine, platform="facebook", handle="alice.martin", crm_ref="C1", user="ann")
    with engine.begin() as conn:
        alice = conn.execute(
            sa.select(Customer.__table__.c.id).where(Customer.__table__.c.crm_ref == "C1")
        ).scalar()
        m1 = conn.execute(
            sa.select(Mention.__table__.c.id).where(Mention.__table__.c.external_id == "m1")
        ).scalar()
        m2 = conn.execute(
            sa.select(Mention.__table__.c.id).where(Mention.__table__.c.external_id == "m2")
        ).scalar()
        conn.execute(
            sa.insert(Lead.__table__),
            [
                {"mention_id": m1, "kind": "purchase_intent", "customer_id": alice},
                {"mention_id": m2, "kind": "switching", "customer_id": alice},
            ],
        )
        conn.execute(
            sa.insert(IdentityCandidate.__table__).values(
                platform="reddit", handle="alice_m", customer_id=alice, method="fuzzy", confidence=0.8
            )
        )
    [alert] = add_alerts(
        engine,
        [{"title": "Negative post by @AliceM (120 followers)", "detail": {"authors": ["alicem", "bob"]}}],
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(AlertEvent.__table__).values(
                alert_id=alert, username="ann", action="note", note="called alice@example.com back"
            )
        )
        conn.execute(
            sa.insert(Notification.__table__).values(
                alert_id=alert, channel="webhook", target="x", payload={"text": "@alicem is angry"}
            )
        )


def test_erasure_leaves_nothing_personal(engine, tmp_path: Path) -> None:
    _populated(engine, tmp_path)
    counts = erase_customer(engine=engine, crm_ref="C1", user="dpo", delete_posts=True)
    assert counts["identities"] == 2 and counts["posts"] == 1 and counts["accounts"] == 1
    assert counts["rejections"] == 1 and counts["candidates"] >= 1 and counts["leads"] == 1
    assert counts["redacted"] == 3
    everything = _personal_strings(engine)
    for personal in ("alice@example.com", "alice martin", "alicem", "alice.martin", "alice_m", '"c1"'):
        assert personal not in everything, personal
    C = Customer.__table__
    assert _rows(engine, C, C.c.crm_ref) == [("C2",)]
    L = Lead.__table__
    assert _rows(engine, L, L.c.kind, L.c.customer_id) == [
        ("switching", None)
    ]  # m1's lead went with the post
    A = AuditLog.__table__
    erased = [r for r in _rows_full(engine, A) if r.action == "customer.erase"]
    assert len(erased) == 1 and erased[0].entity_id == hash_ref("C1") and erased[0].username == "dpo"
    assert erased[0].detail["crm_ref_sha256"] == hash_ref("C1")
    [alert] = _rows_full(engine, Alert.__table__)
    assert alert.title == "Negative post by [erased] (120 followers)"
    assert alert.detail == {"authors": ["[erased]", "bob"]}
    with pytest.raises(NotFoundError):
        erase_customer(engine=engine, crm_ref="C1", user="dpo")


def test_erasure_keeps_posts_unless_asked(engine, tmp_path: Path) -> None:
    _populated(engine, tmp_path)
    counts = erase_customer(engine=engine, crm_ref="C1", user="dpo")
    assert counts["posts"] == 0
    M, A = Mention.__table__, Author.__table__
    assert len(_rows(engine, M, M.c.id)) == 2 and ("alicem",) in _rows(engine, A, A.c.handle)
    everything = _personal_strings(engine)
    assert "alice@example.com" not in everything and '"c1"' not in everything
    assert "@alicem" in everything.lower()  # her public posts and their alert stay


def test_access_export_holds_profile_identities_posts_and_leads(engine, tmp_path: Path) -> None:
    _populated(engine, tmp_path)
    data = export_customer(engine=engine, crm_ref="C1")
    assert data["customer"]["email"] == "alice@example.com"
    assert {(i["platform"], i["handle"], i["method"]) for i in data["identities"]} == {
        ("twitter", "alicem", "crm"),
        ("facebook", "alice.martin", "manual"),
    }
    assert [p["external_id"] for p in data["posts"]] == ["m1"]
    assert sorted(lead["kind"] for lead in data["leads"]) == ["purchase_intent", "switching"]
    assert data["accounts"][0]["handle"] == "alicem"
    json.dumps(data)  # plain JSON
    with pytest.raises(NotFoundError):
        export_customer(engine=engine, crm_ref="nobody")


def test_an_interrupted_import_keeps_whole_batches_and_a_rerun_completes_it(engine, tmp_path: Path) -> None:
    rows = [{"crm_ref": f"K{i}", "name": f"Person {i}", "age": str(20 + i)} for i in range(10)]
    path = write(tmp_path / "c.csv", csv_bytes(rows))

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_customers(path, engine=engine, batch_size=4, progress=stop)
    C, B = Customer.__table__, ImportBatch.__table__
    assert len(_rows(engine, C, C.c.id)) == 4
    assert _rows(engine, B, B.c.status, B.c.read, B.c.stored) == [("failed", 4, 4)]
    again = import_customers(path, engine=engine, batch_size=4)
    assert (again.read, again.stored, again.unchanged) == (10, 6, 4)
    assert len(_rows(engine, C, C.c.id)) == 10

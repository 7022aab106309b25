"""The Identities page (AppTest): it runs, links by hand through its form, and asks for a name."""

from __future__ import annotations

from pathlib import Path

from scrm.customers import import_customers
from scrm.linking import customer_of
from tests.factories import csv_bytes, write

PAGE = "pages/identities.py"


def add_customer(page_db, tmp_path: Path, crm_ref: str = "CRM-001") -> None:
    path = write(tmp_path / "customers.csv", csv_bytes([{"crm_ref": crm_ref, "name": "Ada Lovelace"}]))
    result = import_customers(path, engine=page_db.engine)
    assert result.stored == 1, result.to_dict()


def test_the_page_runs(run_page) -> None:
    at = run_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value == "Manual link" for s in at.subheader)


def test_a_manual_link_through_the_form(run_page, page_db, tmp_path: Path) -> None:
    add_customer(page_db, tmp_path)
    assert customer_of(engine=page_db.engine, platform="twitter", handle="user1") is None
    at = run_page(PAGE)
    at.text_input(key="ident_user").input("Tester")
    at.selectbox(key="ident_manual_platform").select("twitter")
    at.text_input(key="ident_manual_handle").input("@User1")
    at.text_input(key="ident_manual_ref").input("CRM-001")
    at.button(key="ident_manual_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("Linked" in s.value for s in at.success)
    linked = customer_of(engine=page_db.engine, platform="twitter", handle="user1")
    assert linked is not None and linked.crm_ref == "CRM-001"
    assert linked.method == "manual"


def test_an_empty_name_is_an_error(run_page, page_db, tmp_path: Path) -> None:
    add_customer(page_db, tmp_path)
    at = run_page(PAGE)
    at.text_input(key="ident_manual_handle").input("user1")
    at.text_input(key="ident_manual_ref").input("CRM-001")
    at.button(key="ident_manual_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("name" in e.value for e in at.error)
    assert customer_of(engine=page_db.engine, platform="twitter", handle="user1") is None


def test_an_unknown_customer_is_an_error(run_page, page_db) -> None:
    at = run_page(PAGE)
    at.text_input(key="ident_user").input("Tester")
    at.text_input(key="ident_manual_handle").input("user1")
    at.text_input(key="ident_manual_ref").input("NOPE")
    at.button(key="ident_manual_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error

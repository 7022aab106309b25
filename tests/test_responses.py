"""Response times on hand-built threads: answered, late, never answered, brand accounts, inbound column."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from scrm.brands import add_brand
from scrm.cli import main
from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.ingest.pipeline import ingest_mentions
from scrm.responses import add_brand_accounts, alert_summary_by, inbound_posts, summarise, summarise_by
from tests.factories import csv_bytes, mention, write

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
H = timedelta(hours=1)
PERIOD = Filters(start=T0 - timedelta(days=1), end=T0 + timedelta(days=2))


def post(i: int, text: str, author: str, at: datetime, parent: str | None = None, **kw):
    return mention(i, text=text, author=author, created_at=at, parent_id=parent, brands=["Acme"], **kw)


@pytest.fixture
def threads(engine):
    add_brand(engine=engine, name="Acme", is_own=True)
    add_brand_accounts(engine=engine, brand="Acme", platform="twitter", handles=["@AcmeHelp"])
    items = [
        post(1, "Acme lost my parcel, terrible service", "ann", T0),  # answered after 1 h
        post(2, "@ann sorry, we are on it", "acmehelp", T0 + H, parent="m1"),
        post(3, "@ann a second answer later", "acmehelp", T0 + 5 * H, parent="m1"),
        post(4, "Acme charged me twice, awful", "bob", T0 + H),  # answered after 6 h: late
        post(5, "@bob refunded", "acmehelp", T0 + 7 * H, parent="m4"),
        post(6, "Acme support is horrible and slow", "cy", T0 + 2 * H),  # never answered
        post(7, "@cy me too, horrible", "dan", T0 + 3 * H, parent="m6"),  # not the brand: no answer
        post(8, "I love Acme, great app", "eve", T0 + 2 * H),  # not a complaint
        post(9, "Acme is the worst, awful", "acmehelp", T0 + 2 * H),  # the brand's own account
        post(10, "Acme awful on reddit too", "fay", T0 + 2 * H, platform="reddit"),  # no account there
    ]
    ingest_mentions(items, engine=engine, source="test")
    return engine


def test_inbound_posts_and_their_first_response(threads) -> None:
    frame = inbound_posts(engine=threads, filters=PERIOD).sort_values("created_at", ignore_index=True)
    assert len(frame) == 3  # ann, bob, cy
    assert list(frame["response_s"].iloc[:2]) == [3600.0, 6 * 3600.0]
    assert pd.isna(frame["response_s"].iloc[2])


def test_summary_medians_percentiles_and_sla(threads) -> None:
    frame = inbound_posts(engine=threads, filters=PERIOD)
    figures = summarise(frame, sla_s=4 * 3600, now=T0 + timedelta(days=1))
    assert figures["inbound"] == 3 and figures["answered"] == 2
    assert figures["median_first_response_s"] == pytest.approx(3.5 * 3600)
    assert figures["p90_first_response_s"] == pytest.approx(3600 + 0.9 * 5 * 3600)
    # bob answered late, cy unanswered past the SLA: 2 of 3 breached
    assert figures["sla_breach_share"] == pytest.approx(200 / 3)
    early = summarise(frame, sla_s=4 * 3600, now=T0 + 3 * H)  # cy has waited only 1 h
    assert early["sla_breach_share"] == pytest.approx(50.0)
    empty = summarise(frame.iloc[0:0])
    assert empty["inbound"] == 0 and empty["median_first_response_s"] is None
    by = summarise_by(frame, "platform", sla_s=4 * 3600, now=T0 + timedelta(days=1))
    assert list(by["platform"]) == ["twitter"] and by["inbound"].tolist() == [3]


def test_an_inbound_column_decides_over_the_complaint_rule(engine, tmp_path) -> None:
    rows = [
        {
            "id": "1",
            "text": "Hello Acme, where is my card?",
            "created_at": "2026-11-02T09:00:00Z",
            "author": "gil",
            "inbound": "yes",
            "parent": "",
        },
        {
            "id": "2",
            "text": "@gil it is on its way",
            "created_at": "2026-11-02T09:30:00Z",
            "author": "agent7",
            "inbound": "no",
            "parent": "1",
        },
        {
            "id": "3",
            "text": "Acme, awful",
            "created_at": "2026-11-02T10:00:00Z",
            "author": "hal",
            "inbound": "maybe",
            "parent": "",
        },
    ]
    assert (
        main(
            [
                "--database-url",
                str(engine.url.render_as_string(hide_password=False)),
                "brands",
                "add",
                "Acme",
                "--own",
                "--query",
                "acme",
            ]
        )
        == 0
    )
    path = write(tmp_path / "t.csv", csv_bytes(rows))
    url = engine.url.render_as_string(hide_password=False)
    assert (
        main(
            ["--database-url", url, "import", str(path), "--platform", "twitter", "--map", "parent_id=parent"]
        )
        == 0
    )
    frame = inbound_posts(engine=engine, filters=PERIOD)
    assert len(frame) == 1 and frame["response_s"].tolist() == [1800.0]  # row 3 rejected: bad inbound


def test_brand_accounts_are_validated(threads) -> None:
    with pytest.raises(ScrmError, match="another brand"):
        add_brand(engine=threads, name="Other")
        add_brand_accounts(engine=threads, brand="Other", platform="twitter", handles=["acmehelp"])
    with pytest.raises(ScrmError, match="at least one"):
        add_brand_accounts(engine=threads, brand="Acme", platform="twitter", handles=["@", " "])
    assert add_brand_accounts(engine=threads, brand="Acme", platform="twitter", handles=["ACMEHELP"]) == 0


def test_alert_summary_judges_each_priority_by_its_own_sla() -> None:
    frame = pd.DataFrame(
        {
            "assignee": ["ana", "ana", "ben"],
            "created_at": pd.to_datetime([T0, T0, T0], utc=True),
            "response_s": [30 * 60.0, 2 * 3600.0, float("nan")],
            "resolve_s": [3600.0, float("nan"), float("nan")],
            "sla_s": [3600.0, 4 * 3600.0, 3600.0],  # P1, P2, P1
        }
    )
    out = alert_summary_by(frame, "assignee", now=T0 + timedelta(days=1)).set_index("assignee")
    assert out.loc["ana", "sla_breach_share"] == 0.0 and out.loc["ana", "median_resolve_s"] == 3600.0
    assert out.loc["ben", "sla_breach_share"] == 100.0 and pd.isna(out.loc["ben", "median_resolve_s"])


def test_cli_responses_json_keys(threads, capsys) -> None:
    url = threads.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "responses", "--brand", "Acme", "--days", "3650", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("inbound", "answered", "median_first_response_s", "p90_first_response_s", "sla_breach_share"):
        assert key in data
    assert data["inbound"] == 3 and data["answered"] == 2


def test_awaiting_lists_the_unanswered_longest_first(threads) -> None:
    from scrm.responses import awaiting

    waiting = awaiting(engine=threads, filters=PERIOD, now=T0 + 10 * H)
    assert list(waiting["author"]) == ["cy"] and waiting["waited_s"].tolist() == [8 * 3600.0]
    assert "horrible" in waiting["text"].iloc[0]

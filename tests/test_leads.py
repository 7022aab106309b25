"""Leads: the rule-based detector (with its labelled set), finding leads, the funnel, the export, the CLI."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from scrm import leads
from scrm.cli import main
from scrm.exceptions import NotFoundError, ScrmError
from scrm.filters import Filters
from scrm.ingest.pipeline import ingest_mentions
from scrm.models import AuditLog, Lead
from tests.factories import mention
from tests.test_segments import END, MONTH, build_world

LABELLED = Path(__file__).parent / "data" / "leads_labelled.csv"
# Rows 1-393 of the labelled set were written first and the rules were tuned on them; rows
# 394-483 were written after the rules were frozen and never tuned on (docs/LEADS.md).
DEVELOPMENT_ROWS = 393
# Floors: the figures measured when the rules were frozen, rounded down a little.
FLOORS = {
    "development": {"precision": 0.97, "recall": 0.95},
    "held out": {"precision": 0.85, "recall": 0.30},
}


def labelled() -> list[tuple[str, str]]:
    with open(LABELLED, encoding="utf-8", newline="") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Looking for a new bank with a decent app, any recommendations?", "purchase_intent"),
        ("which credit card should I get for travelling?", "purchase_intent"),
        ("best bank for freelancers?", "purchase_intent"),
        ("Thinking of opening a joint account, which bank is easiest?", "purchase_intent"),
        ("We’re in the market for a business account", "purchase_intent"),
        ("thinking of switching banks, the fees are silly", "switching"),
        ("moving my account to Northwind next week", "switching"),
        ("Leaving Harbor Bank for Summit Mutual after 10 years", "switching"),
        ("done with Crestline. where should I go?", "switching"),
        ("fed up with Harbor Bank, 2 hours on hold", "competitor_complaint"),
        ("Crestline down again. This is the last straw", "competitor_complaint"),
        ("if Crestline goes down again I'm closing my account", "competitor_complaint"),  # a threat
        ("Done with Harbor, any recommendations for a new bank?", "switching"),  # switching wins
    ],
)
def test_detect_finds(text: str, kind: str) -> None:
    signal = leads.detect(text)
    assert signal is not None and signal.kind == kind, signal
    assert 0 < signal.score <= 1 and signal.cue and signal.rules


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I'm not looking for advice, just venting",
        "not thinking of switching, Summit has been great",
        "Looking for my lost card everywhere",
        "looking for the Harbor Bank branch on Queen Street",
        "Summit Mutual is switching to a new app next month",
        "which branch should I go to on Sunday?",
        "Oh sure, I'm definitely switching to Crestline, said no one ever",
        "Best bank for losing your money? Crestline. /s",
        "switched to Summit Mutual last month and I'm really happy",
        "My friend is switching careers",
        "Never again am I eating that much",
        "fed up with the rain",
        "Thinking of opening a bottle of wine",
    ],
)
def test_detect_ignores(text: str) -> None:
    assert leads.detect(text) is None


def test_score_grows_with_more_cues() -> None:
    one = leads.detect("thinking of switching banks")
    two = leads.detect("thinking of switching banks, done with Harbor, moving my account next week")
    assert one is not None and two is not None
    assert two.score > one.score and len(two.rules) >= 3 and two.score <= 1.0


def test_anchors_never_hide_a_rule() -> None:
    """Skipping rules whose anchors are absent gives the same answers as running them all."""
    texts = [text for text, _ in labelled()] + [
        "WHICH CARD SHOULD I GET?!",
        "can anybody point me to a good bank",
        "moved 2 of my accounts away from Harbor",
    ]
    for text in texts:
        assert leads.detect(text) == leads.detect(text, prefilter=False), text


@pytest.mark.parametrize(
    "text",
    [
        "looking for " * 400,
        "a " * 1500,
        "which " * 500 + "should I",
        ("fed up with " + "x " * 10) * 100,
        "any recommendations for " + "good " * 500,
        "leaving " + "x " * 1500 + "for",
        "@" * 3000 + " moving my " * 100,
    ],
)
def test_no_catastrophic_backtracking(text: str) -> None:
    started = time.perf_counter()
    leads.detect(text)
    assert time.perf_counter() - started < 0.5


def test_labelled_set_precision_and_recall() -> None:
    rows = labelled()
    assert len(rows) >= 200
    assert {label for _, label in rows} == {"none", *leads.KINDS}
    assert len({text for text, _ in rows}) == len(rows), "duplicate posts"
    parts = {"development": rows[:DEVELOPMENT_ROWS], "held out": rows[DEVELOPMENT_ROWS:]}
    for name, part in parts.items():
        table = leads.evaluate(part).set_index("kind")
        any_lead = table.loc["any lead"]
        floor = FLOORS[name]
        assert any_lead["precision"] >= floor["precision"], (name, table)
        assert any_lead["recall"] >= floor["recall"], (name, table)


def test_evaluate_counts() -> None:
    table = leads.evaluate(
        [
            ("thinking of switching banks", "switching"),
            ("which card should I get", "purchase_intent"),
            ("lovely weather", "purchase_intent"),
            ("done with Harbor", "none"),
        ]
    ).set_index("kind")
    assert table.loc["switching", ["support", "predicted", "correct"]].tolist() == [1, 2, 1]
    assert table.loc["purchase_intent", "recall"] == 0.5
    assert table.loc["any lead", "precision"] == pytest.approx(2 / 3)


def add_posts(engine, texts: list[str], *, start: int = 100) -> None:
    """Store posts through the pipeline (it links them to Acme Bank and Rival by their queries)."""
    items = [
        mention(start + i, text=text, created_at=END - timedelta(hours=i + 1), author=f"poster{i}")
        for i, text in enumerate(texts)
    ]
    result = ingest_mentions(items, engine=engine, source="test", alerts=False)
    assert result.stored == len(texts), result.to_dict()


def lead_rows(engine) -> dict[str, dict]:
    table = leads.list_leads(engine=engine)
    return {row["text"]: row for row in table.to_dict(orient="records")}


def test_find_leads_stores_leads_once_with_brand_and_customer(engine) -> None:
    build_world(engine)
    add_posts(
        engine,
        [
            "Leaving Rival for Acme Bank, finally",  # leaving a competitor for us: a lead (Rival)
            "Leaving Acme Bank for Rival, bye",  # leaving us: churn
            "thinking of switching to Rival, Acme is too dear",  # leaving us: churn
            "Acme vs Rival: which bank should I open an account with?",  # purchase intent: own brand
        ],
    )
    calls: list[tuple[int, int]] = []
    stored = leads.find_leads(
        engine=engine, filters=MONTH, progress=lambda d, t: calls.append((d, t)), batch=5
    )
    found = lead_rows(engine)
    assert stored == len(found) == 5
    assert calls[-1][0] == calls[-1][1] and len(calls) > 1
    alice = found["looking for a new credit card, any recommendations?"]
    assert (alice["kind"], alice["brand"], alice["customer_ref"]) == ("purchase_intent", "Acme Bank", "C-001")
    bob = found["Done with Rival. Leaving Rival for Acme next week"]
    assert (bob["kind"], bob["brand"], bob["customer_ref"]) == ("switching", "Rival", "C-002")
    eve = found["fed up with Rival, never again"]
    assert (eve["kind"], eve["brand"], eve["customer_ref"]) == ("competitor_complaint", "Rival", "C-005")
    assert found["Leaving Rival for Acme Bank, finally"]["brand"] == "Rival"
    assert found["Acme vs Rival: which bank should I open an account with?"]["brand"] == "Acme Bank"
    assert "Acme Bank charged me again, thinking of switching to Rival" not in found  # our churn
    assert "Leaving Acme Bank for Rival, bye" not in found
    assert "thinking of switching to Rival, Acme is too dear" not in found
    assert leads.find_leads(engine=engine, filters=MONTH) == 0  # idempotent
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Lead.__table__)).scalar_one() == 5


def test_find_leads_respects_the_filters_and_limit(engine) -> None:
    world = build_world(engine)
    only_rival = Filters(start=MONTH.start, end=MONTH.end, brand_ids=(world.rival,))
    assert leads.find_leads(engine=engine, filters=only_rival) == 2  # Bob's and Eve's posts
    assert leads.find_leads(engine=engine, filters=MONTH, limit=1) == 0  # the newest post is no lead
    assert leads.find_leads(engine=engine, filters=MONTH) == 1  # Alice's purchase intent


def test_move_through_the_funnel_with_an_audit_trail(engine) -> None:
    build_world(engine)
    leads.find_leads(engine=engine, filters=MONTH)
    ids = sorted(int(i) for i in leads.list_leads(engine=engine)["id"])
    a, b, c = ids
    assert leads.move(engine=engine, lead_ids=[a, b, c], stage="qualified", user="sam").changed == 3
    done = leads.move(engine=engine, lead_ids=[a, b], stage="won", user="sam", value=100)
    assert done.changed == 0 and set(done.skipped) == {a, b} and "contacted" in done.skipped[a]
    leads.move(engine=engine, lead_ids=[a, b], stage="contacted", user="sam", assignee="kim")
    assert leads.move(engine=engine, lead_ids=[a], stage="won", user="sam", value=1200.5).changed == 1
    assert leads.move(engine=engine, lead_ids=[b], stage="lost", user="sam").changed == 1
    again = leads.move(engine=engine, lead_ids=[a], stage="lost", user="sam")
    assert again.changed == 0 and "closed" in again.skipped[a]
    funnel = leads.funnel(engine=engine, filters=MONTH).set_index("stage")
    assert funnel["leads"].to_dict() == {"new": 0, "qualified": 1, "contacted": 0, "won": 1, "lost": 1}
    assert funnel["reached"].to_dict() == {"new": 3, "qualified": 2, "contacted": 1, "won": 1, "lost": 1}
    assert funnel.loc["won", "value"] == 1200.5
    table = leads.list_leads(engine=engine).set_index("id")
    assert table.loc[a, "assignee"] == "kim" and table.loc[a, "value"] == 1200.5
    with engine.connect() as conn:
        audit = conn.execute(
            sa.select(
                AuditLog.__table__.c.entity_id, AuditLog.__table__.c.detail, AuditLog.__table__.c.username
            )
            .where(AuditLog.__table__.c.action == "lead_stage")
            .order_by(AuditLog.__table__.c.id)
        ).all()
    assert len(audit) == 3 + 2 + 1 + 1
    assert audit[-2][0] == str(a) and audit[-2][1]["from"] == "contacted" and audit[-2][1]["to"] == "won"
    assert {row[2] for row in audit} == {"sam"}
    with pytest.raises(ScrmError, match="Unknown stage"):
        leads.move(engine=engine, lead_ids=[a], stage="maybe", user="sam")
    with pytest.raises(ScrmError, match="who you are"):
        leads.move(engine=engine, lead_ids=[a], stage="lost", user=" ")
    with pytest.raises(ScrmError, match="value"):
        leads.move(engine=engine, lead_ids=[c], stage="contacted", user="sam", value=-1)
    with pytest.raises(NotFoundError):
        leads.move(engine=engine, lead_ids=[999_999], stage="lost", user="sam")


def test_conversion_by_brand_source_and_kind(engine) -> None:
    build_world(engine)
    leads.find_leads(engine=engine, filters=MONTH)
    table = leads.list_leads(engine=engine).set_index("kind")
    switching, complaint = int(table.loc["switching", "id"]), int(table.loc["competitor_complaint", "id"])
    for stage in ("qualified", "contacted"):
        leads.move(engine=engine, lead_ids=[switching, complaint], stage=stage, user="sam")
    leads.move(engine=engine, lead_ids=[switching], stage="won", user="sam", value=500)
    leads.move(engine=engine, lead_ids=[complaint], stage="lost", user="sam")
    brand = leads.conversion(engine=engine, filters=MONTH, by="brand").set_index("brand")
    assert brand.loc["Rival", ["leads", "open", "won", "lost"]].tolist() == [2, 0, 1, 1]
    assert brand.loc["Rival", "conversion"] == 50 and brand.loc["Rival", "win_rate"] == 50
    assert brand.loc["Rival", "value_won"] == 500
    assert brand.loc["Acme Bank", "leads"] == 1 and brand["win_rate"].isna()["Acme Bank"]
    source = leads.conversion(engine=engine, filters=MONTH, by="source").set_index("source")
    assert source.loc["reddit", "won"] == 1 and source.loc["twitter", "leads"] == 2
    kind = leads.conversion(engine=engine, filters=MONTH, by="kind").set_index("kind")
    assert kind.loc["competitor_complaint", "lost"] == 1
    # The period and platforms filter by the post, brands by the lead's brand.
    reddit = Filters(start=MONTH.start, end=MONTH.end, platforms=("reddit",))
    assert leads.funnel(engine=engine, filters=reddit)["leads"].sum() == 1
    week = Filters(start=END - timedelta(days=3), end=END)
    assert leads.funnel(engine=engine, filters=week)["leads"].sum() == 1  # Eve's complaint, a day old
    with pytest.raises(ScrmError, match="Unknown grouping"):
        leads.conversion(engine=engine, filters=MONTH, by="moon")


def test_export_is_formula_safe(engine, tmp_path) -> None:
    build_world(engine)
    add_posts(engine, ['=HYPERLINK("http://evil") looking for a new bank at Acme'])
    leads.find_leads(engine=engine, filters=MONTH)
    out = tmp_path / "leads.csv"
    n = leads.export_leads_csv(out, engine=engine, filters=MONTH)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert n == len(rows) == 4
    assert list(rows[0]) == list(leads.EXPORT_COLUMNS)
    hostile = next(r for r in rows if "HYPERLINK" in r["text"])
    assert hostile["text"].startswith("'=HYPERLINK")
    assert all(not r[c].startswith(("=", "+", "-", "@")) for r in rows for c in r)
    assert leads.leads_csv_bytes(engine=engine, filters=MONTH) == out.read_bytes()


def test_funnel_figure(engine) -> None:
    build_world(engine)
    leads.find_leads(engine=engine, filters=MONTH)
    fig = leads.funnel_figure(leads.funnel(engine=engine, filters=MONTH))
    assert list(fig.data[0].y) == ["new", "qualified", "contacted", "won"]
    assert list(fig.data[0].x) == [3, 0, 0, 0]
    assert "0 lost" in fig.layout.title.text


def test_cli_leads(engine, tmp_path, capsys) -> None:
    build_world(engine)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "leads", "find", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stored"] == 3
    assert main(["--database-url", url, "leads", "find", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stored"] == 0
    assert main(["--database-url", url, "leads", "list", "--kind", "switching", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["customer_ref"] for r in listed] == ["C-002"]
    assert main(["--database-url", url, "leads", "list"]) == 0
    assert "competitor_complaint" in capsys.readouterr().out
    out = tmp_path / "l.csv"
    assert main(["--database-url", url, "leads", "export", "--out", str(out)]) == 0
    assert "Wrote 3 leads" in capsys.readouterr().out
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4
    assert main(["--database-url", url, "leads", "list", "--since", "not a date"]) == 2
    assert "Bad --since" in capsys.readouterr().err


def test_the_demo_comes_with_leads(memory_engine) -> None:
    from scrm.ingest.demo import load_demo

    end = datetime(2026, 11, 24, 12, tzinfo=UTC)  # a fixed end: the same demo on every run
    load_demo(engine=memory_engine, mentions=3000, customers=1000, end=end)
    found = leads.list_leads(engine=memory_engine, limit=10_000)
    assert len(found) > 20
    assert set(found["kind"]) <= set(leads.KINDS) and "purchase_intent" in set(found["kind"])
    # Leaving Northwind (our brand) is churn, never a lead; leads about leaving are a competitor's.
    churn = found[found["kind"] != "purchase_intent"]
    assert not churn.empty and "Northwind Bank" not in set(churn["brand"])
    assert found["customer_ref"].ne("").any()  # linked before the leads were found

"""Alert rules and engine on hand-built mentions with known incidents and known quiet periods."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from scrm import alerts
from scrm.alerts import (
    ALERT_LIST_KEYS,
    SLA_TARGETS,
    add_rule,
    customer_value_for_authors,
    default_rules,
    delete_rule,
    evaluate,
    list_alerts,
    list_rules,
    priority_for,
    update_rule,
    validate_params,
)
from scrm.brands import add_brand
from scrm.cli import main
from scrm.exceptions import NotFoundError, ScrmError
from scrm.ingest.pipeline import ingest_mentions
from scrm.models import (
    Alert,
    AlertEvent,
    AlertMention,
    AlertRule,
    Author,
    BrandAccount,
    Customer,
    Mention,
    MentionMetrics,
    SocialIdentity,
)
from tests.factories import T0, add_activity, csv_bytes, mention, write

NEG = "acme is terrible, awful service, I hate it"
POS = "acme is great, love it"
NEU = "acme opens at nine"
ROOT = Path(__file__).resolve().parent.parent
H = timedelta(hours=1)


@pytest.fixture
def acme(engine):
    add_brand(engine=engine, name="Acme", query="acme", is_own=True)
    return engine


def post(i: int, text: str, at: datetime, *, author: str = "", followers: int = 100, **kw):
    return mention(i, text=text, created_at=at, author=author or f"user{i}", followers=followers, **kw)


def ingest(engine, posts, **kw):
    return ingest_mentions(posts, engine=engine, source="test", workers=1, alerts=False, **kw)


def rows(engine, table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table.__table__)).mappings()]


def grouped(engine, alert_id: int) -> set[str]:
    """External ids of an alert's mentions."""
    m, am = Mention.__table__, AlertMention.__table__
    with engine.connect() as conn:
        stmt = sa.select(m.c.external_id).join(am, am.c.mention_id == m.c.id).where(am.c.alert_id == alert_id)
        return set(conn.execute(stmt).scalars())


# -- rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("nonsense", {}, "Unknown alert kind"),
        ("negative_influencer", {}, "needs min_reach or min_engagement"),
        (
            "negative_influencer",
            {"min_reach": -5},
            "min_reach of a negative_influencer rule must be at least 1",
        ),
        ("negative_influencer", {"min_reach": "lots"}, "must be a number"),
        ("negative_influencer", {"min_reach": True}, "must be a number"),
        ("negative_influencer", {"min_reach": 10.5}, "whole number"),
        ("negative_influencer", {"min_reach": 10, "colour": "red"}, "Unknown parameter 'colour'"),
        ("escalation", {"min_velocity": 0}, "min_velocity"),
        ("escalation", {"min_engagement": -1}, "cannot be negative"),
        ("volume_spike", {"k": -1}, "k of a volume_spike rule cannot be negative"),
        ("volume_spike", {"k": float("nan")}, "finite"),
        ("volume_spike", {"window_hours": 200, "baseline_hours": 168}, "at most 168"),
        ("volume_spike", {"window_hours": 48, "baseline_hours": 48}, "must be shorter than the baseline"),
        ("volume_spike", {"baseline_hours": 12}, "at least 24"),
        ("negative_share_spike", {"min_count": 0}, "at least 1"),
        ("keyword", {}, "needs keywords"),
        ("keyword", {"keywords": []}, "at least one word"),
        ("keyword", {"keywords": ["", "  "]}, "at least one word"),
        ("keyword", {"keywords": ["!!!"]}, "no letters or digits"),
        ("keyword", {"keywords": ["refund"], "negative_only": "maybe"}, "true or false"),
    ],
)
def test_impossible_parameters_are_refused(kind: str, params: dict, message: str) -> None:
    with pytest.raises(ScrmError, match=message):
        validate_params(kind, params)


def test_parameters_are_completed_and_coerced() -> None:
    assert validate_params("volume_spike", {"k": "2.5", "min_count": "30"}) == {
        "window_hours": 1,
        "baseline_hours": 168,
        "k": 2.5,
        "min_count": 30,
    }
    assert validate_params(
        "keyword", {"keywords": "Refund, data  breach,refund,hack*", "negative_only": "no"}
    ) == {
        "keywords": ["refund", "data breach", "hack*"],
        "negative_only": False,
    }


def test_rule_management_is_validated_and_audited(acme) -> None:
    engine = acme
    rule = add_rule(
        engine=engine,
        name="big",
        kind="negative_influencer",
        brand="acme",
        params={"min_reach": 5},
        user="ann",
    )
    assert (rule.brand_id, rule.params, rule.cooldown_minutes, rule.created_by) == (
        1,
        {"min_reach": 5},
        360,
        "ann",
    )
    with pytest.raises(ScrmError, match="cooldown"):
        add_rule(
            engine=engine, name="x", kind="keyword", params={"keywords": "a"}, cooldown_minutes=-1, user="ann"
        )
    with pytest.raises(ScrmError, match="needs a name"):
        add_rule(engine=engine, name=" ", kind="keyword", params={"keywords": "a"}, user="ann")
    with pytest.raises(NotFoundError, match="No brand"):
        add_rule(engine=engine, name="x", kind="keyword", brand="nope", params={"keywords": "a"}, user="ann")
    changed = update_rule(
        engine=engine, rule_id=rule.id, user="bob", params={"min_engagement": 7}, enabled=False
    )
    assert (changed.params, changed.enabled, changed.brand_id) == ({"min_engagement": 7}, False, 1)
    assert update_rule(engine=engine, rule_id=rule.id, user="bob", brand=None).brand_id is None
    with pytest.raises(ScrmError, match="k of a volume_spike"):
        vol = add_rule(engine=engine, name="vol", kind="volume_spike", params={}, user="ann")
        update_rule(engine=engine, rule_id=vol.id, user="bob", params={"k": -2})
    assert [r.name for r in list_rules(engine=engine)] == ["big", "vol"]
    assert delete_rule(engine=engine, rule_id=rule.id, user="bob") == 0
    with pytest.raises(NotFoundError):
        delete_rule(engine=engine, rule_id=rule.id, user="bob")
    from scrm.models import AuditLog

    actions = [(r["username"], r["action"]) for r in rows(engine, AuditLog)]
    assert actions[:2] == [("ann", "alert_rule_add"), ("bob", "alert_rule_update")]
    assert actions[-1] == ("bob", "alert_rule_delete")


def test_default_rules_per_own_brand_are_created_once(engine) -> None:
    with pytest.raises(ScrmError, match="No own brand"):
        default_rules(engine=engine, user="system")
    add_brand(engine=engine, name="Acme", is_own=True)
    add_brand(engine=engine, name="Rival")
    created = default_rules(engine=engine, user="system")
    assert sorted(r.kind for r in created) == sorted(alerts.PARAMS)
    assert {r.brand_id for r in created} == {1}
    assert default_rules(engine=engine, user="system") == []


# -- rule kinds ------------------------------------------------------------------------------


def test_negative_influencer_bursts_and_quiet_posts(acme) -> None:
    engine = acme
    quiet = [post(i, NEG, T0 + i * 10 * timedelta(minutes=1)) for i in range(20)]  # small authors
    quiet.append(post(20, POS, T0 + 3 * H, author="star", followers=500_000))  # big, but positive
    quiet.append(post(21, NEG, T0 + 4 * H, author="northwindhelp", followers=900_000))  # the brand's own
    incident = [
        post(30, NEG, T0 + 10 * H, author="star", followers=500_000),
        post(31, NEG, T0 + 12 * H, author="loud", followers=50, likes=5_000),  # viral post
        post(32, NEG, T0 + 30 * H, author="star", followers=500_000),  # 18 h later: a new incident
    ]
    ingest(engine, quiet + incident)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(BrandAccount.__table__).values(brand_id=1, platform="twitter", handle="northwindhelp")
        )
    add_rule(
        engine=engine,
        name="influencers",
        kind="negative_influencer",
        brand="Acme",
        params={"min_reach": 100_000, "min_engagement": 1_000},
        user="t",
    )
    result = evaluate(engine=engine)
    assert (result.rules, result.raised, result.grouped) == (1, 2, 3)
    first, second = sorted(list_alerts(engine=engine), key=lambda a: a["onset_at"])
    assert grouped(engine, first["id"]) == {"m30", "m31"} and grouped(engine, second["id"]) == {"m32"}
    assert first["onset_at"] == T0 + 10 * H and first["kind"] == "negative_influencer"
    assert first["title"].startswith("Acme: negative post by @star (500k followers) and 1 more")


def test_fifty_negative_posts_of_one_incident_raise_one_alert(acme) -> None:
    engine = acme
    add_rule(
        engine=engine, name="watch", kind="keyword", brand="Acme", params={"keywords": ["boycott"]}, user="t"
    )
    posts = [post(i, "boycott acme, terrible fees", T0 + i * timedelta(minutes=12)) for i in range(50)]
    ingest(engine, posts[:20])
    first = evaluate(engine=engine)
    assert (first.raised, first.updated, first.grouped) == (1, 0, 20)
    ingest(engine, posts[20:])  # the same incident goes on
    later = evaluate(engine=engine)
    assert (later.raised, later.updated, later.grouped) == (0, 1, 30)
    (alert,) = list_alerts(engine=engine)
    assert alert["mentions"] == 50 and alert["onset_at"] == T0
    events = [(e["action"], e["username"]) for e in rows(engine, AlertEvent)]
    assert events == [("raised", "system"), ("updated", "system")]
    assert "+30 mentions" in rows(engine, AlertEvent)[1]["note"]
    # after the cooldown (6 h without a post) the next post is a new incident
    ingest(engine, [post(99, "boycott acme now, awful", T0 + 10 * H + 7 * H)])
    assert evaluate(engine=engine).raised == 1


def test_evaluating_twice_raises_nothing_new(acme) -> None:
    engine = acme
    add_rule(engine=engine, name="watch", kind="keyword", params={"keywords": ["boycott"]}, user="t")
    add_rule(engine=engine, name="big", kind="negative_influencer", params={"min_reach": 1000}, user="t")
    ingest(engine, [post(i, "boycott acme, terrible fees", T0 + i * H, followers=5000) for i in range(5)])
    first = evaluate(engine=engine)
    assert (first.raised, first.rules) == (1, 2)  # two rules, one incident
    with engine.connect() as conn:
        before = conn.execute(sa.select(Alert.__table__)).mappings().all()
    for again in (evaluate(engine=engine), evaluate(engine=engine, since=T0 - H, until=T0 + 10 * H)):
        assert (again.raised, again.updated, again.grouped) == (0, 0, 0)
    with engine.connect() as conn:
        assert conn.execute(sa.select(Alert.__table__)).mappings().all() == before
    assert len(rows(engine, AlertEvent)) == 1
    (alert,) = rows(engine, Alert)
    assert {r["name"] for r in alert["detail"]["rules"].values()} == {"watch", "big"}
    with engine.connect() as conn:
        marks = conn.execute(sa.select(AlertRule.__table__.c.checked_mention_id)).scalars().all()
        newest = conn.execute(sa.select(sa.func.max(Mention.__table__.c.id))).scalar_one()
    assert marks == [newest, newest]


def test_keyword_rule_matches_whole_words_and_phrases(acme) -> None:
    engine = acme
    texts = {
        "m1": "acme refund please, this is awful",
        "m2": "acme refunded me, awful",
        "m3": "acme data breach, awful",
        "m4": "acme breach of data, awful",
        "m5": "acme hacked? awful",
        "m6": "acme hacking everything, great stuff",  # positive: left out when negative only
    }
    ingest(engine, [post(int(k[1:]), t, T0 + int(k[1:]) * timedelta(minutes=5)) for k, t in texts.items()])
    add_rule(
        engine=engine,
        name="watch",
        kind="keyword",
        brand="Acme",
        params={"keywords": "refund, data breach, hack*", "negative_only": True},
        user="t",
    )
    assert evaluate(engine=engine).raised == 1
    (alert,) = list_alerts(engine=engine)
    assert grouped(engine, alert["id"]) == {"m1", "m3", "m5"}
    assert rows(engine, Alert)[0]["detail"]["signals"]["keyword"]["keywords"] == [
        "data breach",
        "hack*",
        "refund",
    ]


def _hourly(brand: str, start: datetime, hours: int, per_hour, label_of=lambda h, i: "neutral"):
    out = []
    for h in range(hours):
        for i in range(per_hour(h)):
            out.append(
                (
                    brand,
                    start + h * H + timedelta(minutes=(i * 59) // max(per_hour(h), 1)),
                    label_of(h, i),
                    100,
                    1,
                )
            )
    return out


def test_volume_spike_from_the_hourly_roll_up(acme) -> None:
    engine = acme
    start = T0.replace(hour=0)
    spike = 3 * 24 + 10  # day 3, 10:00
    add_activity(engine, _hourly("Acme", start, 4 * 24, lambda h: 60 if h == spike else 5))
    add_rule(
        engine=engine, name="vol", kind="volume_spike", brand="Acme", params={"baseline_hours": 48}, user="t"
    )
    result = evaluate(engine=engine, replay=True)
    assert result.raised == 1
    (alert,) = list_alerts(engine=engine)
    assert alert["kind"] == "volume_spike" and alert["mentions"] == 60
    assert alert["onset_at"] == start + spike * H
    # replay: raised when the hour's count passed mean + 3·sd (5 + 3·√5 ≈ 11.7) and 20: the 20th post
    assert alert["raised_at"] == start + spike * H + timedelta(minutes=(19 * 59) // 60)
    assert alert["sla_due_at"] == alert["raised_at"] + SLA_TARGETS[int(alert["priority"][1])]
    detail = rows(engine, Alert)[0]["detail"]
    assert detail["signals"]["volume_spike"]["hours"] == [int((start + spike * H).timestamp())]
    assert detail["priority"]["inputs"]["mentions_per_hour"] == 60


def test_negative_share_spike_needs_its_minimum_count(acme) -> None:
    engine = acme
    start = T0.replace(hour=0)
    spike, small = 3 * 24 + 14, 3 * 24 + 3

    def label(h: int, i: int) -> str:
        if h == spike:
            return "negative" if i < 11 else "neutral"
        if h == small:
            return "negative"  # 100% negative, but only 3 posts
        return "negative" if i < 2 else "positive"

    add_activity(
        engine,
        _hourly("Acme", start, 4 * 24, lambda h: 3 if h == small else (12 if h == spike else 10), label),
    )
    add_rule(
        engine=engine,
        name="share",
        kind="negative_share_spike",
        brand="Acme",
        params={"baseline_hours": 48, "min_count": 10},
        user="t",
    )
    assert evaluate(engine=engine).raised == 1
    (alert,) = rows(engine, Alert)
    facts = alert["detail"]["signals"]["negative_share_spike"]
    assert facts["hours"] == [int((start + spike * H).timestamp())]
    assert facts["max_share"] == pytest.approx(91.7, abs=0.1) and facts["baseline_share"] < 25
    assert len(grouped(engine, alert["id"])) == 11  # the window's negative posts
    add_activity(engine, _hourly("Acme", start + 4 * 24 * H, 2, lambda h: 10, label))  # quiet hours
    assert evaluate(engine=engine).raised == 0


def test_escalation_velocity_from_two_observations(acme) -> None:
    engine = acme
    ingest(engine, [post(1, NEG, T0, likes=10), post(2, NEG, T0, likes=10), post(3, POS, T0, likes=10)])
    observations = rows(engine, MentionMetrics)
    assert len(observations) == 3 and {o["engagement"] for o in observations} == {10}
    mm = MentionMetrics.__table__
    with engine.begin() as conn:
        conn.execute(sa.delete(mm))
        conn.execute(
            sa.insert(mm),
            [
                {"mention_id": 1, "observed_at": T0 + H, "engagement": 100, "reach": 1},
                {"mention_id": 1, "observed_at": T0 + 3 * H, "engagement": 700, "reach": 1},  # +300/h
                {"mention_id": 2, "observed_at": T0 + H, "engagement": 100, "reach": 1},
                {"mention_id": 2, "observed_at": T0 + 3 * H, "engagement": 400, "reach": 1},  # +150/h
                {"mention_id": 3, "observed_at": T0 + H, "engagement": 100, "reach": 1},
                {"mention_id": 3, "observed_at": T0 + 3 * H, "engagement": 9000, "reach": 1},  # positive
            ],
        )
    add_rule(
        engine=engine,
        name="fast",
        kind="escalation",
        brand="Acme",
        params={"min_velocity": 250, "min_engagement": 500},
        user="t",
    )
    assert evaluate(engine=engine).raised == 1
    (alert,) = rows(engine, Alert)
    assert grouped(engine, alert["id"]) == {"m1"} and alert["onset_at"] == T0  # the post's time
    assert alert["detail"]["signals"]["escalation"]["velocity"] == 300.0
    assert alert["detail"]["priority"]["inputs"]["engagement_per_hour"] == 300.0
    # a newer import observes the post again: the pipeline records it, the alert takes it in
    ingest(engine, [post(1, NEG, T0, likes=5000)])
    assert len(rows(engine, MentionMetrics)) == 7
    assert evaluate(engine=engine).raised == 0


def test_signals_of_several_rules_make_one_incident_and_priority(acme) -> None:
    engine = acme
    with engine.begin() as conn:
        cid = conn.execute(
            sa.insert(Customer.__table__).values(
                crm_ref="C1", lifetime_value=50_000.0, attributes={}, created_at=T0
            )
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(SocialIdentity.__table__).values(
                platform="twitter", handle="vip", customer_id=cid, linked_at=T0
            )
        )
    add_rule(engine=engine, name="watch", kind="keyword", params={"keywords": ["boycott"]}, user="t")
    add_rule(engine=engine, name="big", kind="negative_influencer", params={"min_reach": 100_000}, user="t")
    posts = [post(1, NEG, T0, author="star", followers=1_000_000)]
    posts += [
        post(10 + i, "boycott acme, terrible fees", T0 + (i + 1) * timedelta(minutes=1), author="vip")
        for i in range(10)
    ]
    ingest(engine, posts)
    assert evaluate(engine=engine).raised == 1
    (alert,) = rows(engine, Alert)
    detail = alert["detail"]
    assert alert["kind"] == "negative_influencer" and set(detail["signals"]) == {
        "negative_influencer",
        "keyword",
    }
    assert detail["stats"]["customer_value"] == 50_000.0
    inputs = detail["priority"]["inputs"]
    expected = priority_for(
        reach=inputs["reach"],
        negative_share=inputs["negative_share"],
        mentions_per_hour=inputs["mentions_per_hour"],
        customer_value=inputs["customer_value"],
    )
    assert alert["priority"] == expected.priority == 1 and detail["priority"]["parts"] == expected.parts
    with engine.connect() as conn:
        ids = conn.execute(sa.select(Author.__table__.c.id)).scalars().all()
    assert customer_value_for_authors(engine=engine, author_ids=ids) == 50_000.0
    assert customer_value_for_authors(engine=engine, author_ids=[]) == 0.0


@pytest.mark.parametrize(
    ("figures", "parts", "priority"),
    [
        ({"reach": 1e6, "negative_share": 1.0, "mentions_per_hour": 100}, (25, 25, 25, 0), 1),
        ({"reach": 10**4.5, "negative_share": 0.5, "mentions_per_hour": 10}, (12.5, 12.5, 12.5, 0), 3),
        (
            {"reach": 500, "negative_share": 1.0, "mentions_per_hour": 1, "customer_value": 100},
            (0, 25, 0, 0),
            4,
        ),
        (
            {"reach": 1e9, "negative_share": 0.8, "mentions_per_hour": 1, "customer_value": 1e4},
            (25, 20, 0, 16.7),
            2,
        ),
        (
            {"reach": 1e6, "negative_share": 0.8, "mentions_per_hour": 0, "engagement_per_hour": 1e5},
            (25, 20, 25, 0),
            1,
        ),
    ],
)
def test_priority_formula_on_hand_set_numbers(figures: dict, parts: tuple, priority: int) -> None:
    result = priority_for(**figures)
    assert tuple(result.parts.values()) == pytest.approx(parts, abs=0.05)
    assert list(result.parts) == ["reach", "negativity", "velocity", "customer_value"]
    assert result.score == pytest.approx(sum(parts), abs=0.1)
    assert result.priority == priority and result.label == f"P{priority}"


def test_resolved_alerts_are_not_reopened(acme) -> None:
    engine = acme
    add_rule(engine=engine, name="watch", kind="keyword", params={"keywords": ["boycott"]}, user="t")
    ingest(engine, [post(1, "boycott acme, awful", T0), post(2, "boycott acme, awful", T0 + H)])
    evaluate(engine=engine)
    with engine.begin() as conn:
        conn.execute(sa.update(Alert.__table__).values(status="resolved"))
    assert evaluate(engine=engine, since=T0 - H).raised == 0  # old evidence stays with the resolved alert
    ingest(engine, [post(3, "boycott acme, awful", T0 + 2 * H)])
    assert evaluate(engine=engine).raised == 1  # new evidence: a new alert


def test_ingest_hook_runs_the_rules_and_can_be_switched_off(acme) -> None:
    engine = acme
    add_rule(engine=engine, name="watch", kind="keyword", params={"keywords": ["boycott"]}, user="t")
    ingest_mentions([post(1, "boycott acme, awful", T0)], engine=engine, source="t", workers=1, alerts=False)
    assert list_alerts(engine=engine) == []
    ingest_mentions([post(2, "boycott acme, awful", T0 + H)], engine=engine, source="t", workers=1)
    (alert,) = list_alerts(engine=engine)
    assert alert["mentions"] == 2 and alert["status"] == "new"
    with pytest.raises(ScrmError, match="Unknown status"):
        list_alerts(engine=engine, status="open")
    assert list_alerts(engine=engine, status="resolved") == []
    assert [a["id"] for a in list_alerts(engine=engine, brand="acme")] == [alert["id"]]
    with pytest.raises(ScrmError, match="has raised 1 alerts"):
        delete_rule(engine=engine, rule_id=1, user="t")
    assert delete_rule(engine=engine, rule_id=1, user="t", force=True) == 1
    assert list_alerts(engine=engine) == []


# -- command line ----------------------------------------------------------------------------


def cli(capsys, *args: str, db: Path, code: int = 0) -> str:
    """Run ``python -m scrm ARGS`` in this process; returns stdout (stderr must be empty on success)."""
    assert main(["--database-url", f"sqlite:///{db}", *args]) == code
    out, err = capsys.readouterr()
    assert code or not err.strip(), err
    return out if not code else err


def test_cli_alerts_json_keys_and_errors(tmp_path: Path, capsys) -> None:
    db = tmp_path / "s.db"
    cli(capsys, "brands", "add", "Acme", "--query", "acme", "--own", db=db)
    cli(
        capsys,
        "alerts",
        "rules",
        "add",
        "watch",
        "--kind",
        "keyword",
        "--brand",
        "Acme",
        "--param",
        "keywords=boycott",
        db=db,
    )
    bad = cli(
        capsys, "alerts", "rules", "add", "x", "--kind", "volume_spike", "--param", "k=-1", db=db, code=2
    )
    assert bad.startswith("error: ") and "k of a volume_spike" in bad
    assert json.loads(cli(capsys, "alerts", "rules", "list", "--json", db=db))[0]["params"] == {
        "keywords": ["boycott"],
        "negative_only": True,
    }
    data = [
        {"id": str(i), "text": "boycott acme, awful", "created_at": (T0 + i * H).isoformat()}
        for i in range(3)
    ]
    cli(capsys, "import", str(write(tmp_path / "a.csv", csv_bytes(data))), "--platform", "twitter", db=db)
    run = json.loads(cli(capsys, "alerts", "run", "--json", db=db))  # the import's hook raised it already
    assert {"rules", "raised", "updated", "grouped"} <= set(run) and (run["rules"], run["raised"]) == (1, 0)
    period = json.loads(
        cli(capsys, "alerts", "run", "--since", "2026-11-01", "--until", "2026-11-02", "--json", db=db)
    )
    assert period["raised"] == 0
    assert "Bad --since" in cli(capsys, "alerts", "run", "--since", "nope", db=db, code=2)
    for args in (
        ("alerts",),
        ("alerts", "run"),
        ("alerts", "list"),
        ("alerts", "rules"),
        ("alerts", "rules", "add"),
    ):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--help"])
        assert exit_.value.code == 0 and "usage:" in capsys.readouterr().out
    # as users run it: a separate process, JSON on stdout
    proc = subprocess.run(
        [sys.executable, "-m", "scrm", "--database-url", f"sqlite:///{db}", "alerts", "list", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert len(listed) == 1 and set(listed[0]) == set(ALERT_LIST_KEYS)
    assert listed[0]["priority"] in ("P1", "P2", "P3", "P4") and listed[0]["mentions"] == 3
    assert datetime.fromisoformat(listed[0]["onset_at"]) == T0.astimezone(UTC)

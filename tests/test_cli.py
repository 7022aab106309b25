"""The command line, run as users run it: ``python -m scrm`` in a subprocess."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from scrm.db import make_engine
from tests.factories import GOOD_ROWS, big_csv, csv_bytes, write

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, db: Path, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "scrm", "--database-url", f"sqlite:///{db}", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_import_json_output_and_exit_codes(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    path = write(
        tmp_path / "a.csv", csv_bytes([*GOOD_ROWS, {**GOOD_ROWS[0], "id": "9", "created_at": "nope"}])
    )
    out = json.loads(run("import", str(path), "--json", "--platform", "twitter", db=db).stdout)
    assert {k: out[k] for k in ("read", "stored", "updated", "duplicates", "rejected")} == {
        "read": 4,
        "stored": 3,
        "updated": 0,
        "duplicates": 0,
        "rejected": 1,
    }
    assert out["rejections"][0]["row"] == 5
    again = json.loads(run("import", str(path), "--json", "--platform", "twitter", db=db).stdout)
    assert (again["stored"], again["duplicates"]) == (0, 3)
    bad = run("import", str(write(tmp_path / "e.csv", b"")), db=db, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    missing = run("import", str(tmp_path / "nope.csv"), db=db, check=False)
    assert missing.returncode == 2 and "Cannot open" in missing.stderr


def test_brands_and_export_are_formula_safe(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    run("brands", "add", "Northwind", "--query", "northwind OR @northwind", "--own", db=db)
    bad = run("brands", "add", "Broken", "--query", "(northwind", db=db, check=False)
    assert bad.returncode == 2 and "position" in bad.stderr
    listed = json.loads(run("brands", "list", "--json", db=db).stdout)
    assert listed[0]["name"] == "Northwind" and listed[0]["own"] is True
    rows = [dict(r) for r in GOOD_ROWS]
    rows[0]["text"] = '=HYPERLINK("http://x","northwind")'
    rows[1]["text"] = "-2+3 northwind"
    run("import", str(write(tmp_path / "a.csv", csv_bytes(rows))), db=db)
    out = tmp_path / "out.csv"
    run("export", "mentions", "--out", str(out), "--brand", "Northwind", db=db)
    with open(out, encoding="utf-8", newline="") as f:
        data = list(csv.reader(f))
    assert data[0] == [
        "platform",
        "external_id",
        "brands",
        "author",
        "created_at",
        "text",
        "sentiment",
        "compound",
        "likes",
        "shares",
        "comments",
        "reach",
        "url",
    ]
    texts = {r[1]: r for r in data[1:]}
    assert set(texts) == {"1", "2", "3"}
    assert texts["1"][5] == "'" + rows[0]["text"] and texts["2"][5] == "'-2+3 northwind"
    assert texts["1"][2] == "Northwind" and texts["1"][4] == "2026-11-01T10:00:00Z"
    assert texts["1"][6] in ("positive", "neutral", "negative")
    run(
        "export",
        "mentions",
        "--out",
        str(out),
        "--since",
        "2026-11-01T10:30:00Z",
        "--until",
        "2026-11-01",
        db=db,
    )
    with open(out, encoding="utf-8") as f:
        assert len(f.read().strip().splitlines()) == 1 + 1  # only row 2 (19:00 UTC) in that window
    stats = json.loads(run("stats", "--json", db=db).stdout)
    assert stats["mentions"] == 3 and stats["per_brand"]["Northwind"] == 3


def test_help_on_each_command(tmp_path: Path) -> None:
    for cmd in ("init", "demo", "import", "brands", "score", "evaluate", "export", "stats"):
        proc = run(cmd, "--help", db=tmp_path / "x.db")
        assert "usage:" in proc.stdout


def test_killed_import_is_completed_by_a_rerun(tmp_path: Path) -> None:
    """kill -9 in the middle leaves whole batches; running the import again completes it."""
    db = tmp_path / "k.db"
    n = 30_000
    path = big_csv(tmp_path / "big.csv", n)
    run("brands", "add", "Northwind", "--query", "northwind", db=db)
    cmd = [sys.executable, "-m", "scrm", "--database-url", f"sqlite:///{db}", "import", str(path)]
    env = {**os.environ, "SCRM_BATCH_SIZE": "500", "SCRM_SCORE_WORKERS": "1"}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    engine = make_engine(f"sqlite:///{db}")
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            with engine.connect() as conn:
                stored = conn.execute(sa.text("SELECT count(*) FROM mention")).scalar_one()
        except sa.exc.OperationalError:
            continue
        if stored >= 2000:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < stored < n, "the import must be killed in the middle"
    with engine.connect() as conn:
        partial = conn.execute(sa.text("SELECT count(*) FROM mention")).scalar_one()
    assert partial % 500 == 0  # whole batches only
    out = json.loads(run("import", str(path), "--json", db=db).stdout)
    assert out["stored"] == n - partial and out["duplicates"] == partial
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mention")).scalar_one() == n
        assert conn.execute(sa.text("SELECT count(*) FROM mention_brand")).scalar_one() == n
        assert conn.execute(sa.text("SELECT count(DISTINCT external_id) FROM mention")).scalar_one() == n
        statuses = [r[0] for r in conn.execute(sa.text("SELECT status FROM importbatch ORDER BY id"))]
    assert statuses[-1] == "done"
    engine.dispose()


def test_customers_import_link_export_erase(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    rows = [
        {
            "crm_ref": "C1",
            "name": "Alice Martin",
            "email": "alice@example.com",
            "twitter": "@AliceM",
            "age": "30",
        },
        {"crm_ref": "C2", "name": "Wei Chen", "email": "wei.chen@example.com", "twitter": "", "age": "200"},
    ]
    path = write(tmp_path / "c.csv", csv_bytes(rows))
    out = json.loads(run("import-customers", str(path), "--json", db=db).stdout)
    assert {k: out[k] for k in ("read", "stored", "updated", "rejected")} == {
        "read": 2,
        "stored": 1,
        "updated": 0,
        "rejected": 1,
    }
    assert out["rejections"][0]["row"] == 3
    fixed = write(tmp_path / "d.csv", csv_bytes([rows[0], {**rows[1], "age": "41"}]))
    again = json.loads(
        run("import-customers", str(fixed), "--json", "--map", "crm_ref=crm_ref", db=db).stdout
    )
    assert (again["stored"], again["updated"], again["rejected"]) == (1, 0, 0)
    bad = run("import-customers", str(write(tmp_path / "e.csv", b"")), db=db, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    badmap = run("import-customers", str(path), "--map", "nope=x", db=db, check=False)
    assert badmap.returncode == 2 and "Unknown field" in badmap.stderr
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO author (platform, handle, display_name, followers, verified, location, "
                "profile_url, email) VALUES ('twitter', 'weichen', 'Wei Chen', 0, 0, '', '', '')"
            )
        )
    engine.dispose()
    linked = json.loads(run("link", "--json", db=db).stdout)
    assert {k: linked[k] for k in ("linked", "queued", "customers", "authors")} == {
        "linked": 0,
        "queued": 1,
        "customers": 2,
        "authors": 1,
    }
    ids = tmp_path / "ids.csv"
    run("export", "identities", "--out", str(ids), db=db)
    with open(ids, encoding="utf-8", newline="") as f:
        data = list(csv.reader(f))
    assert data == [
        ["platform", "handle", "customer_ref", "method", "confidence", "status"],
        ["twitter", "alicem", "C1", "crm", "1.0000", "linked"],
        ["twitter", "weichen", "C2", "fuzzy", data[2][4], "queued"],
    ]
    access = tmp_path / "c1.json"
    run("customers", "export", "C1", "--out", str(access), db=db)
    assert json.loads(access.read_text(encoding="utf-8"))["customer"]["email"] == "alice@example.com"
    run("customers", "erase", "C1", "--posts", "--user", "dpo", db=db)
    missing = run("customers", "export", "C1", "--out", str(access), db=db, check=False)
    assert missing.returncode == 2 and "No customer" in missing.stderr

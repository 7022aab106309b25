"""The Reddit collector against a Reddit-shaped server on 127.0.0.1 (tests/reddit_server.py).

praw and prawcore run unmodified: only their settings point them at the loopback server
(``oauth_url``/``reddit_url`` as ``http://127.0.0.1:PORT``). The server misbehaves on purpose
(429 with Retry-After, 500, slow answers, malformed JSON) and the crash test kills a real
``python -m scrm collect reddit`` process between two pages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.brands import add_brand, edit_brand
from scrm.cli import main
from scrm.config import get_settings, load_settings
from scrm.db import init_db, make_engine
from scrm.exceptions import ConfigError, NotFoundError, SourceError
from scrm.ingest import reddit
from scrm.ingest.reddit import collect_reddit, list_checkpoints, list_runs, search_string
from scrm.models import Author, Brand, Mention, MentionBrand, MentionMetrics, RedditCheckpoint
from tests.reddit_server import T0, RedditServer, comment, post, special_items

ROOT = Path(__file__).resolve().parent.parent
FAST = {  # retries and waits kept short; refresh off unless a test turns it on
    "score_workers": 1,
    "reddit_backoff": 0.01,
    "reddit_retries": 2,
    "reddit_timeout": 2.0,
    "reddit_refresh_hours": 0,
    "reddit_subreddits": "",  # whatever the machine's environment or secrets.toml say
    "reddit_search_subreddits": "",
}

QUIET_ENV = {  # the same for the command line's environment
    "SCRM_SCORE_WORKERS": "1",
    "SCRM_REDDIT_BACKOFF": "0.01",
    "SCRM_REDDIT_SUBREDDITS": "",
    "SCRM_REDDIT_SEARCH_SUBREDDITS": "",
}


@pytest.fixture
def server() -> Iterator[RedditServer]:
    with RedditServer() as srv:
        yield srv


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    """A temp-file SQLite database (for the tests that need no second backend)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'scrm.db'}")
    init_db(eng)
    yield eng
    eng.dispose()


def settings_for(server: RedditServer, **over: Any):
    env = {k.removeprefix("SCRM_").lower(): v for k, v in server.env().items()}
    return load_settings(**{**env, **FAST, **over})


def brands(engine: Engine) -> None:
    add_brand(engine=engine, name="Acme", query='acme OR "acme corp"', is_own=True)
    add_brand(engine=engine, name="Globex", query="globex NOT hiring")


def big(server: RedditServer, n: int = 350, sub: str = "big") -> None:
    """``n`` posts in r/``sub``, one a minute back from T0: b0 (newest) ... b{n-1}."""
    server.fake.add(
        *[post(f"b{i}", sub=sub, created=T0 - 60 * i, title=f"post {i} about things") for i in range(n)]
    )


def mentions(engine: Engine) -> dict[str, dict[str, Any]]:
    m = Mention.__table__
    with engine.connect() as conn:
        return {r["external_id"]: dict(r) for r in conn.execute(sa.select(m)).mappings()}


def links(engine: Engine) -> dict[str, set[str]]:
    m, mb, b = Mention.__table__, MentionBrand.__table__, Brand.__table__
    out: dict[str, set[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(m.c.external_id, b.c.name)
            .join(mb, mb.c.mention_id == m.c.id)
            .join(b, b.c.id == mb.c.brand_id)
        )
        for ext, name in rows:
            out.setdefault(ext, set()).add(name)
    return out


def checkpoint(engine: Engine, key: str) -> dict[str, Any]:
    c = RedditCheckpoint.__table__
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(c).where(c.c.key == key)).mappings().one())


def gets(server: RedditServer, path: str) -> list[str | None]:
    """The ``after`` of each GET whose path contains ``path``, in order."""
    return [r.params.get("after") for r in server.fake.requests(path) if r.method == "GET"]


# -- units -------------------------------------------------------------------------------------


def test_search_string_and_subreddit_names() -> None:
    assert search_string("Acme", 'acme OR "acme corp" NOT jobs') == 'acme OR "acme corp"'
    assert search_string("Northwind Bank", "") == '"northwind bank"'
    assert search_string("Nike", "nike* #justdoit") == "nike*"
    assert search_string("Tag", "#onlytag") == "tag"
    with pytest.raises(ConfigError, match="512"):
        search_string("Long", " OR ".join(f"word{i}" for i in range(100)))
    assert reddit.parse_subreddits("r/Python, /r/banking  personalfinance+python") == [
        "Python",
        "banking",
        "personalfinance",
    ]
    with pytest.raises(ValueError, match="not a subreddit"):
        reddit.parse_subreddits("no spaces-allowed!")
    with pytest.raises(ConfigError, match="SCRM_REDDIT_SUBREDDITS"):
        load_settings(reddit_subreddits="bad!name")
    assert load_settings(reddit_subreddits="r/a_b, cd").reddit_subreddits == "a_b,cd"


def test_settings_from_streamlit_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        'SCRM_REDDIT_USER_AGENT = "python:from-secrets:1.0"\n[reddit]\nclient_id = "from-secrets"\n'
        'client_secret = "s3cret"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    for name in ("SCRM_REDDIT_CLIENT_ID", "SCRM_REDDIT_CLIENT_SECRET", "SCRM_REDDIT_USER_AGENT"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert (s.reddit_client_id, s.reddit_client_secret, s.reddit_user_agent) == (
        "from-secrets",
        "s3cret",
        "python:from-secrets:1.0",
    )
    monkeypatch.setenv("SCRM_REDDIT_CLIENT_ID", "from-env")  # the environment wins
    assert load_settings().reddit_client_id == "from-env"
    shown = {r["setting"]: r["value"] for r in reddit.settings_view(load_settings())}
    assert "s3cret" not in json.dumps(shown) and shown["reddit_client_secret"].startswith("•")
    (tmp_path / ".streamlit" / "secrets.toml").write_text("not toml = = =", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"secrets\.toml"):
        load_settings()


# -- collection ------------------------------------------------------------------------------------


def test_first_run_maps_posts_comments_deleted_unicode_and_two_brands(
    engine: Engine, server: RedditServer
) -> None:
    brands(engine)
    posts, comments = special_items()
    server.fake.add(*posts, *comments, post("other", sub="elsewhere", created=T0, title="nothing to see"))
    result = collect_reddit(engine=engine, settings=settings_for(server, reddit_subreddits="test"))
    assert result.ok and result.status == "done", result.errors
    stored = mentions(engine)
    assert set(stored) == {"t3_sp1", "t3_sp2", "t3_sp3", "t3_sp4", "t1_sc3"}  # not r/elsewhere's post
    assert result.stored == 5 and result.skipped == 2  # the deleted and the removed comment
    sp2 = stored["t3_sp2"]
    assert sp2["text"] == "Acme 🚀 naïve café review — 日本語 too\n\nÇa marche très bien 😍👍"
    assert sp2["created_at"] == datetime.fromtimestamp(T0 + 200, UTC)
    assert (sp2["likes"], sp2["comments"], sp2["platform"]) == (7, 1, "reddit")
    assert sp2["url"] == server.url + posts[1]["permalink"]
    assert sp2["label"] == "positive" and sp2["source"] == "reddit"
    a = Author.__table__
    with engine.connect() as conn:
        handle = conn.execute(sa.select(a.c.handle).where(a.c.id == sp2["author_id"])).scalar_one()
        handles = set(conn.execute(sa.select(a.c.handle)).scalars())
    assert handle == "Zoë_the_tester" and "[deleted]" not in handles
    assert stored["t3_sp3"]["text"] == "Acme support answered me"  # [removed] body left out
    assert stored["t3_sp3"]["author_id"] is None and stored["t3_sp4"]["author_id"] is None
    assert stored["t3_sp4"]["likes"] == 0 and stored["t3_sp4"]["comments"] == 9  # score -4
    sc3 = stored["t1_sc3"]
    assert (sc3["text"], sc3["parent_external_id"]) == ("Acme all the way 🎉", "t1_sc9")
    assert links(engine)["t3_sp1"] == {"Acme", "Globex"}  # one row, both brands
    assert links(engine)["t3_sp2"] == {"Acme"}
    cp = checkpoint(engine, "new|test")
    assert (cp["high_water"], cp["cursor"], cp["run_head"]) == (T0 + 400, None, None)
    runs = list_runs(engine=engine)
    assert runs.loc[0, "status"] == "done" and runs.loc[0, "stored"] == 5 and runs.loc[0, "error"] == ""
    assert set(list_checkpoints(engine=engine)["kind"]) == {"search", "new", "comments"}


def test_incremental_run_reads_only_what_is_new(engine: Engine, server: RedditServer) -> None:
    brands(engine)
    server.fake.add(*[post(f"a{i}", created=T0 - 3600 * i, title=f"acme thing {i}") for i in range(30)])
    s = settings_for(server, reddit_subreddits="test")
    first = collect_reddit(engine=engine, settings=s)
    assert first.stored == 30
    before = len(server.fake.log)
    server.fake.add(*[post(f"n{i}", created=T0 + 3600 * (i + 1), title=f"acme news {i}") for i in range(3)])
    again = collect_reddit(engine=engine, settings=s)
    assert (again.stored, again.status) == (3, "done")
    # the search and r/test's new posts each read the 3 new posts and the newest old one (the overlap)
    assert again.fetched == 8 and again.duplicates == 5
    new_requests = server.fake.log[before:]
    assert [r.path for r in new_requests] == [
        "/api/v1/access_token",
        "/r/all/search",
        "/r/all/search",
        "/r/test/new",
        "/r/test/comments",
    ]
    assert all("after" not in r.params for r in new_requests)  # one page each: nothing older is read
    assert len(mentions(engine)) == 33


def test_pagination_follows_after(db: Engine, server: RedditServer) -> None:
    big(server, 250)
    server.fake.add(
        *[
            comment(f"c{i}", sub="big", created=T0 - 30 * i, body=f"comment {i}", link="b0")
            for i in range(120)
        ]
    )
    result = collect_reddit(engine=db, subreddits=["big"], settings=settings_for(server))
    assert result.ok and result.stored == 370 and result.fetched == 370
    assert gets(server, "/r/big/new") == [None, "t3_b99", "t3_b199"]
    assert gets(server, "/r/big/comments") == [None, "t1_c99"]
    assert [r.params["limit"] for r in server.fake.requests("/r/big/new")] == ["100"] * 3


def test_since_skips_older_items(db: Engine, server: RedditServer) -> None:
    big(server, 250)
    since = datetime.fromtimestamp(T0 - 600, UTC)
    result = collect_reddit(engine=db, subreddits=["big"], since=since, settings=settings_for(server))
    assert result.ok and set(mentions(db)) == {f"t3_b{i}" for i in range(10)}  # b10 is exactly 600 s old
    assert gets(server, "/r/big/new") == [None]  # the first page reached --since: no second page
    assert checkpoint(db, "new|big")["high_water"] == T0


def test_resume_after_the_process_is_killed_between_pages(tmp_path: Path, server: RedditServer) -> None:
    big(server)
    reached = threading.Event()
    server.fake.fail("/r/big/new", status=200, param=("after", "t3_b199"), delay=30, event=reached)
    url = f"sqlite:///{tmp_path / 'scrm.db'}"
    env = {**os.environ, **server.env(), **QUIET_ENV, "SCRM_REDDIT_REFRESH_HOURS": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scrm", "--database-url", url, "collect", "reddit", "--subreddit", "big"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert reached.wait(30), proc.stderr.read() if proc.poll() is not None else "no third page"
    finally:
        proc.kill()
        proc.wait()
    engine = make_engine(url)
    assert len(mentions(engine)) == 100  # page 1 committed; page 2 read but not stored
    cp = checkpoint(engine, "new|big")
    assert (cp["cursor"], cp["run_head"], cp["high_water"]) == ("t3_b99", T0, None)
    before = len(server.fake.log)
    result = collect_reddit(engine=engine, subreddits=["big"], settings=settings_for(server))
    assert result.ok, result.errors
    resumed = [r.params.get("after") for r in server.fake.log[before:] if r.path == "/r/big/new"]
    assert resumed[:3] == ["t3_b99", "t3_b199", "t3_b299"]  # on from the cursor, then the top
    assert resumed[3:] == [None]
    stored = mentions(engine)
    assert len(stored) == 350 and set(stored) == {f"t3_b{i}" for i in range(350)}  # no gap, no duplicate
    assert result.stored == 250
    assert result.listings[0]["resumed"] is True
    cp = checkpoint(engine, "new|big")
    assert (cp["cursor"], cp["high_water"]) == (None, T0)
    engine.dispose()


def test_a_500_between_pages_is_retried_reported_and_resumed(db: Engine, server: RedditServer) -> None:
    big(server)
    fault = server.fake.fail("/r/big/new", status=500, times=-1, param=("after", "t3_b199"))
    s = settings_for(server)
    result = collect_reddit(engine=db, subreddits=["big"], settings=s)
    assert result.status == "failed" and result.stored == 200 + 0  # the comments listing is empty
    assert result.errors == ["r/big new posts: HTTP 500 Internal Server Error, 3 attempts"]
    assert gets(server, "/r/big/new") == [None, "t3_b99", "t3_b199", "t3_b199", "t3_b199"]
    assert gets(server, "/r/big/comments") == [None]  # the next listing still ran
    cp = checkpoint(db, "new|big")
    assert cp["cursor"] == "t3_b199" and "HTTP 500" in cp["last_error"]
    assert list_runs(engine=db).loc[0, "error"] == result.errors[0]
    fault.times = 0
    again = collect_reddit(engine=db, subreddits=["big"], settings=s)
    assert again.ok and again.stored == 150 and len(mentions(db)) == 350
    assert checkpoint(db, "new|big")["last_error"] == ""


def test_a_500_once_is_retried(db: Engine, server: RedditServer) -> None:
    big(server, 5)
    server.fake.fail("/r/big/new", status=503, times=1)
    result = collect_reddit(engine=db, subreddits=["big"], settings=settings_for(server))
    assert result.ok and result.stored == 5 and gets(server, "/r/big/new") == [None, None]


def test_429_waits_for_retry_after(db: Engine, server: RedditServer) -> None:
    brands(db)
    server.fake.add(post("x1", created=T0, title="acme rocks"))
    server.fake.fail("/r/all/search", status=429, retry_after="1", times=1)
    started = time.monotonic()
    result = collect_reddit(engine=db, brands=["Acme"], settings=settings_for(server))
    assert result.ok and result.stored == 1
    first, second = server.fake.requests("/r/all/search")
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 1.0 and time.monotonic() - started < 5


def test_praw_paces_requests_by_the_ratelimit_headers(db: Engine, server: RedditServer) -> None:
    big(server, 150)
    server.fake.ratelimit_remaining, server.fake.ratelimit_reset = 1.0, 1  # next answer: 0 left for 1 s
    result = collect_reddit(engine=db, subreddits=["big"], settings=settings_for(server))
    assert result.ok and result.stored == 150
    page1, page2 = server.fake.requests("/r/big/new")
    assert page2.at - page1.at >= 0.9  # prawcore slept until the reset


def test_a_timeout_is_retried_then_reported(db: Engine, server: RedditServer) -> None:
    big(server, 3)
    server.fake.add(comment("k1", sub="big", created=T0, body="fine comment", link="b0"))
    server.fake.fail("/r/big/new", status=200, delay=1.5, times=-1)
    started = time.monotonic()
    result = collect_reddit(
        engine=db, subreddits=["big"], settings=settings_for(server, reddit_timeout=0.3, reddit_retries=1)
    )
    assert time.monotonic() - started < 5
    assert result.errors == ["r/big new posts: no answer within 0.3 s (ReadTimeout), 2 attempts"]
    assert result.stored == 1 and set(mentions(db)) == {"t1_k1"}  # the comments listing still ran


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"kind": "Listing", "data": {"children": [', "malformed response: not JSON"),
        (b'{"unexpected": true}', "malformed response: ValueError"),
        (b"", "malformed response: an empty body"),
    ],
)
def test_malformed_json_is_reported_and_what_was_stored_stays(
    db: Engine, server: RedditServer, body: bytes, message: str
) -> None:
    big(server, 250)
    fault = server.fake.fail("/r/big/new", status=200, body=body, param=("after", "t3_b99"))
    s = settings_for(server)
    result = collect_reddit(engine=db, subreddits=["big"], settings=s)
    assert result.status == "failed" and result.errors[0].startswith(f"r/big new posts: {message}")
    assert len(mentions(db)) == 100 and checkpoint(db, "new|big")["cursor"] == "t3_b99"
    assert fault.hits == 1
    again = collect_reddit(engine=db, subreddits=["big"], settings=s)
    assert again.ok and again.stored == 150 and len(mentions(db)) == 250


def test_a_run_is_bounded_in_requests_items_and_time(db: Engine, server: RedditServer) -> None:
    big(server)
    s = settings_for(server, reddit_max_requests=3)
    result = collect_reddit(engine=db, subreddits=["big"], settings=s)
    assert len(server.fake.log) == 3 and result.requests == 3  # the token and two pages
    assert result.status == "partial" and result.stopped == "the request limit (3 requests)"
    assert result.ok and len(mentions(db)) == 200
    limited = collect_reddit(engine=db, subreddits=["big"], limit=120, settings=settings_for(server))
    assert (limited.fetched, limited.stopped) == (120, "the item limit (120 items)")
    assert len(mentions(db)) == 320
    slow = server.fake.fail("/r/big", status=200, delay=0.4, times=-1)
    started = time.monotonic()
    timed = collect_reddit(
        engine=db, subreddits=["big"], settings=settings_for(server, reddit_max_seconds=1.0)
    )
    assert time.monotonic() - started < 2.5
    assert timed.stopped == "the time limit (1 s)" and timed.status == "partial" and timed.ok
    slow.times = 0
    rest = collect_reddit(engine=db, subreddits=["big"], settings=settings_for(server))
    assert rest.ok and len(mentions(db)) == 350


def test_updated_scores_refresh_metrics(engine: Engine, server: RedditServer) -> None:
    brands(engine)
    posts, comments = special_items()
    server.fake.add(*posts, *comments, post("old", created=T0 - 7200, title="acme from before"))
    s = settings_for(server, reddit_refresh_hours=24)
    collect_reddit(engine=engine, brands=["Acme", "Globex"], settings=s)
    assert mentions(engine)["t3_old"]["likes"] == 1
    server.fake.update("t3_old", score=120, num_comments=40)
    result = collect_reddit(engine=engine, brands=["Acme", "Globex"], settings=s)
    assert result.updated == 1 and result.refreshed >= 1 and result.stored == 0
    info = server.fake.requests("/api/info")
    assert info and "t3_old" in info[-1].params["id"]
    old = mentions(engine)["t3_old"]
    assert (old["likes"], old["comments"]) == (120, 40)
    mb, mm = MentionBrand.__table__, MentionMetrics.__table__
    with engine.connect() as conn:
        engagement = conn.execute(sa.select(mb.c.engagement).where(mb.c.mention_id == old["id"])).scalar_one()
        observed = conn.execute(
            sa.select(mm.c.engagement).where(mm.c.mention_id == old["id"]).order_by(mm.c.observed_at)
        ).scalars()
        assert list(observed) == [1, 160]
    assert engagement == 160


def test_a_changed_query_starts_its_search_over(db: Engine, server: RedditServer) -> None:
    brands(db)
    server.fake.add(
        post("q1", created=T0, title="acme one"), post("q2", created=T0 - 86400, title="roadrunner two")
    )
    s = settings_for(server)
    collect_reddit(engine=db, brands=["Acme"], settings=s)
    edit_brand(engine=db, name="Acme", query="acme OR roadrunner")
    result = collect_reddit(engine=db, brands=["Acme"], settings=s)
    assert result.stored == 1 and "t3_q2" in mentions(db)
    assert checkpoint(db, "search|1|all")["query"] == "acme OR roadrunner"


def test_configuration_errors(db: Engine, server: RedditServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("praw_client_id", "praw_client_secret", "praw_user_agent"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="Nothing to collect"):
        collect_reddit(engine=db, settings=settings_for(server))
    brands(db)
    with pytest.raises(ConfigError, match="SCRM_REDDIT_CLIENT_ID"):
        collect_reddit(engine=db, settings=settings_for(server, reddit_client_id=""))
    with pytest.raises(NotFoundError, match="Initech"):
        collect_reddit(engine=db, brands=["Initech"], settings=settings_for(server))
    with pytest.raises(SourceError, match="refused the credentials"):
        collect_reddit(engine=db, settings=settings_for(server, reddit_client_secret="wrong"))
    assert len(server.fake.requests("/api/v1/access_token")) == 1  # not once per listing
    run = list_runs(engine=db).iloc[0]
    assert run["status"] == "failed" and "refused the credentials" in run["error"]


# -- the command line and the Data page ----------------------------------------------------------------


def cli(*args: str, db_path: Path, server: RedditServer, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrm", "--database-url", f"sqlite:///{db_path}", "collect", "reddit", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **server.env(), **QUIET_ENV, **env},
        timeout=120,
    )


def test_cli_collect_summary_json_watch_and_exit_codes(
    tmp_path: Path, server: RedditServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cli.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    brands(engine)
    posts, comments = special_items()
    server.fake.add(*posts, *comments)
    server.fake.fail("/r/broken/", status=500, times=-1)
    args = (
        "--watch",
        "--interval",
        "0.1",
        "--runs",
        "2",
        "--json",
        "--brand",
        "Acme",
        "--subreddit",
        "broken",
    )
    watch = cli(*args, db_path=path, server=server)  # as cron or a terminal runs it
    assert watch.returncode == 1, watch.stderr  # a listing failed
    first, second = (json.loads(line) for line in watch.stdout.splitlines())  # one JSON line per run
    assert (first["run_id"], first["fetched"], first["stored"], first["status"]) == (1, 4, 4, "failed")
    assert first["errors"] == [
        "r/broken new posts: HTTP 500 Internal Server Error, 4 attempts",
        "r/broken new comments: HTTP 500 Internal Server Error, 4 attempts",
    ]
    assert (second["run_id"], second["stored"]) == (2, 0)
    assert watch.stderr.count("error: r/broken new posts: HTTP 500") == 2 and "Traceback" not in watch.stderr
    for name, value in {**server.env(), **QUIET_ENV}.items():
        monkeypatch.setenv(name, value)
    assert main(["--database-url", f"sqlite:///{path}", "collect", "reddit", "--subreddit", "test"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(
        "reddit run 3: fetched 7, stored 1, updated 0, duplicates 4, skipped 2, errors 0; "
    )
    engine.dispose()


def test_cli_configuration_errors_exit_2(
    tmp_path: Path, server: RedditServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    for name, value in QUIET_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SCRM_REDDIT_CLIENT_ID", "")
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["--database-url", url, "collect", "reddit", "--subreddit", "x1"]) == 2
    assert "SCRM_REDDIT_CLIENT_ID" in capsys.readouterr().err
    assert main(["--database-url", url, "collect", "reddit", "--since", "someday"]) == 2
    assert "Bad --since" in capsys.readouterr().err
    assert main(["--database-url", url, "collect", "reddit", "--subreddit", "bad name!"]) == 2
    assert "not a subreddit" in capsys.readouterr().err
    assert main(["--database-url", url, "collect", "reddit"]) == 2
    assert "Nothing to collect" in capsys.readouterr().err


def table(at: Any, column: str) -> Any:
    """The page's table that has ``column`` (tables without selection carry no key in AppTest)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def test_data_page_reddit_tab(tmp_path: Path, server: RedditServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    from scrm.ingest.pipeline import ingest_mentions
    from tests.factories import mention

    url = f"sqlite:///{tmp_path / 'page.db'}"
    engine = make_engine(url)
    init_db(engine)
    brands(engine)
    ingest_mentions(
        [mention(1, text="acme elsewhere")], engine=engine, source="test", alerts=False
    )  # no demo
    server.fake.add(
        post("pg1", created=T0, title="acme is great"), post("pg2", created=T0, title="globex fine")
    )
    env = {
        **server.env(),
        "SCRM_DATABASE_URL": url,
        "SCRM_SCORE_WORKERS": "1",
        "SCRM_REDDIT_SUBREDDITS": "test",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    init = PagesManager.__init__  # as tests/pages/conftest.py: app.py's st.navigation owns routing

    def init_without_legacy_pages(self: PagesManager, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_without_legacy_pages)
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.run()
        at.switch_page("pages/data.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert [t.label for t in at.tabs][-1] == "Reddit"
        shown = table(at, "setting")
        values = dict(zip(shown["setting"], shown["value"], strict=True))
        assert values["reddit_client_secret"].startswith("•") and "test-secret" not in shown.to_string()
        assert values["reddit_oauth_url"] == server.url
        assert any("No Reddit runs yet" in str(m.value) for m in at.info)
        at.button(key="data_reddit_collect").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("2 stored" in str(s.value) for s in at.success), [s.value for s in at.success]
        runs = table(at, "trigger")
        assert list(runs["status"]) == ["done"] and list(runs["trigger"]) == ["page"]
    finally:
        get_settings.cache_clear()
        st.cache_data.clear()
        st.cache_resource.clear()
        engine.dispose()

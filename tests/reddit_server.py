"""A Reddit-shaped HTTP server on 127.0.0.1 for the collector's tests and benchmark.

It speaks the small part of Reddit's API that praw uses for reading: the app-only OAuth
token (``POST /api/v1/access_token``, HTTP basic auth with the app's id and secret), then
bearer-authorised listings — ``/r/{sub}/search`` (and ``/search``), ``/r/{sub}/new``,
``/r/{sub}/comments``, ``/api/info?id=fullnames`` — as Listing JSON, newest first, paginated
with ``limit`` and ``after``, with ``x-ratelimit-*`` headers. Posts and comments are plain
dicts shaped like Reddit's ``data`` objects (:func:`post`, :func:`comment`); hand-written
special cases are in ``tests/data/reddit/special.json``.

``faults`` make it misbehave on purpose: a status (429 with ``Retry-After``, 500), a slow
answer (a client timeout), a malformed body, or an event set when a request arrives (the
crash test kills the collector then). Every request is logged with its time.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
TOKEN = "test-token-123"
SPECIAL = Path(__file__).resolve().parent / "data" / "reddit" / "special.json"
T0 = float(int(time.time()) // 3600 * 3600 - 6 * 3600)  # the fixtures' clock: a few hours ago


def post(
    id: str,
    *,
    sub: str = "test",
    created: float,
    title: str,
    selftext: str = "",
    author: str | None = "someone",
    score: int = 1,
    num_comments: int = 0,
) -> dict[str, Any]:
    """A submission's ``data`` as Reddit sends it."""
    return {
        "id": id,
        "name": f"t3_{id}",
        "title": title,
        "selftext": selftext,
        "author": author if author is not None else "[deleted]",
        "created_utc": created,
        "score": score,
        "ups": score,
        "num_comments": num_comments,
        "permalink": f"/r/{sub}/comments/{id}/{re.sub(r'[^a-z0-9]+', '_', title.lower())[:40]}/",
        "url": f"https://www.reddit.com/r/{sub}/comments/{id}/",
        "subreddit": sub,
        "subreddit_name_prefixed": f"r/{sub}",
        "over_18": False,
        "is_self": True,
    }


def comment(
    id: str,
    *,
    sub: str = "test",
    created: float,
    body: str,
    link: str,
    parent: str | None = None,
    author: str | None = "commenter",
    score: int = 1,
) -> dict[str, Any]:
    """A comment's ``data`` as Reddit sends it (``link`` is the post's id)."""
    return {
        "id": id,
        "name": f"t1_{id}",
        "body": body,
        "author": author if author is not None else "[deleted]",
        "created_utc": created,
        "score": score,
        "link_id": f"t3_{link}",
        "parent_id": parent or f"t3_{link}",
        "permalink": f"/r/{sub}/comments/{link}/x/{id}/",
        "subreddit": sub,
        "link_title": "a post",
    }


def special_items() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The hand-written cases: deleted authors and bodies, unicode and emoji, two brands."""
    data = json.loads(SPECIAL.read_text(encoding="utf-8"))
    posts = [post(**{**p, "created": T0 + p["created"]}) for p in data["posts"]]
    comments = [comment(**{**c, "created": T0 + c["created"]}) for c in data["comments"]]
    return posts, comments


@dataclass
class Fault:
    """Misbehave on requests whose path contains ``path`` (and whose query has ``param``)."""

    path: str
    status: int = 500
    times: int = 1  # how many matching requests (-1: all)
    retry_after: str | None = None
    delay: float = 0.0  # seconds before answering
    body: bytes | None = None  # a body instead of the normal one (with status 200: malformed)
    param: tuple[str, str] | None = None
    event: threading.Event | None = None  # set when a matching request arrives
    hits: int = 0


@dataclass
class Logged:
    method: str
    path: str
    params: dict[str, str]
    at: float
    status: int = 0


@dataclass
class FakeReddit:
    """The data served, the faults, the request log."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    ratelimit_remaining: float = 996.0  # x-ratelimit-remaining of the next answer, plus one
    ratelimit_reset: int = 300  # x-ratelimit-reset: seconds until the window starts again
    ratelimit_used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *items: dict[str, Any]) -> None:
        with self.lock:
            for item in items:
                (self.comments if item["name"].startswith("t1_") else self.posts).append(item)

    def update(self, fullname: str, **values: Any) -> None:
        with self.lock:
            for item in self.posts + self.comments:
                if item["name"] == fullname:
                    item.update(values)

    def fail(self, path: str, **kw: Any) -> Fault:
        fault = Fault(path, **kw)
        with self.lock:
            self.faults.append(fault)
        return fault

    def requests(self, path: str = "") -> list[Logged]:
        """Logged requests whose path contains ``path`` (the token request included for '')."""
        return [r for r in self.log if path in r.path]

    # -- answers -------------------------------------------------------------------------
    def _fault(self, path: str, params: dict[str, str]) -> Fault | None:
        with self.lock:
            for f in self.faults:
                wanted = f.param is None or params.get(f.param[0]) == f.param[1]
                if f.path in path and wanted and (f.times < 0 or f.hits < f.times):
                    f.hits += 1
                    return f
        return None

    def listing(self, path: str, params: dict[str, str]) -> dict[str, Any] | None:
        parts = [p for p in path.strip("/").split("/") if p]
        with self.lock:
            if parts == ["api", "info"]:
                wanted = [n for n in params.get("id", "").split(",") if n]
                by_name = {i["name"]: i for i in self.posts + self.comments}
                return _page([by_name[n] for n in wanted if n in by_name], None, 100)
            if parts == ["search"]:
                parts = ["r", "all", "search"]
            if len(parts) != 3 or parts[0] != "r":
                return None
            subs = {s.lower() for s in parts[1].split("+")}
            everywhere = "all" in subs
            if parts[2] == "comments":
                pool = self.comments
            elif parts[2] in ("new", "search"):
                pool = self.posts
            else:
                return None
            items = [i for i in pool if everywhere or i["subreddit"].lower() in subs]
            if parts[2] == "search":
                items = [i for i in items if _matches(params.get("q", ""), i)]
            items = sorted(items, key=lambda i: (i["created_utc"], i["name"]), reverse=True)
        return _page(items, params.get("after"), int(params.get("limit", 25)))


def _matches(query: str, item: dict[str, Any]) -> bool:
    text = (item.get("title", "") + " " + item.get("selftext", "")).lower()
    terms = [t.strip().strip('"').rstrip("*").lower() for t in query.split(" OR ")]
    return any(t and t in text for t in terms)


def _page(items: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    start = 0
    if after:
        names = [i["name"] for i in items]
        if after not in names:
            return _listing([], None)
        start = names.index(after) + 1
    chunk = items[start : start + min(max(limit, 1), 100)]
    more = start + len(chunk) < len(items)
    return _listing(chunk, chunk[-1]["name"] if more and chunk else None)


def _listing(items: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    children = [{"kind": i["name"][:2], "data": i} for i in items]
    return {
        "kind": "Listing",
        "data": {"after": after, "before": None, "dist": len(children), "children": children},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if self.headers.get("Connection", "").lower() == "close":  # the token request asks for it
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _answer(self, method: str) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()} if length else {}
        entry = Logged(method, split.path.rstrip("/") or "/", params, time.monotonic())
        with fake.lock:
            fake.log.append(entry)
        fault = fake._fault(split.path, params)
        if fault is not None:
            if fault.event is not None:
                fault.event.set()
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status != 200 or fault.body is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                entry.status = fault.status
                self._send(fault.status, fault.body if fault.body is not None else b'{"error": 500}', headers)
                return
        if method == "POST" and split.path.rstrip("/") == "/api/v1/access_token":
            auth = self.headers.get("Authorization", "")
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if auth != expected or form.get("grant_type") != "client_credentials":
                entry.status = 401
                self._send(401, b'{"message": "Unauthorized", "error": 401}')
                return
            entry.status = 200
            body = {"access_token": TOKEN, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
            self._send(200, json.dumps(body).encode())
            return
        if self.headers.get("Authorization") != f"bearer {TOKEN}":
            entry.status = 401
            self._send(401, b'{"message": "Unauthorized", "error": 401}')
            return
        listing = fake.listing(split.path, params) if method == "GET" else None
        if listing is None:
            entry.status = 404
            self._send(404, b'{"message": "Not Found", "error": 404}')
            return
        with fake.lock:
            if fake.ratelimit_remaining <= 0:  # the window was spent: a new one starts
                fake.ratelimit_remaining, fake.ratelimit_used = 996.0, 0
            fake.ratelimit_remaining -= 1
            fake.ratelimit_used += 1
            headers = {
                "x-ratelimit-remaining": f"{fake.ratelimit_remaining:.1f}",
                "x-ratelimit-used": str(fake.ratelimit_used),
                "x-ratelimit-reset": str(fake.ratelimit_reset),
            }
        entry.status = 200
        self._send(200, json.dumps(listing, ensure_ascii=False).encode("utf-8"), headers)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeReddit


class RedditServer:
    """``with RedditServer() as server:`` serves ``server.fake`` at ``server.url``."""

    def __init__(self, fake: FakeReddit | None = None) -> None:
        self.fake = fake or FakeReddit()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self.fake
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> RedditServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def env(self) -> dict[str, str]:
        """The settings that point scrm's collector at this server."""
        return {
            "SCRM_REDDIT_CLIENT_ID": CLIENT_ID,
            "SCRM_REDDIT_CLIENT_SECRET": CLIENT_SECRET,
            "SCRM_REDDIT_USER_AGENT": "python:scrm-tests:0.1 (by u/scrm)",
            "SCRM_REDDIT_OAUTH_URL": self.url,
            "SCRM_REDDIT_URL": self.url,
        }


def bench_data(fake: FakeReddit, *, posts: int, comments: int, sub: str = "bench", seed: int = 7) -> None:
    """Deterministic posts and comments for the benchmark: varied texts, one in ten about Acme."""
    import random

    rnd = random.Random(seed)
    moods = ["love it", "terrible support", "works fine", "never again", "great value", "meh", "so slow"]
    things = ["the app", "my card", "the branch", "their website", "customer service", "the new plan"]
    fake.ratelimit_remaining = 1e9  # no pacing: the benchmark measures scrm, not Reddit's limit
    fake.add(
        *[
            post(
                f"p{i}",
                sub=sub,
                created=T0 - 30 * i,
                title=f"{'Acme ' if i % 10 == 0 else ''}{rnd.choice(things)}: {rnd.choice(moods)}",
                selftext=" ".join(rnd.choice(moods) for _ in range(rnd.randint(0, 12))),
                author=f"user{rnd.randint(1, posts // 3 + 1)}",
                score=rnd.randint(-3, 500),
                num_comments=rnd.randint(0, 80),
            )
            for i in range(posts)
        ],
        *[
            comment(
                f"c{i}",
                sub=sub,
                created=T0 - 17 * i,
                body=f"{rnd.choice(moods)}, {rnd.choice(things)} {rnd.choice(moods)}",
                link=f"p{rnd.randrange(max(posts, 1))}",
                author=f"user{rnd.randint(1, comments // 3 + 1)}",
                score=rnd.randint(-3, 100),
            )
            for i in range(comments)
        ],
    )


def main() -> None:
    """Serve benchmark data in a process of its own: prints the URL, stops after --max-seconds."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--max-seconds", type=float, default=900, help="stop by itself after this long")
    args = parser.parse_args()
    fake = FakeReddit()
    bench_data(fake, posts=args.posts, comments=args.comments)
    with RedditServer(fake) as server:
        print(server.url, flush=True)
        time.sleep(args.max_seconds)


if __name__ == "__main__":
    main()

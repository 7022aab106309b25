"""Reddit collector: brand searches and monitored subreddits, through praw, into the ingest pipeline.

One run reads a set of *listings*, each newest first, 100 items a page:

- for each brand, a search of Reddit (or of ``SCRM_REDDIT_SEARCH_SUBREDDITS``) for the
  positive terms of the brand's query; a hit is kept when the brand's own query matches it;
- for each monitored subreddit (``SCRM_REDDIT_SUBREDDITS``), its new posts and its new comments;
- then the scores of recently stored Reddit posts are refreshed (``/api/info``), so that a
  post gaining traction updates its metrics (the escalation alert reads them).

praw objects are turned into plain :class:`MentionCreate` values as soon as a page arrives,
reading only the data Reddit sent (``vars(obj)``): praw's lazy attributes would otherwise
fetch. Everything is stored through :func:`scrm.ingest.pipeline.ingest_mentions` (dedupe,
brand match, sentiment, metric updates, alerts), one import batch per run.

**Checkpoints** (:class:`RedditCheckpoint`, one per listing). ``high_water`` is the creation
time down to which a listing is known complete. A pass reads from the newest item down to
``high_water`` (less :data:`OVERLAP_S`, for Reddit's search index lag: the overlap comes
back as duplicates). After each page is *committed* by the pipeline, the pass's head and the
page's ``after`` cursor are saved; a pass cut short (crash, limit, error) is resumed from the
cursor by the next run, which then reads the items that arrived meanwhile. A pass only ever
claims what it has read, so a crash leaves no gap, and the unique (platform, id) key leaves no
duplicate. Two runs at once are safe (just wasteful) for the same reason.

**HTTP** goes through :class:`prawcore.Requestor` subclassed (praw's documented
``requestor_class`` hook): every request counts against the run's budget (requests and
seconds); a 429 waits for its ``Retry-After``; 5xx, timeouts and dropped connections are
retried with exponential backoff; then the listing is reported failed and the run goes on
with the next one. prawcore's own rate limiter still paces requests by Reddit's
``x-ratelimit-*`` headers. praw and prawcore errors become :class:`SourceError` messages.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.exceptions import ConfigError, DatabaseError, NotFoundError, SourceError
from scrm.models import Brand, Mention, MentionCreate, RedditCheckpoint, RedditRun
from scrm.query import parse_query
from scrm.timeutil import utcnow

if TYPE_CHECKING:
    import pandas as pd

    from scrm.config import Settings

PLATFORM = "reddit"
PAGE = 100  # Reddit's largest page
MAX_SEARCH_CHARS = 512  # Reddit's limit on a search query
OVERLAP_S = 300  # each pass re-reads this much below the high-water mark (search index lag)
REFRESH_BATCH = 100  # fullnames per /api/info request
DEFAULT_URL = "https://www.reddit.com"
DELETED = frozenset({"[deleted]", "[removed]"})
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
_C = RedditCheckpoint.__table__
_R = RedditRun.__table__
_M = Mention.__table__
Progress = Callable[[int, int], None]  # (items fetched, the run's item limit)

SETTINGS_SHOWN = (  # (field, environment variable, secret)
    ("reddit_client_id", "SCRM_REDDIT_CLIENT_ID", False),
    ("reddit_client_secret", "SCRM_REDDIT_CLIENT_SECRET", True),
    ("reddit_user_agent", "SCRM_REDDIT_USER_AGENT", False),
    ("reddit_oauth_url", "SCRM_REDDIT_OAUTH_URL", False),
    ("reddit_url", "SCRM_REDDIT_URL", False),
    ("reddit_subreddits", "SCRM_REDDIT_SUBREDDITS", False),
    ("reddit_search_subreddits", "SCRM_REDDIT_SEARCH_SUBREDDITS", False),
    ("reddit_max_items", "SCRM_REDDIT_MAX_ITEMS", False),
    ("reddit_max_requests", "SCRM_REDDIT_MAX_REQUESTS", False),
    ("reddit_max_seconds", "SCRM_REDDIT_MAX_SECONDS", False),
    ("reddit_timeout", "SCRM_REDDIT_TIMEOUT", False),
    ("reddit_retries", "SCRM_REDDIT_RETRIES", False),
    ("reddit_backoff", "SCRM_REDDIT_BACKOFF", False),
    ("reddit_refresh_hours", "SCRM_REDDIT_REFRESH_HOURS", False),
    ("reddit_refresh_limit", "SCRM_REDDIT_REFRESH_LIMIT", False),
)
CREDENTIALS = {
    "client_id": "SCRM_REDDIT_CLIENT_ID",
    "client_secret": "SCRM_REDDIT_CLIENT_SECRET",
    "user_agent": "SCRM_REDDIT_USER_AGENT",
}


def parse_subreddits(value: str | Iterable[str]) -> list[str]:
    """Subreddit names from ``"a, r/b c+d"`` or a list: deduplicated, ``r/`` removed.

    Raises ``ValueError`` naming a name Reddit would not accept.
    """
    parts = (
        re.split(r"[\s,+]+", value)
        if isinstance(value, str)
        else [p for v in value for p in re.split(r"[\s,+]+", v)]
    )
    out: list[str] = []
    for part in parts:
        name = part.strip().removeprefix("/").removeprefix("r/").removeprefix("R/").strip("/")
        if not name:
            continue
        if not _SUBREDDIT.fullmatch(name):
            raise ValueError(f"{part!r} is not a subreddit name (letters, digits and _, 2-21 characters)")
        if name.lower() not in {o.lower() for o in out}:
            out.append(name)
    return out


def search_string(name: str, query: str) -> str:
    """The Reddit search for a brand: its query's positive terms joined by OR (else its name).

    Phrases are quoted; NOT terms are left to the brand's query, which filters the hits.
    """
    terms = parse_query(query).terms() if query.strip() else []
    if not terms:
        terms = [" ".join(re.findall(r"\w+", name.lower()))]
    parts = [f'"{t}"' if " " in t else t for t in terms if t.strip()]
    text = " OR ".join(parts)
    if not text:
        raise ConfigError(f"Brand {name!r} has no words to search Reddit for: give it a query")
    if len(text) > MAX_SEARCH_CHARS:
        raise ConfigError(
            f"The Reddit search of brand {name!r} is {len(text)} characters ({MAX_SEARCH_CHARS} at most): "
            "shorten its query"
        )
    return text


def _brand_filter(name: str, query: str) -> Callable[[str, str], bool]:
    """Whether a post matches the brand: its query, or (no query) its name as a phrase."""
    parsed = parse_query(query if query.strip() else '"' + " ".join(re.findall(r"\w+", name)) + '"')
    from scrm.query import prepare

    return lambda text, author: parsed.matches(prepare(text, author))


# -- results -------------------------------------------------------------------------------


@dataclass
class RedditRunResult:
    """What a run did. ``errors`` holds one line per failed listing (or malformed item)."""

    run_id: int
    batch_id: int | None = None
    status: str = "running"
    fetched: int = 0  # items Reddit returned that were new to their listing's checkpoint
    stored: int = 0
    updated: int = 0  # known posts whose metrics changed
    duplicates: int = 0
    skipped: int = 0  # deleted comments, search hits the brand's query does not match
    refreshed: int = 0  # known posts whose scores were read again
    requests: int = 0
    seconds: float = 0.0
    stopped: str = ""  # the limit that ended the run early; the rest comes next run
    errors: list[str] = field(default_factory=list)
    listings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no listing failed."""
        return not self.errors

    def summary(self) -> str:
        """One line for logs and cron mail."""
        line = (
            f"reddit run {self.run_id}: fetched {self.fetched}, stored {self.stored}, "
            f"updated {self.updated}, duplicates {self.duplicates}, skipped {self.skipped}, "
            f"errors {len(self.errors)}; {self.requests} requests, {self.seconds:.1f} s"
        )
        if self.stopped:
            line += f"; stopped at {self.stopped} (the rest next run)"
        return line

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``collect reddit --json``)."""
        return {
            "run_id": self.run_id,
            "batch_id": self.batch_id,
            "status": self.status,
            "fetched": self.fetched,
            "stored": self.stored,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "refreshed": self.refreshed,
            "errors": list(self.errors),
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "listings": self.listings,
        }


# -- HTTP: budget, retries, errors -----------------------------------------------------------


class _LimitReached(Exception):
    """The run's request or time budget is spent: stop cleanly, the rest next run."""


class _GaveUp(Exception):
    """A request failed after its retries (5xx, timeouts, 429 without end)."""


class _Budget:
    """Requests and seconds a run may spend; shared with the requestor."""

    def __init__(self, *, max_requests: int, max_seconds: float) -> None:
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.started = time.monotonic()
        self.requests = 0

    def left(self) -> float:
        return self.max_seconds - (time.monotonic() - self.started)

    def check(self) -> None:
        if self.requests >= self.max_requests:
            raise _LimitReached(f"the request limit ({self.max_requests} requests)")
        if self.left() <= 0:
            raise _LimitReached(f"the time limit ({self.max_seconds:g} s)")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _requestor_class() -> type:
    """A :class:`prawcore.Requestor` with the run's budget, timeouts and retries."""
    import requests
    from prawcore import Requestor
    from prawcore.exceptions import RequestException

    transient = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)

    class BudgetedRequestor(Requestor):
        def __init__(
            self,
            *args: Any,
            budget: _Budget,
            read_timeout: float,
            retries: int,
            backoff: float,
            **kwargs: Any,
        ) -> None:
            super().__init__(*args, **kwargs)
            self.budget = budget
            self.read_timeout = max(read_timeout, 0.01)
            self.retries = retries
            self.backoff = backoff

        def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
            attempt = 0
            while True:
                self.budget.check()
                wait_for = min(self.read_timeout, max(self.budget.left(), 0.01))
                self.budget.requests += 1
                try:
                    response = self._http.request(*args, timeout=wait_for, **kwargs)
                except transient as exc:
                    if isinstance(exc, requests.Timeout) and wait_for < self.read_timeout:
                        raise _LimitReached(f"the time limit ({self.budget.max_seconds:g} s)") from None
                    kind = "no answer within" if isinstance(exc, requests.Timeout) else "connection failed in"
                    problem = f"{kind} {wait_for:g} s ({type(exc).__name__})"
                    wait = self.backoff * 2**attempt
                except Exception as exc:  # what prawcore's own requestor does
                    raise RequestException(exc, args, kwargs) from None
                else:
                    status = response.status_code
                    if status == 429:
                        asked = _retry_after(response.headers.get("retry-after"))
                        problem = "HTTP 429 Too Many Requests" + (
                            f" (Retry-After {asked:g} s)" if asked is not None else ""
                        )
                        wait = asked if asked is not None else self.backoff * 2**attempt
                    elif status >= 500:
                        problem = f"HTTP {status} {response.reason or ''}".strip()
                        wait = self.backoff * 2**attempt
                    elif status == 200 and args and str(args[0]).lower() == "get" and not response.content:
                        raise _GaveUp("malformed response: an empty body instead of a listing")
                    else:
                        return response
                if attempt >= self.retries:
                    raise _GaveUp(f"{problem}, {attempt + 1} attempts")
                if wait >= self.budget.left():
                    if problem.startswith("HTTP 429"):
                        raise _LimitReached(f"Reddit's rate limit ({problem}, past the time limit)")
                    raise _LimitReached(f"the time limit ({self.budget.max_seconds:g} s)")
                time.sleep(wait)
                attempt += 1

    return BudgetedRequestor


def _error_text(exc: BaseException) -> tuple[str, bool]:
    """A message for a failed request, and whether it ends the whole run (credentials)."""
    from praw.exceptions import PRAWException
    from prawcore import exceptions as pe

    if isinstance(exc, _GaveUp):
        return str(exc), False
    if isinstance(exc, pe.OAuthException):
        return (
            f"Reddit refused the credentials ({exc.error}): check SCRM_REDDIT_CLIENT_ID and "
            "SCRM_REDDIT_CLIENT_SECRET (a 'script' or 'web' app's id and secret)",
            True,
        )
    if isinstance(exc, pe.BadJSON):
        return "malformed response: not JSON", False
    if isinstance(exc, pe.Redirect):
        return "no such subreddit (Reddit redirected to its search page)", False
    if isinstance(exc, pe.ResponseException):
        status = exc.response.status_code
        if status == 401:
            return (
                "Reddit refused the credentials (HTTP 401): check SCRM_REDDIT_CLIENT_ID and "
                "SCRM_REDDIT_CLIENT_SECRET",
                True,
            )
        if status == 403:
            return "forbidden (HTTP 403): a private, quarantined or banned subreddit?", False
        if status == 404:
            return "not found (HTTP 404): does the subreddit exist?", False
        return f"HTTP {status} from Reddit", False
    if isinstance(exc, pe.RequestException):
        return f"request failed: {exc.original_exception}", False
    if isinstance(exc, pe.PrawcoreException | PRAWException):
        return f"{type(exc).__name__}: {exc}", False
    return f"malformed response: {type(exc).__name__}: {exc}", False


def make_reddit(settings: Settings, *, budget: _Budget | None = None, session: Any = None) -> Any:
    """A read-only ``praw.Reddit`` from scrm's settings (then praw.ini / ``praw_*``).

    ``session`` is the ``requests.Session`` it uses (close it when done). Raises
    :class:`ConfigError` naming the missing credentials.
    """
    import praw
    from praw.exceptions import MissingRequiredAttributeException

    budget = budget or _Budget(
        max_requests=settings.reddit_max_requests, max_seconds=settings.reddit_max_seconds
    )
    kwargs: dict[str, Any] = {
        "client_id": settings.reddit_client_id,
        "client_secret": settings.reddit_client_secret,
        "user_agent": settings.reddit_user_agent,
        "oauth_url": settings.reddit_oauth_url,
        "reddit_url": settings.reddit_url,
    }
    kwargs = {k: v for k, v in kwargs.items() if v}  # unset: praw's own configuration applies
    try:
        reddit = praw.Reddit(
            **kwargs,
            check_for_updates=False,
            check_for_async=False,
            timeout=max(1, math.ceil(settings.reddit_timeout)),
            requestor_class=_requestor_class(),
            requestor_kwargs={
                "budget": budget,
                "read_timeout": settings.reddit_timeout,
                "retries": settings.reddit_retries,
                "backoff": settings.reddit_backoff,
                **({"session": session} if session is not None else {}),
            },
        )
    except MissingRequiredAttributeException as exc:
        missing = [env for key, env in CREDENTIALS.items() if key in str(exc)] or list(CREDENTIALS.values())
        raise ConfigError(
            f"Reddit credentials missing: set {', '.join(missing)} (environment, .env or "
            ".streamlit/secrets.toml; or a praw.ini site). Create a 'script' app at "
            "https://www.reddit.com/prefs/apps to get an id and secret."
        ) from None
    except Exception as exc:  # praw's configuration errors (a bad praw.ini value...)
        raise ConfigError(f"Cannot set up the Reddit client: {exc}") from None
    reddit.read_only = True
    return reddit


# -- praw objects to mentions ----------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    """One listing entry, already plain data."""

    fullname: str
    created: float
    mention: MentionCreate | None  # None: nothing to store (a deleted comment)
    problem: str = ""  # a malformed entry


def _name_of(value: Any, attr: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(vars(value).get(attr) or "")


def to_mention(obj: Any, *, base_url: str = DEFAULT_URL) -> _Item:
    """A praw Submission or Comment as plain data, reading only what Reddit sent."""
    data = vars(obj)
    fullname = str(data.get("name") or "")
    try:
        if not fullname:
            kind = "t1" if "body" in data else "t3"
            fullname = f"{kind}_{data['id']}"
        created = float(data["created_utc"])
    except (KeyError, TypeError, ValueError) as exc:
        return _Item(fullname or "?", 0.0, None, f"malformed item {fullname or '?'}: missing or bad {exc}")
    author = _name_of(data.get("author"), "name")
    if author in DELETED:
        author = ""
    permalink = str(data.get("permalink") or "")
    url = base_url.rstrip("/") + permalink if permalink.startswith("/") else permalink
    score = data.get("score") or 0
    if fullname.startswith("t1_"):
        body = str(data.get("body") or "")
        if body.strip() in DELETED or not body.strip():
            return _Item(fullname, created, None)
        text, comments, parent = body, 0, data.get("parent_id") or data.get("link_id")
    else:
        title = str(data.get("title") or "")
        body = str(data.get("selftext") or "")
        if body.strip() in DELETED:
            body = ""
        text = f"{title}\n\n{body}" if body.strip() else title
        if not text.strip():
            return _Item(fullname, created, None)
        comments, parent = data.get("num_comments") or 0, None
    try:
        mention = MentionCreate(
            platform=PLATFORM,
            external_id=fullname,
            text=text,
            created_at=datetime.fromtimestamp(created, UTC),
            author=author,
            author_name=author,
            likes=max(int(score), 0),  # a downvoted post has no negative engagement
            comments=max(int(comments), 0),
            url=url[:2000],
            parent_id=str(parent) if parent else None,
        )
    except (TypeError, ValueError) as exc:
        return _Item(fullname, created, None, f"malformed item {fullname}: {exc}")
    return _Item(fullname, created, mention)


# -- listings and checkpoints ------------------------------------------------------------------


@dataclass
class _Listing:
    key: str
    kind: str  # search, new, comments
    target: str  # brand name or subreddit
    label: str
    query: str = ""  # search string
    scope: str = ""  # subreddit(s) searched
    brand: str = ""
    accept: Callable[[str, str], bool] | None = None

    def generator(self, reddit: Any, *, after: str | None, limit: int) -> Any:
        params = {"after": after} if after else {}
        if self.kind == "search":
            return reddit.subreddit(self.scope).search(
                self.query, sort="new", time_filter="all", limit=limit, params=params
            )
        sub = reddit.subreddit(self.target)
        if self.kind == "new":
            return sub.new(limit=limit, params=params)
        return sub.comments(limit=limit, params=params)


def _plan(
    engine: Engine, settings: Settings, brands: list[str] | None, subreddits: list[str] | None
) -> list[_Listing]:
    """The listings of a run: named brands/subreddits only, or everything configured."""
    named = brands is not None or subreddits is not None
    b = Brand.__table__
    with engine.connect() as conn:
        rows = conn.execute(sa.select(b.c.id, b.c.name, b.c.query).order_by(b.c.id)).all()
    by_name = {r.name.lower(): r for r in rows}
    if brands:
        missing = [n for n in brands if n.lower() not in by_name]
        if missing:
            raise NotFoundError(
                f"No brand named {', '.join(map(repr, missing))}: see `python -m scrm brands list`"
            )
        chosen = [by_name[n.lower()] for n in dict.fromkeys(brands)]
    else:
        chosen = [] if named else list(rows)
    if subreddits is None:
        subs = [] if named else parse_subreddits(settings.reddit_subreddits)
    else:
        subs = subreddits
    scope = "+".join(parse_subreddits(settings.reddit_search_subreddits)) or "all"
    listings: list[_Listing] = []
    for r in chosen:
        listings.append(
            _Listing(
                key=f"search|{r.id}|{scope.lower()}",
                kind="search",
                target=r.name,
                label=f"search for {r.name} in {'all of Reddit' if scope == 'all' else 'r/' + scope}",
                query=search_string(r.name, r.query),
                scope=scope,
                brand=r.name,
                accept=_brand_filter(r.name, r.query),
            )
        )
    for sub in subs:
        for kind, what in (("new", "new posts"), ("comments", "new comments")):
            listings.append(
                _Listing(key=f"{kind}|{sub.lower()}", kind=kind, target=sub, label=f"r/{sub} {what}")
            )
    if not listings:
        raise ConfigError(
            "Nothing to collect from Reddit: add a brand (`python -m scrm brands add NAME --query ...`), "
            "or name subreddits to monitor (SCRM_REDDIT_SUBREDDITS or --subreddit)"
        )
    return listings


@dataclass
class _State:
    high_water: float | None
    run_head: float | None
    cursor: str | None


def _newest(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _load_checkpoints(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {r["key"]: dict(r) for r in conn.execute(sa.select(_C)).mappings()}


def _save_checkpoints(
    engine: Engine, states: dict[str, tuple[_Listing, _State, int, str]], known: set[str]
) -> None:
    """Write each listing's state: (listing, state, items read since the last save, error)."""
    if not states:
        return
    now = utcnow()
    with engine.begin() as conn:
        for key, (listing, state, items, error) in states.items():
            values = {
                "high_water": state.high_water,
                "run_head": state.run_head,
                "cursor": state.cursor,
                "query": listing.query[:1000],
                "last_error": error[:2000],
                "updated_at": now,
            }
            if key in known:
                conn.execute(
                    sa.update(_C).where(_C.c.key == key).values(**values, items=_C.c["items"] + items)
                )
            else:
                conn.execute(
                    sa.insert(_C).values(
                        key=key, kind=listing.kind, target=listing.target[:300], items=items, **values
                    )
                )
                known.add(key)


# -- the run ------------------------------------------------------------------------------------


class _Collector:
    """One run: reads the listings page by page and feeds the pipeline; keeps checkpoints."""

    def __init__(
        self,
        *,
        engine: Engine,
        reddit: Any,
        budget: _Budget,
        listings: list[_Listing],
        result: RedditRunResult,
        limit: int,
        since: float | None,
        base_url: str,
        refresh_hours: float,
        refresh_limit: int,
        progress: Progress | None,
    ) -> None:
        self.engine = engine
        self.reddit = reddit
        self.budget = budget
        self.listings = listings
        self.result = result
        self.limit = limit
        self.since = since
        self.base_url = base_url
        self.refresh_hours = refresh_hours
        self.refresh_limit = refresh_limit
        self.progress = progress
        self.checkpoints = _load_checkpoints(engine)
        self.known = set(self.checkpoints)
        self.yielded = 0
        self.committed = 0  # items the pipeline has stored (or rejected) for good
        # (items yielded when the state holds, listing, state, items read from Reddit, error)
        self.pending: list[tuple[int, _Listing, _State, int, str]] = []
        self.seen: set[str] = set()
        self.in_run_duplicates = 0
        self.fatal = False
        self.state: _State = _State(None, None, None)  # the listing being read, as last recorded

    # checkpoints follow the pipeline's commits
    def _boundary(
        self, listing: _Listing, state: _State, *, count: int, read: int = 0, error: str = ""
    ) -> None:
        """``state`` holds once the first ``count`` items yielded are stored."""
        self.state = state
        self.pending.append((count, listing, state, read, error))
        if count <= self.committed:
            self.flush(self.committed)

    def flush(self, committed: int) -> None:
        """The pipeline has stored ``committed`` items: save the states they complete."""
        self.committed = max(self.committed, committed)
        ready: dict[str, tuple[_Listing, _State, int, str]] = {}
        while self.pending and self.pending[0][0] <= self.committed:
            _, listing, state, read, error = self.pending.pop(0)
            before = ready.get(listing.key)
            ready[listing.key] = (listing, state, read + (before[2] if before else 0), error)
        _save_checkpoints(self.engine, ready, self.known)
        _heartbeat(self.engine, self.result)

    def items(self) -> Iterator[MentionCreate]:
        for listing in self.listings:
            if self.result.stopped or self.fatal:
                break
            try:
                yield from self._read(listing)
            except _LimitReached as exc:
                self.result.stopped = str(exc)
            except Exception as exc:
                message, fatal = _error_text(exc)
                self.result.errors.append(f"{listing.label}: {message}")
                self._boundary(listing, self.state, count=self.yielded, error=message)
                self.fatal = self.fatal or fatal
        if not (self.result.stopped or self.fatal) and self.refresh_hours > 0 and self.refresh_limit > 0:
            try:
                yield from self._refresh()
            except _LimitReached as exc:
                self.result.stopped = str(exc)
            except Exception as exc:
                self.result.errors.append(f"refresh of recent posts' scores: {_error_text(exc)[0]}")

    def _fetch(self, listing: _Listing, after: str | None, limit: int) -> list[_Item]:
        self.budget.check()
        page = [
            to_mention(obj, base_url=self.base_url)
            for obj in listing.generator(self.reddit, after=after, limit=limit)
        ]
        return page

    def _read(self, listing: _Listing) -> Iterator[MentionCreate]:
        cp = self.checkpoints.get(listing.key)
        if cp is not None and listing.kind == "search" and cp["query"] != listing.query[:1000]:
            cp = None  # the brand's query changed: its search starts over
        state = _State(cp["high_water"], cp["run_head"], cp["cursor"]) if cp else _State(None, None, None)
        self.state = state
        stats = {"listing": listing.label, "fetched": 0, "kept": 0, "resumed": bool(state.cursor)}
        self.result.listings.append(stats)
        resuming = state.cursor is not None
        while True:
            floors = [
                x for x in (state.high_water - OVERLAP_S if state.high_water else None, self.since) if x
            ]
            floor = max(floors) if floors else None
            after = state.cursor if resuming else None
            head = state.run_head if resuming else None
            first = True
            restart = False
            while True:
                if self.result.fetched >= self.limit:
                    raise _LimitReached(f"the item limit ({self.limit} items)")
                want = min(PAGE, self.limit - self.result.fetched)
                page = self._fetch(listing, after, want)
                stats["fetched"] += len(page)
                if not page and resuming and first:
                    # the cursor leads nowhere (its item deleted?): read from the top instead
                    restart = True
                    break
                kept = [i for i in page if floor is None or i.created > floor]
                self.result.fetched += len(kept)  # the rest of the page was read by an earlier pass
                if self.progress:
                    self.progress(self.result.fetched, self.limit)
                if head is None and page:
                    head = max(i.created for i in page)
                done = len(kept) < len(page) or len(page) < want
                if page:
                    after = page[-1].fullname
                if done:  # the pass is complete down to its floor
                    new_state = _State(_newest(head, state.high_water), None, None)
                else:
                    new_state = _State(state.high_water, head, after)
                mentions = self._keep(listing, kept)
                stats["kept"] += len(mentions)
                self._boundary(listing, new_state, count=self.yielded + len(mentions), read=len(page))
                for m in mentions:
                    self.yielded += 1
                    yield m
                first = False
                if done:
                    break
            if restart:
                state = _State(state.high_water, None, None)
                resuming = False
                continue
            if resuming:  # the interrupted pass is complete: now the items that came since
                state = self.state
                resuming = False
                continue
            return

    def _keep(self, listing: _Listing, page: list[_Item]) -> list[MentionCreate]:
        out = []
        for item in page:
            if item.problem:
                self.result.errors.append(f"{listing.label}: {item.problem}")
                continue
            if item.mention is None:
                self.result.skipped += 1  # deleted or removed, nothing to read
                continue
            m = item.mention
            if listing.accept is not None:
                if not listing.accept(m.text, m.author):
                    self.result.skipped += 1
                    continue
                m = m.model_copy(update={"brands": [listing.brand]})
            if m.external_id in self.seen:
                self.in_run_duplicates += 1
                continue
            self.seen.add(m.external_id)
            out.append(m)
        return out

    def _refresh(self) -> Iterator[MentionCreate]:
        """Read again the scores of Reddit posts stored in the last hours (not read this run)."""
        since = utcnow() - timedelta(hours=self.refresh_hours)
        cols = (_M.c.external_id, _M.c.likes, _M.c.shares, _M.c.comments, _M.c.reach)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(*cols)
                .where(_M.c.platform == PLATFORM, _M.c.created_at >= since)
                .order_by(_M.c.created_at.desc())
                .limit(self.refresh_limit + len(self.seen))
            ).all()
        stored = {
            r.external_id: (r.likes, r.shares, r.comments, r.reach)
            for r in rows
            if r.external_id not in self.seen
        }
        names = list(stored)[: self.refresh_limit]
        for i in range(0, len(names), REFRESH_BATCH):
            chunk = names[i : i + REFRESH_BATCH]
            self.budget.check()
            items = [to_mention(obj, base_url=self.base_url) for obj in self.reddit.info(fullnames=chunk)]
            for item in items:
                m = item.mention
                if m is None or m.external_id not in stored:
                    continue
                self.result.refreshed += 1
                if (m.likes, m.shares, m.comments, m.reach or 0) == stored[m.external_id]:
                    continue  # nothing changed: not sent to the pipeline
                self.seen.add(m.external_id)
                self.yielded += 1
                yield m


def _heartbeat(engine: Engine, result: RedditRunResult, **extra: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(_R)
            .where(_R.c.id == result.run_id)
            .values(
                heartbeat_at=utcnow(),
                fetched=result.fetched,
                skipped=result.skipped,
                errors=len(result.errors),
                requests=result.requests,
                **extra,
            )
        )


def _start_run(engine: Engine, *, trigger: str, targets: str, stale_after: float) -> int:
    """Record a new run; runs left 'running' by a dead process are marked interrupted."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            sa.update(_R)
            .where(_R.c.status == "running", _R.c.heartbeat_at < now - timedelta(seconds=stale_after))
            .values(status="interrupted", finished_at=now, error="the process stopped before the run ended")
        )
        return conn.execute(
            sa.insert(_R).values(
                trigger=trigger[:20],
                targets=targets[:2000],
                started_at=now,
                heartbeat_at=now,
                status="running",
                error="",
                stopped="",
            )
        ).inserted_primary_key[0]


def _finish_run(engine: Engine, result: RedditRunResult) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(_R)
            .where(_R.c.id == result.run_id)
            .values(
                batch_id=result.batch_id,
                status=result.status,
                finished_at=utcnow(),
                heartbeat_at=utcnow(),
                fetched=result.fetched,
                stored=result.stored,
                updated=result.updated,
                duplicates=result.duplicates,
                skipped=result.skipped,
                errors=len(result.errors),
                requests=result.requests,
                stopped=result.stopped[:300],
                error="\n".join(result.errors)[:20_000],
            )
        )


def collect_reddit(
    *,
    engine: Engine,
    brands: list[str] | None = None,
    subreddits: list[str] | None = None,
    limit: int | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
    trigger: str = "cli",
    settings: Settings | None = None,
    alerts: bool = True,
) -> RedditRunResult:
    """Collect new Reddit posts and comments for the brands and monitored subreddits.

    ``brands``/``subreddits`` name what to read (default: every brand's search and
    ``SCRM_REDDIT_SUBREDDITS``); ``limit`` caps the items read (default
    ``SCRM_REDDIT_MAX_ITEMS``), ``since`` skips older items. Safe to repeat and to interrupt.
    Listing failures are in the result's ``errors`` (the run goes on with the next listing);
    missing credentials or nothing to collect raise :class:`ConfigError`.
    """
    from scrm.config import get_settings

    settings = settings or get_settings()
    if subreddits is not None:
        try:
            subreddits = parse_subreddits(subreddits)
        except ValueError as exc:
            raise ConfigError(f"Bad subreddit: {exc}") from None
    limit = settings.reddit_max_items if limit is None else limit
    if limit < 1:
        raise ConfigError("The item limit must be at least 1")
    listings = _plan(engine, settings, brands, subreddits)
    budget = _Budget(max_requests=settings.reddit_max_requests, max_seconds=settings.reddit_max_seconds)
    import requests

    session = requests.Session()
    try:
        reddit = make_reddit(settings, budget=budget, session=session)
        return _run(engine, settings, reddit, budget, listings, limit, since, progress, trigger, alerts)
    finally:
        session.close()


def _run(
    engine: Engine,
    settings: Settings,
    reddit: Any,
    budget: _Budget,
    listings: list[_Listing],
    limit: int,
    since: datetime | None,
    progress: Progress | None,
    trigger: str,
    alerts: bool,
) -> RedditRunResult:
    from scrm.ingest.pipeline import ingest_mentions

    stale = settings.reddit_max_seconds + 2 * settings.reddit_timeout + 120
    run_id = _start_run(
        engine, trigger=trigger, targets="; ".join(item.label for item in listings), stale_after=stale
    )
    result = RedditRunResult(run_id=run_id)
    collector = _Collector(
        engine=engine,
        reddit=reddit,
        budget=budget,
        listings=listings,
        result=result,
        limit=limit,
        since=since.timestamp() if since else None,
        base_url=settings.reddit_url or DEFAULT_URL,
        refresh_hours=settings.reddit_refresh_hours,
        refresh_limit=settings.reddit_refresh_limit,
        progress=progress,
    )
    try:
        imported = ingest_mentions(
            collector.items(),
            engine=engine,
            source=PLATFORM,
            file_name=PLATFORM,
            progress=collector.flush,
            batch_size=PAGE,
            alerts=alerts,
        )
    except BaseException as exc:  # the database failed, or Ctrl-C: record it, then let it go on
        result.requests = budget.requests
        result.seconds = time.monotonic() - budget.started
        result.status = "failed" if isinstance(exc, Exception) else "interrupted"
        result.errors.append(str(exc)[:500] if isinstance(exc, Exception) else "interrupted")
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            _finish_run(engine, result)
        if isinstance(exc, sa.exc.OperationalError):
            raise DatabaseError(
                f"Reddit run {result.run_id} stopped: the database failed: {exc.orig}"
            ) from exc
        raise
    collector.flush(collector.yielded)
    result.batch_id = imported.batch_id
    result.stored = imported.stored
    result.updated = imported.updated
    result.duplicates = imported.duplicates + collector.in_run_duplicates
    result.requests = budget.requests
    result.seconds = time.monotonic() - budget.started
    result.status = "failed" if result.errors else ("partial" if result.stopped else "done")
    _finish_run(engine, result)
    if collector.fatal:  # every listing would fail the same way: a setting to fix
        raise SourceError(f"{result.errors[-1].split(': ', 1)[-1]} (Reddit run {result.run_id})")
    return result


# -- for the Data page and the CLI ------------------------------------------------------------------


def list_runs(*, engine: Engine, limit: int = 50) -> pd.DataFrame:
    """The latest Reddit runs, newest first.

    Columns: id, started_at, finished_at, status, trigger, fetched, stored, updated,
    duplicates, skipped, errors, requests, seconds, stopped, error (one line per failed listing),
    targets, batch_id.
    """
    import pandas as pd

    cols = [
        _R.c.id,
        _R.c.started_at,
        _R.c.finished_at,
        _R.c.status,
        _R.c.trigger,
        _R.c.fetched,
        _R.c.stored,
        _R.c.updated,
        _R.c.duplicates,
        _R.c.skipped,
        _R.c.errors,
        _R.c.requests,
        _R.c.stopped,
        _R.c.error,
        _R.c.targets,
        _R.c.batch_id,
    ]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*cols).order_by(_R.c.id.desc()).limit(limit)).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in cols])
    if frame.empty:
        frame.insert(12, "seconds", pd.Series(dtype="float64"))
        return frame
    seconds = [
        (f - s).total_seconds() if f is not None and s is not None else None
        for s, f in zip(frame["started_at"], frame["finished_at"], strict=True)
    ]
    frame.insert(12, "seconds", pd.Series(seconds, dtype="float64"))
    return frame


def list_checkpoints(*, engine: Engine) -> pd.DataFrame:
    """Where each listing stands. Columns: kind, target, query, complete_to (UTC), resuming, items, last_error, updated_at."""
    import pandas as pd

    with engine.connect() as conn:
        rows = conn.execute(sa.select(_C).order_by(_C.c.kind, _C.c.target)).mappings().all()
    return pd.DataFrame(
        [
            {
                "kind": r["kind"],
                "target": r["target"],
                "query": r["query"],
                "complete_to": datetime.fromtimestamp(r["high_water"], UTC) if r["high_water"] else None,
                "resuming": r["cursor"] is not None,
                "items": r["items"],
                "last_error": r["last_error"],
                "updated_at": r["updated_at"],
            }
            for r in rows
        ],
        columns=["kind", "target", "query", "complete_to", "resuming", "items", "last_error", "updated_at"],
    )


def settings_view(settings: Settings | None = None) -> list[dict[str, str]]:
    """The Reddit settings as shown to a user: setting, environment variable, value (secrets masked)."""
    from scrm.config import get_settings

    settings = settings or get_settings()
    out = []
    for name, env, secret in SETTINGS_SHOWN:
        value = getattr(settings, name)
        if secret:
            shown = f"•••••••• ({len(str(value))} characters)" if value else "(not set)"
        elif value in ("", None):
            shown = "(not set: praw.ini or Reddit's default)" if name.startswith("reddit_") else ""
        else:
            shown = str(value)
        out.append({"setting": name, "variable": env, "value": shown})
    return out


def missing_credentials(settings: Settings | None = None) -> list[str]:
    """The credential variables not set in scrm's settings (praw.ini may still provide them)."""
    from scrm.config import get_settings

    settings = settings or get_settings()
    return [env for key, env in CREDENTIALS.items() if not getattr(settings, f"reddit_{key}")]

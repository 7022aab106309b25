"""Benchmark: each dashboard page's server-side run at 10k and 1M mentions, and the server's RSS.

    python benchmarks/pages.py [--small URL] [--large URL] [--runs 5] [--pages PAGE ...]
                               [--no-timing] [--no-rss] [--profile PAGE ...] [--json PATH]

For every page of app.py's navigation (read from app.py's ``st.Page(...)`` calls) and for
each database: ``AppTest.from_file("app.py")`` is run once (the router loads the engine,
the brands and the filters), switched to the page, and then timed over ``--runs`` cold runs
of ``at.run()`` (``st.cache_data`` and ``st.cache_resource`` cleared before each, so every
query and the engine are rebuilt); the median is reported, with the median CPU time of this
process during the run (less disturbed than wall time on a busy shared machine). Targets
are judged on wall time. ``scrm.config.get_settings`` is cleared when the database changes
(``SCRM_DATABASE_URL``). Any exception a page shows (``at.exception``) is reported with its
message, and so are ``st.error`` boxes.

AppTest resets Streamlit's "legacy ``pages/`` folder" flag on every run, so a switched-to
page first starts alone; ``ui.context()`` then reruns it through app.py (as on a fresh
server's first request to a deep link). The timed run includes that; a page that never
calls ``ui.context()`` runs without the router.

Targets (issue 4, item 9): the Overview's run <= 1 s at 1M mentions; for every page the
time at 1M <= 3x the time at 10k; the server's RSS <= 500 MB with 1M mentions.

RSS: the real server, ``python -m streamlit run app.py`` on a free loopback port with the
1M database; headless Chromium (Playwright, Debian's ``/usr/bin/chromium``) opens every
page in turn and waits until its script has finished; after each page the server's (and
any descendant's) ``VmHWM`` (peak) and ``VmRSS`` are read from ``/proc/PID/status``.

Databases (never an empty one: the router would load the demo into it):

* ``--small``: default ``$TMPDIR/scrm-bench/pages10k.db``, built with
  ``python -m scrm --database-url URL demo --mentions 10000`` when absent or older than a
  day (the demo ends at the time it was generated, and the pages show the last 7 days).
* ``--large``: default ``/tmp/bench/pages1m.db``: when absent, a copy (SQLite backup API,
  source opened read-only) of the prepared ``/tmp/bench/demo1m_v3.db`` or, if that is gone
  too, a fresh ``demo --mentions 1000000`` (about 2 minutes); then migrated with
  ``python -m scrm --database-url URL init``.

``--profile overview trends`` also prints, for those pages (URL paths) at 1M, the top costs
of one cold run under cProfile (attached to Streamlit's script thread): the project's own
functions by cumulative time, then every function by own time.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import cProfile
import gc
import io
import json
import logging
import os
import platform
import pstats
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO_ROOT = BENCH.parent
# This file is named like the app's ``pages`` package: keep its folder off the path, or
# app.py's ``from pages import ui`` would import this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(REPO_ROOT))


APP = REPO_ROOT / "app.py"
PREPARED_1M = Path("/tmp/bench/demo1m_v3.db")
DEFAULT_LARGE = Path("/tmp/bench/pages1m.db")
DEFAULT_SMALL = Path(tempfile.gettempdir()) / "scrm-bench" / "pages10k.db"
OVERVIEW_LIMIT = 1.0  # seconds at 1M
RATIO_LIMIT = 3.0  # time at 1M / time at 10k
RSS_LIMIT = 500  # MB (10**6 bytes) with 1M mentions
SCRIPT_THREAD = "ScriptRunner.scriptThread"  # Streamlit's name for the thread that runs the script


@dataclass(frozen=True)
class PageSpec:
    """One entry of app.py's navigation."""

    path: str  # "pages/overview.py"
    title: str
    url_path: str


@dataclass
class Timing:
    """Cold runs of one page on one database."""

    seconds: list[float] = field(default_factory=list)  # wall time of at.run()
    cpu: list[float] = field(default_factory=list)  # CPU time of this process during it
    exceptions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # st.error boxes (not failures of the run)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


# -- pages -----------------------------------------------------------------------------


def navigation_pages(app: Path = APP) -> list[PageSpec]:
    """The pages app.py declares with ``st.Page("pages/...", title=..., url_path=...)``."""
    found: list[tuple[int, int, PageSpec]] = []
    for node in ast.walk(ast.parse(app.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "Page" or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        path = str(node.args[0].value)
        kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
        stem = Path(path).stem
        spec = PageSpec(path, str(kw.get("title", stem)), str(kw.get("url_path", stem)))
        found.append((node.lineno, node.col_offset, spec))
    return [spec for *_, spec in sorted(found, key=lambda x: x[:2])]


# -- databases -------------------------------------------------------------------------


def _scrm(url: str, *args: str) -> None:
    cmd = [sys.executable, "-m", "scrm", "--database-url", url, *args]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO_ROOT, check=True)


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def prepare_small() -> str:
    """The default 10k database (built when absent or older than a day)."""
    url = f"sqlite:///{DEFAULT_SMALL}"
    if DEFAULT_SMALL.exists() and time.time() - DEFAULT_SMALL.stat().st_mtime > 86_400:
        DEFAULT_SMALL.unlink()
    if not DEFAULT_SMALL.exists():
        DEFAULT_SMALL.parent.mkdir(parents=True, exist_ok=True)
        _scrm(url, "demo", "--mentions", "10000")
    return url


def prepare_large() -> str:
    """The default 1M database: a migrated copy of the prepared one, or a fresh demo."""
    url = f"sqlite:///{DEFAULT_LARGE}"
    if not DEFAULT_LARGE.exists():
        DEFAULT_LARGE.parent.mkdir(parents=True, exist_ok=True)
        if PREPARED_1M.exists():
            t = time.perf_counter()
            partial = DEFAULT_LARGE.with_suffix(".partial")
            src = sqlite3.connect(f"file:{PREPARED_1M}?mode=ro", uri=True)
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
            partial.rename(DEFAULT_LARGE)
            print(f"copied {PREPARED_1M} to {DEFAULT_LARGE} in {time.perf_counter() - t:.0f} s", flush=True)
        else:
            _scrm(url, "demo", "--mentions", "1000000")
    _scrm(url, "init")
    return url


def describe(url: str) -> dict[str, object]:
    """Mention count and the newest mention's age; refuses an empty database."""
    from scrm.db import make_engine
    from scrm.stats import database_stats

    engine = make_engine(url)
    try:
        stats = database_stats(engine=engine)
    finally:
        engine.dispose()
    if not stats["mentions"]:
        sys.exit(f"{url} holds no mentions: the router would load the demo into it; use a loaded database")
    last = stats["last"]
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    age_h = (datetime.now(UTC) - last).total_seconds() / 3600 if last else float("nan")
    return {"url": url, "mentions": stats["mentions"], "newest_mention_age_hours": round(age_h, 1)}


# -- AppTest timings -------------------------------------------------------------------


def _use_database(url: str) -> None:
    import streamlit as st
    from streamlit.logger import set_log_level

    from scrm.config import get_settings

    # st.cache_*.clear() outside a server logs a warning each time: keep the output readable.
    set_log_level("error")
    for name in (
        "streamlit.runtime.caching.cache_data_api",
        "streamlit.runtime.caching.cache_resource_api",
        "streamlit.runtime.scriptrunner_utils.script_run_context",
    ):
        logging.getLogger(name).disabled = True

    os.environ["SCRM_DATABASE_URL"] = url
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


def _cold() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    gc.collect()


def _messages(at) -> tuple[list[str], list[str]]:
    exceptions = [f"{e.message} | {' / '.join(e.stack_trace[-3:])}"[:1500] for e in at.exception]
    errors = [str(e.value)[:500] for e in at.error]
    return exceptions, errors


def _page_apptest(page: PageSpec, timeout: float):
    """An AppTest of the router, run once and switched to ``page`` (not run yet)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    if at.exception:
        raise RuntimeError(f"the router's first run failed: {_messages(at)[0]}")
    at.switch_page(page.path)
    return at


def time_pages(url: str, pages: list[PageSpec], runs: int, timeout: float) -> dict[str, Timing]:
    """Median of ``runs`` cold ``at.run()`` per page on the database ``url``."""
    _use_database(url)
    out: dict[str, Timing] = {}
    for page in pages:
        timing = out.setdefault(page.url_path, Timing())
        try:
            at = _page_apptest(page, timeout)
            for _ in range(runs):
                _cold()
                t, c = time.perf_counter(), time.process_time()
                at.run()
                timing.seconds.append(time.perf_counter() - t)
                timing.cpu.append(time.process_time() - c)
                exceptions, errors = _messages(at)
                timing.exceptions += [e for e in exceptions if e not in timing.exceptions]
                timing.errors += [e for e in errors if e not in timing.errors]
        except Exception as exc:  # a page that times out or a router that fails: report, go on
            timing.exceptions.append(f"{type(exc).__name__}: {exc}"[:1500])
        shown = " ".join(f"{s:.3f}" for s in timing.seconds)
        cpu = " ".join(f"{s:.3f}" for s in timing.cpu)
        print(f"  {page.title:<20} wall: {shown} s; CPU: {cpu} s", flush=True)
    return out


def profile_page(url: str, page: PageSpec, timeout: float, top: int = 25) -> str:
    """Top costs of one cold run of ``page`` under cProfile, in Streamlit's script thread."""
    _use_database(url)
    at = _page_apptest(page, timeout)
    _cold()
    # CPU time of the script thread: on a busy shared machine wall time mostly measures the others.
    prof = cProfile.Profile(time.thread_time)

    def hook(frame, event, arg):  # the first profile event of every new thread
        if threading.current_thread().name == SCRIPT_THREAD:
            prof.enable()  # replaces this hook in the script thread only
        else:
            sys.setprofile(None)

    threading.setprofile(hook)
    try:
        t = time.perf_counter()
        at.run()
        wall = time.perf_counter() - t
    finally:
        threading.setprofile(None)
    prof.create_stats()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    buf.write(
        f"== {page.title} at {url}: one cold run, {wall:.3f} s wall under cProfile; "
        "times below are CPU seconds of the script thread ==\n"
    )
    buf.write("-- the project's functions (app.py, pages/, scrm/) by cumulative time --\n")
    repo = re.escape(str(REPO_ROOT)) + r"/(app\.py|pages/|scrm/)"
    stats.sort_stats("cumulative").print_stats(repo, top)
    buf.write("-- every function by own time --\n")
    stats.sort_stats("tottime").print_stats(top // 2)
    return buf.getvalue()


# -- the real server's memory ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _status_kib(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _parents() -> dict[int, int]:
    """pid → parent pid of every process (field 4 of /proc/PID/stat)."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            # the command name may hold spaces and parentheses: fields start after the last ")"
            parent[int(name)] = int(stat[stat.rfind(b")") + 2 :].split()[1])
    return parent


def process_memory(root: int) -> dict[str, float]:
    """VmHWM and VmRSS (MB) of ``root`` and, summed, of its descendants."""
    parent = _parents()
    tree, changed = {root}, True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    main = _status_kib(root)
    kids = [_status_kib(p) for p in tree - {root}]
    mb = 1024 / 1e6
    return {
        "server_hwm_mb": main.get("VmHWM", 0) * mb,
        "server_rss_mb": main.get("VmRSS", 0) * mb,
        "children": len(kids),
        "children_hwm_mb": sum(k.get("VmHWM", 0) for k in kids) * mb,
        "children_rss_mb": sum(k.get("VmRSS", 0) for k in kids) * mb,
    }


def server_rss(url: str, pages: list[PageSpec], timeout: float) -> dict[str, object]:
    """Start ``streamlit run app.py`` on ``url``, open every page in Chromium, read /proc."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.e2e.helpers import error_texts, wait_for_app

    env = {**os.environ, "SCRM_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    visits: list[dict[str, object]] = []
    with tempfile.TemporaryFile(mode="w+b") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not _healthy(base):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"streamlit did not start: {log.read().decode()[-3000:]}")
                time.sleep(0.25)
            start = process_memory(proc.pid)
            print(f"  server pid {proc.pid} on {base}: {start['server_rss_mb']:.0f} MB before any page")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
                try:
                    tab = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                    for page in pages:
                        t = time.perf_counter()
                        tab.goto(f"{base}/{page.url_path}", wait_until="domcontentloaded", timeout=60_000)
                        try:
                            wait_for_app(tab, timeout=timeout)
                            errors = error_texts(tab)
                        except BaseException as exc:  # pytest.fail raises a BaseException
                            errors = [f"{type(exc).__name__}: {exc}"]
                        wall = time.perf_counter() - t
                        mem = process_memory(proc.pid)
                        visits.append(
                            {"page": page.title, "browser_s": round(wall, 2), "errors": errors, **mem}
                        )
                        print(
                            f"  {page.title:<20} {wall:5.1f} s in the browser; server VmRSS "
                            f"{mem['server_rss_mb']:.0f} MB, VmHWM {mem['server_hwm_mb']:.0f} MB, "
                            f"{mem['children']} child(ren) {mem['children_hwm_mb']:.0f} MB"
                            + (f"; ERRORS: {errors}" if errors else ""),
                            flush=True,
                        )
                finally:
                    browser.close()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
    last = visits[-1] if visits else {}
    peak = float(last.get("server_hwm_mb", 0)) + float(last.get("children_hwm_mb", 0))
    return {"start": start, "visits": visits, "peak_mb": peak}


# -- report ----------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report(
    pages: list[PageSpec], small: dict[str, Timing], large: dict[str, Timing], rss: dict | None
) -> list[str]:
    lines = [
        "| page | s at 10k | s at 1M | 1M / 10k | 1M <= 3x 10k | Overview <= 1 s at 1M "
        "| CPU s at 10k | CPU s at 1M | CPU 1M / 10k |",
        "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |",
    ]
    for page in pages:
        s, m = small[page.url_path].median, large[page.url_path].median
        cs, cm = small[page.url_path].cpu_median, large[page.url_path].cpu_median
        ratio = m / s if s > 0 else float("nan")
        over = _verdict(m <= OVERVIEW_LIMIT) if page.url_path == "overview" else "—"
        lines.append(
            f"| {page.title} | {s:.3f} | {m:.3f} | {ratio:.2f} | {_verdict(ratio <= RATIO_LIMIT)} | {over} "
            f"| {cs:.3f} | {cm:.3f} | {cm / cs if cs > 0 else float('nan'):.2f} |"
        )
    if rss is not None:
        lines.append("")
        lines.append(
            f"Server peak RSS with 1M mentions after visiting every page: {rss['peak_mb']:.0f} MB "
            f"(VmHWM of the server + its children) — <= {RSS_LIMIT} MB: {_verdict(rss['peak_mb'] <= RSS_LIMIT)}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", help=f"the ~10k-mention database URL (default: {DEFAULT_SMALL}, built)")
    parser.add_argument("--large", help=f"the ~1M-mention database URL (default: {DEFAULT_LARGE}, prepared)")
    parser.add_argument("--runs", type=int, default=5, help="cold runs per page and database (median)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds for one page run")
    parser.add_argument(
        "--pages", nargs="*", metavar="PAGE", help="only these URL paths (default: every page)"
    )
    parser.add_argument("--no-timing", action="store_true", help="skip the AppTest timings")
    parser.add_argument("--no-rss", action="store_true", help="skip the real server's memory")
    parser.add_argument("--profile", nargs="*", default=[], metavar="PAGE", help="URL paths to profile at 1M")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    os.chdir(REPO_ROOT)
    pages = navigation_pages()
    if args.pages:
        pages = [p for p in pages if p.url_path in args.pages]
    missing = [p.path for p in pages if not (REPO_ROOT / p.path).exists()]
    if missing:
        sys.exit(f"pages missing: {missing}")
    small_url = args.small or prepare_small()
    large_url = args.large or prepare_large()
    dbs = {"small": describe(small_url), "large": describe(large_url)}
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}: nproc={os.cpu_count()}, "
        f"memory={mem:.1f} GiB, load average={' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"python {platform.python_version()}"
    )
    for name, db in dbs.items():
        print(
            f"{name}: {db['url']} — {db['mentions']:,} mentions, newest {db['newest_mention_age_hours']} h old"
        )
    print(f"pages: {', '.join(p.title for p in pages)}; {args.runs} cold runs each", flush=True)

    small: dict[str, Timing] = {}
    large: dict[str, Timing] = {}
    if not args.no_timing:
        print("timing at ~10k mentions", flush=True)
        small = time_pages(small_url, pages, args.runs, args.timeout)
        print("timing at ~1M mentions", flush=True)
        large = time_pages(large_url, pages, args.runs, args.timeout)
    rss = None
    if not args.no_rss:
        print("server memory at ~1M mentions (streamlit run + headless Chromium)", flush=True)
        rss = server_rss(large_url, pages, args.timeout)

    profiles = {}
    for url_path in args.profile:
        spec = next((p for p in pages if p.url_path == url_path), None)
        if spec is None:
            sys.exit(f"--profile {url_path}: no such page (one of {[p.url_path for p in pages]})")
        profiles[url_path] = profile_page(large_url, spec, args.timeout)
        print(profiles[url_path], flush=True)

    print()
    for line in report(pages if small else [], small, large, rss):
        print(line)
    failed = False
    for label, timings in (("10k", small), ("1M", large)):
        for page in pages:
            t = timings.get(page.url_path, Timing())
            for e in t.exceptions:
                failed = True
                print(f"EXCEPTION on {page.title} at {label}: {e}")
            for e in t.errors:
                print(f"st.error on {page.title} at {label}: {e}")
    for visit in (rss or {}).get("visits", []):
        for e in visit["errors"]:
            print(f"browser: error on {visit['page']}: {e}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "databases": dbs,
                    "pages": [asdict(p) for p in pages],
                    "small": {k: asdict(v) for k, v in small.items()},
                    "large": {k: asdict(v) for k, v in large.items()},
                    "rss": rss,
                },
                indent=2,
                default=str,
            )
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Peak memory of a benchmark: this process, its scoring workers, and the whole process tree.

``resource.getrusage(RUSAGE_CHILDREN)`` only sees children that have exited and been waited
for; the scoring workers are started by a forkserver that lives until the interpreter
exits, so their memory never shows there. ``TreeSampler`` reads ``/proc`` every 0.2 s
instead and keeps the peak RSS of the tree (this process and all its descendants, summed)
and of the largest single descendant. Linux only; elsewhere it reports nothing.
"""

from __future__ import annotations

import os
import resource
import threading
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PROC = Path("/proc")


def _rss_and_parents() -> tuple[dict[int, int], dict[int, int]]:
    rss: dict[int, int] = {}
    parent: dict[int, int] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        # the command name may hold spaces and parentheses: fields start after the last ")"
        fields = stat[stat.rfind(")") + 2 :].split()
        parent[pid] = int(fields[1])
        rss[pid] = pages * _PAGE
    return rss, parent


class TreeSampler:
    """Samples the RSS of this process tree in a thread; use as a context manager."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_tree = 0  # bytes, this process + descendants at the same moment
        self.peak_child = 0  # bytes, the largest single descendant
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.available = _PROC.joinpath("self", "statm").exists()

    def sample(self) -> None:
        """Take one sample now."""
        rss, parent = _rss_and_parents()
        me = os.getpid()
        tree = {me}
        changed = True
        while changed:
            changed = False
            for pid, ppid in parent.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    changed = True
        self.peak_tree = max(self.peak_tree, sum(rss.get(p, 0) for p in tree))
        children = [rss.get(p, 0) for p in tree if p != me]
        self.peak_child = max(self.peak_child, max(children, default=0))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreeSampler:
        if self.available:
            self.sample()
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.available:
            self._stop.set()
            self._thread.join()
            self.sample()

    def summary(self) -> str:
        """Peak RSS figures in MiB.

        ``main`` and ``reaped_children`` come from ``getrusage`` (exact; the latter only
        counts children already waited for); ``worker`` and ``tree`` from the samples.
        """
        main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out = f"peak_rss_main={main:.0f}MiB peak_rss_reaped_children={reaped:.0f}MiB"
        if self.available:
            out += (
                f" peak_rss_worker={self.peak_child / 2**20:.0f}MiB"
                f" peak_rss_tree={self.peak_tree / 2**20:.0f}MiB"
            )
        return out

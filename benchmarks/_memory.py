"""Peak memory and CPU time of a benchmark: this process, its scoring workers, the process tree.

``resource.getrusage(RUSAGE_CHILDREN)`` only sees children that have exited and been waited
for; the scoring workers are started by a forkserver that lives until the interpreter
exits, so their memory never shows there. ``TreeSampler`` reads ``/proc`` instead (every
0.5 s, one small read per process, about 4 ms) and keeps the peak RSS of the tree (this
process and all its descendants, summed at the same moment; pages shared after a fork are
counted once per process) and of the largest single descendant. Linux only; elsewhere it
reports only what ``getrusage`` knows.

CPU seconds (user + system) are reported too: this process's from ``getrusage`` and the
descendants' from the last sample of each. On a shared machine wall time depends on what else
runs; CPU time much less, and the main process's CPU time is the critical path of an import.
"""

from __future__ import annotations

import os
import resource
import threading
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PROC = Path("/proc")


def _rss_and_parents() -> tuple[dict[int, int], dict[int, int], dict[int, float]]:
    rss: dict[int, int] = {}
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for name in os.listdir(_PROC):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ")"
        fields = stat[stat.rfind(b")") + 2 :].split()
        pid = int(name)
        parent[pid] = int(fields[1])  # field 4 of stat: ppid
        rss[pid] = int(fields[21]) * _PAGE  # field 24 of stat: rss in pages
        cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK  # fields 14, 15: utime, stime
    return rss, parent, cpu


class TreeSampler:
    """Samples the RSS of this process tree in a thread; use as a context manager."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak_tree = 0  # bytes, this process + descendants at the same moment
        self.peak_child = 0  # bytes, the largest single descendant
        self.child_cpu: dict[int, float] = {}  # seconds, last seen per descendant
        self._cpu_start = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.available = _PROC.joinpath("self", "statm").exists()

    def sample(self) -> None:
        """Take one sample now."""
        rss, parent, cpu = _rss_and_parents()
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
        for p in tree - {me}:
            self.child_cpu[p] = cpu.get(p, 0.0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreeSampler:
        own = resource.getrusage(resource.RUSAGE_SELF)
        self._cpu_start = own.ru_utime + own.ru_stime
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
        """Peak RSS in MiB and CPU seconds.

        ``main`` and ``reaped_children`` come from ``getrusage`` (exact; the latter only
        counts children already waited for); ``worker``, ``tree`` and ``cpu_workers`` from
        the samples; ``cpu_main`` counts from entering the context.
        """
        own = resource.getrusage(resource.RUSAGE_SELF)
        main = own.ru_maxrss / 1024  # KiB on Linux
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out = f"peak_rss_main={main:.0f}MiB peak_rss_reaped_children={reaped:.0f}MiB"
        if self.available:
            out += (
                f" peak_rss_worker={self.peak_child / 2**20:.0f}MiB"
                f" peak_rss_tree={self.peak_tree / 2**20:.0f}MiB"
            )
        out += f" cpu_main={own.ru_utime + own.ru_stime - self._cpu_start:.1f}s"
        if self.available:
            out += f" cpu_workers={sum(self.child_cpu.values()):.1f}s"
        return out

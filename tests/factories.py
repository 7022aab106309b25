"""Test data factories, in one place."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scrm.models import MentionCreate

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
GOOD_ROWS: list[dict[str, Any]] = [
    {
        "id": "1",
        "text": "I love the new Northwind app, great job!",
        "created_at": "2026-11-01T10:00:00Z",
        "author": "alice",
        "likes": "3",
    },
    {
        "id": "2",
        "text": "Terrible service, my card was blocked again",
        "created_at": "2026-11-01 11:00:00 -0800",
        "author": "bob",
        "likes": "5",
    },
    {
        "id": "3",
        "text": "Anyone know the Northwind branch hours?",
        "created_at": "1761994800",
        "author": "@Carol",
        "likes": "",
    },
]


def csv_bytes(rows: list[dict[str, Any]], *, delimiter: str = ",", columns: list[str] | None = None) -> bytes:
    """Rows as CSV bytes (UTF-8) with a header."""
    out = io.StringIO()
    cols = columns or list(rows[0])
    writer = csv.DictWriter(out, fieldnames=cols, delimiter=delimiter, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def write(path: Path, data: bytes | str, *, gz: bool = False) -> Path:
    """Write ``data`` to ``path`` (gzipped when ``gz``) and return the path."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def ndjson_bytes(rows: list[dict[str, Any]]) -> bytes:
    """Rows as NDJSON bytes."""
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def mention(i: int, **kw: Any) -> MentionCreate:
    """A valid mention numbered ``i`` (one hour apart from :data:`T0`)."""
    base: dict[str, Any] = {
        "platform": "twitter",
        "external_id": f"m{i}",
        "text": f"post number {i} about northwind",
        "created_at": T0 + timedelta(hours=i),
        "author": f"user{i % 7}",
        "followers": 100 + i,
    }
    base.update(kw)
    return MentionCreate(**base)


def big_csv(path: Path, n: int, *, start: int = 0) -> Path:
    """A CSV of ``n`` distinct valid mentions."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "created_at", "author", "followers", "likes"])
        for i in range(start, start + n):
            ts = (T0 + timedelta(minutes=i)).isoformat()
            w.writerow(
                [
                    f"p{i}",
                    f"Post {i}: northwind service was {'great' if i % 3 else 'awful'} today",
                    ts,
                    f"author{i % 500}",
                    i % 1000,
                    i % 17,
                ]
            )
    return path

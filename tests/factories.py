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


def add_activity(
    engine: Any, rows: list[tuple[str, datetime, str, int, int]], *, platform: str = "twitter"
) -> dict:
    """Insert mentions linked to brands directly: (brand, created_at, label, reach, engagement).

    Brands are created as needed (the first one is the own brand); returns brand ids by name.
    """
    import sqlalchemy as sa

    from scrm.models import Brand, Mention, MentionBrand

    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for name, _, _, _, _ in rows:
            if name not in ids:
                found = conn.execute(
                    sa.select(Brand.__table__.c.id).where(Brand.__table__.c.name == name)
                ).scalar()
                ids[name] = (
                    found
                    or conn.execute(
                        sa.insert(Brand.__table__).values(
                            name=name, query="", is_own=not ids, colour="", created_at=T0
                        )
                    ).inserted_primary_key[0]
                )
        start = conn.execute(sa.select(sa.func.count()).select_from(Mention.__table__)).scalar_one()
        for i, (name, created, label, reach, engagement) in enumerate(rows, start=start):
            mid = conn.execute(
                sa.insert(Mention.__table__).values(
                    platform=platform,
                    external_id=f"a{i}",
                    created_at=created,
                    text=f"{name} {label}",
                    label=label,
                    reach=reach,
                    likes=engagement,
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.insert(MentionBrand.__table__).values(
                    mention_id=mid,
                    brand_id=ids[name],
                    ts=int(created.timestamp()),
                    platform=platform,
                    label=label,
                    reach=reach,
                    engagement=engagement,
                )
            )
    return ids


def add_alerts(
    engine: Any, alerts: list[dict[str, Any]], *, brand: str = "Acme", at: datetime = T0
) -> list[int]:
    """Insert a brand, a rule and alerts (dicts of Alert columns over sensible defaults); returns their ids."""
    import sqlalchemy as sa

    from scrm.alerts import validate_params
    from scrm.models import Alert, AlertRule, Brand

    with engine.begin() as conn:
        brand_id = conn.execute(
            sa.insert(Brand.__table__).values(name=brand, query="", is_own=True, colour="", created_at=at)
        ).inserted_primary_key[0]
        rule = conn.execute(
            sa.insert(AlertRule.__table__).values(
                name="rule",
                brand_id=brand_id,
                kind="volume_spike",
                params=validate_params("volume_spike", {}),
                cooldown_minutes=60,
                enabled=True,
                created_by="test",
                created_at=at,
            )
        ).inserted_primary_key[0]
        ids = []
        for i, spec in enumerate(alerts):
            values = {
                "rule_id": rule,
                "brand_id": brand_id,
                "kind": "volume_spike",
                "key": f"k{i}",
                "title": f"alert {i}",
                "detail": {},
                "priority": 3,
                "status": "new",
                "assignee": "",
                "onset_at": at,
                "raised_at": at,
                "response_text": "",
                "updated_at": at,
                **spec,
            }
            ids.append(conn.execute(sa.insert(Alert.__table__).values(**values)).inserted_primary_key[0])
    return ids

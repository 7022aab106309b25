"""Database counts: what the minimal home page and ``scrm stats`` show."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.models import Author, Brand, Customer, ImportBatch, Mention, MentionBrand


def database_stats(*, engine: Engine) -> dict[str, Any]:
    """Counts of the main tables, the mentions' time span and mentions per brand.

    Keys: ``mentions``, ``authors``, ``brands``, ``customers``, ``imports``, ``first``,
    ``last`` (datetimes or None) and ``per_brand`` (brand name → mention count).
    """
    m, mb, b = Mention.__table__, MentionBrand.__table__, Brand.__table__
    count = sa.func.count()
    with engine.connect() as conn:
        out: dict[str, Any] = {
            name: conn.execute(sa.select(count).select_from(table.__table__)).scalar_one()
            for name, table in (
                ("mentions", Mention),
                ("authors", Author),
                ("brands", Brand),
                ("customers", Customer),
                ("imports", ImportBatch),
            )
        }
        out["first"], out["last"] = conn.execute(
            sa.select(sa.func.min(m.c.created_at), sa.func.max(m.c.created_at))
        ).one()
        per_brand = conn.execute(
            sa.select(b.c.name, sa.func.count(mb.c.mention_id))
            .select_from(b.outerjoin(mb, mb.c.brand_id == b.c.id))
            .group_by(b.c.name)
            .order_by(sa.func.count(mb.c.mention_id).desc(), b.c.name)
        ).all()
        out["per_brand"] = {name: n for name, n in per_brand}
    return out


def has_mentions(*, engine: Engine) -> bool:
    """True when the database holds at least one mention (a cheap check for every page run)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(Mention.__table__.c.id).limit(1)).first() is not None

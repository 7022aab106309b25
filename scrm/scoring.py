"""Sentiment in the database: re-scoring stored mentions and audited label overrides.

The computed label lives in ``mention.label``; a user's override in ``label_override``
wins everywhere: ``mention_brand.label`` always holds the effective label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.exceptions import NotFoundError, ScrmError
from scrm.models import LABELS, AuditLog, Mention, MentionBrand
from scrm.sentiment import BatchScorer, label_for
from scrm.timeutil import utcnow

_M = Mention.__table__
_MB = MentionBrand.__table__


def effective_label() -> sa.ColumnElement[str]:
    """SQL for a mention's effective label (the override wins)."""
    return sa.func.coalesce(_M.c.label_override, _M.c.label)


def rescore(
    *,
    engine: Engine,
    all_mentions: bool = False,
    batch_size: int = 5000,
    workers: int | None = None,
    domain_lexicon: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Score mentions never scored (or every mention with ``all_mentions``); returns the count.

    Works in id order, one transaction per batch, so an interrupted run can be repeated.
    """
    from scrm.config import get_settings

    settings = get_settings()
    where = sa.true() if all_mentions else _M.c.scored_at.is_(None)
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(_M).where(where)).scalar_one()
    done = 0
    last_id = 0
    with BatchScorer(
        workers=settings.score_workers if workers is None else workers,
        domain_lexicon=settings.domain_lexicon if domain_lexicon is None else domain_lexicon,
    ) as scorer:
        while True:
            cond = sa.and_(where, _M.c.id > last_id)
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(_M.c.id, _M.c.text, _M.c.label_override)
                    .where(cond)
                    .order_by(_M.c.id)
                    .limit(batch_size)
                ).all()
            if not rows:
                break
            compounds = scorer.score([r.text for r in rows])
            now = utcnow()
            params = [
                {
                    "b_id": r.id,
                    "b_compound": c,
                    "b_label": label_for(c),
                    "b_effective": r.label_override or label_for(c),
                }
                for r, c in zip(rows, compounds, strict=True)
            ]
            with engine.begin() as conn:
                conn.execute(
                    sa.update(_M)
                    .where(_M.c.id == sa.bindparam("b_id"))
                    .values(
                        compound=sa.bindparam("b_compound"), label=sa.bindparam("b_label"), scored_at=now
                    ),
                    params,
                )
                conn.execute(
                    sa.update(_MB)
                    .where(_MB.c.mention_id == sa.bindparam("b_id"))
                    .values(label=sa.bindparam("b_effective")),
                    params,
                )
            done += len(rows)
            last_id = rows[-1].id
            if progress:
                progress(done, total)
    return done


def set_label(
    *, engine: Engine, mention_ids: Sequence[int], label: str | None, user: str, note: str = ""
) -> int:
    """Override the sentiment label of mentions (``None`` clears the override); audited.

    Returns the number of mentions changed.
    """
    if label is not None and label not in LABELS:
        raise ScrmError(f"Unknown label {label!r}: use one of {', '.join(LABELS)}")
    if not user.strip():
        raise ScrmError("A label change needs the name of the user who makes it")
    ids = sorted(set(int(i) for i in mention_ids))
    if not ids:
        return 0
    now = utcnow()
    changed = 0
    with engine.begin() as conn:
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = conn.execute(
                sa.select(_M.c.id, _M.c.label, _M.c.label_override).where(_M.c.id.in_(part))
            ).all()
            if len(rows) != len(part):
                missing = sorted(set(part) - {r.id for r in rows})
                raise NotFoundError(f"No mention with id {missing[0]}")
            todo = [r for r in rows if r.label_override != label]
            if not todo:
                continue
            conn.execute(
                sa.update(_M)
                .where(_M.c.id.in_([r.id for r in todo]))
                .values(
                    label_override=label,
                    override_by=user if label else None,
                    override_at=now if label else None,
                )
            )
            conn.execute(
                sa.update(_MB)
                .where(_MB.c.mention_id == sa.bindparam("b_id"))
                .values(label=sa.bindparam("b_label")),
                [{"b_id": r.id, "b_label": label or r.label} for r in todo],
            )
            conn.execute(
                sa.insert(AuditLog.__table__),
                [
                    {
                        "at": now,
                        "username": user,
                        "action": "relabel" if label else "relabel_clear",
                        "entity": "mention",
                        "entity_id": str(r.id),
                        "detail": {
                            "from": r.label_override or r.label,
                            "to": label or r.label,
                            "computed": r.label,
                            "note": note[:500],
                        },
                    }
                    for r in todo
                ],
            )
            changed += len(todo)
    return changed

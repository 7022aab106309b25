"""Tracked brands: add, list, edit, and ensure a brand exists."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from scrm.exceptions import NotFoundError, ScrmError
from scrm.models import Brand

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _check(name: str, query: str | None, colour: str | None) -> None:
    if not name.strip():
        raise ScrmError("A brand needs a name")
    if len(name) > 200:
        raise ScrmError("A brand name is at most 200 characters")
    if query:
        from scrm.query import parse_query

        parse_query(query)
    if colour and not _COLOUR.match(colour):
        raise ScrmError(f"Colour {colour!r} is not of the form #RRGGBB")


def list_brands(*, engine: Engine) -> list[Brand]:
    """All brands, own brands first, then by name."""
    with Session(engine) as session:
        return list(session.exec(select(Brand).order_by(Brand.is_own.desc(), Brand.name)))


def get_brand(*, engine: Engine, name: str) -> Brand:
    """The brand called ``name`` (case-insensitive) or :class:`NotFoundError`."""
    with Session(engine) as session:
        brand = session.exec(select(Brand).where(sa.func.lower(Brand.name) == name.strip().lower())).first()
    if brand is None:
        raise NotFoundError(f"No brand named {name!r}: see `python -m scrm brands list`")
    return brand


def _next_colour(session: Session) -> str:
    used = {c for c in session.exec(select(Brand.colour))}
    count = session.exec(select(sa.func.count()).select_from(Brand)).one()
    free = [c for c in PALETTE if c not in used]
    return free[0] if free else PALETTE[count % len(PALETTE)]


def add_brand(*, engine: Engine, name: str, query: str = "", is_own: bool = False, colour: str = "") -> Brand:
    """Create a brand; its query is validated and a colour is chosen if none is given."""
    name = name.strip()
    _check(name, query, colour)
    with Session(engine) as session:
        exists = session.exec(select(Brand).where(sa.func.lower(Brand.name) == name.lower())).first()
        if exists is not None:
            raise ScrmError(f"Brand {exists.name!r} already exists: use `brands edit`")
        brand = Brand(name=name, query=query.strip(), is_own=is_own, colour=colour or _next_colour(session))
        session.add(brand)
        session.commit()
        session.refresh(brand)
        return brand


def edit_brand(
    *,
    engine: Engine,
    name: str,
    new_name: str | None = None,
    query: str | None = None,
    is_own: bool | None = None,
    colour: str | None = None,
) -> Brand:
    """Change a brand's name, query, ownership or colour (only the arguments given)."""
    _check(new_name if new_name is not None else name, query, colour)
    current = get_brand(engine=engine, name=name)
    with Session(engine) as session:
        brand = session.get(Brand, current.id)
        assert brand is not None
        if new_name is not None:
            brand.name = new_name.strip()
        if query is not None:
            brand.query = query.strip()
        if is_own is not None:
            brand.is_own = is_own
        if colour is not None:
            brand.colour = colour
        session.add(brand)
        try:
            session.commit()
        except sa.exc.IntegrityError:
            raise ScrmError(f"Brand {new_name!r} already exists") from None
        session.refresh(brand)
        return brand


def ensure_brands(*, engine: Engine, names: set[str]) -> dict[str, int]:
    """Ids of the brands called ``names`` (case-insensitive), creating missing ones."""
    if not names:
        return {}
    wanted = {n.strip(): n.strip().lower() for n in names if n.strip()}
    with Session(engine) as session:
        rows = session.exec(select(Brand.id, Brand.name)).all()
        by_lower = {name.lower(): bid for bid, name in rows}
        for name, low in wanted.items():
            if low not in by_lower:
                _check(name, None, None)
                brand = Brand(name=name, colour=_next_colour(session))
                session.add(brand)
                session.flush()
                by_lower[low] = brand.id
        session.commit()
    return {name: by_lower[low] for name, low in wanted.items()}


def suggest_colour(*, engine: Engine) -> str:
    """The colour :func:`add_brand` would pick for a new brand (the first unused one)."""
    with Session(engine) as session:
        return _next_colour(session)

"""What every page shares: the engine, cached ``scrm`` queries, the current filters, safe text.

Caching lives here, at the page boundary: ``st.cache_resource`` for the engine,
``st.cache_data(ttl, max_entries)`` around the ``scrm`` query functions (the engine is passed
as ``_engine`` so it is not hashed). ``scrm`` itself never imports Streamlit.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.uploaded_file_manager import UploadedFile

from scrm import admin, brands, responses, search, terms, trends
from scrm.db import init_db, make_engine
from scrm.filters import Filters
from scrm.models import Brand

TTL = 300
_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'^%@/])")


@st.cache_resource
def get_engine() -> Engine:
    """The database engine, migrated, shared by every session."""
    engine = make_engine()
    init_db(engine)
    return engine


def plain(text: object) -> str:
    """Text that Streamlit's markdown shows literally: every markdown character escaped."""
    return _PUNCT.sub(r"\\\1", str(text)).replace("\n", " ")


@dataclass(frozen=True)
class BrandInfo:
    """A brand as the pages need it (plain values, cacheable)."""

    id: int
    name: str
    is_own: bool
    colour: str
    query: str


@st.cache_data(ttl=TTL, max_entries=4)
def brand_list(_engine: Engine) -> list[BrandInfo]:
    """Every tracked brand, own brands first."""
    rows: list[Brand] = brands.list_brands(engine=_engine)
    infos = [BrandInfo(b.id or 0, b.name, b.is_own, b.colour, b.query) for b in rows]
    return sorted(infos, key=lambda b: (not b.is_own, b.name.lower()))


@st.cache_data(ttl=TTL, max_entries=4)
def platform_list(_engine: Engine) -> list[str]:
    """Every platform with brand mentions."""
    return trends.platforms(engine=_engine)


@st.cache_data(ttl=TTL, max_entries=64)
def activity(_engine: Engine, filters: Filters, bucket: int = trends.HOUR) -> pd.DataFrame:
    """Cached :func:`scrm.trends.activity`."""
    return trends.activity(engine=_engine, filters=filters, bucket=bucket)


@st.cache_data(ttl=TTL, max_entries=64)
def platform_mix(_engine: Engine, filters: Filters) -> pd.DataFrame:
    """Cached :func:`scrm.trends.platform_mix`."""
    return trends.platform_mix(engine=_engine, filters=filters)


@st.cache_data(ttl=TTL, max_entries=64)
def mention_page(
    _engine: Engine,
    filters: Filters,
    text: str = "",
    sort: str = "newest",
    page: int = 1,
    page_size: int = 50,
) -> search.MentionPage:
    """Cached :func:`scrm.search.search_mentions`."""
    return search.search_mentions(
        engine=_engine, filters=filters, text=text, sort=sort, page=page, page_size=page_size
    )


@st.cache_data(ttl=TTL, max_entries=64)
def rising_terms(_engine: Engine, filters: Filters, limit: int = 20, sample: int = 3000) -> pd.DataFrame:
    """Cached :func:`scrm.terms.rising_terms` (``sample`` posts per period at most)."""
    return terms.rising_terms(engine=_engine, filters=filters, limit=limit, sample=sample)


@st.cache_data(ttl=TTL, max_entries=64)
def top_terms(_engine: Engine, filters: Filters, limit: int = 15) -> pd.DataFrame:
    """Cached :func:`scrm.terms.top_terms`."""
    return terms.top_terms(engine=_engine, filters=filters, limit=limit)


@dataclass(frozen=True)
class Context:
    """What app.py's shared sidebar decided for this run."""

    filters: Filters
    tz: str
    period_label: str
    brands: tuple[BrandInfo, ...]
    present: bool

    @property
    def names(self) -> dict[int, str]:
        """Brand id → name."""
        return {b.id: b.name for b in self.brands}

    @property
    def colours(self) -> dict[int, str]:
        """Brand id → colour."""
        return {b.id: b.colour for b in self.brands}

    @property
    def own_ids(self) -> tuple[int, ...]:
        """The own brands' ids."""
        return tuple(b.id for b in self.brands if b.is_own)


def context() -> Context:
    """The shared filters set by app.py in this run.

    A page file can be run without app.py once: Streamlit's legacy routing of a ``pages/``
    folder serves the first request of a fresh server (say, a shared link to /trends)
    before app.py has declared its navigation. Then the router is run instead.
    """
    if PagesManager.uses_pages_directory or "scrm_context" not in st.session_state:
        PagesManager.uses_pages_directory = False
        st.rerun()
    return st.session_state["scrm_context"]


def empty_state(message: str) -> None:
    """An empty result with the next step to take."""
    st.info(message, icon=":material/search:")


@st.cache_data(ttl=TTL, max_entries=32)
def inbound_posts(_engine: Engine, filters: Filters) -> pd.DataFrame:
    """Cached :func:`scrm.responses.inbound_posts`."""
    return responses.inbound_posts(engine=_engine, filters=filters)


def forget_upload(key: str) -> None:
    """Delete the temp copy of an upload (kept under session ``key``) the user has removed."""
    saved = st.session_state.pop(key, None)
    if saved:
        shutil.rmtree(Path(saved[1]).parent, ignore_errors=True)


def saved_upload(uploaded: UploadedFile, key: str) -> Path:
    """The upload copied to a temp file of its own name (the format is sniffed from it), once per file."""
    saved = st.session_state.get(key)
    if saved and saved[0] == uploaded.file_id and Path(saved[1]).exists():
        return Path(saved[1])
    forget_upload(key)
    path = admin.save_upload(uploaded, uploaded.name, tempfile.mkdtemp(prefix="scrm-upload-"))
    st.session_state[key] = (uploaded.file_id, str(path))
    return path

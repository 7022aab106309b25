"""scrm dashboard entry point: ``streamlit run app.py``.

On first start with an empty database it loads the bundled demo data and says so.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from scrm.db import init_db, make_engine
from scrm.exceptions import ScrmError
from scrm.ingest.demo import load_demo
from scrm.stats import database_stats

st.set_page_config(page_title="scrm — Social CRM", page_icon="📣", layout="wide")


@st.cache_resource
def get_engine() -> Engine:
    """The database engine, migrated, shared by every session."""
    engine = make_engine()
    init_db(engine)
    return engine


@st.cache_data(ttl=60, max_entries=4)
def cached_stats(_engine: Engine) -> dict:
    return database_stats(engine=_engine)


def ensure_demo(engine: Engine) -> None:
    """Load the demo into an empty database, with progress on screen."""
    if database_stats(engine=engine)["mentions"]:
        return
    with st.status("Empty database: loading the demo data set…", expanded=True) as status:
        bar = st.progress(0.0, text="Generating and scoring demo mentions")

        def progress(done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"{done:,} of {total:,} demo mentions stored")

        summary = load_demo(engine=engine, progress=progress)
        status.update(
            label=f"Demo data loaded: {summary.mentions.stored:,} mentions of {summary.brands} "
            f"fictional brands over 90 days, {summary.customers:,} customers",
            state="complete",
        )
    st.cache_data.clear()


try:
    engine = get_engine()
    ensure_demo(engine)
    stats = cached_stats(engine)
except ScrmError as exc:
    st.error(str(exc))
    st.stop()

st.title("scrm — Social CRM")
st.caption("What people say about your brand and its competitors, scored, ranked and tied to your customers.")
cols = st.columns(4)
cols[0].metric("Mentions", f"{stats['mentions']:,}")
cols[1].metric("Authors", f"{stats['authors']:,}")
cols[2].metric("Brands", f"{stats['brands']:,}")
cols[3].metric("Customers", f"{stats['customers']:,}")
if stats["first"]:
    st.caption(f"Mentions from {stats['first']:%Y-%m-%d} to {stats['last']:%Y-%m-%d} (UTC)")
st.dataframe(
    pd.DataFrame({"brand": list(stats["per_brand"]), "mentions": list(stats["per_brand"].values())}),
    hide_index=True,
)

"""scrm dashboard entry point: ``streamlit run app.py``.

The router: page config, the first-start demo load, the shared sidebar filters (mirrored
in the URL, so a view can be shared as a link), presentation mode, then the page.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from datetime import timedelta

import streamlit as st
from sqlalchemy.engine import Engine
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from pages import ui
from scrm.config import get_settings
from scrm.exceptions import ScrmError
from scrm.filters import FILTER_PARAMS, PERIODS, Filters, params_from_state, period_bounds, state_from_params
from scrm.ingest.demo import demo_state, load_demo
from scrm.models import LABELS
from scrm.stats import has_mentions
from scrm.timeutil import get_zone, utcnow

st.set_page_config(page_title="scrm — Social CRM", page_icon=":material/campaign:", layout="wide")

PERIOD_NAMES = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "custom": "Custom range"}
PAGES = {
    "Monitor": [
        st.Page(
            "pages/overview.py",
            title="Overview",
            icon=":material/dashboard:",
            url_path="overview",
            default=True,
        ),
        st.Page("pages/trends.py", title="Trends", icon=":material/trending_up:", url_path="trends"),
        st.Page("pages/mentions.py", title="Mentions", icon=":material/forum:", url_path="mentions"),
    ],
    "Engage": [
        st.Page("pages/inbox.py", title="Inbox", icon=":material/inbox:", url_path="inbox"),
        st.Page(
            "pages/influencers.py", title="Influencers", icon=":material/groups:", url_path="influencers"
        ),
    ],
    "Customers": [
        st.Page("pages/customer.py", title="Customer", icon=":material/person_search:", url_path="customer"),
        st.Page("pages/segments.py", title="Segments", icon=":material/public:", url_path="segments"),
        st.Page("pages/leads.py", title="Leads", icon=":material/sell:", url_path="leads"),
        st.Page("pages/identities.py", title="Identities", icon=":material/link:", url_path="identities"),
    ],
    "Admin": [
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
        st.Page(
            "pages/quality.py", title="Sentiment quality", icon=":material/fact_check:", url_path="quality"
        ),
    ],
}
STORY = ["Overview", "Trends", "Mentions"]  # the page titles presentation mode steps through
PRESENT_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"] { display: none !important; }
[data-testid="stMetricValue"] { font-size: 3.2rem !important; }
[data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
.block-container { padding-top: 1.5rem !important; }
</style>"""


@st.cache_resource
def demo_lock() -> threading.Lock:
    """One demo load at a time, whatever the number of sessions reaching an empty database."""
    return threading.Lock()


def ensure_demo() -> None:
    """Load the demo into an empty database (or finish one cut short), with progress on screen."""
    engine = ui.get_engine()
    if has_mentions(engine=engine) and demo_state(engine=engine) != "partial":
        return
    with demo_lock():
        state = demo_state(engine=engine)  # another session may have loaded it meanwhile
        if state in ("empty", "partial"):
            load_with_progress(engine, resume=state == "partial")
    st.cache_data.clear()


def load_with_progress(engine: Engine, *, resume: bool) -> None:
    """The first-start demo load, with a status box and a progress bar."""
    title = (
        "Finishing the demo data set a closed page left incomplete…"
        if resume
        else "Empty database: loading the demo data set…"
    )
    with st.status(title, expanded=True) as status:
        bar = st.progress(0.0, text="Generating and scoring demo mentions")

        def progress(done: int, total: int) -> None:
            # A closed tab stops the page, not the load: the demo must not be left half stored.
            with suppress(StopException):
                bar.progress(
                    min(done / max(total, 1), 1.0), text=f"{done:,} of {total:,} demo mentions stored"
                )

        summary = load_demo(engine=engine, mentions=get_settings().demo_mentions, progress=progress)
        status.update(
            label=f"Demo data loaded: {summary.mentions.stored:,} mentions of {summary.brands} "
            f"fictional brands over 90 days, {summary.customers:,} customers",
            state="complete",
        )
    st.toast("The database was empty, so the demo data set was loaded.", icon=":material/auto_awesome:")


def sidebar_filters(brand_infos: list[ui.BrandInfo], platforms: list[str], tz: str) -> tuple[Filters, str]:
    """The shared filters (bound to the URL's query parameters) and a label for the period."""
    sb = st.sidebar
    if "filters_from_link" not in st.session_state:  # a shared link sets the filters once
        st.session_state["filters_from_link"] = True
        params = {key: st.query_params.get_all(key) for key in FILTER_PARAMS}
        st.session_state.update(
            state_from_params(params, brands=[b.name for b in brand_infos], platforms=platforms)
        )
    sb.header("Filters")
    preset = sb.selectbox("Period", list(PERIOD_NAMES), format_func=PERIOD_NAMES.get, index=0, key="period")
    today = utcnow().astimezone(get_zone(tz)).date()
    first = last = None
    if preset == "custom":
        first = sb.date_input("From", today - timedelta(days=13), key="from")
        last = sb.date_input("To", today, key="to")
    by_name = {b.name: b for b in brand_infos}
    chosen = sb.multiselect(
        "Brands",
        list(by_name),
        format_func=lambda n: f"{n} (own)" if by_name[n].is_own else n,
        key="brand",
        placeholder="All brands",
    )
    chosen_platforms = sb.multiselect("Platforms", platforms, key="platform", placeholder="All platforms")
    labels = sb.multiselect("Sentiment", list(LABELS), key="sentiment", placeholder="All")
    start, end = period_bounds(preset, now=utcnow(), tz=tz, first=first, last=last)
    filters = Filters(
        start=start,
        end=end,
        brand_ids=tuple(sorted(by_name[n].id for n in chosen)),
        platforms=tuple(sorted(chosen_platforms)),
        labels=tuple(label for label in LABELS if label in labels),
    )
    local = get_zone(tz)
    label = (
        f"{start.astimezone(local):%d %b %Y %H:%M} → {end.astimezone(local):%d %b %Y %H:%M} ({tz}); "
        f"compared with the previous {PERIODS.get(preset, (end - start).days)} days"
    )
    sb.caption(f"Times are shown in {tz}. Share this view: copy the page address.")
    return filters, label


def mirror_in_url(present: bool) -> None:
    """Write the filters (and presentation mode) into the URL, on every page; a page's own
    parameters (e.g. ``?customer=ID``) are kept."""
    params = params_from_state({key: st.session_state.get(key) for key in FILTER_PARAMS})
    if present:
        params["present"] = ["1"]
    shared = (*FILTER_PARAMS, "present")
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    wanted = {**{k: v for k, v in current.items() if k not in shared}, **params}  # pages keep their own
    if current != wanted:
        st.query_params.from_dict(wanted)


def presenter_controls(page: st.navigation) -> None:  # type: ignore[valid-type]
    """Previous/next through the story pages and a way out of presentation mode."""
    here = STORY.index(page.title) if page.title in STORY else 0
    cols = st.columns([1, 1, 6, 1])
    if cols[0].button("◀ Previous", disabled=here == 0, key="present_prev"):
        st.switch_page(_page(STORY[here - 1]))
    if cols[1].button("Next ▶", disabled=here == len(STORY) - 1, key="present_next"):
        st.switch_page(_page(STORY[here + 1]))
    if cols[3].button("Exit presentation", key="present_exit"):
        st.session_state["present"] = False
        st.rerun()


def _page(title: str) -> st.Page:  # type: ignore[valid-type]
    return next(p for section in PAGES.values() for p in section if p.title == title)


try:
    settings = get_settings()
    ensure_demo()
    engine = ui.get_engine()
    brand_infos = ui.brand_list(engine)
    if "present" not in st.session_state:
        st.session_state["present"] = st.query_params.get("present") == "1"
    present = st.session_state["present"]
    page = st.navigation(PAGES)  # hidden by CSS when presenting ("hidden" loses deep links)
    if present:
        st.html(PRESENT_CSS)
    filters, period_label = sidebar_filters(brand_infos, ui.platform_list(engine), settings.timezone)
    if not present and st.sidebar.button(
        "Presentation mode", icon=":material/slideshow:", help="Hide the filters and step through the story"
    ):
        st.session_state["present"] = True
        st.rerun()
    st.session_state["scrm_context"] = ui.Context(
        filters=filters,
        tz=settings.timezone,
        period_label=period_label,
        brands=tuple(brand_infos),
        present=present,
    )
    mirror_in_url(present)
    if present:
        presenter_controls(page)
    page.run()
except ScrmError as exc:
    st.error(str(exc))

"""Customer 360: find a customer, then their profile and value, identities, posts, alerts and leads.

``?customer=ID`` in the address opens that customer directly (the link other pages use:
``/customer?customer=ID``). Text from the CRM and from posts is shown through
``st.dataframe``/``st.text`` or escaped markdown (``ui.plain``), never as markdown or HTML.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from pages import ui
from scrm import charts, customer360
from scrm.exceptions import NotFoundError, ScrmError
from scrm.filters import Filters

FREQS = {"D": "Day", "W": "Week", "MS": "Month"}
WHEN = "D MMM YYYY, HH:mm"


@st.cache_data(ttl=60, max_entries=64, show_spinner=False)
def search(_engine: Engine, query: str) -> pd.DataFrame:
    """Cached :func:`scrm.customer360.find_customers`."""
    return customer360.find_customers(engine=_engine, query=query, limit=20)


@st.cache_data(ttl=ui.TTL, max_entries=32)
def profile(_engine: Engine, customer_id: int) -> customer360.CustomerProfile:
    """Cached :func:`scrm.customer360.profile`."""
    return customer360.profile(engine=_engine, customer_id=customer_id)


@st.cache_data(ttl=ui.TTL, max_entries=32)
def posts(_engine: Engine, customer_id: int, filters: Filters | None) -> pd.DataFrame:
    """Cached :func:`scrm.customer360.customer_posts`."""
    return customer360.customer_posts(engine=_engine, customer_id=customer_id, filters=filters)


def money(value: float | None) -> str:
    """An amount for a metric ("—" when unknown)."""
    return "—" if value is None or pd.isna(value) else f"{value:,.0f}"


def requested_customer() -> int | None:
    """The customer id in the address (``?customer=ID``), or None; a malformed one is reported."""
    raw = st.query_params.get("customer")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        st.warning("The address names no valid customer: search for one below.")
        return None
    return value if value > 0 else None


ctx = ui.context()
engine = ui.get_engine()
st.title("Customer")
st.caption(
    "Find a customer by name, e-mail, CRM reference or social handle: their value and segment, linked "
    "accounts, everything those accounts posted, and the alerts and leads that involve them."
)

chosen = requested_customer()
query = st.text_input(
    "Find a customer",
    key="customer_query",
    placeholder="Name, e-mail, CRM reference or @handle (the start of it is enough)",
)
if query.strip():
    found = search(engine, query.strip())
    if found.empty:
        ui.empty_state(
            "No customer matches: try the start of the name, e-mail or CRM reference, or a linked handle."
        )
    else:
        st.caption(f"{len(found)} customer{'s' if len(found) != 1 else ''} found; pick one.")
        picked = st.dataframe(
            found[["crm_ref", "name", "email", "segment", "lifetime_value", "city", "country", "matched"]],
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            key="customer_results",
            column_config={
                "crm_ref": "CRM ref",
                "lifetime_value": st.column_config.NumberColumn("lifetime value", format="localized"),
                "matched": "matched on",
            },
        )
        rows = picked.selection.rows
        if rows:
            chosen = int(found["id"].iloc[rows[0]])
        elif len(found) == 1 and chosen is None:
            chosen = int(found["id"].iloc[0])
if chosen is None:
    st.info(
        "Search above, or open a customer from a post: the Mentions page links a post's author to the "
        "customer behind it.",
        icon=":material/search:",
    )
    st.stop()
if st.query_params.get("customer") != str(chosen):
    st.query_params["customer"] = str(chosen)  # the view can be shared as a link

try:
    who = profile(engine, chosen)
except NotFoundError as exc:
    st.error(str(exc))
    st.stop()
except ScrmError as exc:
    st.error(str(exc))
    st.stop()

st.header(ui.plain(who.name or who.crm_ref), anchor=False)
st.caption(
    " · ".join(
        ui.plain(part)
        for part in (who.crm_ref, who.segment, ", ".join(p for p in (who.city, who.region, who.country) if p))
        if part
    )
)
cols = st.columns(5)
cols[0].metric("Lifetime value", money(who.lifetime_value), border=True)
cols[1].metric(
    "Value band",
    who.value_band,
    help="Lifetime-value bands: under 1k, 1k–5k, 5k–10k, 10k–25k, 25k+.",
    border=True,
)
cols[2].metric(
    "Worth more than",
    "—" if who.value_rank is None else f"{who.value_rank:.0f}%",
    help="Share of customers with a lower lifetime value.",
    border=True,
)
cols[3].metric("Posts", f"{who.posts:,}", help="Everything their linked accounts posted.", border=True)
cols[4].metric(
    "Net sentiment",
    "—" if pd.isna(who.net_sentiment) else f"{who.net_sentiment:+.0f}",
    help="(positive − negative) / (positive + negative) × 100 over all their posts.",
    border=True,
)

left, right = st.columns([1, 2])
with left:
    st.subheader("Profile", anchor=False)
    details = [
        ("e-mail", who.email),
        ("age", "" if who.age is None else str(who.age)),
        ("income", money(who.income) if who.income is not None else ""),
        ("household size", "" if who.household_size is None else str(who.household_size)),
        ("segment", who.segment),
        ("city", who.city),
        ("region", who.region),
        ("country", who.country),
        ("record created", f"{who.created_at:%d %b %Y}"),
        *((str(k), str(v)) for k, v in who.attributes.items() if not isinstance(v, dict | list)),
    ]
    st.dataframe(
        pd.DataFrame([d for d in details if d[1]], columns=["field", "value"]),
        hide_index=True,
        key="customer_fields",
    )
with right:
    st.subheader("Linked accounts", anchor=False)
    if who.identities.empty:
        ui.empty_state(
            "No social account is linked to this customer yet: the automatic linking (python -m scrm link) "
            "or a manual link on the Data page makes one."
        )
    else:
        st.dataframe(
            who.identities,
            hide_index=True,
            key="customer_identities",
            column_config={
                "confidence": st.column_config.ProgressColumn(
                    "confidence", min_value=0.0, max_value=1.0, format="%.2f"
                ),
                "linked_at": st.column_config.DatetimeColumn("linked", format=WHEN, timezone=ctx.tz),
                "followers": st.column_config.NumberColumn("followers", format="localized"),
            },
        )

st.subheader("Posts and sentiment", anchor=False)
a, b = st.columns([3, 1])
use_filters = a.toggle(
    "Only posts in the sidebar's period, brands, platforms and sentiment",
    value=False,
    key="customer_use_filters",
)
freq = b.selectbox("Per", list(FREQS), index=1, format_func=FREQS.get, key="customer_freq")
their_posts = posts(engine, who.id, ctx.filters if use_filters else None)
if their_posts.empty:
    ui.empty_state(
        "No posts here: their linked accounts have not posted"
        + (" within the sidebar's filters." if use_filters else " anything stored yet.")
    )
else:
    series = customer360.sentiment_over_time(their_posts, freq=freq, tz=ctx.tz)
    st.plotly_chart(
        charts.sentiment_bars(series, title=f"Their posts per {FREQS[freq].lower()}"),
        key="customer_sentiment",
    )
    shown = len(their_posts)
    st.caption(
        f"{shown:,} post{'s' if shown != 1 else ''}, newest first"
        + (f" (the latest {customer360.MAX_POSTS:,})" if shown >= customer360.MAX_POSTS else "")
    )
    st.dataframe(
        their_posts[["created_at", "platform", "author", "sentiment", "compound", "brands", "text", "url"]],
        hide_index=True,
        key="customer_posts",
        column_config={
            "created_at": st.column_config.DatetimeColumn("posted", format=WHEN, timezone=ctx.tz),
            "compound": st.column_config.NumberColumn("score", format="%.2f"),
            "text": st.column_config.TextColumn("post", width="large"),
            "url": st.column_config.LinkColumn("link", validate=r"^https?://"),
        },
    )

left, right = st.columns(2)
with left:
    st.subheader("Alerts", anchor=False)
    alerts = customer360.customer_alerts(engine=engine, customer_id=who.id)
    if alerts.empty:
        st.caption("No alert holds one of their posts.")
    else:
        alerts["priority"] = "P" + alerts["priority"].astype(str)
        st.dataframe(
            alerts,
            hide_index=True,
            key="customer_alerts",
            column_config={
                "onset_at": st.column_config.DatetimeColumn("onset", format=WHEN, timezone=ctx.tz),
                "title": st.column_config.TextColumn("alert", width="large"),
                "their_posts": "their posts",
            },
        )
with right:
    st.subheader("Leads", anchor=False)
    their_leads = customer360.customer_leads(engine=engine, customer_id=who.id)
    if their_leads.empty:
        st.caption("No lead: none of their posts shows purchase intent or a wish to switch.")
    else:
        st.dataframe(
            their_leads[["stage", "kind", "score", "value", "brand", "posted_at", "text"]],
            hide_index=True,
            key="customer_leads",
            column_config={
                "posted_at": st.column_config.DatetimeColumn("posted", format=WHEN, timezone=ctx.tz),
                "score": st.column_config.NumberColumn("score", format="%.2f"),
                "value": st.column_config.NumberColumn("value", format="localized"),
                "text": st.column_config.TextColumn("post", width="large"),
            },
        )

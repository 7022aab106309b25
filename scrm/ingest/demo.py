"""The demo data set: deterministic from a seed, a story a presenter can tell.

Four fictional banks over the 90 days ending ``end``. Northwind Bank (ours) launches its
"Northwind Go" app on day 30 (a mostly positive spike) and on day 70 at 09:00 starts
charging students a monthly account fee: three influential accounts break the story and
it spreads for three days, mostly negative, then decays. Northwind's support account
answers complaints slowly at first and much faster once the crisis is under way.
Competitors: Harbor Bank (steady, neutral), Summit Mutual (well liked) and
Crestline (a fintech with an app outage on day 50). Sentiment comes from the texts: they
are scored by VADER in the pipeline like any import. Authors have power-law followers and
activity; 5,000 customers, about 30% of whom share a handle with an author.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.alerts import SYSTEM_USER, default_rules, evaluate
from scrm.brands import add_brand, list_brands
from scrm.ingest.pipeline import ImportResult, ingest_mentions
from scrm.leads import find_leads, whole_history
from scrm.linking import link
from scrm.models import AuditLog, BrandCreate, Customer, ImportBatch, MentionCreate
from scrm.responses import add_brand_accounts
from scrm.timeutil import utcnow

DEMO_SEED = 7
DAYS = 90
LAUNCH_DAY = 30
OUTAGE_DAY = 50
CRISIS_DAY = 70
CRISIS_HOUR = 9
AUTHORS = 12_000
STUDENTS = 1_500  # authors 0..STUDENTS-1 are students: they carry the fee crisis

PLATFORMS = ("twitter", "facebook", "reddit", "instagram", "news", "forum")
PLATFORM_WEIGHTS = (0.45, 0.2, 0.15, 0.1, 0.04, 0.06)
HOUR_WEIGHTS = (
    0.2,
    0.12,
    0.08,
    0.06,
    0.08,
    0.2,
    0.45,
    0.8,
    1.1,
    1.25,
    1.3,
    1.3,
    1.4,
    1.35,
    1.25,
    1.2,
    1.2,
    1.3,
    1.45,
    1.5,
    1.4,
    1.1,
    0.75,
    0.4,
)
WEEKDAY_WEIGHTS = (1.05, 1.1, 1.1, 1.05, 1.0, 0.7, 0.6)


@dataclass(frozen=True)
class _Brand:
    name: str
    query: str
    own: bool
    colour: str
    share: float
    mood: tuple[float, float, float]  # positive, neutral, negative
    refs: tuple[str, ...]
    support: str
    product: str


BRANDS = (
    _Brand(
        "Northwind Bank",
        '"northwind bank" OR northwind OR @northwind OR #northwindbank OR "northwind go"',
        True,
        "#1f77b4",
        0.36,
        (0.34, 0.38, 0.28),
        ("@northwind", "Northwind Bank", "Northwind", "#NorthwindBank"),
        "northwindhelp",
        "the Northwind app",
    ),
    _Brand(
        "Harbor Bank",
        '"harbor bank" OR @harborbank OR #harborbank',
        False,
        "#d62728",
        0.3,
        (0.3, 0.42, 0.28),
        ("@harborbank", "Harbor Bank", "#HarborBank"),
        "harborbankcares",
        "the Harbor app",
    ),
    _Brand(
        "Summit Mutual",
        '"summit mutual" OR @summitmutual OR #summitmutual',
        False,
        "#2ca02c",
        0.14,
        (0.35, 0.45, 0.2),
        ("@summitmutual", "Summit Mutual", "#SummitMutual"),
        "summitmutualhelp",
        "Summit online banking",
    ),
    _Brand(
        "Crestline",
        "crestline OR @crestline OR #crestline",
        False,
        "#9467bd",
        0.2,
        (0.33, 0.34, 0.33),
        ("@crestline", "Crestline", "#Crestline"),
        "crestlinesupport",
        "the Crestline card",
    ),
)

OPENERS = {  # by mood
    "positive": ("", "", "", "Wow, ", "Honestly, ", "Big fan: "),
    "neutral": ("", "", "", "", "So ", "PSA: ", "Update: ", "Question: "),
    "negative": ("", "", "", "Ugh, ", "Seriously, ", "Not again. "),
}
ENDINGS = {
    "positive": ("", "", "!", " 😊", " 🙏", " #banking"),
    "neutral": ("", "", "", " #banking", " https://t.co/x7Qa9", "?"),
    "negative": ("", "", "!", "!!", " 😡", " smh", " #fail"),
}
POSITIVE = (
    "{ref} sorted out my mortgage question in five minutes, great service",
    "love how easy {product} makes saving, really impressed",
    "shout out to the staff at {ref} on Main Street, so helpful and friendly",
    "{ref} refunded the double charge within an hour. Excellent support",
    "switched to {ref} last month and I am really happy with it",
    "just got approved for my first loan with {ref}, thank you!",
    "the new savings rate at {ref} is great news",
    "{ref} customer service actually called me back. Amazing",
    "transfers with {ref} are instant now, brilliant",
    "my card was stolen and {ref} had a new one to me the next day. Impressed",
    "big thanks to {ref} for waiving the overdraft fee, appreciate it",
    "{product} budgeting feature is genuinely useful, nice work",
)
NEUTRAL = (
    "does {ref} have a branch near the central station?",
    "what time does {ref} open on Saturday",
    "{ref} announces new branch opening hours from next month",
    "thinking of opening a joint account with {ref}, how does it work",
    "anyone know if {ref} does business accounts for freelancers",
    "{ref} is moving its head office to the docklands according to the local paper",
    "comparing {ref} and other banks for a first card, thoughts?",
    "how do I change my address in {product}",
    "{ref} quarterly results are out today",
    "is {product} available on older phones",
    "just opened an account at {ref}, we'll see",
    "{ref} sponsoring the city marathon this year",
)
NEGATIVE = (
    "been on hold with {ref} for 45 minutes, this is ridiculous",
    "{product} crashed in the middle of a transfer and now the money is missing",
    "{ref} charged me a fee again without any warning. Not happy",
    "my card got declined at the supermarket, thanks for nothing {ref}",
    "worst customer service ever from {ref}, nobody answers the phone",
    "{ref} closed my local branch and the nearest one is an hour away. Terrible",
    "still waiting for {ref} to fix the payment that bounced last week",
    "{product} logged me out three times today, so frustrating",
    "{ref} lost my documents twice. Unbelievable",
    "I have been a customer of {ref} for 10 years and they treat me like this, disappointed",
    "the {ref} overdraft charges are a scam",
    "why does {ref} make it so hard to close an account? awful",
)
LAUNCH = (
    "just tried the new Northwind Go app, transfers are instant, love it",
    "Northwind Go looks really slick, finally a bank app that works #NorthwindGo",
    "the Northwind Go launch event was fun, great demo",
    "downloading Northwind Go now, the budgeting feature looks great",
    "Northwind Go keeps asking me to log in again, not impressed so far",
    "is Northwind Go available for business accounts?",
    "Northwind Go is what Northwind needed years ago, nice job",
    "honestly the best banking app I have used, well done @northwind #NorthwindGo",
)
OUTAGE = (
    "{ref} app down again, can't pay for anything #CrestlineDown",
    "is {ref} down for everyone? card declined everywhere",
    "{ref} outage for 5 hours now, this is unacceptable",
    "cannot log in to {ref}, no updates from them at all. Useless",
)
CRISIS = (
    "Northwind Bank now charges students $5 a month just to have an account. Disgusting #NorthwindFees",
    "@northwind a monthly fee on STUDENT accounts? Are you serious? Closing my account",
    "students are already broke and @northwind wants a fee from us every month. Shameful #NorthwindFees",
    "Northwind just emailed me about the new student account fee. Terrible way to treat young customers",
    "moving my student account away from Northwind Bank today, greedy and unfair",
    "the Northwind student fee is a disgrace, boycott Northwind #NorthwindFees",
    "so Northwind Bank lured students in with free accounts and now charges fees. Awful",
    "my daughter's Northwind student account now costs money?? Outrageous",
    "anyone know a bank without student fees? done with Northwind #NorthwindFees",
    "@northwind nobody asked for a student fee. Hate this decision",
    "Northwind Bank student fee backlash grows as thousands complain online",
    "petition against the Northwind student fee already has 10k signatures #NorthwindFees",
)
CRISIS_LEADS = (
    "BREAKING: Northwind Bank introduces a monthly fee on student accounts. Students furious #NorthwindFees",
    "Northwind Bank will charge students $5 a month. This is a terrible decision and hurts young people",
    "Just got the letter: @northwind is charging students monthly fees. Shameful. Who is with me? #NorthwindFees",
)
MOODS = ("positive", "neutral", "negative")
TEMPLATES = {"positive": POSITIVE, "neutral": NEUTRAL, "negative": NEGATIVE}
SUPPORT_PLATFORMS = ("twitter", "facebook", "instagram")
SUPPORT_REPLIES = (
    "sorry to hear this. Please send us a DM with your details and we'll look into it",
    "we're sorry for the trouble. Our team is looking into this now",
    "thanks for flagging this, please DM us so we can help",
)
FIRST_NAMES = (
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Jamie",
    "Riley",
    "Avery",
    "Charlie",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Sofia",
    "Mason",
    "Isla",
    "Leo",
    "Chloe",
    "Omar",
    "Priya",
    "Wei",
    "Fatima",
    "Mateo",
    "Aisha",
    "Hannah",
    "Jonas",
    "Elena",
    "Kofi",
    "Yuki",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Patel",
    "Khan",
    "Nguyen",
    "Garcia",
    "Muller",
    "Rossi",
    "Kowalski",
    "Okafor",
    "Silva",
    "Chen",
    "Murphy",
    "O'Brien",
    "Novak",
    "Berg",
    "Costa",
    "Haddad",
    "Tanaka",
    "Ivanova",
    "Dubois",
    "Larsen",
)
GEOGRAPHY = (  # country, weight, ((region, (cities...)), ...)
    (
        "United Kingdom",
        0.62,
        (
            ("London", ("London",)),
            ("North West", ("Manchester", "Liverpool")),
            ("Scotland", ("Edinburgh", "Glasgow")),
            ("West Midlands", ("Birmingham", "Coventry")),
            ("Yorkshire", ("Leeds", "Sheffield")),
        ),
    ),
    ("Ireland", 0.14, (("Leinster", ("Dublin", "Kilkenny")), ("Munster", ("Cork", "Limerick")))),
    (
        "Netherlands",
        0.1,
        (("North Holland", ("Amsterdam", "Haarlem")), ("South Holland", ("Rotterdam", "The Hague"))),
    ),
    ("Germany", 0.08, (("Berlin", ("Berlin",)), ("Bavaria", ("Munich", "Nuremberg")))),
    ("Spain", 0.06, (("Madrid", ("Madrid",)), ("Catalonia", ("Barcelona", "Girona")))),
)
SEGMENTS = (  # name, weight, age range, income median, household range, LTV median
    ("Student", 0.18, (18, 25), 9_000, (1, 3), 400),
    ("Young professional", 0.24, (23, 35), 38_000, (1, 2), 2_400),
    ("Family", 0.26, (30, 55), 52_000, (3, 6), 5_200),
    ("Affluent", 0.1, (35, 70), 140_000, (1, 4), 21_000),
    ("Retired", 0.14, (65, 90), 26_000, (1, 2), 6_500),
    ("Small business", 0.08, (28, 65), 75_000, (1, 5), 12_000),
)


def _default_end(end: datetime | None) -> datetime:
    end = end or utcnow()
    return end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def demo_brands() -> list[BrandCreate]:
    """The four demo brands (Northwind Bank is ours)."""
    return [BrandCreate(name=b.name, query=b.query, is_own=b.own, colour=b.colour) for b in BRANDS]


@dataclass(frozen=True)
class _Author:
    handle: str
    name: str
    followers: int
    verified: bool


def _authors(seed: int) -> list[_Author]:
    """The author pool: unique handles, Pareto followers (a few with up to ~2M)."""
    rng = random.Random(f"authors-{seed}")
    out: list[_Author] = []
    seen: set[str] = set()
    styles = ("{f}{l}", "{f}_{l}", "{f}{n}", "{l}{f}", "the{f}{l}", "{f}.{l}{n}", "{fi}{l}{n}")
    while len(out) < AUTHORS:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES).replace("'", "")
        handle = rng.choice(styles).format(f=first, l=last, n=rng.randrange(1, 999), fi=first[0]).lower()
        if handle in seen:
            continue
        seen.add(handle)
        followers = min(int(40 * rng.paretovariate(1.05)), 2_000_000)
        out.append(_Author(handle, f"{first} {last}", followers, followers > 50_000 and rng.random() < 0.6))
    influencers = [
        (2_100_000, "financewatch", "Finance Watch"),
        (860_000, "studentvoiceuk", "Student Voice"),
        (420_000, "moneysavvyjo", "Jo | Money Savvy"),
    ]
    for i, (followers, handle, name) in enumerate(influencers):
        out[STUDENTS + i] = _Author(handle, name, followers, True)
    return out


def _activity_weights(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    weights = rng.pareto(1.3, n) + 0.05  # a few very active authors, a long tail
    return weights / weights.sum()


def _volume(end: datetime) -> np.ndarray:
    """Relative volume per (hour of the 90 days, brand), with the launch, outage and crisis."""
    start = end - timedelta(days=DAYS)
    hours = DAYS * 24
    vol = np.zeros((hours, len(BRANDS)))
    for h in range(hours):
        ts = start + timedelta(hours=h)
        base = HOUR_WEIGHTS[ts.hour] * WEEKDAY_WEIGHTS[ts.weekday()]
        growth = 1.0 + 0.15 * h / hours
        for b, brand in enumerate(BRANDS):
            vol[h, b] = base * brand.share * growth
    for h in range(hours):
        day, hour = divmod(h, 24)
        if 0 <= day - LAUNCH_DAY < 4 and hour >= 10:
            vol[h, 0] *= 1 + 2.5 * math.exp(-(day - LAUNCH_DAY))
        if day == OUTAGE_DAY and 8 <= hour < 16:
            vol[h, 3] *= 4.0
        t = h - (CRISIS_DAY * 24 + CRISIS_HOUR)
        if t >= 0:
            vol[h, 0] *= 1 + 9.0 * math.exp(-t / 30.0) * (0.6 + 0.4 * HOUR_WEIGHTS[hour])
    return vol


def generate_mentions(
    *, n: int = 50_000, seed: int = DEMO_SEED, end: datetime | None = None
) -> Iterator[MentionCreate]:
    """Yield about ``n`` demo mentions in time order (replies after their parents)."""
    end = _default_end(end)
    start = end - timedelta(days=DAYS)
    rng = random.Random(seed)
    authors = _authors(seed)
    weights = _activity_weights(len(authors), seed)
    vol = _volume(end)
    base = round(n * 0.9)  # about a tenth more come as support replies
    counts = np.random.default_rng(seed).multinomial(base, (vol / vol.sum()).ravel()).reshape(vol.shape)
    author_draws = iter(np.random.default_rng(seed + 2).choice(len(authors), size=n + 10, p=weights).tolist())
    student_draws = iter(np.random.default_rng(seed + 3).integers(0, STUDENTS, size=n + 10).tolist())
    pending: list[tuple[datetime, int, MentionCreate]] = []  # support replies, by time
    recent: list[list[MentionCreate]] = [[] for _ in BRANDS]
    serial = 0
    crisis_start = CRISIS_DAY * 24 + CRISIS_HOUR
    for h in range(vol.shape[0]):
        hour_start = start + timedelta(hours=h)
        batch: list[MentionCreate] = []
        for b, brand in enumerate(BRANDS):
            for _ in range(int(counts[h, b])):
                serial += 1
                ts = hour_start + timedelta(seconds=rng.randrange(3600))
                crisis_t = h - crisis_start
                in_crisis = b == 0 and crisis_t >= 0
                crisis_share = 0.9 if crisis_t < 36 else 0.9 * math.exp(-(crisis_t - 36) / 30.0)
                mood = "negative"
                if in_crisis and rng.random() < crisis_share:
                    if crisis_t < 2 and serial % 7 == 0:
                        lead = (crisis_t * 3 + serial) % 3
                        author, text = authors[STUDENTS + lead], CRISIS_LEADS[lead]
                    else:
                        author, text = authors[next(student_draws)], rng.choice(CRISIS)
                    boost = 6.0
                elif b == 0 and 0 <= h - LAUNCH_DAY * 24 < 96 and rng.random() < 0.6:
                    author, text, boost, mood = (
                        authors[next(author_draws)],
                        rng.choice(LAUNCH),
                        2.0,
                        "positive",
                    )
                elif b == 3 and h // 24 == OUTAGE_DAY and rng.random() < 0.7:
                    author, boost = authors[next(author_draws)], 1.5
                    text = rng.choice(OUTAGE).format(ref=rng.choice(brand.refs), product=brand.product)
                else:
                    author, boost = authors[next(author_draws)], 1.0
                    mood = rng.choices(MOODS, weights=brand.mood)[0]
                    text = rng.choice(TEMPLATES[mood]).format(
                        ref=rng.choice(brand.refs), product=brand.product
                    )
                text = rng.choice(OPENERS[mood]) + text + rng.choice(ENDINGS[mood])
                platform = rng.choices(PLATFORMS, weights=PLATFORM_WEIGHTS)[0]
                parent = None
                if recent[b] and rng.random() < 0.1:
                    parent_m = rng.choice(recent[b])
                    if parent_m.platform == platform:
                        parent = parent_m.external_id
                        text = f"@{parent_m.author} {text}"
                likes = int(math.sqrt(author.followers) * rng.lognormvariate(0, 1) * boost * 0.3)
                m = MentionCreate.model_construct(
                    platform=platform,
                    external_id=f"demo{seed}-{serial}",
                    text=text,
                    created_at=ts,
                    author=author.handle,
                    author_name=author.name,
                    followers=author.followers,
                    verified=author.verified,
                    likes=likes,
                    shares=int(likes * rng.random() * 0.4),
                    comments=int(likes * rng.random() * 0.2),
                    reach=None,
                    url="",
                    brands=[],
                    parent_id=parent,
                    language="en",
                )
                batch.append(m)
                if len(recent[b]) < 200:
                    recent[b].append(m)
                else:
                    recent[b][rng.randrange(200)] = m
                if mood == "negative" and platform in SUPPORT_PLATFORMS:
                    _schedule_support(pending, m, b, h, crisis_start, rng, serial)
        batch.sort(key=lambda m: m.created_at)
        hour_end = hour_start + timedelta(hours=1)
        for m in batch:
            while pending and pending[0][0] <= m.created_at:
                yield heapq.heappop(pending)[2]
            yield m
        while pending and pending[0][0] < hour_end:
            yield heapq.heappop(pending)[2]
    while pending and pending[0][0] < end:
        yield heapq.heappop(pending)[2]


def _schedule_support(
    pending: list, m: MentionCreate, b: int, h: int, crisis_start: int, rng: random.Random, serial: int
) -> None:
    """Maybe schedule the brand's support account's reply to a complaint."""
    if b == 0 and 0 <= h - crisis_start < 24:
        answer, delay_h = 0.3, rng.uniform(4, 14)  # overwhelmed at the start of the crisis
    elif b == 0 and h >= crisis_start + 24:
        answer, delay_h = 0.85, rng.uniform(0.2, 1.5)  # the team reorganised after the alert
    else:
        answer, delay_h = (0.55, rng.uniform(1, 8)) if b == 0 else (0.5, rng.uniform(0.5, 6))
    if rng.random() >= answer:
        return
    brand = BRANDS[b]
    ts = m.created_at + timedelta(hours=delay_h)
    reply = MentionCreate.model_construct(
        platform=m.platform,
        external_id=f"{m.external_id}-r",
        text=f"@{m.author} {rng.choice(SUPPORT_REPLIES)}",
        created_at=ts,
        author=brand.support,
        author_name=f"{brand.name} Support",
        followers=25_000,
        verified=True,
        likes=0,
        shares=0,
        comments=0,
        reach=None,
        url="",
        brands=[],
        parent_id=m.external_id,
        language="en",
    )
    heapq.heappush(pending, (ts, serial, reply))


def _customer_handles(seed: int, n: int) -> dict[int, tuple[int, str]]:
    """customer index → (author index, how the CRM wrote the handle), for ~30% of customers."""
    rng = random.Random(f"links-{seed}")
    authors = _authors(seed)
    weights = _activity_weights(len(authors), seed)
    active = [int(i) for i in np.argsort(-weights)[:6000]]
    students = [i for i in active if i < STUDENTS]
    others = [i for i in active if i >= STUDENTS + 3]
    rng.shuffle(students)
    rng.shuffle(others)
    chosen = rng.sample(range(n), k=int(n * 0.3))
    out: dict[int, tuple[int, str]] = {}
    for k, cust in enumerate(chosen):
        pool = students if k % 3 == 0 and students else others
        if not pool:
            break
        author = pool.pop()
        handle = authors[author].handle
        style = rng.random()
        if style < 0.04:
            handle = handle.upper() if rng.random() < 0.5 else handle.capitalize()
        elif style < 0.07:
            handle = "@" + handle
        elif style < 0.1:
            handle = f"https://twitter.com/{handle}"
        out[cust] = (author, handle)
    return out


def generate_customers(
    *, n: int = 5_000, seed: int = DEMO_SEED, end: datetime | None = None
) -> Iterator[dict]:
    """Yield ``n`` customer records (Customer fields; social handles in ``attributes``)."""
    end = _default_end(end)
    rng = random.Random(f"customers-{seed}")
    authors = _authors(seed)
    links = _customer_handles(seed, n)
    for i in range(n):
        link = links.get(i)
        if link is not None and link[0] < STUDENTS:
            segment = SEGMENTS[0]
        else:
            segment = rng.choices(SEGMENTS, weights=[s[1] for s in SEGMENTS])[0]
        name_src = authors[link[0]].name if link else f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        first, last = name_src.split(" ", 1)
        country, _, regions = rng.choices(GEOGRAPHY, weights=[g[1] for g in GEOGRAPHY])[0]
        region, cities = rng.choice(regions)
        _, _, ages, income, household, ltv = segment
        attrs: dict = {"customer_since": (end - timedelta(days=rng.randrange(30, 4000))).date().isoformat()}
        if link:
            attrs["handles"] = {"twitter": link[1]}
        email_local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
        if not link and rng.random() < 0.05:  # e-mail that resembles an author's handle
            email_local = authors[rng.randrange(STUDENTS, AUTHORS)].handle
        yield {
            "crm_ref": f"NW-{seed:02d}-{i + 1:06d}",
            "name": f"{first} {last}",
            "email": f"{email_local}{rng.randrange(100) if rng.random() < 0.4 else ''}@example.com",
            "country": country,
            "region": region,
            "city": rng.choice(cities),
            "age": rng.randint(*ages),
            "income": round(income * rng.lognormvariate(0, 0.35), -2),
            "household_size": rng.randint(*household),
            "segment": segment[0],
            "lifetime_value": round(ltv * rng.lognormvariate(0, 0.6), 2),
            "attributes": attrs,
        }


def true_identity_links(*, n_customers: int = 5_000, seed: int = DEMO_SEED) -> list[tuple[str, str, str]]:
    """The generator's truth: (platform, author handle, crm_ref) for every customer with a handle."""
    authors = _authors(seed)
    return sorted(
        ("twitter", authors[a].handle, f"NW-{seed:02d}-{c + 1:06d}")
        for c, (a, _) in _customer_handles(seed, n_customers).items()
    )


@dataclass
class DemoSummary:
    """What :func:`load_demo` stored."""

    brands: int
    mentions: ImportResult
    customers: int
    identities: int  # links made by automatic linking
    seconds: float


def store_customers(rows: Iterator[dict], *, engine: Engine, chunk: int = 1000) -> int:
    """Insert customers whose crm_ref is new, in bulk; returns how many were inserted."""
    table = Customer.__table__
    inserted = 0
    now = utcnow()
    batch: list[dict] = []

    def flush() -> int:
        with engine.begin() as conn:
            known = set(
                conn.execute(
                    sa.select(table.c.crm_ref).where(table.c.crm_ref.in_([r["crm_ref"] for r in batch]))
                ).scalars()
            )
            new = [{**r, "created_at": now} for r in batch if r["crm_ref"] not in known]
            if new:
                conn.execute(sa.insert(table), new)
        return len(new)

    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            inserted += flush()
            batch = []
    if batch:
        inserted += flush()
    return inserted


DEMO_LOADED = "demo_loaded"


def demo_state(*, engine: Engine) -> str:
    """``empty`` (no mention), ``complete`` (a demo load finished), ``partial`` (a demo load
    was cut short: run it again to complete it) or ``data`` (mentions from elsewhere)."""
    audit, batch, mention = AuditLog.__table__, ImportBatch.__table__, sa.table("mention", sa.column("id"))
    with engine.connect() as conn:
        if conn.execute(sa.select(mention.c.id).limit(1)).first() is None:
            return "empty"
        if conn.execute(sa.select(audit.c.id).where(audit.c.action == DEMO_LOADED).limit(1)).first():
            return "complete"
        started = conn.execute(sa.select(batch.c.id).where(batch.c.source == "demo").limit(1)).first()
    return "partial" if started else "data"


DEMO_TEAM = ("maya", "tom", "priya")
DEMO_RESPONSES = (
    "We hear you. Our team is looking into it and will reply to everyone affected today.",
    "Statement posted: the student fee is paused while we review it. DM us for refunds.",
    "Thanks for flagging this. We have replied to the customers involved.",
)


def work_the_inbox(*, engine: Engine, seed: int, end: datetime) -> int:
    """The demo team's work on alerts older than a day: acknowledged within minutes and
    answered within hours by a named person (audited like any change), resolved days later
    unless raised in the last week. Deterministic from the seed; returns how many it touched."""
    from scrm.inbox import act, alert_queue

    rng = random.Random(f"inbox-{seed}")
    queue = alert_queue(engine=engine, now=end)
    touched = 0
    for row in queue.sort_values("id").itertuples():
        raised = row.onset_at.to_pydatetime()
        if raised > end - timedelta(days=1):
            continue  # recent alerts wait in the inbox for the presenter
        who = DEMO_TEAM[row.id % len(DEMO_TEAM)]
        ack = raised + timedelta(minutes=rng.uniform(5, 40))
        answer = ack + timedelta(minutes=rng.uniform(20, 160))
        act(engine=engine, alert_ids=[row.id], action="assign", assignee=who, user="maya", now=ack)
        act(engine=engine, alert_ids=[row.id], action="acknowledge", user=who, now=ack)
        act(
            engine=engine,
            alert_ids=[row.id],
            action="respond",
            response=rng.choice(DEMO_RESPONSES),
            user=who,
            now=answer,
        )
        resolved = answer + timedelta(hours=rng.uniform(12, 72))
        if resolved < end - timedelta(days=7):  # the last week's stay open, answered
            act(engine=engine, alert_ids=[row.id], action="resolve", user=who, now=resolved)
        touched += 1
    return touched


def load_demo(
    *,
    engine: Engine,
    mentions: int = 50_000,
    customers: int = 5_000,
    seed: int = DEMO_SEED,
    end: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Create the demo brands, store the mentions through the pipeline, add the customers and link them.

    Ends with the default alert rules in place and evaluated over the whole period, each
    alert raised at the time its evidence appeared (``replay``).
    """
    started = time.perf_counter()
    known = {b.name.lower() for b in list_brands(engine=engine)}
    for brand in demo_brands():
        if brand.name.lower() not in known:
            add_brand(
                engine=engine, name=brand.name, query=brand.query, is_own=brand.is_own, colour=brand.colour
            )
    for brand in BRANDS:  # the support accounts whose replies are the brands' responses
        for platform in SUPPORT_PLATFORMS:
            add_brand_accounts(engine=engine, brand=brand.name, platform=platform, handles=[brand.support])
    tick = (lambda done: progress(done, mentions)) if progress else None
    result = ingest_mentions(
        generate_mentions(n=mentions, seed=seed, end=end),
        engine=engine,
        source="demo",
        file_name=f"demo seed {seed}",
        progress=tick,
        alerts=False,  # evaluated once below, over everything
    )
    stored_customers = store_customers(generate_customers(n=customers, seed=seed, end=end), engine=engine)
    identities = link(engine=engine).linked  # before the alerts: their priority uses customer value
    find_leads(engine=engine, filters=whole_history())  # after linking: leads name their customer
    default_rules(engine=engine, user=SYSTEM_USER)
    evaluate(engine=engine, replay=True)
    work_the_inbox(engine=engine, seed=seed, end=_default_end(end))
    with engine.begin() as conn:  # the marker that the demo is whole (see demo_state)
        conn.execute(
            sa.insert(AuditLog.__table__).values(
                at=utcnow(),
                username=SYSTEM_USER,
                action=DEMO_LOADED,
                entity="demo",
                entity_id=str(seed),
                detail={},
            )
        )
    return DemoSummary(
        brands=len(BRANDS),
        mentions=result,
        customers=stored_customers,
        identities=identities,
        seconds=time.perf_counter() - started,
    )

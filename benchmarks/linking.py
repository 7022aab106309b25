"""Benchmark: automatic identity linking of N customers against M social accounts, with a known truth.

    python benchmarks/linking.py [--customers 100000] [--authors 200000] [--database-url URL]

Generates (not timed, fixed seed) customers and accounts whose true owners are known:
20% of customers give a handle in the CRM (exact), 5% have an account whose source carried
their e-mail (email), 10% have an account found only by name and handle (the handle built
from their e-mail's local part, the display name written differently: accents dropped,
case, word order), and the rest of the accounts belong to strangers drawn from the same
name pool (namesakes included). Prints the wall and CPU time of :func:`scrm.linking.link`,
its counts, and precision and recall overall and by method.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from scrm.db import init_db, make_engine
from scrm.linking import link
from scrm.models import Author, Customer, SocialIdentity

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "ne",
    "so",
    "ti",
    "va",
    "du",
    "be",
    "ha",
    "jo",
    "li",
    "ma",
    "no",
    "pe",
    "ru",
    "sa",
    "te",
    "vi",
    "za",
    "mo",
    "lu",
    "ke",
    "ri",
]
ACCENTED = {"a": "á", "e": "é", "o": "ö", "u": "ü", "i": "í"}
PLATFORMS = ("twitter", "reddit", "instagram", "facebook")


def _name(rng: random.Random, parts: int) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(parts))
    if rng.random() < 0.1:
        i = rng.randrange(len(word))
        word = word[:i] + ACCENTED.get(word[i], word[i]) + word[i + 1 :]
    return word.capitalize()


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def generate(n_customers: int, n_authors: int, seed: int = 11) -> tuple[list[dict], list[dict], set]:
    """Customers, accounts and the true (platform, handle, crm_ref) links."""
    rng = random.Random(seed)
    firsts = sorted({_name(rng, 2) for _ in range(600)})
    lasts = sorted({_name(rng, 3) for _ in range(6000)})
    customers, authors, truth = [], [], set()
    handles: set[tuple[str, str]] = set()

    def add_author(platform: str, handle: str, name: str, email: str = "") -> bool:
        if (platform, handle) in handles:
            return False
        handles.add((platform, handle))
        authors.append({"platform": platform, "handle": handle, "display_name": name, "email": email})
        return True

    for i in range(n_customers):
        first, last = rng.choice(firsts), rng.choice(lasts)
        number = rng.randrange(10, 999) if rng.random() < 0.5 else None
        style = rng.random()
        local = (
            f"{_plain(first)}.{_plain(last)}"
            if style < 0.5
            else f"{_plain(first)[0]}{_plain(last)}"
            if style < 0.8
            else f"{_plain(last)}_{_plain(first)}"
        ) + (str(number) if number else "")
        ref = f"B-{i:07d}"
        c = {"crm_ref": ref, "name": f"{first} {last}", "email": f"{local}@example.com", "attributes": {}}
        roll = rng.random()
        platform = rng.choice(PLATFORMS)
        if roll < 0.2:  # the CRM knows the handle, written in any of the usual ways
            handle = f"{_plain(first)}{_plain(last)}{rng.randrange(10_000)}"
            if add_author(platform, handle, f"{first} {last}"):
                written = rng.choice((handle, "@" + handle.upper(), f"https://{platform}.com/{handle}/"))
                c["attributes"] = {"handles": {platform: written}}
                truth.add((platform, handle, ref))
        elif roll < 0.25:  # the source carried the e-mail
            handle = f"user{i}x{rng.randrange(1000)}"
            if add_author(platform, handle, rng.choice(("", first)), email=c["email"].upper()):
                truth.add((platform, handle, ref))
        elif roll < 0.35:  # only the name and the handle tell
            handle = local.replace(".", rng.choice(("", "_", ".")))
            shown = rng.choice((f"{first} {last}", _plain(f"{first} {last}").title(), f"{last} {first}"))
            if add_author(platform, handle, shown):
                truth.add((platform, handle, ref))
        customers.append(c)
    while len(authors) < n_authors:  # strangers, namesakes of customers among them
        first, last = rng.choice(firsts), rng.choice(lasts)
        handle = rng.choice(
            (
                f"{_plain(first)}{_plain(last)}",
                f"{_plain(first)}_{_plain(last)}{rng.randrange(100)}",
                f"{_plain(first)[0]}{_plain(last)}{rng.randrange(1000)}",
                f"the{_plain(last)}",
            )
        )
        add_author(rng.choice(PLATFORMS), handle, f"{first} {last}")
    return customers, authors, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--authors", type=int, default=200_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_db(engine)
        customers, authors, truth = generate(args.customers, args.authors)
        with engine.begin() as conn:
            for table in (SocialIdentity, Customer, Author):
                conn.execute(sa.delete(table.__table__))
            for i in range(0, len(customers), 10_000):
                conn.execute(sa.insert(Customer.__table__), customers[i : i + 10_000])
            for i in range(0, len(authors), 10_000):
                conn.execute(sa.insert(Author.__table__), authors[i : i + 10_000])
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        result = link(engine=engine)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        si, c = SocialIdentity.__table__, Customer.__table__
        with engine.connect() as conn:
            made = {
                (p, h, ref): m
                for p, h, ref, m in conn.execute(
                    sa.select(si.c.platform, si.c.handle, c.c.crm_ref, si.c.method).join(
                        c, c.c.id == si.c.customer_id
                    )
                )
            }
        engine.dispose()
    hits = [k for k in made if k in truth]
    print(f"customers {len(customers):,}, accounts {len(authors):,}, true links {len(truth):,}")
    print(
        f"link(): {wall:.1f} s wall, {after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime:.1f} s CPU, "
        f"peak RSS {after.ru_maxrss / 1024:.0f} MB"
    )
    print(f"linked {result.linked:,} {result.by_method}, queued {result.queued:,}")
    print(f"precision {len(hits) / max(len(made), 1):.4f}, recall {len(hits) / max(len(truth), 1):.4f}")
    for method, total in sorted(Counter(made.values()).items()):
        right = sum(1 for k in hits if made[k] == method)
        print(f"  {method:<6} {total:>7,} links, precision {right / total:.4f}")


if __name__ == "__main__":
    main()

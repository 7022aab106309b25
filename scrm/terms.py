"""Top and rising terms (words, bigrams, hashtags) of the mentions matching some filters.

Counting is per post (document frequency): a word repeated in one post counts once. At a
million mentions reading every text is too slow, so each period reads at most ``sample``
texts and scales the counts by matching/sampled. The sample is deterministic: the
matching mentions with the smallest golden-ratio hash of their id (``id × 2654435761 mod
2³²``). Like a stride over ids it spreads evenly over the period (ids follow insertion
order), but its step is irrational, so it cannot alias with a periodic pattern of the
ids, as ``id % step = 0`` can (posts alternating with replies, brands inserted in turn).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.exceptions import ScrmError
from scrm.filters import Filters
from scrm.models import Mention, MentionBrand

_M = Mention.__table__
_MB = MentionBrand.__table__
STOP_WORDS_PATH = Path(__file__).resolve().parent / "data" / "stopwords.txt"
TERM_COLUMNS = ("term", "posts", "share")
RISING_COLUMNS = ("term", "current", "previous", "change", "lift", "is_hashtag")
_HASH_MULTIPLIER = 2_654_435_761  # ≈ 2³² / golden ratio (Knuth's multiplicative hashing)
_HASH_RANGE = 2**32

_TOKEN = re.compile(
    r"(?P<skip>(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?<![\w@])@\w+)"  # URLs, e-mails, @handles
    r"|(?P<tag>(?<![\w#])#\w*[^\W\d_]\w*)"  # a hashtag has at least one letter
    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"  # letters, with apostrophes inside
    r"|\w+"  # numbers and underscores: dropped
)
_JOINER = re.compile(r"[^\S\r\n]+|-")  # what may separate the two words of a bigram


def _load_stop_words(path: Path = STOP_WORDS_PATH) -> frozenset[str]:
    words = (line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(word for line in words for word in line.split())


STOP_WORDS: frozenset[str] = _load_stop_words()


def _scan(text: str) -> tuple[list[str], list[str]]:
    """The tokens of ``text`` and its bigrams of adjacent kept words."""
    text = unicodedata.normalize("NFC", html.unescape(text)).lower()
    tokens: list[str] = []
    bigrams: list[str] = []
    previous: str | None = None  # the word just before, if kept
    end = 0
    for match in _TOKEN.finditer(text):
        word = match.group("word")
        term = None
        if word is not None:
            word = word.replace("'", "").replace("’", "")
            if len(word) >= 2 and word not in STOP_WORDS:
                term = word
                tokens.append(word)
                joined = _JOINER.fullmatch(text, end, match.start()) is not None
                if previous is not None and joined and previous != word:
                    bigrams.append(f"{previous} {word}")
        elif match.group("tag") is not None:
            tokens.append(match.group("tag"))
        previous, end = term, match.end()
    return tokens, bigrams


def tokenize(text: str) -> list[str]:
    """Lower-cased tokens of a post, in order.

    Words of ≥2 letters (unicode letters, apostrophes inside words folded: "don't" ->
    "dont"), hashtags kept as '#tag'; @handles, URLs, e-mail addresses, numbers and stop
    words dropped.
    """
    return _scan(text)[0]


def post_terms(text: str) -> set[str]:
    """The distinct terms of one post: its tokens (hashtags included) plus bigrams.

    A bigram 'word word' joins two different kept words adjacent in the text: no stop word,
    dropped token, hashtag, punctuation or line break between them (a hyphen is allowed).
    """
    tokens, bigrams = _scan(text)
    return {*tokens, *bigrams}


def _hash(column: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    return (column * sa.literal(_HASH_MULTIPLIER, sa.BigInteger)) % sa.literal(_HASH_RANGE, sa.BigInteger)


def sample_texts(*, engine: Engine, filters: Filters, limit: int = 3000) -> tuple[list[str], int]:
    """Texts of up to ``limit`` mentions matching ``filters`` (distinct mentions), and how many match in all.

    Deterministic: the matching mentions of smallest id hash (see the module docstring),
    pre-selected in SQL by a hash threshold, so only about ``limit`` ids and ``limit``
    texts are ever read; never ``ORDER BY random()``, never all rows into Python.
    """
    if limit < 1:
        raise ScrmError("The sample needs at least one mention")
    conds = filters.link_conditions()
    # A post is linked once per brand (primary key): with one brand, links are posts.
    distinct = (
        sa.func.count() if len(filters.brand_ids) == 1 else sa.func.count(sa.distinct(_MB.c.mention_id))
    )
    ids = sa.select(_MB.c.mention_id).where(*conds)
    with engine.connect() as conn:
        total = conn.execute(sa.select(distinct).select_from(_MB).where(*conds)).scalar_one()
        if total == 0:
            return [], 0
        # About 1.2 × limit ids fall below the threshold; the ORDER BY keeps the lowest hashes.
        cut = math.ceil(_HASH_RANGE * (1.2 * limit + 20) / total)
        if cut < _HASH_RANGE:
            ids = ids.where(_hash(_MB.c.mention_id) < cut)
        stmt = sa.select(_M.c.text).where(_M.c.id.in_(ids)).order_by(_hash(_M.c.id), _M.c.id).limit(limit)
        texts = list(conn.execute(stmt).scalars())
    return texts, total


def term_counts(*, engine: Engine, filters: Filters, limit: int = 3000) -> pd.DataFrame:
    """Document frequency of every term in the sample of the mentions matching ``filters``.

    Columns: ``term``, ``posts`` (estimated number of matching mentions containing the
    term: sample document frequency scaled by total/sampled, rounded), ``share`` (% of
    matching mentions). Sorted by posts desc, then term.
    """
    texts, total = sample_texts(engine=engine, filters=filters, limit=limit)
    docs = Counter(term for text in texts for term in post_terms(text))
    sampled = max(len(texts), 1)
    found = np.fromiter(docs.values(), dtype=np.int64, count=len(docs))
    frame = pd.DataFrame(
        {
            "term": pd.Series(list(docs), dtype=object),
            "posts": np.rint(found * (total / sampled)).astype(np.int64),
            "share": found * (100.0 / sampled),
        }
    )
    return frame.sort_values(["posts", "term"], ascending=[False, True], ignore_index=True)


def top_terms(
    *, engine: Engine, filters: Filters, limit: int = 20, sample: int = 3000, min_posts: int = 2
) -> pd.DataFrame:
    """The ``limit`` most frequent terms in at least ``min_posts`` estimated posts (columns of :func:`term_counts`)."""
    counts = term_counts(engine=engine, filters=filters, limit=sample)
    return counts[counts["posts"] >= min_posts].head(limit).reset_index(drop=True)


def rising_terms(
    *, engine: Engine, filters: Filters, limit: int = 20, sample: int = 3000, min_posts: int = 3
) -> pd.DataFrame:
    """Terms whose estimated post count rose most against ``filters.previous()``.

    Columns: ``term``, ``current``, ``previous`` (estimated posts in each period), ``change``
    (current − previous), ``lift`` ((current+1)/(previous+1)), ``is_hashtag`` (bool). Only
    terms with current ≥ min_posts and change > 0; sorted by change desc then lift desc then
    term. Empty frame with these columns when nothing rose.
    """
    now = term_counts(engine=engine, filters=filters, limit=sample)
    before = term_counts(engine=engine, filters=filters.previous(), limit=sample)
    frame = now[["term", "posts"]].rename(columns={"posts": "current"})
    frame["previous"] = frame["term"].map(before.set_index("term")["posts"]).fillna(0).astype(np.int64)
    frame["change"] = frame["current"] - frame["previous"]
    frame["lift"] = (frame["current"] + 1) / (frame["previous"] + 1)
    frame["is_hashtag"] = frame["term"].str.startswith("#").astype(bool)
    frame = frame[(frame["current"] >= min_posts) & (frame["change"] > 0)]
    frame = frame.sort_values(["change", "lift", "term"], ascending=[False, False, True], ignore_index=True)
    return frame.head(limit)[list(RISING_COLUMNS)]

"""Column mapping and row validation: a raw record becomes a :class:`MentionCreate` or a reason.

Columns are mapped to fields explicitly (``--map field=column``) or detected from the names
common exports use (Twitter API and CSV exports, Reddit/Pushshift dumps, generic tools).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from scrm.exceptions import ImportFormatError
from scrm.ingest.files import MAX_FIELD_CHARS
from scrm.models import MentionCreate
from scrm.timeutil import parse_datetime

FIELDS = (
    "external_id",
    "platform",
    "text",
    "created_at",
    "author",
    "followers",
    "likes",
    "shares",
    "comments",
    "reach",
    "url",
    "brand",
    "parent_id",
    "language",
    "inbound",
)
COUNT_FIELDS = ("followers", "likes", "shares", "comments", "reach")

# Candidate column names per field, most specific first; compared case-insensitively
# with spaces, dashes and dots folded to underscores.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "external_id": (
        "external_id",
        "tweet_id",
        "id_str",
        "status_id",
        "post_id",
        "mention_id",
        "message_id",
        "comment_id",
        "submission_id",
        "id",
        "fullname",
        "name_id",
    ),
    "platform": ("platform", "network", "social_network", "channel", "site"),
    "text": (
        "text",
        "full_text",
        "tweet_text",
        "body",
        "content",
        "message",
        "selftext",
        "post_text",
        "post",
        "comment",
        "title",
    ),
    "created_at": (
        "created_at",
        "tweet_created",
        "created_utc",
        "created",
        "date",
        "datetime",
        "timestamp",
        "time",
        "published_at",
        "published",
        "posted_at",
        "date_time",
    ),
    "author": (
        "author",
        "screen_name",
        "user_screen_name",
        "username",
        "user_username",
        "author_username",
        "user",
        "handle",
        "user_name",
        "author_name",
        "name",
        "from",
    ),
    "followers": (
        "followers",
        "followers_count",
        "user_followers_count",
        "user_followers",
        "author_followers",
        "author_public_metrics_followers_count",
        "subscribers",
    ),
    "likes": (
        "likes",
        "like_count",
        "favorite_count",
        "favourite_count",
        "favorites",
        "public_metrics_like_count",
        "score",
        "ups",
        "reactions",
        "upvotes",
    ),
    "shares": (
        "shares",
        "retweet_count",
        "retweets",
        "share_count",
        "reposts",
        "public_metrics_retweet_count",
    ),
    "comments": (
        "comments",
        "num_comments",
        "reply_count",
        "replies",
        "comment_count",
        "public_metrics_reply_count",
    ),
    "reach": (
        "reach",
        "impressions",
        "impression_count",
        "views",
        "view_count",
        "public_metrics_impression_count",
    ),
    "url": ("url", "permalink", "link", "post_url", "tweet_url", "full_link"),
    "brand": ("brand", "company", "airline", "product"),
    "parent_id": (
        "parent_id",
        "in_reply_to_status_id_str",
        "in_reply_to_status_id",
        "in_reply_to_tweet_id",
        "in_reply_to",
        "in_reply_to_id",
        "reply_to",
        "parent",
    ),
    "language": ("language", "lang", "lang_code"),
    "inbound": ("inbound", "is_inbound", "incoming"),
}
_PLATFORM_HINTS = (
    ("tweet", "twitter"),
    ("screen_name", "twitter"),
    ("retweet", "twitter"),
    ("subreddit", "reddit"),
    ("selftext", "reddit"),
    ("num_comments", "reddit"),
)
_COUNT = re.compile(r"^([+-]?\d+(?:[.,]\d+)?)\s*([kKmMbB]?)$")
_MAX_COUNT = 10**13
_MAX_ID = 200


def fold_name(name: str) -> str:
    """A column name compared loosely: lower case, spaces, dots, dashes and slashes as ``_``."""
    return re.sub(r"[\s.\-/]+", "_", name.strip().lower())


def match_columns(
    columns: Sequence[str], fields: Sequence[str], candidates: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """Map each field to the first column named like one of its candidates (each column once)."""
    folded = {fold_name(c): c for c in columns}
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for fld in fields:
        for cand in candidates[fld]:
            col = folded.get(cand)
            if col is not None and col not in used:
                mapping[fld] = col
                used.add(col)
                break
    return mapping


def detect_mapping(columns: Sequence[str]) -> dict[str, str]:
    """Map fields to columns by common export names (each column used once)."""
    return match_columns(columns, FIELDS, CANDIDATES)


def parse_map_args(items: Sequence[str]) -> dict[str, str]:
    """Parse ``field=column`` pairs, refusing unknown fields."""
    mapping: dict[str, str] = {}
    for item in items:
        fld, sep, col = item.partition("=")
        fld = fld.strip()
        if not sep or not fld or not col.strip():
            raise ImportFormatError(f"--map takes field=column, not {item!r}")
        if fld not in FIELDS:
            raise ImportFormatError(f"Unknown field {fld!r} in --map: fields are {', '.join(FIELDS)}")
        mapping[fld] = col.strip()
    return mapping


def guess_platform(columns: Sequence[str]) -> str | None:
    """A platform suggested by an export's column names, if any."""
    folded = " ".join(fold_name(c) for c in columns)
    for hint, platform in _PLATFORM_HINTS:
        if hint in folded:
            return platform
    return None


def clean_handle(value: str) -> str:
    """A handle as stored: trimmed, without a leading @ or u/, lower case."""
    handle = value.strip().lstrip("@").strip()
    if handle.lower().startswith("u/"):
        handle = handle[2:]
    return handle.lower()


@dataclass
class RowMapper:
    """Turns raw records into :class:`MentionCreate` values using one column mapping."""

    columns: Sequence[str]
    mapping: dict[str, str]
    platform: str | None = None
    brand: str | None = None
    default_tz: Any = None
    ignored: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        columns: Sequence[str],
        *,
        overrides: Mapping[str, str] | None = None,
        platform: str | None = None,
        brand: str | None = None,
        timezone: tzinfo,
    ) -> RowMapper:
        """Detect the mapping, apply ``overrides`` and check that it is usable."""
        overrides = dict(overrides or {})
        missing = [c for c in overrides.values() if c not in columns]
        if missing:
            shown = ", ".join(columns[:30])
            raise ImportFormatError(
                f"Column {missing[0]!r} given in --map is not in the file (columns: {shown})"
            )
        taken = set(overrides.values())
        detected = {
            f: c
            for f, c in detect_mapping([c for c in columns if c not in taken]).items()
            if f not in overrides
        }
        mapping = {**detected, **overrides}
        if "text" not in mapping:
            raise ImportFormatError(
                f"No text column found (columns: {', '.join(columns[:30])}): name it with --map text=COLUMN"
            )
        if "created_at" not in mapping:
            raise ImportFormatError(
                f"No date column found (columns: {', '.join(columns[:30])}): "
                "name it with --map created_at=COLUMN"
            )
        if platform is None and "platform" not in mapping:
            platform = guess_platform(columns) or "other"
        used = set(mapping.values())
        if "text" in mapping and mapping["text"] in ("body", "selftext") and "title" in columns:
            used.add("title")
        ignored = [c for c in columns if c not in used]
        return cls(
            columns=columns,
            mapping=mapping,
            platform=platform,
            brand=brand,
            default_tz=timezone,
            ignored=ignored,
        )

    def convert(self, record: Mapping[str, Any]) -> MentionCreate | str:
        """The mention for ``record``, or the reason it is rejected."""
        m = self.mapping
        bad = first_bad_value(record, self.mapping.values())
        if bad:
            return bad
        text = as_text(record.get(m["text"]))
        if m["text"] in ("body", "selftext") and "title" in record:
            title = as_text(record.get("title"))
            text = f"{title}\n\n{text}".strip() if title and text else (title or text)
        if not text.strip():
            return f"empty text in column {m['text']!r}"
        try:
            created = parse_datetime(record.get(m["created_at"]), self.default_tz)
        except ValueError as exc:
            return f"bad date in column {m['created_at']!r}: {exc}"
        counts: dict[str, int | None] = {}
        for fld in COUNT_FIELDS:
            col = m.get(fld)
            raw = record.get(col) if col else None
            try:
                counts[fld] = _count(raw)
            except ValueError as exc:
                return f"{fld} in column {col!r}: {exc}"
        platform = (self.platform or as_text(record.get(m["platform"])).strip().lower() or "other")[:40]
        author = clean_handle(as_text(record.get(m["author"]))) if "author" in m else ""
        if len(author) > 200:
            return "author handle longer than 200 characters"
        brands = [self.brand] if self.brand else []
        if "brand" in m:
            brands += [b.strip() for b in re.split(r"[;|]", as_text(record.get(m["brand"]))) if b.strip()]
        if any(len(b) > 200 for b in brands):
            return "brand name longer than 200 characters"
        external_id = _id(record.get(m["external_id"])) if "external_id" in m else ""
        if len(external_id) > _MAX_ID:
            return f"id longer than {_MAX_ID} characters"
        if not external_id:
            external_id = stable_id(platform, author, created.isoformat(), text)
        parent = _id(record.get(m["parent_id"])) if "parent_id" in m else ""
        inbound = _flag(record.get(m["inbound"])) if "inbound" in m else None
        if inbound == "bad":
            return f"inbound in column {m['inbound']!r} is not true/false"
        url = as_text(record.get(m["url"])).strip() if "url" in m else ""
        if url.startswith("/r/"):
            url = "https://www.reddit.com" + url
        return MentionCreate.model_construct(
            platform=platform,
            external_id=external_id,
            text=text,
            created_at=created,
            author=author,
            author_name=as_text(record.get(m["author"])).strip()[:300] if "author" in m else "",
            followers=counts["followers"] or 0,
            verified=False,
            likes=counts["likes"] or 0,
            shares=counts["shares"] or 0,
            comments=counts["comments"] or 0,
            reach=counts["reach"],
            url=url[:2000],
            brands=brands,
            parent_id=parent[:_MAX_ID] or None,
            language=as_text(record.get(m["language"])).strip()[:16] if "language" in m else "",
            inbound=inbound,
        )


_TRUE = {"true", "t", "yes", "y", "1", "inbound", "in"}
_FALSE = {"false", "f", "no", "n", "0", "outbound", "out"}


def _flag(value: Any) -> bool | str | None:
    """A yes/no cell: True, False, None when empty, or "bad"."""
    if isinstance(value, bool):
        return value
    text = as_text(value).strip().lower()
    if not text:
        return None
    return True if text in _TRUE else False if text in _FALSE else "bad"


def stable_id(platform: str, author: str, created_iso: str, text: str) -> str:
    """A stable key for a post without an id: a hash of platform, author, time and text."""
    digest = hashlib.blake2b(
        f"{platform}\x1f{author}\x1f{created_iso}\x1f{text}".encode("utf-8", "surrogateescape"),
        digest_size=16,
    )
    return "h:" + digest.hexdigest()


def first_bad_value(record: Mapping[str, Any], columns: Iterable[str]) -> str | None:
    """Why a text cell of ``columns`` is unusable (too long, NUL bytes, bad UTF-8), or None."""
    for key in (*columns, "title"):
        value = record.get(key)
        if not isinstance(value, str):
            continue
        if len(value) > MAX_FIELD_CHARS:
            return f"column {key!r} holds {len(value):,} characters (limit {MAX_FIELD_CHARS:,})"
        if "\x00" in value:
            return f"column {key!r} contains NUL bytes"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"invalid UTF-8 in column {key!r}"
    return None


def as_text(value: Any) -> str:
    """A cell as text: "" for None and NaN."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    return value if isinstance(value, str) else str(value)


def _id(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _count(value: Any) -> int | None:
    """A non-negative count from 12, "1,234", "3.0", "1.2K"; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "")
        if not text or text.lower() in ("nan", "null", "none"):
            return None
        if re.fullmatch(r"\d{1,3}(,\d{3})+", text):
            text = text.replace(",", "")
        match = _COUNT.match(text)
        if not match:
            raise ValueError(f"not a number: {text[:30]!r}")
        number = float(match.group(1).replace(",", "."))
        number *= {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[match.group(2).lower()]
    if number != number:
        return None
    if number < 0:
        raise ValueError(f"negative count {number:g}")
    if number > _MAX_COUNT:
        raise ValueError(f"count {number:g} is implausibly large")
    return int(number)

"""Time helpers: timezone-aware UTC everywhere, tolerant parsing of export date formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scrm.exceptions import ConfigError

_EPOCH_MIN = 946_684_800  # 2000-01-01: smaller numbers are not plausible post times
_EPOCH_MS_MIN = _EPOCH_MIN * 1000
_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",  # 2015-02-24 11:35:52 -0800 (Twitter airline export)
    "%a %b %d %H:%M:%S %z %Y",  # Tue Oct 31 22:10:47 +0000 2017 (Twitter API v1)
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%b %d, %Y %I:%M %p",
    "%d %b %Y %H:%M",
)
_NUMERIC = re.compile(r"^\d{9,13}(\.\d+)?$")


def get_zone(name: str) -> tzinfo:
    """Return the IANA zone called ``name`` or raise :class:`ConfigError`."""
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"Unknown timezone {name!r}: use an IANA name such as Europe/Paris") from None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_utc(value: datetime, default_tz: tzinfo = UTC) -> datetime:
    """Attach ``default_tz`` to a naive datetime and convert to UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_tz)
    return value.astimezone(UTC)


def parse_datetime(value: object, default_tz: tzinfo = UTC) -> datetime:
    """Parse a timestamp from an export: ISO 8601, epoch seconds/ms, or common formats.

    Raises ``ValueError`` with a short reason when the value is not a date.
    """
    if isinstance(value, datetime):
        return to_utc(value, default_tz)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_epoch(float(value))
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("empty date")
    if _NUMERIC.match(text):
        return _from_epoch(float(text))
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return to_utc(datetime.fromisoformat(iso), default_tz)
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return to_utc(datetime.strptime(text, fmt), default_tz)
        except ValueError:
            continue
    try:
        return to_utc(parsedate_to_datetime(text), default_tz)  # RFC 2822
    except (TypeError, ValueError, IndexError):
        pass
    raise ValueError(f"unrecognised date {text[:40]!r}")


def _from_epoch(number: float) -> datetime:
    if number >= _EPOCH_MS_MIN:
        number /= 1000.0
    if number < _EPOCH_MIN or number > 4_102_444_800:  # 2100-01-01
        raise ValueError(f"epoch timestamp {number:.0f} out of range")
    return datetime.fromtimestamp(number, UTC)


def epoch(value: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime."""
    return int(value.timestamp())

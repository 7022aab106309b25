"""The one exception tree: every error a user can cause is a :class:`ScrmError`."""

from __future__ import annotations


class ScrmError(Exception):
    """Base class of every error a user can cause; the message says what to do."""


class ConfigError(ScrmError):
    """A setting is missing or invalid."""


class DatabaseError(ScrmError):
    """The database cannot be reached, written or migrated."""


class ImportFormatError(ScrmError):
    """A file cannot be read at all (empty, not text, wrong format, no text column)."""


class QuerySyntaxError(ScrmError):
    """A brand's boolean query cannot be parsed; ``position`` is the 0-based offset."""

    def __init__(self, message: str, *, position: int, query: str = "") -> None:
        self.position = position
        self.query = query
        super().__init__(f"{message} at position {position + 1}")


class NotFoundError(ScrmError):
    """A named object (brand, mention, user...) does not exist."""


class SourceError(ScrmError):
    """An external source (Reddit, a file) failed in a way the user must act on."""


class AuthError(ScrmError):
    """The user is not allowed to do this, or the credentials are wrong."""

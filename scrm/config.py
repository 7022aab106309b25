"""Settings: explicit arguments, then ``SCRM_*`` environment variables, then ``.env``, then
``.streamlit/secrets.toml`` (top-level ``SCRM_NAME``/``name`` keys, and a ``[reddit]`` table
whose ``client_id`` is ``reddit_client_id``...)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from scrm.exceptions import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'scrm.db'}"
SECRETS_FILE = Path(".streamlit") / "secrets.toml"


def secrets_files() -> list[Path]:
    """The ``.streamlit/secrets.toml`` files read, first wins: the working directory's, the project's."""
    out: list[Path] = []
    for base in (Path.cwd(), PROJECT_ROOT):
        path = (base / SECRETS_FILE).resolve()
        if path not in out:
            out.append(path)
    return out


class StreamlitSecretsSource(PydanticBaseSettingsSource):
    """Settings from ``.streamlit/secrets.toml``, so the dashboard and the CLI share one file.

    Keys: top-level ``SCRM_REDDIT_CLIENT_ID = "..."`` (or ``reddit_client_id``), and tables
    whose name prefixes their keys: ``[reddit]`` with ``client_id = "..."``.
    """

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        fields = set(settings_cls.model_fields)
        self.values: dict[str, Any] = {}
        for path in reversed(secrets_files()):  # the first file wins
            if not path.is_file():
                continue
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"Cannot read {path}: {exc}; fix or remove the file") from None
            for key, value in data.items():
                if isinstance(value, dict):
                    for sub, inner in value.items():
                        name = f"{key}_{sub}".lower()
                        if name in fields and not isinstance(inner, dict):
                            self.values[name] = inner
                    continue
                name = key.lower().removeprefix("scrm_")
                if name in fields:
                    self.values[name] = value

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


class Settings(BaseSettings):
    """All of scrm's settings; each field is read from ``SCRM_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="SCRM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "UTC"
    batch_size: int = 5000
    score_workers: int = 0  # 0 = one per core
    domain_lexicon: bool = True
    ground_truth_dir: Path = PROJECT_ROOT.parent / "shared" / "data" / "vader_ground_truth"
    demo_mentions: int = 50_000  # size of the demo the dashboard loads into an empty database
    webhook_url: str = ""  # Slack-compatible incoming webhook for alerts
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "scrm@localhost"
    alert_emails: str = ""  # comma-separated recipients
    notify_max_priority: int = 2  # notify P1 and P2 alerts
    notify_max_attempts: int = 8
    # Reddit collector (scrm.ingest.reddit). Credentials and endpoints left empty fall back to
    # praw's own configuration (praw.ini, praw_* variables), then to Reddit's own endpoints.
    reddit_client_id: str = ""
    reddit_client_secret: str = ""
    reddit_user_agent: str = ""  # e.g. "python:scrm-acme:0.1 (by u/your_name)"
    reddit_oauth_url: str = ""  # default https://oauth.reddit.com
    reddit_url: str = ""  # default https://www.reddit.com (token endpoint and permalinks)
    reddit_subreddits: str = ""  # monitored fully (new posts and comments), comma-separated
    reddit_search_subreddits: str = ""  # where brand searches look; empty: all of Reddit
    reddit_max_items: int = 1000  # items per run (the rest next run)
    reddit_max_requests: int = 100  # HTTP requests per run, retries included
    reddit_max_seconds: float = 300.0  # a run's time
    reddit_timeout: float = 16.0  # seconds to wait for one response
    reddit_retries: int = 3  # retries of a 429, 5xx or timeout before the listing is reported failed
    reddit_backoff: float = 2.0  # seconds before the first retry, doubled each time (429: Retry-After)
    reddit_refresh_hours: float = 24.0  # refresh the scores of posts stored in the last N hours (0: off)
    reddit_refresh_limit: int = 300  # ... at most this many posts per run (100 per request)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            StreamlitSecretsSource(settings_cls),
            file_secret_settings,
        )

    @field_validator("reddit_oauth_url", "reddit_url")
    @classmethod
    def _check_reddit_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, e.g. https://oauth.reddit.com")
        return value

    @field_validator("reddit_subreddits", "reddit_search_subreddits")
    @classmethod
    def _check_subreddits(cls, value: str) -> str:
        from scrm.ingest.reddit import parse_subreddits

        return ",".join(parse_subreddits(value))

    @field_validator("reddit_max_items", "reddit_max_requests", "reddit_retries", "reddit_refresh_limit")
    @classmethod
    def _check_reddit_counts(cls, value: int) -> int:
        if not 0 <= value <= 1_000_000:
            raise ValueError("must be between 0 and 1000000")
        return value

    @field_validator("reddit_max_seconds", "reddit_timeout", "reddit_backoff", "reddit_refresh_hours")
    @classmethod
    def _check_reddit_seconds(cls, value: float) -> float:
        if not 0 <= value <= 10_000_000:
            raise ValueError("must be a number of seconds (hours) from 0")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        if value.startswith("postgres://"):
            value = "postgresql://" + value[len("postgres://") :]
        return value

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        from scrm.timeutil import get_zone

        get_zone(value)
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("notify_max_priority")
    @classmethod
    def _check_priority(cls, value: int) -> int:
        if not 1 <= value <= 4:
            raise ValueError("must be 1 (P1 only) to 4 (every alert)")
        return value

    @field_validator("batch_size")
    @classmethod
    def _check_batch(cls, value: int) -> int:
        if not 1 <= value <= 100_000:
            raise ValueError("must be between 1 and 100000")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build the settings, raising :class:`ConfigError` that names the bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "SCRM_" + str(err["loc"][0]).upper() if err.get("loc") else "a setting"
        raise ConfigError(f"Invalid setting {name}: {err['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()

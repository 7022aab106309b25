"""Settings: explicit arguments, then ``SCRM_*`` environment variables, then ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scrm.exceptions import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'scrm.db'}"


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

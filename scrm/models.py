"""SQLModel tables and their create/public shapes.

Datetimes are timezone-aware UTC in Python; SQLite stores them as naive UTC text,
PostgreSQL as ``timestamptz``. ``MentionBrand`` copies what the hot aggregations need
(epoch seconds, platform, effective label, reach, engagement) so that a covering index
answers counts and sentiment by brand and time without touching ``mention``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Optional

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import Field as PydField
from sqlmodel import JSON, Column, Field, SQLModel

from scrm.timeutil import utcnow

LABELS = ("positive", "neutral", "negative")


class UTCDateTime(sa.types.TypeDecorator):
    """A datetime column that always returns timezone-aware UTC values."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Brand(SQLModel, table=True):
    """A tracked brand: ours (``is_own``) or a competitor, with its boolean query."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True}, nullable=False)
    query: str = Field(default="", max_length=4000)
    is_own: bool = False
    colour: str = Field(default="", max_length=16)
    created_at: datetime = _created()


class Author(SQLModel, table=True):
    """A social account: platform + handle is unique."""

    __table_args__ = (sa.UniqueConstraint("platform", "handle", name="uq_author_platform_handle"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=40)
    handle: str = Field(max_length=200)
    display_name: str = Field(default="", max_length=300)
    followers: int = Field(default=0, sa_type=sa.BigInteger)
    verified: bool = False
    location: str = Field(default="", max_length=300)
    profile_url: str = Field(default="", max_length=1000)
    email: str = Field(  # from a source that carries it (identity linking)
        default="", max_length=320, sa_column_kwargs={"server_default": ""}
    )


class ImportBatch(SQLModel, table=True):
    """One import run (a file, a collection or the demo) and its counts."""

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str = Field(max_length=40)  # file, demo, reddit...
    file_name: str = Field(default="", max_length=500)
    file_hash: str = Field(default="", max_length=64, index=True)
    started_at: datetime = _created()
    finished_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="running", max_length=20)  # running, done, failed
    read: int = 0
    stored: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str = Field(default="", max_length=2000)


class ImportRejection(SQLModel, table=True):
    """A row an import could not use: its number, the reason and the raw content."""

    id: Optional[int] = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="importbatch.id", index=True, ondelete="CASCADE")
    row_number: int
    reason: str = Field(max_length=500)
    raw: str = Field(default="", sa_type=sa.Text)


class Mention(SQLModel, table=True):
    """A post or comment. platform + external_id is unique: imports are idempotent."""

    __table_args__ = (
        sa.UniqueConstraint("platform", "external_id", name="uq_mention_platform_external_id"),
        sa.Index("ix_mention_created_at", "created_at"),
        sa.Index("ix_mention_author_created", "author_id", "created_at"),
        sa.Index("ix_mention_parent", "platform", "parent_external_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=40)
    external_id: str = Field(max_length=200)
    author_id: Optional[int] = Field(default=None, foreign_key="author.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    text: str = Field(sa_type=sa.Text)
    url: str = Field(default="", max_length=2000)
    parent_external_id: Optional[str] = Field(default=None, max_length=200)
    likes: int = Field(default=0, sa_type=sa.BigInteger)
    shares: int = Field(default=0, sa_type=sa.BigInteger)
    comments: int = Field(default=0, sa_type=sa.BigInteger)
    reach: int = Field(default=0, sa_type=sa.BigInteger)
    language: str = Field(default="", max_length=16)
    inbound: Optional[bool] = None  # from a mapped column: True for a customer's post, False for the brand's
    source: str = Field(default="", max_length=40)
    batch_id: Optional[int] = Field(default=None, foreign_key="importbatch.id", ondelete="SET NULL")
    compound: float = 0.0
    label: str = Field(default="neutral", max_length=10)
    label_override: Optional[str] = Field(default=None, max_length=10)
    override_by: Optional[str] = Field(default=None, max_length=100)
    override_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    scored_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class MentionBrand(SQLModel, table=True):
    """Link of a mention to a brand, with copies of what hot aggregations read.

    ``ts`` is ``created_at`` in epoch seconds (integer division buckets it by hour or day
    on every database); ``label`` is the effective label (an override wins).
    """

    __tablename__ = "mention_brand"
    __table_args__ = (
        sa.Index("ix_mention_brand_hot", "brand_id", "ts", "label", "platform", "reach", "engagement"),
        sa.Index("ix_mention_brand_ts", "ts"),
    )

    mention_id: int = Field(foreign_key="mention.id", primary_key=True, ondelete="CASCADE")
    brand_id: int = Field(foreign_key="brand.id", primary_key=True, ondelete="CASCADE")
    ts: int = Field(sa_type=sa.BigInteger)
    platform: str = Field(max_length=40)
    label: str = Field(max_length=10)
    reach: int = Field(default=0, sa_type=sa.BigInteger)
    engagement: int = Field(default=0, sa_type=sa.BigInteger)


class ActivityHourly(SQLModel, table=True):
    """Hourly roll-up of ``mention_brand``: what every trend and KPI query reads.

    One row per brand, UTC hour (``hour`` = epoch seconds // 3600), platform and effective
    label. Database triggers on ``mention_brand`` (migration 0003) keep it exact on every
    insert, update and delete, whatever the code path, so no query scans a million links.
    """

    __tablename__ = "activity_hourly"

    brand_id: int = Field(foreign_key="brand.id", primary_key=True, ondelete="CASCADE")
    hour: int = Field(primary_key=True, sa_type=sa.BigInteger)
    platform: str = Field(primary_key=True, max_length=40)
    label: str = Field(primary_key=True, max_length=10)
    mentions: int = Field(default=0, sa_type=sa.BigInteger)
    reach: int = Field(default=0, sa_type=sa.BigInteger)
    engagement: int = Field(default=0, sa_type=sa.BigInteger)


class Customer(SQLModel, table=True):
    """A record from the company's CRM."""

    id: Optional[int] = Field(default=None, primary_key=True)
    crm_ref: str = Field(max_length=100, sa_column_kwargs={"unique": True}, nullable=False)
    name: str = Field(default="", max_length=300)
    email: str = Field(default="", max_length=320, index=True)
    country: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    city: str = Field(default="", max_length=100)
    age: Optional[int] = None
    income: Optional[float] = None
    household_size: Optional[int] = None
    segment: str = Field(default="", max_length=100)
    lifetime_value: Optional[float] = None
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = _created()


class SocialIdentity(SQLModel, table=True):
    """A social handle known to belong to a customer."""

    __table_args__ = (sa.UniqueConstraint("platform", "handle", name="uq_identity_platform_handle"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=40)
    handle: str = Field(max_length=200)
    customer_id: int = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    method: str = Field(default="exact", max_length=20)  # exact, email, fuzzy, manual
    confidence: float = 1.0
    linked_by: str = Field(default="system", max_length=100)
    linked_at: datetime = _created()


class AuditLog(SQLModel, table=True):
    """Who changed what, when (label overrides, links, erasures...)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _created()
    username: str = Field(max_length=100)
    action: str = Field(max_length=60, index=True)
    entity: str = Field(max_length=60)
    entity_id: str = Field(default="", max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


ALERT_KINDS = ("negative_influencer", "escalation", "volume_spike", "negative_share_spike", "keyword")
ALERT_STATUSES = ("new", "acknowledged", "responded", "resolved")


class BrandAccount(SQLModel, table=True):
    """A social account that belongs to a brand (its replies are the brand's responses)."""

    __tablename__ = "brand_account"
    __table_args__ = (sa.UniqueConstraint("platform", "handle", name="uq_brand_account_platform_handle"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True, ondelete="CASCADE")
    platform: str = Field(max_length=40)
    handle: str = Field(max_length=200)


class MentionMetrics(SQLModel, table=True):
    """An observation of a mention's engagement (each import or collection adds one).

    Successive observations give the per-hour velocity that escalation alerts use.
    """

    __tablename__ = "mention_metrics"
    __table_args__ = (sa.Index("ix_mention_metrics_observed_at", "observed_at"),)

    mention_id: int = Field(foreign_key="mention.id", primary_key=True, ondelete="CASCADE")
    observed_at: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    engagement: int = Field(default=0, sa_type=sa.BigInteger)
    reach: int = Field(default=0, sa_type=sa.BigInteger)


class AlertRule(SQLModel, table=True):
    """A rule a user configures per brand (``brand_id`` None: every brand).

    ``kind`` is one of :data:`ALERT_KINDS`; ``params`` holds its thresholds (validated by
    ``scrm.alerts``); ``cooldown_minutes`` groups one incident into one alert. The
    ``checked_*`` columns are the engine's watermark: mentions up to ``checked_mention_id``
    and engagement observations up to ``checked_observed_at`` have been evaluated.
    """

    __tablename__ = "alert_rule"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    brand_id: Optional[int] = Field(default=None, foreign_key="brand.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=40)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    cooldown_minutes: int = 360
    enabled: bool = True
    created_by: str = Field(default="system", max_length=100)
    created_at: datetime = _created()
    checked_mention_id: int = Field(
        default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"}
    )
    checked_observed_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    checked_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class Alert(SQLModel, table=True):
    """One incident: raised once per (rule, key); groups its mentions; moves through a workflow.

    ``status`` follows new → acknowledged → responded → resolved (reopen goes back to
    acknowledged); ``priority`` is 1 (P1, most urgent) … 4 with its parts in ``detail``.
    """

    __table_args__ = (
        sa.UniqueConstraint("rule_id", "key", name="uq_alert_rule_key"),
        sa.Index("ix_alert_status_priority", "status", "priority"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="alert_rule.id", index=True, ondelete="CASCADE")
    brand_id: Optional[int] = Field(default=None, foreign_key="brand.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=40)
    key: str = Field(max_length=200)
    title: str = Field(max_length=500)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    priority: int = 4
    status: str = Field(default="new", max_length=20)
    assignee: str = Field(default="", max_length=100)
    onset_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    raised_at: datetime = _created()
    sla_due_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    first_response_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    resolved_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    response_text: str = Field(default="", sa_type=sa.Text)
    updated_at: datetime = _created()


class AlertMention(SQLModel, table=True):
    """A mention grouped into an alert."""

    __tablename__ = "alert_mention"

    alert_id: int = Field(foreign_key="alert.id", primary_key=True, ondelete="CASCADE")
    mention_id: int = Field(foreign_key="mention.id", primary_key=True, index=True, ondelete="CASCADE")


class AlertEvent(SQLModel, table=True):
    """Every change of an alert: who, when, what, note (the audit trail shown on it)."""

    __tablename__ = "alert_event"

    id: Optional[int] = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True, ondelete="CASCADE")
    at: datetime = _created()
    username: str = Field(max_length=100)
    action: str = Field(max_length=40)
    from_status: str = Field(default="", max_length=20)
    to_status: str = Field(default="", max_length=20)
    note: str = Field(default="", sa_type=sa.Text)


class Notification(SQLModel, table=True):
    """The outbox: one message per alert, channel and target, retried with backoff until sent.

    The unique key means a notification is never queued (so never sent) twice.
    """

    __table_args__ = (
        sa.UniqueConstraint("alert_id", "channel", "target", name="uq_notification_alert_channel_target"),
        sa.Index("ix_notification_due", "status", "next_attempt_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", ondelete="CASCADE")
    channel: str = Field(max_length=20)  # webhook, email
    target: str = Field(max_length=500)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    status: str = Field(default="pending", max_length=20)  # pending, sent, failed
    attempts: int = 0
    next_attempt_at: datetime = _created()
    last_error: str = Field(default="", max_length=2000)
    created_at: datetime = _created()
    sent_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class MentionCreate(BaseModel):
    """A normalised mention from any source, before brand matching and scoring."""

    platform: str
    external_id: str
    text: str
    created_at: datetime
    author: str = ""
    author_name: str = ""
    followers: int = 0
    verified: bool = False
    likes: int = 0
    shares: int = 0
    comments: int = 0
    reach: Optional[int] = None
    url: str = ""
    brands: list[str] = PydField(default_factory=list)
    parent_id: Optional[str] = None
    language: str = ""
    inbound: Optional[bool] = None


class BrandCreate(BaseModel):
    """Input shape for a new brand."""

    name: str
    query: str = ""
    is_own: bool = False
    colour: str = ""


class IdentityCandidate(SQLModel, table=True):
    """The review queue of uncertain links: a handle that may belong to a customer.

    ``status`` is queued, accepted or rejected; a rejected pair (a rejection or an unlink)
    is never linked again automatically.
    """

    __tablename__ = "identity_candidate"
    __table_args__ = (sa.UniqueConstraint("platform", "handle", "customer_id", name="uq_identity_candidate"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=40)
    handle: str = Field(max_length=200)
    customer_id: int = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    method: str = Field(max_length=20)  # exact, email, fuzzy (the method of the link it would make)
    confidence: float
    status: str = Field(default="queued", max_length=20)  # queued, accepted, rejected
    reason: str = Field(default="", max_length=500)
    created_at: datetime = _created()
    decided_by: str = Field(default="", max_length=100)
    decided_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class Lead(SQLModel, table=True):
    """A post showing purchase intent or a wish to switch, moved through a sales funnel."""

    __table_args__ = (
        sa.UniqueConstraint("mention_id", name="uq_lead_mention"),
        sa.Index("ix_lead_stage", "stage"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", ondelete="CASCADE")
    brand_id: Optional[int] = Field(default=None, foreign_key="brand.id", ondelete="SET NULL")
    kind: str = Field(max_length=30)  # purchase_intent, switching, competitor_complaint
    score: float = 0.0
    stage: str = Field(default="new", max_length=20)  # new, qualified, contacted, won, lost
    value: Optional[float] = None
    customer_id: Optional[int] = Field(
        default=None, foreign_key="customer.id", index=True, ondelete="SET NULL"
    )
    assignee: str = Field(default="", max_length=100)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class RedditCheckpoint(SQLModel, table=True):
    """Where the Reddit collector stands in one listing, newest first (scrm.ingest.reddit).

    A listing is a brand's search, or a subreddit's new posts or new comments. Everything
    created at or after ``high_water`` (epoch seconds) down to the previous one has been
    stored. A pass cut short (a crash, a limit, an error) keeps ``run_head``, the newest item
    of that pass, and ``cursor``, the ``after`` of its last stored page: the next run goes on
    from the cursor down to ``high_water``, then reads the new items down to ``run_head``.
    """

    __tablename__ = "reddit_checkpoint"
    __table_args__ = (sa.UniqueConstraint("key", name="uq_reddit_checkpoint_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=300)  # kind|target|scope
    kind: str = Field(max_length=20)  # search, new, comments
    target: str = Field(max_length=300)  # the brand or the subreddit
    query: str = Field(default="", max_length=1000)  # the search sent; a new query starts over
    high_water: Optional[float] = None
    run_head: Optional[float] = None
    cursor: Optional[str] = Field(default=None, max_length=40)
    items: int = Field(default=0, sa_type=sa.BigInteger)  # items read from this listing, all runs
    last_error: str = Field(default="", max_length=2000)
    updated_at: datetime = _created()


class RedditRun(SQLModel, table=True):
    """One run of the Reddit collector: what it read and stored, its requests and its errors."""

    __tablename__ = "reddit_run"
    __table_args__ = (sa.Index("ix_reddit_run_started", "started_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    batch_id: Optional[int] = Field(default=None, foreign_key="importbatch.id", ondelete="SET NULL")
    trigger: str = Field(default="cli", max_length=20)  # cli, watch, page, api
    targets: str = Field(default="", max_length=2000)  # the listings it read
    started_at: datetime = _created()
    heartbeat_at: datetime = _created()  # a running run touches it page by page
    finished_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="running", max_length=20)  # running, done, partial, failed, interrupted
    fetched: int = 0
    stored: int = 0
    updated: int = 0
    duplicates: int = 0
    skipped: int = 0
    errors: int = 0
    requests: int = 0
    stopped: str = Field(default="", max_length=300)  # the limit that ended it early
    error: str = Field(default="", sa_type=sa.Text)  # one line per failed listing

"""Process settings, read from ``TENANTRY_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tenantry.core import ids, names
from tenantry.core.errors import InvalidInput


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTRY_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path(".tenantry"), description="Where the embedded backends keep their files."
    )
    database_url: str | None = Field(
        default=None,
        description="The control database; unset means a SQLite file under data_dir.",
    )
    database_owner_url: str | None = Field(
        default=None,
        description="PostgreSQL only: the role that owns the control tables and runs their "
        "migrations; the serving URL's role then gets INSERT and SELECT only on the audit "
        "tables. Unset: the serving URL's role is the owner.",
    )
    tenant_database_url: str | None = Field(
        default=None,
        description="PostgreSQL server for tenant schemas and databases (an admin connection). "
        "Unset: the control database's server when it is PostgreSQL, else SQLite files.",
    )
    nats_url: str | None = Field(
        default=None,
        description="NATS JetStream servers for tenant streams; unset: the in-process bus, "
        "which needs no provisioning.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for tenant state (working memory); unset: a SQLite file under data_dir.",
    )
    objects: Literal["local", "s3"] = Field(
        default="local", description="Object backend: a local directory, or the S3 API."
    )
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_shared_bucket: str = "tenantry-shared"
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the platform admin for the admin API (until access lands).",
    )
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"
    subject_prefix: str = names.DEFAULT_SUBJECT_PREFIX
    resync_seconds: float = Field(default=30.0, gt=0)
    request_log: bool = Field(
        default=True, description="Log one line per request (tenant, status, duration...)."
    )
    door_credential_rate: float = Field(
        default=100.0, gt=0, le=1_000_000, description="Requests per second per credential."
    )
    door_credential_burst: int = Field(default=200, ge=1, le=1_000_000)
    door_address_rate: float = Field(
        default=10.0,
        gt=0,
        le=1_000_000,
        description="Requests per second per client address without a valid credential.",
    )
    door_address_burst: int = Field(default=40, ge=1, le=1_000_000)
    door_refusal_rate: float = Field(
        default=1.0,
        gt=0,
        le=1_000_000,
        description="Refused (403) requests per second per credential before its door closes.",
    )
    door_refusal_burst: int = Field(default=20, ge=1, le=1_000_000)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks (comma-separated) whose X-Forwarded-For is believed.",
    )
    flow_egress_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks (comma-separated) a flow's call and llm nodes may reach although "
        "they are not public (loopback, private, link-local); empty: public addresses only.",
    )
    refusal_audit_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="Window of refusal audit: the first refusal is recorded, the rest summed.",
    )
    # -- audit of writes (issue 13, audit-coverage) --
    audit_writes: bool = Field(
        default=True,
        description="Record every API write in the audit log. For benchmarking only (the "
        "anchor of the audit-overhead bench): never turn it off in service. Refusals, "
        "token and key changes and control-database changes are recorded either way.",
    )
    job_lease_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="How long a job's claim lasts unrenewed: a dead worker's job resumes after.",
    )
    job_concurrency: int = Field(
        default=4, ge=1, le=64, description="Lifecycle jobs one worker runs at once."
    )
    # -- webhooks (issue 13, docs/webhooks.md) --
    webhook_egress_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks (comma-separated) webhook deliveries may reach although they are "
        "not public (loopback, private, link-local); empty: public addresses only.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="How long one webhook delivery attempt may take."
    )
    webhook_concurrency: int = Field(
        default=64, ge=1, le=4096, description="Webhook deliveries one worker sends at once."
    )
    webhook_endpoint_concurrency: int = Field(
        default=4, ge=1, le=256, description="Deliveries to one endpoint a worker sends at once."
    )
    webhook_max_attempts: int = Field(
        default=15, ge=1, le=30, description="Attempts of a delivery before it is given up."
    )
    webhook_log_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How long finished webhook deliveries stay in the delivery log (pending "
        "ones stay until they end).",
    )
    webhook_secret_overlap_seconds: float = Field(
        default=86_400.0,
        ge=0,
        le=30 * 86_400,
        description="How long a rotated-out signing secret still signs beside the new one.",
    )

    @field_validator("webhook_egress_allow", mode="before")
    @classmethod
    def _webhook_networks(cls, value: object) -> object:
        return cls._networks(value)

    job_poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="How often a worker looks for new jobs."
    )
    fence_poll_seconds: float = Field(
        default=0.2, gt=0, le=10, description="How often a process looks for suspends to drain."
    )
    fence_heartbeat_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often a process renews its heartbeat."
    )
    fence_stale_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="A process silent this long is dead to the suspend's drain (and refuses"
        " tenant requests itself).",
    )
    fence_drain_seconds: float = Field(
        default=20.0,
        gt=0,
        le=3600,
        description="How long a suspend waits for every live process to finish the tenant's"
        " requests in flight before its drain step fails (and is retried).",
    )
    migration_grace_seconds: float = Field(
        default=7 * 86_400.0,
        ge=0,
        description="How long a migration keeps a tenant's old copy before retiring it.",
    )
    migration_write_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long a write waits out a migration's cutover before its 503.",
    )
    max_deliveries: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Deliveries of a message before the runner dead-letters it.",
    )
    bus_tenant_max_msgs: int = Field(
        default=10_000,
        ge=1,
        le=10_000_000,
        description="Messages a tenant environment may keep unacknowledged in one direction "
        "(ingress, egress, dead letters); publishing past it is refused with 429.",
    )
    bus_ack_wait_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long a delivery may stay unacknowledged before it is delivered again.",
    )
    bus_dedup_window_seconds: float = Field(
        default=120.0,
        gt=0,
        le=86_400,
        description="How long the bus remembers a message id to drop a republished duplicate.",
    )
    pool_concurrency: int = Field(
        default=16, ge=1, le=1024, description="Messages one worker pool processes at once."
    )
    pool_refresh_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="How often a worker pool re-reads which tenant environments it serves.",
    )
    order_gap_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="How long a session's message waits for its predecessor before the runner"
        " gives up on it and goes on.",
    )
    flow_lease_seconds: float = Field(
        default=60.0,
        gt=1,
        le=3600,
        description="How long a flow execution slot held in Redis lasts unrenewed (a dead"
        " worker's slots come back after it).",
    )

    slack_api_url: str = Field(
        default="https://slack.com/api",
        description="Slack's Web API base URL (replies: chat.postMessage); tests point it at a"
        " local server.",
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org",
        description="Telegram's Bot API base URL (replies: sendMessage).",
    )
    teams_reply_seconds: float = Field(
        default=4.5,
        gt=0,
        le=15,
        description="How long a Teams outgoing webhook waits for the flow's reply to answer it"
        " in its own response (Teams gives up after about 5 s).",
    )
    egress_send_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Attempts to send a reply to a provider before it is dead-lettered.",
    )

    # -- tenancy events (issue 13) --
    events_subject_prefix: str = Field(
        default=names.DEFAULT_EVENT_PREFIX,
        description="The two tokens every tenancy event's subject starts with"
        " ({prefix}.{tenant}.{type}); apart from the messaging prefix, whose streams would"
        " overlap it.",
    )
    events_dispatch_seconds: float = Field(
        default=1.0,
        gt=0,
        le=300,
        description="How often the worker's dispatcher looks for unpublished events.",
    )
    events_retention_seconds: float = Field(
        default=7 * 86_400.0,
        gt=0,
        le=366 * 86_400.0,
        description="How long published events stay in the outbox (and on the events stream).",
    )
    events_quota_window_seconds: int = Field(
        default=3600,
        ge=60,
        le=86_400,
        description="The window of quota.exceeded events: one per tenant, resource and window.",
    )

    session_fsync: bool = Field(
        default=True,
        description="Fsync session files (on the local directory backend) before they replace"
        " the old: durable across a power loss. False trades that for speed (benchmarks).",
    )
    single_tenant: str | None = Field(
        default=None,
        description="Single-tenant deployment: the one tenant this instance serves (every other"
        " is refused: not found at runtime, refused at apply). Unset: multi-tenant.",
    )
    # Residency (policies, issue 13): the region each backend's data lives in, as policies
    # name regions; unset: the backend declares none, which a residency policy refuses.
    postgres_region: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="Region of the tenant PostgreSQL server.",
    )
    redis_region: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="Region of the Redis server (tenant state).",
    )
    nats_region: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="Region of the NATS servers (tenant streams).",
    )
    objects_region: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="Region of the object store's data (not the S3 client's s3_region).",
    )
    embedded_region: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="Region of this machine's files (SQLite, local objects, keyring, bus).",
    )
    # -- the audit chain (issue 13, docs/audit.md) --
    audit_checkpoint_records: int = Field(
        default=1000, ge=1, le=10_000_000, description="Sign a chain's checkpoint every N links."
    )
    audit_checkpoint_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="...or when a chain's newest links have waited this long unsigned.",
    )
    audit_settle_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="A record this much older than its chain predecessor fails verify as"
        " backdated (a late commit is never that late).",
    )
    audit_verify_processes: int = Field(
        default=0,
        ge=0,
        le=256,
        description="Worker processes that verify long audit chains in ranges (0: one per"
        " core; 1: in this process).",
    )

    @field_validator("single_tenant")
    @classmethod
    def _tenant_id(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            return ids.tenant_id(value)
        except InvalidInput as error:
            raise ValueError(f"single_tenant: {error.message}") from error

    @field_validator("subject_prefix", "events_subject_prefix")
    @classmethod
    def _two_tokens(cls, prefix: str) -> str:
        try:
            return names.check_subject_prefix(prefix)
        except InvalidInput as error:
            raise ValueError(error.message) from error

    @field_validator("trusted_proxies", "flow_egress_allow", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            return items
        try:
            return [str(ipaddress.ip_network(str(item).strip())) for item in items if item]
        except ValueError as error:
            raise ValueError(f"a network list: {error}") from None

    def tenant_postgres_url(self) -> str | None:
        """The tenant-data PostgreSQL server, or None for SQLite files (the embedded default)."""
        if self.tenant_database_url:
            return self.tenant_database_url
        control = self.database_url or ""
        return control if control.startswith("postgresql") else None

    def control_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'control.sqlite3').resolve()}"

"""Settings: built once (from the environment, CLI flags or a test) and passed in.

Every setting can be given as an `INBOXKIT_<NAME>` environment variable; the CLI's flags use
the same names. Nothing in the package reads the environment after this object is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings"]

MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INBOXKIT_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    redis_url: str | None = None

    http_host: str = "127.0.0.1"
    http_port: int = 8025
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    public_url: str | None = None

    domains: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["inboxkit.localhost"])
    allow_anonymous: bool = True
    admin_key: str | None = None
    default_ttl_minutes: int = Field(default=60, ge=1)
    max_ttl_minutes: int = Field(default=60 * 24 * 30, ge=1)

    # SMTP limits (RFC 5321 §4.5.3 sets minimums; these are the receiving side's caps).
    max_message_bytes: int = Field(default=25 * MiB, ge=1024)
    max_recipients: int = Field(default=100, ge=1)
    smtp_idle_timeout: float = Field(default=60.0, gt=0)
    smtp_session_timeout: float = Field(default=600.0, gt=0)
    smtp_max_commands: int = Field(default=1000, ge=10)
    smtp_max_connections: int = Field(default=500, ge=1)
    smtp_hostname: str = "inboxkit.localhost"

    # Parsing guards (DESIGN §5).
    parse_timeout: float = Field(default=10.0, gt=0)
    parse_workers: int = Field(default=1, ge=0)
    max_mime_depth: int = Field(default=20, ge=1)
    max_mime_parts: int = Field(default=500, ge=1)
    max_header_bytes: int = Field(default=1 * MiB, ge=1024)

    # Background work.
    sweep_interval: float = Field(default=30.0, gt=0)
    wait_poll_interval: float = Field(default=2.0, gt=0)
    ping_interval: float = Field(default=30.0, gt=0)

    # Outbound and webhooks.
    smtp_relay_url: str | None = None
    webhook_allow_private: bool = False

    # Outbound mail (DESIGN §3 Sending). The relay URL is smtp://user:pass@host:port (STARTTLS
    # when offered) or smtps://… (implicit TLS). Retry schedules are comma-separated seconds:
    # the first number is the delay before the first attempt, each next one the wait after a
    # temporary failure; when they run out the message fails.
    max_send_bytes: int = Field(default=10 * MiB, ge=1024)
    max_send_recipients: int = Field(default=50, ge=1)
    send_rate_limit: int = Field(default=60, ge=1)
    send_rate_window: float = Field(default=60.0, gt=0)
    smtp_relay_timeout: float = Field(default=60.0, gt=0)
    outbox_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0, 60, 300, 1800, 7200, 21600]
    )
    outbox_poll_interval: float = Field(default=2.0, gt=0)
    outbox_concurrency: int = Field(default=16, ge=1)
    outbox_lease_seconds: float = Field(default=300.0, gt=0)
    dkim_selector: str | None = None
    dkim_private_key_path: Path | None = None

    # Webhook delivery: Standard Webhooks signatures, retried with backoff over about a day.
    webhook_timeout: float = Field(default=15.0, gt=0)
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0, 5, 300, 1800, 7200, 18000, 36000]
    )
    webhook_poll_interval: float = Field(default=2.0, gt=0)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_concurrency: int = Field(default=32, ge=1)
    webhook_retention_days: float = Field(default=7.0, gt=0)
    # PEM file of CA certificates for HTTPS endpoints (default: the public CA bundle).
    webhook_ca_bundle: Path | None = None

    max_request_bytes: int = Field(default=35 * MiB, ge=1024)

    # HTTP connection and stream guards. Open long-polls, WebSockets and SSE streams are counted
    # per token (API key or mailbox token) across every API process when Redis is configured,
    # per process otherwise. A request head (request line and headers) must arrive within
    # HTTP_HEADER_TIMEOUT seconds of the connection being ready for it, and one API process
    # holds at most HTTP_MAX_CONNECTIONS connections (WebSockets included).
    max_streams_per_token: int = Field(default=20, ge=1)
    http_header_timeout: float = Field(default=10.0, gt=0)
    http_max_connections: int = Field(default=10_000, ge=1)
    auto_migrate: bool = True

    @field_validator("domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if isinstance(value, list):
            return [str(part).strip().lower().rstrip(".") for part in value if str(part).strip()]
        return value

    @field_validator("outbox_retry_schedule", "webhook_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("outbox_retry_schedule", "webhook_retry_schedule")
    @classmethod
    def _check_schedule(cls, value: list[float]) -> list[float]:
        if not value or any(delay < 0 for delay in value):
            raise ValueError("a retry schedule is one or more delays in seconds, none negative")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'inboxkit.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def default_domain(self) -> str:
        return self.domains[0]

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.http_host}:{self.http_port}"

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

    max_request_bytes: int = Field(default=35 * MiB, ge=1024)
    auto_migrate: bool = True

    @field_validator("domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if isinstance(value, list):
            return [str(part).strip().lower().rstrip(".") for part in value if str(part).strip()]
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

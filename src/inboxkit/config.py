"""Settings: built once (from the environment, CLI flags or a test) and passed in.

Every setting can be given as an `INBOXKIT_<NAME>` environment variable; the CLI's flags use
the same names. Nothing in the package reads the environment after this object is built.
"""

from __future__ import annotations

import os
import re
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings"]

MiB = 1024 * 1024


def _resolver_address(value: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port`, or a bare address (port 53)."""
    text = value.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, "53"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"INBOXKIT_DNS_RESOLVER must be host:port, not {value!r}")
    return host, int(port)


class Settings(BaseSettings):
    """Every setting of the server, from `INBOXKIT_*` environment variables or given directly;
    built once and passed to what needs it."""

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

    # SMTP abuse limits: sessions one peer may hold at once (IPv6 peers counted per /64), and
    # recipients a session may have refused before it is closed (address guessing).
    smtp_max_connections_per_ip: int = Field(default=20, ge=1)
    smtp_max_refused_recipients: int = Field(default=20, ge=1)
    # New SMTP sessions one peer (IPv6: its /64) may open a minute, counted with the rate
    # limits (shared by every SMTP process through Redis); more are answered 421 at connect.
    smtp_connect_rate_per_ip: int = Field(default=600, ge=1)
    # Capture (DESIGN §11): SMTP AUTH for applications under test, off unless asked for
    # (`make serve` turns it on). Plain-text AUTH only from loopback unless allowed here;
    # failed sign-ins (SMTP and the emulated send APIs) are limited per client address.
    smtp_capture: bool = False
    # STARTTLS (DESIGN §9): offered only with a certificate and key (PEM, reloaded when the
    # files change); `smtp_require_tls` answers MAIL before STARTTLS with 530 5.7.0.
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None
    smtp_require_tls: bool = False
    # PROXY protocol v1/v2 from `trusted_proxies` only: the header names the real client,
    # which the envelope, rate limits and connection caps then use.
    smtp_proxy_protocol: bool = False
    smtp_proxy_timeout: float = Field(default=5.0, gt=0)
    smtp_auth_allow_plain: bool = False
    capture_auth_failures_per_minute: int = Field(default=10, ge=1)
    # Sender authentication (DESIGN §9): SPF, DKIM and DMARC on inbound mail to `agent`
    # mailboxes (the default), `all` (test mailboxes too) or `none`; `true`/`false` mean
    # `agent`/`none`. Lookups go to `dns_resolver` (`host:port`; default the system's), and a
    # message's lookups together take at most `dns_budget_seconds` (then `temperror`).
    verify_senders: Literal["agent", "all", "none"] = "agent"
    dns_resolver: str | None = None
    dns_budget_seconds: float = Field(default=3.0, gt=0, le=30)
    # Spam (DESIGN §9): every inbound message is scored, by rspamd at `rspamd_url` (its HTTP
    # `/checkv2`, within `rspamd_timeout` seconds, else delivered with `engine: "unavailable"`)
    # or by the built-in scorer when no URL is set. Spam and blocked mail is hidden only in
    # agent mailboxes. `spam_filter=false` scores nothing (`engine: "none"`).
    spam_filter: bool = True
    rspamd_url: str | None = None
    rspamd_password: str | None = None
    rspamd_timeout: float = Field(default=2.0, gt=0, le=30)

    # Custom domains (DESIGN §10, docs/domains.md). `mx_host` is the host name their MX
    # records must name (default: the first of `domains`). Verified domains are re-checked
    # every `domain_recheck_interval` seconds; one whose TXT record is gone returns to
    # `pending` at once and keeps receiving mail for its mailboxes for `domain_grace_hours`
    # (no new mailboxes, and nobody else may verify it meanwhile), then receives nothing.
    mx_host: str | None = None
    domain_recheck_interval: float = Field(default=3600.0, gt=0)
    domain_grace_hours: float = Field(default=72.0, ge=0)

    # Parsing guards (DESIGN §5). Messages are parsed by `parse_workers` processes at once
    # (default: one per CPU, at least 2 so one slow message never holds up the next, at most
    # 4), each within `parse_timeout` seconds; a message that takes longer is stored raw and
    # listed with `parse_error`. Ordinary mail parses in milliseconds and the worst input
    # bench/worst_inputs.py knows in well under a second, so 3 s leaves room for a loaded
    # machine while capping what one hostile message can cost a worker.
    parse_timeout: float = Field(default=3.0, gt=0)
    parse_workers: int = Field(default_factory=lambda: min(4, max(2, os.cpu_count() or 1)), ge=0)
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
    # when offered, and required when the URL has credentials) or smtps://… (implicit TLS). Retry schedules are comma-separated seconds:
    # the first number is the delay before the first attempt, each next one the wait after a
    # temporary failure; when they run out the message fails.
    max_send_bytes: int = Field(default=10 * MiB, ge=1024)
    max_send_recipients: int = Field(default=50, ge=1)
    send_rate_limit: int = Field(default=60, ge=1)
    send_rate_window: float = Field(default=60.0, gt=0)
    smtp_relay_timeout: float = Field(default=60.0, gt=0)
    outbox_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0.0, 60.0, 300.0, 1800.0, 7200.0, 21600.0]
    )
    outbox_poll_interval: float = Field(default=2.0, gt=0)
    outbox_concurrency: int = Field(default=16, ge=1)
    outbox_lease_seconds: float = Field(default=300.0, gt=0)
    dkim_selector: str | None = None
    dkim_private_key_path: Path | None = None

    # Sending abuse limits. A server-wide budget of messages per `send_rate_window`, counted
    # from the outbox (so it holds across processes) on top of the per-mailbox limit. A relay
    # URL with credentials is used only over TLS (smtps:// or STARTTLS); this PEM file of CA
    # certificates verifies the relay (default: the system's CAs).
    send_rate_limit_global: int = Field(default=600, ge=1)
    smtp_relay_ca_bundle: Path | None = None

    # Webhook delivery: Standard Webhooks signatures, retried with backoff over about a day.
    webhook_timeout: float = Field(default=15.0, gt=0)
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0]
    )
    webhook_poll_interval: float = Field(default=2.0, gt=0)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_concurrency: int = Field(default=32, ge=1)
    webhook_retention_days: float = Field(default=7.0, gt=0)
    # PEM file of CA certificates for HTTPS endpoints (default: the public CA bundle).
    webhook_ca_bundle: Path | None = None

    max_request_bytes: int = Field(default=35 * MiB, ge=1024)

    # Mail over HTTP (DESIGN §10). `POST /inbound/ses` accepts SNS messages only from the
    # topics listed here (empty: the endpoint is off). Each message's signing certificate is
    # fetched from `SigningCertURL`, which must match `sns_cert_url_pattern` whole, through the
    # webhook egress rules (INBOXKIT_WEBHOOK_CA_BUNDLE, INBOXKIT_WEBHOOK_ALLOW_PRIVATE) and kept
    # `sns_cert_cache_seconds`; a subscription is confirmed by fetching its `SubscribeURL`,
    # which must match `sns_subscribe_url_pattern` whole. Seen SNS message ids are kept
    # `sns_dedupe_days` so a redelivery is stored once.
    sns_topics: Annotated[list[str], NoDecode] = Field(default_factory=list)
    sns_cert_url_pattern: str = (
        r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/SimpleNotificationService-[0-9a-f]+\.pem$"
    )
    sns_subscribe_url_pattern: str = (
        r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/\?Action=ConfirmSubscription&[^#\s]+$"
    )
    sns_cert_cache_seconds: float = Field(default=3600.0, ge=0)
    sns_dedupe_days: float = Field(default=7.0, gt=0)

    # HTTP connection and stream guards. Open long-polls, WebSockets and SSE streams are counted
    # per token (API key or mailbox token) across every API process when Redis is configured,
    # per process otherwise. A request head (request line and headers) must arrive within
    # HTTP_HEADER_TIMEOUT seconds of the connection being ready for it, and one API process
    # holds at most HTTP_MAX_CONNECTIONS connections (WebSockets included).
    max_streams_per_token: int = Field(default=20, ge=1)
    http_header_timeout: float = Field(default=10.0, gt=0)
    http_max_connections: int = Field(default=10_000, ge=1)
    auto_migrate: bool = True

    # Abuse hardening: webhook egress, browser origins. Webhooks reach ports 80 and 443 plus
    # `webhook_allowed_ports` (INBOXKIT_WEBHOOK_ALLOW_PRIVATE, for local development, lifts the
    # port rule with the address rule). `POST /webhooks/{id}/test` is limited per account.
    # Browser origins allowed on WebSocket, SSE and /mcp: PUBLIC_URL's and `allowed_origins`
    # (comma list of scheme://host[:port]); with neither, only loopback pages of this server.
    webhook_allowed_ports: Annotated[list[int], NoDecode] = Field(default_factory=list)
    webhook_test_rate_limit: int = Field(default=10, ge=1)
    webhook_test_rate_window: float = Field(default=60.0, gt=0)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Reverse proxies whose X-Forwarded-For is believed (comma list of CIDRs or addresses).
    # A request whose socket peer is one of them is counted under the right-most forwarded
    # address that is not; any other request under its peer. Empty: the header is ignored.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _check_tls(self) -> Settings:
        if (self.smtp_tls_cert is None) != (self.smtp_tls_key is None):
            raise ValueError("set both SMTP_TLS_CERT and SMTP_TLS_KEY, or neither")
        if self.smtp_require_tls and self.smtp_tls_cert is None:
            raise ValueError("SMTP_REQUIRE_TLS needs SMTP_TLS_CERT and SMTP_TLS_KEY")
        return self

    @field_validator("verify_senders", mode="before")
    @classmethod
    def _verify_words(cls, value: object) -> object:
        if isinstance(value, bool):
            return "agent" if value else "none"
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("true", "1", "yes", "on"):
                return "agent"
            if word in ("false", "0", "no", "off"):
                return "none"
            return word
        return value

    @field_validator("dns_resolver")
    @classmethod
    def _check_resolver(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            _resolver_address(value)  # raises ValueError, reported by pydantic
            return value.strip()
        return None

    @property
    def dns_resolver_address(self) -> tuple[str, int] | None:
        """`dns_resolver` as (host, port), None for the system's resolver."""
        return _resolver_address(self.dns_resolver) if self.dns_resolver else None

    @field_validator("domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if isinstance(value, list):
            return [str(part).strip().lower().rstrip(".") for part in value if str(part).strip()]
        return value

    @field_validator("webhook_allowed_ports", "allowed_origins", "sns_topics", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_allowed_ports")
    @classmethod
    def _check_ports(cls, value: list[int]) -> list[int]:
        if any(not 1 <= port <= 65535 for port in value):
            raise ValueError("ports are numbers from 1 to 65535")
        return value

    @field_validator("sns_cert_url_pattern", "sns_subscribe_url_pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        re.compile(value)  # a re.error is reported by pydantic
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{origin!r} is not an origin such as https://mail.example.com")
        return [origin.rstrip("/") for origin in value]

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            try:
                return [ip_network(str(part), strict=False) for part in value]
            except ValueError as exc:
                raise ValueError(f"{exc}; give CIDRs such as 10.0.0.0/8 or 2001:db8::/32") from None
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
    def effective_mx_host(self) -> str:
        """The host custom domains' MX records name: `mx_host`, else the first domain."""
        return (self.mx_host or self.default_domain).strip().lower().rstrip(".")

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.http_host}:{self.http_port}"

"""The `Plan` record: what an account (or an anonymous caller) may do.

A leaf module (no inboxkit imports) so the store, the pipeline, the services and the surfaces
all speak of one type. Plans themselves are rows of `plans`, managed by `services/plans.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

__all__ = ["BOOL_LIMITS", "PLAN_LIMITS", "Plan", "SendPolicy"]

# The limit fields of a plan, in the order the API shows them. None means unlimited (for the
# booleans: allowed; for `send`: "any").
PLAN_LIMITS = (
    "max_mailboxes",
    "max_messages_per_mailbox",
    "max_ttl_minutes",
    "retention_days",
    "received_per_month",
    "sent_per_month",
    "max_message_bytes",
    "max_webhooks",
    "max_domains",
    "send",
    "agent_mode",
    "api_access",
    "mcp_access",
    "create_per_minute",
    "read_per_minute",
    "write_per_minute",
    "send_per_minute",
    "concurrent_waits",
)
BOOL_LIMITS = ("agent_mode", "api_access", "mcp_access")


class SendPolicy(StrEnum):
    """Whom a plan's mailboxes may send to: nobody, mailboxes hosted here, anybody."""

    NONE = "none"
    LOCAL = "local"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan's limits; None is unlimited (for the booleans: allowed; for `send`: any)."""

    name: str
    max_mailboxes: int | None = None
    max_messages_per_mailbox: int | None = None
    max_ttl_minutes: int | None = None
    retention_days: int | None = None
    received_per_month: int | None = None
    sent_per_month: int | None = None
    max_message_bytes: int | None = None
    max_webhooks: int | None = None
    max_domains: int | None = None
    send: str | None = None
    agent_mode: bool | None = None
    api_access: bool | None = None
    mcp_access: bool | None = None
    create_per_minute: int | None = None
    read_per_minute: int | None = None
    write_per_minute: int | None = None
    send_per_minute: int | None = None
    concurrent_waits: int | None = None

    @classmethod
    def from_row(cls, row: Any, prefix: str = "") -> Plan:
        """From a `plans` row, or from a joined row whose columns are `<prefix><field>`."""
        return cls(
            name=getattr(row, f"{prefix}name"),
            **{name: getattr(row, f"{prefix}{name}") for name in PLAN_LIMITS},
        )

    @property
    def send_policy(self) -> SendPolicy:
        return SendPolicy(self.send) if self.send else SendPolicy.ANY

    def allows(self, flag: str) -> bool:
        """Whether a boolean limit (agent_mode, api_access, mcp_access) allows it."""
        return getattr(self, flag) is not False

    def limits(self) -> dict[str, Any]:
        """The limit fields as the API shows them (booleans and `send` spelt out)."""
        shown: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        del shown["name"]
        shown["send"] = self.send_policy.value
        for flag in BOOL_LIMITS:
            shown[flag] = self.allows(flag)
        return shown

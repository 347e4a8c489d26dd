"""What the pipeline needs to know about recipients, and from whom.

The pipeline owns this interface and `services.mailboxes.MailboxService` implements it, so
mail flows from `pipeline/` into `store/` without the pipeline importing the service layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from inboxkit.plan import Plan

__all__ = ["Recipient", "RecipientResolver", "RecipientStatus"]


class RecipientStatus(StrEnum):
    """What an RCPT address resolves to: a live mailbox, no such mailbox, or not one of our
    domains."""

    OK = "ok"
    UNKNOWN = "unknown"
    FOREIGN = "foreign"


@dataclass(frozen=True, slots=True)
class Recipient:
    """What RCPT TO resolves to: a live mailbox (with the +tag), or why not."""

    status: RecipientStatus
    mailbox_id: str | None = None
    address: str | None = None
    tag: str | None = None
    # The mailbox's owner and the plan that limits it (None: never limited).
    account_id: str | None = None
    plan: Plan | None = None
    expires_at: datetime | None = None
    # The mailbox's mode (`test`, `agent`, `capture`): whether its mail is authenticated.
    mode: str | None = None


class RecipientResolver(Protocol):
    """Turns a recipient address into the live mailbox it reaches."""

    async def resolve_recipient(self, address: str) -> Recipient:
        """The mailbox `address` (possibly `user+tag@domain`) delivers to, or why none."""
        ...

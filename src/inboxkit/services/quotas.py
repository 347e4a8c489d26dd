"""Refusing mail at RCPT that a plan's ceiling would refuse at commit.

A full mailbox (`max_messages_per_mailbox`) or an account that received its month's mail
(`received_per_month`) must be refused at RCPT with `452 4.2.2`, so the sender keeps the
message and retries; refusing after DATA would make it resend the whole body, and accepting then
dropping is never allowed. But RCPT comes before the message exists, and many sessions may be
between RCPT and DATA at once: counting only committed mail would admit them all.

So each accepted RCPT takes a *hold* on its mailbox and its owner's month in this process, and
the comparison is `committed + held < ceiling`. The committed figures are read first; the
comparison and the taking of the hold then run with no `await` between them, so no other
session of this process can act in between and two sessions cannot take the last slot (a lock
held across the read queued every RCPT of the process behind the previous one's database round
trip; see docs/benchmarks.md). A hold is given back once the delivery's transaction has counted
the message (it is then part of `committed`), or when the transaction is abandoned (RSET,
QUIT, a dropped connection, a failed DATA). The storing transaction checks the ceiling again (store/usage.py),
so sessions in *other* SMTP processes, which hold their own slots, can at worst get their
`452` after DATA instead of at RCPT — nothing over a ceiling is ever stored.
"""

from __future__ import annotations

from collections import Counter

from inboxkit.errors import MailboxFull, MessageTooLarge
from inboxkit.pipeline.recipients import Recipient
from inboxkit.plan import Plan
from inboxkit.store import usage
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = ["DeliveryQuotas", "Hold", "check_size"]


class Hold:
    """Slots one accepted recipient keeps until its delivery is counted or abandoned."""

    __slots__ = ("_owner", "keys")

    def __init__(self, owner: DeliveryQuotas, keys: tuple[str, ...]):
        self._owner = owner
        self.keys = keys

    def release(self) -> None:
        """Give the slots back (idempotent)."""
        if self.keys:
            self._owner._release(self.keys)
            self.keys = ()


def check_size(plan: Plan | None, size: int) -> None:
    """Refuse a message over the plan's `max_message_bytes` (SMTP `552 5.3.4`)."""
    if plan is not None and plan.max_message_bytes is not None and size > plan.max_message_bytes:
        raise MessageTooLarge(
            f"Plan '{plan.name}' accepts messages up to {plan.max_message_bytes} bytes; this "
            f"one is {size}.",
            limit="max_message_bytes",
            allowed=plan.max_message_bytes,
            used=size,
        )


class DeliveryQuotas:
    """The per-process holds of accepted recipients (see the module doc)."""

    def __init__(self, db: Database):
        self.db = db
        self._held: Counter[str] = Counter()

    def held(self, key: str) -> int:
        return self._held[key]

    def _release(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]

    async def reserve(self, recipient: Recipient, declared_size: int | None = None) -> Hold | None:
        """Admit one recipient, or raise MailboxFull / MessageTooLarge. Returns the hold to
        release once the delivery is counted (None when its plan has no ceiling to hold)."""
        plan = recipient.plan
        if plan is None or recipient.mailbox_id is None:
            return None
        if declared_size is not None:
            check_size(plan, declared_size)
        per_box, per_month = plan.max_messages_per_mailbox, plan.received_per_month
        if per_box is None and per_month is None:
            return None
        now = utcnow()
        box_key = f"box:{recipient.mailbox_id}"
        subject = usage.owner_subject(recipient.account_id, recipient.mailbox_id)
        period = usage.month(now)
        month_key = f"{subject}:{period}"
        async with self.db.read() as conn:
            count, received = await usage.admission_figures(
                conn, recipient.mailbox_id, subject, period
            )
        # From here to the hold: no await, so the check and the hold are one step.
        if per_box is not None and count + self._held[box_key] >= per_box:
            raise MailboxFull(
                f"Mailbox full: it holds {per_box} messages, the most plan '{plan.name}' allows.",
                limit="max_messages_per_mailbox",
                allowed=per_box,
                used=count,
            )
        if per_month is not None and received + self._held[month_key] >= per_month:
            raise MailboxFull(
                f"Mailbox full: its account received {per_month} messages this month, "
                f"the most plan '{plan.name}' allows.",
                limit="received_per_month",
                allowed=per_month,
                used=received,
            )
        self._held[box_key] += 1
        self._held[month_key] += 1
        return Hold(self, (box_key, month_key))

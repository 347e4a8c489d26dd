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

Far from a ceiling the committed figures are remembered for a second (this process's own
deliveries add to them as they are counted), so RCPT reads the database only when a figure is
old or the ceiling is near; near it, every RCPT reads the database and the answer is exact.
"""

from __future__ import annotations

import time
from collections import Counter

from inboxkit.errors import MailboxFull, MessageTooLarge
from inboxkit.pipeline.recipients import Recipient
from inboxkit.plan import Plan
from inboxkit.store import usage
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = ["DeliveryQuotas", "Hold", "check_size"]

REMEMBER_SECONDS = 1.0
REMEMBER_SIZE = 10_000
# "Near" a ceiling: within a tenth of it, and never fewer than this many slots.
NEAR_FRACTION = 10
NEAR_MIN = 5


class Hold:
    """Slots one accepted recipient keeps until its delivery is counted or abandoned."""

    __slots__ = ("_owner", "keys")

    def __init__(self, owner: DeliveryQuotas, keys: tuple[str, ...]):
        self._owner = owner
        self.keys = keys

    def release(self, *, counted: bool = False) -> None:
        """Give the slots back (idempotent); `counted` when the delivery's transaction counted
        the message, so the remembered committed figures grow by one."""
        if self.keys:
            self._owner._release(self.keys, counted=counted)
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
        # key -> (committed figure, monotonic time it was read): reading the database on every
        # RCPT was the whole cost of an enforced plan, so a figure read less than
        # REMEMBER_SECONDS ago is reused while the ceiling is far; this process's own
        # deliveries add to it as they are counted. Near a ceiling the database is read.
        self._known: dict[str, tuple[int, float]] = {}

    def held(self, key: str) -> int:
        return self._held[key]

    def _release(self, keys: tuple[str, ...], *, counted: bool = False) -> None:
        for key in keys:
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]
            known = self._known.get(key)
            if counted and known is not None:
                self._known[key] = (known[0] + 1, known[1])

    def _remembered(self, key: str, ceiling: int | None, now: float) -> int | None:
        """The remembered committed figure for `key` if it is fresh and far enough from the
        ceiling that mail from other processes in the last second cannot matter much."""
        if ceiling is None:
            return 0
        known = self._known.get(key)
        if known is None or now - known[1] > REMEMBER_SECONDS:
            return None
        figure = known[0]
        if figure + self._held[key] >= ceiling - max(NEAR_MIN, ceiling // NEAR_FRACTION):
            return None
        return figure

    def _remember(self, key: str, figure: int, now: float) -> None:
        if len(self._known) >= REMEMBER_SIZE:
            self._known.clear()
        self._known[key] = (figure, now)

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
        mono = time.monotonic()
        count = self._remembered(box_key, per_box, mono)
        received = self._remembered(month_key, per_month, mono)
        if count is None or received is None:
            async with self.db.read() as conn:
                count, received = await usage.admission_figures(
                    conn, recipient.mailbox_id, subject, period
                )
            self._remember(box_key, count, mono)
            self._remember(month_key, received, mono)
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

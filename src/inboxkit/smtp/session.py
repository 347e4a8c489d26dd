"""Per-connection SMTP state we keep beside aiosmtpd's own (protocol state, not domain data)."""

from __future__ import annotations

import asyncio

from aiosmtpd.smtp import Session

from inboxkit.services.auth import Principal
from inboxkit.services.quotas import Hold

__all__ = ["InboxSession"]


class InboxSession(Session):
    """aiosmtpd's session plus what our limits count over the whole connection (not per
    transaction: RSET or a new MAIL does not reset them)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        super().__init__(loop)
        self.refused_recipients = 0
        # Set by a successful AUTH (capture, DESIGN §11): the account whose capture mailbox
        # takes this session's mail, whatever its recipients.
        self.capture: Principal | None = None
        self.auth_failures = 0
        # The current transaction's quota holds (services/quotas.py), given back when it ends.
        self.holds: list[Hold] = []

    def release_holds(self, *, counted: bool = False) -> None:
        for hold in self.holds:
            hold.release(counted=counted)
        self.holds.clear()

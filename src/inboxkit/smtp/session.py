"""Per-connection SMTP state we keep beside aiosmtpd's own (protocol state, not domain data)."""

from __future__ import annotations

import asyncio

from aiosmtpd.smtp import Session

__all__ = ["InboxSession"]


class InboxSession(Session):
    """aiosmtpd's session plus what our limits count over the whole connection (not per
    transaction: RSET or a new MAIL does not reset them)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        super().__init__(loop)
        self.refused_recipients = 0

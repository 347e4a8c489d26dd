"""The reads of the wait catch-up (`workers/catchup.py`): recent ids and ended mailboxes.

Both are cheap however many consumers wait: a primary-key range scan over recent ids (reading
those few recent rows for `hidden`), and a lookup of the watched mailboxes by id, in chunks
that keep the IN list bounded.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.messages import visible
from inboxkit.store.tables import mailboxes, messages, utcnow

__all__ = ["recent_messages", "ended_mailboxes", "NARROW_BY_MAILBOX"]

# Up to this many watched mailboxes, the id range is narrowed by mailbox too; beyond it, the
# plain range scan is cheaper than a long IN list.
NARROW_BY_MAILBOX = 200
CHUNK = 500


async def recent_messages(
    conn: AsyncConnection, after_id: str, watched: Sequence[str]
) -> list[tuple[str, str]]:
    """(id, mailbox id) of the messages stored after `after_id`, at least those of `watched`.

    Hidden mail (spam in an agent mailbox) is left out: no event ever announces it, so counting
    it as missed would wake its mailbox's consumers for nothing they could return."""
    recent = sa.select(messages.c.id, messages.c.mailbox_id).where(
        messages.c.id > after_id, visible()
    )
    if len(watched) <= NARROW_BY_MAILBOX:
        recent = recent.where(messages.c.mailbox_id.in_(watched))
    return [(row.id, row.mailbox_id) for row in await conn.execute(recent)]


async def ended_mailboxes(conn: AsyncConnection, watched: Sequence[str]) -> set[str]:
    """Those of `watched` that were deleted or have expired."""
    now = utcnow()
    ended: set[str] = set()
    for start in range(0, len(watched), CHUNK):
        gone = await conn.execute(
            sa.select(mailboxes.c.id).where(
                mailboxes.c.id.in_(watched[start : start + CHUNK]),
                sa.or_(mailboxes.c.deleted_at.is_not(None), mailboxes.c.expires_at <= now),
            )
        )
        ended.update(gone.scalars())
    return ended

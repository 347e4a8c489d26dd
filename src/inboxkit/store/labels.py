"""Queries of `message_labels`: a message's user labels, and the changes a PATCH or a batch
makes to them.

A message's labels live twice, kept equal by `change` in one transaction: one row each in
`message_labels`, which the `(mailbox_id, label, message_id)` index turns into an index read
for `?label=` and `label:`, and the sorted list on the message row (`messages.labels`), which
every summary shows without a join (records.py). Rows go with their message (ON DELETE
CASCADE), so no deletion path has anything to do here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.labels import SENT, SPAM
from inboxkit.store.tables import message_labels, messages

__all__ = ["change", "condition", "lock", "of", "set_read"]


async def lock(conn: AsyncConnection, mailbox_id: str, message_ids: Sequence[str]) -> set[str]:
    """Which of `message_ids` are messages of the mailbox, their rows locked (in id order, on
    PostgreSQL; SQLite's write transactions are serialised already) so that two changes to one
    message take turns and neither loses the other's labels."""
    if not message_ids:
        return set()
    query = (
        sa.select(messages.c.id)
        .where(messages.c.mailbox_id == mailbox_id, messages.c.id.in_(sorted(set(message_ids))))
        .order_by(messages.c.id)
        .with_for_update()
    )
    return set((await conn.execute(query)).scalars())


async def of(conn: AsyncConnection, message_ids: Collection[str]) -> dict[str, set[str]]:
    """Each message's user labels (every id present, with an empty set when it has none)."""
    found: dict[str, set[str]] = {message_id: set() for message_id in message_ids}
    if not found:
        return found
    query = sa.select(message_labels.c.message_id, message_labels.c.label).where(
        message_labels.c.message_id.in_(sorted(found))
    )
    for message_id, label in (await conn.execute(query)).all():
        found[message_id].add(label)
    return found


async def change(
    conn: AsyncConnection,
    mailbox_id: str,
    before: Mapping[str, set[str]],
    after: Mapping[str, set[str]],
) -> None:
    """Give each message of `after` those labels (it had those of `before`): the rows of the
    labels it lost are deleted, those of the labels it gained inserted, and its `labels` column
    rewritten. Messages whose labels do not change are not written."""
    removed = [
        (message_id, label)
        for message_id, labels in after.items()
        for label in sorted(before[message_id] - labels)
    ]
    added = [
        {"message_id": message_id, "mailbox_id": mailbox_id, "label": label}
        for message_id, labels in after.items()
        for label in sorted(labels - before[message_id])
    ]
    if removed:
        ml = message_labels.c
        await conn.execute(
            message_labels.delete().where(sa.tuple_(ml.message_id, ml.label).in_(removed))
        )
    if added:
        await conn.execute(message_labels.insert(), added)
    for message_id, labels in after.items():
        if labels != before[message_id]:
            await conn.execute(
                messages.update().where(messages.c.id == message_id).values(labels=sorted(labels))
            )


async def set_read(conn: AsyncConnection, message_ids: Sequence[str], is_read: bool) -> None:
    await conn.execute(
        messages.update().where(messages.c.id.in_(list(message_ids))).values(is_read=is_read)
    )


def condition(label: str, mailbox_id: str | None = None) -> sa.ColumnElement[bool]:
    """Messages carrying `label` (normalised, labels.py), as a condition on `messages`.

    The system labels are the message's own columns: `sent` its direction, `spam` its hidden
    flag. A user label is read from the `(mailbox_id, label, message_id)` index: within one
    mailbox as the list of its message ids, else (a search across mailboxes) one probe of the
    primary key per message."""
    if label == SENT:
        return messages.c.direction == "outbound"
    if label == SPAM:
        return messages.c.hidden.is_(True)
    # `draft` is reserved for drafts, which are not messages: no row carries it, so it is
    # looked up like a user label and matches nothing.
    ml = message_labels.c
    if mailbox_id is not None:
        return messages.c.id.in_(
            sa.select(ml.message_id).where(ml.mailbox_id == mailbox_id, ml.label == label)
        )
    return sa.exists().where(ml.message_id == messages.c.id, ml.label == label)

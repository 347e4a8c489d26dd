"""Messages stored before threads existed (revision 0014) are threaded when the database is
upgraded: by references, then by subject among the same participants, oldest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from inboxkit.ids import new_id
from inboxkit.store.db import Database
from inboxkit.store.migrate import alembic_config, upgrade
from inboxkit.store.tables import contents, mailboxes, messages, threads, utcnow
from tests.databases import fresh_postgres_database

BOX = "box@inboxkit.test"


@pytest.fixture
async def old_database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database at revision 0014, the one before threads."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        db = Database(url)
        yield await _at_0014(db)
        await db.close()
    else:
        async with fresh_postgres_database() as url:
            db = Database(url)
            yield await _at_0014(db)
            await db.close()


async def _at_0014(db: Database) -> Database:
    def run(connection: sa.Connection) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0014")

    async with db.writer.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()
    return db


def _message(mailbox_id: str, content_id: str, when: Any, **fields: Any) -> dict[str, Any]:
    # Only the columns revision 0014 has.
    return {
        "id": new_id(),
        "mailbox_id": mailbox_id,
        "content_id": content_id,
        "direction": "inbound",
        "from_addr": fields.get("sender", "carol@outside.example"),
        "from_name": "",
        "to_addrs": [BOX],
        "cc_addrs": [],
        "reply_to": [],
        "subject": fields["subject"],
        "preview": "",
        "received_at": when,
        "is_read": False,
        "has_attachments": False,
        "size": 10,
        "codes": [],
        "links": [],
        "has_code": False,
        "message_id": fields.get("message_id"),
        "in_reply_to": fields.get("in_reply_to"),
        "references": fields.get("references", []),
        "envelope": {"mail_from": "x@y", "rcpt_to": [BOX]},
        "tags": [],
        "parse_error": False,
        "search_text": "",
    }


async def test_upgrading_threads_the_messages_stored_before_threads(old_database: Database):
    db = old_database
    mailbox_id, content_id, start = new_id(), new_id(), utcnow() - timedelta(days=3)
    rows = [
        _message(mailbox_id, content_id, start, subject="Invoice", message_id="<i1@x>"),
        _message(mailbox_id, content_id, start, subject="Lunch?", sender="dave@one.example"),
        # By reference, whatever its subject.
        _message(
            mailbox_id,
            content_id,
            start,
            subject="about that",
            in_reply_to="<i1@x>",
            references=["<i1@x>"],
        ),
        # By subject, same participants.
        _message(mailbox_id, content_id, start, subject="Re: invoice"),
        # Same subject, someone else: a thread of its own.
        _message(mailbox_id, content_id, start, subject="Lunch?", sender="erin@two.example"),
    ]
    async with db.write() as conn:
        await conn.execute(
            sa.insert(mailboxes).values(
                id=mailbox_id,
                address=BOX,
                local_part="box",
                domain="inboxkit.test",
                mode="test",
                created_at=start,
            )
        )
        await conn.execute(
            sa.insert(contents).values(
                id=content_id,
                size=10,
                raw=b"x",
                headers=[],
                attachments=[],
                code_details=[],
                created_at=start,
            )
        )
        for row in rows:
            await conn.execute(sa.insert(messages).values(**row))

    await upgrade(db)

    async with db.read() as conn:
        assigned = dict((await conn.execute(sa.select(messages.c.id, messages.c.thread_id))).all())
        made = (await conn.execute(sa.select(threads.c.id, threads.c.last_message_id))).all()
    invoice, lunch_dave, reply, bare, lunch_erin = (assigned[row["id"]] for row in rows)
    assert invoice == reply == bare
    assert len({invoice, lunch_dave, lunch_erin}) == 3
    assert dict(made)[invoice] == rows[3]["id"]  # the newest of its messages
    assert len(made) == 3

"""Messages stored before threads existed (revision 0014) are threaded when the database is
upgraded: by references, then by subject among the same participants, oldest first. Threads
made before their views' own ordering columns (revision 0017) get them from their messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.ids import new_id
from inboxkit.store.db import Database
from inboxkit.store.migrate import alembic_config, upgrade
from inboxkit.store.tables import contents, mailboxes, messages, threads, utcnow
from tests.databases import fresh_postgres_database

BOX = "box@inboxkit.test"


@asynccontextmanager
async def _database_at(backend: str, tmp_path: Path, revision: str) -> AsyncIterator[Database]:
    """An empty database migrated to `revision`."""
    if backend == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        yield await _at(db, revision)
        await db.close()
    else:
        async with fresh_postgres_database() as url:
            db = Database(url)
            yield await _at(db, revision)
            await db.close()


async def _at(db: Database, revision: str) -> Database:
    def run(connection: sa.Connection) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.writer.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()
    return db


@pytest.fixture
async def old_database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database at revision 0014, the one before threads."""
    async with _database_at(backend, tmp_path, "0014") as db:
        yield db


@pytest.fixture
async def database_0017(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database at revision 0017, threads ordered by all their mail."""
    async with _database_at(backend, tmp_path, "0017") as db:
        yield db


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
        # By subject, same participants; hidden as spam.
        {**_message(mailbox_id, content_id, start, subject="Re: invoice"), "hidden": True},
        # Same subject, someone else: a thread of its own.
        _message(mailbox_id, content_id, start, subject="Lunch?", sender="erin@two.example"),
    ]
    async with db.write() as conn:
        await _box_and_content(conn, mailbox_id, content_id, start)
        for row in rows:
            await conn.execute(sa.insert(messages).values(**row))

    await upgrade(db)

    async with db.read() as conn:
        assigned = dict((await conn.execute(sa.select(messages.c.id, messages.c.thread_id))).all())
        made = {
            row.id: row
            for row in (
                await conn.execute(
                    sa.select(
                        threads.c.id,
                        threads.c.last_message_id,
                        threads.c.last_visible_id,
                        threads.c.last_hidden_id,
                    )
                )
            ).all()
        }
    invoice, lunch_dave, reply, bare, lunch_erin = (assigned[row["id"]] for row in rows)
    assert invoice == reply == bare
    assert len({invoice, lunch_dave, lunch_erin}) == 3
    assert made[invoice].last_message_id == rows[3]["id"]  # the newest of its messages
    # The default list orders it by its newest visible message, the spam view by the spam.
    assert made[invoice].last_visible_id == rows[2]["id"]
    assert made[invoice].last_hidden_id == rows[3]["id"]
    assert made[lunch_dave].last_visible_id == rows[1]["id"]
    assert made[lunch_dave].last_hidden_id is None
    assert len(made) == 3


async def test_upgrading_orders_existing_threads_by_the_mail_each_view_shows(
    database_0017: Database,
):
    db = database_0017
    mailbox_id, content_id, start = new_id(), new_id(), utcnow() - timedelta(days=3)
    mixed, visible, spam_only = new_id(), new_id(), new_id()
    # (thread, hidden) in arrival order: spam arrives last in the mixed thread.
    plan = [
        (mixed, False),
        (visible, False),
        (spam_only, True),
        (mixed, False),
        (visible, False),
        (mixed, True),
    ]
    rows = [
        {
            **_message(mailbox_id, content_id, start, subject=f"Topic {n}"),
            "hidden": hidden,
            "thread_id": thread,
        }
        for n, (thread, hidden) in enumerate(plan)
    ]
    newest = {thread: row["id"] for row, (thread, _) in zip(rows, plan, strict=True)}
    async with db.write() as conn:
        await _box_and_content(conn, mailbox_id, content_id, start)
        for row in rows:
            await conn.execute(sa.insert(messages).values(**row))
        for thread in (mixed, visible, spam_only):
            await conn.execute(
                sa.insert(threads).values(
                    id=thread,
                    mailbox_id=mailbox_id,
                    subject="Topic",
                    subject_key=None,
                    participants_key="k",
                    participants=[],
                    last_message_id=newest[thread],
                    last_message_at=start,
                    created_at=start,
                )
            )

    await upgrade(db)

    async with db.read() as conn:
        found = {
            row.id: (row.last_visible_id, row.last_hidden_id)
            for row in (
                await conn.execute(
                    sa.select(threads.c.id, threads.c.last_visible_id, threads.c.last_hidden_id)
                )
            ).all()
        }
    assert found == {
        mixed: (rows[3]["id"], rows[5]["id"]),
        visible: (rows[4]["id"], None),
        spam_only: (None, rows[2]["id"]),
    }


async def _box_and_content(
    conn: AsyncConnection, mailbox_id: str, content_id: str, start: datetime
) -> None:
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

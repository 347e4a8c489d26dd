"""The full-text index stays in step with `messages`: on random mail, after inserts, deletes,
a deleted mailbox, an expired mailbox and a retention purge, every query finds exactly what a
scan of the stored rows in Python finds (the same words, search/words.py), on each backend."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from inboxkit.config import Settings
from inboxkit.pipeline import Envelope
from inboxkit.search.query import Field, Flag, Label, Query, Text, parse
from inboxkit.search.words import words
from inboxkit.store.tables import contents, mailboxes, messages
from tests.helpers import RunningServer, make_message, start_server
from tests.plans.support import tenant_on_plan

ADMIN = "ik_search_consistency_admin_key_0123456789"
VOCABULARY = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
    "november oscar papa quebec romeo sierra tango café naïve straße 日本 42 007"
).split()
SENDERS = ["ann@one.example", "Bob Stone <bob@two.example>", "cy@three.example", "dee@one.example"]


@pytest.fixture
async def admin_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update={"admin_key": ADMIN})) as running:
        yield running


def _queries(rng: random.Random) -> list[str]:
    qs = [
        "alpha",
        "café",
        "STRASSE",
        "-alpha",
        "alpha -bravo",
        '"alpha bravo"',
        "from:one.example",
        "from:bob",
        "-from:bob",
        "subject:charlie",
        'subject:"delta echo"',
        "to:box2",
        "is:unread alpha",
        "has:attachment",
        "label:red",
        "alpha -label:red",
        "label:red label:BLUE",
        "-label:blue",
        "label:red -label:blue bravo",
    ]
    for _ in range(12):
        picked = rng.sample(VOCABULARY, rng.randint(1, 2))
        qs.append(" ".join(("-" if rng.random() < 0.2 else "") + w for w in picked))
    return qs


def _scan(rows: list[Any], query: Query) -> set[str]:
    """The ids a full scan finds: each text term's words consecutive in one field."""

    def has(field_words: list[str], phrase: tuple[str, ...]) -> bool:
        n = len(phrase)
        return any(tuple(field_words[i : i + n]) == phrase for i in range(len(field_words)))

    found = set()
    for row in rows:
        fields = {
            Field.SUBJECT: words(row.subject),
            Field.FROM: words(f"{row.from_addr} {row.from_name}"),
            Field.TO: words(" ".join([*row.to_addrs, *row.cc_addrs, *row.envelope["rcpt_to"]])),
            "body": words(row.text or row.preview),
        }
        ok = True
        for term in query.terms:
            node = term.node
            if isinstance(node, Text):
                places = fields.values() if node.field is Field.ANY else [fields[node.field]]
                hit = any(has(list(place), node.words) for place in places)
            elif node is Flag.UNREAD:
                hit = not row.is_read
            elif node is Flag.ATTACHMENT:
                hit = row.has_attachments
            elif isinstance(node, Label):
                hit = node.name in (row.labels or [])
            else:
                raise AssertionError(node)
            ok = ok and (hit != term.negated)
        if ok:
            found.add(row.id)
    return found


async def _stored(server: RunningServer, account_id: str) -> list[Any]:
    query = (
        sa.select(messages, contents.c.text)
        .select_from(
            messages.join(contents, contents.c.id == messages.c.content_id).join(
                mailboxes, mailboxes.c.id == messages.c.mailbox_id
            )
        )
        .where(mailboxes.c.account_id == account_id, mailboxes.c.deleted_at.is_(None))
    )
    async with server.runtime.db.read() as conn:
        return list((await conn.execute(query)).all())


async def _searched(server: RunningServer, key: str, q: str) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        params = {"q": q, "limit": "100"} | ({"cursor": cursor} if cursor else {})
        response = await server.http.get("/search", params=params, headers=server.auth(key))
        assert response.status_code == 200, response.text
        found |= {m["id"] for m in response.json()["data"]}
        cursor = response.json()["meta"]["next_cursor"]
        if cursor is None:
            return found


async def _compare(server: RunningServer, key: str, account_id: str, rng: random.Random) -> int:
    rows = await _stored(server, account_id)
    for q in _queries(rng):
        assert await _searched(server, key, q) == _scan(rows, parse(q)), q
    return len(rows)


async def test_the_index_matches_a_full_scan_through_every_change(admin_server: RunningServer):
    server = admin_server
    rng = random.Random(20250131)
    account, key = await tenant_on_plan(
        server.http, ADMIN, "search-retention", {"retention_days": 3}
    )
    boxes = [
        (
            await server.http.post(
                "/mailboxes", json={"handle": f"box{n}", "mode": "agent"}, headers=server.auth(key)
            )
        ).json()["data"]
        for n in range(4)
    ]
    for n in range(80):
        box = rng.choice(boxes)
        subject = " ".join(rng.choices(VOCABULARY, k=rng.randint(1, 4)))
        body = " ".join(rng.choices(VOCABULARY, k=rng.randint(3, 30)))
        message = make_message(box["address"], subject, body, mail_from=rng.choice(SENDERS))
        if n % 9 == 0:
            message.add_attachment(b"data", maintype="application", subtype="octet-stream")
        await server.runtime.pipeline.deliver(
            Envelope(mail_from="env@four.example", rcpt_tos=[box["address"]]),
            message.as_bytes(),
        )
    # Labels on random messages of each mailbox, through the batch route.
    for box in boxes:
        ids = [r.id for r in await _stored(server, account["id"]) if r.mailbox_id == box["id"]]
        for label in ("red", "blue"):
            chosen = rng.sample(ids, len(ids) // 2)
            response = await server.http.post(
                f"/mailboxes/{box['id']}/messages/batch",
                json={"ids": chosen, "add_labels": [label]},
                headers=server.auth(key),
            )
            assert response.status_code == 200, response.text
    assert await _compare(server, key, account["id"], rng) == 80

    # Read some, delete some.
    rows = await _stored(server, account["id"])
    for row in rng.sample(rows, 10):
        path = f"/mailboxes/{row.mailbox_id}/messages/{row.id}"
        await server.http.get(path, headers=server.auth(key))
    for row in rng.sample(rows, 8):
        path = f"/mailboxes/{row.mailbox_id}/messages/{row.id}"
        await server.http.delete(path, headers=server.auth(key))
    assert await _compare(server, key, account["id"], rng) == 72

    # A deleted mailbox, an expired one, and a retention purge.
    await server.http.delete(f"/mailboxes/{boxes[0]['id']}", headers=server.auth(key))
    async with server.runtime.db.write() as conn:
        await conn.execute(
            mailboxes.update()
            .where(mailboxes.c.id == boxes[1]["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        old = rng.sample([r.id for r in rows if r.mailbox_id == boxes[2]["id"]], 5)
        await conn.execute(
            messages.update()
            .where(messages.c.id.in_(old))
            .values(received_at=datetime.now(UTC) - timedelta(days=5))
        )
    assert await server.runtime.mailboxes.sweep_expired() >= 1
    assert await server.runtime.usage.purge_retention() >= 1
    left = await _compare(server, key, account["id"], rng)
    assert 0 < left < 72

    # Nothing of the ended rows is left in the index either (not just filtered out).
    async with server.runtime.db.read() as conn:
        stored = set((await conn.execute(sa.select(messages.c.id))).scalars())
    for q in ("alpha", "bravo", "from:one.example"):
        assert await _searched(server, key, q) <= stored
    if server.runtime.db.is_sqlite:
        async with server.runtime.db.write() as conn:
            # FTS5's own check that the index agrees with its content table.
            await conn.execute(
                sa.text("INSERT INTO message_search(message_search) VALUES ('integrity-check')")
            )

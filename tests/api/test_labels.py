"""Labels over REST (DESIGN §13): PATCH add/remove, the batch, `?label=`, `label:` in search,
the system labels, every refusal, and no label left behind by any deletion path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from inboxkit.config import Settings
from inboxkit.services.auth import SCOPES
from inboxkit.store.tables import mailboxes, message_labels, messages, utcnow
from tests.helpers import RunningServer, start_server
from tests.hidden_mail import BLOCKED, quiet, tenant
from tests.plans.support import account_on_plan


class Box:
    """A mailbox made with an account's key, with the calls these tests repeat."""

    def __init__(self, server: RunningServer, key: str, data: dict[str, Any]):
        self.server, self.key, self.data = server, key, data
        self.id, self.address = data["id"], data["address"]
        self.headers = server.auth(key)

    async def deliver(self, *subjects: str, sender: str = "sender@example.com") -> list[str]:
        """Send each subject over SMTP; the ids of the new messages, oldest first."""
        for subject in subjects:
            await self.server.send(self.address, subject=subject, mail_from=sender)
        listed = await self.list()
        return [m["id"] for m in reversed(listed)][-len(subjects) :]

    async def list(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.server.http.get(
            f"/mailboxes/{self.id}/messages", params=params, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return list(response.json()["data"])

    async def subjects(self, **params: Any) -> list[str]:
        return [m["subject"] for m in await self.list(**params)]

    async def patch(self, message_id: str, **body: Any) -> Any:
        return await self.server.http.patch(
            f"/mailboxes/{self.id}/messages/{message_id}", json=body, headers=self.headers
        )

    async def batch(self, **body: Any) -> Any:
        return await self.server.http.post(
            f"/mailboxes/{self.id}/messages/batch", json=body, headers=self.headers
        )

    async def labels(self) -> dict[str, tuple[list[str], bool]]:
        """Each message's (labels, is_read), read back from the list."""
        return {m["id"]: (m["labels"], m["is_read"]) for m in await self.list()}


async def _box(server: RunningServer, key: str | None = None) -> Box:
    key = key or await server.create_key("labels", list(SCOPES))
    return Box(server, key, await server.create_inbox(key))


def _refused(response: Any, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    message = str(body["error"]["message"])
    for word in words:
        assert word in message, message
    return message


async def test_patch_adds_and_removes_labels_case_insensitively_and_answers_the_message(
    server: RunningServer,
):
    box = await _box(server)
    (message_id,) = await box.deliver("invoice 1")
    added = await box.patch(message_id, add_labels=["Work", " urgent ", "WORK"])
    assert added.status_code == 200, added.text
    assert added.json()["data"]["labels"] == ["urgent", "work"]
    assert added.json()["data"]["is_read"] is False

    removed = await box.patch(message_id, remove_labels=["URGENT", "never-there"], is_read=True)
    assert removed.status_code == 200, removed.text
    data = removed.json()["data"]
    assert data["labels"] == ["work"] and data["is_read"] is True
    assert (await box.labels())[message_id] == (["work"], True)


async def test_label_filter_lists_user_labels_and_combines_with_other_filters(
    server: RunningServer,
):
    box = await _box(server)
    first, second, third = await box.deliver("alpha report", "beta report", "gamma note")
    for message_id in (first, third):
        assert (await box.patch(message_id, add_labels=["Todo"])).status_code == 200
    assert await box.subjects(label="todo") == ["gamma note", "alpha report"]
    assert await box.subjects(label=" TODO ") == ["gamma note", "alpha report"]
    assert await box.subjects(label="todo", q="report") == ["alpha report"]
    assert await box.subjects(label="todo", subject="gamma") == ["gamma note"]
    assert await box.subjects(label="nothing-has-this") == []
    for bad in ("  ", "x" * 65, "tab\there"):
        response = await box.server.http.get(
            f"/mailboxes/{box.id}/messages", params={"label": bad}, headers=box.headers
        )
        _refused(response, 422, "label")
    assert second


async def test_sent_mail_carries_the_system_label_sent_and_lists_by_it(server: RunningServer):
    box = await _box(server)
    (received,) = await box.deliver("hello there")
    sent = await server.http.post(
        f"/mailboxes/{box.id}/send",
        json={"to": ["someone@example.com"], "subject": "my note", "text": "hi"},
        headers=box.headers,
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["data"]["labels"] == ["sent"]
    assert await box.subjects(label="sent") == ["my note"]
    assert (await box.patch(received, add_labels=["x"])).json()["data"]["labels"] == ["x"]
    added = await box.patch(sent.json()["data"]["id"], add_labels=["keep"])
    assert added.json()["data"]["labels"] == ["keep", "sent"]


@pytest.fixture
async def spam_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(quiet(settings)) as running:
        yield running


async def test_hidden_spam_carries_the_system_label_spam_and_label_spam_is_the_spam_folder(
    spam_server: RunningServer,
):
    server = spam_server
    account = await tenant(server, "labelspam")
    await server.send(account.agent["address"], subject="junk offer", mail_from=BLOCKED)
    await server.send(account.agent["address"], subject="real mail")
    box = Box(server, account.key, account.agent)
    assert await box.subjects() == ["real mail"]
    spam = await box.list(label="spam")
    assert [m["subject"] for m in spam] == ["junk offer"]
    assert spam[0]["labels"] == ["spam"]
    assert [m["subject"] for m in await box.list(spam="true")] == ["junk offer"]
    assert await box.subjects(q="label:spam") == ["junk offer"]
    assert await box.subjects(q="offer -label:spam") == []
    found = await server.http.get("/search", params={"q": "label:spam"}, headers=box.headers)
    assert [m["subject"] for m in found.json()["data"]] == ["junk offer"]


async def test_system_labels_cannot_be_added_or_removed(server: RunningServer):
    box = await _box(server)
    (message_id,) = await box.deliver("m")
    for body in (
        {"add_labels": ["Sent"]},
        {"add_labels": ["spam"]},
        {"remove_labels": [" draft "]},
    ):
        _refused(await box.patch(message_id, **body), 400, "system label")
    _refused(await box.batch(ids=[message_id], add_labels=["sent"]), 400, "system label")
    assert (await box.labels())[message_id] == ([], False)


async def test_malformed_labels_are_refused_saying_why(server: RunningServer):
    box = await _box(server)
    (message_id,) = await box.deliver("m")
    _refused(await box.patch(message_id, add_labels=["x" * 65]), 422)
    _refused(await box.patch(message_id, add_labels=["bad\x07bell"]), 422)
    _refused(await box.patch(message_id, add_labels=["line\u2028break"]), 422)
    _refused(await box.patch(message_id, add_labels=["   "]), 422)
    _refused(await box.patch(message_id, add_labels=[f"l{i}" for i in range(33)]), 422)
    _refused(await box.patch(message_id), 422)
    both = await box.patch(message_id, add_labels=["a", "b"], remove_labels=["A"])
    assert both.json()["data"]["labels"] == ["b"]  # removals apply after additions
    assert (await box.patch(message_id, remove_labels=["b"])).status_code == 200
    assert (await box.labels())[message_id] == ([], False)


async def test_a_message_carries_at_most_32_labels(server: RunningServer):
    box = await _box(server)
    (message_id,) = await box.deliver("m")
    full = [f"label-{i:02}" for i in range(32)]
    assert (await box.patch(message_id, add_labels=full)).status_code == 200
    _refused(await box.patch(message_id, add_labels=["one-more"]), 422, "at most 32 labels")
    # Adding one it already carries is no change, and swapping one for another fits.
    assert (await box.patch(message_id, add_labels=["label-00"])).status_code == 200
    swapped = await box.patch(message_id, add_labels=["new"], remove_labels=["label-00"])
    assert swapped.status_code == 200, swapped.text
    assert len(swapped.json()["data"]["labels"]) == 32


async def test_batch_labels_and_marks_read_every_message_at_once(server: RunningServer):
    box = await _box(server)
    ids = await box.deliver("one", "two", "three")
    response = await box.batch(ids=ids[:2], add_labels=["Batch"], is_read=True)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["updated"] == 2 and data["ids"] == ids[:2]
    assert [m["labels"] for m in data["messages"]] == [["batch"], ["batch"]]
    state = await box.labels()
    assert state[ids[0]] == state[ids[1]] == (["batch"], True)
    assert state[ids[2]] == ([], False)
    assert await box.subjects(label="batch") == ["two", "one"]
    removed = await box.batch(ids=ids, remove_labels=["batch"])
    assert removed.status_code == 200, removed.text
    assert all(labels == [] for labels, _ in (await box.labels()).values())


async def test_a_batch_naming_another_tenants_message_changes_nothing(server: RunningServer):
    box = await _box(server)
    other = await _box(server)
    ids = await box.deliver("a", "b", "c")
    (foreign,) = await other.deliver("theirs")
    assert (await box.patch(ids[0], add_labels=["before"])).status_code == 200
    before = await box.labels()

    response = await box.batch(ids=[*ids, foreign], add_labels=["new"], is_read=True)
    message = _refused(response, 404, foreign)
    assert "nothing was changed" in message
    _refused(await box.batch(ids=[ids[0], "01NOTANIDATALLXXXXXXXXXXXX"], is_read=True), 404)

    assert await box.labels() == before
    assert (await other.labels())[foreign] == ([], False)
    # The other tenant's own batch and PATCH of that mailbox's messages are 404 too.
    _refused(await other.batch(ids=[ids[0]], add_labels=["x"]), 404)
    response = await server.http.patch(
        f"/mailboxes/{box.id}/messages/{ids[0]}", json={"add_labels": ["x"]}, headers=other.headers
    )
    _refused(response, 404)
    assert await box.labels() == before


async def test_batch_bounds_are_refused(server: RunningServer):
    box = await _box(server)
    ids = await box.deliver("a")
    _refused(await box.batch(ids=[f"id{i}" for i in range(101)], is_read=True), 422)
    _refused(await box.batch(ids=[], is_read=True), 422)
    _refused(await box.batch(ids=[ids[0], ids[0]], is_read=True), 422, "more than once")
    _refused(await box.batch(ids=ids), 422, "is_read")
    # The batch's own path serves POST only, though `…/messages/{message_id}` matches it too.
    options = await server.http.options(f"/mailboxes/{box.id}/messages/batch", headers=box.headers)
    assert options.status_code == 405 and options.headers["allow"] == "POST"


async def test_search_finds_labelled_mail_and_negation_leaves_it_out(server: RunningServer):
    box = await _box(server)
    ids = await box.deliver("quarterly report", "weekly report", "lunch")
    assert (await box.batch(ids=[ids[0], ids[2]], add_labels=["Finance Team"])).status_code == 200
    assert await box.subjects(q='label:"finance team"') == ["lunch", "quarterly report"]
    assert await box.subjects(q='report -label:"Finance Team"') == ["weekly report"]
    found = await server.http.get(
        "/search", params={"q": 'label:"FINANCE TEAM" report'}, headers=box.headers
    )
    assert found.status_code == 200, found.text
    assert [m["subject"] for m in found.json()["data"]] == ["quarterly report"]
    long = await server.http.get("/search", params={"q": "label:" + "x" * 65}, headers=box.headers)
    _refused(long, 400, "label:")


async def _label_rows(server: RunningServer, **where: Any) -> int:
    async with server.runtime.db.read() as conn:
        query = sa.select(sa.func.count()).select_from(message_labels)
        for column, value in where.items():
            query = query.where(message_labels.c[column] == value)
        return int(await conn.scalar(query) or 0)


async def test_labels_go_with_their_message_on_every_deletion_path(server: RunningServer):
    runtime = server.runtime
    admin = await server.create_key("admin", list(SCOPES))
    # An account whose plan keeps mail one day, so the retention sweep has something to do.
    key = await account_on_plan(server.http, admin, "shortkeep", {"retention_days": 1})
    boxes = [await _box(server, key) for _ in range(4)]
    for box in boxes:
        ids = await box.deliver("keep me", "and me")
        assert (await box.batch(ids=ids, add_labels=["x", "y"])).status_code == 200
        assert await _label_rows(server, mailbox_id=box.id) == 4

    # One message deleted: its rows go, its neighbour's stay.
    first = (await boxes[0].list())[0]["id"]
    gone = await server.http.delete(
        f"/mailboxes/{boxes[0].id}/messages/{first}", headers=boxes[0].headers
    )
    assert gone.status_code == 204
    assert await _label_rows(server, message_id=first) == 0
    assert await _label_rows(server, mailbox_id=boxes[0].id) == 2

    # A mailbox that expires and is swept.
    async with runtime.db.write() as conn:
        moved = await conn.execute(
            mailboxes.update()
            .where(mailboxes.c.id == boxes[1].id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
            .returning(mailboxes.c.address)
        )
        runtime.mailboxes.forget(list(moved.scalars()))
    assert await runtime.mailboxes.sweep_expired() == 1
    assert await _label_rows(server, mailbox_id=boxes[1].id) == 0

    # A mailbox deleted.
    response = await server.http.delete(f"/mailboxes/{boxes[2].id}", headers=boxes[2].headers)
    assert response.status_code == 204
    assert await _label_rows(server, mailbox_id=boxes[2].id) == 0

    # Retention: the messages of the last mailbox are older than the plan keeps.
    async with runtime.db.write() as conn:
        await conn.execute(
            messages.update()
            .where(messages.c.mailbox_id == boxes[3].id)
            .values(received_at=datetime.now(UTC) - timedelta(days=2))
        )
    assert await runtime.usage.purge_retention() >= 2
    assert await _label_rows(server, mailbox_id=boxes[3].id) == 0

    # And the account itself: a fresh one, labelled, then deleted.
    other_key = await server.create_key("doomed", list(SCOPES))
    doomed = await _box(server, other_key)
    ids = await doomed.deliver("bye")
    assert (await doomed.batch(ids=ids, add_labels=["z"])).status_code == 200
    owner = (await server.http.get("/account", headers=doomed.headers)).json()["data"]
    response = await server.http.delete(f"/accounts/{owner['id']}", headers=server.auth(admin))
    assert response.status_code == 204, response.text
    assert await _label_rows(server, mailbox_id=doomed.id) == 0
    async with runtime.db.read() as conn:
        orphans = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(message_labels)
            .where(~message_labels.c.message_id.in_(sa.select(messages.c.id)))
        )
    assert orphans == 0

"""Drafts through the SDK (sync and async) and the `inboxkit drafts` commands."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from inboxkit.cli import cli as inboxkit_cli
from inboxkit.client import AsyncInboxKit, InboxKit, PendingDraft, SentMessage
from tests.drafts.support import Account, account
from tests.helpers import RunningServer
from tests.outbound.relay import RelaySink


async def drafts_cli(
    server: RunningServer, token: str, *args: str, stdin: str | None = None
) -> Result:
    """`inboxkit drafts ARGS` against `server` as `token` (in a thread: the server runs on
    this loop)."""

    def run() -> Result:
        return CliRunner().invoke(
            inboxkit_cli,
            ["drafts", *args, "--url", server.base_url, "--token", token],
            input=stdin,
            catch_exceptions=False,
        )

    return await asyncio.to_thread(run)


def shown_fields(stdout: str) -> dict[str, str]:
    """The field table `drafts show` prints before its blank line and the text body."""
    table = stdout.split("\n\n", 1)[0].splitlines()
    return dict((re.split(r"\s{2,}", line, maxsplit=1) + [""])[:2] for line in table)


async def get_draft(acc: Account, draft_id: str) -> dict[str, Any]:
    response = await acc.server.http.get(f"{acc.path}/drafts/{draft_id}", headers=acc.as_key())
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_the_async_sdk_keeps_sends_and_tells_a_pending_draft_apart(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    agent = AsyncInboxKit(mail.base_url, api_key=acc.inbox["token"])
    owner = AsyncInboxKit(mail.base_url, api_key=acc.key)
    async with agent, owner:
        draft = await agent.create_draft(acc.inbox["id"], to="bob@example.com", text="hi")
        assert draft.status == "draft"
        changed = await agent.update_draft(acc.inbox["id"], draft.id, subject="Hello")
        assert changed.subject == "Hello"
        page = await agent.drafts(acc.inbox["id"])
        assert [d.id for d in page.items] == [draft.id]
        assert (await agent.draft(acc.inbox["id"], draft.id)).subject == "Hello"
        sent = await agent.send_draft(acc.inbox["id"], draft.id)
        assert sent.status == "sent" and sent.sent_message_id
        await relay.wait_for(1)

        await acc.review(True)
        held = await agent.send(acc.inbox["id"], to="carol@example.com", text="review me")
        assert isinstance(held, PendingDraft) and held.sent is False
        assert held.draft.status == "pending_review"
        approved = await owner.approve_draft(acc.inbox["id"], held.draft.id)
        assert approved.status == "sent"
        await relay.wait_for(2)
        scheduled = await agent.create_draft(
            acc.inbox["id"],
            to="dave@example.com",
            text="x",
            send_at=datetime.now(UTC) + timedelta(hours=1),
        )
        await owner.delete_draft(acc.inbox["id"], scheduled.id)


async def test_the_sync_sdk_send_returns_the_sent_message_without_review(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)

    def run() -> object:
        with InboxKit(mail.base_url, api_key=acc.inbox["token"]) as client:
            return client.send(acc.inbox["id"], to="bob@example.com", text="direct")

    sent = await asyncio.to_thread(run)
    assert isinstance(sent, SentMessage)


async def held_by_cli(acc: Account, *, to: str, text: str) -> str:
    """Under review: the agent (the mailbox's token) creates a draft and sends it, so it is
    held for approval; its id."""
    box, token = acc.inbox["address"], acc.inbox["token"]
    created = await drafts_cli(
        acc.server, token, "create", box, "--to", to, "--text", text, "--json"
    )
    draft_id: str = json.loads(created.stdout)["id"]
    held = await drafts_cli(acc.server, token, "send", box, draft_id, "--json")
    assert json.loads(held.stdout)["status"] == "pending_review"
    return draft_id


def shown_updated(shown: Result) -> str:
    """The exact `updated` time `drafts show` printed."""
    (line,) = [row for row in shown.stdout.splitlines() if row.startswith("updated")]
    return line.split()[-1]


async def test_the_drafts_commands_create_list_send_approve_and_delete(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    box, token = acc.inbox["address"], acc.inbox["token"]
    result = await drafts_cli(
        mail, token, "create", box, "--to", "bob@example.com", "--text", "hi", "--json"
    )
    assert result.exit_code == 0, result.output
    draft_id = json.loads(result.stdout)["id"]
    result = await drafts_cli(mail, token, "list", box)
    assert draft_id in result.stdout and "draft" in result.stdout
    result = await drafts_cli(mail, token, "send", box, draft_id, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "sent"
    await relay.wait_for(1)

    await acc.review(True)
    second = await held_by_cli(acc, to="c@example.com", text="x")
    result = await drafts_cli(mail, token, "approve", box, second)
    assert result.exit_code != 0
    result = await drafts_cli(mail, acc.key, "approve", box, second, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "sent"
    result = await drafts_cli(mail, acc.key, "create", box, "--text", "bin me", "--json")
    third = json.loads(result.stdout)["id"]
    result = await drafts_cli(mail, acc.key, "delete", box, third)
    assert result.exit_code == 0


async def test_drafts_show_prints_the_draft_with_its_recipients_schedule_review_and_text(
    mail: RunningServer,
):
    acc = await account(mail)
    box, token = acc.inbox["address"], acc.inbox["token"]
    created = await drafts_cli(
        mail, token, "create", box, "--to", "bob@example.com", "--cc", "carol@example.com",
        "--bcc", "dave@example.com", "--subject", "Quarterly plan",
        "--text", "Line one\nLine two", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    draft_id = json.loads(created.stdout)["id"]

    shown = await drafts_cli(mail, token, "show", box, draft_id)
    assert shown.exit_code == 0, shown.output
    fields = shown_fields(shown.stdout)
    assert fields["id"] == draft_id and fields["status"] == "draft"
    assert fields["to"] == "bob@example.com" and fields["cc"] == "carol@example.com"
    assert fields["bcc"] == "dave@example.com" and fields["subject"] == "Quarterly plan"
    assert fields["send at"] == "not scheduled" and fields["review"] == "-"
    assert shown.stdout.endswith("\n\nLine one\nLine two\n")

    as_json = await drafts_cli(mail, token, "show", box, draft_id, "--json")
    assert json.loads(as_json.stdout) == await get_draft(acc, draft_id)

    await acc.review(True)
    submitted = await drafts_cli(mail, token, "send", box, draft_id)
    assert submitted.exit_code == 0, submitted.output
    held = await drafts_cli(mail, token, "show", box, draft_id)
    assert "pending_review" in held.stdout
    assert "pending (NOT sent until an account approves it)" in held.stdout


async def test_drafts_update_changes_only_the_fields_given_as_get_then_shows(
    mail: RunningServer, tmp_path: Path
):
    acc = await account(mail)
    box, token = acc.inbox["address"], acc.inbox["token"]
    created = await acc.create(
        token, to="bob@example.com", cc=["carol@example.com"], subject="Draft", text="one"
    )
    draft_id = created.json()["data"]["id"]

    body = tmp_path / "body.txt"
    body.write_text("Final text, from a file: é\n", encoding="utf-8")
    updated = await drafts_cli(
        mail, token, "update", box, draft_id, "--subject", "Final", "--to", "x@example.com",
        "--to", "y@example.com", "--bcc", "audit@example.com", "--text-file", str(body),
    )  # fmt: skip
    assert updated.exit_code == 0, updated.output
    assert updated.stdout == f"{draft_id}\n" and "'Final'" in updated.stderr
    after = await get_draft(acc, draft_id)
    assert after["subject"] == "Final"
    assert after["to"] == ["x@example.com", "y@example.com"]
    assert after["bcc"] == ["audit@example.com"]
    assert after["cc"] == ["carol@example.com"]  # not given: kept
    assert after["text"] == "Final text, from a file: é\n"

    piped = await drafts_cli(
        mail, token, "update", box, draft_id, "--text-file", "-", "--html", "<p>hi</p>", "--json",
        stdin="From stdin",
    )  # fmt: skip
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["text"] == "From stdin"
    after = await get_draft(acc, draft_id)
    assert (after["text"], after["html"], after["subject"]) == ("From stdin", "<p>hi</p>", "Final")


async def test_drafts_update_send_at_schedules_and_unschedule_clears_it(mail: RunningServer):
    acc = await account(mail)
    box, token = acc.inbox["address"], acc.inbox["token"]
    created = await acc.create(token, to="bob@example.com", text="Good morning")
    draft_id = created.json()["data"]["id"]
    when = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)

    scheduled = await drafts_cli(
        mail, token, "update", box, draft_id, "--send-at", when.isoformat(), "--json"
    )
    assert scheduled.exit_code == 0, scheduled.output
    after = await get_draft(acc, draft_id)
    assert after["status"] == "scheduled"
    assert datetime.fromisoformat(after["send_at"]) == when
    shown = await drafts_cli(mail, token, "show", box, draft_id)
    assert shown_fields(shown.stdout)["send at"] == when.isoformat()

    past = await drafts_cli(
        mail, token, "update", box, draft_id, "--send-at", "2001-01-01T00:00:00Z"
    )
    assert past.exit_code == 1 and "send_at is in the past" in past.stderr, past.output
    far = await drafts_cli(mail, token, "update", box, draft_id, "--send-at", "2999-01-01T00:00Z")
    assert far.exit_code == 1 and "more than a year ahead" in far.stderr, far.output
    assert (await get_draft(acc, draft_id))["status"] == "scheduled"

    cleared = await drafts_cli(mail, token, "update", box, draft_id, "--unschedule")
    assert cleared.exit_code == 0, cleared.output
    after = await get_draft(acc, draft_id)
    assert (after["status"], after["send_at"]) == ("draft", None)


async def test_drafts_show_and_update_refuse_another_accounts_draft(mail: RunningServer):
    acc = await account(mail, "owner")
    other = await account(mail, "other")
    created = await other.create(to="bob@example.com", subject="Theirs", text="private")
    theirs = created.json()["data"]["id"]
    box = acc.inbox["address"]

    for args in (
        ("show", other.inbox["address"], theirs),
        ("update", other.inbox["address"], theirs, "--subject", "Mine now"),
    ):
        result = await drafts_cli(mail, acc.key, *args)
        assert result.exit_code == 1 and "No such mailbox." in result.stderr, result.output
        assert "private" not in result.output
    for args in (("show", box, theirs), ("update", box, theirs, "--subject", "Mine now")):
        result = await drafts_cli(mail, acc.key, *args)
        assert result.exit_code == 1, result.output
        assert "No such draft in this mailbox." in result.stderr
    assert (await get_draft(other, theirs))["subject"] == "Theirs"


async def test_drafts_update_usage_errors_say_what_to_give_and_change_nothing(
    mail: RunningServer, tmp_path: Path
):
    acc = await account(mail)
    box, token = acc.inbox["address"], acc.inbox["token"]
    created = await acc.create(token, to="bob@example.com", subject="Kept", text="kept")
    draft_id = created.json()["data"]["id"]
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9".encode("latin-1"))

    cases = [
        ((), "Nothing to change: give at least one of --to"),
        (("--json",), "Nothing to change"),
        (
            ("--send-at", "2099-01-01T00:00:00Z", "--unschedule"),
            "Give --send-at (reschedule) or --unschedule, not both.",
        ),
        (("--text", "a", "--text-file", str(latin1)), "--text or --text-file, not both"),
        (("--send-at", "tomorrow"), "not an RFC 3339 time with a time zone"),
        (("--send-at", "2030-01-01T09:00:00"), "not an RFC 3339 time with a time zone"),
        (("--text-file", str(latin1)), "is not UTF-8 text"),
        (("--text-file", str(tmp_path / "missing.txt")), "does not exist"),
    ]
    for args, message in cases:
        result = await drafts_cli(mail, token, "update", box, draft_id, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
    after = await get_draft(acc, draft_id)
    assert (after["subject"], after["text"], after["send_at"]) == ("Kept", "kept", None)


async def test_drafts_approve_with_updated_at_approves_only_the_version_shown(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    box, token = acc.inbox["address"], acc.inbox["token"]
    await acc.review(True)
    draft_id = await held_by_cli(acc, to="bob@example.com", text="v1")

    shown = await drafts_cli(mail, acc.key, "show", box, draft_id)
    read_at = shown_updated(shown)
    await drafts_cli(mail, token, "update", box, draft_id, "--text", "v2")  # edited since

    stale = await drafts_cli(mail, acc.key, "approve", box, draft_id, "--updated-at", read_at)
    assert stale.exit_code == 1
    assert "changed after you read it" in stale.stderr
    assert relay.received == []

    shown = await drafts_cli(mail, acc.key, "show", box, draft_id)
    assert shown.stdout.rstrip().endswith("v2")
    approved = await drafts_cli(
        mail, acc.key, "approve", box, draft_id, "--updated-at", shown_updated(shown), "--json"
    )
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["status"] == "sent"
    (relayed,) = await relay.wait_for(1)
    assert "v2" in relayed.message.get_content()

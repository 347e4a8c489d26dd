"""Helpers for the tests of mail hidden as spam (DESIGN §9): one account's agent and test
inboxes, a block list entry made through `POST /lists`, and mail from the blocked sender sent
over real SMTP. A blocked sender's mail is stored with verdict `blocked`, hidden in the agent
inbox and listed in the test inbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inboxkit.config import Settings
from tests.helpers import RunningServer

__all__ = ["ALLOWED", "BLOCKED", "Tenant", "block", "quiet", "tenant"]

BLOCKED = "spammer@junk.example"
ALLOWED = "friend@good.example"


def quiet(settings: Settings) -> Settings:
    """No sender authentication: the test domains publish nothing, and what hides mail here
    is the block list alone, so no test waits on DNS lookups it does not look at."""
    return settings.model_copy(update={"verify_senders": "none"})


@dataclass
class Tenant:
    key: str
    agent: dict[str, Any]
    test: dict[str, Any]

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def tenant(server: RunningServer, handle: str, *, blocks: bool = True) -> Tenant:
    """An account with an agent inbox (`handle`) and a test inbox; with `blocks`, BLOCKED is on
    its account-wide block list."""
    key = await server.create_key(name=handle)
    agent = await server.create_inbox(token=key, mode="agent", handle=handle)
    test = await server.create_inbox(token=key)
    if blocks:
        await block(server, key, BLOCKED)
    return Tenant(key, agent, test)


async def block(
    server: RunningServer, key: str, entry: str, mailbox: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "block", "entry": entry}
    if mailbox is not None:
        body["mailbox"] = mailbox
    response = await server.http.post("/lists", json=body, headers=server.auth(key))
    assert response.status_code in (200, 201), response.text
    return dict(response.json()["data"])


async def listed(
    server: RunningServer, key: str, mailbox: dict[str, Any], **params: Any
) -> list[dict[str, Any]]:
    """The mailbox's message summaries, newest first."""
    response = await server.http.get(
        f"/mailboxes/{mailbox['id']}/messages", params=params, headers=server.auth(key)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def subjects(messages: list[dict[str, Any]]) -> list[str]:
    return [message["subject"] for message in messages]

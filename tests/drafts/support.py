"""Helpers for draft tests: settings, an account with a sending inbox, draft calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inboxkit.config import Settings
from tests.helpers import RunningServer
from tests.outbound.relay import RelaySink, relay_settings
from tests.webhooks.support import hook_settings

__all__ = ["Account", "account", "draft_settings"]


def draft_settings(settings: Settings, relay: RelaySink) -> Settings:
    """Sending through `relay`, webhooks to 127.0.0.1, retries and polls quick."""
    return hook_settings(relay_settings(settings, relay), outbox_poll_interval=0.5)


@dataclass
class Account:
    server: RunningServer
    key: str  # the account's API key (every scope)
    inbox: dict[str, Any]  # with `token`, the mailbox's own token

    @property
    def path(self) -> str:
        return f"/mailboxes/{self.inbox['id']}"

    def as_key(self) -> dict[str, str]:
        return self.server.auth(self.key)

    def as_inbox(self) -> dict[str, str]:
        return self.server.auth(self.inbox["token"])

    async def create(self, token: str | None = None, **body: Any) -> Any:
        return await self.server.http.post(
            f"{self.path}/drafts", json=body, headers=self.server.auth(token or self.key)
        )

    async def review(self, on: bool) -> None:
        response = await self.server.http.patch(
            self.path, json={"outbound_review": on}, headers=self.as_key()
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["outbound_review"] is on


async def account(server: RunningServer, name: str = "drafter") -> Account:
    key = await server.create_key(name)
    inbox = await server.create_inbox(token=key)
    return Account(server, key, inbox)

"""Helpers for capture tests: an application's key, and what landed in its capture mailbox."""

from __future__ import annotations

from typing import Any

from tests.helpers import RunningServer

# What an application's mail-sending configuration holds: a key that may capture and read.
APP_SCOPES = ["capture", "mailboxes:read", "mailboxes:write", "messages:read", "messages:write"]


async def app_key(server: RunningServer, name: str = "app under test") -> str:
    """An API key of a new account, as a test suite would configure its application with."""
    return await server.create_key(name, scopes=APP_SCOPES)


async def capture_mailbox(server: RunningServer, key: str) -> dict[str, Any]:
    response = await server.http.get("/capture", headers=server.auth(key))
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def captured(server: RunningServer, key: str, **filters: Any) -> list[dict[str, Any]]:
    """Summaries in the key's account's capture mailbox, newest first."""
    box = await capture_mailbox(server, key)
    response = await server.http.get(
        f"/mailboxes/{box['id']}/messages", params=filters, headers=server.auth(key)
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]

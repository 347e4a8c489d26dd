"""Reading what capture stored, over the REST API, as a test of an emulated provider sees it."""

from __future__ import annotations

from typing import Any

from tests.helpers import RunningServer

__all__ = ["captured", "header", "attachment_bytes"]


async def captured(server: RunningServer, key: str) -> list[dict[str, Any]]:
    """Every message in `key`'s account's capture mailbox, oldest first, in full."""
    auth = server.auth(key)
    mailbox = (await server.http.get("/capture", headers=auth)).json()["data"]
    listing = await server.http.get(f"/mailboxes/{mailbox['id']}/messages", headers=auth)
    assert listing.status_code == 200, listing.text
    messages = []
    for summary in reversed(listing.json()["data"]):
        detail = await server.http.get(
            f"/mailboxes/{mailbox['id']}/messages/{summary['id']}", headers=auth
        )
        assert detail.status_code == 200, detail.text
        messages.append(detail.json()["data"])
    return messages


def header(message: dict[str, Any], name: str) -> list[str]:
    """Every value of header `name` in a captured message, in order."""
    return [value for key, value in message["headers"] if key.lower() == name.lower()]


async def attachment_bytes(
    server: RunningServer, key: str, message: dict[str, Any], filename: str
) -> bytes:
    (found,) = [a for a in message["attachments"] if a["filename"] == filename]
    response = await server.http.get(
        f"/mailboxes/{message['mailbox_id']}/messages/{message['id']}/attachments/{found['id']}",
        headers=server.auth(key),
    )
    assert response.status_code == 200, response.text
    return response.content

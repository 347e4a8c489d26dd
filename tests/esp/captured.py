"""Reading what an emulated provider API captured, over the REST API, as a test suite would."""

from __future__ import annotations

from typing import Any

from tests.helpers import RunningServer


async def capture_mailbox(server: RunningServer, token: str) -> dict[str, Any]:
    response = await server.http.get("/capture", headers=server.auth(token))
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def captured(server: RunningServer, token: str) -> list[dict[str, Any]]:
    """Every captured message of `token`'s account, oldest first, in full."""
    box = await capture_mailbox(server, token)
    listing = await server.http.get(
        f"/mailboxes/{box['id']}/messages", params={"limit": 200}, headers=server.auth(token)
    )
    assert listing.status_code == 200, listing.text
    found = []
    for summary in reversed(listing.json()["data"]):
        detail = await server.http.get(
            f"/mailboxes/{box['id']}/messages/{summary['id']}", headers=server.auth(token)
        )
        assert detail.status_code == 200, detail.text
        found.append(detail.json()["data"])
    return found


async def only_captured(server: RunningServer, token: str) -> dict[str, Any]:
    messages = await captured(server, token)
    assert len(messages) == 1, [m["subject"] for m in messages]
    return messages[0]


async def raw_bytes(server: RunningServer, token: str, message: dict[str, Any]) -> bytes:
    response = await server.http.get(
        f"/mailboxes/{message['mailbox_id']}/messages/{message['id']}/raw",
        headers=server.auth(token),
    )
    assert response.status_code == 200, response.text
    return response.content


async def attachment_bytes(
    server: RunningServer, token: str, message: dict[str, Any], filename: str
) -> bytes:
    (attachment,) = [a for a in message["attachments"] if a["filename"] == filename]
    response = await server.http.get(
        f"/mailboxes/{message['mailbox_id']}/messages/{message['id']}"
        f"/attachments/{attachment['id']}",
        headers=server.auth(token),
    )
    assert response.status_code == 200, response.text
    return response.content


def header(message: dict[str, Any], name: str) -> list[str]:
    """Every value of header `name` (case-insensitive) of a message read over REST."""
    return [value for key, value in message["headers"] if key.lower() == name.lower()]

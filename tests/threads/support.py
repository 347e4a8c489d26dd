"""A conversation between two account mailboxes and an outside sender, for thread tests."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from tests.helpers import RunningServer
from tests.outbound.inboxes import sending_inbox

__all__ = ["Conversation", "Mailbox", "mail", "start_conversation"]

OUTSIDER = "carol@outside.example"


@dataclass
class Mailbox:
    server: RunningServer
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def address(self) -> str:
        return str(self.data["address"])

    @property
    def headers(self) -> dict[str, str]:
        return self.server.auth(self.data["token"])

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.server.http.get(
            f"/mailboxes/{self.id}{path}", params=params, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def threads(self, **params: Any) -> list[dict[str, Any]]:
        return list((await self.get("/threads", **params))["data"])

    async def thread(self, thread_id: str, **params: Any) -> dict[str, Any]:
        return dict((await self.get(f"/threads/{thread_id}", **params))["data"])

    async def arrival(self, after: str | None = None, **params: Any) -> dict[str, Any]:
        """The next message after id `after` (waiting for it), without marking it read."""
        query: dict[str, Any] = {"timeout": 20, "mark_read": "false", **params}
        if after:
            query["after"] = after
        found = (await self.get("/wait", **query))["data"]
        assert found["message"] is not None, "nothing arrived"
        return dict(found["message"])


def mail(
    to: str,
    subject: str,
    *,
    sender: str = OUTSIDER,
    cc: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    body: str = "Hello.",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    message.set_content(body)
    return message


@dataclass
class Conversation:
    ada: Mailbox
    bob: Mailbox
    # Message ids as each mailbox stores them, in order.
    ada_ids: list[str]
    bob_ids: list[str]


async def start_conversation(server: RunningServer) -> Conversation:
    """Carol (outside, over SMTP) writes to Ada and Bob; Ada replies to all through the API
    (Bob gets it by local delivery); Carol answers with proper References."""
    ada = Mailbox(server, await sending_inbox(server))
    bob = Mailbox(server, await sending_inbox(server))
    first = mail(ada.address, "Project plan", cc=bob.address, message_id="<plan-1@outside.example>")
    await server.send([ada.address, bob.address], first, mail_from=OUTSIDER)
    a1 = await ada.arrival()
    b1 = await bob.arrival()
    replied = await server.http.post(
        f"/mailboxes/{ada.id}/messages/{a1['id']}/reply",
        headers=ada.headers,
        json={"text": "Sounds good.", "reply_all": True},
    )
    assert replied.status_code == 202, replied.text
    a2 = replied.json()["data"]
    b2 = await bob.arrival(b1["id"])
    answer = mail(
        ada.address,
        "Re: Project plan",
        cc=bob.address,
        message_id="<plan-3@outside.example>",
        in_reply_to=a2["message_id"],
        references=["<plan-1@outside.example>", a2["message_id"]],
    )
    await server.send([ada.address, bob.address], answer, mail_from=OUTSIDER)
    a3 = await ada.arrival(a2["id"])
    b3 = await bob.arrival(b2["id"])
    return Conversation(ada, bob, [a1["id"], a2["id"], a3["id"]], [b1["id"], b2["id"], b3["id"]])

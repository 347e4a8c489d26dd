"""Webhooks and mail hidden as spam (DESIGN §9): a blocked sender's mail to an agent inbox
queues no `message.received` delivery; the clean mail after it, and the same sender's mail to
a test inbox (which hides nothing), each queue one."""

from __future__ import annotations

import json

from inboxkit.config import Settings
from tests.helpers import start_server
from tests.hidden_mail import ALLOWED, BLOCKED, listed, quiet, subjects, tenant
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import hook_settings, register


async def test_hidden_mail_queues_no_webhook_and_the_clean_mail_after_it_does(
    settings: Settings, receiver: Receiver
):
    async with start_server(hook_settings(quiet(settings))) as server:
        ada = await tenant(server, "ada-hooks")
        hook = await register(server, ada.key, receiver.url(), events=["message.received"])
        await server.send(ada.agent["address"], mail_from=BLOCKED, subject="junk")
        await server.send(ada.agent["address"], mail_from=ALLOWED, subject="clean")
        await server.send(ada.test["address"], mail_from=BLOCKED, subject="junk to a test inbox")

        hits = await receiver.wait_for_count(2)
        posted = sorted(json.loads(hit.body)["data"]["message"]["subject"] for hit in hits)
        assert posted == ["clean", "junk to a test inbox"]
        # Deliveries are queued in the storing transaction, so every message stored so far
        # has its rows by now: the hidden one has none.
        response = await server.http.get(f"/webhooks/{hook['id']}/deliveries", headers=ada.auth())
        assert response.status_code == 200, response.text
        assert len(response.json()["data"]) == 2
        assert subjects(await listed(server, ada.key, ada.agent, spam="true")) == ["junk"]

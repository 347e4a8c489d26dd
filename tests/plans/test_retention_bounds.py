"""The retention sweep with the longest retention a plan accepts (2**31-1 days, past what a
date can reach back to): it purges nothing of that plan and still sweeps the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inboxkit.services.auth import SCOPES
from inboxkit.services.plans import MAX_LIMIT
from inboxkit.store.tables import messages
from tests.helpers import RunningServer
from tests.plans.support import account_on_plan, bearer, deliver_one, raw_message


async def test_a_retention_longer_than_the_calendar_keeps_mail_and_other_plans_still_purge(
    server: RunningServer,
):
    admin = await server.create_key("admin", scopes=list(SCOPES))
    boxes = {}
    for plan, days in (("forever", MAX_LIMIT), ("week", 7)):
        key = await account_on_plan(server.http, admin, plan, {"retention_days": days})
        created = await server.http.post("/mailboxes", json={}, headers=bearer(key))
        assert created.status_code == 201, created.text
        box = created.json()["data"]
        outcome = await deliver_one(
            server.smtp_port, box["address"], raw_message(box["address"], 1)
        )
        assert outcome.stage == "stored", outcome
        boxes[plan] = (box, key)
    long_ago = datetime.now(UTC) - timedelta(days=8)
    async with server.runtime.db.write() as conn:
        await conn.execute(messages.update().values(received_at=long_ago))

    assert await server.runtime.usage.purge_retention() == 1

    for plan, left in (("forever", 1), ("week", 0)):
        box, key = boxes[plan]
        listed = await server.http.get(f"/mailboxes/{box['id']}/messages", headers=bearer(key))
        assert len(listed.json()["data"]) == left, plan

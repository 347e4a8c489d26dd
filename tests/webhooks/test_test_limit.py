"""`POST /webhooks/{id}/test` sends a request on demand, so it is rate-limited per account,
with the count kept in the database (it holds across API processes)."""

from __future__ import annotations

from inboxkit.config import Settings
from tests.helpers import start_server
from tests.webhooks.receiver import Receiver, serve_receiver
from tests.webhooks.support import hook_settings, register


async def test_webhook_tests_over_the_limit_are_429_with_retry_after_in_every_process(
    settings: Settings,
):
    receiver = Receiver()
    configured = hook_settings(settings, webhook_test_rate_limit=3, webhook_test_rate_window=600)
    async with (
        serve_receiver(receiver),
        start_server(configured) as first,
        start_server(configured) as second,  # another API process on the same database
    ):
        key = await first.create_key("tenant")
        hook = await register(first, key, receiver.url())
        path = f"/webhooks/{hook['id']}/test"
        answers = [
            await first.http.post(path, headers=first.auth(key)),
            await second.http.post(path, headers=second.auth(key)),
            await first.http.post(path, headers=first.auth(key)),
        ]
        refused = [
            await second.http.post(path, headers=second.auth(key)),
            await first.http.post(path, headers=first.auth(key)),
        ]
        other_key = await first.create_key("other tenant")
        other_hook = await register(first, other_key, receiver.url())
        other = await second.http.post(
            f"/webhooks/{other_hook['id']}/test", headers=second.auth(other_key)
        )
    assert [a.json()["data"]["status"] for a in answers] == ["delivered"] * 3
    for response in refused:
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limited"
        assert "3 webhook tests per 600 seconds" in response.json()["error"]["message"]
        assert 1 <= int(response.headers["retry-after"]) <= 600
    assert other.status_code == 200  # the limit is per account
    assert len(receiver.hits) == 4  # refused tests sent nothing


async def test_deleting_and_recreating_a_webhook_does_not_reset_the_test_limit(
    settings: Settings,
):
    receiver = Receiver()
    configured = hook_settings(settings, webhook_test_rate_limit=1, webhook_test_rate_window=600)
    async with serve_receiver(receiver), start_server(configured) as server:
        key = await server.create_key("tenant")
        hook = await register(server, key, receiver.url())
        first = await server.http.post(f"/webhooks/{hook['id']}/test", headers=server.auth(key))
        await server.http.delete(f"/webhooks/{hook['id']}", headers=server.auth(key))
        again = await register(server, key, receiver.url())
        second = await server.http.post(f"/webhooks/{again['id']}/test", headers=server.auth(key))
    assert first.status_code == 200
    assert second.status_code == 429
    assert len(receiver.hits) == 1

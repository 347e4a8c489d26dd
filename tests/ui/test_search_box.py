"""The web UI's search box takes the query language (docs/search.md): results show their
highlights with the message's own text escaped, and a query that cannot be read is said on
the page."""

from __future__ import annotations

import httpx

from tests.helpers import RunningServer
from tests.ui.test_security import signed_in


async def test_search_box_uses_the_query_language_and_shows_escaped_highlights(
    server: RunningServer,
) -> None:
    inbox = await server.create_inbox()
    await server.send(
        inbox["address"], subject="<img src=x onerror=alert(1)> quince deal", body="a"
    )
    await server.send(inbox["address"], subject="quince report", mail_from="bob@farm.example")
    await server.send(inbox["address"], subject="brioche notice", body="quince inside")
    page = f"/inbox/{inbox['id']}"
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        await signed_in(client, inbox["token"])
        found = (await client.get(page, params={"q": "quince -from:farm.example"})).text
        assert "brioche notice" in found and "quince report" not in found
        assert "&lt;img src=x onerror=alert(1)&gt; <mark>quince</mark> deal" in found
        assert "<img src=x" not in found
        assert "body: <mark>quince</mark> inside" in found
        unread = (await client.get(page, params={"q": "subject:quince", "unread": "1"})).text
        assert "quince deal" in unread and "brioche notice" not in unread
        refused = await client.get(page, params={"q": 'quince "open'})
        assert refused.status_code == 200
        assert "Unbalanced quote at character 8" in refused.text
        assert 'id="search-error"' in refused.text

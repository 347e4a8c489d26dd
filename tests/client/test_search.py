"""The SDK's `search()`, sync and async: results with highlights, pages, one mailbox,
relevance."""

from __future__ import annotations

from inboxkit.client import SearchResult
from tests.client.conftest import Sdk
from tests.helpers import RunningServer
from tests.search.test_surfaces import mail


async def test_sdk_search_pages_with_highlights(server: RunningServer, sdk: Sdk):
    key = await server.create_key(name=f"sdk-search-{sdk.kind}")
    first, _ = await mail(server, key)
    client = sdk.client(key)
    page = await sdk.run(client.search, "quince", limit=1)
    (newest,) = page
    assert isinstance(newest, SearchResult) and newest.subject == "quince smoothie"
    assert {h.field for h in newest.highlights} == {"subject", "body"}
    assert page.next_cursor is not None
    rest = await sdk.run(client.search, "quince", limit=1, cursor=page.next_cursor)
    assert [m.subject for m in rest] == ["Quarterly <b>quince</b> report"]
    assert rest.next_cursor is None
    best = await sdk.run(client.search, "quince", sort="relevance", mailbox=first["id"])
    assert [m.subject for m in best] == ["Quarterly <b>quince</b> report"]

"""The web UI and mail hidden as spam (DESIGN §9), over plain HTTP against the whole service:
an agent inbox's page leaves a blocked sender's mail out and links to a Spam view that lists
it; row actions there return to that view; a message's page shows its spam verdict and its
sender authentication results; a test inbox has no Spam view and lists the mail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.hidden_mail import ALLOWED, BLOCKED, listed, tenant
from tests.senders.dnsserver import DnsServer
from tests.ui.test_security import same_site, signed_in


@pytest.fixture
def zone() -> Iterator[DnsServer]:
    """good.example publishes an SPF record allowing the test's client address; junk.example
    publishes nothing."""
    server = DnsServer()
    server.add_txt("good.example", "v=spf1 ip4:127.0.0.1 -all")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def ui_server(settings: Settings, zone: DnsServer) -> AsyncIterator[RunningServer]:
    update = {"verify_senders": "agent", "dns_resolver": zone.address}
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


async def test_agent_inbox_has_a_spam_view_and_the_message_page_shows_verdict_and_senders(
    ui_server: RunningServer,
) -> None:
    server = ui_server
    ada = await tenant(server, "ada-ui")
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="cheap watches")
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="team lunch")
    page = f"/inbox/{ada.agent['id']}"
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, ada.key)
        inbox = (await client.get(page)).text
        assert "team lunch" in inbox and "cheap watches" not in inbox
        assert f'href="{page}?spam=1" id="spam-view"' in inbox
        assert "<title>(1) " in inbox  # the spam is not counted as unread
        assert 'data-live="1"' in inbox

        spam = (await client.get(page, params={"spam": "1"})).text
        assert "cheap watches" in spam and "team lunch" not in spam
        assert '<span class="badge verdict">blocked</span>' in spam
        assert 'data-live="1"' not in spam  # streams carry no spam: this view stays still
        assert 'name="back" value="spam"' in spam
        searched = (await client.get(page, params={"spam": "1", "q": "watches"})).text
        assert "cheap watches" in searched and 'name="spam" value="1"' in searched

        (junk,) = await listed(server, ada.key, ada.agent, spam="true")
        marked = await client.post(
            f"/ui/inbox/{ada.agent['id']}/{junk['id']}/read",
            data={"csrf": csrf, "is_read": "1", "back": "spam"},
            headers=same_site(client),
        )
        assert marked.status_code == 303
        assert marked.headers["location"] == f"{page}?spam=1"

        shown = (await client.get(f"{page}/{junk['id']}")).text
        assert 'id="spam-verdict"' in shown and "blocked" in shown and "block list" in shown
        assert 'id="authentication"' in shown
        assert "SPF none" in shown and "DMARC none" in shown  # junk.example publishes nothing

        (fine,) = await listed(server, ada.key, ada.agent)
        clean = (await client.get(f"{page}/{fine['id']}")).text
        assert "SPF pass (good.example)" in clean
        assert 'id="authentication-results"' in clean and "spf=pass" in clean

        deleted = await client.post(
            f"/ui/inbox/{ada.agent['id']}/{junk['id']}/delete",
            data={"csrf": csrf, "back": "spam"},
            headers=same_site(client),
        )
        assert deleted.headers["location"] == f"{page}?spam=1"
        assert await listed(server, ada.key, ada.agent, spam="true") == []


async def test_test_inbox_lists_the_mail_with_its_verdict_and_has_no_spam_view(
    ui_server: RunningServer,
) -> None:
    server = ui_server
    ada = await tenant(server, "ada-ui-test")
    await server.send(ada.test["address"], mail_from=BLOCKED, subject="cheap watches")
    page = f"/inbox/{ada.test['id']}"
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        await signed_in(client, ada.key)
        inbox = (await client.get(page)).text
        assert "cheap watches" in inbox and 'id="spam-view"' not in inbox
        assert '<span class="badge verdict">blocked</span>' in inbox
        # Asking for a spam view of a test inbox shows its list: it hides nothing.
        assert "cheap watches" in (await client.get(page, params={"spam": "1"})).text


async def test_another_tenants_spam_view_is_not_found(ui_server: RunningServer) -> None:
    server = ui_server
    ada = await tenant(server, "ada-ui-own")
    eve = await server.create_key(name="eve")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        await signed_in(client, eve)
        response = await client.get(f"/inbox/{ada.agent['id']}", params={"spam": "1"})
        assert response.status_code == 404

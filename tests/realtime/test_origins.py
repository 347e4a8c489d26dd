"""Browser origins on the push routes: compared whole (scheme, host, port) with the configured
public URL and allowed origins, never with the request's own Host header; with nothing
configured, only this server's own loopback pages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from websockets.exceptions import InvalidStatus

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.realtime.test_websocket import next_event, open_socket


async def _sse_status(server: RunningServer, box: dict[str, Any], **headers: str) -> int:
    async with server.http.stream(
        "GET", f"/mailboxes/{box['id']}/events", headers={**server.auth(box["token"]), **headers}
    ) as response:
        return response.status_code


async def test_dns_rebinding_origin_that_matches_the_host_header_is_refused(
    server: RunningServer,
):
    # evil.example rebound to 127.0.0.1: the browser sends Host and Origin that agree.
    box = await server.create_inbox()
    rebound = f"evil.example:{server.http_port}"
    status = await _sse_status(server, box, Host=rebound, Origin=f"http://{rebound}")
    assert status == 403


async def test_origin_with_another_scheme_or_port_than_the_server_is_refused(
    server: RunningServer,
):
    box = await server.create_inbox()
    for origin in (
        f"https://127.0.0.1:{server.http_port}",
        f"http://127.0.0.1:{server.http_port + 1}",
        "http://127.0.0.1",
        "null",
    ):
        assert await _sse_status(server, box, Origin=origin) == 403, origin
        with pytest.raises(InvalidStatus) as refused:
            async with open_socket(server, box, origin=origin):
                pass
        assert refused.value.response.status_code == 403, origin


async def test_without_configuration_the_servers_own_loopback_pages_are_same_site(
    server: RunningServer,
):
    box = await server.create_inbox()
    for host in ("127.0.0.1", "localhost", "[::1]"):
        origin = f"http://{host}:{server.http_port}"
        assert await _sse_status(server, box, Origin=origin) == 200, origin
    async with open_socket(server, box, origin=f"http://localhost:{server.http_port}") as ws:
        await server.send(box["address"], subject="loopback page")
        assert (await next_event(ws))["message"]["subject"] == "loopback page"


async def test_configured_public_url_and_allowed_origins_are_the_only_same_site_pages(
    settings: Settings,
):
    configured = settings.model_copy(
        update={
            "public_url": "https://mail.example.com/inboxkit",
            "allowed_origins": ["https://app.example.org:8443"],
        }
    )
    async with start_server(configured) as server:
        box = await server.create_inbox()
        statuses = {
            origin: await _sse_status(server, box, Origin=origin)
            for origin in (
                "https://mail.example.com",
                "https://app.example.org:8443",
                "http://mail.example.com",
                "https://mail.example.com:8443",
                "https://app.example.org",
                f"http://127.0.0.1:{server.http_port}",
            )
        }
        no_origin = await _sse_status(server, box)  # not a browser
    assert statuses == {
        "https://mail.example.com": 200,
        "https://app.example.org:8443": 200,
        "http://mail.example.com": 403,
        "https://mail.example.com:8443": 403,
        "https://app.example.org": 403,
        f"http://127.0.0.1:{server.http_port}": 403,
    }
    assert no_origin == 200


def test_allowed_origins_setting_accepts_only_origins():
    settings = Settings(_env_file=None, allowed_origins="https://a.example, http://b.example:8080/")  # type: ignore[call-arg]
    assert settings.allowed_origins == ["https://a.example", "http://b.example:8080"]
    with pytest.raises(ValidationError):
        Settings(_env_file=None, allowed_origins="mail.example.com")  # type: ignore[call-arg]

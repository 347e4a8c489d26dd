"""/mcp answers only to this server's host names (DNS-rebinding protection) and pages of this
site, refusing others with 403 in the error envelope before any MCP processing."""

from __future__ import annotations

import httpx

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.mcp.test_http import INITIALIZE, MCP_HEADERS, mcp_url


async def _initialize(server: RunningServer, key: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            mcp_url(server), json=INITIALIZE, headers={**MCP_HEADERS, **server.auth(key), **headers}
        )


async def test_rebound_host_name_is_refused_403_with_the_error_envelope(server: RunningServer):
    key = await server.create_key()
    response = await _initialize(server, key, Host=f"evil.example:{server.http_port}")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert "host name" in error["message"] and "INBOXKIT_PUBLIC_URL" in error["message"]


async def test_ip_literal_and_loopback_host_names_are_answered(server: RunningServer):
    key = await server.create_key()
    for host in ("10.20.30.40:8025", "[::1]", "localhost", f"127.0.0.1:{server.http_port}"):
        response = await _initialize(server, key, Host=host)
        assert response.status_code == 200, (host, response.text)


async def test_configured_public_host_is_answered_and_its_origin_accepted(settings: Settings):
    configured = settings.model_copy(update={"public_url": "https://mail.example.com"})
    async with start_server(configured) as server:
        key = await server.create_key()
        public = await _initialize(
            server, key, Host="mail.example.com", Origin="https://mail.example.com"
        )
        other_host = await _initialize(server, key, Host="other.example.com")
        wrong_scheme = await _initialize(
            server, key, Host="mail.example.com", Origin="http://mail.example.com"
        )
    assert public.status_code == 200, public.text
    assert other_host.status_code == 403
    assert wrong_scheme.status_code == 403
    assert wrong_scheme.json()["error"]["message"] == "Cross-site requests to /mcp are refused."

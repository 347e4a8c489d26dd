"""An HTTP server on 127.0.0.1 that answers like a broken or unusual rspamd would: a canned
status and body, or nothing at all. It records each request's headers and body, so a test
can see what the engine sent. (The real rspamd is tests/rspamd.py; this one is for answers
a real rspamd cannot be made to give on demand.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Received", "Stub", "rspamd_answer", "stub_server"]


@dataclass
class Received:
    """One request: the request line, the headers in order, the body."""

    line: str
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@dataclass
class Stub:
    url: str
    status: int = 200
    body: bytes = b""
    # Accept the connection, read the request, never answer.
    silent: bool = False
    requests: list[Received] = field(default_factory=list)


def rspamd_answer(action: str, score: float, symbols: dict[str, float] | None = None) -> bytes:
    """A `/checkv2` answer in rspamd's JSON shape."""
    answer: dict[str, Any] = {
        "is_skipped": False,
        "score": score,
        "required_score": 15.0,
        "action": action,
        "symbols": {
            name: {"name": name, "score": value, "metric_score": value}
            for name, value in (symbols or {}).items()
        },
        "messages": {},
    }
    return json.dumps(answer).encode()


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("utf-8", "replace").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
    body = await reader.readexactly(length) if length else b""
    return Received(lines[0], headers, body)


@asynccontextmanager
async def stub_server(
    status: int = 200, body: bytes = b"", *, silent: bool = False
) -> AsyncIterator[Stub]:
    stub = Stub(url="", status=status, body=body, silent=silent)
    hanging: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                stub.requests.append(request)
                if stub.silent:
                    hanging.append(writer)
                    await reader.read()  # until the client gives up and closes
                    break
                writer.write(
                    f"HTTP/1.1 {stub.status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(stub.body)}\r\n\r\n".encode()
                    + stub.body
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stub.url = f"http://127.0.0.1:{port}"
    try:
        yield stub
    finally:
        for writer in hanging:
            writer.close()
        server.close()
        await server.wait_closed()

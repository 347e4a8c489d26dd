"""Support of the browser tests: the system's Chromium driven by Playwright, and a local HTTP
server that counts what reaches it (the remote-image host, the "attacker")."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

__all__ = ["Counter", "SCREENSHOTS", "chromium", "counting_server"]

SCREENSHOTS = Path(__file__).parent / "screenshots"
REQUIRE = os.environ.get("INBOXKIT_REQUIRE_BROWSER") == "1"
HOW = (
    "browser tests skipped: no Chromium; `apt-get install chromium` "
    "(or set INBOXKIT_CHROMIUM to its path) to run them"
)


def _executable() -> str | None:
    configured = os.environ.get("INBOXKIT_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium")


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Chromium (the system's: Playwright's own browsers are never downloaded).
    Without one the test skips with how to enable it, or fails under INBOXKIT_REQUIRE_BROWSER=1
    (CI)."""
    executable = _executable()
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        executable = None
    if executable is None:
        if REQUIRE:
            pytest.fail(HOW.replace("skipped", "required (INBOXKIT_REQUIRE_BROWSER=1)"))
        pytest.skip(HOW)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Counter:
    """What reached a counting server: request paths, in order."""

    url: str
    paths: list[str] = field(default_factory=list)


@contextmanager
def counting_server(body: bytes = b"", content_type: str = "image/gif") -> Iterator[Counter]:
    """An HTTP server on 127.0.0.1 that records every request and answers `body`."""
    counter = Counter(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            counter.paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    counter.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        httpd.shutdown()
        httpd.server_close()

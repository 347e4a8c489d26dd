"""The Mailgun and Amazon SES snippets of docs/capture.md run as printed, against a real
server, and their mail is captured."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from tests.esp.captured import header, only_captured
from tests.helpers import RunningServer

pytestmark = pytest.mark.service

DOC = Path(__file__).resolve().parents[2] / "docs" / "capture.md"


def snippet(heading: str) -> str:
    """The first Python block under `### <heading>` in docs/capture.md."""
    text = DOC.read_text()
    section = text.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, f"no python block under ### {heading}"
    return found.group(1)


async def run(code: str, **env: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.parametrize("heading", ["Mailgun", "Amazon SES"])
async def test_snippet_runs_and_its_mail_is_captured(server: RunningServer, heading: str):
    key = await server.runtime.auth.create_key(
        name="docs", scopes=["capture", "mailboxes:read", "messages:read"]
    )

    printed = await run(
        snippet(heading),
        INBOXKIT_URL=server.base_url,
        INBOXKIT_CAPTURE_KEY=key["token"],
        INBOXKIT_CAPTURE_KEY_ID=key["id"],
    )

    message = await only_captured(server, key["token"])
    assert message["to"] == ["customer@example.net"]
    assert "audit@example.com" in message["envelope"]["rcpt_to"]
    assert message["reply_to"] == ["help@example.com"]
    assert [a["filename"] for a in message["attachments"]] == ["receipt.txt"]
    if heading == "Mailgun":
        assert printed.startswith("200 ")
        assert header(message, "X-Mailgun-Tag") == ["shipping"]
    else:
        assert message["message_id"] == f"<{printed.strip()}@email.amazonses.com>"
        assert header(message, "X-SES-Message-Tags") == ["flow=receipt"]

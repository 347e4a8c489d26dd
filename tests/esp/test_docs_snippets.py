"""The Python snippet under each provider's heading in docs/capture.md runs as written against
the test server (its URL and a capture key given through the environment variables the
snippet reads) and its message is captured."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from tests.esp.captured import captured
from tests.helpers import RunningServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "capture.md"
FENCE = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# heading -> (subject the snippet sends, `via` of what it captures)
PROVIDERS = {
    "Postmark": ("Invoice 2024-117", "esp:postmark"),
    "SendGrid": ("This week's digest", "esp:sendgrid"),
    "Resend": ("Your sign-in code", "esp:resend"),
}


def snippet(heading: str) -> str:
    text = DOC.read_text()
    start = text.index(f"\n### {heading}\n")
    end = text.find("\n### ", start + 1)
    (code,) = FENCE.findall(text[start : end if end != -1 else None])
    return code


@pytest.mark.parametrize("heading", PROVIDERS)
async def test_provider_snippet_runs_and_its_message_is_captured(
    server: RunningServer, heading: str, tmp_path: Path
):
    key = await server.create_key("docs", scopes=["capture", "mailboxes:read", "messages:read"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INBOXKIT_", "RESEND_"))}
    env |= {"INBOXKIT_URL": server.base_url, "INBOXKIT_CAPTURE_KEY": key}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        snippet(heading),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    assert out.strip()
    subject, via = PROVIDERS[heading]
    (message,) = await captured(server, key)
    assert message["subject"] == subject
    assert message["envelope"]["via"] == via
    assert message["attachments"] and message["cc"] and message["reply_to"]

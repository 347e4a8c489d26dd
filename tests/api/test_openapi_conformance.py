"""/openapi.json is the truth: schemathesis, driven only by the document, runs every check it
has against a real server with a real admin key and finds nothing.

Bounded and deterministic: `--generation-deterministic`, a fixed number of examples per
operation, one worker. Two things are held back, both about time, not about what is checked:
`wait` runs with `timeout=0` (a long-poll would hold each request for up to a minute), and the
SSE stream is left out (it never ends, so no request/response tool can judge it; its errors
share the code paths of every other route). And one answer is about the world, not the request:
verifying a custom domain whose records are not published is the documented `422` that names
them, whatever the request, so that route may answer `422` to well-formed data.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server

# Teaches schemathesis to send the `message/rfc822` bodies of raw ingest.
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
ADMIN_KEY = "ik_openapi_conformance_admin_key_0123456789"
EXAMPLES = 25
# This only bounds a run that hangs. The emulated provider APIs (/esp/…) capture every valid
# message they are sent, through the whole delivery pipeline, so they take about two minutes
# of a run on a busy two-core machine.
RUN_LIMIT = 480.0
CONFIG = """
[[operations]]
include-path = "/api/v1/mailboxes/{mailbox}/wait"
parameters = { "timeout" = 0 }

[[operations]]
include-path = "/api/v1/domains/{domain_id}/verify"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# `q` is the search query language (docs/search.md), whose grammar (balanced quotes, known
# operators, real dates) no pattern states, and a cursor is valid only for the query and sort
# that made it: both are refused with their documented 400.
[[operations]]
include-path = "/api/v1/search"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "429"]

[[operations]]
include-path = "/api/v1/mailboxes/{mailbox}/messages"
include-method = "GET"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "429"]

# A draft's `send_at` must lie in the coming year (a past or far one is a documented 400), and
# scheduling or sending a draft needs what a send needs (a recipient, a body), which depends on
# the stored draft: no pattern states either, so both are refused with their documented 400.
[[operations]]
include-path = "/api/v1/mailboxes/{mailbox}/drafts"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

[[operations]]
include-path = "/api/v1/mailboxes/{mailbox}/drafts/{draft_id}"
include-method = "PATCH"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

[[operations]]
include-path = "/api/v1/mailboxes/{mailbox}/drafts/{draft_id}/send"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

[[operations]]
include-path = "/api/v1/mailboxes/{mailbox}/drafts/{draft_id}/approve"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
"""


async def _public_address(host: str, port: int) -> list[str]:
    """Every webhook host resolves to a loopback port nobody listens on: whether a generated
    host name exists in DNS is not something the document can promise."""
    return ["127.0.0.1"]


@pytest.fixture
async def documented_server(settings: Settings) -> AsyncIterator[RunningServer]:
    update = {
        "admin_key": ADMIN_KEY,
        "webhook_allow_private": True,
        "webhook_timeout": 2.0,
        "smtp_relay_url": None,
        # The emulated provider APIs count every refused key per client address; schemathesis
        # sends thousands of requests without one from the same address.
        "capture_auth_failures_per_minute": 1_000_000,
        # Verifying a custom domain asks DNS: a closed port on loopback answers at once
        # (nothing verifies, as nothing is published), where the machine's resolver may
        # wait for a network the tests never reach.
        "dns_resolver": "127.0.0.1:9",
    }
    async with start_server(settings.model_copy(update=update)) as running:
        running.runtime.webhooks.resolver = _public_address
        yield running


def _schemathesis() -> list[str]:
    executable = Path(sys.executable).with_name("schemathesis")
    if executable.exists():
        return [str(executable)]
    found = shutil.which("schemathesis")
    assert found, "schemathesis is in the dev extra: pip install -e '.[dev]'"
    return [found]


@pytest.mark.timeout(RUN_LIMIT + 60)
async def test_schemathesis_finds_no_difference_between_the_document_and_the_server(
    documented_server: RunningServer, tmp_path: Path
):
    server = documented_server
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        *_schemathesis(),
        "--config-file",
        str(config),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "all",
        # A key lives and dies with its account, a mailbox with its account too: the stateful
        # phase deletes an account in one branch of a scenario and then, in another, reads or
        # revokes what was made for it, which is rightly a 404 but which this check takes for
        # "a created resource not found" (it only knows about DELETEs of the resource itself).
        "--exclude-checks",
        "ensure_resource_availability",
        "--header",
        f"Authorization: Bearer {ADMIN_KEY}",
        # The emulated Postmark API takes its key in Postmark's own header.
        "--header",
        f"X-Postmark-Server-Token: {ADMIN_KEY}",
        "--max-examples",
        str(EXAMPLES),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--exclude-path",
        "/api/v1/mailboxes/{mailbox}/events",
        "--no-color",
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_LIMIT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    report = output.decode(errors="replace")
    assert process.returncode == 0, report
    assert "No issues found" in report or " passed" in report, report

"""Waits longer than one long-poll are done in rounds (no server: a scripted backend)."""

from __future__ import annotations

from typing import Any

from mcp import Client

from inboxkit.mcp.tools import build_server
from inboxkit.services.messages import MessageFilter


class ScriptedWaits:
    """A backend whose long-polls answer from a script, at once."""

    def __init__(self, answers: list[dict[str, Any]], max_wait: float):
        self.answers = answers
        self.max_wait = max_wait
        self.rounds: list[float] = []

    async def wait(
        self, inbox: str, flt: MessageFilter, *, timeout: float, mark_read: bool
    ) -> dict[str, Any]:
        assert timeout <= self.max_wait
        self.rounds.append(timeout)
        return self.answers.pop(0)


TIMED_OUT = {"message": None, "timed_out": True}
CODED = {
    "message": {"id": "m1", "from": "a@shop.example", "subject": "Code", "codes": ["482913"]},
    "timed_out": False,
}


async def test_a_wait_longer_than_one_long_poll_keeps_polling_until_mail_comes():
    backend = ScriptedWaits([TIMED_OUT, TIMED_OUT, TIMED_OUT, CODED], max_wait=0.1)
    async with Client(build_server(lambda ctx: backend)) as client:
        result = await client.call_tool(
            "wait_for_code", {"inbox": "a@inboxkit.localhost", "timeout_seconds": 600}
        )
    assert result.structured_content is not None
    assert result.structured_content["code"] == "482913"
    assert len(backend.rounds) == 4


async def test_a_round_that_ends_early_without_mail_ends_the_wait():
    # A server that is shutting down answers its long-polls at once with timed_out: the tool
    # reports that instead of polling again in a tight loop until its own deadline.
    backend = ScriptedWaits([TIMED_OUT], max_wait=60.0)
    async with Client(build_server(lambda ctx: backend)) as client:
        result = await client.call_tool(
            "wait_for_message", {"inbox": "a@inboxkit.localhost", "timeout_seconds": 600}
        )
    assert result.structured_content is not None
    assert result.structured_content["timed_out"] is True
    assert backend.rounds == [60.0]

"""/metrics counts what SMTP delivered and how DATA was answered."""

from __future__ import annotations

import re

from tests.helpers import RunningServer


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} missing from /metrics:\n{text}"
    return float(match.group(1))


async def test_metrics_count_deliveries_and_data_replies(server: RunningServer):
    first, second = await server.create_inbox(), await server.create_inbox()
    await server.send([first["address"], second["address"]])
    await server.send(first["address"])
    response = await server.http.get(f"{server.base_url}/metrics")
    assert response.status_code == 200
    assert _value(response.text, "inboxkit_messages_delivered_total") == 3
    assert _value(response.text, 'inboxkit_smtp_replies_total{code="250"}') == 2

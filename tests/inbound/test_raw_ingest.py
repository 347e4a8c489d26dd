"""`POST /inbound/raw`: a message's exact bytes delivered through the pipeline, each recipient
answered as SMTP's RCPT would answer it, only for keys with the operator's `ingest` scope."""

from __future__ import annotations

import os

import pytest

from tests.helpers import RunningServer

RAW = (
    b"From: Ada <ada@example.org>\r\n"
    b"To: someone@inboxkit.localhost\r\n"
    b"Subject: over HTTP\r\n"
    b"Message-ID: <ingest-1@example.org>\r\n"
    b"\r\n"
    b"Your code is 481516.\r\n"
)
# Bytes SMTP would never carry unchanged: bare LF, a lone CR, a dot line and no final newline.
AWKWARD = b"From: b@example.org\nSubject: odd\n\nline one\n.\nline\rtwo\r\n..dots\n8bit \xe9\xff"
RAW_TYPE = {"Content-Type": "message/rfc822"}


async def ingest(
    server: RunningServer, headers: dict[str, str], raw: bytes, *to: str, **params: str
):
    return await server.http.post(
        "/inbound/raw",
        params={"to": list(to), **params},
        content=raw,
        headers={**headers, **RAW_TYPE},
    )


def _token(tenant: dict) -> str:
    return tenant["headers"]["Authorization"].removeprefix("Bearer ")


async def raw_of(server: RunningServer, inbox: dict, message_id: str) -> bytes:
    got = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages/{message_id}/raw", headers=server.auth(inbox["token"])
    )
    assert got.status_code == 200, got.text
    return got.content


async def test_ingested_bytes_are_stored_exactly_and_found_by_wait(server, ingester):
    inbox = await server.create_inbox()
    answer = await ingest(server, ingester, AWKWARD, inbox["address"])
    assert answer.status_code == 202, answer.text
    (delivered,) = answer.json()["data"]["delivered"]
    assert answer.json()["data"]["refused"] == []
    assert delivered["address"] == inbox["address"]
    assert await raw_of(server, inbox, delivered["message_id"]) == AWKWARD

    first = await ingest(server, ingester, RAW, inbox["address"], mail_from="bounce@example.org")
    message_id = first.json()["data"]["delivered"][0]["message_id"]
    waited = await server.http.get(
        f"/mailboxes/{inbox['id']}/wait",
        params={"timeout": 5, "subject_contains": "over HTTP"},
        headers=server.auth(inbox["token"]),
    )
    summary = waited.json()["data"]["message"]
    assert summary["id"] == message_id
    assert summary["codes"] == ["481516"]
    full = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages/{message_id}", headers=server.auth(inbox["token"])
    )
    envelope = full.json()["data"]["envelope"]
    assert envelope["mail_from"] == "bounce@example.org"
    assert envelope["helo"] == "http"
    assert envelope["remote_addr"] == "127.0.0.1"
    assert envelope["rcpt_to"] == [inbox["address"]]


async def test_the_envelope_sender_defaults_to_the_from_header(server, ingester):
    inbox = await server.create_inbox()
    answer = await ingest(server, ingester, RAW, inbox["address"])
    message_id = answer.json()["data"]["delivered"][0]["message_id"]
    full = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages/{message_id}", headers=server.auth(inbox["token"])
    )
    assert full.json()["data"]["envelope"]["mail_from"] == "ada@example.org"


async def test_each_recipient_is_answered_delivered_or_refused_with_smtps_reason(
    server, ingester, tenant_on
):
    full = await tenant_on("ingest-one-message", max_messages_per_mailbox=1)
    small = await tenant_on("ingest-small", max_message_bytes=2000)
    full_box = await server.create_inbox(_token(full))
    small_box = await server.create_inbox(_token(small))
    assert (await ingest(server, ingester, RAW, full_box["address"])).status_code == 202
    roomy = await server.create_inbox()
    big = RAW + b"x" * 3000 + b"\r\n"

    answer = await ingest(
        server,
        ingester,
        big,
        roomy["address"],
        "nobody-here@inboxkit.localhost",
        "someone@example.com",
        full_box["address"],
        small_box["address"],
    )
    assert answer.status_code == 202, answer.text
    result = answer.json()["data"]
    assert [d["address"] for d in result["delivered"]] == [roomy["address"]]
    refused = {r["address"]: r for r in result["refused"]}
    assert refused["nobody-here@inboxkit.localhost"]["reason"] == "unknown_mailbox"
    assert refused["nobody-here@inboxkit.localhost"]["smtp"] == "550 5.1.1"
    assert refused["someone@example.com"]["reason"] == "foreign_domain"
    assert refused["someone@example.com"]["smtp"] == "550 5.7.1"
    assert refused[full_box["address"]]["reason"] == "mailbox_full"
    assert refused[full_box["address"]]["smtp"] == "452 4.2.2"
    assert "1 messages" in refused[full_box["address"]]["message"]
    assert refused[small_box["address"]]["reason"] == "message_too_large"
    assert refused[small_box["address"]]["smtp"] == "552 5.3.4"
    assert await raw_of(server, roomy, result["delivered"][0]["message_id"]) == big
    # Nothing was stored for the refused mailboxes.
    for box, tenant, count in ((full_box, full, 1), (small_box, small, 0)):
        listed = await server.http.get(
            f"/mailboxes/{box['id']}/messages", headers=tenant["headers"]
        )
        assert len(listed.json()["data"]) == count


async def test_every_recipient_refused_is_still_a_202_that_delivers_nothing(server, ingester):
    answer = await ingest(server, ingester, RAW, "ghost@inboxkit.localhost")
    assert answer.status_code == 202
    assert answer.json()["data"]["delivered"] == []
    assert answer.json()["data"]["refused"][0]["reason"] == "unknown_mailbox"


async def test_a_plus_tag_and_the_plain_address_share_one_message_per_mailbox(server, ingester):
    inbox = await server.create_inbox()
    local, domain = inbox["address"].split("@")
    answer = await ingest(server, ingester, RAW, inbox["address"], f"{local}+news@{domain}")
    delivered = answer.json()["data"]["delivered"]
    assert len(delivered) == 2
    assert delivered[0]["message_id"] == delivered[1]["message_id"]


async def test_a_key_without_ingest_is_refused_403_and_nothing_is_stored(server, admin):
    inbox = await server.create_inbox()
    tenant_key = await server.create_key("tenant")  # the default scopes: no ingest
    for headers in (server.auth(tenant_key), server.auth(inbox["token"])):
        answer = await ingest(server, headers, RAW, inbox["address"])
        assert answer.status_code == 403, answer.text
        assert "ingest" in answer.json()["error"]["message"]
    anonymous = await ingest(server, {}, RAW, inbox["address"])
    assert anonymous.status_code == 401
    listed = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
    )
    assert listed.json()["data"] == []


async def test_only_an_admin_grants_ingest_and_new_keys_lack_it(server, admin):
    made = await server.http.post("/keys", json={"name": "default scopes"}, headers=admin)
    assert made.status_code == 201
    assert "ingest" not in made.json()["data"]["scopes"]
    assert "admin" not in made.json()["data"]["scopes"]
    tenant = server.auth(made.json()["data"]["token"])
    refused = await server.http.post(
        "/keys", json={"name": "sneaky", "scopes": ["ingest"]}, headers=tenant
    )
    assert refused.status_code == 403
    granted = await server.http.post(
        "/keys", json={"name": "mta", "scopes": ["ingest"]}, headers=admin
    )
    assert granted.status_code == 201
    assert granted.json()["data"]["scopes"] == ["ingest"]


async def test_a_body_that_is_not_a_message_is_refused_415(server, ingester):
    inbox = await server.create_inbox()
    answer = await server.http.post(
        "/inbound/raw",
        params={"to": inbox["address"]},
        json={"raw": "From: a@b"},
        headers=ingester,
    )
    assert answer.status_code == 415
    assert answer.json()["error"]["code"] == "unsupported_media_type"
    assert "message/rfc822" in answer.json()["error"]["message"]


async def test_a_message_over_the_size_limit_is_refused_413(settings):
    from tests.helpers import start_server

    async with start_server(settings.model_copy(update={"max_message_bytes": 4096})) as server:
        key = server.auth(await server.create_key("mta", scopes=["ingest"]))
        inbox = await server.create_inbox()
        answer = await ingest(server, key, RAW + b"y" * 5000, inbox["address"])
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "payload_too_large"
        assert "4096" in answer.json()["error"]["message"]


async def test_recipients_are_bounded(server, ingester):
    none = await server.http.post("/inbound/raw", content=RAW, headers={**ingester, **RAW_TYPE})
    assert none.status_code == 422
    too_many = await ingest(
        server, ingester, RAW, *[f"r{n}@inboxkit.localhost" for n in range(101)]
    )
    assert too_many.status_code == 422
    assert "100" in too_many.json()["error"]["message"]


_CORPUS = os.environ.get("INBOXKIT_TEST_CORPUS")


def _corpus() -> list[bytes]:
    from tests.smtp.test_corpus import corpus_messages

    return [raw for _path, raw in corpus_messages()]


@pytest.mark.skipif(not _CORPUS, reason="set INBOXKIT_TEST_CORPUS to ingest the MIME corpus")
async def test_every_corpus_message_ingested_over_http_comes_back_byte_exact(
    server: RunningServer, ingester
):
    inbox = await server.create_inbox()
    wrong = []
    for raw in _corpus():
        answer = await ingest(server, ingester, raw, inbox["address"])
        assert answer.status_code == 202, answer.text
        message_id = answer.json()["data"]["delivered"][0]["message_id"]
        if await raw_of(server, inbox, message_id) != raw:
            wrong.append(raw[:60])
    assert wrong == []

"""`POST /inbound/ses`: SNS messages signed as SNS signs them (SignatureVersion 1 and 2) by a
stand-in SNS on a local HTTPS server; SES receipts delivered byte-exact, once per MessageId;
anything unsigned, badly signed, from another certificate URL or another topic refused 403
with nothing stored."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from inboxkit.config import Settings
from inboxkit.store.tables import messages, sns_messages
from tests.helpers import RunningServer, start_server
from tests.inbound.snsserver import TOPIC, SnsStandIn, sns_now

RAW = (
    b"From: Grace <grace@example.net>\r\n"
    b"To: {to}\r\n"
    b"Subject: through SES\r\n"
    b"Message-ID: <ses-1@example.net>\r\n"
    b"\r\n"
    b"Your sign-in code is 271828.\r\n"
)
TEXT_PLAIN = {"Content-Type": "text/plain; charset=UTF-8"}


@pytest.fixture
def sns(tmp_path: Path) -> Iterator[SnsStandIn]:
    with SnsStandIn(tmp_path) as stand_in:
        yield stand_in


@pytest.fixture
async def ses_server(settings: Settings, sns: SnsStandIn) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update=sns.settings())) as running:
        yield running


def receipt(
    raw: bytes, recipients: list[str], *, encoding: str = "BASE64", **verdicts: str
) -> dict[str, Any]:
    """An SES receipt notification whose SNS action carries the message."""
    status = {"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"}
    status.update(verdicts)
    return {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-12-04T10:00:00.000Z",
            "source": "bounces@example.net",
            "messageId": "o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1",
            "destination": recipients,
            "commonHeaders": {"from": ["Grace <grace@example.net>"], "subject": "through SES"},
        },
        "receipt": {
            "timestamp": "2026-12-04T10:00:00.000Z",
            "recipients": recipients,
            **{f"{name}Verdict": {"status": value} for name, value in status.items()},
            "action": {"type": "SNS", "topicArn": TOPIC, "encoding": encoding},
        },
        "content": base64.b64encode(raw).decode() if encoding == "BASE64" else raw.decode(),
    }


async def post(server: RunningServer, body: dict[str, Any] | bytes):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await server.http.post("/inbound/ses", content=content, headers=TEXT_PLAIN)


async def stored(server: RunningServer) -> int:
    async with server.runtime.db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar_one()


async def listed(server: RunningServer, inbox: dict) -> list[dict]:
    answer = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
    )
    return answer.json()["data"]


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("encoding", ["BASE64", "UTF-8"])
async def test_a_signed_ses_notification_is_stored_byte_exact(ses_server, sns, version, encoding):
    inbox = await ses_server.create_inbox()
    raw = RAW.replace(b"{to}", inbox["address"].encode())
    message = sns.sign(
        sns.notification(receipt(raw, [inbox["address"]], encoding=encoding)), version=version
    )
    answer = await post(ses_server, message)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["outcome"] == "delivered"
    (summary,) = await listed(ses_server, inbox)
    assert summary["codes"] == ["271828"]
    headers = ses_server.auth(inbox["token"])
    got = await ses_server.http.get(
        f"/mailboxes/{inbox['id']}/messages/{summary['id']}/raw", headers=headers
    )
    assert got.content == raw
    full = (
        await ses_server.http.get(
            f"/mailboxes/{inbox['id']}/messages/{summary['id']}", headers=headers
        )
    ).json()["data"]
    assert full["envelope"]["mail_from"] == "bounces@example.net"
    assert full["envelope"]["rcpt_to"] == [inbox["address"]]


async def test_ses_verdicts_are_kept_as_the_messages_authentication(ses_server, sns):
    inbox = await ses_server.create_inbox()
    raw = RAW.replace(b"{to}", inbox["address"].encode())
    verdicts = {"spf": "FAIL", "dkim": "GRAY", "dmarc": "PASS", "spam": "FAIL"}
    await post(ses_server, sns.sign(sns.notification(receipt(raw, [inbox["address"]], **verdicts))))
    (summary,) = await listed(ses_server, inbox)
    assert summary["from_verified"] is True
    full = (
        await ses_server.http.get(
            f"/mailboxes/{inbox['id']}/messages/{summary['id']}",
            headers=ses_server.auth(inbox["token"]),
        )
    ).json()["data"]
    auth = full["authentication"]
    assert auth["spf"] == {"result": "fail", "domain": "example.net"}
    assert auth["dkim"] == []
    assert auth["dmarc"]["result"] == "pass"
    assert auth["dmarc"]["domain"] == "example.net"
    assert auth["ses"] == {
        "spam": "FAIL",
        "virus": "PASS",
        "spf": "FAIL",
        "dkim": "GRAY",
        "dmarc": "PASS",
    }
    assert "spf=fail" in full["authentication_results"]


async def test_a_redelivered_message_id_is_stored_once(ses_server, sns):
    inbox = await ses_server.create_inbox()
    raw = RAW.replace(b"{to}", inbox["address"].encode())
    message = sns.sign(sns.notification(receipt(raw, [inbox["address"]]), message_id="dup-1"))
    first = await post(ses_server, message)
    again = await post(ses_server, message)
    assert first.json()["data"]["outcome"] == "delivered"
    assert again.status_code == 200
    assert again.json()["data"]["outcome"] == "duplicate"
    assert len(await listed(ses_server, inbox)) == 1


async def test_tampered_unsigned_foreign_and_misplaced_messages_are_refused_403(ses_server, sns):
    inbox = await ses_server.create_inbox()
    raw = RAW.replace(b"{to}", inbox["address"].encode())
    good = sns.sign(sns.notification(receipt(raw, [inbox["address"]])))

    tampered = dict(good, Message=good["Message"].replace("bounces@", "attacker@"))
    unsigned = {k: v for k, v in good.items() if k not in ("Signature", "SigningCertURL")}
    # Signed by a key whose certificate is served at a URL outside the pattern.
    outsider_key = sns.other_key_certificate("/elsewhere/cert.pem")
    elsewhere = sns.sign(
        sns.notification(receipt(raw, [inbox["address"]])),
        key=outsider_key,
        cert_path="/elsewhere/cert.pem",
    )
    foreign_topic = sns.sign(
        sns.notification(receipt(raw, [inbox["address"]]), TopicArn=TOPIC + "-other")
    )
    # A certificate inside the pattern whose key did not sign the message.
    wrong_key = sns.other_key_certificate("/SimpleNotificationService-ffff.pem")
    other_signer = sns.sign(sns.notification(receipt(raw, [inbox["address"]])), key=wrong_key)
    sns.expired_certificate("/SimpleNotificationService-eeee.pem")
    expired = sns.sign(
        sns.notification(receipt(raw, [inbox["address"]])),
        cert_path="/SimpleNotificationService-eeee.pem",
    )
    # Signed and otherwise perfect, but older than the ids kept to deduplicate, or from the future.
    replayed = sns.sign(
        sns.notification(receipt(raw, [inbox["address"]]), Timestamp=sns_now(days=-8))
    )
    future = sns.sign(sns.notification(receipt(raw, [inbox["address"]]), Timestamp=sns_now(days=1)))
    for name, body in {
        "replayed": replayed,
        "dated in the future": future,
        "tampered": tampered,
        "unsigned": unsigned,
        "certificate elsewhere": elsewhere,
        "foreign topic": foreign_topic,
        "signature of another key": other_signer,
        "expired certificate": expired,
    }.items():
        answer = await post(ses_server, body)
        assert answer.status_code == 403, (name, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
    assert "/elsewhere/cert.pem" not in sns.seen  # never fetched: the URL decides first
    assert await stored(ses_server) == 0
    async with ses_server.runtime.db.read() as conn:
        seen = await conn.execute(sa.select(sa.func.count()).select_from(sns_messages))
        assert seen.scalar_one() == 0


async def test_a_subscription_confirmation_visits_its_subscribe_url(ses_server, sns):
    subscribe = f"{sns.base}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=abc123"
    message = sns.sign(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "c0ffee",
            "Token": "abc123",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": subscribe,
            "Timestamp": sns_now(),
        },
        version="2",
    )
    answer = await post(ses_server, message)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["outcome"] == "confirmed"
    assert subscribe.removeprefix(sns.base) in sns.seen


async def test_a_notification_without_content_is_acknowledged_and_stores_nothing(ses_server, sns):
    inbox = await ses_server.create_inbox()
    notice = receipt(b"", [inbox["address"]])
    del notice["content"]
    notice["receipt"]["action"] = {"type": "S3", "bucketName": "mail"}
    answer = await post(ses_server, sns.sign(sns.notification(notice)))
    assert answer.status_code == 200
    assert answer.json()["data"]["outcome"] == "no_content"
    assert await stored(ses_server) == 0


async def test_unknown_recipients_are_acknowledged_and_nothing_is_stored(ses_server, sns):
    raw = RAW.replace(b"{to}", b"ghost@inboxkit.localhost")
    answer = await post(
        ses_server, sns.sign(sns.notification(receipt(raw, ["ghost@inboxkit.localhost"])))
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["outcome"] == "refused"
    assert await stored(ses_server) == 0


async def test_with_no_topic_configured_the_endpoint_refuses_everything(server, tmp_path):
    answer = await post(server, b'{"Type": "Notification"}')
    assert answer.status_code == 403
    assert "INBOXKIT_SNS_TOPICS" in answer.json()["error"]["message"]


async def test_a_body_that_is_not_an_sns_message_is_a_400(ses_server):
    for body in (b"not json", b"[]", b'{"Type": "Other"}'):
        answer = await post(ses_server, body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "bad_request"

"""SigV4 verification against signatures made by botocore's own signer."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from inboxkit.api.esp.sigv4 import SignatureProblem, SigV4Error, parse_signed_request

SECRET = "ik_" + "s3cr3t-" * 9 + "x"
KEY_ID = "01JDKZ3M4Q8F5W2XN7T9B6C1VE"
BODY = b'{"Content": {"Raw": {"Data": "eA=="}}}'


def first_key(secret: str) -> bytes:
    return hashlib.sha256(b"AWS4" + secret.encode()).digest()


def botocore_signed(
    url: str = "http://127.0.0.1:8025/esp/ses/v2/email/outbound-emails",
    *,
    body: bytes = BODY,
    service: str = "ses",
    headers: dict[str, str] | None = None,
) -> dict[str, object]:
    request = AWSRequest(method="POST", url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(KEY_ID, SECRET), service, "eu-west-1").add_auth(request)
    parts = urlsplit(url)
    sent = [(k.lower().encode(), str(v).encode()) for k, v in request.headers.items()]
    sent.append((b"host", parts.netloc.encode()))
    return {
        "method": "POST",
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": sent,
        "body": body,
        "service": "ses",
    }


def test_botocore_signature_verifies_with_the_stored_digest_only():
    signed = parse_signed_request(**botocore_signed())  # type: ignore[arg-type]
    assert signed.key_id == KEY_ID
    assert signed.matches(first_key(SECRET))
    assert not signed.matches(first_key(SECRET + "x"))


def test_encoded_path_dot_segments_and_query_verify():
    url = "http://localhost:9/esp/ses/v2/a%20b/./c/../d?z=1&a=%2F2&a=1&e="
    signed = parse_signed_request(**botocore_signed(url))  # type: ignore[arg-type]
    assert signed.matches(first_key(SECRET))


def test_changed_query_or_path_does_not_verify():
    request = botocore_signed("http://localhost:9/v2/email/outbound-emails?x=1")
    for change in ({"query_string": b"x=2"}, {"raw_path": b"/v2/email/other"}):
        signed = parse_signed_request(**{**request, **change})  # type: ignore[arg-type]
        assert not signed.matches(first_key(SECRET))


def test_signature_older_than_fifteen_minutes_is_expired():
    request = botocore_signed()
    later = datetime.now(UTC) + timedelta(minutes=16)
    with pytest.raises(SigV4Error) as raised:
        parse_signed_request(**request, now=later)  # type: ignore[arg-type]
    assert raised.value.problem is SignatureProblem.EXPIRED


def test_signature_for_another_service_is_refused():
    with pytest.raises(SigV4Error) as raised:
        parse_signed_request(**botocore_signed(service="s3"))  # type: ignore[arg-type]
    assert raised.value.problem is SignatureProblem.SCOPE


@pytest.mark.parametrize("declared", ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
def test_unsigned_or_streaming_payload_is_refused(declared: str):
    request = botocore_signed(headers={"X-Amz-Content-SHA256": declared})
    with pytest.raises(SigV4Error) as raised:
        parse_signed_request(**request)  # type: ignore[arg-type]
    assert raised.value.problem is SignatureProblem.PAYLOAD


def test_declared_payload_hash_of_the_body_verifies():
    request = botocore_signed(headers={"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()})
    assert parse_signed_request(**request).matches(first_key(SECRET))  # type: ignore[arg-type]


def test_host_must_be_signed():
    request = botocore_signed()
    headers = [
        (name, value.replace(b"host;", b"")) if name == b"authorization" else (name, value)
        for name, value in request["headers"]  # type: ignore[attr-defined]
    ]
    with pytest.raises(SigV4Error) as raised:
        parse_signed_request(**{**request, "headers": headers})  # type: ignore[arg-type]
    assert raised.value.problem is SignatureProblem.INCOMPLETE


@pytest.mark.parametrize(
    "authorization",
    [
        b"Bearer ik_abc",
        b"AWS4-HMAC-SHA256 Credential=x",
        b"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=zz",
        b"AWS4-HMAC-SHA256 Credential=a b/20260101/r/ses/aws4_request, SignedHeaders=host;"
        b"x-amz-date, Signature=" + b"0" * 64,
    ],
)
def test_malformed_authorization_is_incomplete(authorization: bytes):
    request = botocore_signed()
    headers = [
        (name, authorization if name == b"authorization" else value)
        for name, value in request["headers"]  # type: ignore[attr-defined]
    ]
    with pytest.raises(SigV4Error) as raised:
        parse_signed_request(**{**request, "headers": headers})  # type: ignore[arg-type]
    assert raised.value.problem is SignatureProblem.INCOMPLETE


def test_no_authorization_is_missing():
    request = botocore_signed()
    headers = [(n, v) for n, v in request["headers"] if n != b"authorization"]  # type: ignore[attr-defined]
    with pytest.raises(SigV4Error) as raised:
        parse_signed_request(**{**request, "headers": headers})  # type: ignore[arg-type]
    assert raised.value.problem is SignatureProblem.MISSING

"""A stand-in for Amazon SNS in tests: an HTTPS server (its own CA) serving a signing
certificate and answering SubscribeURL visits, and a signer that signs messages as SNS does."""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.certificates import self_signed

__all__ = ["SnsStandIn", "TOPIC", "sns_now"]

TOPIC = "arn:aws:sns:eu-west-1:123456789012:inbound-mail"
CERT_PATH = "/SimpleNotificationService-0123456789abcdef.pem"

# What SNS signs, field by field, in this order (AWS: "Verifying the signatures of Amazon
# SNS messages"); a field the message lacks is left out.
SIGNED = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
}


def sns_now(*, days: float = 0) -> str:
    """A Timestamp as SNS writes it (UTC, milliseconds, `Z`), `days` from now."""
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _signing_certificate(key: rsa.RSAPrivateKey, *, days: int = 2, start: int = -1) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test.invalid")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=start))
        .not_valid_after(now + datetime.timedelta(days=start + days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


class SnsStandIn:
    """Serves `CERT_PATH` (and any other .pem path set in `files`) over HTTPS on 127.0.0.1,
    records every request path, and signs messages with the certificate's key."""

    def __init__(self, directory: Path):
        self.tls_cert, self.tls_key = self_signed(directory, "127.0.0.1", stem="sns")
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.files: dict[str, bytes] = {CERT_PATH: _signing_certificate(self.key)}
        self.seen: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                stand_in.seen.append(self.path)
                if self.path.startswith("/?Action=ConfirmSubscription"):
                    body, kind = b"<ConfirmSubscriptionResponse/>", "text/xml"
                elif self.path in stand_in.files:
                    body, kind = stand_in.files[self.path], "application/x-pem-file"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls_cert, self.tls_key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SnsStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, Any]:
        """Settings under which the service trusts this stand-in as SNS."""
        host = rf"^https://127\.0\.0\.1:{self.port}"
        return {
            "sns_topics": [TOPIC],
            "sns_cert_url_pattern": host + r"/SimpleNotificationService-[0-9a-f]+\.pem$",
            "sns_subscribe_url_pattern": host + r"/\?Action=ConfirmSubscription&[^#\s]+$",
            "webhook_ca_bundle": self.tls_cert,
            "webhook_allow_private": True,  # the stand-in listens on 127.0.0.1
        }

    def sign(
        self,
        message: dict[str, str],
        *,
        version: str = "1",
        key: rsa.RSAPrivateKey | None = None,
        cert_path: str = CERT_PATH,
    ) -> dict[str, str]:
        """`message` with SignatureVersion, SigningCertURL and Signature as SNS adds them."""
        text = "".join(
            f"{name}\n{message[name]}\n" for name in SIGNED[message["Type"]] if name in message
        )
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(text.encode(), padding.PKCS1v15(), algorithm)
        return {
            **message,
            "SignatureVersion": version,
            "SigningCertURL": self.base + cert_path,
            "Signature": base64.b64encode(signature).decode(),
        }

    def notification(
        self, receipt_message: dict[str, Any], *, message_id: str | None = None, **extra: str
    ) -> dict[str, str]:
        return {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": TOPIC,
            "Subject": "Amazon SES Email Receipt Notification",
            "Message": json.dumps(receipt_message),
            "Timestamp": sns_now(),
            "UnsubscribeURL": self.base + "/?Action=Unsubscribe",
            **extra,
        }

    def other_key_certificate(self, path: str) -> rsa.RSAPrivateKey:
        """Serve a certificate of a new key at `path`; returns the key."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.files[path] = _signing_certificate(key)
        return key

    def expired_certificate(self, path: str) -> None:
        """Serve a certificate of the signing key at `path` that expired yesterday."""
        self.files[path] = _signing_certificate(self.key, days=1, start=-2)

"""Amazon SNS messages: parsing, and verifying their signature as SNS signs them.

SNS signs the "canonical string" of a message, each of a fixed list of fields written as
`Name\\nValue\\n` in this order (a field left out when the message has none, as `Subject` may):

- `Notification`: Message, MessageId, Subject, Timestamp, TopicArn, Type
- `SubscriptionConfirmation`, `UnsubscribeConfirmation`: Message, MessageId, SubscribeURL,
  Timestamp, Token, TopicArn, Type

with RSA PKCS#1 v1.5 over SHA-1 (`SignatureVersion` "1") or SHA-256 ("2"); `Signature` is
base64. The public key is in the X.509 certificate at `SigningCertURL`. That URL is the trust
anchor, so it must match INBOXKIT_SNS_CERT_URL_PATTERN whole before anything is fetched, and it
is fetched through the egress guard (`services/egress.py`) over verified HTTPS. Certificates
are kept by URL for INBOXKIT_SNS_CERT_CACHE_SECONDS (a few, LRU), so a stream of notifications
costs one fetch; each use checks that the certificate is within its validity period.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from inboxkit.config import Settings
from inboxkit.errors import BadRequest, Forbidden, Unavailable
from inboxkit.services.egress import Resolver, UnsafeDestination, system_resolver, vet

__all__ = ["SnsMessage", "SnsVerifier", "canonical_string", "parse_message"]

log = logging.getLogger(__name__)

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
TYPES = {
    "Notification": NOTIFICATION_FIELDS,
    "SubscriptionConfirmation": CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": CONFIRMATION_FIELDS,
}
HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
# SNS bodies are at most 256 KiB of message plus the envelope's few fields.
MAX_BODY_BYTES = 512 * 1024
MAX_CERT_BYTES = 64 * 1024
MAX_FIELD_CHARS = 2048  # every field but Message
CERT_CACHE_SIZE = 16
FETCH_TIMEOUT = 10.0

UNSIGNED = "The request carries no valid SNS signature; only Amazon SNS may post here."


@dataclass(frozen=True, slots=True)
class SnsMessage:
    """An SNS message's fields as posted (strings only)."""

    type: str
    fields: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.fields[name]

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


def parse_message(body: bytes) -> SnsMessage:
    """The SNS message in a request body (JSON, whatever its Content-Type says), or BadRequest
    for one that is not; Forbidden for a message without the signature fields."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"SNS messages are at most {MAX_BODY_BYTES} bytes.")
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not an SNS message (JSON expected).") from None
    if not isinstance(decoded, dict):
        raise BadRequest("The body is not an SNS message (a JSON object expected).")
    kind = decoded.get("Type")
    if not isinstance(kind, str) or kind not in TYPES:
        raise BadRequest(f"Unknown SNS message Type; expected one of {', '.join(TYPES)}.")
    fields: dict[str, str] = {}
    wanted = (*TYPES[kind], "Signature", "SignatureVersion", "SigningCertURL")
    for name in wanted:
        value = decoded.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadRequest(f"SNS field {name} must be a string.")
        if name != "Message" and len(value) > MAX_FIELD_CHARS:
            raise BadRequest(f"SNS field {name} is longer than {MAX_FIELD_CHARS} characters.")
        fields[name] = value
    required = [n for n in TYPES[kind] if n != "Subject" and n not in fields]
    if required:
        raise BadRequest(f"The SNS message lacks {', '.join(required)}.")
    if not all(fields.get(n) for n in ("Signature", "SignatureVersion", "SigningCertURL")):
        raise Forbidden(UNSIGNED)
    return SnsMessage(kind, fields)


def canonical_string(message: SnsMessage) -> bytes:
    """What SNS signed for `message` (see the module doc)."""
    parts = []
    for name in TYPES[message.type]:
        value = message.get(name)
        if value is not None:
            parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


@dataclass(frozen=True, slots=True)
class _Certificate:
    key: rsa.RSAPublicKey
    not_before: datetime
    not_after: datetime
    fetched: float  # monotonic


class SnsVerifier:
    """Checks SNS signatures with certificates fetched through the egress guard, and fetches
    the URLs SNS asks a subscriber to visit (`SubscribeURL`)."""

    def __init__(self, settings: Settings, resolver: Resolver = system_resolver):
        self.settings = settings
        self.resolver = resolver
        self._cert_url = re.compile(settings.sns_cert_url_pattern)
        self._subscribe_url = re.compile(settings.sns_subscribe_url_pattern)
        self._certs: OrderedDict[str, _Certificate] = OrderedDict()
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            verify: ssl.SSLContext | bool = True
            if self.settings.webhook_ca_bundle is not None:
                verify = ssl.create_default_context(cafile=str(self.settings.webhook_ca_bundle))
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(FETCH_TIMEOUT),
                verify=verify,
                follow_redirects=False,
                trust_env=False,  # a proxy from the environment would bypass the address check
                # Each connection was verified for one host name: never reused for another.
                limits=httpx.Limits(max_keepalive_connections=0),
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, url: str, max_bytes: int) -> tuple[int, bytes]:
        """GET `url` through the egress guard (the checked address, the name in Host and SNI);
        its status and at most `max_bytes` of its body. Raises OSError-like httpx errors,
        UnsafeDestination or ValueError for a body over `max_bytes`."""
        dest = await vet(
            url,
            allow_private=self.settings.webhook_allow_private,
            allowed_ports=frozenset(self.settings.webhook_allowed_ports),
            resolver=self.resolver,
        )
        if dest.scheme != "https":
            raise UnsafeDestination("SNS URLs are fetched over HTTPS only.")
        extensions: dict[str, Any] = {}
        if dest.sni_hostname:
            extensions["sni_hostname"] = dest.sni_hostname
        body = bytearray()
        async with self._http().stream(
            "GET",
            dest.connect_url,
            headers={"host": dest.host_header},
            extensions=extensions,
        ) as response:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ValueError(f"more than {max_bytes} bytes")
            return response.status_code, bytes(body)

    async def _certificate(self, url: str) -> _Certificate:
        now = time.monotonic()
        cached = self._certs.get(url)
        if cached is not None and now - cached.fetched < self.settings.sns_cert_cache_seconds:
            self._certs.move_to_end(url)
            return cached
        try:
            status, pem = await self.fetch(url, MAX_CERT_BYTES)
        except UnsafeDestination as exc:
            log.warning("SNS signing certificate %s refused by the egress rules: %s", url, exc)
            raise Forbidden(UNSIGNED) from None
        except (httpx.HTTPError, OSError, ValueError) as exc:
            log.warning("SNS signing certificate %s could not be fetched: %s", url, exc)
            raise Unavailable(
                "The SNS signing certificate could not be fetched; try again later."
            ) from None
        if status != 200:
            log.warning("SNS signing certificate %s answered HTTP %s", url, status)
            raise Unavailable("The SNS signing certificate could not be fetched; try again later.")
        try:
            cert = x509.load_pem_x509_certificate(pem)
            key = cert.public_key()
        except ValueError:
            log.warning("SNS signing certificate %s is not a PEM certificate", url)
            raise Forbidden(UNSIGNED) from None
        if not isinstance(key, rsa.RSAPublicKey):
            log.warning("SNS signing certificate %s has no RSA key", url)
            raise Forbidden(UNSIGNED)
        entry = _Certificate(key, cert.not_valid_before_utc, cert.not_valid_after_utc, now)
        self._certs[url] = entry
        self._certs.move_to_end(url)
        while len(self._certs) > CERT_CACHE_SIZE:
            self._certs.popitem(last=False)
        return entry

    async def verify(self, message: SnsMessage) -> None:
        """Forbidden unless `message` is signed by the certificate its SigningCertURL names,
        that URL matches the pattern, and the certificate is valid now."""
        algorithm = HASHES.get(message["SignatureVersion"])
        if algorithm is None:
            raise Forbidden(f"{UNSIGNED} (SignatureVersion must be 1 or 2.)")
        url = message["SigningCertURL"]
        if self._cert_url.fullmatch(url) is None:
            log.warning("SNS message with a SigningCertURL outside the pattern: %.200s", url)
            raise Forbidden(UNSIGNED)
        try:
            signature = base64.b64decode(message["Signature"], validate=True)
        except (binascii.Error, ValueError):
            raise Forbidden(UNSIGNED) from None
        cert = await self._certificate(url)
        now = datetime.now(UTC)
        if not cert.not_before <= now <= cert.not_after:
            log.warning("SNS signing certificate %s is outside its validity period", url)
            raise Forbidden(UNSIGNED)
        try:
            cert.key.verify(signature, canonical_string(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise Forbidden(UNSIGNED) from None

    async def confirm(self, subscribe_url: str) -> None:
        """Visit a SubscriptionConfirmation's SubscribeURL (it must match the pattern);
        Unavailable when it cannot be reached, so SNS sends the confirmation again."""
        if self._subscribe_url.fullmatch(subscribe_url) is None:
            log.warning("SNS SubscribeURL outside the pattern: %.200s", subscribe_url)
            raise Forbidden(
                "The SubscribeURL is not one this server visits "
                "(INBOXKIT_SNS_SUBSCRIBE_URL_PATTERN)."
            )
        try:
            status, _body = await self.fetch(subscribe_url, MAX_CERT_BYTES)
        except (UnsafeDestination, httpx.HTTPError, OSError, ValueError) as exc:
            log.warning("SNS subscription could not be confirmed: %s", exc)
            raise Unavailable("The subscription could not be confirmed; try again later.") from None
        if not 200 <= status < 300:
            log.warning("SNS subscription confirmation answered HTTP %s", status)
            raise Unavailable("The subscription could not be confirmed; try again later.")

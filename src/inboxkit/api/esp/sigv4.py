"""Verifying AWS Signature Version 4 on a request, as an AWS service does (pure, no I/O).

Why by hand: botocore's `SigV4Auth` signs outgoing requests; it has no verifier, and its
canonicalisation works on its own `AWSRequest` objects, not on what a server received. The one
Python package that verifies on the server side, `awssig`, has had no release since 2019 and
looks secrets up in a mapping of the secret keys themselves, which this server does not keep:
it keeps SHA-256("AWS4" + secret) (see `services/auth.py`). The algorithm is short and fully
specified (AWS "Create a signed AWS API request"), so it is written here, with every decision
that matters for security explicit:

- the payload hash is always computed from the body received: an `x-amz-content-sha256`
  header must equal it, so `UNSIGNED-PAYLOAD` and a signature made for another body never pass;
- `host` and `x-amz-date` must be among the signed headers (a signature then binds the
  server it was made for and the time), and the time must be within 15 minutes of ours;
- the credential scope's date must be the request date's, its service `ses` (any region), its
  terminator `aws4_request`;
- the signature is compared in constant time.

How the stored key stands in for the secret: kDate = HMAC("AWS4" + secret, date). HMAC first
hashes a key longer than its 64-byte block, and an inboxkit key is longer than that, so
HMAC("AWS4" + secret, m) == HMAC(SHA-256("AWS4" + secret), m) for every m.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import quote, unquote

__all__ = ["SignatureProblem", "SigV4Error", "SignedRequest", "parse_signed_request"]

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
MAX_AUTHORIZATION_CHARS = 4096
MAX_SIGNED_HEADERS = 50
_DATE_TIME = re.compile(r"^\d{8}T\d{6}Z$")
_KEY_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_REGION = re.compile(r"^[a-z0-9-]{1,64}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
_HEADER_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$")
_SPACES = re.compile(r"\s+")


class SignatureProblem(StrEnum):
    """Why a request's signature was not checked or did not hold; each is an AWS error type."""

    MISSING = "missing"  # no Authorization header at all
    INCOMPLETE = "incomplete"  # an Authorization header that is not a SigV4 one
    EXPIRED = "expired"  # x-amz-date too far from now
    SCOPE = "scope"  # signed for another service, or a scope that does not fit the date
    PAYLOAD = "payload"  # x-amz-content-sha256 is not the body's hash
    TOKEN = "token"  # a session token: this server issues none


class SigV4Error(Exception):
    """The request cannot be verified; `problem` says why, the text says what to do."""

    def __init__(self, problem: SignatureProblem, message: str):
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose SigV4 fields are well formed; `matches` checks the signature itself."""

    key_id: str
    scope: str  # yyyymmdd/region/service/aws4_request
    string_to_sign: str
    signature: str

    def matches(self, first_hmac_key: bytes) -> bool:
        """True when the signature is the one the key (whose first HMAC key of the signing-key
        derivation is `first_hmac_key`) makes for this request."""
        date, region, service, terminator = self.scope.split("/")
        key = first_hmac_key
        for part in (date, region, service, terminator):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, self.string_to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)


def parse_signed_request(
    *,
    method: str,
    raw_path: bytes,
    query_string: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    service: str,
    now: datetime | None = None,
) -> SignedRequest:
    """The request's credential and the string its signature must sign. Raises SigV4Error
    when it is unsigned, not signed in the SigV4 header form, signed for another service,
    too old or too new, or its declared payload hash is not its body's."""
    by_name: dict[str, list[str]] = {}
    for raw_name, raw_value in headers:
        by_name.setdefault(raw_name.decode("latin-1").lower(), []).append(
            raw_value.decode("latin-1")
        )
    authorization = by_name.get("authorization", [])
    if not authorization:
        raise SigV4Error(SignatureProblem.MISSING, "Missing Authentication Token")
    key_id, scope, signed_headers, signature = _authorization(authorization)
    if "x-amz-security-token" in by_name:
        raise SigV4Error(
            SignatureProblem.TOKEN,
            "The security token included in the request is invalid: sign with an inboxkit API "
            "key's id and the key itself, without a session token.",
        )

    dates = by_name.get("x-amz-date", [])
    if len(dates) != 1 or not _DATE_TIME.match(dates[0]):
        raise SigV4Error(
            SignatureProblem.INCOMPLETE,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            "header in the yyyyMMdd'T'HHmmss'Z' form.",
        )
    amz_date = dates[0]
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SigV4Error(SignatureProblem.INCOMPLETE, "X-Amz-Date is not a valid time.") from None
    current = now or datetime.now(UTC)
    if abs(current - signed_at) > MAX_SKEW:
        raise SigV4Error(
            SignatureProblem.EXPIRED,
            f"Signature expired: {amz_date} is not within 15 minutes of "
            f"{current.strftime('%Y%m%dT%H%M%SZ')}; check the client's clock.",
        )
    scope_date, region, scope_service, terminator = scope
    if scope_date != amz_date[:8] or terminator != "aws4_request" or not _REGION.match(region):
        raise SigV4Error(
            SignatureProblem.SCOPE,
            f"Credential should be scoped to a valid region and to the date {amz_date[:8]}, "
            "ending in aws4_request.",
        )
    if scope_service != service:
        raise SigV4Error(
            SignatureProblem.SCOPE,
            f"Credential should be scoped to correct service: '{service}'.",
        )
    for required in ("host", "x-amz-date"):
        if required not in signed_headers:
            raise SigV4Error(
                SignatureProblem.INCOMPLETE,
                f"The '{required}' header must be among the SignedHeaders.",
            )

    payload_hash = hashlib.sha256(body).hexdigest()
    declared = by_name.get("x-amz-content-sha256")
    if declared is not None and declared != [payload_hash]:
        raise SigV4Error(
            SignatureProblem.PAYLOAD,
            "The provided 'x-amz-content-sha256' header does not match what was computed; "
            "sign the body itself (unsigned and streaming payloads are not accepted).",
        )

    canonical_headers = []
    for name in signed_headers:
        values = by_name.get(name)
        if values is None:
            raise SigV4Error(
                SignatureProblem.INCOMPLETE, f"The signed header '{name}' is not in the request."
            )
        joined = ",".join(_SPACES.sub(" ", value.strip()) for value in values)
        canonical_headers.append(f"{name}:{joined}\n")
    canonical_request = "\n".join(
        [
            method.upper(),
            _canonical_path(raw_path),
            _canonical_query(query_string),
            "".join(canonical_headers),
            ";".join(signed_headers),
            payload_hash,
        ]
    )
    credential_scope = "/".join(scope)
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            amz_date,
            credential_scope,
            hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest(),
        ]
    )
    return SignedRequest(key_id, credential_scope, string_to_sign, signature)


def _authorization(values: list[str]) -> tuple[str, list[str], list[str], str]:
    """(access key id, scope parts, signed header names, signature) from
    `AWS4-HMAC-SHA256 Credential=…/date/region/service/aws4_request, SignedHeaders=a;b,
    Signature=hex`."""
    incomplete = SigV4Error(
        SignatureProblem.INCOMPLETE,
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
        "parameters of an AWS4-HMAC-SHA256 signature.",
    )
    if len(values) != 1 or len(values[0]) > MAX_AUTHORIZATION_CHARS:
        raise incomplete
    algorithm, _, rest = values[0].strip().partition(" ")
    if algorithm != ALGORITHM:
        raise incomplete
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, value = part.strip().partition("=")
        if not equals or name in fields:
            raise incomplete
        fields[name] = value.strip()
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise incomplete
    credential = fields["Credential"].split("/")
    if len(credential) != 5 or not _KEY_ID.match(credential[0]):
        raise incomplete
    signed = fields["SignedHeaders"].split(";")
    if (
        len(signed) > MAX_SIGNED_HEADERS
        or signed != sorted(set(signed))
        or not all(_HEADER_NAME.match(name) for name in signed)
    ):
        raise incomplete
    if not _SIGNATURE.match(fields["Signature"]):
        raise incomplete
    return credential[0], credential[1:], signed, fields["Signature"]


def _canonical_path(raw_path: bytes) -> str:
    """The path as AWS signs it for services other than S3: empty and `.` segments dropped,
    `..` applied (RFC 3986 §5.2.4; AWS drops repeated slashes too), then every character but
    unreserved ones and '/' percent-encoded once more (the client signed the path it sent,
    which was already encoded once)."""
    path = raw_path.decode("latin-1")
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    normalised = "/" + "/".join(kept)
    if path.endswith("/") and kept:
        normalised += "/"
    return quote(normalised, safe="/~")


def _canonical_query(query_string: bytes) -> str:
    """Name=value pairs, each URI-encoded (RFC 3986 unreserved characters kept), sorted."""
    if not query_string:
        return ""
    pairs = []
    for part in query_string.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))

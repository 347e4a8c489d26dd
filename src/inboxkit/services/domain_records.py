"""What a custom domain must publish (DESIGN §10): its name rules, its DKIM keys, the records
its owner adds to DNS, and the same records as a BIND zone fragment. Pure functions: the
service (`services/domains.py`) stores and checks, this module only computes.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypedDict

import idna
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from publicsuffixlist import PublicSuffixList

from inboxkit.errors import ValidationFailed

__all__ = [
    "DOMAIN_PATTERN",
    "DOMAIN_SHAPE",
    "DkimKey",
    "DnsRecord",
    "MAX_DOMAIN_LENGTH",
    "VERIFY_PREFIX",
    "DMARC_VALUE",
    "SPF_VALUE",
    "new_dkim_key",
    "new_selector",
    "normalise_domain",
    "records",
    "verification_name",
    "zone_file",
]

MAX_DOMAIN_LENGTH = 253  # RFC 1035 §2.3.4: 255 octets on the wire, 253 characters written
VERIFY_PREFIX = "inboxkit-verify="
# SPF: the hosts the domain's MX names may send for it (this server, INBOXKIT_MX_HOST). An
# owner sending through a relay adds the relay's own mechanism (docs/domains.md).
SPF_VALUE = "v=spf1 mx ~all"
# DMARC at `p=none` to begin with: reports and nothing refused while the owner checks that
# every sender of the domain signs; they tighten it to quarantine or reject themselves.
DMARC_VALUE = "v=DMARC1; p=none; adkim=r; aspf=r"
TTL = 3600
# A domain name as written (RFC 1035 §2.3.1 labels, RFC 1123 allowing a leading digit): two or
# more labels of letters, digits and inner hyphens, the last starting with a letter (so never
# an IPv4 address), an optional final dot. Internationalised names in their A-label form
# (`xn--…`). The REST schema publishes this pattern; the service checks it too.
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP = "[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN_PATTERN = f"^(?:{_LABEL}\\.)+{_TOP}\\.?$"
_DOMAIN = re.compile(DOMAIN_PATTERN)
DOMAIN_SHAPE = (
    "domain must be a domain name such as example.com or mail.example.co.uk: labels of "
    "letters, digits and hyphens (not first or last) separated by dots, the last starting with "
    "a letter; an internationalised name in its xn-- form."
)
# RSA-2048 rather than Ed25519 (RFC 8463): every DKIM verifier checks RSA, while many large
# receivers still ignore Ed25519 signatures, so an Ed25519-only domain would look unsigned.
DKIM_KEY_BITS = 2048


class DnsRecord(TypedDict, total=False):
    """One record to publish: `type`, `name`, `value`, `priority` (MX only), `purpose`."""

    type: str
    name: str
    value: str
    priority: int
    purpose: str


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A DKIM key pair: the selector it is published under, the private key (PEM) and the TXT
    value of its public half (`v=DKIM1; k=rsa; p=…`)."""

    selector: str
    private_pem: str
    public_record: str


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list ships with the package; nothing is fetched


def normalise_domain(text: str, served: list[str]) -> str:
    """The domain as stored and compared: lower-case ASCII, no final dot; a name given in
    Unicode is converted to its A-labels (IDNA 2008 with UTS #46 mapping). Raises
    ValidationFailed, saying what is wrong, for anything that cannot be a custom domain: an
    address, a single label, a public suffix alone, or this server's own."""
    name = text.strip()
    if not name or len(name) > MAX_DOMAIN_LENGTH + 1:
        raise ValidationFailed(
            f"domain must be a domain name of 1 to {MAX_DOMAIN_LENGTH} characters."
        )
    if name.startswith("*."):
        raise ValidationFailed(
            'domain is the name itself (example.com); ask for its subdomains with "wildcard": true.'
        )
    if name.isascii():
        if not _DOMAIN.fullmatch(name):
            raise ValidationFailed(DOMAIN_SHAPE)
        ascii_name = name.rstrip(".").lower()
    else:
        try:
            ascii_name = idna.encode(name.rstrip("."), uts46=True).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError) as exc:
            raise ValidationFailed(
                f"domain is not a valid internationalised name ({exc})."
            ) from None
        if not _DOMAIN.fullmatch(ascii_name):
            raise ValidationFailed(DOMAIN_SHAPE)
    if len(ascii_name) > MAX_DOMAIN_LENGTH:
        raise ValidationFailed(f"domain must be at most {MAX_DOMAIN_LENGTH} characters.")
    for own in served:
        if ascii_name == own or ascii_name.endswith("." + own):
            raise ValidationFailed(
                f"{ascii_name} is one of this server's own domains; add a domain you control."
            )
    if _suffixes().is_public(ascii_name):
        raise ValidationFailed(
            f"{ascii_name} is a public suffix, under which anybody may register names; add the "
            "domain you registered (such as example.co.uk), not the suffix."
        )
    return ascii_name


def verification_name(domain: str) -> str:
    return f"_inboxkit.{domain}"


def new_selector(now: datetime) -> str:
    """A selector that says when the key was made and never repeats: `ik20261204a1b2c3`."""
    return f"ik{now:%Y%m%d}{secrets.token_hex(3)}"


def new_dkim_key(now: datetime) -> DkimKey:
    """A fresh RSA key pair (CPU-bound for a few tens of milliseconds: call it in a thread)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=DKIM_KEY_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode('ascii')}"
    return DkimKey(new_selector(now), private, record)


def records(
    *,
    domain_id: str,
    domain: str,
    wildcard: bool,
    token: str,
    mx_host: str,
    selector: str,
    dkim_public: str,
    retired: list[dict[str, Any]],
) -> list[DnsRecord]:
    """Every record the owner publishes, in the order a person adds them."""
    found: list[DnsRecord] = [
        {
            "type": "MX",
            "name": domain,
            "value": mx_host,
            "priority": 10,
            "purpose": f"Delivers mail for {domain} to this server.",
        }
    ]
    if wildcard:
        found.append(
            {
                "type": "MX",
                "name": f"*.{domain}",
                "value": mx_host,
                "priority": 10,
                "purpose": f"Delivers mail for every subdomain of {domain} to this server.",
            }
        )
    found += [
        {
            "type": "TXT",
            "name": verification_name(domain),
            "value": VERIFY_PREFIX + token,
            "purpose": "Proves that this account controls the domain; keep it published.",
        },
        {
            "type": "TXT",
            "name": domain,
            "value": SPF_VALUE,
            "purpose": "SPF: the hosts named by the domain's MX may send its mail.",
        },
        {
            "type": "TXT",
            "name": f"{selector}._domainkey.{domain}",
            "value": dkim_public,
            "purpose": "DKIM: the public key that verifies mail sent from this domain.",
        },
    ]
    for old in retired:
        found.append(
            {
                "type": "TXT",
                "name": f"{old['selector']}._domainkey.{domain}",
                "value": old["value"],
                "purpose": "DKIM, retired key: mail signed before the rotation still verifies "
                "with it. Remove it from DNS once that mail has been delivered, then "
                f"DELETE /api/v1/domains/{domain_id}/dkim/retired/{old['selector']}.",
            }
        )
    found.append(
        {
            "type": "TXT",
            "name": f"_dmarc.{domain}",
            "value": DMARC_VALUE,
            "purpose": "DMARC: how receivers treat mail that fails SPF and DKIM (p=none: report "
            "only; tighten it once every sender signs).",
        }
    )
    return found


def _quoted(text: str) -> str:
    """A TXT value as BIND writes it: quoted strings of at most 255 characters (RFC 1035
    §3.3.14 limits one string to 255 octets; a DKIM key is longer, so it is split)."""
    chunks = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks)


def zone_file(domain: str, found: list[DnsRecord]) -> str:
    """The records as a BIND zone fragment with absolute names. It has no SOA or NS: those
    belong to whoever hosts the zone, so it is pasted into an existing zone or imported."""
    lines = [
        f"; Records for {domain} to publish at its DNS host (no SOA or NS: keep the host's own).",
        f"$ORIGIN {domain}.",
        f"$TTL {TTL}",
    ]
    for record in found:
        owner = f"{record['name']}."
        if record["type"] == "MX":
            rdata = f"{record.get('priority', 10)} {record['value']}."
        else:
            rdata = _quoted(record["value"])
        lines.append(f"; {record['purpose']}")
        lines.append(f"{owner} {TTL} IN {record['type']} {rdata}")
    return "\n".join(lines) + "\n"

"""The results of sender authentication, as stored and shown, and their
`Authentication-Results` rendering (RFC 8601)."""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict

__all__ = [
    "AuthResult",
    "Authentication",
    "DkimResult",
    "DmarcResult",
    "SpfResult",
    "authentication_results",
]


class AuthResult(StrEnum):
    """RFC 8601 §2.7 result words shared by SPF, DKIM and DMARC."""

    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


class SpfResult(TypedDict):
    """SPF on the envelope sender's domain (or the HELO name for an empty reverse-path)."""

    result: str
    domain: str | None


class DkimResult(TypedDict):
    """One DKIM signature: its result, signing domain (`d=`) and selector (`s=`)."""

    result: str
    domain: str | None
    selector: str | None


class DmarcResult(TypedDict):
    """DMARC for the From header's domain: the result and the policy its owner publishes
    (`none`, `quarantine`, `reject`; null when no record was found)."""

    result: str
    policy: str | None
    domain: str | None


class Authentication(TypedDict):
    """The full message's `authentication` field."""

    spf: SpfResult
    dkim: list[DkimResult]
    dmarc: DmarcResult


def _value(text: str) -> str:
    """A property value safe inside the header: RFC 8601 values are tokens or quoted strings,
    so anything outside a plain domain-ish alphabet is quoted (and quotes dropped)."""
    if text and all(ch.isalnum() or ch in ".-_@+" for ch in text):
        return text
    return '"' + text.replace('"', "").replace("\\", "") + '"'


def authentication_results(authserv_id: str, auth: Authentication, mail_from: str) -> str:
    """The `Authentication-Results` header value (without the field name) this server would
    add for `auth`: `authserv-id; spf=…; dkim=…; dmarc=…` (RFC 8601 §2.2)."""
    parts = [authserv_id]
    spf = auth["spf"]
    if spf["domain"]:
        # smtp.mailfrom names the identity SPF checked; for an empty reverse-path that is
        # the HELO name (RFC 7208 §2.3), shown as smtp.helo.
        prop = f"smtp.mailfrom={_value(mail_from)}" if mail_from else "smtp.helo="
        if not mail_from:
            prop += _value(spf["domain"])
        parts.append(f"spf={spf['result']} {prop}")
    else:
        parts.append(f"spf={spf['result']}")
    if not auth["dkim"]:
        parts.append("dkim=none")
    for signature in auth["dkim"]:
        props = []
        if signature["domain"]:
            props.append(f"header.d={_value(signature['domain'])}")
        if signature["selector"]:
            props.append(f"header.s={_value(signature['selector'])}")
        parts.append(" ".join([f"dkim={signature['result']}", *props]))
    dmarc = auth["dmarc"]
    entry = f"dmarc={dmarc['result']}"
    if dmarc["policy"]:
        entry += f" policy.dmarc={dmarc['policy']}"
    if dmarc["domain"]:
        entry += f" header.from={_value(dmarc['domain'])}"
    parts.append(entry)
    return "; ".join(parts)

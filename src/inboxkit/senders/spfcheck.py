"""SPF (RFC 7208) with pyspf, on the configured resolver, within the message's DNS budget.

Why pyspf: it implements all of `check_host()` (macros, include/redirect, the ten-lookup and
two-void-lookup limits, a/mx/ptr/exists, IPv6), is maintained (Debian's and the milters'
evaluator, fixes landing in 2025) and has no dependencies beyond dnspython. checkdmarc, the
other candidate, audits a domain's published records rather than evaluating a client address
against them, and pulls in requests, pyOpenSSL and more. No maintained evaluator runs on an
asyncio resolver, so pyspf runs in a small thread pool: its lookups use a synchronous
dnspython resolver whose lifetime is what remains of the budget, and pyspf's own `querytime`
caps the whole evaluation too, so a thread never outlives the budget by more than one
lookup's remainder.

pyspf resolves through its module-level `DNSLookup`; it is replaced once, by a function that
uses the resolver and budget of the evaluation running in the current thread (a context
variable), so servers with different resolvers can share a process.
"""

from __future__ import annotations

import contextvars
import ipaddress
import warnings
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.resolver

with warnings.catch_warnings():
    # pyspf's source has regex strings with invalid escapes, which Python warns about when it
    # compiles the module (only when no bytecode was cached at install): harmless, and not ours.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    import spf

from inboxkit.senders.dns import Budget, Resolvers
from inboxkit.senders.results import AuthResult, SpfResult

__all__ = ["check_spf", "spf_identity"]

_Lookup = Callable[[str, str, float], list[tuple[tuple[str, str], Any]]]
_active: contextvars.ContextVar[_Lookup | None] = contextvars.ContextVar(
    "inboxkit_spf_lookup", default=None
)
_original = spf.DNSLookup


def _dispatch(name: str, qtype: str, strict: Any = True, timeout: float = 30) -> Any:
    lookup = _active.get()
    if lookup is None:
        return _original(name, qtype, strict, timeout)
    return lookup(name, qtype, timeout)


spf.DNSLookup = _dispatch


def _lookup_with(resolvers: Resolvers, budget: Budget) -> _Lookup:
    """pyspf's lookup contract: `[((name, type), data), …]`, [] for no data, TempError when
    the answer cannot be had (the shapes are those of pyspf's own dnspython lookup)."""

    def lookup(name: str, qtype: str, timeout: float) -> list[tuple[tuple[str, str], Any]]:
        qtype = qtype.upper()
        lifetime = min(timeout, budget.remaining())
        if lifetime <= 0:
            raise spf.TempError("DNS budget spent")
        try:
            answer = resolvers.sync.resolve(name, qtype, lifetime=lifetime, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise spf.TempError(f"DNS {exc}") from exc
        found: list[tuple[tuple[str, str], Any]] = []
        for rdata in answer:
            if qtype in ("A", "AAAA"):
                found.append(((name, qtype), rdata.address))
            elif qtype == "MX":
                found.append(((name, qtype), (rdata.preference, rdata.exchange)))
            elif qtype == "PTR":
                found.append(((name, qtype), rdata.target.to_text(True)))
            elif qtype in ("TXT", "SPF"):
                found.append(((name, qtype), rdata.strings))
        return found

    return lookup


def spf_identity(mail_from: str, helo: str | None) -> tuple[str, str] | None:
    """The sender SPF checks and its domain: MAIL FROM, or `postmaster@<HELO>` when the
    reverse-path is empty (RFC 7208 §2.4); None when neither names a domain."""
    if mail_from and "@" in mail_from:
        domain = mail_from.rpartition("@")[2].strip().rstrip(".").lower()
        return (mail_from, domain) if domain else None
    name = (helo or "").strip().rstrip(".").lower()
    if not name or name.startswith("["):
        return None  # an address literal names no domain to check
    return f"postmaster@{name}", name


def check_spf(
    resolvers: Resolvers, budget: Budget, client: str, mail_from: str, helo: str | None
) -> SpfResult:
    """The SPF result for `client` sending as `mail_from` (blocking: run it in a thread)."""
    identity = spf_identity(mail_from, helo)
    if identity is None:
        return {"result": AuthResult.NONE.value, "domain": None}
    sender, domain = identity
    try:
        ipaddress.ip_address(client)
    except ValueError:
        return {"result": AuthResult.NONE.value, "domain": domain}
    remaining = budget.remaining()
    if remaining <= 0:
        return {"result": AuthResult.TEMPERROR.value, "domain": domain}
    token = _active.set(_lookup_with(resolvers, budget))
    try:
        result, _explanation = spf.check2(i=client, s=sender, h=helo or domain, querytime=remaining)
    except Exception:
        # pyspf reports problems as results; anything it raises is a record it could not
        # handle, which RFC 7208 calls a permanent error.
        result = AuthResult.PERMERROR.value
    finally:
        _active.reset(token)
    known = {item.value for item in AuthResult}
    return {"result": result if result in known else AuthResult.PERMERROR.value, "domain": domain}

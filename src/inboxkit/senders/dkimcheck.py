"""DKIM (RFC 6376) with dkimpy, each key fetched through the message's DNS budget.

dkimpy's own asyncio module needs aiodns (and its C library) for its default lookup; we
already resolve with dnspython, so this drives the same public steps that module does:
`verify_headerprep` (parse and check the signature), the key from our asynchronous resolver
(`evaluate_pk`), then `verify_sig_process` (hashing and the signature check). That last step
is CPU work proportional to the message, so it runs in a thread rather than on the loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from inboxkit.senders.dns import Budget, DnsError, Resolvers
from inboxkit.senders.results import AuthResult, DkimResult

__all__ = ["MAX_SIGNATURES", "verify_dkim"]

# A message may carry any number of signatures, each costing a lookup and a hash of the
# body: at most this many (the topmost) are verified.
MAX_SIGNATURES = 5


def _text(value: bytes | None) -> str | None:
    return value.decode("ascii", "replace").strip().lower() if value else None


def _tags(header_value: bytes) -> tuple[str | None, str | None]:
    """The d= and s= of a signature that may not pass validation, for the report."""
    try:
        tags = parse_tag_value(header_value)
    except (InvalidTagValueList, ValueError):
        return None, None
    return _text(tags.get(b"d")), _text(tags.get(b"s"))


def _result(result: AuthResult, domain: str | None, selector: str | None) -> DkimResult:
    return {"result": result.value, "domain": domain, "selector": selector}


async def verify_dkim(raw: bytes, resolvers: Resolvers, budget: Budget) -> list[DkimResult]:
    """One result per DKIM-Signature header (the first MAX_SIGNATURES); [] when unsigned."""
    try:
        message = dkim.DKIM(raw)
    except dkim.DKIMException:
        return []
    signatures = [value for name, value in message.headers if name.lower() == b"dkim-signature"]
    results: list[DkimResult] = []
    for index, header_value in enumerate(signatures[:MAX_SIGNATURES]):
        # One after another on the one parsed message: each step below sets every attribute
        # the check reads (the signature's tags, its key), so nothing carries over.
        results.append(await _verify_one(message, index, header_value, resolvers, budget))
    return results


async def _verify_one(
    verifier: dkim.DKIM, index: int, header_value: bytes, resolvers: Resolvers, budget: Budget
) -> DkimResult:
    domain, selector = _tags(header_value)
    try:
        prepared: Any = verifier.verify_headerprep(index)
    except dkim.DKIMException:
        return _result(AuthResult.PERMERROR, domain, selector)
    if not prepared:
        return _result(AuthResult.PERMERROR, domain, selector)
    sig, include_headers, sigheaders = prepared
    name = (sig[b"s"] + b"._domainkey." + sig[b"d"]).decode("ascii", "replace")
    try:
        records = await resolvers.txt(name, budget)
    except DnsError:
        return _result(AuthResult.TEMPERROR, domain, selector)
    except ValueError:
        return _result(AuthResult.PERMERROR, domain, selector)
    if not records:
        # No key published at the selector: RFC 6376 §6.1.2 makes this a permanent failure.
        return _result(AuthResult.PERMERROR, domain, selector)
    try:
        key = dkim.evaluate_pk(name.encode(), records[0])
        verifier.pk, verifier.keysize, verifier.ktag, verifier.seqtlsrpt = key
        verified = await asyncio.to_thread(
            verifier.verify_sig_process, sig, include_headers, sigheaders[index], None
        )
    except dkim.ValidationError:
        # The body hash no longer matches what was signed (or the signature is malformed in a
        # way only checking reveals): the message is not what the signer sent.
        return _result(AuthResult.FAIL, domain, selector)
    except (dkim.DKIMException, ValueError, TypeError):
        return _result(AuthResult.PERMERROR, domain, selector)
    return _result(AuthResult.PASS if verified else AuthResult.FAIL, domain, selector)

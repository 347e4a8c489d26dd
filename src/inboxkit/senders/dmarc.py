"""DMARC (RFC 7489): policy discovery and identifier alignment, written here because it is
small and the libraries that have it bring their own resolvers.

Policy discovery looks up `_dmarc.<From domain>`, then `_dmarc.<organisational domain>`
(§6.6.3). The organisational domain is the registrable domain under the Public Suffix List,
from `publicsuffixlist` (maintained, no dependencies, ships the list: it never fetches at run
time). `pct` is not applied: the result says what the owner's policy is, not whether a
sampled receiver would act on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from publicsuffixlist import PublicSuffixList

from inboxkit.senders.dns import Budget, DnsError, Resolvers
from inboxkit.senders.results import AuthResult, DkimResult, DmarcResult, SpfResult

__all__ = ["DmarcOutcome", "evaluate_dmarc", "organisational_domain"]

POLICIES = ("none", "quarantine", "reject")


@cache
def _suffixes() -> PublicSuffixList:
    # Built once per process (parsing the bundled list takes a moment); it never changes.
    return PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """The registrable domain of `domain` (`mail.example.co.uk` -> `example.co.uk`); a public
    suffix itself is its own organisational domain."""
    name = domain.strip().rstrip(".").lower()
    return _suffixes().privatesuffix(name) or name


@dataclass(frozen=True, slots=True)
class _Record:
    policy: str
    subdomain_policy: str | None
    strict_dkim: bool
    strict_spf: bool


@dataclass(frozen=True, slots=True)
class DmarcOutcome:
    """The DMARC result, and whether the From domain is vouched for by an aligned pass."""

    result: DmarcResult
    aligned: bool


def _parse(text: str) -> _Record | None:
    """A DMARC record's tags (§6.3); None when it has no valid `p`."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), value.strip().lower())
    if tags.get("v") != "dmarc1" or tags.get("p") not in POLICIES:
        return None
    subdomain = tags.get("sp")
    return _Record(
        policy=tags["p"],
        subdomain_policy=subdomain if subdomain in POLICIES else None,
        strict_dkim=tags.get("adkim") == "s",
        strict_spf=tags.get("aspf") == "s",
    )


async def _discover(
    domain: str, resolvers: Resolvers, budget: Budget
) -> tuple[_Record | None, bool]:
    """The record that governs `domain` and whether it came from the organisational domain
    (so `sp` applies); (None, False) when neither publishes exactly one DMARC record."""
    organisational = organisational_domain(domain)
    for name, inherited in ((domain, False), (organisational, True)):
        if inherited and name == domain:
            break
        records = [
            text
            for text in (
                raw.decode("utf-8", "replace")
                for raw in await resolvers.txt(f"_dmarc.{name}", budget)
            )
            if text.lower().replace(" ", "").startswith("v=dmarc1")
        ]
        # Several records, like none, mean no policy (§6.6.3 step 5).
        if len(records) == 1:
            return _parse(records[0]), inherited
        if records:
            return None, False
    return None, False


def _aligned(identifier: str, from_domain: str, strict: bool) -> bool:
    if strict:
        return identifier == from_domain
    return organisational_domain(identifier) == organisational_domain(from_domain)


async def evaluate_dmarc(
    from_domain: str | None,
    spf: SpfResult,
    dkim: list[DkimResult],
    resolvers: Resolvers,
    budget: Budget,
) -> DmarcOutcome:
    """DMARC for the message's From domain given its SPF and DKIM results."""
    if not from_domain:
        # No single From address: nothing to align with (§6.6.1).
        return DmarcOutcome({"result": "permerror", "policy": None, "domain": None}, False)
    domain = from_domain.strip().rstrip(".").lower()
    try:
        record, inherited = await _discover(domain, resolvers, budget)
    except DnsError:
        return DmarcOutcome({"result": "temperror", "policy": None, "domain": domain}, False)
    except ValueError:
        return DmarcOutcome({"result": "permerror", "policy": None, "domain": domain}, False)
    strict_dkim = record.strict_dkim if record else False
    strict_spf = record.strict_spf if record else False
    aligned = any(
        sig["result"] == AuthResult.PASS
        and sig["domain"]
        and _aligned(sig["domain"], domain, strict_dkim)
        for sig in dkim
    ) or bool(
        spf["result"] == AuthResult.PASS
        and spf["domain"]
        and _aligned(spf["domain"], domain, strict_spf)
    )
    if record is None:
        return DmarcOutcome({"result": "none", "policy": None, "domain": domain}, aligned)
    policy = record.subdomain_policy if inherited and record.subdomain_policy else record.policy
    if aligned:
        result = AuthResult.PASS
    elif spf["result"] == AuthResult.TEMPERROR or any(
        sig["result"] == AuthResult.TEMPERROR for sig in dkim
    ):
        # It might have passed had DNS answered: say so rather than fail it.
        result = AuthResult.TEMPERROR
    else:
        result = AuthResult.FAIL
    return DmarcOutcome({"result": result.value, "policy": policy, "domain": domain}, aligned)

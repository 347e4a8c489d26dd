"""DNS for sender authentication: one resolver configuration, one time budget per message.

Every lookup of one message draws on a shared `Budget`; once it is spent, whatever has not
been answered is a `TempError` (reported as `temperror`), so DNS can delay a 250 by at most
the budget and never stall it. Lookups are asynchronous (dnspython's asyncio resolver), so a
slow sender's DNS never blocks other SMTP sessions. The synchronous resolver beside it serves
the SPF evaluator, which runs in a worker thread (see `spfcheck.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TypeVar

import dns.asyncresolver
import dns.exception
import dns.resolver

__all__ = ["Budget", "DnsError", "Resolvers"]

# Distinct (name, type) answers each resolver keeps.
CACHED_ANSWERS = 10_000

_R = TypeVar("_R", bound=dns.resolver.BaseResolver)


class DnsError(Exception):
    """A lookup that could not be answered in time or by any server: a temporary error."""


@dataclass(slots=True)
class Budget:
    """The DNS time one message may still spend (monotonic clock), and the time it spent."""

    deadline: float
    started: float

    @classmethod
    def of(cls, seconds: float) -> Budget:
        now = time.monotonic()
        return cls(deadline=now + seconds, started=now)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def spent(self) -> float:
        return time.monotonic() - self.started


def _configure(resolver: dns.resolver.BaseResolver, server: tuple[str, int] | None) -> None:
    if server is not None:
        resolver.nameservers = [server[0]]
        resolver.port = server[1]
    # Answers are kept for their TTL (negative ones for the SOA minimum), as any resolver
    # would: mail from one domain arrives in bursts, and its SPF, key and DMARC records are
    # then looked up once, not per message. The cache is bounded and thread-safe (the SPF
    # thread uses the synchronous resolver).
    resolver.cache = dns.resolver.LRUCache(CACHED_ANSWERS)


class Resolvers:
    """The configured resolver (`INBOXKIT_DNS_RESOLVER`, else the system's), asynchronous for
    DKIM and DMARC and synchronous for the SPF evaluator's thread."""

    def __init__(self, server: tuple[str, int] | None):
        self.server = server
        self.aio = self._build(dns.asyncresolver.Resolver, server)
        self.sync = self._build(dns.resolver.Resolver, server)

    @staticmethod
    def _build(kind: type[_R], server: tuple[str, int] | None) -> _R:
        try:
            resolver = kind(configure=server is None)
        except dns.resolver.NoResolverConfiguration:
            # No /etc/resolv.conf: lookups then fail as temperror instead of at start-up.
            resolver = kind(configure=False)
            resolver.nameservers = ["127.0.0.1"]
        _configure(resolver, server)
        return resolver

    async def txt(self, name: str, budget: Budget) -> list[bytes]:
        """The TXT records at `name` (each one's strings joined), [] when there are none;
        raises DnsError when it cannot be answered within the budget."""
        remaining = budget.remaining()
        if remaining <= 0:
            raise DnsError("DNS budget spent")
        try:
            answer = await self.aio.resolve(name, "TXT", lifetime=remaining, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise DnsError(str(exc)) from exc
        except dns.exception.DNSException as exc:
            # A malformed name or answer is the sender's problem, not a lookup we may retry.
            raise ValueError(str(exc)) from exc
        return [b"".join(record.strings) for record in answer]

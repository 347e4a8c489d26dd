"""`SenderVerifier`: SPF, DKIM and DMARC for one inbound message, within one DNS budget.

The pipeline starts `check` (SPF and DKIM need only the envelope and the raw bytes) while the
message is being parsed, then `conclude`s with DMARC once the From header is known. Nothing
here raises: a lookup that does not finish in time is a `temperror`, anything unexpected is
logged and the message is stored without results, so authentication can never cost a
sender its 250.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from inboxkit.metrics import Metrics
from inboxkit.senders.dkimcheck import verify_dkim
from inboxkit.senders.dmarc import evaluate_dmarc
from inboxkit.senders.dns import Budget, Resolvers
from inboxkit.senders.results import Authentication, AuthResult, DkimResult, SpfResult
from inboxkit.senders.spfcheck import check_spf, spf_identity

__all__ = ["SenderChecks", "SenderVerifier", "VerifyScope"]

log = logging.getLogger(__name__)

# SPF evaluations in flight at once per process. Each ends within the budget, so this only
# caps threads under a flood; one waiting for a thread still answers within its budget.
SPF_THREADS = 8
# How long past the budget an SPF thread's answer is awaited before it counts as temperror
# (its lookups are themselves cut at the budget; this covers the thread being scheduled).
SPF_GRACE_SECONDS = 0.5


class VerifyScope(StrEnum):
    """Which mailboxes' inbound mail is authenticated (`INBOXKIT_VERIFY_SENDERS`)."""

    AGENT = "agent"  # agent-mode mailboxes only (the default)
    ALL = "all"  # agent and test mailboxes
    NONE = "none"


@dataclass(slots=True)
class SenderChecks:
    """SPF and DKIM of a message, and the budget DMARC may still draw on."""

    spf: SpfResult
    dkim: list[DkimResult]
    budget: Budget
    mail_from: str


class SenderVerifier:
    """Evaluates sender authentication for mailboxes whose mode asks for it (see module doc)."""

    def __init__(
        self,
        scope: VerifyScope,
        resolver: tuple[str, int] | None,
        budget_seconds: float,
        metrics: Metrics | None = None,
    ):
        self.scope = scope
        self.budget_seconds = budget_seconds
        self.resolvers = Resolvers(resolver)
        self.metrics = metrics or Metrics()
        self._threads = ThreadPoolExecutor(SPF_THREADS, thread_name_prefix="inboxkit-spf")

    def wants(self, mailbox_mode: str | None) -> bool:
        """Whether mail to a mailbox of this mode is authenticated. Captured mail never is:
        it is what an application sent, not mail from the internet."""
        if self.scope is VerifyScope.NONE or mailbox_mode in (None, "capture"):
            return False
        return mailbox_mode == "agent" or self.scope is VerifyScope.ALL

    async def check(
        self, mail_from: str, helo: str | None, remote_addr: str | None, raw: bytes
    ) -> SenderChecks | None:
        """SPF and DKIM, concurrently; None when the client address is unknown (mail that
        did not come over the network has no SPF to evaluate and is not authenticated)."""
        try:
            ipaddress.ip_address(remote_addr or "")
        except ValueError:
            return None
        assert remote_addr is not None
        budget = Budget.of(self.budget_seconds)
        try:
            spf, dkim = await asyncio.gather(
                self._spf(budget, remote_addr, mail_from, helo),
                verify_dkim(raw, self.resolvers, budget),
            )
        except Exception:
            log.exception("sender authentication failed; storing the message without it")
            return None
        return SenderChecks(spf, dkim, budget, mail_from)

    async def _spf(
        self, budget: Budget, client: str, mail_from: str, helo: str | None
    ) -> SpfResult:
        identity = spf_identity(mail_from, helo)
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(
            self._threads, check_spf, self.resolvers, budget, client, mail_from, helo
        )
        try:
            return await asyncio.wait_for(work, budget.remaining() + SPF_GRACE_SECONDS)
        except TimeoutError:
            return {
                "result": AuthResult.TEMPERROR.value,
                "domain": identity[1] if identity else None,
            }

    async def conclude(
        self, checks: SenderChecks, from_addr: str | None
    ) -> tuple[Authentication, bool]:
        """DMARC on top of `checks`: the message's `authentication` and `from_verified`."""
        from_domain = from_addr.rpartition("@")[2] if from_addr and "@" in from_addr else None
        try:
            outcome = await evaluate_dmarc(
                from_domain, checks.spf, checks.dkim, self.resolvers, checks.budget
            )
        except Exception:
            log.exception("DMARC evaluation failed")
            outcome = None
        dmarc = (
            outcome.result
            if outcome is not None
            else {"result": AuthResult.PERMERROR.value, "policy": None, "domain": from_domain}
        )
        auth: Authentication = {"spf": checks.spf, "dkim": checks.dkim, "dmarc": dmarc}
        # Verified: DMARC passed, or the domain publishes no DMARC policy and an aligned
        # DKIM or SPF pass vouches for it all the same.
        verified = dmarc["result"] == AuthResult.PASS or (
            outcome is not None and dmarc["result"] == AuthResult.NONE and outcome.aligned
        )
        self._count(auth, checks.budget)
        return auth, verified

    def _count(self, auth: Authentication, budget: Budget) -> None:
        results = self.metrics.sender_auth_results
        results.labels("spf", auth["spf"]["result"]).inc()
        for word in [signature["result"] for signature in auth["dkim"]] or [AuthResult.NONE]:
            results.labels("dkim", word).inc()
        results.labels("dmarc", auth["dmarc"]["result"]).inc()
        self.metrics.sender_auth_dns_seconds.observe(budget.spent())

    def close(self) -> None:
        # Running evaluations end within their budget; nobody waits for them at shutdown.
        self._threads.shutdown(wait=False, cancel_futures=True)

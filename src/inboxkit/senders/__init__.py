"""Sender authentication of inbound mail: SPF, DKIM and DMARC under one DNS time budget.

`SenderVerifier` is what the delivery pipeline calls; the records it returns
(`results.Authentication`) are stored on each message row of the mailboxes that asked for them.
"""

from inboxkit.senders.results import (
    Authentication,
    AuthResult,
    DkimResult,
    DmarcResult,
    SpfResult,
    authentication_results,
)
from inboxkit.senders.verifier import SenderChecks, SenderVerifier

__all__ = [
    "AuthResult",
    "Authentication",
    "DkimResult",
    "DmarcResult",
    "SenderChecks",
    "SenderVerifier",
    "SpfResult",
    "authentication_results",
]

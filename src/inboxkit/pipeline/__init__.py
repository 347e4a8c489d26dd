"""The one delivery pipeline every way of receiving mail goes through."""

from inboxkit.pipeline.deliver import Authenticated, Envelope, NoRecipients, Pipeline
from inboxkit.pipeline.recipients import Recipient, RecipientResolver, RecipientStatus

__all__ = [
    "Authenticated",
    "Envelope",
    "NoRecipients",
    "Pipeline",
    "Recipient",
    "RecipientResolver",
    "RecipientStatus",
]

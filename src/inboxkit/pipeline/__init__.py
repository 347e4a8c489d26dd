"""The one delivery pipeline every way of receiving mail goes through."""

from inboxkit.pipeline.deliver import Envelope, NoRecipients, Pipeline
from inboxkit.pipeline.recipients import Recipient, RecipientResolver, RecipientStatus

__all__ = [
    "Envelope",
    "NoRecipients",
    "Pipeline",
    "Recipient",
    "RecipientResolver",
    "RecipientStatus",
]

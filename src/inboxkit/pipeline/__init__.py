"""The one delivery pipeline every way of receiving mail goes through."""

from inboxkit.pipeline.deliver import Envelope, NoRecipients, Pipeline

__all__ = ["Envelope", "NoRecipients", "Pipeline"]

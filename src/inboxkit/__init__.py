"""inboxkit: real, programmable email inboxes for agents and tests."""

__version__ = "0.1.0"

"""How an application sends into the capture mailbox: the SMTP settings it is configured with.

The server's SMTP listener takes AUTH from applications under test: any username, and as the
password an inboxkit API key with the `capture` scope. Everything such a session sends, to any
address, lands in the key's account's capture mailbox. The client cannot ask the server where
its SMTP listener is reachable (behind a proxy or in a container it is often not where the
server thinks), so the host defaults to the host of the server's URL and the port to 2525,
both overridable.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["SmtpSettings", "smtp_host_for", "DEFAULT_SMTP_PORT", "ANY_USERNAME"]

DEFAULT_SMTP_PORT = 2525
# The username is not checked (the key in the password says who is sending); a fixed word
# keeps application configs that require one happy.
ANY_USERNAME = "inboxkit"
# Addresses a server may listen on that a client cannot connect to as such.
_EVERY_INTERFACE = ("", "0.0.0.0", "::", "[::]")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """What an application's SMTP configuration needs to send into a capture mailbox."""

    host: str
    port: int
    username: str
    password: str  # an inboxkit API key with the `capture` scope


def smtp_host_for(url: str, configured: str | None = None) -> str:
    """Where an application reaches the server's SMTP listener: `configured` when it names a
    host, else the host of the server's URL (a listener bound to every interface is reached
    there too)."""
    if configured and configured.strip() not in _EVERY_INTERFACE:
        return configured.strip()
    return urlsplit(url).hostname or "127.0.0.1"

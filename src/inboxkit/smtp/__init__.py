"""SMTP ingest: aiosmtpd inside the service's own event loop."""

from inboxkit.smtp.server import start_smtp_server

__all__ = ["start_smtp_server"]

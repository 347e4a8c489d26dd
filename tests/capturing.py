"""Mail in an account's capture mailbox, for the tests of the surfaces that read it (SDK, CLI,
MCP, UI). It is stored through `CaptureService.capture`, the one path SMTP AUTH and the
provider APIs store captured mail by (tests/capture covers those front doors; the pytest
plugin's tests send over SMTP AUTH end to end)."""

from __future__ import annotations

from email.message import EmailMessage

from tests.helpers import RunningServer

CAPTURE_SCOPES = ["capture", "mailboxes:read", "messages:read", "messages:write"]


async def capture_key(server: RunningServer, name: str = "app") -> str:
    """An API key, in a new account of its own, that may capture and read what it captured."""
    return await server.create_key(name, scopes=CAPTURE_SCOPES)


def app_message(to: str, subject: str, body: str, *, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


async def capture_mail(
    server: RunningServer,
    key: str,
    to: str | list[str],
    subject: str,
    body: str,
    *,
    mail_from: str = "no-reply@shop.example",
) -> None:
    """`key`'s application sends one message to `to` (the envelope recipients; the To header
    names the first)."""
    recipients = [to] if isinstance(to, str) else to
    message = app_message(recipients[0], subject, body, mail_from=mail_from)
    principal = await server.runtime.capture.authenticate(key)
    await server.runtime.capture.capture(
        principal, bytes(message), mail_from=mail_from, rcpt_to=recipients, via="smtp"
    )

"""Emulated email-provider send APIs (DESIGN §11): an application's provider SDK, pointed at
inboxkit, has its mail captured instead of sent. Each provider is served under
`/esp/<provider>` and at the provider's own paths from the root."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

__all__ = ["too_large_answer"]


def _answers() -> list[tuple[tuple[str, ...], tuple[str, ...], Callable[[str], Response]]]:
    # Imported here: the provider modules import the API's dependencies, and the body limit
    # middleware (which asks this module) is built before them.
    from inboxkit.api.esp import postmark, resend, sendgrid

    return [
        (("/esp/postmark/",), ("/email", "/email/batch"), postmark.too_large),
        (("/esp/sendgrid/",), ("/v3/mail/send",), sendgrid.too_large),
        (("/esp/resend/",), ("/emails", "/emails/batch"), resend.too_large),
    ]


def too_large_answer(path: str, message: str) -> Response | None:
    """A provider route's own answer to a request body over the server's limit (so the
    provider's SDK raises its usual error), or None for any other path."""
    for prefixes, paths, answer in _answers():
        if path.startswith(prefixes) or path.rstrip("/") in paths:
            return answer(message)
    return None

"""Emulated email-provider send APIs (DESIGN §11): an application's provider SDK, pointed at
inboxkit, has its mail captured instead of sent. Each provider is served under
`/esp/<provider>` and at the provider's own paths from the root."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.responses import Response

__all__ = ["too_large_answer"]


def _answers() -> list[tuple[Callable[[str], bool], Callable[[str], Response]]]:
    # Imported here: the provider modules import the API's dependencies, and the body limit
    # middleware (which asks this module) is built before them.
    from inboxkit.api.esp import mailgun, postmark, resend, sendgrid, ses

    def under(prefix: str, *paths: str) -> Callable[[str], bool]:
        return lambda path: path.startswith(prefix) or path.rstrip("/") in paths

    def matching(prefix: str, pattern: re.Pattern[str]) -> Callable[[str], bool]:
        return lambda path: path.startswith(prefix) or bool(pattern.match(path))

    return [
        (under("/esp/postmark/", "/email", "/email/batch"), postmark.too_large),
        (under("/esp/sendgrid/", "/v3/mail/send"), sendgrid.too_large),
        (under("/esp/resend/", "/emails", "/emails/batch"), resend.too_large),
        (matching("/esp/mailgun/", mailgun.PATHS), mailgun.too_large),
        (matching("/esp/ses/", ses.PATHS), ses.too_large),
    ]


def too_large_answer(path: str, message: str) -> Response | None:
    """A provider route's own answer to a request body over the server's limit (so the
    provider's SDK raises its usual error), or None for any other path."""
    for matches, answer in _answers():
        if matches(path):
            return answer(message)
    return None

"""The web UI: server-rendered pages for people, served by the API process at `/`.

A surface like `api/`: every page is one or a few service calls through the runtime. Sessions
are signed cookies backed by database rows (`services/sessions.py`); every state change is a
same-origin form post carrying the session's CSRF token; every response carries the security
headers of `web/security.py`. See docs/ui.md.
"""

from __future__ import annotations

from inboxkit.web.routes import install

__all__ = ["install"]

"""Web UI sessions: a signed cookie holding the browser's tokens, valid while its row exists.

The cookie carries a random session id and the tokens the person signed in with (an API key,
and the mailbox tokens of inboxes made with "New inbox"), signed with HMAC-SHA256 under a key
kept in that session's database row. Every API process reads the same rows, so a session works
behind any number of them; signing out deletes the row, after which the cookie — replayed or
not — is refused everywhere. The database holds only the id's SHA-256 digest and the signing
key, never a token. The CSRF token is derived from the same key, so it is tied to the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta

from inboxkit.store import ui_sessions as rows
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = ["MAX_SESSION_INBOXES", "SESSION_LIFETIME", "Session", "SessionService"]

SESSION_LIFETIME = timedelta(days=7)
# Inboxes made with "New inbox" that one session remembers (the cookie must stay small).
MAX_SESSION_INBOXES = 20
MAX_COOKIE_CHARS = 3800


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: its id, signing key, and the tokens it holds."""

    id: str
    secret: str
    key: str | None = None  # an API key (ik_…) or a mailbox token the person signed in with
    inboxes: dict[str, str] = field(default_factory=dict)  # mailbox id -> mailbox token

    @property
    def csrf(self) -> str:
        return _mac(self.secret, f"csrf:{self.id}")

    def with_inbox(self, mailbox_id: str, token: str) -> Session:
        inboxes = {mailbox_id: token, **self.inboxes}
        return replace(self, inboxes=dict(list(inboxes.items())[:MAX_SESSION_INBOXES]))

    def with_key(self, key: str) -> Session:
        return replace(self, key=key)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _mac(secret: str, data: str) -> str:
    return hmac.new(secret.encode(), data.encode(), hashlib.sha256).hexdigest()


class SessionService:
    """Opens, reads (from a cookie), seals and closes web UI sessions."""

    def __init__(self, db: Database):
        self.db = db

    async def open(self) -> Session:
        """A new, empty session (its row written)."""
        session = Session(id=secrets.token_urlsafe(32), secret=secrets.token_hex(32))
        now = utcnow()
        async with self.db.write() as conn:
            await rows.insert(
                conn, _digest(session.id), session.secret, now, now + SESSION_LIFETIME
            )
        return session

    def seal(self, session: Session) -> str:
        """The cookie value for `session`."""
        body = {"s": session.id, "k": session.key, "i": session.inboxes}
        payload = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
        return f"{payload}.{_mac(session.secret, payload)}"

    async def load(self, cookie: str | None) -> Session | None:
        """The session a cookie stands for, or None (absent, forged, signed out, expired)."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            session_id, key, inboxes = body["s"], body["k"], body["i"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(session_id, str) or not isinstance(inboxes, dict):
            return None
        async with self.db.read() as conn:
            secret = await rows.live_secret(conn, _digest(session_id), utcnow())
        if secret is None or not hmac.compare_digest(_mac(secret, payload), mac):
            return None
        tokens = {str(k): str(v) for k, v in inboxes.items()}
        return Session(session_id, secret, key if isinstance(key, str) else None, tokens)

    async def close(self, session: Session) -> None:
        """Sign out: the session's row is deleted, so its cookie no longer works anywhere."""
        async with self.db.write() as conn:
            await rows.delete(conn, _digest(session.id))

"""Capture: what an application sends, to any address, kept in its account's capture mailbox.

An application under test sends to `alice@example.com`, not to an inbox of ours. Mail it hands
to us with an API key that has the `capture` scope (SMTP AUTH, or a provider's send API emulated
under `/esp/…`) is delivered, whatever its recipients, to the key's account's one capture
mailbox, through the same pipeline as any other mail, and never relayed. The capture mailbox is
made on first use and never expires while its account lives; it is not reachable by its own
address (store.mailboxes.live_recipient leaves it out), so only the account's own senders write
into it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from inboxkit.config import Settings
from inboxkit.errors import (
    Forbidden,
    RateLimited,
    SignatureMismatch,
    Unauthorized,
    ValidationFailed,
)
from inboxkit.ids import new_id
from inboxkit.mail.addresses import split_address
from inboxkit.netaddr import peer_key
from inboxkit.pipeline import Envelope, Pipeline
from inboxkit.pipeline.recipients import Recipient, RecipientStatus
from inboxkit.plan import Plan
from inboxkit.records import Mailbox, MessageSummary
from inboxkit.services.auth import AuthService, Principal, PrincipalKind, digest, new_token
from inboxkit.services.quotas import check_size
from inboxkit.services.throttle import Bucket, RateLimiter
from inboxkit.store import mailboxes as rows
from inboxkit.store import messages, usage
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = ["CAPTURE_SCOPE", "CaptureService", "MAX_CAPTURE_RECIPIENTS"]

CAPTURE_SCOPE = "capture"
# A captured message may name this many envelope recipients (the SMTP limit's default);
# providers' own limits are lower (SendGrid 1000 per request spread over personalizations).
MAX_CAPTURE_RECIPIENTS = 1000
# An account's capture mailbox, as a recipient, is remembered this long per process: SMTP
# capture resolves it once per RCPT, and it changes only when it is deleted (which this process
# forgets at once; another process's deletion is caught by the storing transaction).
REMEMBER_SECONDS = 1.0


def _plan(row: Any) -> Plan | None:
    return None if row.plan_name is None else Plan.from_row(row, prefix="plan_")


class CaptureService:
    """The capture mailbox of each account and the one way captured mail is stored."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        auth: AuthService,
        pipeline: Pipeline,
        limiter: RateLimiter | None = None,
    ):
        self.settings = settings
        self.db = db
        self.auth = auth
        self.pipeline = pipeline
        self.limiter = limiter
        # account id -> (the capture mailbox as a recipient, fresh until (monotonic))
        self._recipients: dict[str, tuple[Recipient, float]] = {}

    # -- who may capture ---------------------------------------------------------------------

    async def authenticate(self, key: str | None, *, client_ip: str | None = None) -> Principal:
        """The account behind an API key with the `capture` scope: `Unauthorized` for a token
        that is not a valid API key, `Forbidden` for one without the scope."""
        async with self._counting_failures(client_ip):
            if not key or not key.strip():
                raise Unauthorized("Send an inboxkit API key with the 'capture' scope.")
            principal = await self.auth.authenticate(key)
            if principal.kind is not PrincipalKind.API_KEY or principal.account_id is None:
                raise Unauthorized(
                    "Capture takes an account's API key (ik_…), not a mailbox token."
                )
        return self._capturing(principal, client_ip)

    async def authenticate_signed(
        self,
        key_id: str,
        signature_matches: Callable[[bytes], bool],
        *,
        client_ip: str | None = None,
    ) -> Principal:
        """The account behind a request signed with an API key (AWS SigV4: the key's id is the
        access key id, the key the secret). `signature_matches` is given the first HMAC key of
        the signing-key derivation (`AuthService.sigv4_key`) and says whether the signature
        holds. `Unauthorized` when no live key has this id, `SignatureMismatch` when the
        signature does not hold (both counted like a wrong key), `Forbidden` without the
        `capture` scope, which is checked only once the signature holds."""
        async with self._counting_failures(client_ip):
            found = await self.auth.sigv4_key(key_id)
            if found is None:
                raise Unauthorized(
                    "No live API key has this access key id; sign with an inboxkit API key's "
                    "id and the key itself as the secret."
                )
            first_hmac_key, principal = found
            if not signature_matches(first_hmac_key):
                raise SignatureMismatch(
                    "The request signature we calculated does not match the signature you "
                    "provided; check the secret (the API key itself) and the signing method."
                )
        return self._capturing(principal, client_ip)

    @contextlib.asynccontextmanager
    async def _counting_failures(self, client_ip: str | None) -> AsyncIterator[None]:
        """Refuse a client address over `capture_auth_failures_per_minute` failed sign-ins
        (RateLimited), and count one more when the body raises Unauthorized."""
        holder = f"ip:{peer_key(client_ip)}" if client_ip else None
        limit = self.settings.capture_auth_failures_per_minute
        if self.limiter is not None and holder is not None:
            await self.limiter.check(Bucket.CAPTURE_AUTH, holder, limit)
        try:
            yield
        except Unauthorized:
            if self.limiter is not None and holder is not None:
                with contextlib.suppress(RateLimited):  # this refusal still says why
                    await self.limiter.hit(Bucket.CAPTURE_AUTH, holder, limit)
            raise

    @staticmethod
    def _capturing(principal: Principal, client_ip: str | None) -> Principal:
        """`principal` if it may capture (Forbidden without the scope), with its address."""
        if CAPTURE_SCOPE not in principal.scopes:
            raise Forbidden(
                "This key lacks the 'capture' scope; create a key with it (inboxkit keys create "
                "--scope capture)."
            )
        if client_ip is not None:
            principal = _with_ip(principal, client_ip)
        return principal

    async def admit(self, principal: Principal) -> None:
        """Count one captured message against the plan's `write_per_minute` (RateLimited)."""
        if self.limiter is not None:
            await self.limiter.admit(principal, Bucket.WRITE)

    # -- the mailbox -------------------------------------------------------------------------

    async def mailbox(self, principal: Principal) -> Mailbox:
        """The caller's account's capture mailbox (`GET /capture`), made on first use."""
        if principal.kind is PrincipalKind.ANONYMOUS:
            raise Unauthorized("The capture mailbox belongs to an account: send its API key.")
        if principal.kind is not PrincipalKind.API_KEY or principal.account_id is None:
            raise Forbidden("A mailbox token has no capture mailbox; use the account's API key.")
        if not ({"mailboxes:read", CAPTURE_SCOPE} & principal.scopes):
            raise Forbidden("This token lacks the 'mailboxes:read' scope.")
        row = await self._ensure(principal.account_id)
        async with self.db.read() as conn:
            total, unread = await messages.counts(conn, row.id)
        return {
            "id": row.id,
            "address": row.address,
            "mode": row.mode,
            "name": row.name,
            "created_at": row.created_at,
            "expires_at": None,
            "message_count": total,
            "unread_count": unread,
            "outbound_review": bool(row.outbound_review),
        }

    async def _ensure(self, account_id: str) -> Any:
        """The account's live capture mailbox row (with its plan), inserting it if missing.
        The partial unique index (migration 0006) makes concurrent first uses agree."""
        for _attempt in range(4):
            async with self.db.read() as conn:
                row = await rows.live_capture(conn, account_id)
            if row is not None:
                return row
            now = utcnow()
            local = f"capture-{secrets.token_hex(6)}"
            new = rows.NewMailbox(
                id=new_id(),
                account_id=account_id,
                address=f"{local}@{self.settings.default_domain}",
                local_part=local,
                domain=self.settings.default_domain,
                mode="capture",
                name="Captured mail",
                # Nobody is given this token: the mailbox is read with the account's keys.
                token_digest=digest(new_token("ikm_")),
                created_at=now,
                expires_at=None,
                created_via="capture",
                created_ip=None,
            )
            try:
                async with self.db.write() as conn:
                    await rows.insert(conn, new)
                    # One live mailbox on the account's figures, like any other (so deleting
                    # it balances), but never refused by `max_mailboxes`: capture must not fail
                    # because the account holds many test inboxes.
                    await usage.add(conn, usage.account_subject(account_id), usage.ALL, mailboxes=1)
            except IntegrityError:
                continue  # another request made it first (or the address was taken): read it
        raise RuntimeError("could not create the capture mailbox")

    async def recipient(self, account_id: str) -> Recipient:
        """The account's capture mailbox as the recipient of every address captured mail names."""
        remembered = self._recipients.get(account_id)
        if remembered is not None and remembered[1] > time.monotonic():
            return remembered[0]
        row = await self._ensure(account_id)
        found = Recipient(
            RecipientStatus.OK,
            row.id,
            row.address,
            account_id=account_id,
            plan=_plan(row),
            expires_at=None,
            mode="capture",
        )
        if len(self._recipients) >= 10_000:
            self._recipients.clear()
        self._recipients[account_id] = (found, time.monotonic() + REMEMBER_SECONDS)
        return found

    def forget(self, account_id: str | None = None) -> None:
        """Drop remembered capture recipients (one account's, or all: a plan changed)."""
        if account_id is None:
            self._recipients.clear()
        else:
            self._recipients.pop(account_id, None)

    async def on_mailbox_end(self, _conn: Any, _event: str, ended: list[Any]) -> None:
        """A deleted (or account-ended) capture mailbox is not remembered: the next capture
        makes a new one."""
        for row in ended:
            # Rows from the expiry sweep and account deletion carry fewer columns; capture
            # mailboxes never expire, and a deleted account's key no longer authenticates.
            account_id = getattr(row, "account_id", None)
            if getattr(row, "mode", "capture") == "capture" and account_id is not None:
                self.forget(account_id)

    # -- storing -----------------------------------------------------------------------------

    async def capture(
        self,
        principal: Principal,
        raw: bytes,
        *,
        mail_from: str,
        rcpt_to: list[str],
        via: str,
        remote_addr: str | None = None,
        helo: str | None = None,
    ) -> MessageSummary:
        """Store one message an application sent, for every one of `rcpt_to` (any domain),
        in `principal`'s account's capture mailbox. Returns after the commit.

        Raises `ValidationFailed` for no or too many recipients or an address that is not one,
        `MessageTooLarge` over the plan's size, `MailboxFull` over its message ceilings.
        """
        if principal.account_id is None or CAPTURE_SCOPE not in principal.scopes:
            raise Forbidden("This key lacks the 'capture' scope.")
        recipients = check_recipients(rcpt_to)
        await self.admit(principal)
        found = await self.recipient(principal.account_id)
        check_size(found.plan, len(raw))
        envelope = Envelope(
            mail_from=mail_from, rcpt_tos=recipients, remote_addr=remote_addr, helo=helo, via=via
        )
        try:
            (stored,) = await self.pipeline.deliver(envelope, raw, resolved=[found])
        except Exception:
            # The mailbox may have been deleted since it was remembered: read it again next time.
            self.forget(principal.account_id)
            raise
        return stored


def check_recipients(rcpt_to: list[str]) -> list[str]:
    """The envelope recipients of a captured message, each a plain address, at least one and
    at most MAX_CAPTURE_RECIPIENTS (duplicates dropped, order kept)."""
    if not rcpt_to:
        raise ValidationFailed("A captured message needs at least one recipient.")
    if len(rcpt_to) > MAX_CAPTURE_RECIPIENTS:
        raise ValidationFailed(
            f"A captured message may have at most {MAX_CAPTURE_RECIPIENTS} recipients; "
            f"this one has {len(rcpt_to)}."
        )
    chosen: list[str] = []
    seen: set[str] = set()
    for address in rcpt_to:
        parsed = split_address(address) if len(address) <= 320 else None
        if parsed is None:
            raise ValidationFailed(f"'{address[:100]}' is not an email address.")
        if address.lower() not in seen:
            seen.add(address.lower())
            chosen.append(address)
    return chosen


def _with_ip(principal: Principal, client_ip: str) -> Principal:
    return dataclasses.replace(principal, client_ip=client_ip)

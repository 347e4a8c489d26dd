"""Typed views of what the API returns.

The models accept fields they do not know (a newer server may add some) and keep them, so the
SDK does not break when the server grows. Message models returned by a client are *bound* to it:
`message.raw()`, `.attachment_bytes()`, `.reply()`, `.delete()` call the server through the
client that fetched them (with an `AsyncInboxKit`, await them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from inboxkit.client.protocol import Flow, operation

__all__ = [
    "Model",
    "Ingested",
    "IngestDelivered",
    "IngestRefused",
    "Mailbox",
    "MailboxCreated",
    "HandleAvailability",
    "Link",
    "CodeCandidate",
    "Attachment",
    "Envelope",
    "SpfCheck",
    "DkimCheck",
    "DmarcCheck",
    "Authentication",
    "SpamVerdict",
    "MessageSummary",
    "Highlight",
    "SearchResult",
    "Message",
    "Thread",
    "WaitResult",
    "Page",
    "ApiKey",
    "ApiKeyCreated",
    "SentMessage",
    "BatchResult",
    "Draft",
    "DraftAttachment",
    "DraftReview",
    "PendingDraft",
    "ReviewNote",
    "Webhook",
    "WebhookCreated",
    "WebhookAttempt",
    "WebhookDelivery",
    "Fault",
    "ListEntry",
    "DnsRecord",
    "Domain",
    "DomainVerification",
    "PlanLimits",
    "Plan",
    "Account",
    "Usage",
    "UsagePeriod",
    "UsageFigures",
]

T = TypeVar("T")


class Model(BaseModel):
    """Base of the SDK's models: keeps fields it does not know, so a newer server does not break
    an older SDK; `to_json()` gives back the API's JSON."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, ignored_types=(operation,))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types, with the API's own field names (`from`, not `from_`)."""
        return self.model_dump(mode="json", by_alias=True)


class Mailbox(Model):
    """A mailbox: its address, mode, expiry (None: never) and message counts."""

    id: str
    address: str
    mode: str = "test"
    name: str | None = None
    created_at: datetime
    expires_at: datetime | None = None
    message_count: int = 0
    unread_count: int = 0
    # True: every send, reply and forward is kept as a draft awaiting an account's approval.
    outbound_review: bool = False


class MailboxCreated(Mailbox):
    """A mailbox just created; `token` is its mailbox token, returned only this once."""

    token: str | None = Field(None, description="Mailbox token (ikm_…), shown only at creation.")


class HandleAvailability(Model):
    """Whether a handle can be claimed (`available`), the address it gives, and if not, why
    (`reason`)."""

    available: bool
    address: str
    reason: str | None = None


class Link(Model):
    """A link in a message: its URL, what following it does (`kind`: verify, login, reset,
    unsubscribe or other) and its text."""

    url: str
    kind: str = "other"
    text: str = ""


class CodeCandidate(Model):
    """A possible one-time code, its confidence (0 to 1) and the text around it, for judging a
    doubtful match."""

    value: str
    confidence: float = 0.0
    snippet: str = ""


class Attachment(Model):
    """An attachment's details; get its bytes with `message.attachment_bytes(attachment)`."""

    id: str
    filename: str | None = None
    content_type: str = "application/octet-stream"
    size: int = 0
    content_id: str | None = None
    disposition: str = "attachment"


class Envelope(Model):
    """The SMTP envelope a message came with, which can differ from its From and To headers."""

    mail_from: str = ""
    rcpt_to: list[str] = []
    remote_addr: str | None = None
    helo: str | None = None


class SpfCheck(Model):
    """SPF of the envelope sender: an RFC 8601 result word and the domain checked."""

    result: str
    domain: str | None = None


class DkimCheck(Model):
    """One DKIM signature: result, signing domain and selector."""

    result: str
    domain: str | None = None
    selector: str | None = None


class DmarcCheck(Model):
    """DMARC for the From domain: result and the published policy (None without a record)."""

    result: str
    policy: str | None = None
    domain: str | None = None


class Authentication(Model):
    """Sender authentication results of an inbound message."""

    spf: SpfCheck
    dkim: list[DkimCheck] = []
    dmarc: DmarcCheck


class SpamVerdict(Model):
    """What the spam filter made of a message. `verdict`: "clean", "quarantine" (delivered,
    flagged), "spam" or "blocked" (a block-listed sender); the last two are hidden from an
    agent inbox's default views. `engine`: "rspamd", "builtin", "unavailable" (the filter
    failed open) or "none" (not scored)."""

    verdict: str = "clean"
    score: float | None = None
    reason: str | None = None
    engine: str = "none"


class MessageSummary(Model):
    """A message as listed, without bodies. `code` and `link()` give what a test usually wants;
    `fetch()` gets the whole message."""

    id: str
    mailbox_id: str
    direction: str = "inbound"
    from_: str = Field("", alias="from")
    from_name: str = ""
    to: list[str] = []
    subject: str = ""
    preview: str = ""
    received_at: datetime
    is_read: bool = False
    has_attachments: bool = False
    size: int = 0
    codes: list[str] = []
    links: list[Link] = []
    tags: list[str] = []
    parse_error: bool = False
    delivery_status: str | None = None
    delivery_error: str | None = None
    # The From domain is authenticated (DMARC pass, or an aligned DKIM/SPF pass when the
    # domain publishes no DMARC); False when not evaluated.
    from_verified: bool = False
    # None from a server that does not score mail.
    spam: SpamVerdict | None = None
    # User labels (lower-case, sorted), then the system labels `sent` and `spam`.
    labels: list[str] = []
    # The conversation it belongs to (`client.get_thread(mailbox_id, thread_id)`); None from
    # a server without threads.
    thread_id: str | None = None

    # The client that fetched this message; its methods below go through it.
    _client: Any = PrivateAttr(None)

    @property
    def code(self) -> str | None:
        """The most likely one-time code, or None."""
        return self.codes[0] if self.codes else None

    def link(self, kind: str | None = None) -> Link | None:
        """The best link (of `kind`, e.g. "verify", if given), or None."""
        return next((link for link in self.links if kind is None or link.kind == kind), None)

    def _drive(self, flow: Flow[T]) -> Any:
        if self._client is None:
            raise RuntimeError("This message was not fetched by a client, so it cannot call one.")
        return self._client._drive(flow)

    @operation
    def fetch(self, *, mark_read: bool = False) -> Flow[Message]:
        """The whole message (text, HTML, attachments, headers)."""
        return (
            yield from self._client.get_message.flow(self.mailbox_id, self.id, mark_read=mark_read)
        )

    @operation
    def raw(self) -> Flow[bytes]:
        """The exact bytes received."""
        return (yield from self._client.get_raw.flow(self.mailbox_id, self.id))

    @operation
    def attachment_bytes(self, attachment: Attachment | str | None = None) -> Flow[bytes]:
        """An attachment's decoded bytes, by Attachment, id or filename (default: the first)."""
        if not isinstance(attachment, Attachment):
            full = self if isinstance(self, Message) else (yield from self.fetch.flow())
            attachment = full.find_attachment(attachment)
        return (yield from self._client.get_attachment.flow(self.mailbox_id, self.id, attachment))

    @operation
    def mark_read(self, is_read: bool = True) -> Flow[Message]:
        """Mark the message read (or unread with `False`)."""
        return (
            yield from self._client.update_message.flow(self.mailbox_id, self.id, is_read=is_read)
        )

    @operation
    def reply(
        self,
        text: str | None = None,
        *,
        html: str | None = None,
        reply_all: bool = False,
        attachments: Iterable[Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Flow[SentMessage]:
        """Reply from the mailbox to the sender (with `reply_all`, to everyone), threaded
        (`In-Reply-To`, `References`, `Re:`)."""
        return (
            yield from self._client.reply.flow(
                self.mailbox_id,
                self.id,
                text=text,
                html=html,
                reply_all=reply_all,
                attachments=attachments,
                idempotency_key=idempotency_key,
            )
        )

    @operation
    def label(
        self, add: str | Iterable[str] | None = None, *, remove: str | Iterable[str] | None = None
    ) -> Flow[Message]:
        """Add and/or remove labels; returns the message as it is now."""
        return (
            yield from self._client.label.flow(self.mailbox_id, self.id, add=add, remove=remove)
        )

    @operation
    def forward(
        self,
        to: str | Iterable[str],
        text: str | None = None,
        *,
        html: str | None = None,
        cc: str | Iterable[str] | None = None,
        bcc: str | Iterable[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Flow[SentMessage | PendingDraft]:
        """Forward the message, inline with its attachments, below `text`."""
        return (
            yield from self._client.forward.flow(
                self.mailbox_id,
                self.id,
                to=to,
                text=text,
                html=html,
                cc=cc,
                bcc=bcc,
                idempotency_key=idempotency_key,
            )
        )

    @operation
    def delete(self) -> Flow[None]:
        """Delete the message; its content is purged."""
        return (yield from self._client.delete_message.flow(self.mailbox_id, self.id))


class Message(MessageSummary):
    """A whole message: the summary plus its bodies, headers, attachments and SMTP envelope."""

    cc: list[str] = []
    reply_to: list[str] = []
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = []
    headers: list[list[str]] = []
    text: str | None = None
    html: str | None = Field(None, description="The HTML part as received (not safe to render).")
    html_sanitized: str | None = None
    reply_text: str | None = Field(
        None,
        description="What the author wrote: a reply's new text without the quoted history, "
        "signature and mobile footer (forwards and inline answers kept whole).",
    )
    markdown: str | None = Field(
        None, description="The body as Markdown (HTML rendered), at most 100,000 characters."
    )
    attachments: list[Attachment] = []
    envelope: Envelope | None = None
    code_candidates: list[CodeCandidate] = []
    parse_error_detail: str | None = None
    authentication: Authentication | None = None
    # The results as an Authentication-Results header value (RFC 8601).
    authentication_results: str | None = None

    def header(self, name: str) -> str | None:
        """The first header called `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def find_attachment(self, ref: Attachment | str | None = None) -> Attachment:
        """The attachment with this id or filename (default: the first); LookupError if none."""
        if isinstance(ref, Attachment):
            return ref
        for attachment in self.attachments:
            if ref is None or ref in (attachment.id, attachment.filename):
                return attachment
        names = ", ".join(a.filename or a.id for a in self.attachments) or "none"
        raise LookupError(f"No attachment {ref!r} on this message (it has: {names}).")


class WaitResult(Model):
    """The outcome of a wait: the matching message, or `timed_out` when none arrived in time."""

    message: MessageSummary | None = None
    timed_out: bool = False


class Highlight(Model):
    """Where a search matched a message: a fragment of one field ("subject", "from", "to",
    "body") as HTML, the text escaped and each hit in `<mark>`…`</mark>`."""

    field: str
    fragment: str


class SearchResult(MessageSummary):
    """A message a search found, with the fragments where it matched."""

    highlights: list[Highlight] = []


class Thread(Model):
    """A conversation of a mailbox: its subject, participants, counts, labels (its messages'
    user labels, then "sent" and "spam") and its newest message's preview; `messages` (oldest first) when read with
    `get_thread` / `Inbox.thread`."""

    id: str
    mailbox_id: str
    subject: str = ""
    participants: list[str] = []
    message_count: int = 0
    unread_count: int = 0
    last_message_at: datetime
    labels: list[str] = []
    preview: str = ""
    messages: list[MessageSummary] = []
    # From `get_thread`: pass as `cursor` for the thread's next messages (None at the end).
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next (None at the end).
    Iterating a page iterates its items."""

    items: list[T]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class ApiKey(Model):
    """An API key's details; the key itself is only on the `ApiKeyCreated` returned at
    creation."""

    id: str
    account_id: str
    name: str
    scopes: list[str] = []
    modes: list[str] = ["test", "agent"]
    prefix: str = ""
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKey):
    """An API key just created; `token` is the key itself, returned only this once."""

    token: str


class IngestDelivered(Model):
    """A recipient of an ingested message that received it, and its message's id."""

    address: str
    message_id: str


class IngestRefused(Model):
    """A recipient of an ingested message that did not receive it. `reason`:
    "foreign_domain", "unknown_mailbox", "mailbox_full" (retry later) or
    "message_too_large"; `smtp` is the reply SMTP would give ("550 5.1.1")."""

    address: str
    reason: str
    message: str
    smtp: str


class Ingested(Model):
    """What became of each recipient of `ingest_raw`."""

    delivered: list[IngestDelivered] = []
    refused: list[IngestRefused] = []


class SentMessage(MessageSummary):
    """An outbound message as stored: `delivery_status` is queued, then sent or failed."""

    message_id: str | None = Field(None, description="The Message-ID header it was sent with.")


class BatchResult(Model):
    """What a batch changed: all the messages it named (a batch changes all or none)."""

    updated: int
    ids: list[str]
    messages: list[MessageSummary] = []


class DraftAttachment(Model):
    """A file a draft carries (its bytes are not shown again)."""

    filename: str
    content_type: str
    size: int
    content_id: str | None = None


class DraftReview(Model):
    """Where a draft stands with review: `pending` approval, or `approved`."""

    state: str
    approved_at: datetime | None = None
    approved_by: str | None = None


class Draft(Model):
    """A message not sent yet. `status`: draft, pending_review, scheduled, sending, sent
    (`sent_message_id`) or failed (`error`)."""

    id: str
    mailbox_id: str
    status: str
    to: list[str] = []
    cc: list[str] = []
    bcc: list[str] = []
    subject: str = ""
    text: str | None = None
    html: str | None = None
    attachments: list[DraftAttachment] = []
    in_reply_to: str | None = None
    reply_all: bool = False
    forward_of: str | None = None
    send_at: datetime | None = None
    review: DraftReview | None = None
    sent_message_id: str | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime


class ReviewNote(Model):
    """Why a message was kept instead of sent: its mailbox is under review."""

    state: str
    sent: bool = False
    message: str
    approve_url: str


class PendingDraft(Model):
    """What `send` and `reply` return for a mailbox under review: nothing was sent (`sent` is
    False); the message is `draft`, awaiting approval as `review` says."""

    draft: Draft
    review: ReviewNote
    sent: bool = False


class Webhook(Model):
    """An endpoint registered for the account's (or one mailbox's) events; `enabled` turns false
    once it answers 410 Gone."""

    id: str
    url: str
    mailbox_id: str | None = None
    events: list[str] = []
    description: str | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    created_at: datetime | None = None


class WebhookCreated(Webhook):
    """An endpoint just registered; `secret` verifies its requests' signatures and is returned
    only this once."""

    secret: str = Field(description="Signing secret (whsec_…), shown only at creation.")


class Fault(Model):
    """An injected SMTP fault: the reply (`reply`, e.g. "451 4.3.0 …") SMTP gives at `stage`
    for the account's mail (or `mailbox_id`'s), how often it `fired`, and what is left."""

    id: str
    stage: str
    code: int
    message: str | None = None
    reply: str = ""
    probability: float = 1.0
    count: int | None = None
    mailbox_id: str | None = None
    fired: int = 0
    remaining: int | None = None
    exhausted: bool = False
    created_at: datetime | None = None


class ListEntry(Model):
    """An allow or block list entry: mail from `entry` (an address, or a domain and with
    `subdomains` its subdomains; `kind` says which) is never spam (`type` "allow") or is
    stored with verdict "blocked" (`type` "block"), for the account's mailboxes or only
    `mailbox_id`."""

    id: str
    type: str
    entry: str
    kind: str = "address"
    subdomains: bool = False
    mailbox_id: str | None = None
    created_at: datetime | None = None


class DnsRecord(Model):
    """One record a custom domain publishes: `type` ("MX" or "TXT"), `name`, `value`, the MX
    `priority`, and what it is for."""

    type: str
    name: str
    value: str
    priority: int | None = None
    purpose: str = ""


class DomainVerification(Model):
    """The TXT record that proves the account controls a domain."""

    name: str
    type: str = "TXT"
    value: str


class Domain(Model):
    """A custom domain: `status` "pending" until verified, the `records` to publish (MX,
    verification TXT, SPF, DKIM, DMARC) and the selector of the DKIM key that signs its mail."""

    id: str
    domain: str
    wildcard: bool = False
    status: str
    verification: DomainVerification
    records: list[DnsRecord] = []
    dkim_selector: str = ""
    retired_selectors: list[str] = []
    created_at: datetime | None = None
    verified_at: datetime | None = None
    last_checked_at: datetime | None = None
    unverified_since: datetime | None = None


class WebhookAttempt(Model):
    """One POST of a webhook delivery: when, the HTTP status or error, and how long it took."""

    attempted_at: datetime
    status_code: int | None = None
    error: str | None = None
    latency_ms: int = 0


class WebhookDelivery(Model):
    """One event sent (or still being sent) to an endpoint, with its payload and the log of its
    attempts."""

    id: str
    webhook_id: str = ""
    event: str = ""
    status: str = ""
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    payload: dict[str, Any] = {}
    attempt_log: list[WebhookAttempt] = []


class PlanLimits(Model):
    """A plan's ceilings. A number is the most allowed; None is unlimited. `send` is whom its
    mailboxes may send to: "none", "local" (mailboxes hosted on this server) or "any"."""

    max_mailboxes: int | None = None
    max_messages_per_mailbox: int | None = None
    max_ttl_minutes: int | None = None
    retention_days: int | None = None
    received_per_month: int | None = None
    sent_per_month: int | None = None
    max_message_bytes: int | None = None
    max_webhooks: int | None = None
    max_domains: int | None = None
    send: str = "any"
    agent_mode: bool = True
    api_access: bool = True
    mcp_access: bool = True
    create_per_minute: int | None = None
    read_per_minute: int | None = None
    write_per_minute: int | None = None
    send_per_minute: int | None = None
    concurrent_waits: int | None = None


class Plan(PlanLimits):
    """A plan as admins manage it: its name and its ceilings (`anonymous` and `default` are
    built in)."""

    name: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Account(Model):
    """An account: who owns API keys and mailboxes, and the plan that limits them. `limits` is
    there when the account is the caller's own (`client.account()`). An anonymous inbox's
    token has no account: `id` and `name` are None and `plan` is `anonymous`; the bootstrap
    admin key's account has no plan (`plan` None: never limited)."""

    id: str | None = None
    name: str | None = None
    plan: str | None = None
    created_at: datetime | None = None
    limits: PlanLimits | None = None


class UsagePeriod(Model):
    """The calendar month (UTC) the monthly counters cover: from `start` to `end`."""

    start: datetime
    end: datetime


class UsageFigures(Model):
    """What is in use now (`mailboxes`, `storage_bytes`) and counted this month."""

    mailboxes: int = 0
    received_this_month: int = 0
    sent_this_month: int = 0
    storage_bytes: int = 0


class Usage(Model):
    """The caller's plan, what it has used in the current period, and the plan's limits.

    >>> usage = client.usage()
    >>> usage.usage.sent_this_month, usage.limits.sent_per_month   # e.g. (12, 100); None: unlimited
    """

    plan: str | None = Field(description="The plan's name; None for the bootstrap admin key.")
    period: UsagePeriod
    usage: UsageFigures
    limits: PlanLimits

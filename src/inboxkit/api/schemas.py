"""Request and response models: what /openapi.json documents and what the routes return."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from inboxkit.labels import MAX_LABEL_CHARS, MAX_LABELS_PER_CHANGE
from inboxkit.services.auth import SCOPES
from inboxkit.services.messages import MAX_BATCH

T = TypeVar("T")


_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)


def _date_time_text(value: object) -> object:
    # pydantic would also take "0.5" (seconds since 1970), a bare date or a time without a
    # zone; the documented format is an RFC 3339 date-time, so nothing else gets through.
    if isinstance(value, str) and not _DATE_TIME.match(value):
        raise ValueError("must be a date-time with a time zone, e.g. 2025-01-31T09:30:00Z")
    return value


# An RFC 3339 date-time (the `date-time` format the OpenAPI document gives it).
DateTime = Annotated[datetime, BeforeValidator(_date_time_text)]


# A plain address as mail/compose.py accepts it for sending (a subset: ASCII domains with a
# letters-only top-level label, within the RFC 5321 length limits by construction).
_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?"
EMAIL_PATTERN = (
    rf"^{_ATOM}{{1,32}}(?:\.{_ATOM}{{1,15}}){{0,2}}@(?:{_LABEL}\.){{1,3}}[A-Za-z]{{2,24}}$"
)

# An http(s) URL as services/egress.py can parse it: a host of DNS labels or an IPv6 literal,
# an optional port (0-65535) and path. (Whether the host may be reached is only known once it
# is resolved.)
_HEX = "[0-9A-Fa-f]{1,4}"
_IPV6 = rf"\[(?:{_HEX}(?::{_HEX}){{7}}|(?:{_HEX}:){{1,3}}(?::{_HEX}){{1,3}}|::(?:{_HEX})?)\]"
# 1-65535 (port 0 is never connected to), leading zeros allowed as urlsplit reads them.
_PORT = (
    "0{0,4}(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
)
URL_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp][Ss]?://(?:(?:{_LABEL}\.){{0,4}}{_LABEL}|{_IPV6})"
    rf"(?::{_PORT})?(?:/[!-~]*)?$"
)

# mail/addresses.py's handle rule (checked after lower-casing): letters, digits, ".", "-",
# "_", starting and ending with a letter or digit, no "..", at most 64 characters.
# Surrounding spaces are ignored.
HANDLE_PATTERN = r"^ *[A-Za-z0-9](?:(?:\.?[A-Za-z0-9_-])*\.?[A-Za-z0-9])? *$"

Scope = Literal[
    "mailboxes:read",
    "mailboxes:write",
    "messages:read",
    "messages:write",
    "send",
    "webhooks",
    "capture",
    "ingest",
    "admin",
]
assert Scope.__args__ == SCOPES  # type: ignore[attr-defined]

STREAMS_EXCEEDED = "The token already holds its most open waits and event streams (see Retry-After)"


def _json_number(value: object) -> object:
    # pydantic would also take `true` or "5" for an integer; the document says a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return value


# A body integer: a JSON number with no fraction (5 or 5.0), never a string or a boolean.
JsonInt = Annotated[int, BeforeValidator(_json_number)]
# A positive number of minutes (the constraint sits inside, so the document shows `minimum`).
Minutes = Annotated[int, Field(ge=1), BeforeValidator(_json_number)]
# A body boolean: `true` or `false` only (not 1, "yes", "true").
JsonBool = Annotated[bool, Field(strict=True)]


# Names and labels: no control characters (a NUL cannot even be stored by PostgreSQL).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class Strict(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Data(BaseModel, Generic[T]):
    """A response holding one object, under `data`."""

    data: T


class PageMeta(BaseModel):
    """Paging details of a list response."""

    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class Page(BaseModel, Generic[T]):
    """One page of a list: the items under `data`; pass `meta.next_cursor` back as `cursor` for
    the next page."""

    data: list[T]
    meta: PageMeta


class ErrorBody(BaseModel):
    """What went wrong: a stable `code` to act on and a `message` to show a person."""

    code: str = Field(description="A stable machine-readable code, e.g. not_found.")
    message: str = Field(description="A human sentence saying what went wrong and what to do.")
    details: dict[str, Any] | None = Field(
        None,
        description="For `quota_exceeded`: the plan field hit (`limit`), what the plan allows "
        "(`allowed`) and what is used (`used`).",
    )


class ErrorResponse(BaseModel):
    """The body of every error response; branch on `error.code`, not on the message."""

    error: ErrorBody


class MailboxCreate(Strict):
    """A mailbox to create: by default a random test address that expires; in `agent` mode, a
    persistent identity, optionally with a chosen `handle`."""

    # A handle only with `"mode": "agent"` (test addresses are random).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"mode": {"const": "agent"}}, "required": ["mode"]},
                {"properties": {"handle": {"type": "null"}}},
            ]
        }
    )

    mode: Literal["test", "agent"] = Field(
        "test", description="test: random address that expires; agent: persistent identity."
    )
    handle: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=HANDLE_PATTERN,
        description="Agent mode only: the local part to claim (case-insensitive).",
    )
    domain: str | None = Field(
        None,
        min_length=1,
        description="One of the server's domains (default: first), or a verified custom "
        "domain of the account (or a subdomain of a wildcard one; docs/domains.md).",
    )
    ttl_minutes: Minutes | None = Field(None, description="Minutes until the mailbox expires.")
    name: str | None = Field(None, max_length=200, pattern=PRINTABLE)


class MailboxUpdate(Strict):
    """Changes to a mailbox: rename it, or extend its life; fields left out stay as they are."""

    name: str | None = Field(None, max_length=200, pattern=PRINTABLE)
    ttl_minutes: Minutes | None = Field(
        None, description="Extend: expire this many minutes from now."
    )
    outbound_review: StrictBool | None = Field(
        None,
        description="Turn reviewed sending on or off: while on, every send and reply becomes a "
        "draft awaiting approval. Only an account's API key may change it, never the "
        "mailbox's own token.",
    )


class Mailbox(BaseModel):
    """A mailbox: an address that receives mail, with its expiry (null: it never expires) and
    message counts."""

    id: str
    address: str
    mode: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    message_count: int = Field(0, description="Every message stored, hidden spam included.")
    unread_count: int = Field(
        0, description="Unread messages, not counting mail hidden as spam (see `spam=true`)."
    )
    outbound_review: bool = Field(
        False,
        description="Sends and replies become drafts awaiting an account's approval "
        "(`POST …/drafts/{id}/approve`) instead of being sent.",
    )


class MailboxCreated(Mailbox):
    """A mailbox just created, with its mailbox token (shown only in this response)."""

    token: str = Field(description="Mailbox token (ikm_…) for this mailbox alone; shown once.")


class HandleAvailability(BaseModel):
    """Whether a handle can be claimed for an agent mailbox, the address it would give, and if
    not, why."""

    available: bool
    address: str
    reason: Literal["taken", "reserved", "invalid"] | None


class Link(BaseModel):
    """A link found in a message, with what following it does (`kind`) and its visible text."""

    url: str
    kind: Literal["verify", "login", "reset", "unsubscribe", "other"]
    text: str


class CodeCandidate(BaseModel):
    """A possible one-time code with its confidence (0 to 1) and the text around it, for judging
    a doubtful match."""

    value: str
    confidence: float
    snippet: str


class Attachment(BaseModel):
    """An attachment or inline part of a message; its bytes are downloaded by `id`."""

    id: str
    filename: str | None
    content_type: str
    size: int
    content_id: str | None
    disposition: str


class SessionTLS(BaseModel):
    """How an SMTP session was encrypted (STARTTLS)."""

    version: str = Field(description="Protocol version, e.g. 'TLSv1.3'.")
    cipher: str = Field(description="Cipher suite name, e.g. 'TLS_AES_256_GCM_SHA384'.")


class MessageEnvelope(BaseModel):
    """The SMTP envelope a message came with (sender, recipients, client address, HELO name),
    which can differ from its From and To headers."""

    mail_from: str
    rcpt_to: list[str]
    remote_addr: str | None
    helo: str | None
    via: str | None = Field(
        default=None,
        description="How captured mail reached the capture mailbox: 'smtp' (SMTP AUTH) or "
        "'esp:<provider>' (an emulated send API). Null on mail received as such.",
    )
    tls: SessionTLS | None = Field(
        default=None, description="The TLS of the SMTP session (STARTTLS); null in clear."
    )


class SpamVerdict(BaseModel):
    """How the spam filter judged a message for this mailbox."""

    verdict: Literal["clean", "quarantine", "spam", "blocked"] = Field(
        description="`quarantine`: delivered and flagged. `spam` and `blocked` (a block-listed "
        "sender): stored, and in agent mailboxes hidden from the default list, `wait`, "
        "streams, webhooks and unread counts (`?spam=true` lists them). Test and capture "
        "mailboxes never hide mail."
    )
    score: float | None = Field(description="The engine's score; null when not scored.")
    reason: str | None = Field(description="What weighed most (rules, symbols or a list).")
    engine: Literal["rspamd", "builtin", "unavailable", "none"] = Field(
        description="Who scored it: `unavailable` when the configured engine failed or was "
        "too slow (the message is delivered: the filter fails open), `none` when not scored "
        "(sent mail, or filtering off)."
    )


class MessageSummary(BaseModel):
    """A message as listed: its headers, a preview, and the codes and links found in it, without
    the bodies."""

    id: str
    mailbox_id: str
    direction: Literal["inbound", "outbound"]
    from_: str = Field(alias="from", serialization_alias="from")
    from_name: str
    to: list[str]
    subject: str
    preview: str
    received_at: datetime
    is_read: bool
    has_attachments: bool
    size: int
    codes: list[str] = Field(description="One-time codes, best first, as a human would type them.")
    links: list[Link] = Field(description="Links, the one to click first at the top.")
    tags: list[str] = Field(description="+tags the message was addressed with.")
    parse_error: bool
    delivery_status: str | None = Field(None, description="Outbound only: queued, sent or failed.")
    delivery_error: str | None = None
    from_verified: bool = Field(
        False,
        description="The From domain is authenticated: DMARC passed, or the domain publishes no "
        "DMARC record and an aligned DKIM or SPF check passed. False when sender "
        "authentication was not evaluated (test mailboxes by default).",
    )
    spam: SpamVerdict = Field(
        default_factory=lambda: SpamVerdict(
            verdict="clean", score=None, reason=None, engine="none"
        ),
        description="The spam filter's verdict for this mailbox.",
    )
    labels: list[str] = Field(
        default_factory=list,
        description="The user labels (lower-case, sorted), then the system labels: `sent` on "
        "mail sent from the mailbox, `spam` on mail hidden as spam.",
    )
    thread_id: str | None = Field(
        None,
        description="The conversation this message belongs to (GET …/threads/{thread_id}); "
        "null only briefly, on mail stored before threads existed.",
    )

    model_config = ConfigDict(populate_by_name=True)


class Thread(BaseModel):
    """A conversation: its messages counted in the view asked for (visible mail, or the spam
    folder with `spam=true`)."""

    id: str
    mailbox_id: str
    subject: str = Field(description="The subject of the message that started it.")
    participants: list[str] = Field(
        description="Lower-cased addresses seen in From, To and Cc of its messages (at most 50)."
    )
    message_count: int
    unread_count: int
    last_message_at: datetime = Field(
        description="When its newest message in the view arrived; the list's order."
    )
    labels: list[str] = Field(
        description="The labels its messages carry: their user labels (sorted), then the "
        "system labels `sent` when one is outbound and `spam` when one is hidden as spam."
    )
    preview: str = Field(description="The start of its newest message's text.")


class ThreadDetail(Thread):
    """A thread with its messages, oldest first (a page of at most `limit`)."""

    messages: list[MessageSummary]


class ThreadPage(BaseModel):
    """One thread under `data`; pass `meta.next_cursor` back as `cursor` for its next
    messages."""

    data: ThreadDetail
    meta: PageMeta


class Highlight(BaseModel):
    """Where a search matched: a fragment of one field, HTML-escaped, each hit in
    `<mark>`…`</mark>`."""

    field: Literal["subject", "from", "to", "body"]
    fragment: str = Field(description="HTML: the text escaped, hits wrapped in <mark>.")


class SearchResult(MessageSummary):
    """A message summary and the fragments where the query matched it (at most five)."""

    highlights: list[Highlight]


AuthWord = Literal["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]


class SpfCheck(BaseModel):
    """SPF of the envelope sender (or the HELO name when the reverse-path is empty)."""

    result: AuthWord
    domain: str | None


class DkimCheck(BaseModel):
    """One DKIM signature's result, signing domain (d=) and selector (s=)."""

    result: AuthWord
    domain: str | None
    selector: str | None


class DmarcCheck(BaseModel):
    """DMARC for the From header's domain, with the policy its owner publishes."""

    result: AuthWord
    policy: Literal["none", "quarantine", "reject"] | None = Field(
        description="The published policy (p=, or sp= for a subdomain); null without a record."
    )
    domain: str | None


SesWord = Literal["PASS", "FAIL", "GRAY", "PROCESSING_FAILED"]


class SesVerdicts(BaseModel):
    """Amazon SES's own verdicts, as its receipt notification gave them (null when absent)."""

    spam: SesWord | str | None
    virus: SesWord | str | None
    spf: SesWord | str | None
    dkim: SesWord | str | None
    dmarc: SesWord | str | None


class Authentication(BaseModel):
    """Sender authentication results (RFC 8601 result words)."""

    spf: SpfCheck
    dkim: list[DkimCheck] = Field(description="One entry per verified signature (at most 5).")
    dmarc: DmarcCheck
    ses: SesVerdicts | None = Field(
        None,
        description="Mail received through Amazon SES (`/inbound/ses`): SES's verdicts, which "
        "the fields above restate (PASS → pass, FAIL → fail, GRAY → none, PROCESSING_FAILED → "
        "temperror; SES names no DKIM domain or selector). Absent for mail checked here.",
    )


class Message(MessageSummary):
    """A whole message: the summary plus its bodies, headers, attachments and SMTP envelope."""

    cc: list[str]
    reply_to: list[str]
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    headers: list[list[str]] = Field(description="[name, value] pairs in order.")
    text: str | None = Field(
        description="The plain-text part; for HTML-only mail, a text rendering of the HTML."
    )
    html: str | None = Field(description="The HTML part as received (not safe to render).")
    html_sanitized: str | None = Field(description="The HTML part sanitised for display.")
    reply_text: str | None = Field(
        None,
        description="What the author wrote: for a reply, its new text without the quoted "
        "history (quotes, attributions, Outlook header blocks), signature and mobile footer; "
        "a forward and inline answers are kept whole; for other mail, the whole text without "
        "signature and footer. Null when the message has no body.",
    )
    markdown: str | None = Field(
        None,
        description="The body as Markdown (the HTML rendered, else the text part), at most "
        "100,000 characters (cut with a marker). Null when the message has no body.",
    )
    attachments: list[Attachment]
    envelope: MessageEnvelope
    code_candidates: list[CodeCandidate]
    parse_error_detail: str | None
    authentication: Authentication | None = Field(
        None,
        description="SPF, DKIM and DMARC results; null when not evaluated (test and capture "
        "mailboxes by default, mail that did not arrive over SMTP).",
    )
    authentication_results: str | None = Field(
        None,
        description="The same results as an Authentication-Results header value (RFC 8601), "
        "the authserv-id being this server's SMTP hostname; null when not evaluated.",
    )


# A label as a request gives it: trimmed and lower-cased by the server, so at most 64
# characters, none of them a control character or line separator, not only spaces.
LABEL_PATTERN = (
    r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]"
    r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
)
LabelIn = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_CHARS, pattern=LABEL_PATTERN)]
LabelList = Annotated[
    list[LabelIn],
    Field(
        min_length=1,
        max_length=MAX_LABELS_PER_CHANGE,
        description=f"1 to {MAX_LABELS_PER_CHANGE} labels, matched case-insensitively; the "
        "system labels (sent, spam, draft) cannot be added or removed.",
    ),
]


class MessageUpdate(Strict):
    """Mark a message read or unread, and add or remove labels; give at least one field.
    Removing a label the message does not carry changes nothing."""

    # Each may be left out, but none is null: `Field(None)` is a default the request never
    # states, so the document and the server both refuse `null`.
    is_read: JsonBool = Field(None)  # type: ignore[assignment]
    add_labels: LabelList = Field(None)  # type: ignore[arg-type]
    remove_labels: LabelList = Field(None)  # type: ignore[arg-type]

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})


class MessageBatch(MessageUpdate):
    """The same change to several messages of one mailbox, all or nothing."""

    ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        json_schema_extra={"uniqueItems": True},
        description=f"1 to {MAX_BATCH} message ids of this mailbox, each once.",
    )

    model_config = ConfigDict(json_schema_extra={"minProperties": 2})


class BatchResult(BaseModel):
    """What a batch changed: every message it named (a batch changes all or none)."""

    updated: int = Field(description="How many messages the change was applied to.")
    ids: list[str] = Field(description="Their ids, in the order given.")
    messages: list[MessageSummary] = Field(description="Each message as it is now, in order.")


class WaitResult(BaseModel):
    """The outcome of a wait: the first matching message, or `timed_out` true when none arrived
    in time."""

    message: MessageSummary | None
    timed_out: bool


class ApiKeyCreate(Strict):
    """An API key to create, with its scopes, in a new account or an existing one."""

    name: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    scopes: list[Scope] | None = Field(
        None,
        max_length=len(SCOPES),
        description="Default: every scope except `admin` and `ingest`, which only a caller "
        "with `admin` may grant (`ingest`: deliver mail to any hosted mailbox over "
        "`POST /inbound/raw`, an operator's credential).",
    )
    account_id: str | None = Field(None, description="Add the key to this account (default: new).")
    modes: list[Literal["test", "agent"]] | None = Field(
        None,
        min_length=1,
        max_length=2,
        description="The mailbox modes the key may create and use (default: both).",
    )


class ApiKey(BaseModel):
    """An API key's details; the key itself is shown only when it is created (`prefix`
    identifies it)."""

    id: str
    account_id: str
    name: str
    scopes: list[str]
    modes: list[str]
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    """An API key just created, with the key itself (shown only in this response)."""

    token: str = Field(description="The API key (ik_…); shown once.")


class Health(BaseModel):
    """Whether the server is ready: `status`, and the result of each dependency check."""

    status: str
    checks: dict[str, bool] = {}


# -- plans, accounts, usage ---------------------------------------------------------------------


def _not_a_bool(value: Any) -> Any:
    # JSON's true/false are not numbers, though Python's bool is an int.
    if isinstance(value, bool):
        raise ValueError("must be a whole number or null, not true/false")
    return value


def _a_bool(value: Any) -> Any:
    if value is not None and not isinstance(value, bool):
        raise ValueError("must be true, false or null")
    return value


_Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
Limit = Annotated[_Count | None, BeforeValidator(_not_a_bool)]
Flag = Annotated[bool | None, BeforeValidator(_a_bool)]


class PlanLimits(BaseModel):
    """A plan's limits; null is unlimited."""

    max_mailboxes: Limit = Field(
        None, description="Live mailboxes at once (anonymous: per address)."
    )
    max_messages_per_mailbox: Limit = None
    max_ttl_minutes: Limit = None
    retention_days: Limit = Field(None, description="Messages older than this are purged.")
    received_per_month: Limit = Field(None, description="Calendar month, UTC.")
    sent_per_month: Limit = Field(None, description="Calendar month, UTC.")
    max_message_bytes: Limit = None
    max_webhooks: Limit = None
    max_domains: Limit = None
    send: Literal["none", "local", "any"] | None = Field(
        None, description="Whom its mailboxes may send to: nobody, mailboxes hosted here, anybody."
    )
    agent_mode: Flag = Field(None, description="Persistent agent mailboxes allowed.")
    api_access: Flag = None
    mcp_access: Flag = None
    create_per_minute: Limit = None
    read_per_minute: Limit = None
    write_per_minute: Limit = None
    send_per_minute: Limit = None
    concurrent_waits: Limit = Field(None, description="Open waits, WebSockets and SSE streams.")


class PlanCreate(PlanLimits, Strict):
    """A plan to create: its name and any limits (the rest unlimited)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")


class PlanUpdate(PlanLimits, Strict):
    """Limits to change; a field set to null becomes unlimited, an absent one stays."""


class PlanView(PlanLimits):
    """A plan and its limits."""

    name: str
    created_at: datetime
    updated_at: datetime


class AccountCreate(Strict):
    """An account to create, on a plan (default: `default`)."""

    name: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    plan: str | None = Field(None, max_length=64, pattern=PRINTABLE)


class AccountUpdate(Strict):
    """What to change of an account; its plan applies from the next request on."""

    name: str | None = Field(None, min_length=1, max_length=200, pattern=PRINTABLE)
    plan: str | None = Field(None, max_length=64, pattern=PRINTABLE)


class Account(BaseModel):
    """An account: whose keys, mailboxes and webhooks, on which plan."""

    id: str | None
    name: str | None
    plan: str | None = Field(description="The plan's name; null for the bootstrap admin account.")
    created_at: datetime | None


class OwnAccount(Account):
    """The caller's account and its plan's limits."""

    limits: PlanLimits


class UsagePeriod(BaseModel):
    """The calendar month (UTC) the monthly figures count."""

    start: datetime
    end: datetime


class UsageFigures(BaseModel):
    """What is used now."""

    mailboxes: int
    received_this_month: int
    sent_this_month: int
    storage_bytes: int


class Usage(BaseModel):
    """The caller's plan, this month, the figures and the limits."""

    plan: str | None
    period: UsagePeriod
    usage: UsageFigures
    limits: PlanLimits


# -- drafts (api/drafts.py; held sends in api/outbound.py) -----------------------------------


class DraftAttachment(BaseModel):
    """A file a draft carries (its bytes are not shown again)."""

    filename: str
    content_type: str
    size: int
    content_id: str | None


class DraftReview(BaseModel):
    """Where a draft stands with review: `pending` approval, or `approved` (when, by whom)."""

    state: Literal["pending", "approved"]
    approved_at: datetime | None
    approved_by: str | None


class Draft(BaseModel):
    """A message not sent yet. `status`: `draft` (kept), `pending_review` (awaits an account's
    approval), `scheduled` (sent at `send_at`, or retried), `sending`, `sent` (see
    `sent_message_id`) or `failed` (see `error`; edit and send again)."""

    id: str
    mailbox_id: str
    status: Literal["draft", "pending_review", "scheduled", "sending", "sent", "failed"]
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    text: str | None
    html: str | None
    attachments: list[DraftAttachment]
    in_reply_to: str | None
    reply_all: bool
    forward_of: str | None
    send_at: datetime | None
    review: DraftReview | None
    sent_message_id: str | None = Field(description="The sent message's id, once sent.")
    error: str | None = Field(description="Why the last attempt failed, if it did.")
    created_at: datetime
    updated_at: datetime


class ReviewNote(BaseModel):
    """Said when a message was kept for review instead of sent: it was NOT sent."""

    state: Literal["pending"]
    sent: Literal[False]
    message: str = Field(description="That it was not sent, and how it is approved.")
    approve_url: str = Field(description="POST here with an account's API key to approve.")


class DraftAnswer(BaseModel):
    """A draft; `review` is present when it now awaits approval (nothing was sent)."""

    data: Draft
    review: ReviewNote | None = None


class HeldForReview(BaseModel):
    """A send or reply from a mailbox under review: NOT sent, but kept as the draft in `data`,
    awaiting approval as `review` says."""

    data: Draft
    review: ReviewNote

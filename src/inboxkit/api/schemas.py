"""Request and response models: what /openapi.json documents and what the routes return."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Data(BaseModel, Generic[T]):
    data: T


class PageMeta(BaseModel):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class Page(BaseModel, Generic[T]):
    data: list[T]
    meta: PageMeta


class ErrorBody(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. not_found.")
    message: str = Field(description="A human sentence saying what went wrong and what to do.")


class ErrorResponse(BaseModel):
    error: ErrorBody


class MailboxCreate(Strict):
    mode: Literal["test", "agent"] = Field(
        "test", description="test: random address that expires; agent: persistent identity."
    )
    handle: str | None = Field(None, description="Agent mode only: the local part to claim.")
    domain: str | None = Field(None, description="One of the server's domains (default: first).")
    ttl_minutes: int | None = Field(None, ge=1, description="Minutes until the mailbox expires.")
    name: str | None = Field(None, max_length=200)


class MailboxUpdate(Strict):
    name: str | None = Field(None, max_length=200)
    ttl_minutes: int | None = Field(
        None, ge=1, description="Extend: expire this many minutes from now."
    )


class Mailbox(BaseModel):
    id: str
    address: str
    mode: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    message_count: int = 0
    unread_count: int = 0


class MailboxCreated(Mailbox):
    token: str = Field(description="Mailbox token (ikm_…) for this mailbox alone; shown once.")


class HandleAvailability(BaseModel):
    available: bool
    address: str
    reason: Literal["taken", "reserved", "invalid"] | None


class Link(BaseModel):
    url: str
    kind: Literal["verify", "login", "reset", "unsubscribe", "other"]
    text: str


class CodeCandidate(BaseModel):
    value: str
    confidence: float
    snippet: str


class Attachment(BaseModel):
    id: str
    filename: str | None
    content_type: str
    size: int
    content_id: str | None
    disposition: str


class MessageEnvelope(BaseModel):
    mail_from: str
    rcpt_to: list[str]
    remote_addr: str | None
    helo: str | None


class MessageSummary(BaseModel):
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

    model_config = ConfigDict(populate_by_name=True)


class Message(MessageSummary):
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
    attachments: list[Attachment]
    envelope: MessageEnvelope
    code_candidates: list[CodeCandidate]
    parse_error_detail: str | None


class MessageUpdate(Strict):
    is_read: bool


class WaitResult(BaseModel):
    message: MessageSummary | None
    timed_out: bool


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] | None = Field(None, description="Default: every scope except admin.")
    account_id: str | None = Field(None, description="Add the key to this account (default: new).")


class ApiKey(BaseModel):
    id: str
    account_id: str
    name: str
    scopes: list[str]
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    token: str = Field(description="The API key (ik_…); shown once.")


class Health(BaseModel):
    status: str
    checks: dict[str, bool] = {}

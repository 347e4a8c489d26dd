"""The inboxkit Python SDK: `InboxKit` (blocking) and `AsyncInboxKit` (asyncio).

    from inboxkit.client import InboxKit

    with InboxKit() as client, client.create_inbox() as inbox:
        print(inbox.address)                      # hand it to your signup form…
        code = inbox.wait_for_code(timeout=60)    # …and get the code it mails

Configuration: arguments, else `INBOXKIT_URL` (default http://127.0.0.1:8025) and
`INBOXKIT_API_KEY` (optional: without one, inboxes are created anonymously and each uses its
own mailbox token). Errors are `InboxKitError` subclasses carrying the server's `.code`.
"""

from inboxkit.client.aio import AsyncInboxKit
from inboxkit.client.errors import (
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    HandleTaken,
    InboxKitError,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationError,
    WaitTimeout,
)
from inboxkit.client.inbox import AsyncInbox, Inbox
from inboxkit.client.models import (
    Account,
    ApiKey,
    ApiKeyCreated,
    Attachment,
    BatchResult,
    CodeCandidate,
    DnsRecord,
    Domain,
    DomainVerification,
    Draft,
    Envelope,
    Fault,
    HandleAvailability,
    Highlight,
    Ingested,
    Link,
    ListEntry,
    Mailbox,
    MailboxCreated,
    Message,
    MessageSummary,
    Page,
    PendingDraft,
    Plan,
    PlanLimits,
    SearchResult,
    SentMessage,
    SpamVerdict,
    Thread,
    Usage,
    UsageFigures,
    UsagePeriod,
    Webhook,
    WebhookAttempt,
    WebhookCreated,
    WebhookDelivery,
)
from inboxkit.client.operations import DEFAULT_URL
from inboxkit.client.sync import InboxKit

__all__ = [
    "InboxKit",
    "AsyncInboxKit",
    "Inbox",
    "AsyncInbox",
    "DEFAULT_URL",
    # models
    "Mailbox",
    "MailboxCreated",
    "HandleAvailability",
    "MessageSummary",
    "SearchResult",
    "Thread",
    "Highlight",
    "Message",
    "SpamVerdict",
    "Attachment",
    "Envelope",
    "Link",
    "CodeCandidate",
    "Page",
    "SentMessage",
    "BatchResult",
    "Draft",
    "PendingDraft",
    "ApiKey",
    "ApiKeyCreated",
    "Webhook",
    "WebhookCreated",
    "WebhookAttempt",
    "WebhookDelivery",
    "Ingested",
    "Fault",
    "ListEntry",
    "DnsRecord",
    "Domain",
    "DomainVerification",
    "Plan",
    "PlanLimits",
    "Account",
    "Usage",
    "UsagePeriod",
    "UsageFigures",
    # errors
    "InboxKitError",
    "ConnectionFailed",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "HandleTaken",
    "PayloadTooLarge",
    "ValidationError",
    "QuotaExceeded",
    "RateLimited",
    "ServerError",
    "WaitTimeout",
]

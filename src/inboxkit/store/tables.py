"""Table definitions shared by SQLite and PostgreSQL.

Hot rows (`messages`) hold what listing and waiting need; raw bytes and parsed bodies live in
`contents`, stored once per received message however many mailboxes it reached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from inboxkit.plan import PLAN_LIMITS

__all__ = [
    "metadata",
    "accounts",
    "api_keys",
    "mailboxes",
    "contents",
    "messages",
    "message_labels",
    "threads",
    "outbox",
    "OutboxStatus",
    "idempotency_keys",
    "drafts",
    "DraftStatus",
    "webhooks",
    "webhook_deliveries",
    "WebhookDeliveryStatus",
    "webhook_attempts",
    "rate_events",
    "plans",
    "PLAN_LIMITS",
    "usage_counters",
    "faults",
    "domains",
    "DomainStatus",
    "sns_messages",
    "utcnow",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite has no time zone type)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


Id = sa.String(26)

# -- plans and accounts ------------------------------------------------------------------------

plans = sa.Table(
    "plans",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("max_mailboxes", sa.Integer, nullable=True),
    sa.Column("max_messages_per_mailbox", sa.Integer, nullable=True),
    sa.Column("max_ttl_minutes", sa.Integer, nullable=True),
    sa.Column("retention_days", sa.Integer, nullable=True),
    sa.Column("received_per_month", sa.Integer, nullable=True),
    sa.Column("sent_per_month", sa.Integer, nullable=True),
    sa.Column("max_message_bytes", sa.Integer, nullable=True),
    sa.Column("max_webhooks", sa.Integer, nullable=True),
    sa.Column("max_domains", sa.Integer, nullable=True),
    sa.Column("send", sa.String(8), nullable=True),
    sa.Column("agent_mode", sa.Boolean, nullable=True),
    sa.Column("api_access", sa.Boolean, nullable=True),
    sa.Column("mcp_access", sa.Boolean, nullable=True),
    sa.Column("create_per_minute", sa.Integer, nullable=True),
    sa.Column("read_per_minute", sa.Integer, nullable=True),
    sa.Column("write_per_minute", sa.Integer, nullable=True),
    sa.Column("send_per_minute", sa.Integer, nullable=True),
    sa.Column("concurrent_waits", sa.Integer, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # NULL only for the bootstrap admin account, which no plan limits.
    sa.Column("plan", sa.String(64), sa.ForeignKey("plans.name"), nullable=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    # The mailbox modes ("test", "agent") the key may create and use; NULL for both.
    sa.Column("modes", sa.JSON, nullable=True),
    # SHA-256 of "AWS4" + the token, for verifying AWS Signature Version 4 requests signed
    # with the token as secret key (the emulated SES API, DESIGN §11). HMAC hashes a key
    # longer than its 64-byte block before use, and "AWS4" + a token is 71 bytes, so this
    # digest is the first HMAC key of SigV4's derivation: the token itself is never kept.
    # NULL for keys made before it was kept (shorter tokens): those cannot sign SES requests.
    sa.Column("sigv4_digest", sa.String(64), nullable=True),
    sa.Index("ix_api_keys_account_id", "account_id", "id"),
)

mailboxes = sa.Table(
    "mailboxes",
    metadata,
    sa.Column("id", Id, primary_key=True),
    # NULL for anonymous mailboxes, reachable only through their mailbox token.
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
    # Kept after deletion (contents purged) so an address is never handed out twice.
    sa.Column("address", sa.String(320), nullable=False, unique=True),
    sa.Column("local_part", sa.String(64), nullable=False),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("token_digest", sa.String(64), nullable=True, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("deleted_at", UTCDateTime, nullable=True),
    # Audit: the surface that created it, and for anonymous mailboxes the creating client's
    # address (counted against the anonymous plan's mailboxes per address; never shown).
    sa.Column("created_via", sa.String(16), nullable=True),
    sa.Column("created_ip", sa.String(64), nullable=True),
    # What the mailbox holds now, kept in the transactions that store and delete messages:
    # the per-mailbox ceiling and the account's storage figure read these instead of counting.
    sa.Column("message_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stored_bytes", sa.BigInteger, nullable=False, server_default="0"),
    # Every send and reply becomes a draft awaiting an account's approval (migration 0017).
    sa.Column("outbound_review", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_mailboxes_account_id", "account_id", "id"),
    sa.Index("ix_mailboxes_expires_at", "expires_at"),
    # One live capture mailbox per account (migration 0006).
    sa.Index(
        "ux_mailboxes_live_capture",
        "account_id",
        unique=True,
        sqlite_where=sa.text("mode = 'capture' AND deleted_at IS NULL"),
        postgresql_where=sa.text("mode = 'capture' AND deleted_at IS NULL"),
    ),
)

contents = sa.Table(
    "contents",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    # The message as received (`size` bytes), stored as `raw_encoding` says (store/rawcodec.py:
    # 0 as received, 1 one zstd frame); 0 on every row stored before compression existed.
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("raw_encoding", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("html", sa.Text, nullable=True),
    sa.Column("attachments", sa.JSON, nullable=False),
    sa.Column("code_details", sa.JSON, nullable=False),
    sa.Column("parse_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Prepared at parse time (in the parse worker) so reads do no parsing or sanitising:
    # the HTML as nh3 sanitised it, and every attachment's decoded bytes concatenated in the
    # order of `attachments` (each one's offset is the sum of the sizes before it). NULL on
    # rows stored before these existed: those are served by re-parsing `raw`.
    sa.Column("html_sanitized", sa.Text, nullable=True),
    sa.Column("attachment_data", sa.LargeBinary, nullable=True),
    # How each attachment is stored in `attachment_data` when any is compressed: one
    # `[encoding, stored length]` per attachment, in order (store/rawcodec.py `encode_parts`).
    # NULL: every attachment as decoded, at the offsets their sizes give.
    sa.Column("attachment_layout", sa.JSON(none_as_null=True), nullable=True),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("mailbox_id", Id, sa.ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("content_id", Id, sa.ForeignKey("contents.id"), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("from_addr", sa.String(320), nullable=False),
    sa.Column("from_name", sa.String(320), nullable=False),
    sa.Column("to_addrs", sa.JSON, nullable=False),
    sa.Column("cc_addrs", sa.JSON, nullable=False),
    sa.Column("reply_to", sa.JSON, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("preview", sa.String(200), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("is_read", sa.Boolean, nullable=False),
    sa.Column("has_attachments", sa.Boolean, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    # The bytes the raw message takes as stored (compressed or not): what `stored_bytes` and
    # `storage_bytes` count. NULL on rows from before compression, which were counted by `size`.
    sa.Column("stored_size", sa.Integer, nullable=True),
    sa.Column("codes", sa.JSON, nullable=False),
    sa.Column("links", sa.JSON, nullable=False),
    sa.Column("has_code", sa.Boolean, nullable=False),
    sa.Column("message_id", sa.Text, nullable=True),
    sa.Column("in_reply_to", sa.Text, nullable=True),
    sa.Column("references", sa.JSON, nullable=False),
    sa.Column("envelope", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("parse_error", sa.Boolean, nullable=False),
    # No longer read: the full-text index below replaced it (migration 0013); new rows store
    # an empty string until a migration drops the column.
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("delivery_status", sa.String(16), nullable=True),
    sa.Column("delivery_error", sa.Text, nullable=True),
    # Sender authentication (senders/): the SPF/DKIM/DMARC results, null when not evaluated,
    # and whether they vouch for the From domain.
    sa.Column("authentication", sa.JSON, nullable=True),
    sa.Column("from_verified", sa.Boolean, nullable=False, server_default=sa.false()),
    # Spam (spam/): the verdict as the summary shows it (null: never scored), and whether the
    # verdict hides the message from its mailbox's default views (agent mailboxes only).
    sa.Column("spam", sa.JSON, nullable=True),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    # The searchable words (store/search.py, migration 0013): subject, sender, recipients and
    # the start of the body, reduced to case-folded words; NULL until the row is indexed. The
    # index over them is outside this metadata: an FTS5 table kept by triggers on SQLite, a
    # generated `search_vector` column with a GIN index on PostgreSQL.
    sa.Column("search_subject", sa.Text, nullable=True),
    sa.Column("search_from", sa.Text, nullable=True),
    sa.Column("search_to", sa.Text, nullable=True),
    sa.Column("search_body", sa.Text, nullable=True),
    # The user labels, sorted: the same set `message_labels` holds (migration 0016), kept
    # beside it in the transaction that changes it so a summary needs no join.
    sa.Column("labels", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    # Its conversation (store/threads.py, migration 0015), set in the storing transaction; NULL
    # only on rows stored before threads existed until the start-up backfill reaches them.
    sa.Column("thread_id", Id, nullable=True),
    # A fixed-length key of `message_id` (mail/threading.py `message_key`): replies find the
    # message they answer by it. Message-IDs may be too long for an index entry.
    sa.Column("message_key", sa.String(32), nullable=True),
    sa.Index("ix_messages_mailbox_id", "mailbox_id", "id"),
    sa.Index("ix_messages_mailbox_message_key", "mailbox_id", "message_key"),
    sa.Index("ix_messages_mailbox_thread", "mailbox_id", "thread_id", "id"),
    # The rows not threaded yet, for the backfill (empty once it is done).
    sa.Index(
        "ix_messages_thread_pending",
        "id",
        sqlite_where=sa.text("thread_id IS NULL"),
        postgresql_where=sa.text("thread_id IS NULL"),
    ),
    # The rows not indexed yet, for the backfill (empty once it is done).
    sa.Index(
        "ix_messages_search_pending",
        "id",
        sqlite_where=sa.text("search_subject IS NULL"),
        postgresql_where=sa.text("search_subject IS NULL"),
    ),
    sa.Index("ix_messages_mailbox_unread", "mailbox_id", "is_read", "id"),
    sa.Index("ix_messages_content_id", "content_id"),
    # Only the hidden rows (migration 0010): the spam folder lists them in id order, and the
    # unread count takes the hidden unread ones off the count `ix_messages_mailbox_unread`
    # gives on its own, so neither reads a large mailbox's visible rows. Hidden rows are few,
    # so the index costs little to keep. `hidden` is a key column although every entry has it
    # true: SQLite keeps no statistics and picks the index matching the most equalities, so
    # without it `(mailbox_id, id)` would win and the spam folder would read the whole mailbox.
    sa.Index(
        "ix_messages_mailbox_hidden",
        "mailbox_id",
        "hidden",
        "id",
        sqlite_where=sa.text("hidden = 1"),
        postgresql_where=sa.text("hidden"),
    ),
)

# A message's user labels, one row each (migration 0016): `?label=` and `label:` read the
# index, which lists a mailbox's messages carrying a label without reading any other row.
# Rows go with their message (ON DELETE CASCADE), whichever path deletes it.
message_labels = sa.Table(
    "message_labels",
    metadata,
    sa.Column("message_id", Id, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("mailbox_id", Id, nullable=False),
    sa.Column("label", sa.String(64), nullable=False),
    sa.PrimaryKeyConstraint("message_id", "label"),
    sa.Index("ix_message_labels_mailbox_id_label_message_id", "mailbox_id", "label", "message_id"),
)

# Conversations (store/threads.py): one row per thread of a mailbox. `last_visible_id` (the
# newest visible message's id, time-sortable; null while it has none) orders the default list
# by activity and is its cursor, `last_hidden_id` the spam view's (migration 0018; the partial
# index holds only the threads with hidden mail). `last_message_id` and `last_message_at` (the
# newest message, hidden or not), `subject_key` and `participants_key` (mail/threading.py) find
# the thread a reply without references belongs to. Counts are not stored: they are read from the messages of a page's
# threads (`ix_messages_mailbox_thread`), so reads, deletions and expiry never leave them stale.
threads = sa.Table(
    "threads",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("mailbox_id", Id, sa.ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("subject_key", sa.String(32), nullable=True),
    sa.Column("participants_key", sa.String(32), nullable=False),
    sa.Column("participants", sa.JSON, nullable=False),
    sa.Column("last_message_id", Id, nullable=False),
    sa.Column("last_message_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_visible_id", Id, nullable=True),
    sa.Column("last_hidden_id", Id, nullable=True),
    sa.Index("ix_threads_mailbox_subject", "mailbox_id", "subject_key", "last_message_at"),
    sa.Index("ix_threads_mailbox_visible", "mailbox_id", "last_visible_id"),
    sa.Index(
        "ix_threads_mailbox_hidden",
        "mailbox_id",
        "last_hidden_id",
        sqlite_where=sa.text("last_hidden_id IS NOT NULL"),
        postgresql_where=sa.text("last_hidden_id IS NOT NULL"),
    ),
)

# Allow and block lists of senders (spam/lists.py): account-wide, or for one mailbox. An entry
# is a lower-cased address, or a domain (with its subdomains when `subdomains`).
sender_lists = sa.Table(
    "sender_lists",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("mailbox_id", Id, sa.ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=True),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("entry", sa.String(320), nullable=False),
    sa.Column("subdomains", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_sender_lists_account_entry", "account_id", "entry"),
)


class DomainStatus(StrEnum):
    """A custom domain's state: `pending` until its records verify, `verified` while they do
    (a verified domain whose TXT record disappears is `pending` again)."""

    PENDING = "pending"
    VERIFIED = "verified"


# Custom domains (DESIGN §10): an account's own domain, served once its `_inboxkit` TXT record
# and MX are verified. Any number of accounts may have the same domain pending; only one may
# hold it verified (the partial unique index), and one account adds a domain once. The DKIM
# private key is stored as PEM (docs/security.md); `dkim_retired` lists the selectors rotated
# out but still published (`[{"selector", "value", "retired_at"}]`), at most a few.
domains = sa.Table(
    "domains",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("domain", sa.String(253), nullable=False),
    sa.Column("wildcard", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("verified_at", UTCDateTime, nullable=True),
    sa.Column("last_checked_at", UTCDateTime, nullable=True),
    # Set when a verified domain's TXT record was found gone; the grace period counts from it.
    sa.Column("unverified_since", UTCDateTime, nullable=True),
    sa.Column("dkim_selector", sa.String(63), nullable=False),
    sa.Column("dkim_private_key", sa.Text, nullable=False),
    sa.Column("dkim_public", sa.Text, nullable=False),
    sa.Column("dkim_retired", sa.JSON, nullable=False),
    sa.UniqueConstraint("account_id", "domain"),
    sa.Index("ix_domains_account_id", "account_id", "id"),
    sa.Index("ix_domains_domain", "domain"),
    sa.Index(
        "ux_domains_verified",
        "domain",
        unique=True,
        sqlite_where=sa.text("status = 'verified'"),
        postgresql_where=sa.text("status = 'verified'"),
    ),
)

# -- outbound mail ---------------------------------------------------------------------------


class OutboxStatus(StrEnum):
    """An outbox row's state, also a sent message's `delivery_status`: queued until every
    recipient is settled, then sent (all accepted) or failed (any refused); cancelled when
    the message was deleted before it went out."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


# One row per sent message: the durable to-do list the outbox workers claim from. Rows outlive
# their message (a deleted message is simply not sent) and count towards the per-mailbox send
# rate, so they are pruned only once well outside the rate window.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("mailbox_id", Id, sa.ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("message_id", Id, nullable=False),
    sa.Column("mail_from", sa.String(320), nullable=False),
    sa.Column("recipients", sa.JSON, nullable=False),
    # Recipients not yet accepted or refused for good, and each finished recipient's outcome.
    sa.Column("pending", sa.JSON, nullable=False),
    sa.Column("results", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # OutboxStatus
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("lock_token", sa.String(26), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),
    sa.Index("ix_outbox_mailbox_created", "mailbox_id", "created_at"),
)


class DraftStatus(StrEnum):
    """A draft's stored state. `scheduled` rows are the queue the drafts worker claims from
    (`next_attempt_at` is when: the send time, or the next retry); a scheduled row under a
    live lease is shown as `sending`. `sent` keeps the sent message's id."""

    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    SCHEDULED = "scheduled"
    SENT = "sent"
    FAILED = "failed"


# Drafts (DESIGN §13): messages not sent yet, kept with the request that will send them, and
# the durable schedule of timed and approved sends (claimed with a lease, store/queue.py).
drafts = sa.Table(
    "drafts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("mailbox_id", Id, sa.ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # DraftStatus
    sa.Column("to_addrs", sa.JSON, nullable=False),
    sa.Column("cc_addrs", sa.JSON, nullable=False),
    sa.Column("bcc_addrs", sa.JSON, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("html", sa.Text, nullable=True),
    # As the send request gives them: filename, content_type, content (base64), content_id.
    sa.Column("attachments", sa.JSON, nullable=False),
    # A message of the mailbox this draft answers (sent as a reply), or forwards.
    sa.Column("in_reply_to", Id, nullable=True),
    sa.Column("reply_all", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("forward_of", Id, nullable=True),
    sa.Column("send_at", UTCDateTime, nullable=True),
    sa.Column("approved_at", UTCDateTime, nullable=True),
    sa.Column("approved_by", sa.String(64), nullable=True),
    sa.Column("sent_message_id", Id, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("lock_token", sa.String(26), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_drafts_mailbox_id", "mailbox_id", "id"),
    sa.Index("ix_drafts_status_next", "status", "next_attempt_at"),
)

# Idempotency-Key records: the request's digest and the answer given, for 24 hours.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    # SHA-256 of (caller, mailbox, key): bounded length whatever key the client sends.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_idempotency_keys_created_at", "created_at"),
)

# -- webhooks ----------------------------------------------------------------------------------

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("mailbox_id", Id, sa.ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    # HMAC signing needs the secret itself, not a digest: it is never returned after creation.
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("description", sa.String(200), nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_webhooks_account_id", "account_id", "id"),
)


class WebhookDeliveryStatus(StrEnum):
    """A webhook delivery's state: pending until a 2xx answer (delivered) or until the retry
    schedule is spent or the endpoint is gone (failed)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


# One row per (event, endpoint); its id is the `webhook-id` header, the same on every retry.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("webhook_id", Id, sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    # The exact body sent (and signed) on every attempt.
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # WebhookDeliveryStatus
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("lock_token", sa.String(26), nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column(
        "delivery_id",
        Id,
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("attempted_at", UTCDateTime, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Index("ix_webhook_attempts_delivery_id", "delivery_id", "id"),
)

# -- rate limits -------------------------------------------------------------------------------

# One row per counted action inside a sliding window (`services/ratelimit.py`); rows older than
# the window are deleted as the bucket is next used. In the database so every process counts.
rate_events = sa.Table(
    "rate_events",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("bucket", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_rate_events_bucket_created", "bucket", "created_at"),
)

# -- usage --------------------------------------------------------------------------------------

# Running figures per subject ("account:<id>", "mailbox:<id>" for an anonymous mailbox's own,
# "ip:<address>" for anonymous mailboxes per client address) and period ("2026-12" for the
# monthly counts, "all" for the standing ones). Changed by upserts in the same transaction that
# stores, queues or deletes what they count, so they are exact without ever being recounted.
usage_counters = sa.Table(
    "usage_counters",
    metadata,
    sa.Column("subject", sa.String(80), primary_key=True),
    sa.Column("period", sa.String(8), primary_key=True),
    sa.Column("mailboxes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("received", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sent", sa.Integer, nullable=False, server_default="0"),
    sa.Column("storage_bytes", sa.BigInteger, nullable=False, server_default="0"),
)

# -- fault injection ----------------------------------------------------------------------------

# SMTP replies an account asked for at a stage of its own mail (services/faults.py). `remaining`
# is NULL for a fault without a count; one that reached 0 is exhausted and kept so its `fired`
# figure can still be read. Both are changed only by one conditional UPDATE per firing.
faults = sa.Table(
    "faults",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    # NULL: every mailbox of the account, its capture mailbox included.
    sa.Column("mailbox_id", Id, sa.ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=True),
    sa.Column("stage", sa.String(8), nullable=False),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("message", sa.String(200), nullable=True),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("count", sa.Integer, nullable=True),
    sa.Column("remaining", sa.Integer, nullable=True),
    sa.Column("fired", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_faults_account_id", "account_id", "id"),
)

# -- web UI sessions ----------------------------------------------------------------------------

# One row per signed-in browser (web/session.py): the SHA-256 digest of the session id the
# cookie carries, and the random key that signs the cookie and derives its CSRF token. Signing
# out deletes the row, so a replayed cookie is refused by every API process at once.
ui_sessions = sa.Table(
    "ui_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("secret", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index("ix_ui_sessions_expires_at", "expires_at"),
)

# -- mail over HTTP -----------------------------------------------------------------------------

# One row per SNS message id `POST /inbound/ses` has handled, with what became of it: the row
# of a delivered notification is inserted by the transaction that stores the message, so a
# redelivery (SNS retries, and may deliver twice) finds it and stores nothing; the primary key
# makes two processes handling the same redelivery at once store it once. Rows older than
# INBOXKIT_SNS_DEDUPE_DAYS are purged by a worker (by `received_at`).
sns_messages = sa.Table(
    "sns_messages",
    metadata,
    sa.Column("message_id", sa.String(100), primary_key=True),
    sa.Column("topic_arn", sa.String(256), nullable=False),
    # `delivered`, `refused` (no recipient took it), `no_content` (an S3 action's notice).
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Index("ix_sns_messages_received_at", "received_at"),
)

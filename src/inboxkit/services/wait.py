"""Waiting for mail: the long-poll `wait` and the `follow` stream behind WebSocket and SSE.

The database is the truth; the bus is a wake-up. Both kinds of consumer subscribe to the bus
*before* their first database read, so mail committed in between cannot slip past. A waiter
re-reads the database on every wake-up (it needs the oldest unread match, and marks it read).
A stream pushes the summary a `message.received` event carries — published after the commit,
built from the stored row — and reads the database for everything else: replays, catching up
after a gap, and messages that show up out of id order.

Events can still be missed (Redis restarts, a publisher dies between commit and publish), so
each process runs one catch-up task (`workers/catchup.py`): every `wait_poll_interval` it reads
the ids of recently stored messages and the state of the watched mailboxes, and wakes the
consumers of any mailbox with a message it has not seen, or that was deleted or has expired.
A missed event therefore costs at most one poll interval, and idle consumers cost the database
nothing.

Mail hidden from the mailbox's default views (spam and blocked senders in an agent mailbox,
DESIGN §9) is never returned or pushed: the pipeline publishes no event for it, and every read
here (the wait's look and its one-statement claim, a stream's replay and window reads) asks
for visible rows only, as does the catch-up.

Ids are minted before the commit, so a message can become visible after one with a larger id
(two SMTP processes, one slower to commit). Streams therefore remember what they pushed for
`LOOKBACK_MS` and re-read that window when resynchronising, instead of trusting a cursor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.bus import Bus
from inboxkit.bus.base import RESYNC, SHUTDOWN, Event, Subscription
from inboxkit.config import Settings
from inboxkit.errors import NotFound, Resource, ValidationFailed
from inboxkit.ids import id_at, id_time_ms, is_id, new_id
from inboxkit.metrics import Metrics
from inboxkit.records import MessageSummary, WaitResult, summary
from inboxkit.services.auth import Principal
from inboxkit.services.mailboxes import MailboxService
from inboxkit.services.messages import MessageFilter
from inboxkit.services.slots import Slot, StreamSlots, slot_holder
from inboxkit.store import threads
from inboxkit.store.db import Database
from inboxkit.store.dialect import Dialect
from inboxkit.store.messages import SUMMARY_COLUMNS, visible
from inboxkit.store.tables import mailboxes, messages, utcnow

__all__ = [
    "WaitService",
    "Follow",
    "StreamEnd",
    "MAX_WAIT_SECONDS",
    "LOOKBACK_MS",
    "TIMED_OUT",
]

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 60.0
# How long after its id was minted a message may still become visible (parse is done before
# the id is minted, so this only has to cover the commit). Generous on purpose.
LOOKBACK_MS = 10_000
T = TypeVar("T")
PAGE = 100
ENDED = ("mailbox.deleted", "mailbox.expired")
TIMED_OUT: WaitResult = {"message": None, "timed_out": True}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def _shielded(call: Awaitable[T]) -> T:
    """Await a database call that the caller's cancellation (its client hung up) must not
    interrupt: SQLAlchemy's async drivers give up a connection cancelled mid-call, and
    aiosqlite's can hang for good while closing it. The call finishes in the background and
    returns its connection to the pool; the caller is cancelled at once all the same."""
    return await asyncio.shield(asyncio.ensure_future(call))


class StreamEnd(Exception):
    """The stream is over: `event` is "mailbox.deleted", "mailbox.expired" or "shutdown"."""

    def __init__(self, event: str):
        super().__init__(event)
        self.event = event


async def _mailbox_ended(conn: Any, mailbox_id: str) -> str | None:
    """ "mailbox.deleted" or "mailbox.expired" when the mailbox is no longer live."""
    state = (
        await conn.execute(
            sa.select(mailboxes.c.deleted_at, mailboxes.c.expires_at).where(
                mailboxes.c.id == mailbox_id
            )
        )
    ).first()
    if state is None or state.deleted_at is not None:
        return "mailbox.deleted"
    if state.expires_at is not None and state.expires_at <= utcnow():
        return "mailbox.expired"
    return None


class WaitService:
    """Long-poll waits and live follows of a mailbox: subscribe to the bus, then read the
    database, so a missed wake-up costs a poll interval and never a message."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: Bus,
        mailboxes: MailboxService,
        dialect: Dialect,
        metrics: Metrics | None = None,
    ):
        self.settings = settings
        self.db = db
        self.bus = bus
        self.mailboxes = mailboxes
        self.dialect = dialect
        # Every blocking wait and every stream holds one of its token's slots (slots.py).
        self.slots = StreamSlots(settings.max_streams_per_token, settings.redis_url, metrics)
        self.closing = False

    async def start(self) -> None:
        self.closing = False
        await self.slots.start()

    def stop_waiting(self) -> None:
        """The process is shutting down: answer every long-poll now and end every stream, so
        the HTTP server can close its connections instead of waiting for their timeouts."""
        self.closing = True
        self.bus.wake_all({"event": SHUTDOWN})

    async def close(self) -> None:
        self.stop_waiting()
        await self.slots.close()

    # -- long-poll --------------------------------------------------------------------------

    async def wait(
        self,
        principal: Principal,
        ref: str,
        flt: MessageFilter,
        *,
        timeout: float = 30.0,
        mark_read: bool = True,
    ) -> WaitResult:
        """The oldest matching inbound message, waiting up to `timeout` seconds for one.

        Without `since`/`after`, "matching" means unread, or arrived after this call began: so
        mail that landed before the call is found, successive waits walk the inbox in arrival
        order, and every waiter already waiting when a message lands gets that message. The
        returned message is marked read unless `mark_read` is false. Raises NotFound if the
        mailbox is deleted or expires meanwhile.
        """
        principal.require("messages:read")
        if flt.spam:
            raise ValidationFailed("A wait never returns spam; list it with spam=true instead.")
        if not 0 <= timeout <= MAX_WAIT_SECONDS:
            raise ValidationFailed(f"timeout must be between 0 and {MAX_WAIT_SECONDS:g} seconds.")
        # Keep the id only: a Row keeps its whole result (metadata and all) alive while we wait.
        mailbox_id: str = (await _shielded(self.mailboxes.find(principal, ref))).id
        if flt.thread_id is not None:
            await _shielded(self._check_thread(mailbox_id, flt.thread_id))
        started = new_id()

        def query() -> sa.Select[Any]:
            # Built per read, not held: a statement pins ~7 KiB (with its cache key), which
            # adds up over thousands of idle waits.
            return self._wait_query(mailbox_id, flt, started)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        check_state = False
        announced: list[str] = []
        slot: Slot | None = None  # taken only once the wait has to block
        with self.bus.subscribe(mailbox_id) as subscription:
            try:
                while True:
                    if announced and mark_read:
                        # Woken by announcements alone: nothing else can have changed since the
                        # last read, so claim the oldest announced message that matches, in one
                        # statement (SQL still decides what matches).
                        row = await _shielded(self._claim_announced(query, announced))
                        if row is not None:
                            return {"message": summary(row), "timed_out": False}
                    else:
                        row, ended = await _shielded(self._look(query, mailbox_id, check_state))
                        if ended:
                            raise NotFound("No such mailbox.", resource=Resource.MAILBOX)
                        if row is not None:
                            item = await _shielded(self._claim(row, mark_read))
                            return {"message": item, "timed_out": False}
                    remaining = deadline - loop.time()
                    if remaining <= 0 or self.closing:
                        return TIMED_OUT.copy()
                    if slot is None:
                        slot = await self.slots.acquire(slot_holder(principal), principal.plan)
                    events = await subscription.wait(remaining)
                    kinds = {event.get("event") for event in events}
                    if SHUTDOWN in kinds:
                        return TIMED_OUT.copy()
                    check_state = bool(kinds & {RESYNC, *ENDED})
                    announced = _announced_ids(events)
            finally:
                if slot is not None:
                    slot.release()

    async def _check_thread(self, mailbox_id: str, thread_id: str) -> None:
        """NotFound unless the thread is the mailbox's (another mailbox's thread is unknown)."""
        async with self.db.read() as conn:
            found = await threads.find(conn, mailbox_id, thread_id) if is_id(thread_id) else None
        if found is None:
            raise NotFound(
                "No such thread in this mailbox; list its threads with GET …/threads.",
                resource=Resource.THREAD,
            )

    def _wait_query(self, mailbox_id: str, flt: MessageFilter, started: str) -> sa.Select[Any]:
        query: sa.Select[Any] = sa.select(*SUMMARY_COLUMNS).where(
            messages.c.mailbox_id == mailbox_id, messages.c.direction == "inbound"
        )
        # The filter keeps hidden mail out (`spam` is false here), and the claim of announced
        # messages reuses this WHERE clause, so neither can hand out a hidden message.
        query = flt.apply(query)
        if flt.since is None and flt.after is None and flt.unread is None:
            query = query.where(sa.or_(messages.c.is_read.is_(False), messages.c.id > started))
        return query.order_by(messages.c.id.asc()).limit(1)

    async def _look(
        self, query: Callable[[], sa.Select[Any]], mailbox_id: str, check_state: bool
    ) -> Any:
        async with self.db.read() as conn:
            row = (await conn.execute(query())).first()
            ended = None
            if row is None and check_state:
                ended = await _mailbox_ended(conn, mailbox_id)
        return row, ended

    async def _write_read_flag(self, write: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run `write` (which marks messages read) in a transaction that suits the flag.

        The read flag is not worth a flush of its own (see `store/dialect.py`): a burst of
        waiters woken together shares one fsync on SQLite, and after a crash the worst case is
        a message that shows as unread again.
        """
        return await self.dialect.write_unflushed(write)

    async def _claim_announced(self, query: Callable[[], sa.Select[Any]], ids: list[str]) -> Any:
        conditions = query().whereclause

        async def claim(conn: AsyncConnection) -> Any:
            for message_id in ids:
                claimed = await conn.execute(
                    messages.update()
                    .where(conditions, messages.c.id == message_id)  # type: ignore[arg-type]
                    .values(is_read=True)
                    .returning(*SUMMARY_COLUMNS)
                )
                row = claimed.first()
                if row is not None:
                    return row
            return None

        return await self._write_read_flag(claim)

    async def _claim(self, row: Any, mark_read: bool) -> MessageSummary:
        item = summary(row)
        if mark_read and not row.is_read:

            async def mark(conn: AsyncConnection) -> None:
                await conn.execute(
                    messages.update().where(messages.c.id == row.id).values(is_read=True)
                )

            await self._write_read_flag(mark)
            item["is_read"] = True
        return item

    # -- streams ----------------------------------------------------------------------------

    def follow(self, principal: Principal, ref: str, *, after: str | None = None) -> Follow:
        """A stream of inbound messages for WebSocket and SSE; see `Follow`."""
        return Follow(self, principal, ref, after)


@dataclass(frozen=True, slots=True)
class MailboxRef:
    id: str
    address: str


def _announced_ids(events: list[Event]) -> list[str]:
    """The message ids, oldest first, when every event announces a received message; else
    (a resync, anything unexpected) an empty list, which calls for a full read."""
    ids = []
    for event in events:
        message = event.get("message")
        message_id = message.get("id") if isinstance(message, dict) else None
        if event.get("event") != "message.received" or not isinstance(message_id, str):
            return []
        ids.append(message_id)
    return sorted(ids)


class Follow:
    """Inbound messages of one mailbox as they arrive.

    Use as `async with service.follow(...) as stream: async for item in stream:`. Entering
    checks access and fixes the starting point — messages already stored are not sent, unless
    `after` names a message id, in which case everything after it is replayed first — so mail
    delivered once the caller has told its client "connected" is never missed. Iterating yields
    message summaries, or None when `ping_interval` passes without one, and raises StreamEnd
    when the mailbox is deleted or expires or the process shuts down.
    """

    def __init__(self, service: WaitService, principal: Principal, ref: str, after: str | None):
        self._service = service
        self._principal = principal
        self._ref = ref
        self._after = after
        self._subscription: Subscription | None = None
        self._slot: Slot | None = None
        self._pending: list[MessageSummary] = []
        self._sent: dict[str, int] = {}  # pushed (or present at start) ids -> their time, ms
        self._start = ""
        self._cursor = ""
        self._read_forward = False
        self._read_window = False
        self._exact: set[str] = set()
        self._ping_due = 0.0
        self.mailbox = MailboxRef("", "")

    async def open(self) -> Follow:
        service = self._service
        self._principal.require("messages:read")
        row = await _shielded(service.mailboxes.find(self._principal, self._ref))
        self.mailbox = MailboxRef(row.id, row.address)  # not the Row: it pins its whole result
        self._slot = await service.slots.acquire(slot_holder(self._principal), self._principal.plan)
        self._subscription = service.bus.subscribe(self.mailbox.id)
        try:
            if self._after is not None:
                self._start = self._cursor = self._after
                self._read_forward = True  # replay what the client missed
            else:
                # Remember what is already there (within the look-back window), so a message
                # that commits later with an older id is still sent, and nothing earlier is.
                self._start = id_at(_now_ms() - LOOKBACK_MS)
                for message_id in await _shielded(self._recent_ids()):
                    self._sent[message_id] = id_time_ms(message_id)
                self._cursor = max(self._sent, default=self._start)
        except BaseException:
            self.close()
            raise
        self._ping_due = asyncio.get_running_loop().time() + service.settings.ping_interval
        return self

    async def _recent_ids(self) -> list[str]:
        async with self._service.db.read() as conn:
            query = sa.select(messages.c.id).where(
                messages.c.mailbox_id == self.mailbox.id, messages.c.id > self._start
            )
            return list((await conn.execute(query)).scalars())

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self._slot is not None:
            self._slot.release()
            self._slot = None

    async def __aenter__(self) -> Follow:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> Follow:
        return self

    async def __anext__(self) -> MessageSummary | None:
        assert self._subscription is not None, "open() the stream first"
        service = self._service
        loop = asyncio.get_running_loop()
        while True:
            if self._pending:
                self._ping_due = loop.time() + service.settings.ping_interval
                return self._pending.pop(0)
            if service.closing:
                raise StreamEnd(SHUTDOWN)
            if self._read_forward or self._read_window or self._exact:
                await self._read()
                continue
            quiet = self._ping_due - loop.time()
            if quiet <= 0:
                self._ping_due = loop.time() + service.settings.ping_interval
                return None
            for event in await self._subscription.wait(quiet):
                kind = event.get("event")
                if kind == SHUTDOWN:
                    raise StreamEnd(SHUTDOWN)
                if kind in ENDED:
                    raise StreamEnd(kind)
                if kind == RESYNC:
                    self._read_window = True
                    continue
                if kind == "message.received":
                    self._on_received(event.get("message"))

    def _on_received(self, message: Any) -> None:
        message_id = message.get("id") if isinstance(message, dict) else None
        if not isinstance(message_id, str):
            self._read_forward = True
            return
        if message_id in self._sent or message.get("direction", "inbound") != "inbound":
            return
        if message_id > self._cursor:
            if self._read_forward or self._read_window or self._exact:
                self._read_forward = True  # a read is due anyway; keep arrival order
                return
            # The event was published after the commit and carries the stored summary: push
            # it as is. Anything an earlier lost event would have announced is still found
            # by the catch-up's window read.
            self._sent[message_id] = id_time_ms(message_id)
            self._cursor = message_id
            # The summary in its JSON form (datetimes as ISO 8601): surfaces send either form
            # through `jsonable`.
            self._pending.append(cast(MessageSummary, message))
        elif message_id > self._start:
            self._exact.add(message_id)  # committed after a newer one was sent

    async def _read(self) -> None:
        c = messages.c
        if self._read_window:
            lower = max(self._start, min(self._cursor, id_at(_now_ms() - LOOKBACK_MS)))
        else:
            lower = self._cursor
        wanted = c.id > lower
        if self._exact:
            wanted = sa.or_(wanted, c.id.in_(self._exact))
        query = (
            sa.select(*SUMMARY_COLUMNS)
            .where(c.mailbox_id == self.mailbox.id, c.direction == "inbound", visible(), wanted)
            .order_by(c.id.asc())
            .limit(PAGE)
        )
        rows, ended = await _shielded(self._fetch(query, check_state=self._read_window))
        self._read_forward = len(rows) == PAGE
        self._read_window = False
        self._exact.clear()
        for row in rows:
            if row.id in self._sent:
                continue
            self._sent[row.id] = id_time_ms(row.id)
            self._cursor = max(self._cursor, row.id)
            self._pending.append(summary(row))
        self._forget_old()
        if ended and not self._pending:
            raise StreamEnd(ended)

    async def _fetch(self, query: sa.Select[Any], check_state: bool) -> Any:
        async with self._service.db.read() as conn:
            rows = (await conn.execute(query)).all()
            ended = await _mailbox_ended(conn, self.mailbox.id) if check_state else None
        return rows, ended

    def _forget_old(self) -> None:
        if len(self._sent) < 256:
            return
        horizon = _now_ms() - 2 * LOOKBACK_MS
        self._sent = {key: ms for key, ms in self._sent.items() if ms >= horizon}

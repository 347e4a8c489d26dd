"""Run parsing off the event loop, in worker processes, with a hard time bound.

A hostile message can make the stdlib parser spin (quadratic header folding, deep nesting), and
a thread cannot be stopped, so parsing runs in worker processes: the event loop keeps serving
SMTP and HTTP, and a parse that overruns `timeout` is abandoned by killing the process parsing
it. Worker processes also run with a memory ceiling so a parse cannot exhaust the
machine. With `workers=0` parsing runs in a thread instead (no hard bound; for embedding in
scripts that cannot be re-imported by a child process).

Each worker is a process of its own with a socket pair to this one, written and read by the
event loop itself: one message out, one result back, length-prefixed. A process pool from
`concurrent.futures` would put two threads (its manager and its queue feeder) and a wake-up
pipe between the loop and the worker, a handful of thread wake-ups per message, which was a
tenth of the event loop's time at a few hundred messages a second. A worker that dies (memory
ceiling, a signal to the process group) closes its end: the read sees the end of the stream and
the message is tried again on a fresh process, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import pickle
import resource
import signal
import socket
import struct
from multiprocessing.process import BaseProcess

from inboxkit.mail.parse import Limits, ParsedMessage
from inboxkit.mail.prepare import prepare_message

__all__ = ["ParserPool"]

log = logging.getLogger(__name__)

WORKER_MEMORY_BYTES = 2 * 1024**3
ATTEMPTS = 2  # a message whose worker dies twice is stored unparsed (it may be the cause)
# How long a new parser process may take to start (fork and imports) before it counts as failed.
STARTUP_TIMEOUT = 60.0
# Every frame on a worker's socket: its length, then that many bytes.
_LENGTH = struct.Struct("!Q")
_READY = b"ready"


class WorkerDied(Exception):
    """The worker process ended (or never answered) while it held a message."""


def _init_worker() -> None:
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ValueError, OSError):
        pass
    import inboxkit.mail.extract  # noqa: F401  (warm the imports before the first message)
    import inboxkit.mail.htmltext  # noqa: F401


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return bytes(buffer)


def _serve(sock: socket.socket, limits: Limits) -> None:
    """A worker process: answer each message with its parse, until the parent's end closes."""
    _init_worker()
    sock.sendall(_LENGTH.pack(len(_READY)) + _READY)
    while True:
        header = _read_exactly(sock, _LENGTH.size)
        if header is None:
            return
        raw = _read_exactly(sock, _LENGTH.unpack(header)[0])
        if raw is None:
            return
        try:
            answer: tuple[str, object] = ("parsed", prepare_message(raw, limits))
        except Exception as exc:  # prepare_message stores what it cannot parse; this is a bug
            answer = ("failed", type(exc).__name__)
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # the result could not be sent back
            payload = pickle.dumps(("failed", type(exc).__name__))
        sock.sendall(_LENGTH.pack(len(payload)) + payload)


def _unparsed(reason: str) -> ParsedMessage:
    return ParsedMessage(parse_error=reason)


class _Slot:
    """One worker process of its own, so a stuck parse is killed without touching the others."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.process: BaseProcess | None = None
        self.sock: socket.socket | None = None

    async def started(self) -> socket.socket:
        """The socket of this slot's process, started and answering. Starting a process (fork,
        imports) is not parsing: on a loaded machine it alone can take seconds, and counting it
        in the message's `timeout` stored the first messages after a start unparsed."""
        if self.sock is not None:
            return self.sock
        # forkserver: workers are forked from a clean server process, not from this one with
        # its event loop and database threads.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["inboxkit.mail.prepare"])
        ours, theirs = socket.socketpair()
        process = context.Process(target=_serve, args=(theirs, self.limits), daemon=True)
        try:
            await asyncio.to_thread(process.start)
        finally:
            theirs.close()
        ours.setblocking(False)
        self.process, self.sock = process, ours
        try:
            hello = await asyncio.wait_for(_receive(ours), STARTUP_TIMEOUT)
        except TimeoutError:
            hello = None
        if hello != _READY:
            self.discard()
            raise WorkerDied("the parser process did not start")
        return ours

    def discard(self) -> None:
        """Kill this slot's process (stuck, dead, or holding an answer nobody will read) and
        start afresh on next use. The forkserver, whose child it is, reaps it."""
        process, sock = self.process, self.sock
        self.process = self.sock = None
        if sock is not None:
            sock.close()
        if process is not None and process.pid is not None:
            process.kill()


async def _receive(sock: socket.socket) -> bytes:
    """One frame from a worker; WorkerDied when its end closed first."""
    header = await _receive_exactly(sock, _LENGTH.size)
    return await _receive_exactly(sock, _LENGTH.unpack(header)[0])


async def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = await loop.sock_recv_into(sock, view[got:])
        if n == 0:
            raise WorkerDied("the parser process ended")
        got += n
    return bytes(buffer)


class ParserPool:
    """`workers` parser processes, each parsing one message at a time within `timeout`.

    Each worker is a process of its own: a parse that overruns kills only its own process, so
    the messages other workers are parsing at that moment are unaffected (a shared pool would
    have to be killed whole, failing every parse in flight).
    """

    def __init__(self, workers: int, timeout: float, limits: Limits):
        self.workers = workers
        self.timeout = timeout
        self.limits = limits
        # A message waits for a free worker before its clock starts, so `timeout` measures
        # parsing, not time spent queued behind other messages.
        self._free: asyncio.Queue[_Slot] = asyncio.Queue()
        self._slots = [_Slot(limits) for _ in range(workers)]
        for slot in self._slots:
            self._free.put_nowait(slot)

    async def parse(self, raw: bytes) -> ParsedMessage:
        """Parse (and prepare, see `prepare.py`) `raw` within `timeout` seconds; a message that
        overruns comes back unparsed."""
        if self.workers == 0:
            return await asyncio.to_thread(prepare_message, raw, self.limits)
        slot = await self._free.get()
        try:
            return await self._parse_in(slot, raw)
        finally:
            self._free.put_nowait(slot)

    async def _parse_in(self, slot: _Slot, raw: bytes) -> ParsedMessage:
        loop = asyncio.get_running_loop()
        for _attempt in range(ATTEMPTS):
            try:
                sock = await slot.started()
            except (WorkerDied, OSError):
                continue
            try:
                await loop.sock_sendall(sock, _LENGTH.pack(len(raw)) + raw)
                answer = await asyncio.wait_for(_receive(sock), self.timeout)
            except TimeoutError:
                log.warning("parse exceeded %.1fs; storing the message unparsed", self.timeout)
                slot.discard()
                return _unparsed(f"parsing took longer than {self.timeout:g}s")
            except (WorkerDied, OSError):
                # The worker died under this message: the memory ceiling, a signal from outside,
                # or the pool closing. Tried again on a fresh process, a bounded number of times.
                slot.discard()
                continue
            except BaseException:
                # Cancelled mid-exchange (the session went away): the worker's answer would be
                # read as the next message's, so the worker goes with it.
                slot.discard()
                raise
            kind, value = pickle.loads(answer)
            if kind == "parsed" and isinstance(value, ParsedMessage):
                return value
            log.warning("parse failed in the worker: %s", value)
            return _unparsed(f"parser failed ({value})")
        return _unparsed("the parser's worker process kept failing")

    async def close(self) -> None:
        # Workers hold nothing worth keeping; a delivery still parsing gets a 451 and is retried.
        for slot in self._slots:
            slot.discard()

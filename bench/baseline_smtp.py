"""Store-nothing aiosmtpd server: the "Python SMTP ceiling" for bench/ingest.py.

It runs aiosmtpd's SMTP protocol in this process's own event loop and accepts every
message with ``250`` without looking at it, so it measures what aiosmtpd itself (socket
handling, command parsing, DATA line reading) costs per message on this machine.

    python bench/baseline_smtp.py --port 2600          # prints "READY <host> <port>"

``NOOP`` answers ``250 accepted=<n> bytes=<total>`` so a harness can check the count.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from aiosmtpd.smtp import SMTP


class Counter:
    """aiosmtpd handler: accept everything, keep only counters."""

    def __init__(self) -> None:
        self.accepted = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        self.accepted += 1
        self.bytes += len(envelope.content or b"")
        return "250 2.0.0 OK"

    async def handle_NOOP(self, server, session, envelope, arg) -> str:  # noqa: N802
        return f"250 accepted={self.accepted} bytes={self.bytes}"


def make_protocol_class(line_limit: int) -> type[SMTP]:
    # aiosmtpd reads DATA with a StreamReader whose buffer limit is ``line_length_limit``
    # (RFC 5321's 1001 by default); raise it so long lines in real mail are not refused.
    return type("BaselineSMTP", (SMTP,), {"line_length_limit": line_limit})


async def serve(host: str, port: int, line_limit: int, data_limit: int) -> None:
    loop = asyncio.get_running_loop()
    handler = Counter()
    proto = make_protocol_class(line_limit)
    # A fixed hostname: aiosmtpd otherwise calls socket.getfqdn() for every connection,
    # which measures the resolver rather than SMTP.
    server = await loop.create_server(
        lambda: proto(handler, hostname="baseline.localhost", data_size_limit=data_limit),
        host=host,
        port=port,
    )
    bound = server.sockets[0].getsockname()
    print(f"READY {bound[0]} {bound[1]} loop={type(loop).__module__}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()
    print(f"STOPPED accepted={handler.accepted} bytes={handler.bytes}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--line-limit", type=int, default=1 << 20, help="max bytes per line")
    ap.add_argument("--data-limit", type=int, default=64 << 20, help="max message bytes")
    ap.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop; 'auto' uses uvloop when installed, as uvicorn does",
    )
    args = ap.parse_args(argv)
    use_uvloop = args.loop == "uvloop"
    if args.loop == "auto":
        try:
            import uvloop  # noqa: F401

            use_uvloop = True
        except ImportError:
            use_uvloop = False
    coro = serve(args.host, args.port, args.line_limit, args.data_limit)
    if use_uvloop:
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)
    return 0


if __name__ == "__main__":
    sys.exit(main())

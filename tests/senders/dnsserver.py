"""A small authoritative DNS server for tests, on 127.0.0.1 over UDP and TCP, built from
dnspython's message classes: it answers the records a test publishes, NXDOMAIN for names it
does not know, and, when told to stay silent, nothing at all."""

from __future__ import annotations

import socketserver
import struct
import threading
from collections import defaultdict

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

__all__ = ["DnsServer", "txt"]


def txt(text: str) -> str:
    """A TXT record's presentation form: quoted strings of at most 255 characters."""
    chunks = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks)


class DnsServer:
    """Serves `records[(name, type)]` (presentation-form rdata) on one UDP and one TCP port."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.silent = False
        self.queries: list[tuple[str, str]] = []
        self._udp: socketserver.UDPServer | None = None
        self._tcp: socketserver.TCPServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> str:
        assert self._udp is not None
        return f"127.0.0.1:{self._udp.server_address[1]}"

    def add(self, name: str, rdtype: str, value: str) -> None:
        self.records[(name.lower().rstrip("."), rdtype.upper())].append(value)

    def add_txt(self, name: str, text: str) -> None:
        self.add(name, "TXT", txt(text))

    def answer(self, wire: bytes, max_size: int) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if self.silent or not query.question:
            return None
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        values = self.records.get((name, rdtype))
        if values:
            response.answer.append(
                dns.rrset.from_text_list(question.name, 300, dns.rdataclass.IN, rdtype, values)
            )
        elif not any(known == name for known, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        if query.edns >= 0:
            max_size = max(max_size, query.payload)
        try:
            return response.to_wire(max_size=max_size)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    def start(self) -> None:
        outer = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                reply = outer.answer(data, 512)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                header = self.rfile.read(2)
                if len(header) < 2:
                    return
                (length,) = struct.unpack("!H", header)
                reply = outer.answer(self.rfile.read(length), 65535)
                if reply is not None:
                    self.wfile.write(struct.pack("!H", len(reply)) + reply)

        self._udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
        port = self._udp.server_address[1]
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        try:
            self._tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), Tcp)
        except OSError:
            self._tcp = None  # the port is taken for TCP: UDP answers are enough here
        for server in (self._udp, self._tcp):
            if server is not None:
                server.daemon_threads = True
                thread = threading.Thread(target=server.serve_forever, daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        for server in (self._udp, self._tcp):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

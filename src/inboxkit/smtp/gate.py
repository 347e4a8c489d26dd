"""Admission of SMTP sessions: a cap for the process and a cap for each peer.

Without a per-peer cap one client holding idle sockets takes every slot and locks all other
senders out. A refused connection is answered `421` (RFC 5321 §3.8: the server may decline a
connection with 421) and never takes a slot, so refusing is cheap.
"""

from __future__ import annotations

from inboxkit.netaddr import peer_key

__all__ = ["ConnectionGate", "peer_key"]

# RFC 3463 4.7.0: a temporary refusal for policy reasons; the sender retries later.
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections to this server, try again later"
TOO_MANY_FROM_PEER = (
    "421 4.7.0 Too many connections from your address (at most {limit} at once); "
    "close idle connections and try again later"
)


class ConnectionGate:
    """Counts open sessions, in total and by peer. One per listener, shared by its sessions."""

    def __init__(self, total: int, per_peer: int):
        self.total = total
        self.per_peer = per_peer
        self.active = 0
        self._by_peer: dict[str, int] = {}

    def admit(self, peer: str) -> str | None:
        """Take a slot for `peer`, or return the 421 reply that refuses the connection."""
        if self.active >= self.total:
            return TOO_MANY_CONNECTIONS
        held = self._by_peer.get(peer, 0)
        if held >= self.per_peer:
            return TOO_MANY_FROM_PEER.format(limit=self.per_peer)
        self.active += 1
        self._by_peer[peer] = held + 1
        return None

    def release(self, peer: str) -> None:
        """Give back the slot `admit` took; call exactly once per admitted connection."""
        self.active -= 1
        held = self._by_peer.pop(peer, 0) - 1
        if held > 0:
            self._by_peer[peer] = held

    def held_by(self, peer: str) -> int:
        return self._by_peer.get(peer, 0)

"""`RspamdEngine`: scores a message with rspamd over its HTTP protocol (`POST /checkv2`).

The raw message is the request body; what rspamd cannot see in the message itself (the
envelope, the client's address and HELO name) travels in request headers named by rspamd's
protocol: `IP`, `Helo`, `From` (the envelope sender), one `Rcpt` per envelope recipient and
`Subject` (which rspamd reads only for a message without MIME headers). `Password` is sent
when set: a controller worker asks for it, the normal worker (port 11333) does not.

rspamd's answer carries an `action`, its `score` and the `symbols` that fired. The action is
what rspamd's own thresholds decided, so the verdict follows it (ACTIONS below) rather than
comparing the score with thresholds of our own: an operator tunes rspamd in one place.

The engine fails open. Whatever goes wrong (nothing listening, no answer within the timeout,
an HTTP error, an answer that is not rspamd's JSON) the message is clean with
`engine: "unavailable"` and a reason saying what happened; `score` never raises.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import httpx

from inboxkit.spam.verdicts import EngineName, ScoredMessage, SpamResult, Verdict

__all__ = ["ACTIONS", "MAX_REASON", "RspamdEngine"]

log = logging.getLogger(__name__)

# rspamd's actions (its `actions` configuration and `force_actions`) and our verdicts.
ACTIONS: Mapping[str, Verdict] = {
    # Over the reject threshold (15 by default): what an MTA would refuse outright.
    "reject": Verdict.SPAM,
    # Told to drop the message silently: rspamd is even surer than for reject.
    "discard": Verdict.SPAM,
    # Over add_header (6) or rewrite_subject: likely spam that an MTA would still deliver,
    # marked, which is what quarantine means here (delivered and flagged).
    "add header": Verdict.QUARANTINE,
    "rewrite subject": Verdict.QUARANTINE,
    "quarantine": Verdict.QUARANTINE,
    # Greylisting and soft reject ask the sender to try again later; the message already
    # arrived here and a retry would be scored the same, so it is delivered as clean.
    "greylist": Verdict.CLEAN,
    "soft reject": Verdict.CLEAN,
    "no action": Verdict.CLEAN,
}

# The reason names at most this many symbols and is cut at MAX_REASON characters, so a
# hostile or misconfigured rspamd cannot put an unbounded string on every message.
TOP_SYMBOLS = 3
MAX_REASON = 200
MAX_SYMBOL = 64
# rspamd's request headers are bounded like our SMTP limits: a header value longer than
# an SMTP line is cut, and recipients past MAX_RCPT_HEADERS are not sent (rspamd only
# counts them for its RCPT_COUNT symbols).
MAX_HEADER_VALUE = 998
MAX_RCPT_HEADERS = 100
# rspamd's JSON for one message is a few KiB; an answer past this is not rspamd's.
MAX_ANSWER = 1024 * 1024


def _clean_header(value: str) -> bytes:
    """`value` safe as one HTTP header value: control characters (CR and LF above all, which
    would start another header) become spaces, and the length is bounded. Sent as UTF-8
    bytes because a decoded subject may hold any character."""
    text = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in value[:MAX_HEADER_VALUE])
    return text.strip().encode("utf-8", "replace")[:MAX_HEADER_VALUE]


def _address(value: str) -> str:
    return value.strip().strip("<>").strip()


def request_headers(message: ScoredMessage, password: str | None) -> list[tuple[bytes, bytes]]:
    """rspamd's request headers for `message` (a list: `Rcpt` repeats)."""
    headers: list[tuple[bytes, bytes]] = []
    if password:
        headers.append((b"Password", _clean_header(password)))
    if message.remote_addr:
        try:
            # Only a real address: rspamd refuses the whole request for an IP it cannot parse.
            headers.append((b"IP", str(ipaddress.ip_address(message.remote_addr)).encode()))
        except ValueError:
            pass
    if message.helo:
        headers.append((b"Helo", _clean_header(message.helo)))
    sender = _address(message.mail_from)
    if sender:  # the null reverse-path of a bounce is no sender at all
        headers.append((b"From", _clean_header(sender)))
    for rcpt in message.rcpt_tos[:MAX_RCPT_HEADERS]:
        if _address(rcpt):
            headers.append((b"Rcpt", _clean_header(_address(rcpt))))
    if message.subject:
        headers.append((b"Subject", _clean_header(message.subject)))
    return headers


def _symbol_name(name: object) -> str:
    text = str(name)[:MAX_SYMBOL]
    return "".join(ch for ch in text if ch.isprintable())


def _reason(action: str, symbols: object) -> str | None:
    """`rspamd: <action> (SYMBOL score, …)` naming the top symbols by score, or None for a clean
    message where no symbol weighed. Symbols of no weight are named only when nothing
    weighed but rspamd still acted (GTUBE is a zero-score symbol with a reject)."""
    scored: list[tuple[float, str]] = []
    if isinstance(symbols, dict):
        for key, value in symbols.items():
            score = value.get("score") if isinstance(value, dict) else None
            if (
                isinstance(score, int | float)
                and not isinstance(score, bool)
                and math.isfinite(score)
            ):
                scored.append((float(score), _symbol_name(key)))
    scored.sort(key=lambda item: (-item[0], item[1]))
    weighing = [item for item in scored if item[0] > 0]
    acted = ACTIONS.get(action, Verdict.CLEAN) != Verdict.CLEAN
    shown = (weighing or (scored if acted else []))[:TOP_SYMBOLS]
    if not shown:
        return f"rspamd: {action}" if acted else None
    names = ", ".join(f"{name} {score:g}" if score else name for score, name in shown)
    return f"rspamd: {action} ({names})"[:MAX_REASON]


def _unavailable(reason: str) -> SpamResult:
    return {
        "verdict": Verdict.CLEAN.value,
        "score": None,
        "reason": reason,
        "engine": EngineName.UNAVAILABLE.value,
    }


def _result(answer: Any) -> SpamResult | None:
    """Our verdict from rspamd's JSON answer; None when the answer is not rspamd's."""
    if not isinstance(answer, dict):
        return None
    action, score = answer.get("action"), answer.get("score")
    if not isinstance(action, str) or isinstance(score, bool):
        return None
    if not isinstance(score, int | float) or not math.isfinite(score):
        return None
    action = _symbol_name(action.strip().lower())  # printable and bounded, shown in `reason`
    # An action we do not know (a newer rspamd's, or a custom one) fails open like an error.
    verdict = ACTIONS.get(action, Verdict.CLEAN)
    return {
        "verdict": verdict.value,
        "score": round(float(score), 3),
        "reason": _reason(action, answer.get("symbols")),
        "engine": EngineName.RSPAMD.value,
    }


class RspamdEngine:
    """Scores messages with the rspamd at `url` (its normal worker, e.g.
    `http://127.0.0.1:11333`), giving up after `timeout` seconds in all."""

    name = EngineName.RSPAMD.value

    def __init__(self, url: str, *, password: str | None = None, timeout: float = 2.0):
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/checkv2") else f"{base}/checkv2"
        self.password = password
        self.timeout = timeout
        # One client for the engine's life: its pool keeps the connection to rspamd open
        # between messages. httpx's timeout applies to each phase (connect, write, read), so
        # `score` also holds the whole exchange to `timeout`. trust_env=False: rspamd is a
        # local service, never reached through a proxy from the environment.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
        )

    async def score(self, message: ScoredMessage) -> SpamResult:
        try:
            async with asyncio.timeout(self.timeout):
                status, body = await self._exchange(message)
        except (TimeoutError, httpx.TimeoutException):
            return _unavailable(f"rspamd did not answer within {self.timeout:g} s")
        except httpx.ConnectError:
            return _unavailable("rspamd could not be reached (connection failed)")
        except httpx.HTTPError:
            return _unavailable("rspamd broke off the exchange")
        except Exception:  # an engine never raises: anything else fails open too
            log.warning("rspamd request to %s failed", self.endpoint, exc_info=True)
            return _unavailable("rspamd request failed")
        if status != 200:
            return _unavailable(f"rspamd answered HTTP {status}")
        if body is None:
            return _unavailable(f"rspamd's answer was longer than {MAX_ANSWER} bytes")
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        result = _result(answer)
        if result is None:
            return _unavailable("rspamd's answer was not a scan result")
        return result

    async def _exchange(self, message: ScoredMessage) -> tuple[int, bytes | None]:
        """The status and body of rspamd's answer; the body None when it passes MAX_ANSWER
        (read in chunks, so an endless answer costs no more than that)."""
        headers = request_headers(message, self.password)
        async with self._client.stream(
            "POST", self.endpoint, content=message.raw, headers=headers
        ) as response:
            if response.status_code != 200:
                return response.status_code, b""
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER:
                    return response.status_code, None
            return response.status_code, bytes(body)

    async def close(self) -> None:
        await self._client.aclose()

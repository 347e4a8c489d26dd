"""`BuiltinScorer`: the spam engine used when no rspamd is configured.

A handful of rules, each adding a weight when it fires; the sum decides the verdict against
QUARANTINE_AT and SPAM_AT. The rules read only what the pipeline already has (the sender
authentication results, the decoded text and HTML, the header fields), so scoring does no
I/O and takes microseconds. Every rule looks at a bounded prefix of its input (SCAN_LIMIT)
and scans it once, so a hostile message costs no more than an ordinary one of that size.

Authentication weighs only by its failures, and most by the From domain owner's own word:
a DMARC failure under `p=reject` is what the owner asked receivers to refuse. `none` (no
records published), `temperror` (DNS out of reach), `neutral` and `permerror` (the owner's
record is broken or says nothing) never weigh, and neither does a message that was not
checked at all (DESIGN §9): most legitimate small senders publish nothing.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from inboxkit.spam.verdicts import EngineName, ScoredMessage, SpamResult, Verdict

__all__ = [
    "GTUBE",
    "QUARANTINE_AT",
    "SCAN_LIMIT",
    "SPAM_AT",
    "BuiltinScorer",
    "Finding",
    "findings",
]

# The thresholds. A single strong signal (a DMARC failure under p=reject, GTUBE) reaches
# SPAM_AT on its own, a DMARC failure under p=quarantine QUARANTINE_AT; every other rule
# weighs less than QUARANTINE_AT and needs company. SPF and DKIM failures together stay
# below it too (forwarding with a footer breaks both), and added to a p=quarantine failure
# they stay below SPAM_AT: the owner asked for quarantine, not refusal.
QUARANTINE_AT = 5.0
SPAM_AT = 10.0

# How much of the text, the HTML and the raw bytes the content rules read (128 KiB: more
# than the body of almost any hand-written message, small enough to scan in microseconds).
SCAN_LIMIT = 128 * 1024

# The Generic Test for Unsolicited Bulk Email: the standard string by which anyone tests
# that a spam filter is in place (rspamd and SpamAssassin treat it as spam too).
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

# Weights. Each comment is why the rule is worth what it is.
# The owner of the From domain asks receivers to refuse mail that fails DMARC: spam alone.
DMARC_REJECT = SPAM_AT
# The owner asks that failing mail be treated as suspicious: quarantine alone.
DMARC_QUARANTINE = QUARANTINE_AT
# The owner only monitors (p=none) and asks receivers not to act; a From that does not
# authenticate is still worth a little.
DMARC_MONITOR = 1.0
# The envelope domain's owner says this client may not send for it. Forwarding breaks SPF
# for legitimate mail, so it is a strong hint, never enough alone.
SPF_FAIL = 2.5
# "Probably not authorised" (~all): the owner is not sure either.
SPF_SOFTFAIL = 1.0
# A signature that does not verify: the message was changed after signing, or forged.
# Mailing lists break signatures too, so it counts only when no other signature passed.
DKIM_FAIL = 2.0
# A From display name showing another domain's address ("service@bank.example"
# <x@elsewhere.test>) is how phishing borrows a name; some notification services do it
# honestly ("alice@example.com via Docs"), so alone it only weighs.
DISPLAY_NAME_ADDRESS = 3.0
# A link whose visible text is one site's URL and whose target is another's: the classic
# phishing link. Click-tracking redirects look the same, so alone it only weighs.
DECEPTIVE_LINK = 3.0
# The test string: spam by definition.
GTUBE_WEIGHT = SPAM_AT

# Bounds of the link scan: anchors looked at, and the longest tag and text considered (a
# longer one is skipped, not scanned further).
MAX_LINKS = 200
MAX_TAG = 2048
MAX_LINK_TEXT = 1024
# How much of the From header field the display-name rule reads.
MAX_FROM_HEADER = 1024

_ADDRESS_IN_TEXT = re.compile(
    r"[^\s@<>\"'(),;:]{1,64}@([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
)
_HREF = re.compile(
    r"""\bhref\s{0,16}=\s{0,16}(?:"([^"]{0,2048})"|'([^']{0,2048})'|([^\s"'>]{1,2048}))""",
    re.IGNORECASE,
)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_TAG = re.compile(r"<[^>]{0,2048}>")
_URL_TEXT = re.compile(r"(?:https?://|www\.)[^\s]{1,2048}", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that fired: its name (as `reason` shows it) and weight."""

    rule: str
    weight: float


def _site(domain: str) -> str:
    """The part of `domain` two names are compared by: its last two labels
    (`mail.example.com` and `example.com` are one site). Under a two-label public suffix
    (`co.uk`) this takes two unrelated domains for one site, which only makes the rules
    that compare sites fire less, never wrongly."""
    labels = [label for label in domain.strip().rstrip(".").lower().split(".") if label]
    return ".".join(labels[-2:])


def _domain_of(address: str) -> str:
    return address.strip().strip("<>").rpartition("@")[2].strip()


def _result_of(section: object) -> str:
    if isinstance(section, Mapping):
        value = section.get("result")
        return value.lower() if isinstance(value, str) else ""
    return ""


def authentication_findings(auth: Mapping[str, Any] | None) -> list[Finding]:
    """What the sender authentication results weigh (nothing when not evaluated)."""
    if not isinstance(auth, Mapping):
        return []
    found: list[Finding] = []
    dmarc = auth.get("dmarc")
    if _result_of(dmarc) == "fail" and isinstance(dmarc, Mapping):
        policy = str(dmarc.get("policy") or "").lower()
        if policy == "reject":
            found.append(Finding("DMARC fail (p=reject)", DMARC_REJECT))
        elif policy == "quarantine":
            found.append(Finding("DMARC fail (p=quarantine)", DMARC_QUARANTINE))
        else:
            found.append(Finding("DMARC fail (p=none)", DMARC_MONITOR))
    spf = _result_of(auth.get("spf"))
    if spf == "fail":
        found.append(Finding("SPF fail", SPF_FAIL))
    elif spf == "softfail":
        found.append(Finding("SPF softfail", SPF_SOFTFAIL))
    signatures = auth.get("dkim")
    if isinstance(signatures, list):
        results = {_result_of(signature) for signature in signatures}
        if "fail" in results and "pass" not in results:
            found.append(Finding("DKIM fail", DKIM_FAIL))
    return found


def _has_gtube(message: ScoredMessage) -> bool:
    for part in (message.text, message.html):
        if part and GTUBE in part[:SCAN_LIMIT]:
            return True
    # The raw bytes too: a message that could not be parsed has no text.
    return GTUBE.encode() in message.raw[:SCAN_LIMIT]


def _from_header(message: ScoredMessage) -> str | None:
    for field in message.headers:
        if len(field) >= 2 and field[0].lower() == "from":
            return field[1][:MAX_FROM_HEADER]
    return None


def display_name_shows_other_domain(message: ScoredMessage) -> bool:
    """Whether the From display name holds an address at another site than the From
    address itself."""
    value = _from_header(message)
    if not value or "<" not in value:
        return False
    display = value[: value.rfind("<")]
    shown = _ADDRESS_IN_TEXT.search(display)
    bracketed = value[value.rfind("<") + 1 :].partition(">")[0]
    real = _domain_of(message.from_addr) or _domain_of(bracketed)
    if shown is None or not real:
        return False
    return _site(shown.group(1)) != _site(real)


def _host(url: str) -> str | None:
    url = url.strip()
    if url.lower().startswith("www."):
        url = "http://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return host


def _anchors(markup: str) -> list[tuple[str, str]]:
    """(href, visible text) of the first MAX_LINKS anchors in `markup`.

    How it stays linear: the scan only moves forward. Each `<a` is followed by a search for
    the `>` ending its tag, and the next search starts after that `>`; the position of the
    next `</a` is remembered and searched for again only once the scan has passed it, so
    no stretch of the input is searched twice for the same thing.
    """
    lower = markup.translate(_ASCII_LOWER)  # unlike str.lower, keeps every index in place
    found: list[tuple[str, str]] = []
    position, closing = 0, -1
    while len(found) < MAX_LINKS:
        start = lower.find("<a", position)
        if start < 0:
            break
        end = lower.find(">", start)
        if end < 0:
            break
        position = end + 1
        if (
            lower[start + 2 : start + 3] not in (" ", "\t", "\n", "\r", "\f")
            or end - start > MAX_TAG
        ):
            continue
        if closing < end:
            closing = lower.find("</a", end)
            if closing < 0:
                break
        if closing - end > MAX_LINK_TEXT:
            continue
        href = _HREF.search(markup, start, end)
        if href is None:
            continue
        text = html.unescape(_TAG.sub("", markup[end + 1 : closing])).strip()
        found.append((html.unescape(next(g for g in href.groups() if g is not None)), text))
    return found


def has_deceptive_link(message: ScoredMessage) -> bool:
    """Whether an HTML link's visible text is a URL on another site than its target."""
    if not message.html:
        return False
    for href, text in _anchors(message.html[:SCAN_LIMIT]):
        if not _URL_TEXT.fullmatch(text):
            continue
        shown, target = _host(text), _host(href)
        if shown and target and _site(shown) != _site(target):
            return True
    return False


def findings(message: ScoredMessage) -> list[Finding]:
    """Every rule that fires on `message`, in a fixed order."""
    found = authentication_findings(message.authentication)
    if _has_gtube(message):
        found.append(Finding("GTUBE test string", GTUBE_WEIGHT))
    if display_name_shows_other_domain(message):
        found.append(
            Finding("From display name shows another domain's address", DISPLAY_NAME_ADDRESS)
        )
    if has_deceptive_link(message):
        found.append(Finding("link text shows another site than its target", DECEPTIVE_LINK))
    return found


def verdict_for(score: float) -> Verdict:
    if score >= SPAM_AT:
        return Verdict.SPAM
    if score >= QUARANTINE_AT:
        return Verdict.QUARANTINE
    return Verdict.CLEAN


class BuiltinScorer:
    """The rules above as an `Engine`."""

    name = EngineName.BUILTIN.value

    async def score(self, message: ScoredMessage) -> SpamResult:
        found = findings(message)
        score = round(sum(f.weight for f in found), 3)
        return {
            "verdict": verdict_for(score).value,
            "score": score,
            "reason": "; ".join(f.rule for f in found) or None,
            "engine": EngineName.BUILTIN.value,
        }

    async def close(self) -> None:
        return None

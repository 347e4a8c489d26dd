"""Find the links in a message and rank them, the one that completes the flow first.

Every http(s) link, from HTML anchors (with their text) and from plain text (including URLs
wrapped over several lines), is given a kind from its text, its URL and the sentence around
it. The first link is what completes the flow: a verify, login or reset link when the
message is about that (so a "Log in" link in a newsletter's header stays `other`), else
ordinary links, then help, privacy, social and image-only links, unsubscribe last. A link in
an "if this wasn't you" sentence is a way out of the flow, not the flow, so it is `other`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .htmltext import Rendered
from .normalise import LOOK, MAX_URL_CHARS, SCAN_CHARS, URL, line_bounds, normalise
from .vocabulary import (
    AUTH_INTENT,
    AUX,
    GENERIC_TEXT,
    LOGIN,
    NOT_ME,
    RESET,
    SUBJECT_AUTH,
    SUBJECT_NOT_AUTH,
    UNSUBSCRIBE,
    VERIFY,
)

__all__ = ["Link", "collect_links"]

MAX_LINKS = 300  # links examined per message


@dataclass(frozen=True, slots=True)
class Link:
    """A link in a message: its URL, what following it does (`kind`) and its visible text."""

    url: str
    kind: str
    text: str

    def to_dict(self) -> dict[str, object]:
        return {"url": self.url, "kind": self.kind, "text": self.text}


_URL_PATH_KIND = (
    ("unsubscribe", re.compile(r"unsub|opt-?out|/preferences|email-?prefs", re.I)),
    ("reset", re.compile(r"reset|forgot|recover|/password", re.I)),
    ("login", re.compile(r"magic|/login|/log-in|/signin|/sign-in|/sso|/session", re.I)),
    ("verify", re.compile(r"verif|confirm|activat|validat|/auth/", re.I)),
)
_SOCIAL_HOSTS = re.compile(
    r"^https?://(?:[\w-]{1,63}\.){0,16}(?:facebook\.com|fb\.com|twitter\.com|x\.com|instagram\.com"
    r"|linkedin\.com|youtube\.com|youtu\.be|tiktok\.com|pinterest\.com|threads\.net"
    r"|apps\.apple\.com|itunes\.apple\.com|play\.google\.com|t\.me|discord\.gg|github\.com"
    r"|wa\.me)(?:[/:?#]|$)",
    re.I,
)
_TOKENISH = re.compile(r"[A-Za-z0-9_\-]{16}")  # searched: 16 in a row say as much as more


@dataclass(slots=True)
class _Link:
    url: str
    text: str
    context: str
    image_only: bool
    position: int
    from_anchor: bool
    alone: bool = False
    kind: str = "other"
    tier: int = 3
    quality: int = 0


def _clean_url(href: str) -> str | None:
    url = "".join(href.split())
    if url[:1] in "<\"'":
        url = url.strip("<>\"'")
    if len(url) > MAX_URL_CHARS or not url[:8].lower().startswith(("http://", "https://")):
        return None
    if len(url) <= len("https://"):
        return None
    return url


_TRAILING = ".,;:!?*'\"»”’>"
_TRIMMED = frozenset(_TRAILING + ")]}")


def _trim_url(url: str) -> str:
    """Drop the punctuation that ends the sentence around a URL, in one pass from the end.

    A closing bracket stays when it closes one opened in the URL ("/wiki/Foo_(bar)").
    """
    opened = {")": url.count("("), "]": url.count("[")}
    closed = {")": url.count(")"), "]": url.count("]")}
    end = len(url)
    while end and url[end - 1] in _TRIMMED:
        last = url[end - 1]
        if last in closed:
            if opened[last] >= closed[last]:
                break
            closed[last] -= 1
        end -= 1
    return url[:end]


_CLAUSE_END = re.compile(rf"[.!?。！？]\s{{1,{LOOK}}}")  # split within one line (<= LOOK)
_URL_CHARS = re.compile(rf"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]{{1,{MAX_URL_CHARS}}}")


def _text_links(text: str, base: int) -> list[_Link]:
    """Links in plain text, rejoining URLs that a mailer wrapped over several lines."""
    links: list[_Link] = []
    if "ttp" not in text and "TTP" not in text:
        return links
    n = len(text)
    for m in URL.finditer(text):
        if len(links) >= MAX_LINKS:
            break
        s, e = m.span()
        if not text[s:e].lower().startswith("http"):
            continue
        url = text[s:e]
        if s > 0 and text[s - 1] == "<":
            close = text.find(">", e, e + 4000)
            if close != -1 and _URL_CHARS.fullmatch("".join(text[s:close].split()) or "x"):
                url = "".join(text[s:close].split())
                e = close
        else:
            url, e = _unwrap(text, url, s, e, n)
        if len(url) > MAX_URL_CHARS:
            continue  # never a link (see _clean_url); trimming it would only cost time
        url = _trim_url(url)
        cleaned = _clean_url(url)
        if cleaned is None:
            continue
        line_start, line_end = line_bounds(text, s, e)
        # The words just before a URL name it: "Verify your email: https://...".
        label = _CLAUSE_END.split(text[line_start:s])[-1].strip().rstrip(":：-—<>([").strip()
        context_start = line_start
        if not label and line_start > 0:
            context_start = line_bounds(text, line_start - 1, line_start - 1)[0]
        context = text[context_start:line_end].replace(url, " ")
        links.append(
            _Link(cleaned, label if len(label) <= 120 else "", context[-400:], False, base + s,
                  False)
        )  # fmt: skip
    return links


def _unwrap(text: str, url: str, s: int, e: int, n: int) -> tuple[str, int]:
    """Rejoin a URL that a mailer hard-wrapped onto the next line(s).

    The next line continues the URL when its first token could only be URL text (it has digits
    or URL punctuation), when the URL stopped in the middle of a query ("?t=", "&"), or when the
    URL's line was full (wrapped at 70+ columns) and the token is not an ordinary word.
    """
    if url[-1] in ".,;:!?)]'\"":
        return url, e  # the URL's sentence ended on this line
    for _ in range(6):
        if e >= n or text[e] not in "\r\n":
            break
        nxt = e + 1
        if text[e] == "\r" and nxt < n and text[nxt] == "\n":
            nxt += 1
        # Only as much of the next line as a URL can take is read.
        window = min(n, nxt + MAX_URL_CHARS)
        line_end = text.find("\n", nxt, window)
        if line_end == -1:
            line_end = window
        line = text[nxt:line_end].rstrip("\r")
        if not line or line[0].isspace():
            break
        token = line.split(None, 1)[0]
        if not _URL_CHARS.fullmatch(token) or token.lower().startswith(("http://", "https://")):
            break
        inner = token.rstrip(".,;:!?)")
        if not inner:
            break
        word = inner.isalpha() and (inner.islower() or inner.istitle() or inner.isupper())
        urlish = any(ch.isdigit() or ch in "=&/%_~-+#" for ch in inner)
        mid_query = url[-1] in "=&?-_%"
        full_line = s - line_bounds(text, s, s)[0] + len(url) >= 70
        if not (urlish or (mid_query and not inner.istitle()) or (full_line and not word)):
            break
        whole_line = len(token) == len(line)
        if not whole_line and not urlish:
            break
        url += token
        e = nxt + len(token)
        if not whole_line or url[-1] in ".,;:!?)]'\"" or len(url) > MAX_URL_CHARS:
            break
    return url, e


_KIND_VOCAB = {"reset": RESET, "login": LOGIN, "verify": VERIFY}


def _kind_of(text: str, primary: str | None) -> str | None:
    """The auth kind the words of `text` name; the message's own kind wins a tie."""
    order: tuple[str, ...] = ("reset", "verify", "login")
    if primary:
        order = (primary, *(k for k in order if k != primary))
    for name in order:
        if _KIND_VOCAB[name].search(text):
            return name
    return None


def _classify(link: _Link, intent: bool, primary: str | None) -> None:
    text = link.text.lower()
    url = link.url
    path = url.split("://", 1)[-1].partition("/")[2]
    context = link.context.lower()
    generic = not text or bool(GENERIC_TEXT.match(text)) or text.startswith("http")

    if UNSUBSCRIBE.search(text) or _URL_PATH_KIND[0][1].search(path):
        link.kind, link.tier = "unsubscribe", 0
        return
    line_before = context.rsplit(text, 1)[0][-160:] if text else context[-160:]
    if text and NOT_ME.search(text + " " + line_before.rsplit("\n", 1)[-1]):
        link.kind, link.tier = "other", 2
        return
    kind = None
    if text and not generic:
        kind = _kind_of(text, primary)
        link.quality = 3
    if kind is None:
        for name, pattern in _URL_PATH_KIND[1:]:
            if pattern.search(path):
                kind = name
                link.quality = 2
                break
    aux = bool(AUX.search(text)) or bool(_SOCIAL_HOSTS.match(url))
    if kind is None and context and (generic or (link.alone and not aux and not link.image_only)):
        # "Click here", or a button whose own words ("Yes, subscribe me") say less than the
        # sentence above it.
        kind = _kind_of(context, primary)
        link.quality = 1
    # A verify, login or reset link counts as one when the message is about that, or when its
    # own words say so and it stands out as a button or a labelled URL in plain text; a "Log in"
    # among a newsletter's header links does not.
    named = link.quality == 3 and (link.alone or not link.from_anchor)
    if kind and (intent or named) and not (aux and link.quality < 3):
        link.kind, link.tier = kind, 4
        if primary == kind:
            link.quality += 3
        if link.from_anchor and text and len(text.split()) >= 2:
            link.quality += 1
        if _TOKENISH.search(url.split("?", 1)[-1] if "?" in url else path):
            link.quality += 1
        return
    link.kind = "other"
    if link.image_only:
        link.tier = 1
    elif aux:
        link.tier = 2
    else:
        link.tier = 3


def _intent(subject: str, texts: list[str], has_codes: bool) -> tuple[bool, str | None]:
    """Whether the message is about verifying, signing in or resetting, and which of them."""
    subject_l = subject.lower()
    subject_auth = bool(SUBJECT_AUTH.search(subject_l)) and not SUBJECT_NOT_AUTH.search(subject_l)
    primary = _kind_of(subject_l, None) if subject_auth else None
    if primary and (has_codes or subject_auth):
        return True, primary
    body = normalise("\n".join(t[:6000] for t in texts if t).lower())
    primary = primary or _kind_of(body, None)
    if has_codes or subject_auth:
        return True, primary
    return AUTH_INTENT.search(body) is not None, primary


def collect_links(
    rendered: Rendered | None, texts: list[str], subject: str, has_codes: bool
) -> list[Link]:
    links: list[_Link] = []
    if rendered is not None:
        for i, anchor in enumerate(rendered.anchors[:MAX_LINKS]):
            url = _clean_url(anchor.href)
            if url is None:
                continue
            links.append(
                _Link(url, " ".join(anchor.text.split())[:200], anchor.context, anchor.image_only,
                      i, True, anchor.alone)
            )  # fmt: skip
    shown = {link.text for link in links if link.text.startswith(("http", "HTTP"))}
    for index, text in enumerate(texts):
        if text and len(links) < MAX_LINKS:
            for link in _text_links(text[:SCAN_CHARS], (index + 1) * 1_000_000):
                # A URL shown as the text of an anchor is that anchor, whose href (often a
                # click-tracking redirect) is what must be clicked.
                if index == 0 and link.url in shown:
                    continue
                links.append(link)
    if not links:
        return []
    intent, primary = _intent(subject, texts, has_codes)
    for link in links:
        _classify(link, intent, primary)
    links.sort(key=lambda x: (-x.tier, -x.quality, x.position))
    seen: set[str] = set()
    out: list[Link] = []
    for link in links:
        if link.url in seen:
            continue
        seen.add(link.url)
        out.append(Link(link.url, link.kind, link.text))
    return out

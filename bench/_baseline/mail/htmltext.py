"""Render HTML mail as plain text, and collect its links on the way.

The rendering serves two readers: people (the `preview` and search text of HTML-only mail) and
the code/link extractor. Both want what a mail client shows: no `<head>`, scripts, styles,
comments or hidden preheaders; one line per block; the cells of a table row on one line,
separated by tabs; entities decoded; invisible characters gone.

Parsing is done by lexbor (through `selectolax`), an HTML5 parser written in C that copes with
any byte soup: it parses a 50 KB transactional mail in about 0.2 ms, where the stdlib
`html.parser` needs 1.5 ms just to tokenise it. Rendering then rewrites the tree with a few
selector queries and lets lexbor produce the text, rather than visiting every node from
Python: that halves the cost, and no recursion depends on how deeply the mail nests.

Blocks and line breaks become single newlines (no blank lines between paragraphs, except in
`<pre>`). Comments, Outlook's conditional blocks among them, are removed before parsing. The
cost is linear in the input, with one cut: a document nesting deeper than `MAX_OPEN_TAGS`
elements is rendered up to the tag that goes deeper (see `_limit_nesting`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser

__all__ = ["Anchor", "Rendered", "html_to_text", "render_html", "strip_invisible"]

# Structural marks put into the text and turned into whitespace at the end. ASCII control
# characters keep the common all-ASCII text on CPython's fast string paths; they are removed
# from the input first, so mail cannot forge them.
_CELL = "\x01"  # table cell boundary
_NL = "\x02"  # block boundary
_BR = "\x03"  # <br>
_PARA = "\x04"  # paragraph boundary (blank line)
# Every repetition in this module is bounded, so one match attempt reads a bounded number of
# characters whatever the input. Here a run longer than the bounds is merged in pieces, which
# only costs an extra line break in mail no one writes.
_MARK_PAIR = re.compile("[\x01-\x04][ \x05\x06]{0,32}[\x01-\x04]")
# A run of marks, with any empty anchors (their sentinels) inside it.
_MARK_RUN = re.compile("[\x01-\x04](?:[ \x05\x06]{0,32}[\x01-\x04]){1,1024}")
_MARK_TEXT = ((_CELL, "\t"), (_NL, "\n"), (_BR, "\n"), (_PARA, "\n\n"))
_A_OPEN = "\x05"  # start of an anchor's text
_A_CLOSE = "\x06"  # end of an anchor's text
_SENTINELS = "\x05\x06"
_FORGEABLE = "\x00\x01\x02\x03\x04\x05\x06"
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")

_SKIP_SELECTOR = (
    "head,title,script,style,noscript,template,svg,math,iframe,object,embed,select,textarea"
)

_BLOCK_TAGS = frozenset(
    "p h1 h2 h3 h4 h5 h6 table ul ol dl blockquote pre hr address figure div tr li dt dd "
    "section article header footer main nav aside center form fieldset legend caption thead "
    "tbody tfoot details summary figcaption".split()
)

# Characters that render as nothing. Templates put them between letters and digits (to defeat
# scrapers, to pad preheaders, through soft hyphenation); they must not split "48<ZWSP>2913"
# into two tokens.
_INVISIBLE = re.compile(
    "[\x00\x07\x08\x0e-\x1b\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff9-\ufffb]{1,4096}"
)
# Preheaders and other text the reader never sees. Matched on the lower-cased style with
# spaces removed; "max-height:0" and "opacity:0" but not "opacity:0.9".
_HIDDEN_STYLE = re.compile(
    r"display:none|visibility:hidden|mso-hide:all|(?:max-height|max-width|opacity):0(?![.0-9]{0,32}[1-9])"
)


def strip_invisible(text: str) -> str:
    """Remove zero-width and other invisible characters."""
    if text.isascii():
        return text
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return _INVISIBLE.sub("", text)
    # Within Latin-1 only the soft hyphen is invisible; skipping the full class scan matters
    # because it costs more than the rest of the rendering put together.
    return text.replace("\xad", "") if "\xad" in text else text


@dataclass(frozen=True, slots=True)
class Anchor:
    """A visible `<a href>`: its href (entities decoded), its text, and the text around it.

    `text` falls back to the `aria-label`, `title` or image `alt` for links without text, and
    `image_only` says so. `alone` is true when nothing else shares the anchor's line or table
    cell, as for a button.
    """

    href: str
    text: str
    image_only: bool
    context: str
    alone: bool = False


@dataclass(frozen=True, slots=True)
class Rendered:
    """HTML rendered as plain text, with the visible anchors collected on the way for link
    ranking."""

    text: str
    anchors: tuple[Anchor, ...]


def html_to_text(html: str) -> str:
    """Render `html` as readable plain text. Never raises."""
    return render_html(html).text


@lru_cache(maxsize=2)
def render_html(html: str) -> Rendered:
    """Render `html` as text and collect its visible anchors. Never raises.

    Cached for the last two inputs because the ingest pipeline renders a body once for the
    preview and again inside `extract`; the key is the string itself, hashed once by CPython.
    """
    try:
        return _render(html)
    except Exception:  # a mail that breaks the renderer must not break ingest
        return Rendered("", ())


def _finish(raw: str) -> str:
    """Collapse whitespace and turn the structural marks into tabs and newlines."""
    text = strip_invisible(" ".join(raw.split()))  # str.split() knows every Unicode space
    if _MARK_PAIR.search(text):
        text = _MARK_RUN.sub(_strongest_mark, text)
    for mark, replacement in _MARK_TEXT:
        if mark in text:
            text = text.replace(mark + " ", replacement).replace(mark, replacement)
    text = text.replace(" \t", "\t").replace(" \n", "\n")
    if "\t\n" in text or "\n\t" in text:  # empty first or last cells of a row
        text = text.replace("\t\n", "\n").replace("\n\t", "\n")
    return text.strip()


def _strongest_mark(match: re.Match[str]) -> str:
    run = match.group()
    sentinels = "".join(ch for ch in run if ch in _SENTINELS)  # empty anchors keep a place
    if _PARA in run or run.count(_BR) > 1:
        return _PARA + sentinels
    if _NL in run or _BR in run:
        return _NL + sentinels
    return _CELL + sentinels


# Hidden: elements flagged so, and those whose style says so (`_hidden_style` decides).
_FLAGGED_SELECTOR = '[hidden],[class*="preheader" i]'
_HIDDEN_SELECTOR = "[style]," + _FLAGGED_SELECTOR
_INLINE_SELECTOR = '[style*="inline" i]'


def _is_inline(attrs: dict[str, str | None]) -> bool:
    style = attrs.get("style") or ""
    return "display:inline" in style.replace(" ", "").lower()


def _hidden_style(style: str | None) -> bool:
    if not style:
        return False
    low = style.lower()
    if "none" in low or "max-" in low or "opacity" in low or "visib" in low or "mso-h" in low:
        return _HIDDEN_STYLE.search(low.replace(" ", "")) is not None
    return False


def _prepare_markup(html: str) -> str:
    """The markup worth parsing: the <body> on, control characters and comments out, nesting
    capped."""
    # Nothing in <head> is shown; skipping it spares parsing (and scanning) its often large
    # <style> block.
    body_at = html.find("<body")
    if body_at == -1:
        body_at = html.find("<BODY")
    if body_at > 0 and (html.find("<head", 0, body_at) >= 0 or html.find("<HEAD", 0, body_at) >= 0):
        html = html[body_at:]
    if any(ch in html for ch in _FORGEABLE):
        html = _CONTROLS.sub("", html)
    if "<!--" in html:
        html = _drop_comments(html)
    return _limit_nesting(html)


def _render(html: str) -> Rendered:
    if not html:
        return Rendered("", ())
    html = _prepare_markup(html)
    tree = LexborHTMLParser(html.encode("utf-8", "replace"))
    root = tree.body or tree.root
    if root is None:
        return Rendered("", ())
    # One selector pass for all unrendered elements; removed innermost first, so that no node
    # is destroyed twice.
    for node in reversed(root.css(_SKIP_SELECTOR)):
        node.decompose()
    # The tree is rewritten so that lexbor can produce the text in one pass, in C: hidden
    # elements go, anchors are fenced with sentinels, cells start with a tab mark, inline
    # elements are unwrapped and adjacent text merged. What is left between two text nodes is
    # then always a block boundary, which `text(separator=...)` marks.
    flagged = {n.mem_id for n in root.css(_FLAGGED_SELECTOR)}
    hidden = [
        n
        for n in root.css(_HIDDEN_SELECTOR)
        if (flagged and n.mem_id in flagged) or _hidden_style(n.attrs.get("style"))
    ]
    for node in reversed(hidden):  # innermost first: a removed subtree is never visited again
        node.decompose()
    found: list[tuple[str, bool, str]] = []
    # Only the first MAX_ANCHORS are collected (the extractor looks at no more links than
    # that); the rest render as text, which keeps the Python work per document bounded.
    for anchor in root.css("a[href]")[:MAX_ANCHORS]:
        attrs = anchor.attributes
        image = anchor.css_first("img")
        alt = (image.attributes.get("alt") or "") if image is not None else ""
        fallback = attrs.get("aria-label") or attrs.get("title") or alt
        found.append((attrs["href"] or "", image is not None, fallback))
        anchor.insert_before(_A_OPEN)
        anchor.insert_after(_A_CLOSE)
    for cell in root.css("td,th"):
        cell.insert_before(_CELL)
    for node in root.css(_INLINE_SELECTOR):
        if node.tag in _BLOCK_TAGS and _is_inline(node.attributes):
            # Boxes laid out side by side, such as a code printed one digit per box.
            node.insert_before(" ")
            node.insert_after(" ")
            node.unwrap()
    for node in root.css("pre"):
        node.replace_with(_NL + node.text().replace("\n", _BR) + _NL)
    for node in root.css(_UNWRAP_SELECTOR):
        node.unwrap(delete_empty=True)
    tree.merge_text_nodes()
    text = _finish(root.text(separator=_NL, skip_empty=True))
    if not found:
        return Rendered(text, ())
    return _with_anchors(text, found)


MAX_OPEN_TAGS = 3000
MAX_ANCHORS = 300
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]{0,63})")  # no tag we know is longer
# Elements that cannot raise the nesting depth: void ones, and those a sibling closes.
_FLAT_TAGS = frozenset(
    "br img meta link input hr wbr col area source base track embed param p li td th tr dt dd "
    "option".split()
)


def _limit_nesting(html: str) -> str:
    """Cut a document where it would nest deeper than `MAX_OPEN_TAGS` elements.

    HTML5 tree building checks the stack of open elements for many start tags, so its cost
    grows with the square of the nesting depth: 10,000 nested `<ul><li>` take lexbor seconds.
    A document with fewer tags than the limit cannot reach it, which spares ordinary mail the
    scan; otherwise the depth is tracked tag by tag, erring on the deep side.
    """
    if html.count("<") <= MAX_OPEN_TAGS:
        return html
    depth = 0
    for m in _TAG.finditer(html):
        name = m.group(2).lower()
        if name in _FLAT_TAGS:
            continue
        if m.group(1):
            if depth:
                depth -= 1
        else:
            depth += 1
            if depth > MAX_OPEN_TAGS:
                return html[: m.start()]
    return html


def _drop_comments(html: str) -> str:
    """Remove `<!-- ... -->` comments (Outlook conditional blocks among them) before parsing.

    Left in the tree, a comment would split the text around it in two.
    """
    pieces = []
    pos = 0
    while True:
        start = html.find("<!--", pos)
        if start == -1:
            break
        pieces.append(html[pos:start])
        end = html.find("-->", start + 4)
        if end == -1:
            pos = len(html)
            break
        pos = end + 3
    pieces.append(html[pos:])
    return "".join(pieces)


# Inline elements seen in mail. Each name costs a pass over the tree, so rarer ones (q, cite,
# kbd...) are left to act as line breaks.
_UNWRAP_SELECTOR = ",".join(
    "a span b strong i em u font small big sup sub code label mark s strike tt nobr wbr abbr "
    "button td th img".split()
)


_SENTINEL = re.compile("[\x05\x06]")


def _with_anchors(marked: str, found: list[tuple[str, bool, str]]) -> Rendered:
    """Take the anchor sentinels out of the text, noting where each anchor's text lies."""
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    opened: list[int] = []
    pos = 0
    length = 0
    for m in _SENTINEL.finditer(marked):
        chunk = marked[pos : m.start()]
        pieces.append(chunk)
        length += len(chunk)
        pos = m.end()
        if m.group() == _A_OPEN:
            opened.append(length)
        elif opened:
            spans.append((opened.pop(), length))
    pieces.append(marked[pos:])
    text = "".join(pieces)
    anchors = []
    for (href, had_image, fallback), (s, e) in zip(found, spans, strict=False):
        label = " ".join(text[s:e].split())
        image_only = not label and had_image
        if not label:
            label = " ".join(strip_invisible(fallback).split())
        context, alone = _context(text, s, e, label)
        anchors.append(Anchor(href, label, image_only, context, alone))
    return Rendered(text, tuple(anchors))


def _context(text: str, s: int, e: int, label: str) -> tuple[str, bool]:
    """The anchor's text with the line before it and the rest of its own line, and whether
    nothing else shares its line or table cell (as for a button).

    A button usually sits alone in its cell with the sentence saying what it does just above;
    "click here" sits inside that sentence.
    """
    lo = max(0, s - 400)
    line_start = text.rfind("\n", lo, s) + 1 or lo
    prev_start = text.rfind("\n", lo, max(lo, line_start - 1)) + 1 or lo
    hi = min(len(text), e + 200)
    line_end = text.find("\n", e, hi)
    if line_end == -1:
        line_end = hi
    head = text[max(line_start, text.rfind("\t", line_start, s) + 1) : s]
    tail_end = text.find("\t", e, line_end)
    tail = text[e : line_end if tail_end == -1 else tail_end]
    alone = not head.strip() and not tail.strip()
    if e > s:
        return text[max(prev_start, s - 300) : line_end].strip(), alone
    return f"{text[max(prev_start, s - 300) : s]} {label} {text[e:line_end]}".strip(), alone

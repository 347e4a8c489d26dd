"""Render HTML mail as plain text, and collect its links on the way.

The rendering serves two readers: people (the `preview` and search text of HTML-only mail) and
the code/link extractor. Both want what a mail client shows: no `<head>`, scripts, styles,
comments or hidden preheaders; one line per block; the cells of a table row on one line,
separated by tabs; entities decoded; invisible characters gone.

Parsing is done by lexbor (through `selectolax`), an HTML5 parser written in C that copes with
any byte soup: it parses a 50 KB transactional mail in about 0.2 ms, where the stdlib
`html.parser` needs 1.5 ms just to tokenise it. The tree walk below is iterative, so nesting
depth cannot exhaust the Python stack, and it visits each node once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser

__all__ = ["Anchor", "Rendered", "html_to_text", "render_html", "strip_invisible"]

# Structural marks put in the output during the walk and turned into whitespace at the end.
# ASCII control characters keep the common all-ASCII text on CPython's fast string paths; they
# are removed from the input first, so mail cannot forge them.
_CELL = "\x01"  # table cell boundary
_NL = "\x02"  # block boundary
_BR = "\x03"  # <br>
_PARA = "\x04"  # paragraph boundary (blank line)
_RANK = {_CELL: 0, _NL: 1, _BR: 1, _PARA: 2}
_MARK_TEXT = ((_CELL, "\t"), (_NL, "\n"), (_BR, "\n"), (_PARA, "\n\n"))
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")

_SKIP_TAGS = [
    "head", "title", "script", "style", "noscript", "template", "svg", "math",
    "iframe", "object", "embed", "select", "textarea",
]  # fmt: skip

_PARA_TAGS = frozenset(
    "p h1 h2 h3 h4 h5 h6 table ul ol dl blockquote pre hr address figure".split()
)
_BLOCK_TAGS = _PARA_TAGS | frozenset(
    "div tr li dt dd section article header footer main nav aside center form fieldset "
    "legend caption thead tbody tfoot details summary figcaption body html".split()
)
_CELL_TAGS = frozenset(("td", "th"))

# Characters that render as nothing. Templates put them between letters and digits (to defeat
# scrapers, to pad preheaders, through soft hyphenation); they must not split "48<ZWSP>2913"
# into two tokens.
_INVISIBLE = re.compile(
    "[\x00\x05-\x08\x0e-\x1b\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff9-\ufffb]+"
)
# Preheaders and other text the reader never sees. Matched on the lower-cased style with
# spaces removed; "max-height:0" and "opacity:0" but not "opacity:0.9".
_HIDDEN_STYLE = re.compile(
    r"display:none|visibility:hidden|mso-hide:all|(?:max-height|max-width|opacity):0(?![.0-9]*[1-9])"
)
_HIDDEN_HINTS = ("none", "hidden", "mso-hide", "max-", "opacity")


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
    text = strip_invisible(" ".join(raw.split()))  # str.split() knows every Unicode space
    for mark, replacement in _MARK_TEXT:
        if mark in text:
            text = text.replace(mark + " ", replacement).replace(mark, replacement)
    return text.replace(" \t", "\t").replace(" \n", "\n").strip()


def _is_hidden(attrs: dict[str, str | None]) -> bool:
    if "hidden" in attrs:
        return True
    style = attrs.get("style")
    if style:
        lowered = style.lower()
        for hint in _HIDDEN_HINTS:
            if hint in lowered:
                return _HIDDEN_STYLE.search(lowered.replace(" ", "")) is not None
    cls = attrs.get("class")
    return bool(cls) and "preheader" in cls.lower()


def _add_mark(out: list[str], mark: str) -> None:
    """Append a structural mark, merging it with the one before (nested blocks end together)."""
    while out and (out[-1] == " " or out[-1] == ""):
        out.pop()
    if out:
        last = out[-1]
        if last in _RANK:
            if last == _BR and mark == _BR:
                out[-1] = _PARA
            elif _RANK[mark] > _RANK[last]:
                out[-1] = mark
            return
    out.append(mark)


def _render(html: str) -> Rendered:
    if not html:
        return Rendered("", ())
    if "\x00" in html or "\x01" in html or "\x02" in html or "\x03" in html or "\x04" in html:
        html = _CONTROLS.sub("", html)
    tree = LexborHTMLParser(html.encode("utf-8", "replace"))
    tree.strip_tags(_SKIP_TAGS, recursive=True)
    root = tree.body or tree.root
    if root is None:
        return Rendered("", ())

    out: list[str] = []
    # Open anchors: [index in `out` where its text starts, attributes, images seen before it,
    # alt text of its first image].
    open_anchors: list[list] = []
    found: list[tuple[str, int, int, str, bool]] = []
    images_seen = 0
    pre_depth = 0
    # Entries are nodes to enter, or tuples: what to do when an element closes.
    stack: list = [root]
    while stack:
        item = stack.pop()
        if type(item) is tuple:
            action = item[0]
            if action == "block":
                _add_mark(out, item[1])
            elif action == "space":
                out.append(" ")
            elif action == "pre":
                pre_depth -= 1
                _add_mark(out, _PARA)
            else:
                start, attrs, images_before, alt = open_anchors.pop()
                text = _finish("".join(out[start:]))
                image_only = not text and images_seen > images_before
                if not text:
                    text = _finish(attrs.get("aria-label") or attrs.get("title") or alt)
                found.append((attrs["href"], start, len(out), text, image_only))
            continue
        node = item
        if node.is_text_node:
            data = node.text_content
            if not data:
                continue
            if pre_depth:
                out.append(data.replace("\n", _BR))
            elif not data.isspace():
                out.append(data)
            elif out and out[-1] not in _RANK and not out[-1][-1].isspace():
                out.append(" ")
            continue
        tag = node.tag
        if tag[0] == "-":  # comments, doctype
            continue
        attrs = node.attributes
        if attrs and _is_hidden(attrs):
            continue
        if tag == "br":
            _add_mark(out, _BR)
            continue
        if tag == "img":
            images_seen += 1
            if open_anchors and not open_anchors[-1][3]:
                open_anchors[-1][3] = attrs.get("alt") or ""
            continue
        if tag in _CELL_TAGS:
            _add_mark(out, _CELL)
        elif tag in _BLOCK_TAGS:
            style = attrs.get("style")
            if style and "inline" in style and "display:inline" in style.replace(" ", ""):
                # Boxes laid out side by side, such as a code printed one digit per box.
                out.append(" ")
                stack.append(("space",))
            else:
                mark = _PARA if tag in _PARA_TAGS else _NL
                _add_mark(out, mark)
                if tag == "pre":
                    pre_depth += 1
                    stack.append(("pre",))
                else:
                    stack.append(("block", mark))
        elif tag == "a" and attrs.get("href"):
            stack.append(("a",))
            open_anchors.append([len(out), attrs, images_seen, ""])
        children = list(node.iter(include_text=True))
        if children:
            children.reverse()
            stack.extend(children)

    text = _finish("".join(out))
    anchors = tuple(
        Anchor(href, label, image_only, *_context(out, start, end, label))
        for href, start, end, label, image_only in found
    )
    return Rendered(text, anchors)


def _context(out: list[str], start: int, end: int, label: str) -> tuple[str, bool]:
    """The anchor's text with the line before it and the rest of its own line, and whether
    the anchor is alone on its line.

    A button usually sits alone in its cell with the sentence saying what it does just above;
    "click here" sits inside that sentence.
    """
    raw_before = "".join(out[max(0, start - 24) : start])
    raw_after = "".join(out[end : end + 12])
    alone = _line_tail(raw_before).isspace() or not _line_tail(raw_before)
    alone = alone and not _line_head(raw_after).strip()
    before = _finish(raw_before)
    after = _finish(raw_after)
    before = "\n".join(before.rsplit("\n", 2)[-2:])[-300:]
    after = after.split("\n", 1)[0][:200]
    return f"{before} {label} {after}".strip(), alone


def _line_tail(raw: str) -> str:
    cut = max(raw.rfind(mark) for mark in _RANK)
    return raw[cut + 1 :] if cut >= 0 else raw


def _line_head(raw: str) -> str:
    cuts = [i for i in (raw.find(mark) for mark in _RANK) if i >= 0]
    return raw[: min(cuts)] if cuts else raw

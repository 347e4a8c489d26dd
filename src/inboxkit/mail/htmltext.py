"""Render HTML mail as plain text, and collect its links on the way.

The rendering serves two readers: people (the `preview` and search text of HTML-only mail) and
the code/link extractor. Both want what a mail client shows: no `<head>`, scripts, styles,
comments or hidden preheaders; one line per block; the cells of a table row on one line,
separated by tabs; entities decoded; invisible characters gone.

Parsing is done by lexbor (through `selectolax`), an HTML5 parser written in C that copes with
any byte soup: it parses a 50 KB transactional mail in about 0.2 ms, where the stdlib
`html.parser` needs 1.5 ms just to tokenise it. Rendering then rewrites the tree with a few
selector queries and lets lexbor produce the text, rather than visiting every node from
Python: that halves the cost, and no recursion depends on how deeply the mail nests. What to
rewrite is found in one walk of the tree (a selector costs lexbor a walk per name in it).

Blocks and line breaks become single newlines (no blank lines between paragraphs, except in
`<pre>`). Comments, Outlook's conditional blocks among them, are removed before parsing. The
cost is linear in the input, with one cut: a document nesting deeper than `MAX_OPEN_TAGS`
elements is rendered up to the tag that goes deeper (see `_limit_nesting`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = [
    "SKIP_SELECTOR",
    "Anchor",
    "Rendered",
    "drop_hidden",
    "html_to_text",
    "prepare_markup",
    "render_html",
    "strip_invisible",
]

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
_FORGEABLE = b"\x00\x01\x02\x03\x04\x05\x06"
_CONTROLS = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])  # removed from markup

SKIP_SELECTOR = (
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
# spaces removed; "max-height:0" and "opacity:0" but not "opacity:0.9". `mso-hide:all` is not
# here: it hides an element from Outlook only, and templates put it on the very button every
# other client shows (beside a VML copy for Outlook inside a conditional comment).
_HIDDEN_STYLE = re.compile(
    r"display:none|visibility:hidden|(?:max-height|max-width|opacity):0(?![.0-9]{0,32}[1-9])"
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
    cell, as for a button; `button` when it is drawn as one (a background or padding of its
    own, `role="button"`, a button class, or a coloured cell around it).
    """

    href: str
    text: str
    image_only: bool
    context: str
    alone: bool = False
    button: bool = False


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
    sentinels = ""  # empty anchors keep a place
    if _A_OPEN in run or _A_CLOSE in run:
        sentinels = "".join(ch for ch in run if ch in _SENTINELS)
    if _PARA in run or run.count(_BR) > 1:
        return _PARA + sentinels
    if _NL in run or _BR in run:
        return _NL + sentinels
    return _CELL + sentinels


# Hidden: elements flagged so, and those whose style says so (`drop_hidden` decides).
# (Narrowing the selector to styles that name a way of hiding costs as much: lexbor walks the
# tree once per attribute selector.)
_HIDDEN_SELECTOR = '[style],[hidden],[class*="preheader" i]'


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


def prepare_markup(html: str) -> bytes:
    """The markup worth parsing, as UTF-8: the <body> on, control characters and comments out,
    nesting capped.

    The work is done on the bytes: every search below is for ASCII, which UTF-8 encodes as
    itself and no other character contains, and a search of bytes is several times cheaper
    than one of a string with a non-Latin-1 character in it.
    """
    data = html.encode("utf-8", "replace")
    # Nothing in <head> is shown; skipping it spares parsing (and scanning) its often large
    # <style> block.
    body_at = data.find(b"<body")
    if body_at == -1:
        body_at = data.find(b"<BODY")
    if body_at > 0 and (
        data.find(b"<head", 0, body_at) >= 0 or data.find(b"<HEAD", 0, body_at) >= 0
    ):
        data = data[body_at:]
    if any(ch in data for ch in _FORGEABLE):
        data = data.translate(None, _CONTROLS)
    if b"<!--" in data:
        data = _drop_comments(data)
    return _limit_nesting(data)


def _render(html: str) -> Rendered:
    if not html:
        return Rendered("", ())
    data = prepare_markup(html)
    tree = LexborHTMLParser(data)
    root = tree.body or tree.root
    if root is None:
        return Rendered("", ())
    # Tag and attribute names are ASCII, so the markup lower-cased as bytes (a few
    # microseconds, where lower-casing the text costs as much as a walk of the tree) says
    # exactly which of the rare tags and styles are worth a selector walk.
    low = data.lower()
    if _SKIP_TAG.search(low):
        # Removed innermost first (the selector answers in document order), so that no node
        # is destroyed twice.
        for node in reversed(root.css(SKIP_SELECTOR)):
            node.decompose()
    drop_hidden(root)
    # The tree is rewritten so that lexbor can produce the text in one pass, in C: anchors are
    # fenced with sentinels, cells start with a tab mark, inline elements are unwrapped and
    # adjacent text merged. What is left between two text nodes is then always a block
    # boundary, which `text(separator=...)` marks. One walk of the tree from Python finds what
    # to rewrite: a selector costs lexbor a walk per name, and the unwrapped names alone are 22.
    anchors, cells, pres, unwrap = _to_rewrite(root)
    found = _fence_anchors(anchors)
    for cell in cells:
        cell.insert_before(_CELL)
    for node in root.css(_INLINE_SELECTOR) if b"inline" in low else ():
        if node.tag in _BLOCK_TAGS and _is_inline(node.attributes):
            # Boxes laid out side by side, such as a code printed one digit per box.
            node.insert_before(" ")
            node.insert_after(" ")
            node.unwrap()
    if pres:
        for node in pres:
            node.replace_with(_NL + node.text().replace("\n", _BR) + _NL)
        # What was inside a <pre> is gone with it.
        unwrap = [node for node in root.traverse() if node.tag_id in _UNWRAP_IDS]
    for node in unwrap:
        node.unwrap(delete_empty=True)
    tree.merge_text_nodes()
    text = _finish(root.text(separator=_NL, skip_empty=True))
    if not found:
        return Rendered(text, ())
    return _with_anchors(text, found)


_Nodes = list[LexborNode]


def _to_rewrite(root: LexborNode) -> tuple[_Nodes, _Nodes, _Nodes, _Nodes]:
    """The anchors, cells, <pre> elements and inline elements under `root`, in one walk."""
    anchors: _Nodes = []
    cells: _Nodes = []
    pres: _Nodes = []
    unwrap: _Nodes = []
    for node in root.traverse():
        tag = node.tag_id
        if tag in _UNWRAP_IDS:
            unwrap.append(node)
            if tag == _A_ID:
                anchors.append(node)
            elif tag in _CELL_IDS:
                cells.append(node)
        elif tag == _PRE_ID:
            pres.append(node)
    return anchors, cells, pres, unwrap


def _fence_anchors(anchors: list[LexborNode]) -> list[tuple[str, bool, str, bool]]:
    """Put sentinels around the text of each anchor with an href, and note what the text
    alone does not say: (href, has an image, fallback text, drawn as a button)."""
    found: list[tuple[str, bool, str, bool]] = []
    for anchor in anchors:
        attrs = anchor.attributes
        if "href" not in attrs:
            continue
        # Only the first MAX_ANCHORS are collected (the extractor looks at no more links than
        # that); the rest render as text, which keeps the Python work per document bounded.
        if len(found) == MAX_ANCHORS:
            break
        image = anchor.css_first("img")
        alt = (image.attributes.get("alt") or "") if image is not None else ""
        fallback = attrs.get("aria-label") or attrs.get("title") or alt
        found.append((attrs["href"] or "", image is not None, fallback, _drawn_as_button(anchor)))
        anchor.insert_before(_A_OPEN)
        anchor.insert_after(_A_CLOSE)
    return found


# Elements never shown, and the start tags that make them (as lower-cased bytes; `\b` also
# matches names such as "svg-icon", which only costs the selector walk).
_SKIP_TAG = re.compile(
    rb"<(?:head|title|script|style|noscript|template|svg|math|iframe|object|embed|select"
    rb"|textarea)\b"
)


def drop_hidden(root: LexborNode) -> None:
    """Remove the elements a reader never sees: flagged so, or styled so (`_hidden_style`)."""
    hidden = []
    verdicts: dict[str, bool] = {}  # templates repeat the same few styles on every cell
    for node in root.css(_HIDDEN_SELECTOR):
        attrs = node.attributes
        style = attrs.get("style")
        if style:
            verdict = verdicts.get(style)
            if verdict is None:
                verdict = verdicts[style] = _hidden_style(style)
            if verdict:
                hidden.append(node)
                continue
        if "hidden" in attrs or "preheader" in (attrs.get("class") or "").lower():
            hidden.append(node)
    for node in reversed(hidden):  # innermost first: a removed subtree is never visited again
        node.decompose()


MAX_OPEN_TAGS = 3000
MAX_ANCHORS = 300
_TAG = re.compile(rb"<(/?)([A-Za-z][A-Za-z0-9:-]{0,63})")  # no tag we know is longer
# Elements that cannot raise the nesting depth: void ones, and those a sibling closes.
_FLAT_TAGS = frozenset(
    b"br img meta link input hr wbr col area source base track embed param p li td th tr dt dd "
    b"option".split()
)


def _limit_nesting(html: bytes) -> bytes:
    """Cut a document where it would nest deeper than `MAX_OPEN_TAGS` elements.

    HTML5 tree building checks the stack of open elements for many start tags, so its cost
    grows with the square of the nesting depth: 10,000 nested `<ul><li>` take lexbor seconds.
    A document with fewer tags than the limit cannot reach it, which spares ordinary mail the
    scan; otherwise the depth is tracked tag by tag, erring on the deep side.
    """
    if html.count(b"<") <= MAX_OPEN_TAGS:
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


def _drop_comments(html: bytes) -> bytes:
    """Remove `<!-- ... -->` comments (Outlook conditional blocks among them) before parsing.

    Left in the tree, a comment would split the text around it in two.
    """
    pieces = []
    pos = 0
    while True:
        start = html.find(b"<!--", pos)
        if start == -1:
            break
        pieces.append(html[pos:start])
        end = html.find(b"-->", start + 4)
        if end == -1:
            pos = len(html)
            break
        pos = end + 3
    pieces.append(html[pos:])
    return b"".join(pieces)


# Inline elements seen in mail, unwrapped so that their text joins the text around them;
# rarer ones (q, cite, kbd...) act as line breaks. `td` and `th` are unwrapped after their cell
# mark is put in.
_UNWRAP_TAGS = (
    "a span b strong i em u font small big sup sub code label mark s strike tt nobr wbr abbr "
    "button td th img".split()
)


def _tag_ids(names: list[str]) -> dict[str, int]:
    """lexbor's ids of the HTML tags named (fixed for the tags it knows)."""
    tree = LexborHTMLParser("")
    return {name: tree.create_node(name).tag_id for name in names}


_IDS = _tag_ids([*_UNWRAP_TAGS, "pre"])
_UNWRAP_IDS = frozenset(_IDS[name] for name in _UNWRAP_TAGS)
_CELL_IDS = frozenset((_IDS["td"], _IDS["th"]))
_A_ID = _IDS["a"]
_PRE_ID = _IDS["pre"]


_SENTINEL = re.compile("[\x05\x06]")


def _drawn_as_button(anchor: LexborNode) -> bool:
    """Whether an anchor is drawn as a button: styled as a box, named one, or the only content
    of a coloured table cell (the bulletproof buttons of mail templates)."""
    attrs = anchor.attributes
    style = attrs.get("style")
    if style and ("background" in style or "padding" in style):
        return True
    if attrs.get("role") == "button":
        return True
    klass = attrs.get("class")
    if klass and ("btn" in klass or "button" in klass):
        return True
    parent = anchor.parent
    if parent is None or parent.tag not in ("td", "th"):
        return False
    cell = parent.attributes
    return bool(cell.get("bgcolor")) or "background" in (cell.get("style") or "")


def _with_anchors(marked: str, found: list[tuple[str, bool, str, bool]]) -> Rendered:
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
    for (href, had_image, fallback, button), (s, e) in zip(found, spans, strict=False):
        label = " ".join(text[s:e].split())
        image_only = not label and had_image
        if not label:
            label = " ".join(strip_invisible(fallback).split())
        context, alone = _context(text, s, e, label)
        anchors.append(Anchor(href, label, image_only, context, alone, button))
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

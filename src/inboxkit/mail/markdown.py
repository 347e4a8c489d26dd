"""A message body as Markdown, for a model to read: structure kept, styling dropped.

HTML mail is rendered: headings (`#`), paragraphs, lists (`-`, `1.`), links
(`[text](url)`), emphasis (`**`, `_`), quotes (`>`), code, rules, and data tables as Markdown
tables. What a reader never sees goes, as in `htmltext.py`: `<head>`, scripts, styles, hidden
preheaders, tracking pixels; other images become their alt text (or nothing). Mail lays
itself out with tables: a table is rendered as a Markdown table only when it holds data (at
least two rows and two columns, no table inside it, not `role="presentation"`), otherwise its
cells are read as blocks. A text part is passed through.

Why our own renderer: `html-to-markdown` 3.21 (Rust, MIT) is a little faster (p50 0.76 ms
against 1.05 ms for a 50 KB mail, `bench/reply_bench.py`) but reads mail's layout tables as
lists and Markdown tables, so a typical transactional mail comes out as one bullet per table
row, its footer as a one-column table and its code as a table of digit boxes; `markdownify` 1.2
(BeautifulSoup) needs ~24 ms; `html2text` is GPL-3. Here the tree is
parsed by lexbor (selectolax, already used for `html_to_text`) and rewritten with a handful of
selector queries so that lexbor produces the text in one pass, as `htmltext.py` does; no step
recurses, and the work is linear in the input, whose nesting `htmltext` caps.

The result is at most `MAX_MARKDOWN_CHARS`, cut at a line with a marker saying so.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from inboxkit.mail.htmltext import (
    SKIP_SELECTOR,
    drop_hidden,
    prepare_markup,
    strip_invisible,
)

__all__ = ["MAX_MARKDOWN_CHARS", "markdown"]

MAX_MARKDOWN_CHARS = 100_000
MAX_HTML_CHARS = 2 * 1024 * 1024  # past this the HTML is read up to here
MAX_LINKS = 1000  # rendered as [text](url); further anchors render as their text
MAX_TABLES = 500  # examined for data; further tables are read as layout
MAX_DEPTH_WALK = 32  # ancestors looked at for list indentation and nested tables

# Structural marks (the input's own control characters are removed first, see
# `htmltext.prepare_markup`), turned into Markdown at the end.
_CELL = "\x01"  # a data table's cell boundary: " | "
_NL = "\x02"  # block boundary
_BR = "\x03"  # <br>
_PARA = "\x04"  # paragraph boundary (blank line)
_Q_OPEN = "\x05"  # blockquote starts
_Q_CLOSE = "\x06"  # blockquote ends
_INDENT = "\x07"  # two spaces of list indentation, kept through whitespace collapsing
_SPACE = "\x08"  # a space inside <pre>, likewise
_MARK_RUN = re.compile("[\x01-\x04](?:[ ]{0,32}[\x01-\x04]){0,1024}")
_BLANK_RUN = re.compile("\n{3,64}")

_UNWRAP_SELECTOR = ",".join(
    "span font small big sup sub label mark s strike tt nobr wbr abbr button u".split()
)
_URL_UNSAFE = str.maketrans({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})
_SCHEMES = ("http://", "https://", "mailto:", "tel:")


def markdown(text: str | None, html: str | None) -> str:
    """The body as Markdown: the HTML rendered when there is HTML, else the text part.
    At most `MAX_MARKDOWN_CHARS`. Never raises."""
    rendered = ""
    if html:
        try:
            rendered = _render(html[:MAX_HTML_CHARS])
        except Exception:  # a mail that breaks the renderer must not break the read
            rendered = ""
    if not rendered:
        rendered = (text or "").strip()
    return _bounded(rendered)


def _bounded(text: str) -> str:
    if len(text) <= MAX_MARKDOWN_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_MARKDOWN_CHARS)
    if cut < MAX_MARKDOWN_CHARS // 2:
        cut = MAX_MARKDOWN_CHARS
    rest = len(text) - cut
    return f"{text[:cut].rstrip()}\n\n[… truncated: {rest} more characters]"


def _render(html: str) -> str:
    if _INDENT in html or _SPACE in html:
        html = html.replace(_INDENT, "").replace(_SPACE, "")
    tree = LexborHTMLParser(prepare_markup(html))
    root = tree.body or tree.root
    if root is None:
        return ""
    _drop_unseen(root)
    _images(root)
    _links(root)
    _emphasis(root)
    _tables(root)
    _lists(root)
    _blocks(root)
    for node in root.css(_UNWRAP_SELECTOR):
        node.unwrap(delete_empty=True)
    tree.merge_text_nodes()
    return _finish(root.text(separator=_NL, skip_empty=True))


def _drop_unseen(root: LexborNode) -> None:
    """Remove what is not shown: skipped elements, hidden ones, tracking pixels."""
    for node in reversed(root.css(SKIP_SELECTOR)):
        node.decompose()
    drop_hidden(root)  # the same verdicts as the text rendering's


def _tiny(value: str | None) -> bool:
    digits = (value or "").strip().removesuffix("px")
    return digits.isdigit() and int(digits) <= 2


def _images(root: LexborNode) -> None:
    """Images become their alt text; tracking pixels (1×1, or no alt at all) go."""
    for image in root.css("img"):
        attrs = image.attributes
        alt = " ".join((attrs.get("alt") or "").split())
        if not alt or _tiny(attrs.get("width")) or _tiny(attrs.get("height")):
            image.decompose()
        else:
            image.replace_with(alt)


def _links(root: LexborNode) -> None:
    for number, anchor in enumerate(root.css("a")):
        href = (anchor.attributes.get("href") or "").strip()
        if number >= MAX_LINKS or not href.lower().startswith(_SCHEMES):
            anchor.unwrap(delete_empty=True)
            continue
        url = href.translate(_URL_UNSAFE)
        label = " ".join(strip_invisible(anchor.text(deep=True)).split())
        if not label:
            fallback = anchor.attributes.get("aria-label") or anchor.attributes.get("title")
            anchor.replace_with(f"[{' '.join((fallback or href).split())}]({url})")
        elif label == href:
            anchor.replace_with(f"<{url}>")
        else:
            anchor.insert_before("[")
            anchor.insert_after(f"]({url})")
            anchor.unwrap(delete_empty=True)


def _emphasis(root: LexborNode) -> None:
    for marks, selector in (("**", "b,strong"), ("_", "i,em"), ("`", "code")):
        for node in root.css(selector):
            # Only the innermost, inline ones: `**` around blocks or around `**` reads badly.
            if len(node.css("b,strong,i,em,code,p,div,table")) == 1 and node.text().strip():
                node.insert_before(marks)
                node.insert_after(marks)
            node.unwrap(delete_empty=True)


def _tables(root: LexborNode) -> None:
    """Data tables as Markdown tables; layout tables (most tables in mail) as blocks."""
    tables = root.css("table")
    layout = {t.mem_id for t in tables[MAX_TABLES:]}
    for table in tables[:MAX_TABLES]:
        if (table.attributes.get("role") or "").lower() == "presentation":
            layout.add(table.mem_id)
        parent, steps = table.parent, 0
        while parent is not None and steps < MAX_DEPTH_WALK:
            if parent.tag == "table":
                layout.add(parent.mem_id)  # a table holding a table lays out
                break
            parent, steps = parent.parent, steps + 1
    for table in tables[:MAX_TABLES]:
        if table.mem_id in layout:
            continue
        rows = table.css("tr")
        widths = [sum(1 for c in row.iter() if c.tag in ("td", "th")) for row in rows]
        if len(rows) < 2 or max(widths, default=0) < 2:
            continue
        table.insert_before(_PARA)
        table.insert_after(_PARA)
        for row in rows:
            cells = [c for c in row.iter() if c.tag in ("td", "th")]
            for position, cell in enumerate(cells):
                # A row starts a line, so its first bar is text (a mark would merge with the
                # line break before it).
                cell.insert_before(_CELL if position else "| ")
                cell.unwrap(delete_empty=False)
            row.insert_child(" |")
        rows[0].insert_after(_NL + "|" + " --- |" * max(widths) + _NL)
    for cell in root.css("td,th"):  # the layout tables' cells left
        cell.insert_before(" ")
        cell.unwrap(delete_empty=True)


def _lists(root: LexborNode) -> None:
    for items in root.css("ul,ol"):
        depth, parent = 0, items.parent
        while parent is not None and depth < MAX_DEPTH_WALK:
            if parent.tag in ("ul", "ol"):
                depth += 1
            parent = parent.parent
        indent = _INDENT * min(depth, 8)
        number = 0
        for item in items.iter():
            if item.tag != "li":
                continue
            number += 1
            bullet = f"{indent}{number}. " if items.tag == "ol" else f"{indent}- "
            first = item.child
            if first is None:
                item.insert_child(bullet)
            else:
                first.insert_before(bullet)
        if depth == 0:
            items.insert_before(_PARA)
            items.insert_after(_PARA)


def _blocks(root: LexborNode) -> None:
    for level in range(1, 7):
        for heading in root.css(f"h{level}"):
            heading.insert_before(_PARA + "#" * level + " ")
            heading.insert_after(_PARA)
            heading.unwrap(delete_empty=True)
    for node in root.css("p"):
        node.insert_before(_PARA)
        node.insert_after(_PARA)
    for node in root.css("blockquote"):
        node.insert_before(_PARA + _Q_OPEN)
        node.insert_after(_Q_CLOSE + _PARA)
    for node in root.css("pre"):
        body = node.text().replace(" ", _SPACE).replace("\n", _BR)
        node.replace_with(f"{_PARA}```{_BR}{body}{_BR}```{_PARA}")
    for node in root.css("hr"):
        node.replace_with(f"{_PARA}---{_PARA}")
    for node in root.css("br"):
        node.replace_with(_BR)


def _strongest(match: re.Match[str]) -> str:
    run = match.group()
    if _PARA in run or run.count(_BR) > 1:
        return "\n\n"
    if _NL in run or _BR in run:
        return "\n"
    return " | "


def _finish(raw: str) -> str:
    text = strip_invisible(" ".join(raw.split()))
    text = _MARK_RUN.sub(_strongest, text)
    # Each line with the depth of the quotes around it; blank lines are kept only between
    # two lines with text, at the shallower of their depths.
    lines: list[tuple[int, str]] = []
    depth = 0
    for line in text.split("\n"):
        opens, closes = line.count(_Q_OPEN), line.count(_Q_CLOSE)
        if opens or closes:
            line = line.replace(_Q_OPEN, "").replace(_Q_CLOSE, "")
        depth += opens
        lines.append((depth, line.strip().replace(_INDENT, "  ").replace(_SPACE, " ")))
        depth = max(0, depth - closes)
    out: list[str] = []
    blank = False
    before = 0
    for depth, line in lines:
        if not line:
            blank = True
            continue
        if out and (blank or depth != before):
            out.append(("> " * min(before, depth)).rstrip())
        out.append("> " * depth + line)
        before, blank = depth, False
    return "\n".join(out)

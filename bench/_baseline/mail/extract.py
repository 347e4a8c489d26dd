"""Find the one-time codes and the links a person would act on in a message.

`extract(subject, text, html)` returns ranked `codes` and `links`. It is pure, never raises, and
its cost is bounded whatever the input: it reads at most `SCAN_CHARS` (200,000) characters of
each text (the subject, the text/plain body, the rendering of the HTML body) and renders at
most `HTML_CHARS` (256,000) characters of HTML markup; per text it looks at no more than
`codes.MAX_CLUSTERS` number clusters and reads the words around at most `codes.MAX_SCORED` of
them, and it examines at most `links.MAX_LINKS` links per source. Codes and links sit near the
top of real mail, so the caps cost nothing there.

The work is split by what is found:

- `codes.py`: code candidates and how their surroundings score them (`collect_codes`);
- `links.py`: links from anchors and plain text, their kinds and their ranking (`collect_links`);
- `normalise.py`: the text as both read it (digits folded, URLs found, lines bounded);
- `vocabulary.py`: the multilingual word lists and the patterns built from them.

This module renders the HTML once and hands the same texts to both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .codes import Code, collect_codes
from .htmltext import render_html
from .links import Link, collect_links
from .normalise import SCAN_CHARS

__all__ = ["Code", "Link", "Extraction", "extract", "SCAN_CHARS", "HTML_CHARS"]

HTML_CHARS = 256_000  # characters of HTML markup rendered (Gmail clips a body at 102 KB)


@dataclass(frozen=True, slots=True)
class Extraction:
    """What `extract` found in a message: its one-time codes and links, each best first."""

    codes: list[Code] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[dict[str, object]]]:
        return {
            "codes": [c.to_dict() for c in self.codes],
            "links": [x.to_dict() for x in self.links],
        }


def extract(subject: str | None, text: str | None, html: str | None) -> Extraction:
    """Rank the one-time codes and the links in a message. Pure; never raises."""
    try:
        return _extract(subject or "", text or "", html or "")
    except Exception:  # extraction is a convenience; it must never cost a message
        return Extraction()


def _extract(subject: str, text: str, html: str) -> Extraction:
    subject = " ".join(subject[:1000].split())
    rendered = render_html(html[:HTML_CHARS]) if html else None
    html_text = rendered.text[:SCAN_CHARS] if rendered else ""
    plain = text[:SCAN_CHARS]
    codes = collect_codes([subject, html_text, plain])
    links = collect_links(rendered, [html_text, plain], subject, bool(codes))
    return Extraction(codes, links)

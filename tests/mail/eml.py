"""Read a stored message into the three inputs `extract` takes."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "verification"


def load_eml(path: Path) -> tuple[str, str | None, str | None]:
    """(subject, text/plain body, text/html body) of an .eml file, decoded."""
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    return (
        str(msg["Subject"] or ""),
        plain.get_content() if plain is not None else None,
        html.get_content() if html is not None else None,
    )

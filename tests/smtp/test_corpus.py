"""Every real-world message in the shared MIME corpus is accepted, parsed, listed and kept
byte-exact.

The corpus (see its README) holds well-formed, low-quality and deliberately malformed mail from
public projects' test data. Its folder is named by `INBOXKIT_TEST_CORPUS`; without it these
tests are skipped with a note saying how to run them. `.ci/run` always sets it and fails when the
folder is missing, so CI can never pass without having sent the corpus.
"""

from __future__ import annotations

import os
from pathlib import Path

import aiosmtplib
import pytest
import sqlalchemy as sa

from inboxkit.store import rawcodec
from inboxkit.store.tables import contents
from tests.helpers import RunningServer, smtp_wire_bytes

_CORPUS_ENV = os.environ.get("INBOXKIT_TEST_CORPUS")
CORPUS = Path(_CORPUS_ENV) if _CORPUS_ENV else Path()
pytestmark = pytest.mark.skipif(
    not _CORPUS_ENV,
    reason="set INBOXKIT_TEST_CORPUS to the MIME corpus folder (e.g. ../shared/corpus) to run",
)
# The folders whose files are complete messages (the corpus README names them).
MESSAGE_FOLDERS = ("enmime/mail", "enmime/low-quality", "mail-parser/tests/mails")


def corpus_messages() -> list[tuple[Path, bytes]]:
    """(path, bytes) of every complete message in the corpus."""
    assert CORPUS.is_dir(), f"the MIME corpus is missing: expected it at {CORPUS}"
    files = [
        path
        for folder in MESSAGE_FOLDERS
        for path in sorted((CORPUS / folder).iterdir())
        if path.is_file() and not path.name.upper().startswith(("LICENSE", "README"))
    ]
    files += sorted((CORPUS / "mailpit").glob("*.eml"))
    assert len(files) >= 80, f"the corpus at {CORPUS} looks incomplete ({len(files)} messages)"
    return [(path, path.read_bytes()) for path in files]


async def _send_and_check(server: RunningServer, inbox: dict, raw: bytes) -> str | None:
    """None when `raw` round-trips intact, else what went wrong."""
    headers = server.auth(inbox["token"])
    try:
        errors, reply = await aiosmtplib.send(
            raw,
            sender="corpus@example.com",
            recipients=[inbox["address"]],
            hostname="127.0.0.1",
            port=server.smtp_port,
            timeout=60,
        )
    except aiosmtplib.SMTPException as exc:
        return f"refused over SMTP: {exc}"
    if errors or not reply.startswith("2.0.0"):
        return f"unexpected SMTP answer {errors} {reply!r}"
    listing = await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    if listing.status_code != 200:
        return f"listing answered {listing.status_code}: {listing.text[:200]}"
    listed = listing.json()["data"]
    if len(listed) != 1:
        return f"expected one listed message, found {len(listed)}"
    message_id = listed[0]["id"]
    full = await server.http.get(f"/mailboxes/{inbox['id']}/messages/{message_id}", headers=headers)
    if full.status_code != 200:
        return f"reading the message answered {full.status_code}: {full.text[:200]}"
    if listed[0]["parse_error"] is not False:
        # Every corpus message, malformed ones included, is within what the parser copes with.
        return f"listed as unparsed: {full.json()['data'].get('parse_error_detail')}"
    for attachment in full.json()["data"]["attachments"]:
        part = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages/{message_id}/attachments/{attachment['id']}",
            headers=headers,
        )
        if part.status_code != 200 or len(part.content) != attachment["size"]:
            return f"attachment {attachment['id']} answered {part.status_code}, {len(part.content)} bytes"
    downloaded = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages/{message_id}/raw", headers=headers
    )
    if downloaded.status_code != 200:
        return f"raw download answered {downloaded.status_code}"
    if downloaded.content != smtp_wire_bytes(raw):
        return (
            f"raw download differs from what was sent "
            f"({len(downloaded.content)} bytes vs {len(smtp_wire_bytes(raw))})"
        )
    return None


async def test_every_corpus_message_is_accepted_listed_and_downloaded_byte_identical(
    server: RunningServer,
):
    failures: list[str] = []
    for path, raw in corpus_messages():
        # One fresh inbox per message: its listing then holds exactly that message.
        inbox = await server.create_inbox()
        problem = await _send_and_check(server, inbox, raw)
        if problem:
            failures.append(f"{path.relative_to(CORPUS)}: {problem}")
    assert not failures, "corpus messages not kept intact:\n" + "\n".join(failures)
    # Those byte-exact downloads were of compressed rows: nearly all real mail is stored as a
    # zstd frame (store/rawcodec.py), the rest as received.
    async with server.runtime.db.read() as conn:
        encodings = (await conn.execute(sa.select(contents.c.raw_encoding))).scalars().all()
    assert encodings.count(rawcodec.ZSTD) >= 0.9 * len(encodings)


async def test_outlook_message_with_11677_byte_lines_is_accepted(server: RunningServer):
    (raw,) = [raw for path, raw in corpus_messages() if path.name == "mail_outlook_1"]
    assert max(len(line) for line in raw.splitlines()) > 11_000
    inbox = await server.create_inbox()
    assert await _send_and_check(server, inbox, raw) is None

"""Mail is stored compressed when that pays and always served exactly as received: raw
downloads, attachment downloads, rows stored before compression existed, and the storage
figures, on each backend."""

from __future__ import annotations

import os
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
import zstandard

from inboxkit.pipeline import Envelope
from inboxkit.store import messages as rows
from inboxkit.store import rawcodec, usage
from inboxkit.store.tables import contents, messages
from tests.helpers import RunningServer, make_message, smtp_wire_bytes
from tests.smtp.test_corpus import _CORPUS_ENV, CORPUS, corpus_messages

LONG_TEXT = "Your order 1042 has shipped. Track it at https://shop.example/track/1042.\n" * 60


async def _inbox(server: RunningServer) -> dict[str, Any]:
    inbox = await server.create_inbox()
    inbox["headers"] = server.auth(inbox["token"])
    inbox["base"] = f"/mailboxes/{inbox['id']}/messages"
    return inbox


async def _only_message(server: RunningServer, inbox: dict[str, Any]) -> dict[str, Any]:
    listed = (await server.http.get(inbox["base"], headers=inbox["headers"])).json()["data"]
    assert len(listed) == 1
    return listed[0]


async def _raw(server: RunningServer, inbox: dict[str, Any], message_id: str) -> bytes:
    response = await server.http.get(f"{inbox['base']}/{message_id}/raw", headers=inbox["headers"])
    assert response.status_code == 200
    return response.content


async def _stored(server: RunningServer, message_id: str) -> sa.Row[Any]:
    """The message's content row as stored, and the message row's counted size."""
    async with server.runtime.db.read() as conn:
        return (
            await conn.execute(
                sa.select(
                    contents.c.raw,
                    contents.c.raw_encoding,
                    contents.c.size,
                    contents.c.attachment_layout,
                    messages.c.stored_size,
                )
                .select_from(messages.join(contents, contents.c.id == messages.c.content_id))
                .where(messages.c.id == message_id)
            )
        ).one()


async def _storage_bytes(server: RunningServer, headers: dict[str, str]) -> int:
    figures = (await server.http.get("/usage", headers=headers)).json()["data"]["usage"]
    return int(figures["storage_bytes"])


async def test_a_compressible_message_is_stored_compressed_and_downloaded_byte_exact(
    server: RunningServer,
):
    inbox = await _inbox(server)
    message = make_message(inbox["address"], "shipped", LONG_TEXT)
    await server.send(inbox["address"], message)
    listed = await _only_message(server, inbox)
    stored = await _stored(server, listed["id"])

    sent = smtp_wire_bytes(message.as_bytes())
    assert stored.raw_encoding == rawcodec.ZSTD
    assert len(stored.raw) < len(sent) // 4
    assert stored.size == listed["size"] == len(sent)  # the size shown is the received size
    assert await _raw(server, inbox, listed["id"]) == sent


async def test_tiny_and_incompressible_messages_are_stored_as_received(server: RunningServer):
    tiny = b"Subject: hi\r\n\r\nok\r\n"
    inbox = await _inbox(server)
    await server.send(inbox["address"], tiny)
    listed = await _only_message(server, inbox)
    stored = await _stored(server, listed["id"])
    assert stored.raw_encoding == rawcodec.IDENTITY and bytes(stored.raw) == tiny
    assert stored.stored_size == listed["size"] == len(tiny)
    assert await _raw(server, inbox, listed["id"]) == tiny

    # Binary content (base64 would compress: it spends 8 bits on 6), through the pipeline
    # as HTTP ingest hands it over.
    noise = b"Subject: noise\r\nContent-Transfer-Encoding: binary\r\n\r\n" + os.urandom(30_000)
    inbox = await _inbox(server)
    await server.runtime.pipeline.deliver(Envelope("s@example.com", [inbox["address"]]), noise)
    listed = await _only_message(server, inbox)
    stored = await _stored(server, listed["id"])
    assert stored.raw_encoding == rawcodec.IDENTITY and bytes(stored.raw) == noise
    assert stored.stored_size == listed["size"] == len(noise)
    assert await _raw(server, inbox, listed["id"]) == noise


async def test_a_message_starting_with_zstds_magic_number_is_stored_and_served_exactly(
    server: RunningServer,
):
    # Received bytes that are a valid zstd frame of something else, alone (kept as they are)
    # and leading a long message (compressed): both come back as received, never "decoded".
    frame = zstandard.ZstdCompressor().compress(b"Subject: not this\r\n\r\nnot this\r\n")
    assert frame[:4] == b"\x28\xb5\x2f\xfd"
    for raw, encoding in (
        (frame, rawcodec.IDENTITY),
        (frame + b"\r\n" + LONG_TEXT.encode(), rawcodec.ZSTD),
    ):
        inbox = await _inbox(server)
        await server.runtime.pipeline.deliver(Envelope("s@example.com", [inbox["address"]]), raw)
        listed = await _only_message(server, inbox)
        assert (await _stored(server, listed["id"])).raw_encoding == encoding
        assert await _raw(server, inbox, listed["id"]) == raw


async def test_rows_stored_before_compression_read_back_exactly_and_are_counted_off_exactly(
    server: RunningServer,
):
    inbox = await _inbox(server)
    message = make_message(inbox["address"], "old row", LONG_TEXT)
    await server.send(inbox["address"], message)
    listed = await _only_message(server, inbox)
    stored = await _stored(server, listed["id"])
    assert stored.raw_encoding == rawcodec.ZSTD
    sent = smtp_wire_bytes(message.as_bytes())

    # Put the rows in the shape every row had before migration 0014 (the bytes as received,
    # encoding 0, no stored size) with the figures they were counted with then (`size`).
    grown = len(sent) - stored.stored_size
    async with server.runtime.db.write() as conn:
        content_id = await conn.scalar(
            sa.select(messages.c.content_id).where(messages.c.id == listed["id"])
        )
        await conn.execute(
            contents.update()
            .where(contents.c.id == content_id)
            .values(raw=sent, raw_encoding=0, attachment_layout=None)
        )
        await conn.execute(
            messages.update().where(messages.c.id == listed["id"]).values(stored_size=None)
        )
        await usage.mailbox_change(conn, inbox["id"], messages_delta=0, bytes_delta=grown)
        await usage.add(conn, f"mailbox:{inbox['id']}", usage.ALL, storage_bytes=grown)
    assert await _storage_bytes(server, inbox["headers"]) == len(sent)

    assert await _raw(server, inbox, listed["id"]) == sent
    deleted = await server.http.delete(f"{inbox['base']}/{listed['id']}", headers=inbox["headers"])
    assert deleted.status_code == 204
    assert await _storage_bytes(server, inbox["headers"]) == 0


async def test_storage_counts_messages_as_stored_and_deleting_gives_it_all_back(
    server: RunningServer,
):
    inbox = await _inbox(server)
    first = make_message(inbox["address"], "one", LONG_TEXT)
    second = b"Subject: two\r\n\r\nshort\r\n"
    await server.send(inbox["address"], first)
    await server.send(inbox["address"], second)
    listed = (await server.http.get(inbox["base"], headers=inbox["headers"])).json()["data"]
    stored = [await _stored(server, m["id"]) for m in listed]

    assert await _storage_bytes(server, inbox["headers"]) == sum(len(s.raw) for s in stored)
    assert sum(s.stored_size for s in stored) == sum(len(s.raw) for s in stored)
    assert sum(len(s.raw) for s in stored) < sum(m["size"] for m in listed)
    for m in listed:
        assert (
            await server.http.delete(f"{inbox['base']}/{m['id']}", headers=inbox["headers"])
        ).status_code == 204
    assert await _storage_bytes(server, inbox["headers"]) == 0


def _with_attachments(to: str, files: dict[str, tuple[str, bytes]]) -> EmailMessage:
    message = make_message(to, "files", "three files attached")
    for name, (content_type, data) in files.items():
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


async def test_attachments_are_stored_compressed_one_by_one_and_downloaded_byte_exact(
    server: RunningServer,
):
    inbox = await _inbox(server)
    files = {
        "ledger.csv": ("text/csv", b"date,amount\r\n" + b"2026-03-01,12.50\r\n" * 2000),
        "photo.png": ("image/png", b"\x89PNG\r\n\x1a\n" + bytes(8000)),
        "noise.bin": ("application/octet-stream", os.urandom(6000)),
    }
    await server.send(inbox["address"], _with_attachments(inbox["address"], files))
    listed = await _only_message(server, inbox)
    stored = await _stored(server, listed["id"])
    # Each attachment stored its own way: the CSV compressed, the PNG not even tried, the
    # noise tried and kept as it is.
    assert [encoding for encoding, _ in stored.attachment_layout] == [
        rawcodec.ZSTD,
        rawcodec.IDENTITY,
        rawcodec.IDENTITY,
    ]
    full = await server.http.get(f"{inbox['base']}/{listed['id']}", headers=inbox["headers"])
    for attachment in full.json()["data"]["attachments"]:
        response = await server.http.get(
            f"{inbox['base']}/{listed['id']}/attachments/{attachment['id']}",
            headers=inbox["headers"],
        )
        assert response.status_code == 200
        assert response.content == files[attachment["filename"]][1]


async def test_an_attachment_download_reads_its_own_stored_slice_not_the_raw_message(
    server: RunningServer,
):
    inbox = await _inbox(server)
    csv = b"sku,count\r\n" + b"A-100,3\r\n" * 3000
    await server.send(
        inbox["address"], _with_attachments(inbox["address"], {"a.csv": ("text/csv", csv)})
    )
    listed = await _only_message(server, inbox)
    # Spoil the raw message: a download that re-parsed it would fail or differ.
    async with server.runtime.db.write() as conn:
        await conn.execute(contents.update().values(raw=b"spoiled", raw_encoding=rawcodec.IDENTITY))
    full = await server.http.get(f"{inbox['base']}/{listed['id']}", headers=inbox["headers"])
    (attachment,) = full.json()["data"]["attachments"]
    response = await server.http.get(
        f"{inbox['base']}/{listed['id']}/attachments/{attachment['id']}", headers=inbox["headers"]
    )
    assert response.status_code == 200 and response.content == csv


@pytest.mark.skipif(not _CORPUS_ENV, reason="set INBOXKIT_TEST_CORPUS to the MIME corpus folder")
async def test_every_corpus_message_round_trips_through_the_store_byte_exact(
    server: RunningServer,
):
    # Through the pipeline (no SMTP, so the bytes are exactly the file's) into the database,
    # read back by the store's own reader.
    inbox = await _inbox(server)
    encodings = []
    failures = []
    for path, raw in corpus_messages():
        (item,) = await server.runtime.pipeline.deliver(
            Envelope("corpus@example.com", [inbox["address"]]), raw
        )
        async with server.runtime.db.read() as conn:
            row = await rows.find(conn, inbox["id"], item["id"])
            assert row is not None
            encoding = await conn.scalar(
                sa.select(contents.c.raw_encoding).where(contents.c.id == row.content_id)
            )
            if await rows.raw_bytes(conn, row.content_id) != raw:
                failures.append(str(path.relative_to(CORPUS)))
        encodings.append(encoding)
    assert not failures, f"not read back byte-exact: {failures}"
    # Real mail compresses: nearly every corpus message is stored as a zstd frame.
    assert encodings.count(rawcodec.ZSTD) >= 0.9 * len(encodings)

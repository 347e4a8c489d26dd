"""How MAIL FROM and RCPT TO paths are read, and the per-session method tables (smtp/server.py).

The common path form is read without the email package's header parser; these tests hold it to
the parser's answers, and check over a real socket that every command and AUTH mechanism is
still found through the tables built from the cached method names.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable

from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxkit.smtp.handler import InboxHandler, method_table_names
from inboxkit.smtp.server import InboxSMTP
from tests.helpers import RunningServer


def _bare_session(local_part_limit: int = 64) -> InboxSMTP:
    # Only `local_part_limit` is read by path parsing; no connection is needed for it.
    session = object.__new__(InboxSMTP)
    session.local_part_limit = local_part_limit
    return session


def _read(read: Callable[[str], object], arg: str) -> object:
    # aiosmtpd's own reading raises on some malformed paths (an unclosed bracket); the fast
    # path must then raise the same.
    try:
        return read(arg)
    except Exception as exc:
        return type(exc)


def _same_as_aiosmtpd(session: InboxSMTP, arg: str) -> None:
    assert _read(session._getaddr, arg) == _read(lambda a: SMTP._getaddr(session, a), arg)


_PIECES = st.sampled_from(
    [
        "a",
        "Z",
        "0",
        ".",
        "@",
        "<",
        ">",
        " ",
        "\t",
        "(",
        ")",
        '"',
        "+",
        "-",
        "_",
        "=",
        "é",
        "[",
        "]",
        "1.2.3.4",
        ",",
        ";",
        ":",
        "\\",
        "SIZE=10",
        "BODY=8BITMIME",
        "\r",
        "%",
        "!",
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join))
def test_any_path_is_read_as_aiosmtpd_reads_it(arg: str) -> None:
    _same_as_aiosmtpd(_bare_session(), arg)


@settings(max_examples=500, deadline=None)
@given(
    local=st.from_regex(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\.[A-Za-z0-9_-]{1,5}){0,2}", fullmatch=True
    ),
    domain=st.from_regex(r"[a-z0-9-]{1,10}(\.[a-z0-9-]{1,6}){0,3}", fullmatch=True),
    params=st.sampled_from(["", " SIZE=4096", "  SIZE=1 BODY=8BITMIME", " (comment) SIZE=1", " "]),
)
def test_plain_paths_with_parameters_are_read_as_aiosmtpd_reads_them(
    local: str, domain: str, params: str
) -> None:
    arg = f"<{local}@{domain}>{params}"
    _same_as_aiosmtpd(_bare_session(), arg)


def test_a_local_part_over_the_limit_is_refused_on_the_fast_path_too() -> None:
    session = _bare_session(local_part_limit=8)
    assert session._getaddr("<abcdefghi@example.com>") == (None, None)
    assert session._getaddr("<abcdefgh@example.com> SIZE=1") == ("abcdefgh@example.com", "SIZE=1")


def test_method_tables_hold_every_command_and_hook() -> None:
    names = method_table_names(InboxSMTP)
    for command in ("smtp_EHLO", "smtp_MAIL", "smtp_RCPT", "smtp_DATA", "smtp_AUTH", "smtp_QUIT"):
        assert command in names
    assert {"auth_PLAIN", "auth_LOGIN"} <= set(names)
    assert {"handle_RCPT", "handle_DATA", "handle_EHLO", "handle_MAIL"} <= set(
        method_table_names(InboxHandler)
    )


async def test_every_command_is_answered_through_the_cached_tables(server: RunningServer):
    inbox = await server.create_inbox()

    def talk() -> tuple[bytes, int, int, int, int]:
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
            client.ehlo("client.example")
            code, help_text = client.docmd("HELP")
            assert code == 250
            noop = client.noop()[0]
            mail = client.docmd("MAIL", "FROM:<sender.name+tag@example.com> SIZE=100")[0]
            rcpt = client.docmd("RCPT", f"TO:<{inbox['address']}>")[0]
            rset = client.rset()[0]
            return help_text, noop, mail, rcpt, rset

    help_text, noop, mail, rcpt, rset = await asyncio.to_thread(talk)
    for command in (b"EHLO", b"MAIL", b"RCPT", b"DATA", b"QUIT", b"NOOP", b"RSET"):
        assert command in help_text
    assert (noop, mail, rcpt, rset) == (250, 250, 250, 250)


async def test_an_envelope_sender_in_the_plain_form_is_stored_as_sent(server: RunningServer):
    inbox = await server.create_inbox()
    errors, _reply = await server.send(inbox["address"], mail_from="first.last+news@example.com")
    assert errors == {}
    listing = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
    )
    (summary,) = listing.json()["data"]
    message = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages/{summary['id']}", headers=server.auth(inbox["token"])
    )
    assert message.json()["data"]["envelope"]["mail_from"] == "first.last+news@example.com"

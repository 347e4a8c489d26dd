"""What senders wrote never reaches the user's terminal as control sequences: `messages` and
`read` strip C0/C1 controls (OSC 52 would write the clipboard), `--json` escapes them, and
`--raw` stays byte-exact into a pipe but is cleaned on a terminal."""

from __future__ import annotations

import asyncio
import json
import os
import pty

from tests.cli.test_client_commands import INBOXKIT, cli_env, create_inbox, read_terminal, run
from tests.helpers import RunningServer, smtp_wire_bytes

OSC52 = "\x1b]52;c;ZXZpbA==\x07"  # "set the clipboard to 'evil'"
CONTROLS = ("\x1b", "\x07", "\x9b", "\x90", "\r", "\x7f", "\u202e")


def hostile_mail(to: str) -> bytes:
    """Escape sequences in the subject (an encoded word), the From name and the body."""
    return (
        "From: =?utf-8?q?Support=1B[8m?= <help@shop.example>\r\n"
        f"To: {to}\r\n"
        "Subject: =?utf-8?q?Your_code=1B]52;c;ZXZpbA=3D=3D=07_is_ready?=\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Your code is 482913.=1B[2J=C2=9B31m=0Dfake line=7F=E2=80=AEtxt.exe\r\n"
        "Second line\tkept\r\n"
    ).encode()


def assert_clean(text: str) -> None:
    for char in CONTROLS:
        assert char not in text, repr(char)


async def test_messages_and_read_print_no_terminal_controls(server: RunningServer) -> None:
    address, token = await create_inbox(server)
    await server.send(address, hostile_mail(address))

    listed = await run(server, "messages", address, "--token", token)
    assert listed.code == 0
    assert_clean(listed.stdout)
    assert "Your code" in listed.stdout and "is ready" in listed.stdout

    shown = await run(server, "read", address, "--keep-unread", "--token", token)
    assert shown.code == 0
    assert_clean(shown.stdout)
    assert "Subject: Your code]52;c;ZXZpbA== is ready" in shown.stdout
    assert "From: Support[8m <help@shop.example>" in shown.stdout
    assert "Your code is 482913.[2J31mfake linetxt.exe\nSecond line\tkept" in shown.stdout

    code = await run(server, "wait", address, "--code", "--token", token)
    assert code.stdout == "482913\n"


async def test_json_output_escapes_every_control_character(server: RunningServer) -> None:
    address, token = await create_inbox(server)
    await server.send(address, hostile_mail(address))
    for args in (("messages", address), ("read", address, "--keep-unread")):
        result = await run(server, *args, "--json", "--token", token)
        assert result.code == 0
        assert_clean(result.stdout)  # C0 by json.dumps; DEL, C1 and bidi as \u escapes
        data = json.loads(result.stdout)
        subject = (data[0] if isinstance(data, list) else data)["subject"]
        assert subject == f"Your code{OSC52} is ready"  # the value itself is untouched
    message = json.loads(result.stdout)
    assert "\x9b" in message["text"] and "\u202e" in message["text"]


async def test_raw_is_byte_exact_into_a_pipe(server: RunningServer) -> None:
    address, token = await create_inbox(server)
    raw = hostile_mail(address)
    await server.send(address, raw)
    exact = await run(server, "read", address, "--raw", "--token", token)
    assert exact.raw_stdout == smtp_wire_bytes(raw)


async def test_raw_to_a_terminal_is_cleaned(server: RunningServer) -> None:
    address, token = await create_inbox(server)
    await server.send(address, hostile_mail(address))
    leader, follower = pty.openpty()
    process = await asyncio.create_subprocess_exec(
        str(INBOXKIT),
        "read",
        address,
        "--raw",
        stdout=follower,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(server, INBOXKIT_TOKEN=token),
    )
    os.close(follower)

    terminal, (_, err) = await asyncio.gather(
        asyncio.to_thread(read_terminal, leader), asyncio.wait_for(process.communicate(), 60)
    )
    os.close(leader)
    assert process.returncode == 0, err
    # The terminal's line discipline turns \n into \r\n; the program itself wrote no \r.
    shown = terminal.decode().replace("\r\n", "\n")
    assert "Subject: =?utf-8?q?Your_code=1B]52" in shown  # still the message as received
    assert_clean(shown)

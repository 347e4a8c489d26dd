"""The `inboxkit` client commands, run as real subprocesses against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import socket
import subprocess
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from tests.helpers import RunningServer, smtp_wire_bytes

INBOXKIT = Path(sys.executable).parent / "inboxkit"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    raw_stdout: bytes


def cli_env(server: RunningServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOXKIT_")}
    return {**env, "INBOXKIT_URL": server.base_url, **extra}


def read_terminal(leader: int) -> bytes:
    """Everything written to a pseudo-terminal until its child closes it (blocking)."""
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            return seen
        if not chunk:
            return seen
        seen += chunk


async def run(server: RunningServer, *args: str, stdin: bytes | None = None, **env: str) -> Result:
    # A plain subprocess in a thread: asyncio's pipe transports could outlive the test's loop
    # on a loaded machine and fail it with an "unclosed transport" warning.
    done = await asyncio.to_thread(
        subprocess.run,
        [str(INBOXKIT), *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        env=cli_env(server, **env),
        timeout=60,
    )
    out, err = done.stdout, done.stderr
    return Result(done.returncode, out.decode(), err.decode(), out)


async def create_inbox(server: RunningServer, *options: str) -> tuple[str, str]:
    result = await run(server, "inbox", "create", "--json", *options)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    return data["address"], data["token"]


def signup_mail(to: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Shop <noreply@shop.example>"
    message["To"] = to
    message["Subject"] = "Confirm your account"
    message.set_content("Your code is 482913.\nVerify: https://shop.example/verify?t=1")
    message.add_alternative("<p>Your code is <b>482913</b>.</p>", subtype="html")
    return message.as_bytes()


async def test_inbox_create_prints_the_address_and_the_token_once(server: RunningServer) -> None:
    result = await run(server, "inbox", "create")
    assert result.code == 0
    address = result.stdout.strip()
    assert address.endswith("@inboxkit.localhost") and "\n" not in address
    assert "token: ikm_" in result.stderr

    as_json = json.loads((await run(server, "inbox", "create", "--json")).stdout)
    assert as_json["token"].startswith("ikm_") and as_json["address"].endswith(".localhost")


async def test_inbox_create_shell_output_sets_variables_for_eval(server: RunningServer) -> None:
    script = f'eval "$({INBOXKIT} inbox create --shell)"; echo "$INBOXKIT_ADDRESS $INBOXKIT_TOKEN"'
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", script, stdout=asyncio.subprocess.PIPE, env=cli_env(server)
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    address, token = out.decode().split()
    assert address.endswith("@inboxkit.localhost") and token.startswith("ikm_")
    listed = await server.http.get(f"/mailboxes/{address}", headers=server.auth(token))
    assert listed.status_code == 200


async def test_wait_code_prints_only_the_code_for_shell_scripts(server: RunningServer) -> None:
    address, token = await create_inbox(server)
    waiting = asyncio.ensure_future(
        run(server, "wait", "--code", "--timeout", "20", address, INBOXKIT_TOKEN=token)
    )
    await server.send(address, signup_mail(address))
    result = await waiting
    assert (result.code, result.stdout) == (0, "482913\n")
    assert result.stderr == ""  # not a terminal: no spinner


async def test_wait_link_prints_the_url_of_that_kind(server: RunningServer) -> None:
    address, token = await create_inbox(server)
    await server.send(address, signup_mail(address))
    result = await run(server, "wait", address, "--link", "verify", "--token", token)
    assert (result.code, result.stdout) == (0, "https://shop.example/verify?t=1\n")


async def test_wait_that_times_out_exits_3_and_says_what_arrived(server: RunningServer) -> None:
    address, token = await create_inbox(server)
    await server.send(address, subject="Your receipt", mail_from="billing@shop.example")
    result = await run(
        server, "wait", address, "--subject", "Welcome", "--timeout", "0.5", "--token", token
    )
    assert result.code == 3
    assert result.stdout == ""
    assert "subject containing 'Welcome'" in result.stderr
    assert "'Your receipt'" in result.stderr and "billing@shop.example" in result.stderr


async def test_wait_shows_a_spinner_with_the_address_only_on_a_terminal(
    server: RunningServer,
) -> None:
    address, token = await create_inbox(server)
    await server.send(address, signup_mail(address))
    leader, follower = pty.openpty()
    process = await asyncio.create_subprocess_exec(
        str(INBOXKIT),
        "wait",
        "--code",
        address,
        stdout=asyncio.subprocess.PIPE,
        stderr=follower,
        env=cli_env(server, INBOXKIT_TOKEN=token),
    )
    os.close(follower)

    terminal, (out, _) = await asyncio.gather(
        asyncio.to_thread(read_terminal, leader), asyncio.wait_for(process.communicate(), 60)
    )
    os.close(leader)
    assert out == b"482913\n"
    shown = terminal.decode()
    assert f"waiting for mail at {address} 0s" in shown
    assert shown.endswith("\r\x1b[K")  # the spinner line is cleared at the end


async def test_messages_and_read_show_text_html_raw_and_json(server: RunningServer) -> None:
    address, token = await create_inbox(server)
    raw = signup_mail(address)
    await server.send(address, raw)
    await server.send(address, subject="Second", body="Hello again")

    listed = await run(server, "messages", address, "--token", token)
    assert listed.code == 0
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and "'Second'" in lines[0] and "[482913]" in lines[1]
    as_json = json.loads(
        (await run(server, "messages", address, "--json", "--token", token)).stdout
    )
    assert [m["subject"] for m in as_json] == ["Second", "Confirm your account"]
    first_id = as_json[1]["id"]

    newest = await run(server, "read", address, "--token", token)
    assert "Subject: Second" in newest.stdout and "Hello again" in newest.stdout

    text = await run(server, "read", address, first_id, "--token", token)
    assert "From: Shop <noreply@shop.example>" in text.stdout
    assert "Codes: 482913" in text.stdout and "Your code is 482913." in text.stdout
    html = await run(server, "read", address, first_id, "--html", "--token", token)
    assert html.stdout.strip() == "<p>Your code is <b>482913</b>.</p>"
    exact = await run(server, "read", address, first_id, "--raw", "--token", token)
    assert exact.raw_stdout == smtp_wire_bytes(raw)
    full = json.loads(
        (await run(server, "read", address, first_id, "--json", "--token", token)).stdout
    )
    assert full["from"] == "noreply@shop.example" and full["codes"] == ["482913"]


async def test_inbox_list_and_delete_with_an_api_key(server: RunningServer) -> None:
    key = await server.create_key()
    created = await run(server, "inbox", "create", "--name", "ci", INBOXKIT_API_KEY=key)
    address = created.stdout.strip()

    listed = await run(server, "inbox", "list", "--json", INBOXKIT_API_KEY=key)
    assert [m["address"] for m in json.loads(listed.stdout)] == [address]
    deleted = await run(server, "inbox", "delete", address, "--api-key", key)
    assert deleted.code == 0 and f"deleted {address}" in deleted.stderr

    gone = await run(server, "messages", address, INBOXKIT_API_KEY=key)
    assert gone.code == 1 and "No such mailbox" in gone.stderr and "not_found" in gone.stderr


async def test_send_and_reply_from_the_command_line(server: RunningServer, tmp_path: Path) -> None:
    # Inboxes of an account (only those may send), then used with their own tokens.
    key = await server.create_key()
    alice, alice_token = await create_inbox(server, "--api-key", key)
    bob, bob_token = await create_inbox(server, "--api-key", key)
    report = tmp_path / "report.csv"
    report.write_text("q,revenue\n1,100\n")

    sent = await run(
        server,
        "send",
        alice,
        "--to",
        bob,
        "--subject",
        "Report",
        "--text",
        "-",
        "--attach",
        str(report),
        "--token",
        alice_token,
        stdin=b"See attached.\n",
    )
    assert sent.code == 0, sent.stderr
    received = await run(server, "wait", bob, "--json", "--timeout", "20", "--token", bob_token)
    message = json.loads(received.stdout)
    assert message["from"] == alice and message["text"].startswith("See attached.")
    assert [a["filename"] for a in message["attachments"]] == ["report.csv"]

    replied = await run(
        server, "reply", bob, message["id"], "--text", "Thanks!", "--token", bob_token
    )
    assert replied.code == 0, replied.stderr
    answer = await run(
        server, "wait", alice, "--subject", "Re: Report", "--timeout", "20", "--token", alice_token
    )
    assert answer.code == 0 and "Thanks!" in answer.stdout


async def test_send_from_an_anonymous_inbox_is_refused_with_advice(server: RunningServer) -> None:
    address, token = await create_inbox(server)
    sent = await run(
        server, "send", address, "--to", "bob@example.com", "--text", "x", "--token", token
    )
    assert sent.code == 1
    assert "cannot send" in sent.stderr and "API key" in sent.stderr


async def test_usage_errors_exit_2(server: RunningServer) -> None:
    assert (await run(server, "wait")).code == 2
    assert (await run(server, "wait", "x@inboxkit.localhost", "--code", "--link")).code == 2
    assert (await run(server, "send", "x@inboxkit.localhost", "--to", "y@example.com")).code == 2


async def test_an_unreachable_server_is_an_error_exit_1(server: RunningServer) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    result = await run(server, "inbox", "create", "--url", url)
    assert result.code == 1 and "Could not reach inboxkit" in result.stderr

"""The pytest plugin, as a user's project sees it: a test file in a fresh directory, run by a
separate pytest process that finds the fixtures through the installed entry point."""

from __future__ import annotations

import asyncio

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server

pytest_plugins = ["pytester"]

SIGNUP_TESTS = """
import smtplib

import pytest

from inboxkit.client import NotFound

ADDRESSES = []


def test_signup_mails_a_code(inbox, inboxkit_server):
    ADDRESSES.append(inbox.address)
    with smtplib.SMTP(inboxkit_server.smtp_host, inboxkit_server.smtp_port) as smtp:
        smtp.sendmail(
            "noreply@shop.example",
            [inbox.address],
            "Subject: Your code\\r\\n\\r\\nYour code is 482913",
        )
    assert inbox.wait_for_code(timeout=10) == "482913"


def test_the_inbox_was_deleted_after_the_test(inboxkit):
    with pytest.raises(NotFound):
        inboxkit.get_mailbox(ADDRESSES[0])


def test_each_test_gets_a_fresh_inbox(inbox):
    assert inbox.address not in ADDRESSES
    assert inbox.messages() == []
"""

EXTERNAL_SERVER_TEST = """
import os
import smtplib


def test_inbox_lives_on_the_configured_server(inbox, inboxkit):
    assert inboxkit.url == os.environ["EXPECTED_URL"]
    with smtplib.SMTP("127.0.0.1", int(os.environ["SMTP_PORT"])) as smtp:
        smtp.sendmail("a@example.com", [inbox.address], "Subject: hi\\r\\n\\r\\ncode 902211")
    assert inbox.wait_for_code(timeout=10) == "902211"
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("INBOXKIT_URL", raising=False)
    monkeypatch.delenv("INBOXKIT_API_KEY", raising=False)
    return monkeypatch


def test_inbox_fixture_on_the_embedded_server_passes_a_signup_test(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_signup=SIGNUP_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=3)


async def test_inboxkit_url_in_the_environment_points_the_fixtures_at_that_server(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, server: RunningServer
) -> None:
    clean_env.setenv("INBOXKIT_URL", server.base_url)
    clean_env.setenv("EXPECTED_URL", server.base_url)
    clean_env.setenv("SMTP_PORT", str(server.smtp_port))
    pytester.makepyfile(test_external=EXTERNAL_SERVER_TEST)
    # The server runs in this event loop: run the other pytest from a thread.
    result = await asyncio.to_thread(
        pytester.runpytest_subprocess, "-p", "no:cacheprovider", timeout=120
    )
    result.assert_outcomes(passed=1)


async def test_inboxkit_url_ini_option_points_the_fixtures_at_that_server(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, server: RunningServer
) -> None:
    api_key = await server.create_key()
    pytester.makeini(f"[pytest]\ninboxkit_url = {server.base_url}\ninboxkit_api_key = {api_key}\n")
    clean_env.setenv("EXPECTED_URL", server.base_url)
    clean_env.setenv("SMTP_PORT", str(server.smtp_port))
    pytester.makepyfile(test_external=EXTERNAL_SERVER_TEST)
    result = await asyncio.to_thread(
        pytester.runpytest_subprocess, "-p", "no:cacheprovider", timeout=120
    )
    result.assert_outcomes(passed=1)
    # The key owns what the fixture created, and the fixture deleted it again.
    listed = await server.http.get("/mailboxes", headers=server.auth(api_key))
    assert listed.json()["data"] == []


MANY_INBOXES = """
import pytest


@pytest.mark.parametrize("n", range(5))
def test_an_inbox_each(inbox, n):
    assert inbox.address
"""


def test_the_embedded_server_is_not_held_to_the_anonymous_plan(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch
) -> None:
    # Five inboxes in a few seconds: more than the anonymous plan's 3 a minute. The embedded
    # server's fixtures use its admin key, which no plan limits.
    pytester.makepyfile(test_many=MANY_INBOXES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=5)


@pytest.mark.plan_defaults
async def test_anonymous_fixtures_over_the_plans_creation_rate_say_to_use_an_api_key(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, server: RunningServer
) -> None:
    clean_env.setenv("INBOXKIT_URL", server.base_url)
    pytester.makepyfile(test_many=MANY_INBOXES)
    result = await asyncio.to_thread(
        pytester.runpytest_subprocess, "-p", "no:cacheprovider", timeout=120
    )
    result.assert_outcomes(passed=3, errors=2)  # the anonymous plan: 3 creations a minute
    result.stdout.fnmatch_lines(["*Give the fixtures an API key: INBOXKIT_API_KEY*"])


# Each test's application sends a code to the same address; with every test's mail in one
# shared mailbox, a wait for that address could return another test's code.
CAPTURED_TESTS = """
import smtplib
from email.message import EmailMessage

import pytest


def signup(captured, to, code):
    # The application under test, configured with the fixture's SMTP settings.
    message = EmailMessage()
    message["From"] = "Shop <no-reply@shop.example>"
    message["To"] = to
    message["Subject"] = "Confirm your email"
    message.set_content(f"Welcome! Your confirmation code is {code}.")
    with smtplib.SMTP(captured.smtp_host, captured.smtp_port) as smtp:
        smtp.login(captured.smtp_username, captured.smtp_password)
        smtp.send_message(message)


@pytest.mark.parametrize("n", range(8))
def test_each_test_sees_only_its_own_mail(captured, n):
    code = f"5730{n:02d}"
    signup(captured, "alice@example.com", code)
    assert captured.wait_for_code(to="alice@example.com", timeout=30) == code
    (only,) = captured.messages()
    assert only.codes == [code]
    assert captured.mailbox.mode == "capture"
    assert captured.api_key.startswith("ik_")
"""

CAPTURED_CLEANUP_TESTS = """
import pytest

from inboxkit.client import InboxKit, Unauthorized

KEYS = []


def test_first(captured):
    KEYS.append((captured.client.url, captured.api_key))


def test_the_first_tests_account_and_key_are_gone(captured):
    url, key = KEYS[0]
    assert key != captured.api_key
    with InboxKit(url, key) as client, pytest.raises(Unauthorized):
        client.capture()
"""


def test_captured_fixture_isolates_tests_running_in_two_workers_on_embedded_servers(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_captured=CAPTURED_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=180)
    result.assert_outcomes(passed=8)


async def test_captured_fixture_isolates_tests_running_in_two_workers_on_one_server(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, settings: Settings
) -> None:
    # Both workers use this one server: only the per-test accounts keep their mail apart.
    async with start_server(settings.model_copy(update={"smtp_capture": True})) as server:
        admin = await server.create_key("tests", scopes=["admin"])
        clean_env.setenv("INBOXKIT_URL", server.base_url)
        clean_env.setenv("INBOXKIT_API_KEY", admin)
        clean_env.setenv("INBOXKIT_SMTP_PORT", str(server.smtp_port))
        pytester.makepyfile(test_captured=CAPTURED_TESTS)
        result = await asyncio.to_thread(
            pytester.runpytest_subprocess, "-p", "no:cacheprovider", "-n", "2", timeout=180
        )
        result.assert_outcomes(passed=8)
        # Every per-test account was deleted again.
        listed = await server.http.get(
            "/accounts", params={"limit": 200}, headers=server.auth(admin)
        )
        assert [a for a in listed.json()["data"] if a["name"].startswith("captured ")] == []


def test_captured_fixture_deletes_the_tests_account_afterwards(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_cleanup=CAPTURED_CLEANUP_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=2)


async def test_captured_fixture_without_an_admin_key_says_what_it_needs(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, server: RunningServer
) -> None:
    clean_env.setenv("INBOXKIT_URL", server.base_url)
    clean_env.setenv("INBOXKIT_API_KEY", await server.create_key("not admin"))
    pytester.makepyfile(test_captured="def test_x(captured):\n    pass\n")
    result = await asyncio.to_thread(
        pytester.runpytest_subprocess, "-p", "no:cacheprovider", timeout=120
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*captured* fixture makes an account for each test*admin*"])

"""The pytest plugin, as a user's project sees it: a test file in a fresh directory, run by a
separate pytest process that finds the fixtures through the installed entry point."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import RunningServer

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

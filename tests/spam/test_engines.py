"""Which engine the settings give, and the engines behind the filter."""

from __future__ import annotations

from inboxkit.config import Settings
from inboxkit.spam import BuiltinScorer, RspamdEngine, ScoredMessage, SpamFilter, build_engine
from inboxkit.spam.builtin import GTUBE
from tests.rspamd import unused_port


def from_settings(settings: Settings) -> object:
    return build_engine(
        enabled=settings.spam_filter,
        rspamd_url=settings.rspamd_url,
        rspamd_password=settings.rspamd_password,
        rspamd_timeout=settings.rspamd_timeout,
    )


def test_filtering_off_builds_no_engine() -> None:
    settings = Settings(_env_file=None, spam_filter=False, rspamd_url="http://127.0.0.1:11333")  # type: ignore[call-arg]
    assert from_settings(settings) is None


def test_no_rspamd_url_builds_the_builtin_scorer() -> None:
    for url in (None, "", "  "):
        engine = build_engine(enabled=True, rspamd_url=url)
        assert isinstance(engine, BuiltinScorer) and engine.name == "builtin"


async def test_rspamd_url_builds_rspamd_with_its_password_and_timeout() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        rspamd_url="http://127.0.0.1:11334/",
        rspamd_password="pw",
        rspamd_timeout=0.75,
    )
    engine = from_settings(settings)
    assert isinstance(engine, RspamdEngine)
    try:
        assert engine.name == "rspamd"
        assert engine.endpoint == "http://127.0.0.1:11334/checkv2"
        assert (engine.password, engine.timeout) == ("pw", 0.75)
    finally:
        await engine.close()


def gtube() -> ScoredMessage:
    return ScoredMessage(
        raw=b"Subject: t\r\n\r\n" + GTUBE.encode() + b"\r\n",
        mail_from="a@example.com",
        rcpt_tos=["b@example.org"],
        remote_addr="203.0.113.5",
        helo="mail.example.com",
        from_addr="a@example.com",
        subject="t",
        text=GTUBE,
        html=None,
    )


async def test_filter_over_the_builtin_scorer_scores_gtube_spam() -> None:
    spam_filter = SpamFilter(build_engine(enabled=True, rspamd_url=None), lists=None)
    try:
        result = await spam_filter.score(gtube())
    finally:
        await spam_filter.close()
    assert (result["verdict"], result["engine"]) == ("spam", "builtin")


async def test_filter_over_an_unreachable_rspamd_delivers_unscored() -> None:
    engine = build_engine(enabled=True, rspamd_url=f"http://127.0.0.1:{unused_port()}")
    spam_filter = SpamFilter(engine, lists=None)
    try:
        result = await spam_filter.score(gtube())
    finally:
        await spam_filter.close()
    assert (result["verdict"], result["engine"], result["score"]) == ("clean", "unavailable", None)

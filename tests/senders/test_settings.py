"""The sender-authentication settings: the scope words and the resolver address."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from inboxkit.config import Settings
from inboxkit.senders.dmarc import organisational_domain


@pytest.mark.parametrize(
    ("given", "scope"),
    [("true", "agent"), ("false", "none"), ("ALL", "all"), ("agent", "agent"), ("none", "none")],
)
def test_verify_senders_accepts_scope_words_and_booleans(given: str, scope: str):
    assert Settings(_env_file=None, verify_senders=given).verify_senders == scope  # type: ignore[call-arg]


def test_verify_senders_defaults_to_agent_mailboxes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("INBOXKIT_VERIFY_SENDERS", raising=False)
    assert Settings(_env_file=None).verify_senders == "agent"  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("given", "address"),
    [
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("192.0.2.53", ("192.0.2.53", 53)),
        ("[::1]:53", ("::1", 53)),
    ],
)
def test_dns_resolver_is_host_and_port(given: str, address: tuple[str, int]):
    assert Settings(_env_file=None, dns_resolver=given).dns_resolver_address == address  # type: ignore[call-arg]


@pytest.mark.parametrize("given", ["127.0.0.1:dns", "127.0.0.1:70000", ":53"])
def test_a_malformed_dns_resolver_is_refused_at_start(given: str):
    with pytest.raises(ValidationError, match="host:port"):
        Settings(_env_file=None, dns_resolver=given)  # type: ignore[call-arg]


def test_organisational_domains_follow_the_public_suffix_list():
    assert organisational_domain("mail.shop.example.co.uk") == "example.co.uk"
    assert organisational_domain("bounces.example.com.") == "example.com"
    assert organisational_domain("co.uk") == "co.uk"

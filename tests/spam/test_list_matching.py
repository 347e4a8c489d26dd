"""Which allow or block entry decides for a sender: the most specific, as spam/lists.py says."""

from __future__ import annotations

from inboxkit.spam.lists import ListEntry, decide, lookup_keys, normalise_entry

ACCOUNT = "01ACCOUNT0000000000000000A"
MAILBOX = "01MAILBOX0000000000000000A"
OTHER_MAILBOX = "01MAILBOX0000000000000000B"


def entry(
    type_: str, value: str, *, subdomains: bool = False, mailbox: str | None = None
) -> ListEntry:
    return ListEntry(
        id=f"{type_}:{value}",
        account_id=ACCOUNT,
        mailbox_id=mailbox,
        type=type_,
        entry=value,
        subdomains=subdomains,
    )


def test_a_sender_yields_its_address_and_each_parent_domain_but_not_the_tld():
    assert lookup_keys(["Alice@Mail.Example.CO.uk", "", "<>", "not-an-address"]) == {
        "alice@mail.example.co.uk",
        "mail.example.co.uk",
        "example.co.uk",
        "co.uk",
    }


def test_a_very_deep_domain_yields_a_bounded_number_of_keys():
    deep = "a@" + ".".join(["x"] * 5000) + ".example"
    assert len(lookup_keys([deep])) <= 11


def test_an_exact_address_matches_only_that_address():
    rules = [entry("block", "spam@example.com")]
    assert decide(rules, ["SPAM@example.com"], MAILBOX) == "block"
    assert decide(rules, ["ham@example.com"], MAILBOX) is None


def test_a_domain_covers_subdomains_only_when_asked():
    exact = [entry("block", "example.com")]
    wide = [entry("block", "example.com", subdomains=True)]
    assert decide(exact, ["a@example.com"], MAILBOX) == "block"
    assert decide(exact, ["a@news.example.com"], MAILBOX) is None
    assert decide(wide, ["a@news.example.com"], MAILBOX) == "block"
    # A look-alike that merely ends with the same letters is another domain.
    assert decide(wide, ["a@badexample.com"], MAILBOX) is None


def test_either_the_envelope_sender_or_the_header_from_can_match():
    rules = [entry("block", "bulk.example")]
    assert decide(rules, ["", "offers@bulk.example"], MAILBOX) == "block"
    assert decide(rules, ["bounce@bulk.example", "friend@example.org"], MAILBOX) == "block"


def test_the_most_specific_entry_decides():
    rules = [
        entry("block", "example.com", subdomains=True),
        entry("allow", "news.example.com"),
        entry("allow", "boss@example.com"),
    ]
    assert decide(rules, ["boss@example.com"], MAILBOX) == "allow"  # address over domain
    assert decide(rules, ["x@news.example.com"], MAILBOX) == "allow"  # longer domain
    assert decide(rules, ["x@example.com"], MAILBOX) == "block"


def test_a_mailboxs_own_entry_beats_the_accounts_and_applies_only_to_it():
    rules = [entry("block", "a@example.com"), entry("allow", "example.com", mailbox=MAILBOX)]
    assert decide(rules, ["a@example.com"], MAILBOX) == "allow"
    assert decide(rules, ["a@example.com"], OTHER_MAILBOX) == "block"


def test_allowed_and_blocked_at_the_same_level_is_blocked():
    rules = [entry("allow", "a@example.com"), entry("block", "a@example.com")]
    assert decide(rules, ["a@example.com"], MAILBOX) == "block"


def test_entries_are_normalised_or_refused():
    assert normalise_entry(" Alice@Example.COM ") == ("alice@example.com", True)
    assert normalise_entry("Example.com.") == ("example.com", False)
    for bad in ("", "example", "@example.com", "a@b", "a b@example.com", "a@@example.com"):
        assert normalise_entry(bad) is None, bad
    assert normalise_entry("x" * 64 + ".com") is None  # a label longer than 63

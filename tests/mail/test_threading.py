"""The pure parts of threading: subject normalisation, participants, reference chains; each
bounded on hostile input."""

from __future__ import annotations

import pytest

from inboxkit.mail.threading import (
    MAX_PARTICIPANTS,
    MAX_REFERENCES,
    SUBJECT_CHARS,
    message_key,
    normalise_subject,
    participants,
    participants_key,
    reference_chain,
    subject_key,
)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Budget",
        "RE: Budget",
        "Fwd: Budget",
        "FW: Budget",
        "Fw: budget",
        "AW: Budget",
        "WG: Budget",
        "SV: Budget",
        "VS: Budget",
        "Antw: Budget",
        "Réf: Budget",
        "TR: Budget",
        "RIF: Budget",
        "R: Budget",
        "回复: Budget",
        "答复：Budget",
        "转发: Budget",
        "Re[2]: Budget",
        "Re: Re: Fwd: RE: Budget",
        "[team-list] Re: Budget",
        "Re: [team-list]   Budget",
        "  re :  BUDGET  ",
    ],
)
def test_reply_and_forward_prefixes_and_list_tags_are_stripped(subject: str):
    assert normalise_subject(subject) == "budget"


def test_words_that_merely_start_like_a_prefix_are_kept():
    assert normalise_subject("Regarding the plan") == "regarding the plan"
    assert normalise_subject("R2D2: droid report") == "r2d2: droid report"
    assert normalise_subject("Trip: Rome") == "trip: rome"


def test_an_empty_or_prefix_only_subject_has_no_key():
    assert subject_key("") is None and subject_key(None) is None
    assert subject_key("Re: Fwd: ") is None
    assert subject_key("Re: Budget") == subject_key("budget")


def test_participants_are_bare_lower_cased_addresses_as_a_set():
    found = participants(["Ada <ADA@Example.com>", "bob@example.com", "ada@example.com", "junk"])
    assert found == ["ada@example.com", "bob@example.com"]
    assert participants_key(["a@x.example", "B@x.example"]) == participants_key(
        ["b@x.example", "Ann <A@X.EXAMPLE>"]
    )
    assert participants_key(["a@x.example"]) != participants_key(["a@x.example", "c@x.example"])


def test_the_reference_chain_is_most_recent_first_and_bounded():
    refs = [f"<r{n}@x>" for n in range(200)]
    chain = reference_chain("<r199@x>", refs)
    assert chain[0] == "<r199@x>" and chain[1] == "<r198@x>"
    assert len(chain) == MAX_REFERENCES
    assert reference_chain(None, []) == []


def test_message_keys_are_fixed_length_whatever_the_id():
    assert message_key(None) is None
    assert len(message_key("<" + "é" * 990 + ">") or "") == 32
    assert message_key("<a@x>") != message_key("<A@x>")


def test_hostile_input_is_read_only_up_to_its_caps():
    # Nothing here is timed: each function is shown to read a capped slice of its input.
    assert normalise_subject("Re: " * 500_000 + "tail") == ""  # the tail is past the cap
    assert normalise_subject("[" * 1_000_000) == "[" * SUBJECT_CHARS
    assert participants(["a@x.example"] * 10_000 + ["late@x.example"]) == ["a@x.example"]
    assert len(participants(f"p{n}@x.example" for n in range(10**9))) == MAX_PARTICIPANTS
    # In-Reply-To and the last MAX_REFERENCES of References.
    assert len(reference_chain("<x>", [f"<{n}>" for n in range(100_000)])) == MAX_REFERENCES + 1

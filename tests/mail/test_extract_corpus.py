"""The whole labelled corpus: the first code and the first link must be the labelled ones."""

from __future__ import annotations

import json

import pytest

from inboxkit.mail.extract import extract
from tests.mail.eml import CORPUS, load_eml

LABELS: dict[str, dict] = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))
AUTH_KINDS = {"verify", "login", "reset"}
# Mail with nothing to act on: no link of those kinds anywhere in it. Notices ("no_action")
# may carry a sign-in link among others; only their first link must not be one.
NOTHING_TO_ACT_ON = {"non_verification", "not_a_code"}


def test_corpus_is_large_and_every_file_is_labelled():
    files = {p.name for p in CORPUS.glob("*.eml")}
    assert files == set(LABELS)
    assert len(files) >= 150
    non_verification = [n for n, lab in LABELS.items() if lab["category"] == "non_verification"]
    assert len(non_verification) >= 20


@pytest.mark.parametrize("name", sorted(LABELS))
def test_first_code_and_first_link_match_the_label(name: str):
    label = LABELS[name]
    result = extract(*load_eml(CORPUS / name))
    codes = [c.value for c in result.codes]
    links = [(x.url, x.kind) for x in result.links]
    found = f"codes={codes[:3]} links={links[:2]}"

    if label["code"] is None:
        assert codes == [], f"{name}: expected no code, found {found}"
    else:
        assert codes[:1] == [label["code"]], f"{name}: expected code {label['code']}, {found}"

    if label["link"] is None:
        first_kind = result.links[0].kind if result.links else None
        assert first_kind not in AUTH_KINDS, f"{name}: expected no action link first, {found}"
        if label["category"] in NOTHING_TO_ACT_ON:
            assert not [x for x in result.links if x.kind in AUTH_KINDS], (
                f"{name}: a non-verification message has an action link, {found}"
            )
    else:
        expected = (label["link"], label["link_kind"])
        assert links[:1] == [expected], f"{name}: expected link {expected}, {found}"

"""Search over REST (DESIGN §14, docs/search.md): the query language answers the same on
SQLite and PostgreSQL, on `GET /search` and on `q` of a mailbox's list; malformed queries are
400 with the position; `/search` reads only what the caller may read, leaves hidden spam out
unless asked, pages without gaps, sorts by relevance, and escapes its highlights."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, make_message, start_server
from tests.hidden_mail import ALLOWED, BLOCKED, quiet, tenant

# Subject → (From, body). Written for these tests: each exercises a corner of the language.
MAIL = {
    "Your order has shipped": (
        "Alice Martin <alice@shop.example>",
        "Tracking number 1Z999. Thanks for shopping, café lovers!",
    ),
    "Your verification code": (
        "bob@bank.example",
        "Your code is 482913. It expires in 10 minutes.",
    ),
    "Weekly digest: NEAR AND OR": (
        "carol@news.example",
        'Read about the star* wildcard and "quotes" today. 日本語 テキスト',
    ),
    "Report attached": (
        "dave@files.example",
        "See the attached report on pineapple sales.",
    ),
    "re:hello from eve": (
        "Eve <eve@shop.example>",
        "Meeting at 12:30; a naïve résumé from the Straße.",
    ),
    "<script>alert(1)</script> promo": (
        "promo@deals.example",
        "Buy <script>now</script> before the pineapple runs out.",
    ),
}
SHIPPED, CODE, DIGEST, REPORT, EVE, PROMO = MAIL
EVERYTHING = set(MAIL)

TODAY = datetime.now(UTC).date()
TOMORROW = TODAY + timedelta(days=1)

# (query, the subjects it finds). The same table runs on every backend and both endpoints.
CASES: list[tuple[str, set[str]]] = [
    ("pineapple", {REPORT, PROMO}),
    ("PINEAPPLE", {REPORT, PROMO}),
    ("-pineapple", EVERYTHING - {REPORT, PROMO}),
    ("- pineapple", {REPORT, PROMO}),
    ("from:alice@shop.example", {SHIPPED}),
    ("from:shop.example", {SHIPPED, EVE}),
    ("from:martin", {SHIPPED}),
    ("FROM:Alice", {SHIPPED}),
    ("-from:shop.example", EVERYTHING - {SHIPPED, EVE}),
    ("to:nobody.example", set()),
    ('subject:"verification code"', {CODE}),
    ("subject:code", {CODE}),
    ('subject:"code verification"', set()),
    ("subject:tracking", set()),
    ('"your code is"', {CODE}),
    ('"code is 482913"', {CODE}),
    ('"your order"', {SHIPPED}),
    ("your", {SHIPPED, CODE}),
    ("shipped tracking", {SHIPPED}),
    ("shipped -tracking", set()),
    ('-"your code"', EVERYTHING - {CODE}),
    ("has:attachment", {REPORT}),
    ("-has:attachment", EVERYTHING - {REPORT}),
    ("has:code", {CODE}),
    ("is:read", {SHIPPED}),
    ("is:unread", EVERYTHING - {SHIPPED}),
    ("-is:unread", {SHIPPED}),
    ("larger:10K", {REPORT}),
    ("smaller:10k", EVERYTHING - {REPORT}),
    (f"after:{TODAY}", EVERYTHING),
    (f"before:{TODAY}", set()),
    (f"before:{TOMORROW}", EVERYTHING),
    (f"after:{TOMORROW}", set()),
    (f"after:{TODAY} before:{TOMORROW} pineapple", {REPORT, PROMO}),
    ("pineapple has:attachment", {REPORT}),
    ("pineapple -has:attachment", {PROMO}),
    ("from:eve subject:hello", {EVE}),
    ("-is:unread pineapple", set()),
    # FTS syntax typed by a user is only ever text.
    ("*", set()),
    ('""', set()),
    ("star*", {DIGEST}),
    ('"quotes"', {DIGEST}),
    ("NEAR", {DIGEST}),
    ("AND", {DIGEST}),
    ("OR", {DIGEST}),
    ("near and or", {DIGEST}),
    ('"near and or"', {DIGEST}),
    # As FTS5 syntax this would match; as text it is the phrase "near digest weekly".
    ("NEAR(digest weekly)", set()),
    ("digest OR pineapple", set()),
    ('"re:hello"', {EVE}),
    ("12:30", {EVE}),
    ("'quotes'", {DIGEST}),
    ("col:umn", None),  # an unknown operator: 400 (checked in the error table)
    # Unicode: accents kept, case folded (ß folds to ss), scripts without spaces.
    ("café", {SHIPPED}),
    ("cafe", set()),
    ("NAÏVE", {EVE}),
    ("strasse", {EVE}),
    ("STRASSE", {EVE}),
    ("日本語", {DIGEST}),
    ("script", {PROMO}),
    ("<script>", {PROMO}),
]
CASES = [(q, want) for q, want in CASES if want is not None]

# (query, what the message must say): each a 400 naming the position.
ERRORS = [
    ("foo:bar", "Unknown operator 'foo:' at character 1"),
    ("pineapple col:umn", "Unknown operator 'col:' at character 11"),
    ('hello "unclosed', "Unbalanced quote at character 7"),
    ("from:", "'from:' at character 1 has no value"),
    ("subject:***", "no letters or digits"),
    ("after:2025-02-30", "at character 7 is not a date"),
    ("before:yesterday", "is not a date"),
    ("larger:10G", "at character 8 is not a size"),
    ("label:" + "x" * 65, "'label:' at character 1: A label is at most 64 characters"),
    ("has:nothing", "use has:attachment or has:code"),
    ("is:starred", "use is:unread or is:read"),
    (" ".join(["word"] * 21), "more than 20 terms"),
    ("x" * 501, "at most 500"),
]


async def _corpus(server: RunningServer) -> tuple[str, dict[str, Any]]:
    """An account's key and an inbox holding MAIL, the first message read."""
    key = await server.create_key(name="searcher")
    inbox = await server.create_inbox(token=key)
    for subject, (sender, body) in MAIL.items():
        message = make_message(inbox["address"], subject, body, mail_from=sender)
        if subject == REPORT:
            message.add_attachment(
                bytes(range(256)) * 80, maintype="application", subtype="pdf", filename="r.pdf"
            )
        await server.send(inbox["address"], message, mail_from="envelope@example.com")
    listed = await _list(server, key, inbox["id"], q=f'subject:"{SHIPPED}"')
    response = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages/{listed[0]['id']}", headers=server.auth(key)
    )
    assert response.status_code == 200
    return key, inbox


async def _list(server: RunningServer, key: str, mailbox: str, **params: Any) -> list[Any]:
    response = await server.http.get(
        f"/mailboxes/{mailbox}/messages", params=params, headers=server.auth(key)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def _search(server: RunningServer, key: str, **params: Any) -> dict[str, Any]:
    response = await server.http.get("/search", params=params, headers=server.auth(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_query_language_finds_the_same_messages_on_every_backend_and_endpoint(
    server: RunningServer,
):
    key, inbox = await _corpus(server)
    wrong = []
    for q, want in CASES:
        found = {m["subject"] for m in (await _search(server, key, q=q))["data"]}
        listed = {m["subject"] for m in await _list(server, key, inbox["id"], q=q)}
        if found != want or listed != want:
            wrong.append((q, want, found, listed))
    assert wrong == []


async def test_to_finds_the_recipient_and_list_filters_narrow_a_query(server: RunningServer):
    key, inbox = await _corpus(server)
    found = await _search(server, key, q=f"to:{inbox['address']}")
    assert {m["subject"] for m in found["data"]} == EVERYTHING
    narrowed = await _list(server, key, inbox["id"], q="pineapple", subject="promo")
    assert [m["subject"] for m in narrowed] == [PROMO]
    assert await _list(server, key, inbox["id"], q="pineapple", unread="false") == []


async def test_malformed_queries_are_400_naming_what_and_where(server: RunningServer):
    key, inbox = await _corpus(server)
    for q, said in ERRORS:
        for path in ("/search", f"/mailboxes/{inbox['id']}/messages"):
            response = await server.http.get(path, params={"q": q}, headers=server.auth(key))
            assert response.status_code == 400, (q, path, response.text)
            error = response.json()["error"]
            assert error["code"] == "bad_request"
            assert said in error["message"], (q, error["message"])


async def test_highlights_mark_the_hits_and_escape_the_message(server: RunningServer):
    key, _ = await _corpus(server)
    [promo] = (await _search(server, key, q="script pineapple"))["data"]
    fragments = {h["field"]: h["fragment"] for h in promo["highlights"]}
    assert fragments["subject"] == (
        "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; promo"
    )
    assert "&lt;<mark>script</mark>&gt;now" in fragments["body"]
    assert "<mark>pineapple</mark>" in fragments["body"]
    assert "<script>" not in str(promo["highlights"])
    [code] = (await _search(server, key, q='subject:code "code is"'))["data"]
    assert {h["field"] for h in code["highlights"]} == {"subject", "body"}
    assert any("<mark>code is</mark> 482913" in h["fragment"] for h in code["highlights"])


async def test_search_reads_only_the_callers_mailboxes(server: RunningServer):
    key, inbox = await _corpus(server)
    other_key = await server.create_key(name="other tenant")
    other = await server.create_inbox(token=other_key)
    await server.send(other["address"], subject="pineapple for the other tenant")
    mine = {m["subject"] for m in (await _search(server, key, q="pineapple"))["data"]}
    assert mine == {REPORT, PROMO}
    theirs = {m["subject"] for m in (await _search(server, other_key, q="pineapple"))["data"]}
    assert theirs == {"pineapple for the other tenant"}
    # Naming another account's mailbox is a 404, as everywhere.
    response = await server.http.get(
        "/search",
        params={"q": "pineapple", "mailbox": other["id"]},
        headers=server.auth(key),
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # A mailbox token searches its own mailbox only.
    anonymous = await server.create_inbox()
    await server.send(anonymous["address"], subject="pineapple, anonymously")
    own = await _search(server, anonymous["token"], q="pineapple")
    assert [m["subject"] for m in own["data"]] == ["pineapple, anonymously"]
    assert all(m["mailbox_id"] == anonymous["id"] for m in own["data"])
    narrowed = await _search(server, key, q="pineapple", mailbox=inbox["address"])
    assert {m["subject"] for m in narrowed["data"]} == {REPORT, PROMO}


async def test_search_needs_a_token_and_the_read_scope(server: RunningServer):
    response = await server.http.get("/search", params={"q": "x"})
    assert response.status_code == 401
    key = await server.create_key(name="writer", scopes=["mailboxes:read"])
    response = await server.http.get("/search", params={"q": "x"}, headers=server.auth(key))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.fixture
async def spam_server(settings: Settings):
    async with start_server(quiet(settings)) as running:
        yield running


async def test_hidden_spam_is_searched_only_with_spam_true(spam_server: RunningServer):
    server = spam_server
    ada = await tenant(server, "ada-search")
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="cheap pineapple pills")
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="pineapple lunch")
    found = await _search(server, ada.key, q="pineapple")
    assert [m["subject"] for m in found["data"]] == ["pineapple lunch"]
    hidden = await _search(server, ada.key, q="pineapple", spam="true")
    assert [m["subject"] for m in hidden["data"]] == ["cheap pineapple pills"]
    assert await _list(server, ada.key, ada.agent["id"], q="pills") == []


async def test_pages_walk_every_match_once_newest_first_in_either_sort(server: RunningServer):
    key = await server.create_key(name="pager")
    inbox = await server.create_inbox(token=key)
    for n in range(7):
        body = "quince " * (n + 1)  # more quince, better match
        await server.send(inbox["address"], subject=f"fruit {n}", body=body)
    await server.send(inbox["address"], subject="no fruit here", body="brioche")
    for sort in ("newest", "relevance"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"q": "quince", "limit": "3", "sort": sort} | (
                {"cursor": cursor} if cursor else {}
            )
            page = await _search(server, key, **params)
            seen += [m["subject"] for m in page["data"]]
            cursor = page["meta"]["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == [f"fruit {n}" for n in range(7)], sort
        if sort == "newest":
            assert seen == [f"fruit {n}" for n in reversed(range(7))]
        else:
            assert seen[0] == "fruit 6" and seen[-1] == "fruit 0"
    # The same walk through a mailbox's list with `q`.
    seen = []
    cursor = None
    while True:
        params = {"q": "quince", "limit": "2"} | ({"cursor": cursor} if cursor else {})
        response = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages", params=params, headers=server.auth(key)
        )
        assert response.status_code == 200, response.text
        seen += [m["subject"] for m in response.json()["data"]]
        cursor = response.json()["meta"]["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"fruit {n}" for n in reversed(range(7))]


def _forged(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def test_a_damaged_or_foreign_cursor_is_400(server: RunningServer):
    key = await server.create_key(name="damaged")
    inbox = await server.create_inbox(token=key)
    for n in range(3):
        await server.send(inbox["address"], subject=f"quince {n}")
    newest = await _search(server, key, q="quince", limit="1")
    other_sort = await server.http.get(
        "/search",
        params={"q": "quince", "sort": "relevance", "cursor": newest["meta"]["next_cursor"]},
        headers=server.auth(key),
    )
    assert other_sort.status_code == 400, other_sort.text
    forged = [
        _forged([2**70, "x", None]),
        _forged([True, "x", None]),
        _forged(["not an id\u0000", "x", None]),
        _forged([{"a": 1}, "x", None]),
        _forged([1, "x", "NaN"]),
    ]
    for cursor in ("abc", "W10", "bm90IGpzb24", *forged):
        response = await server.http.get(
            "/search", params={"q": "quince", "cursor": cursor}, headers=server.auth(key)
        )
        assert response.status_code == 400, (cursor, response.text)
        assert "pass back `meta.next_cursor`" in response.json()["error"]["message"]

"""The /faults routes: shape, bounds, scopes, the per-account cap and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults.support import add_fault
from tests.helpers import RunningServer


async def test_a_fault_is_created_listed_read_and_deleted(server: RunningServer):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    fault = await add_fault(
        server, key, stage="rcpt", code=451, message="Busy", count=2, probability=0.5,
        mailbox=inbox["address"],
    )  # fmt: skip
    assert {k: fault[k] for k in ("stage", "code", "message", "probability", "count")} == {
        "stage": "rcpt",
        "code": 451,
        "message": "Busy",
        "probability": 0.5,
        "count": 2,
    }
    assert fault["reply"] == "451 4.3.0 Busy"
    assert (fault["mailbox_id"], fault["fired"], fault["remaining"]) == (inbox["id"], 0, 2)
    assert fault["exhausted"] is False and fault["created_at"]

    headers = server.auth(key)
    listed = (await server.http.get("/faults", headers=headers)).json()["data"]
    assert [f["id"] for f in listed] == [fault["id"]]
    assert (await server.http.get(f"/faults/{fault['id']}", headers=headers)).json()[
        "data"
    ] == fault
    assert (await server.http.delete(f"/faults/{fault['id']}", headers=headers)).status_code == 204
    gone = await server.http.get(f"/faults/{fault['id']}", headers=headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert (await server.http.get("/faults", headers=headers)).json()["data"] == []


async def test_defaults_are_every_mailbox_probability_one_and_no_count(server: RunningServer):
    key = await server.create_key("shop")
    fault = await add_fault(server, key, stage="data", code=554)
    assert (fault["mailbox_id"], fault["probability"], fault["count"]) == (None, 1.0, None)
    assert (fault["remaining"], fault["message"]) == (None, None)


async def test_another_tenants_fault_is_404_everywhere(server: RunningServer):
    owner, stranger = await server.create_key("owner"), await server.create_key("stranger")
    fault = await add_fault(server, owner, stage="rcpt", code=550)
    for method in ("GET", "DELETE"):
        response = await server.http.request(
            method, f"/faults/{fault['id']}", headers=server.auth(stranger)
        )
        assert response.status_code == 404, method
        assert response.json()["error"] == {"code": "not_found", "message": "No such fault."}
    assert (await server.http.get("/faults", headers=server.auth(stranger))).json()["data"] == []
    still = await server.http.get(f"/faults/{fault['id']}", headers=server.auth(owner))
    assert still.status_code == 200


async def test_a_fault_on_another_tenants_mailbox_is_404(server: RunningServer):
    owner, stranger = await server.create_key("owner"), await server.create_key("stranger")
    inbox = await server.create_inbox(owner)
    for ref in (inbox["id"], inbox["address"], "nobody@inboxkit.localhost"):
        response = await server.http.post(
            "/faults",
            json={"stage": "rcpt", "code": 550, "mailbox": ref},
            headers=server.auth(stranger),
        )
        assert response.status_code == 404, ref
        assert response.json()["error"]["code"] == "not_found"


async def test_the_capture_mailbox_can_be_named(server: RunningServer):
    key = await server.create_key("shop")
    capture = (await server.http.get("/capture", headers=server.auth(key))).json()["data"]
    fault = await add_fault(server, key, stage="data", code=451, mailbox=capture["id"])
    assert fault["mailbox_id"] == capture["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"stage": "helo", "code": 451},
        {"stage": "rcpt", "code": 250},
        {"stage": "rcpt", "code": 420},
        {"stage": "rcpt", "code": 460},
        {"stage": "rcpt", "code": 500},
        {"stage": "rcpt", "code": 549},
        {"stage": "rcpt", "code": 560},
        {"stage": "rcpt", "code": 4510},
        {"stage": "rcpt", "code": 451, "message": "two\r\nlines"},
        {"stage": "rcpt", "code": 451, "message": "tab\there"},
        {"stage": "rcpt", "code": 451, "message": "caf\u00e9"},
        {"stage": "rcpt", "code": 451, "message": "x" * 201},
        {"stage": "rcpt", "code": 451, "message": ""},
        {"stage": "rcpt", "code": 451, "probability": 1.5},
        {"stage": "rcpt", "code": 451, "probability": -0.1},
        {"stage": "rcpt", "code": 451, "count": 0},
        {"stage": "rcpt", "code": 451, "count": 10001},
        {"stage": "rcpt", "code": 451, "extra": True},
        {"code": 451},
    ],
)
async def test_out_of_bounds_values_are_422(server: RunningServer, body: dict[str, Any]):
    key = await server.create_key("shop")
    response = await server.http.post("/faults", json=body, headers=server.auth(key))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["message"]


@pytest.mark.parametrize("code", [421, 450, 459, 550, 559])
async def test_the_accepted_codes_are_421_450_to_459_and_550_to_559(
    server: RunningServer, code: int
):
    key = await server.create_key("shop")
    assert (await add_fault(server, key, stage="mail", code=code))["code"] == code


async def test_the_code_error_says_which_codes_are_accepted(server: RunningServer):
    key = await server.create_key("shop")
    response = await server.http.post(
        "/faults", json={"stage": "rcpt", "code": 460}, headers=server.auth(key)
    )
    assert "421, 450-459 or 550-559" in response.json()["error"]["message"]


async def test_scopes_are_enforced(server: RunningServer):
    owner = await server.create_key("owner")
    fault = await add_fault(server, owner, stage="rcpt", code=550)
    # A read-only key of the same account reads but cannot change.
    same = await server.runtime.auth.create_key(
        name="reader", scopes=["mailboxes:read"], account_id=await _account_of(server, owner)
    )
    headers = server.auth(same["token"])
    assert (await server.http.get(f"/faults/{fault['id']}", headers=headers)).status_code == 200
    assert (await server.http.get("/faults", headers=headers)).status_code == 200
    create = await server.http.post("/faults", json={"stage": "rcpt", "code": 550}, headers=headers)
    assert create.status_code == 403 and "mailboxes:write" in create.json()["error"]["message"]
    delete = await server.http.delete(f"/faults/{fault['id']}", headers=headers)
    assert delete.status_code == 403
    # A key without mailboxes:read cannot even list.
    messages_only = await server.create_key("messages", scopes=["messages:read"])
    listed = await server.http.get("/faults", headers=server.auth(messages_only))
    assert listed.status_code == 403 and "mailboxes:read" in listed.json()["error"]["message"]


async def _account_of(server: RunningServer, key: str) -> str:
    response = await server.http.get("/account", headers=server.auth(key))
    return str(response.json()["data"]["id"])


async def test_a_mailbox_token_or_no_token_cannot_use_faults(server: RunningServer):
    inbox = await server.create_inbox()
    token = await server.http.get("/faults", headers=server.auth(inbox["token"]))
    assert token.status_code == 403 and "API key" in token.json()["error"]["message"]
    anonymous = await server.http.post("/faults", json={"stage": "rcpt", "code": 550})
    assert anonymous.status_code == 401


async def test_an_account_holds_at_most_50_live_faults(server: RunningServer):
    key = await server.create_key("shop")
    for _ in range(50):
        await add_fault(server, key, stage="rcpt", code=451, probability=0)
    over = await server.http.post(
        "/faults", json={"stage": "rcpt", "code": 451}, headers=server.auth(key)
    )
    assert over.status_code == 403
    error = over.json()["error"]
    assert error["code"] == "quota_exceeded" and "at most 50 live faults" in error["message"]
    assert error["details"] == {"limit": "max_faults", "allowed": 50, "used": 50}
    # Another account is not held to this one's faults.
    assert await add_fault(server, await server.create_key("other"), stage="rcpt", code=451)

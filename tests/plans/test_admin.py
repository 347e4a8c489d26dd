"""Plans and accounts are managed by admins; every caller sees its own account and usage."""

from __future__ import annotations

from tests.helpers import RunningServer


async def test_plans_are_created_listed_changed_and_deleted_by_admins(server: RunningServer, admin):
    created = await server.http.post(
        "/plans", json={"name": "free", "max_mailboxes": 5, "send": "local"}, headers=admin
    )
    assert created.status_code == 201, created.text
    plan = created.json()["data"]
    assert plan["max_mailboxes"] == 5 and plan["send"] == "local"
    assert plan["retention_days"] is None and plan["agent_mode"] is True
    names = [p["name"] for p in (await server.http.get("/plans", headers=admin)).json()["data"]]
    assert {"anonymous", "default", "free"} <= set(names)
    again = await server.http.post("/plans", json={"name": "free"}, headers=admin)
    assert again.status_code == 409
    changed = await server.http.patch(
        "/plans/free", json={"max_mailboxes": None, "sent_per_month": 100}, headers=admin
    )
    assert changed.json()["data"]["max_mailboxes"] is None
    assert changed.json()["data"]["sent_per_month"] == 100
    assert changed.json()["data"]["send"] == "local"  # absent fields stay

    account = await server.http.post(
        "/accounts", json={"name": "acme", "plan": "free"}, headers=admin
    )
    in_use = await server.http.delete("/plans/free", headers=admin)
    assert in_use.status_code == 409 and "move them" in in_use.json()["error"]["message"]
    moved = await server.http.patch(
        f"/accounts/{account.json()['data']['id']}", json={"plan": "default"}, headers=admin
    )
    assert moved.json()["data"]["plan"] == "default"
    assert (await server.http.delete("/plans/free", headers=admin)).status_code == 204
    assert (await server.http.get("/plans/free", headers=admin)).status_code == 404


async def test_the_built_in_plans_can_be_edited_but_not_deleted(server: RunningServer, admin):
    for name in ("anonymous", "default"):
        refused = await server.http.delete(f"/plans/{name}", headers=admin)
        assert refused.status_code == 403 and "built in" in refused.json()["error"]["message"]
    anonymous = (await server.http.get("/plans/anonymous", headers=admin)).json()["data"]
    assert anonymous["send"] == "none" and anonymous["agent_mode"] is False
    assert anonymous["max_ttl_minutes"] == 60
    default = (await server.http.get("/plans/default", headers=admin)).json()["data"]
    assert default["send"] == "any" and default["max_mailboxes"] is None


async def test_bad_plan_values_are_refused_with_the_field_named(server: RunningServer, admin):
    for body, field in [
        ({"name": "x", "max_mailboxes": -1}, "max_mailboxes"),
        ({"name": "x", "send": "everyone"}, "send"),
        ({"name": "x", "agent_mode": "yes"}, "agent_mode"),
        ({"name": "x", "retention_days": True}, "retention_days"),
        ({"name": "Bad Name"}, "name"),
        ({"name": "x", "colour": "red"}, "colour"),
    ]:
        response = await server.http.post("/plans", json=body, headers=admin)
        assert response.status_code == 422, body
        assert field in response.json()["error"]["message"]


async def test_only_admins_manage_plans_and_accounts(server: RunningServer):
    tenant = server.auth(await server.create_key("tenant"))
    for method, path in [
        ("GET", "/plans"),
        ("POST", "/plans"),
        ("PATCH", "/plans/default"),
        ("GET", "/accounts"),
        ("POST", "/accounts"),
    ]:
        body = {"name": "x"} if method == "POST" else ({} if method == "PATCH" else None)
        response = await server.http.request(method, path, json=body, headers=tenant)
        assert response.status_code == 403, (method, path)
        assert "admin" in response.json()["error"]["message"]
    assert (await server.http.get("/plans")).status_code == 401


async def test_accounts_and_their_own_view(server: RunningServer, admin, tenant_on):
    tenant = await tenant_on("starter", max_mailboxes=3)
    mine = (await server.http.get("/account", headers=tenant["headers"])).json()["data"]
    assert mine["id"] == tenant["account"]["id"] and mine["plan"] == "starter"
    assert mine["limits"]["max_mailboxes"] == 3
    listed = (await server.http.get("/accounts?limit=1", headers=admin)).json()
    assert len(listed["data"]) == 1 and listed["meta"]["next_cursor"]
    unknown_plan = await server.http.post(
        "/accounts", json={"name": "x", "plan": "platinum"}, headers=admin
    )
    assert unknown_plan.status_code == 404 and "platinum" in unknown_plan.json()["error"]["message"]
    other = await tenant_on("default")
    theirs = (await server.http.get("/account", headers=other["headers"])).json()["data"]
    assert theirs["id"] != mine["id"] and theirs["plan"] == "default"
    assert (await server.http.get("/account")).status_code == 401


async def test_usage_is_per_tenant(server: RunningServer, tenant_on):
    one = await tenant_on("default")
    two = await tenant_on("default")
    await server.http.post("/mailboxes", json={}, headers=one["headers"])
    await server.http.post("/mailboxes", json={}, headers=one["headers"])
    assert (await server.http.get("/usage", headers=one["headers"])).json()["data"]["usage"][
        "mailboxes"
    ] == 2
    assert (await server.http.get("/usage", headers=two["headers"])).json()["data"]["usage"][
        "mailboxes"
    ] == 0


async def test_deleting_an_account_ends_its_mailboxes_and_keys(
    server: RunningServer, admin, tenant_on
):
    tenant = await tenant_on("default")
    box = (await server.http.post("/mailboxes", json={}, headers=tenant["headers"])).json()["data"]
    assert await server.send(box["address"])
    deleted = await server.http.delete(f"/accounts/{tenant['account']['id']}", headers=admin)
    assert deleted.status_code == 204
    assert (await server.http.get("/mailboxes", headers=tenant["headers"])).status_code == 401
    assert (
        await server.http.get(f"/accounts/{tenant['account']['id']}", headers=admin)
    ).status_code == 404
    # The address is never handed out again.
    local = box["address"].split("@")[0]
    available = await server.http.get(f"/handles/{local}", headers=admin)
    assert available.status_code == 200
    assert available.json()["data"]["available"] is False

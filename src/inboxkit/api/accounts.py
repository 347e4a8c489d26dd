"""Plans and accounts (admin scope), the caller's own account, and usage."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from inboxkit.api.deps import CursorQuery, PrincipalDep, RuntimeDep
from inboxkit.api.schemas import (
    Account,
    AccountCreate,
    AccountUpdate,
    Data,
    ErrorResponse,
    OwnAccount,
    Page,
    PlanCreate,
    PlanUpdate,
    PlanView,
    Usage,
)

router = APIRouter(tags=["plans and accounts"])

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "Name taken, or plan in use"}
}

PlanName = Annotated[str, Path(max_length=64)]
AccountId = Annotated[str, Path(max_length=26)]


@router.get("/usage", response_model=Data[Usage])
async def get_usage(runtime: RuntimeDep, principal: PrincipalDep):
    """What the caller has used of its plan: live mailboxes, mail received and sent this month,
    bytes stored; and the plan's limits."""
    return {"data": await runtime.usage.usage(principal)}


@router.get("/account", response_model=Data[OwnAccount])
async def get_own_account(runtime: RuntimeDep, principal: PrincipalDep):
    """The caller's own account, its plan and the plan's limits."""
    return {"data": await runtime.accounts.mine(principal)}


# -- plans ---------------------------------------------------------------------------------------


@router.post("/plans", status_code=201, response_model=Data[PlanView], responses=_CONFLICT)
async def create_plan(runtime: RuntimeDep, principal: PrincipalDep, body: PlanCreate):
    """Create a plan (admin). Limits left out are unlimited."""
    limits = body.model_dump(exclude={"name"}, exclude_unset=True)
    return {"data": await runtime.plans.create(principal, body.name, limits)}


@router.get("/plans", response_model=Data[list[PlanView]])
async def list_plans(runtime: RuntimeDep, principal: PrincipalDep):
    """Every plan (admin)."""
    return {"data": await runtime.plans.list(principal)}


@router.get("/plans/{name}", response_model=Data[PlanView])
async def get_plan(runtime: RuntimeDep, principal: PrincipalDep, name: PlanName):
    """One plan (admin)."""
    return {"data": await runtime.plans.get(principal, name)}


@router.patch("/plans/{name}", response_model=Data[PlanView])
async def update_plan(
    runtime: RuntimeDep, principal: PrincipalDep, name: PlanName, body: PlanUpdate
):
    """Change a plan's limits (admin); null makes a limit unlimited. Takes effect at once for
    every account on it."""
    return {
        "data": await runtime.plans.update(principal, name, body.model_dump(exclude_unset=True))
    }


@router.delete("/plans/{name}", status_code=204, response_class=Response, responses=_CONFLICT)
async def delete_plan(runtime: RuntimeDep, principal: PrincipalDep, name: PlanName):
    """Delete a plan no account is on (admin); `anonymous` and `default` cannot be deleted."""
    await runtime.plans.delete(principal, name)
    return Response(status_code=204)


# -- accounts ------------------------------------------------------------------------------------


@router.post("/accounts", status_code=201, response_model=Data[Account])
async def create_account(runtime: RuntimeDep, principal: PrincipalDep, body: AccountCreate):
    """Create an account on a plan (admin); add keys to it with `POST /keys` and `account_id`."""
    return {"data": await runtime.accounts.create(principal, name=body.name, plan=body.plan)}


@router.get("/accounts", response_model=Page[Account])
async def list_accounts(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
):
    """Accounts, newest first (admin)."""
    items, next_cursor = await runtime.accounts.list(principal, limit=limit, cursor=cursor)
    return {"data": items, "meta": {"next_cursor": next_cursor}}


@router.get("/accounts/{account_id}", response_model=Data[Account])
async def get_account(runtime: RuntimeDep, principal: PrincipalDep, account_id: AccountId):
    """One account (admin)."""
    return {"data": await runtime.accounts.get(principal, account_id)}


@router.patch("/accounts/{account_id}", response_model=Data[Account])
async def update_account(
    runtime: RuntimeDep, principal: PrincipalDep, account_id: AccountId, body: AccountUpdate
):
    """Rename an account or move it to another plan (admin), effective at once."""
    return {
        "data": await runtime.accounts.update(principal, account_id, name=body.name, plan=body.plan)
    }


@router.delete("/accounts/{account_id}", status_code=204, response_class=Response)
async def delete_account(runtime: RuntimeDep, principal: PrincipalDep, account_id: AccountId):
    """Delete an account with its keys and webhooks; its mailboxes end (admin)."""
    await runtime.accounts.delete(principal, account_id)
    return Response(status_code=204)

"""API key management (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from inboxkit.api.deps import PrincipalDep, RuntimeDep
from inboxkit.api.schemas import ApiKey, ApiKeyCreate, ApiKeyCreated, Data

router = APIRouter(tags=["keys"])


@router.post("/keys", status_code=201, response_model=Data[ApiKeyCreated])
async def create_key(runtime: RuntimeDep, principal: PrincipalDep, body: ApiKeyCreate):
    """Create an API key, in a new account unless `account_id` is given. Shown once. Needs
    the `admin` scope, as do the `admin` and `ingest` scopes on the new key."""
    principal.require("admin")
    return {"data": await runtime.auth.create_key(**body.model_dump(), granted_by=principal)}


@router.get("/keys", response_model=Data[list[ApiKey]])
async def list_keys(runtime: RuntimeDep, principal: PrincipalDep, account_id: str | None = None):
    """Every API key (never the secret)."""
    principal.require("admin")
    return {"data": await runtime.auth.list_keys(account_id)}


@router.delete("/keys/{key_id}", status_code=204, response_class=Response)
async def revoke_key(runtime: RuntimeDep, principal: PrincipalDep, key_id: str):
    """Revoke a key; it stops working at once."""
    principal.require("admin")
    await runtime.auth.revoke_key(key_id)
    return Response(status_code=204)

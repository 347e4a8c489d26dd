"""Allow and block list routes (DESIGN §9): senders an account trusts or blocks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from inboxkit.api.deps import PrincipalDep, RuntimeDep
from inboxkit.api.schemas import PRINTABLE, Data, ErrorResponse, Strict
from inboxkit.spam.lists import ENTRY_PATTERN

router = APIRouter(tags=["lists"])

ListKind = Literal["allow", "block"]
# Checked here rather than by `pattern=` so a refusal names the two shapes an entry may take
# (what a person or a model can act on) instead of quoting the regular expression; the schema
# still publishes the pattern.
_ENTRY_SHAPE = re.compile(ENTRY_PATTERN)
EntryId = Path(max_length=26, description="The entry's id, as `POST /lists` returned it.")


class ListEntryCreate(Strict):
    """A sender to trust or to block."""

    type: ListKind = Field(
        description="`allow`: mail from this sender is never spam. `block`: mail from it is "
        "stored with verdict `blocked` and hidden from agent mailboxes' default views "
        "(`?spam=true` shows it; test mailboxes never hide mail)."
    )
    entry: str = Field(
        min_length=3,
        max_length=320,
        json_schema_extra={"pattern": ENTRY_PATTERN},
        description="An email address (`alice@example.com`, matched exactly) or a domain "
        "(`example.com`). Matched against the envelope sender (MAIL FROM) and the From "
        "header, case-insensitively.",
    )
    subdomains: bool = Field(
        False,
        description="For a domain entry: also every subdomain (`mail.example.com`). "
        "Ignored for an address.",
    )
    mailbox: str | None = Field(
        None,
        min_length=1,
        max_length=320,
        pattern=PRINTABLE,
        description="Only for this mailbox (id or address). Left out: every mailbox of the "
        "account. A mailbox's own entry beats an account-wide one.",
    )

    @field_validator("entry")
    @classmethod
    def _entry_shape(cls, value: str) -> str:
        if not _ENTRY_SHAPE.fullmatch(value):
            raise PydanticCustomError(
                "entry_shape",
                "must be an email address (alice@example.com) or a domain (example.com)",
            )
        return value


class ListEntryView(BaseModel):
    """An allow or block list entry."""

    id: str
    type: ListKind
    entry: str
    kind: Literal["address", "domain"]
    subdomains: bool
    mailbox_id: str | None = Field(description="The one mailbox it applies to, or null for all.")
    created_at: datetime


_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "The same entry is already on that list"}
}


@router.post("/lists", status_code=201, response_model=Data[ListEntryView], responses=_CONFLICT)
async def create_list_entry(runtime: RuntimeDep, principal: PrincipalDep, body: ListEntryCreate):
    """Allow or block a sender for the account's mailboxes (or one). Needs the
    `mailboxes:write` scope. At most 1000 entries per account (`403 quota_exceeded`); the same
    entry twice is `409 conflict`. Applies to mail received from then on."""
    created = await runtime.lists.create(principal, **body.model_dump())
    return {"data": created}


@router.get("/lists", response_model=Data[list[ListEntryView]])
async def list_list_entries(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    type: Annotated[ListKind | None, Query(description="Only allow or only block entries.")] = None,
    mailbox: Annotated[
        str | None,
        Query(
            max_length=320,
            pattern=PRINTABLE,
            description="Only this mailbox's own entries (id or address).",
        ),
    ] = None,
):
    """The account's allow and block list entries, newest first. Needs `mailboxes:read`."""
    return {"data": await runtime.lists.list(principal, type=type, mailbox=mailbox)}


@router.get("/lists/{entry_id}", response_model=Data[ListEntryView])
async def get_list_entry(runtime: RuntimeDep, principal: PrincipalDep, entry_id: str = EntryId):
    """One entry. Needs the `mailboxes:read` scope."""
    return {"data": await runtime.lists.get(principal, entry_id)}


@router.delete("/lists/{entry_id}", status_code=204, response_class=Response)
async def delete_list_entry(runtime: RuntimeDep, principal: PrincipalDep, entry_id: str = EntryId):
    """Remove an entry: mail received from then on is judged without it (mail already stored
    keeps its verdict). Needs the `mailboxes:write` scope."""
    await runtime.lists.delete(principal, entry_id)
    return Response(status_code=204)

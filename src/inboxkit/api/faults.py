"""Fault injection routes: SMTP replies an account asks for at a stage of its own mail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from inboxkit.api.deps import PrincipalDep, RuntimeDep
from inboxkit.api.schemas import PRINTABLE, Data, Strict
from inboxkit.services.faults import (
    CODES_ACCEPTED,
    MAX_COUNT,
    MAX_MESSAGE_CHARS,
    FaultStage,
    code_accepted,
)

router = APIRouter(tags=["faults"])

Stage = Literal["connect", "mail", "rcpt", "data"]
assert set(Stage.__args__) == {s.value for s in FaultStage}  # type: ignore[attr-defined]

# Every code a fault may answer, listed so the document states exactly what is accepted.
SMTP_CODES = [421, *range(450, 460), *range(550, 560)]
assert all(code_accepted(code) for code in SMTP_CODES)


def _smtp_code(value: int) -> int:
    if not code_accepted(value):
        raise ValueError(f"must be an SMTP refusal: {CODES_ACCEPTED}")
    return value


def _json_number(value: object) -> object:
    # pydantic would take `true` for a number; the document says a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return value


SmtpCode = Annotated[int, BeforeValidator(_json_number), AfterValidator(_smtp_code)]
Probability = Annotated[float, BeforeValidator(_json_number)]
# The constraint sits inside, so the document shows `minimum` and `maximum`.
Count = Annotated[int, Field(ge=1, le=MAX_COUNT), BeforeValidator(_json_number)]

FaultId = Path(max_length=26, description="The fault's id, as `POST /faults` returned it.")


class FaultCreate(Strict):
    """A reply SMTP gives at one stage of the account's mail (or one mailbox's)."""

    stage: Stage = Field(
        description="`connect`: the session is closed with the reply; `mail`: the transaction "
        "is refused; `rcpt`: the recipient is refused; `data`: the message is refused after "
        "its data is read (nothing stored). Where each is answered: docs/faults.md."
    )
    code: SmtpCode = Field(
        json_schema_extra={"enum": SMTP_CODES},
        description=f"The SMTP reply code: {CODES_ACCEPTED}. 4xx asks the sender to retry, "
        "5xx to give up; 421 also closes the session.",
    )
    message: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
        pattern=r"^[ -~]+$",
        description="The reply text, printable ASCII on one line. An RFC 3463 enhanced status "
        "code (`4.3.0`) is put before it unless it starts with one; left out, the standard "
        "text for the code is used.",
    )
    probability: Probability = Field(
        1.0, ge=0, le=1, description="The chance that each matching message fires it."
    )
    count: Count | None = Field(
        None,
        description="Fire this many times, then stop (the fault stays, exhausted, so `fired` "
        "can be read). Left out: no limit.",
    )
    mailbox: str | None = Field(
        None,
        min_length=1,
        max_length=320,
        pattern=PRINTABLE,
        description="Only mail for this mailbox (id or address; the capture mailbox too). "
        "Left out: every mailbox of the account.",
    )


class Fault(BaseModel):
    """A fault and how often it has fired."""

    id: str
    stage: Stage
    code: int
    message: str | None
    reply: str = Field(description="The exact SMTP reply line it answers.")
    probability: float
    count: int | None
    mailbox_id: str | None = Field(description="The one mailbox it applies to, or null for all.")
    fired: int = Field(description="How many times it has fired.")
    remaining: int | None = Field(description="Firings left; null without a count.")
    exhausted: bool = Field(description="True once `remaining` reached 0: it fires no more.")
    created_at: datetime


@router.post("/faults", status_code=201, response_model=Data[Fault])
async def create_fault(runtime: RuntimeDep, principal: PrincipalDep, body: FaultCreate):
    """Make SMTP answer `code` at `stage` for mail to the account's mailboxes (or one), to test
    how an application retries. Needs the `mailboxes:write` scope. At most 50 live faults per
    account (`403 quota_exceeded` beyond). Other processes apply it within a second."""
    created = await runtime.faults.create(principal, **body.model_dump())
    return {"data": created}


@router.get("/faults", response_model=Data[list[Fault]])
async def list_faults(runtime: RuntimeDep, principal: PrincipalDep):
    """The account's faults, newest first, live and exhausted, each with how many times it
    fired. Needs the `mailboxes:read` scope."""
    return {"data": await runtime.faults.list(principal)}


@router.get("/faults/{fault_id}", response_model=Data[Fault])
async def get_fault(runtime: RuntimeDep, principal: PrincipalDep, fault_id: str = FaultId):
    """One fault, with `fired` and `remaining`. Needs the `mailboxes:read` scope."""
    return {"data": await runtime.faults.get(principal, fault_id)}


@router.delete("/faults/{fault_id}", status_code=204, response_class=Response)
async def delete_fault(runtime: RuntimeDep, principal: PrincipalDep, fault_id: str = FaultId):
    """Remove a fault: SMTP stops answering with it (other processes within a second). Needs
    the `mailboxes:write` scope."""
    await runtime.faults.delete(principal, fault_id)
    return Response(status_code=204)

"""Custom domain routes (DESIGN §10, docs/domains.md): add a domain, publish its records, verify
it, rotate its DKIM key, remove it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from inboxkit.api.deps import CursorQuery, PrincipalDep, RuntimeDep
from inboxkit.api.schemas import Data, ErrorResponse, JsonBool, Page, Strict
from inboxkit.services.domain_records import DOMAIN_PATTERN, DOMAIN_SHAPE, MAX_DOMAIN_LENGTH

router = APIRouter(tags=["domains"])

# Checked here rather than by `pattern=` so a refusal says what a domain name looks like
# instead of quoting the expression; the schema still publishes the pattern.
_DOMAIN_SHAPE = re.compile(DOMAIN_PATTERN)
DomainId = Path(max_length=26, description="The domain's id, as `POST /domains` returned it.")
Selector = Path(
    min_length=1,
    max_length=63,
    pattern="^[a-z0-9][a-z0-9-]*$",
    description="A retired selector, as `retired_selectors` lists it.",
)


class DomainCreate(Strict):
    """A domain this account controls, to receive and send mail on."""

    domain: str = Field(
        min_length=3,
        max_length=MAX_DOMAIN_LENGTH,
        json_schema_extra={"pattern": DOMAIN_PATTERN},
        description="The domain name (`example.com`); an internationalised name in its "
        "`xn--` form. Not a public suffix alone (`co.uk`) and not one of the server's own "
        "domains.",
    )
    wildcard: JsonBool = Field(
        False,
        description="Also serve every subdomain (`x@any.sub.example.com`), and allow mailboxes "
        "on them; its records then include a `*.<domain>` MX.",
    )

    @field_validator("domain")
    @classmethod
    def _domain_shape(cls, value: str) -> str:
        if not _DOMAIN_SHAPE.fullmatch(value):
            raise PydanticCustomError("domain_shape", DOMAIN_SHAPE.removeprefix("domain "))
        return value


class Verification(BaseModel):
    """The record that proves the account controls the domain."""

    name: str = Field(description="`_inboxkit.<domain>`")
    type: Literal["TXT"]
    value: str = Field(description="`inboxkit-verify=<token>`")


class DnsRecord(BaseModel):
    """One record to publish at the domain's DNS host."""

    type: Literal["MX", "TXT"]
    name: str
    value: str = Field(
        description="The MX host, or the whole TXT text (split it into strings "
        "of 255 characters where the DNS host asks for it; the zone file does)."
    )
    priority: int | None = Field(None, description="MX only.")
    purpose: str


class DomainView(BaseModel):
    """A custom domain and the records it needs."""

    id: str
    domain: str
    wildcard: bool
    status: Literal["pending", "verified"] = Field(
        description="`pending` until verified; a verified domain whose TXT record disappears "
        "returns to `pending` (see `unverified_since`)."
    )
    verification: Verification
    records: list[DnsRecord] = Field(
        description="Every record to publish: MX (and `*.<domain>` MX with wildcard), the "
        "verification TXT, SPF, the DKIM key (and retired keys still to keep), DMARC."
    )
    dkim_selector: str = Field(description="The selector of the key that signs mail now.")
    retired_selectors: list[str]
    created_at: datetime
    verified_at: datetime | None
    last_checked_at: datetime | None
    unverified_since: datetime | None = Field(
        description="When the periodic check found the TXT record gone; for "
        "INBOXKIT_DOMAIN_GRACE_HOURS after it the domain still receives mail."
    )


def _refusals(*pairs: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse, "description": text} for status, text in pairs}


@router.post(
    "/domains",
    status_code=201,
    response_model=Data[DomainView],
    responses=_refusals(
        (409, "The account has this domain already, or another account has it verified"),
    ),
)
async def create_domain(runtime: RuntimeDep, principal: PrincipalDep, body: DomainCreate):
    """Add a custom domain (status `pending`) with its verification token and its own DKIM
    key; publish `records` (or the zone file), then verify. Needs `mailboxes:write`; at most
    the plan's `max_domains` (`403 quota_exceeded`)."""
    return {"data": await runtime.domains.create(principal, **body.model_dump())}


@router.get("/domains", response_model=Page[DomainView])
async def list_domains(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
):
    """The account's domains, newest first. Needs `mailboxes:read`."""
    items, next_cursor = await runtime.domains.list(principal, limit=limit, cursor=cursor)
    return {"data": items, "meta": {"next_cursor": next_cursor}}


@router.get("/domains/{domain_id}", response_model=Data[DomainView])
async def get_domain(runtime: RuntimeDep, principal: PrincipalDep, domain_id: str = DomainId):
    """One domain with its records. Needs `mailboxes:read`."""
    return {"data": await runtime.domains.get(principal, domain_id)}


@router.get(
    "/domains/{domain_id}/zone-file",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def get_zone_file(runtime: RuntimeDep, principal: PrincipalDep, domain_id: str = DomainId):
    """The records as BIND zone text, to import at the DNS host or paste into a zone (it has
    no SOA or NS record: the host keeps its own). Needs `mailboxes:read`."""
    text = await runtime.domains.zone_file(principal, domain_id)
    return Response(text, media_type="text/plain; charset=utf-8")


@router.post(
    "/domains/{domain_id}/verify",
    response_model=Data[DomainView],
    responses=_refusals(
        (409, "Another account verified this domain first"),
        (422, "A record is missing or wrong: the message names it and what to publish"),
    ),
)
async def verify_domain(runtime: RuntimeDep, principal: PrincipalDep, domain_id: str = DomainId):
    """Look up `_inboxkit.<domain>` TXT and the domain's MX (which must name this server's MX
    host) and mark the domain verified; from then on it receives mail for the account's
    mailboxes on it. Needs `mailboxes:write`."""
    return {"data": await runtime.domains.verify(principal, domain_id)}


@router.post(
    "/domains/{domain_id}/dkim/rotate",
    response_model=Data[DomainView],
    responses=_refusals((409, "Too many retired selectors are still published")),
)
async def rotate_dkim(runtime: RuntimeDep, principal: PrincipalDep, domain_id: str = DomainId):
    """Make a new DKIM key and selector, which signs mail from now on; publish its record.
    The old selector stays in `records` as retired until it is removed. Needs
    `mailboxes:write`."""
    return {"data": await runtime.domains.rotate_dkim(principal, domain_id)}


@router.delete(
    "/domains/{domain_id}/dkim/retired/{selector}",
    response_model=Data[DomainView],
    responses=_refusals((409, "The selector is the current key")),
)
async def drop_selector(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    domain_id: str = DomainId,
    selector: str = Selector,
):
    """Forget a retired DKIM selector once its record is gone from DNS. Needs
    `mailboxes:write`."""
    return {"data": await runtime.domains.drop_selector(principal, domain_id, selector)}


@router.delete("/domains/{domain_id}", status_code=204, response_class=Response)
async def delete_domain(runtime: RuntimeDep, principal: PrincipalDep, domain_id: str = DomainId):
    """Remove the domain: mail for it is refused from then on (`550 5.7.1`). Its mailboxes
    stay readable but receive nothing; delete them to free the account's mailbox count.
    Needs `mailboxes:write`."""
    await runtime.domains.delete(principal, domain_id)
    return Response(status_code=204)

"""Search across every mailbox the caller may read (DESIGN §14; docs/search.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from inboxkit.api.deps import PrincipalDep, RuntimeDep
from inboxkit.api.schemas import ErrorResponse, Page, SearchResult
from inboxkit.services.search import MAX_LIMIT, Sort

router = APIRouter(tags=["messages"])

# A search's cursor: opaque, base64url. It holds the sort key and the id of the last result.
SEARCH_CURSOR_PATTERN = "^[A-Za-z0-9_-]{1,300}$"
QUERY_REFUSED = (
    "The query cannot be read (unbalanced quote, unknown operator, bad date or size, too "
    "many terms, `label:`), or the cursor is not this search's; the message says what and "
    "at which character"
)

SearchCursorQuery = Annotated[
    str | None,
    Query(
        pattern=SEARCH_CURSOR_PATTERN,
        description="`meta.next_cursor` of the previous page, passed back unchanged with the "
        "same `q` and `sort`.",
    ),
]


@router.get(
    "/search",
    response_model=Page[SearchResult],
    responses={400: {"model": ErrorResponse, "description": QUERY_REFUSED}},
)
async def search(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            description='The query: words, "phrases", from:, to:, subject:, has:attachment, '
            "has:code, is:unread, is:read, after:/before: (YYYY-MM-DD), larger:/smaller: "
            "(bytes, K, M), and - to negate (docs/search.md). At most 500 characters and 20 terms.",
        ),
    ],
    mailbox: Annotated[
        str | None,
        Query(max_length=320, description="Search one mailbox (its id or address) only."),
    ] = None,
    sort: Sort = Sort.NEWEST,
    spam: Annotated[
        bool, Query(description="true: search only the mail hidden as spam (the spam folders).")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: SearchCursorQuery = None,
):
    """Messages matching `q` in every mailbox the caller may read — an API key's account's
    live mailboxes, or a mailbox token's own — newest first or by relevance, each with
    `highlights`. Mail hidden as spam is left out unless `spam=true`."""
    items, next_cursor = await runtime.search.search(
        principal, q, mailbox=mailbox, spam=spam, sort=sort, limit=limit, cursor=cursor
    )
    return {"data": items, "meta": {"next_cursor": next_cursor}}

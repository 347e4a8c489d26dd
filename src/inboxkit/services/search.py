"""Search (DESIGN §14): `q` on a mailbox's list and `GET /search` across every mailbox the
caller may read, over the full-text index (store/search.py).

The query is parsed once (`search/query.py`); a malformed one is a `400 bad_request` whose
message names the problem and its position. What a caller may read is decided here as for
every other read: an API key searches its account's live mailboxes (those of its modes, and
the capture mailbox), a mailbox token its own mailbox, and the mail hidden as spam only with
`spam=true`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from inboxkit.errors import BadRequest
from inboxkit.records import MessageSummary, summary
from inboxkit.search.highlight import BODY_CHARS, Highlight, highlights
from inboxkit.search.query import Field, Query, QueryError, parse
from inboxkit.services.auth import Principal, PrincipalKind
from inboxkit.services.mailboxes import MailboxService
from inboxkit.store import messages as rows
from inboxkit.store import search as index
from inboxkit.store.db import Database
from inboxkit.store.tables import messages, utcnow

__all__ = ["SearchResult", "SearchService", "Sort", "parse_query"]

MAX_LIMIT = 100
_BAD_CURSOR = (
    "The cursor is not valid for this search; pass back `meta.next_cursor` unchanged, with "
    "the same query and sort."
)


class Sort(StrEnum):
    """Result order: newest first, or best match first (then newest)."""

    NEWEST = "newest"
    RELEVANCE = "relevance"


class SearchResult(MessageSummary):
    """A message summary and where the query matched it."""

    highlights: list[Highlight]


@dataclass(frozen=True, slots=True)
class _Page:
    rows: list[Any]
    next_cursor: str | None


def parse_query(q: str) -> Query:
    """`q` parsed, or BadRequest naming what is wrong and where."""
    try:
        return parse(q)
    except QueryError as exc:
        raise BadRequest(exc.message) from exc


def _cursor(text: str | None) -> index.Cursor | None:
    if text is None:
        return None
    try:
        return index.Cursor.decode(text)
    except index.SearchCursorError:
        raise BadRequest(_BAD_CURSOR) from None


class SearchService:
    """Runs parsed queries against the index for a caller."""

    def __init__(self, db: Database, mailboxes: MailboxService):
        self.db = db
        self.mailboxes = mailboxes

    async def search(
        self,
        principal: Principal,
        q: str,
        *,
        mailbox: str | None = None,
        spam: bool = False,
        sort: Sort = Sort.NEWEST,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[SearchResult], str | None]:
        """Messages matching `q` in every mailbox the caller may read (or in `mailbox`), each
        with its highlights."""
        principal.require("messages:read")
        query = parse_query(q)
        after = _cursor(cursor)
        limit = max(1, min(limit, MAX_LIMIT))
        async with self.db.read() as conn:
            if mailbox is not None or principal.kind is PrincipalKind.MAILBOX:
                box = await self.mailboxes.find(
                    principal, mailbox or str(principal.mailbox_id), conn
                )
                scope = index.Scope(mailbox_id=box.id)
            else:
                scope = index.Scope(account_id=principal.account_id, modes=principal.modes)
            # `label:spam` is the spam folder, as `spam=true` is.
            hidden = spam or query.asks_spam
            page = await self._page(conn, scope, query, [rows.visible(hidden)], sort, after, limit)
            wanted = query.highlighted
            body_wanted = any(t.field is Field.ANY for t in wanted)
            texts = (
                await index.bodies(conn, [r.content_id for r in page.rows], BODY_CHARS)
                if body_wanted
                else {}
            )
        found = await asyncio.to_thread(_with_highlights, page.rows, wanted, texts)
        return found, page.next_cursor

    async def list_page(
        self,
        conn: Any,
        mailbox_id: str,
        q: str,
        base: sa.ColumnElement[bool] | None,
        *,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[MessageSummary], str | None]:
        """A mailbox's list narrowed by `q` (and its other filters, `base`), newest first."""
        query = parse_query(q)
        page = await self._page(
            conn,
            index.Scope(mailbox_id=mailbox_id),
            query,
            [] if base is None else [base],
            Sort.NEWEST,
            _cursor(cursor),
            limit,
        )
        return [summary(row) for row in page.rows], page.next_cursor

    async def _page(
        self,
        conn: Any,
        scope: index.Scope,
        query: Query,
        base: list[sa.ColumnElement[bool]],
        sort: Sort,
        after: index.Cursor | None,
        limit: int,
    ) -> _Page:
        if query.matches_nothing:
            return _Page([], None)
        try:
            found = await self._found(conn, scope, query, base, sort, after, limit)
        except index.SearchCursorError:
            raise BadRequest(_BAD_CURSOR) from None
        page = found[:limit]
        next_cursor = page[-1][1].encode() if len(found) > limit else None
        return _Page([row for row, _ in page], next_cursor)

    async def _found(
        self,
        conn: Any,
        scope: index.Scope,
        query: Query,
        base: list[sa.ColumnElement[bool]],
        sort: Sort,
        after: index.Cursor | None,
        limit: int,
    ) -> list[tuple[Any, index.Cursor]]:
        return await index.search_page(
            conn,
            sqlite=self.db.is_sqlite,
            scope=scope,
            query=query,
            base=base,
            columns=[*rows.SUMMARY_COLUMNS, messages.c.content_id],
            relevance=sort is Sort.RELEVANCE,
            after=after,
            limit=limit + 1,
            now=utcnow(),
        )


def _with_highlights(
    found: list[Any], wanted: list[Any], texts: dict[str, str]
) -> list[SearchResult]:
    results: list[SearchResult] = []
    for row in found:
        item: Any = dict(summary(row))
        fields = [
            ("subject", row.subject),
            ("from", f"{row.from_name} <{row.from_addr}>" if row.from_name else row.from_addr),
            ("to", ", ".join(row.to_addrs or [])),
            ("body", texts.get(row.content_id) or row.preview),
        ]
        item["highlights"] = highlights(wanted, fields)
        results.append(item)
    return results

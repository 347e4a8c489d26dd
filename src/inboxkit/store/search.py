"""The full-text index of messages and the queries that read it (DESIGN §14).

Each `messages` row carries its searchable text already reduced to words (`search/words.py`):
`search_subject`, `search_from` (address and display name), `search_to` (To, Cc and the
envelope recipients) and `search_body` (the start of the text body). NULL means "not indexed
yet": rows stored before migration 0013 until `backfill` reaches them.

- SQLite: `message_search`, an FTS5 table over those columns and `mailbox_id` with
  `messages` as its external content (it stores only the inverted index), keyed by the
  message's rowid. Triggers on `messages` (migration 0013) add, remove and re-index entries in
  the statement's own transaction, so every insert and every deletion path (a message, a
  mailbox, expiry, retention, an account) keeps the index in step without code of its own.
- PostgreSQL: `search_vector`, a stored generated `tsvector` column (subject weight A, sender
  B, recipients C, body D; the short fields' words again behind a field marker; the lexeme
  `m_<mailbox id>`), with a GIN index.

A query (`search/query.py`) compiles to an FTS5 MATCH string or a `tsquery` built from words
alone (letters and digits), each quoted, so nothing a user types can be read as index syntax.
Results come newest first (SQLite: by rowid, the order rows were stored; PostgreSQL: by id,
which is arrival order too) or by relevance (bm25 / ts_rank), after a cursor that holds the
sort key and the id.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.ids import is_id
from inboxkit.search.query import Field, Flag, Label, Query, Received, Size, Term, Text
from inboxkit.search.words import indexed
from inboxkit.store import labels
from inboxkit.store.tables import contents, mailboxes, messages

__all__ = [
    "BODY_CHARS",
    "outside_metadata",
    "Cursor",
    "Scope",
    "SearchCursorError",
    "backfill",
    "bodies",
    "document",
    "pending",
    "search_page",
]

# How much of each field is indexed. PostgreSQL keeps word positions up to 16,383; these caps
# keep a message's words below that, so phrases match alike on both backends.
SUBJECT_CHARS = 1_000
FROM_CHARS = 700
TO_CHARS = 2_000
BODY_CHARS = 24_000

SEARCH_COLUMNS = ("search_subject", "search_from", "search_to", "search_body")

# The FTS5 table (migration 0013) and its rowid; `rank` is its bm25 with our column weights.
message_search = sa.table("message_search", sa.column("rowid", sa.Integer))
_ROWID = sa.literal_column("messages.rowid", sa.Integer)
_VECTOR: sa.ColumnElement[Any] = sa.literal_column("messages.search_vector")

# Column weights of a relevance sort: subject, sender, recipients, body (and the scope column,
# which no text term matches).
_BM25_WEIGHTS = (8.0, 4.0, 2.0, 1.0, 0.0)
# A field's words are also indexed behind its marker (migration 0013).
_PG_FIELD_MARKS = {Field.SUBJECT: "ſs", Field.FROM: "ſf", Field.TO: "ſt"}
_SQLITE_COLUMNS = {
    Field.SUBJECT: "search_subject",
    Field.FROM: "search_from",
    Field.TO: "search_to",
    Field.ANY: "{search_subject search_from search_to search_body}",
}


def outside_metadata(name: str | None, kind: str) -> bool:
    """Whether a schema object is the index, which migration 0013 makes outside the table
    definitions: the FTS5 table and its shadow tables, the `tsvector` column and its index."""
    if name is None:
        return False
    if kind == "table":
        return name.startswith("message_search")
    return name in ("search_vector", "ix_messages_search_vector")


def document(
    *,
    subject: str,
    from_addr: str,
    from_name: str,
    recipients: Sequence[str],
    body: str | None,
) -> dict[str, str]:
    """The `search_*` column values of a message."""
    return {
        "search_subject": indexed(subject, SUBJECT_CHARS),
        "search_from": indexed(f"{from_addr} {from_name}", FROM_CHARS),
        "search_to": indexed(" ".join(recipients), TO_CHARS),
        "search_body": indexed(body, BODY_CHARS),
    }


# -- compiling a query ----------------------------------------------------------------------


def _fts_phrase(node: Text) -> str:
    # Words are letters and digits only: inside double quotes nothing is FTS5 syntax.
    return f'{_SQLITE_COLUMNS[node.field]} : "{" ".join(node.words)}"'


def fts_match(terms: Sequence[Term], mailbox_id: str | None) -> str | None:
    """The FTS5 MATCH string of the text terms, within one mailbox if given; None when there is
    nothing positive to drive the search (only negated text, and no mailbox)."""
    positive = [
        f"({_fts_phrase(t.node)})" for t in terms if isinstance(t.node, Text) and not t.negated
    ]
    negative = [f"({_fts_phrase(t.node)})" for t in terms if isinstance(t.node, Text) and t.negated]
    if mailbox_id is not None:
        positive.insert(0, f'mailbox_id : "{mailbox_id.lower()}"')
    if not positive:
        return None
    return " AND ".join(positive) + "".join(f" NOT {n}" for n in negative)


def _ts_phrase(node: Text) -> str:
    def chain(weight: str) -> str:
        return " <-> ".join(f"'{w}'{weight}" for w in node.words)

    if node.field is not Field.ANY:
        mark = _PG_FIELD_MARKS[node.field]
        return "(" + " <-> ".join(f"'{mark}{w}'" for w in node.words) + ")"
    if len(node.words) == 1:
        return f"'{node.words[0]}'"
    # Positions run on across fields in one tsvector: a phrase matches within one field, as
    # in FTS5, by asking for it in each field's weight.
    return "(" + " | ".join(f"({chain(':' + w)})" for w in "ABCD") + ")"


def tsquery(terms: Sequence[Term], mailbox_id: str | None) -> str | None:
    """The `tsquery` text of the text terms (within one mailbox if given), or None when there
    are none."""
    parts = [
        ("!" if t.negated else "") + _ts_phrase(t.node) for t in terms if isinstance(t.node, Text)
    ]
    # Negated text alone is a valid tsquery (`!'a'`): not an index search, but a filter on
    # the rows the other conditions walk.
    if mailbox_id is not None:
        parts.insert(0, f"'m_{mailbox_id.lower()}'")
    return " & ".join(parts) or None


def filter_condition(term: Term, mailbox_id: str | None = None) -> sa.ColumnElement[bool]:
    """A flag, date, size or label term as a condition on `messages` (a label's, on the
    labels of the messages of `mailbox_id` when the search is within one)."""
    c = messages.c
    node = term.node
    condition: sa.ColumnElement[bool]
    if isinstance(node, Flag):
        condition = {
            Flag.ATTACHMENT: c.has_attachments.is_(True),
            Flag.CODE: c.has_code.is_(True),
            Flag.UNREAD: c.is_read.is_(False),
            Flag.READ: c.is_read.is_(True),
        }[node]
    elif isinstance(node, Received):
        condition = c.received_at < node.at if node.before else c.received_at >= node.at
    elif isinstance(node, Size):
        condition = c.size > node.bytes if node.larger else c.size < node.bytes
    elif isinstance(node, Label):
        condition = labels.condition(node.name, mailbox_id)
    else:
        raise TypeError(f"not a filter term: {node!r}")
    return sa.not_(condition) if term.negated else condition


# -- pages ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose messages a search reads: one mailbox, or the live mailboxes of an account (of
    the given modes, and its capture mailbox; None for every mode)."""

    mailbox_id: str | None = None
    account_id: str | None = None
    modes: frozenset[str] | None = None


class SearchCursorError(ValueError):
    """A cursor this search did not hand out."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: after the row with this sort key (rowid, id or rank) and
    id."""

    key: int | str | float
    id: str
    rank: float | None = None

    def encode(self) -> str:
        raw = json.dumps([self.key, self.id, self.rank], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            key, id_, rank = json.loads(raw)
        except (ValueError, TypeError) as exc:
            raise SearchCursorError(text) from exc
        if not isinstance(id_, str) or not isinstance(key, int | str | float):
            raise SearchCursorError(text)
        if rank is not None and not isinstance(rank, int | float):
            raise SearchCursorError(text)
        return cls(key, id_, None if rank is None else float(rank))


_ROWID_RANGE = range(-(2**63), 2**63)


def _check(after: Cursor, *, sqlite: bool, relevance: bool) -> None:
    """Refuse a cursor that no page of this kind of search hands out (another query's, or
    made up): its key must be a rowid (SQLite, text search) or a message id, and a relevance
    sort's cursor must hold a finite score."""
    key = after.key
    if isinstance(key, bool) or not (
        (isinstance(key, int) and key in _ROWID_RANGE) or (isinstance(key, str) and is_id(key))
    ):
        raise SearchCursorError(after)
    if isinstance(key, int) and not sqlite:
        raise SearchCursorError(after)
    if relevance != (after.rank is not None):
        raise SearchCursorError(after)
    if after.rank is not None and not math.isfinite(after.rank):
        raise SearchCursorError(after)


def _live_mailboxes(scope: Scope, now: Any) -> sa.Select[Any]:
    query = sa.select(mailboxes.c.id).where(
        mailboxes.c.account_id == scope.account_id,
        mailboxes.c.deleted_at.is_(None),
        sa.or_(mailboxes.c.expires_at.is_(None), mailboxes.c.expires_at > now),
    )
    if scope.modes is not None:
        query = query.where(
            sa.or_(mailboxes.c.mode.in_(sorted(scope.modes)), mailboxes.c.mode == "capture")
        )
    return query


async def search_page(
    conn: AsyncConnection,
    *,
    sqlite: bool,
    scope: Scope,
    query: Query,
    base: Sequence[sa.ColumnElement[bool]],
    columns: Sequence[Any],
    relevance: bool,
    after: Cursor | None,
    limit: int,
    now: Any,
) -> list[tuple[Any, Cursor]]:
    """Up to `limit` rows (`columns` of `messages`) matching `query` in `scope` and the
    conditions `base` (visibility and any list filters), each with the cursor just past it."""
    if after is not None:
        _check(after, sqlite=sqlite, relevance=relevance)
    where: list[sa.ColumnElement[bool]] = [
        *base,
        *(filter_condition(t, scope.mailbox_id) for t in query.filters),
    ]
    if scope.mailbox_id is None:
        # Wrapped so that SQLite does not walk the mailbox index and probe the full-text index
        # row by row: the index drives, and this filters what it finds.
        box = sa.func.coalesce(messages.c.mailbox_id, "")
        where.append(box.in_(_live_mailboxes(scope, now)))
    else:
        where.append(messages.c.mailbox_id == scope.mailbox_id)
    text_terms = query.text
    if sqlite:
        return await _sqlite_page(conn, scope, text_terms, where, columns, relevance, after, limit)
    return await _pg_page(conn, scope, text_terms, where, columns, relevance, after, limit)


async def _sqlite_page(
    conn: AsyncConnection,
    scope: Scope,
    text_terms: list[Term],
    where: list[sa.ColumnElement[bool]],
    columns: Sequence[Any],
    relevance: bool,
    after: Cursor | None,
    limit: int,
) -> list[tuple[Any, Cursor]]:
    match = fts_match(text_terms, scope.mailbox_id) if text_terms else None
    negated = [t for t in text_terms if t.negated]
    if match is None:
        # No text to drive the index (flags, dates and sizes only, or only negated text
        # across an account): the message indexes walk in id order.
        if negated:
            excluded = " OR ".join(f"({_fts_phrase(t.node)})" for t in negated)  # type: ignore[arg-type]
            where.append(
                _ROWID.not_in(
                    sa.select(message_search.c.rowid).where(
                        sa.text("message_search MATCH :excluded").bindparams(excluded=excluded)
                    )
                )
            )
        key = messages.c.id
        sel = sa.select(*columns, key.label("sort_key")).where(*where)
        if after is not None:
            if not isinstance(after.key, str):
                raise SearchCursorError(after)
            sel = sel.where(key < after.key)
        rows = (await conn.execute(sel.order_by(key.desc()).limit(limit))).all()
        return [(row, Cursor(row.sort_key, row.id)) for row in rows]
    if after is not None and not isinstance(after.key, int):
        raise SearchCursorError(after)
    rowid = message_search.c.rowid
    weights = ", ".join(map(str, _BM25_WEIGHTS))
    rank = sa.literal_column(f"bm25(message_search, {weights})", sa.Float)
    # bm25 only when it orders: newest first needs no score.
    ranked = [rank.label("rank")] if relevance else []
    sel = (
        sa.select(*columns, rowid.label("sort_key"), *ranked)
        .select_from(message_search.join(messages, _ROWID == rowid))
        .where(sa.text("message_search MATCH :match").bindparams(match=match), *where)
    )
    if relevance:
        # bm25 is lower for better matches: ascending, then newest first among equals.
        if after is not None:
            sel = sel.where(
                sa.or_(rank > after.rank, sa.and_(rank == after.rank, rowid < int(after.key)))
            )
        sel = sel.order_by(rank.asc(), rowid.desc())
    else:
        if after is not None:
            sel = sel.where(rowid < int(after.key))
        sel = sel.order_by(rowid.desc())
    rows = (await conn.execute(sel.limit(limit))).all()
    return [
        (row, Cursor(int(row.sort_key), row.id, float(row.rank) if relevance else None))
        for row in rows
    ]


async def _pg_page(
    conn: AsyncConnection,
    scope: Scope,
    text_terms: list[Term],
    where: list[sa.ColumnElement[bool]],
    columns: Sequence[Any],
    relevance: bool,
    after: Cursor | None,
    limit: int,
) -> list[tuple[Any, Cursor]]:
    tsq = tsquery(text_terms, scope.mailbox_id) if text_terms else None
    # How common the words are decides the plan (walk the newest rows, or read every match from
    # the GIN index), so every execution is planned with its own values: asyncpg prepares
    # statements, and PostgreSQL switches a prepared statement to a generic plan after five.
    await conn.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))
    key = messages.c.id
    rank: Any = None
    if tsq is not None:
        # Written into the statement, not bound, so the planner sees the words (above). The
        # text is our own: quoted letters and digits, operators, `ſ`, `m_`.
        compiled = sa.cast(sa.bindparam(None, tsq, sa.Text, literal_execute=True), TSQUERY)
        where.append(_VECTOR.op("@@")(compiled))
        if relevance:
            rank = sa.func.ts_rank(_VECTOR, compiled, type_=sa.Float)
    sel = sa.select(
        *columns, key.label("sort_key"), *([rank.label("rank")] if rank is not None else [])
    ).where(*where)
    if rank is not None:
        if after is not None:
            sel = sel.where(
                sa.or_(rank < after.rank, sa.and_(rank == after.rank, key < str(after.key)))
            )
        sel = sel.order_by(rank.desc(), key.desc())
    else:
        if after is not None:
            sel = sel.where(key < str(after.key))
        sel = sel.order_by(key.desc())
    rows = (await conn.execute(sel.limit(limit))).all()
    return [
        (row, Cursor(row.sort_key, row.id, float(row.rank) if rank is not None else None))
        for row in rows
    ]


# -- bodies for highlights -------------------------------------------------------------------


async def bodies(conn: AsyncConnection, content_ids: Sequence[str], chars: int) -> dict[str, str]:
    """The first `chars` characters of each content's text body."""
    if not content_ids:
        return {}
    query = sa.select(contents.c.id, sa.func.substr(contents.c.text, 1, chars)).where(
        contents.c.id.in_(sorted(set(content_ids)))
    )
    return {row[0]: row[1] or "" for row in (await conn.execute(query)).all()}


# -- backfill --------------------------------------------------------------------------------


def pending() -> sa.ColumnElement[bool]:
    """Rows not indexed yet (stored before migration 0013)."""
    return messages.c.search_subject.is_(None)


async def backfill(conn: AsyncConnection, batch: int) -> int:
    """Index up to `batch` rows that are not yet, oldest first; returns how many. Each call is
    its own transaction's work, so an interrupted backfill resumes where it stopped (the rows
    done are no longer NULL; `ix_messages_search_pending` finds the rest)."""
    c = messages.c
    query = (
        sa.select(
            c.id,
            c.subject,
            c.from_addr,
            c.from_name,
            c.to_addrs,
            c.cc_addrs,
            c.envelope,
            c.preview,
            sa.func.substr(contents.c.text, 1, BODY_CHARS).label("text"),
        )
        .select_from(messages.join(contents, contents.c.id == c.content_id))
        .where(pending())
        .order_by(c.id)
        .limit(batch)
    )
    rows = (await conn.execute(query)).all()
    for row in rows:
        values = document(
            subject=row.subject,
            from_addr=row.from_addr,
            from_name=row.from_name,
            recipients=[*row.to_addrs, *row.cc_addrs, *(row.envelope or {}).get("rcpt_to", [])],
            body=row.text or row.preview,
        )
        await conn.execute(messages.update().where(c.id == row.id).values(**values))
    return len(rows)

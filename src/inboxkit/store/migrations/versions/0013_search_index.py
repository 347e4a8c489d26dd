"""Search: each message's searchable words, and the full-text index over them (SQLite FTS5
kept by triggers; PostgreSQL a generated `tsvector` with a GIN index). See store/search.py.

Existing rows get NULL words ("not indexed yet"): `store.search.backfill`, run after the
migrations at start-up (and by `inboxkit migrate`), indexes them in batches of rows, oldest
first, each batch its own transaction, so a large table is indexed without one long
transaction and an interrupted run resumes where it stopped. `ix_messages_search_pending`
(a partial index of the rows still NULL) finds them without reading the rest, and is empty once
the backfill is done.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = ("search_subject", "search_from", "search_to", "search_body")
INDEXED = ", ".join((*COLUMNS, "mailbox_id"))
OLD = ", ".join(f"old.{c}" for c in (*COLUMNS, "mailbox_id"))
NEW = ", ".join(f"new.{c}" for c in (*COLUMNS, "mailbox_id"))

# External content: the index reads the words from `messages` itself and stores only the
# inverted index. `remove_diacritics 0`: PostgreSQL's 'simple' configuration keeps accents, and
# both must find the same messages.
SQLITE_UP = [
    f"""CREATE VIRTUAL TABLE message_search USING fts5(
        {INDEXED}, content='messages', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 0')""",
    # A row whose words are NULL is not indexed yet: nothing to add or remove.
    f"""CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
        WHEN new.search_subject IS NOT NULL BEGIN
        INSERT INTO message_search(rowid, {INDEXED}) VALUES (new.rowid, {NEW});
        END""",
    f"""CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
        WHEN old.search_subject IS NOT NULL BEGIN
        INSERT INTO message_search(message_search, rowid, {INDEXED})
        VALUES ('delete', old.rowid, {OLD});
        END""",
    # One trigger, so the old entry is removed before the new one is added.
    f"""CREATE TRIGGER messages_search_update AFTER UPDATE OF {INDEXED} ON messages BEGIN
        INSERT INTO message_search(message_search, rowid, {INDEXED})
        SELECT 'delete', old.rowid, {OLD} WHERE old.search_subject IS NOT NULL;
        INSERT INTO message_search(rowid, {INDEXED})
        SELECT new.rowid, {NEW} WHERE new.search_subject IS NOT NULL;
        END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_search_update",
    "DROP TRIGGER IF EXISTS messages_search_delete",
    "DROP TRIGGER IF EXISTS messages_search_insert",
    "DROP TABLE IF EXISTS message_search",
]

# Weights name the fields (A subject, B sender, C recipients, D body) so a free-text phrase is
# held to one field. The short fields' words are indexed a second time behind a field marker
# (`ſs`, `ſf`, `ſt`: `ſ` never survives case folding, so no query word can start with it), so
# `subject:word` is an index lookup of its own rather than a recheck of every message with the
# word anywhere. Those come before the body, whose positions would otherwise push theirs past
# PostgreSQL's last position (16,383). `m_<mailbox id>` lets the index answer "in this mailbox".
POSTGRES_VECTOR = """
    setweight(to_tsvector('simple'::regconfig, coalesce(search_subject, '')), 'A')
    || setweight(to_tsvector('simple'::regconfig, coalesce(search_from, '')), 'B')
    || setweight(to_tsvector('simple'::regconfig, coalesce(search_to, '')), 'C')
    || to_tsvector('simple'::regconfig,
                   regexp_replace(coalesce(search_subject, ''), '(\\S+)', 'ſs\\1', 'g'))
    || to_tsvector('simple'::regconfig,
                   regexp_replace(coalesce(search_from, ''), '(\\S+)', 'ſf\\1', 'g'))
    || to_tsvector('simple'::regconfig,
                   regexp_replace(coalesce(search_to, ''), '(\\S+)', 'ſt\\1', 'g'))
    || setweight(to_tsvector('simple'::regconfig, coalesce(search_body, '')), 'D')
    || array_to_tsvector(ARRAY['m_' || lower(mailbox_id)])
"""


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("messages", sa.Column(column, sa.Text(), nullable=True))
    op.create_index(
        "ix_messages_search_pending",
        "messages",
        ["id"],
        sqlite_where=sa.text("search_subject IS NULL"),
        postgresql_where=sa.text("search_subject IS NULL"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    else:
        op.execute(
            f"ALTER TABLE messages ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({POSTGRES_VECTOR}) STORED"
        )
        op.execute("CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_search_vector")
        op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")
    op.drop_index("ix_messages_search_pending", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)

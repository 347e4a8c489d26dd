"""Threads ordered by the mail each view shows: `threads.last_visible_id` (the newest visible
message's id, which orders and pages the default thread list) and `threads.last_hidden_id`
(the newest hidden message's, the spam view's), so spam that joins a conversation no longer
moves it in the default list. `ix_threads_mailbox_last_message` (the old order) goes.

Existing rows are filled from their messages by one UPDATE with a correlated MAX per column,
each a walk of `ix_messages_mailbox_thread` (mailbox, thread, id) over that thread's rows:
the same on SQLite and PostgreSQL. Messages a start-up backfill has not threaded yet
(`store.migrate.backfill_threads`, after migrating) get both columns from the threading code
that sets them for new mail.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_threads = sa.table(
    "threads",
    sa.column("id", sa.String(26)),
    sa.column("mailbox_id", sa.String(26)),
    sa.column("last_visible_id", sa.String(26)),
    sa.column("last_hidden_id", sa.String(26)),
)
_messages = sa.table(
    "messages",
    sa.column("id", sa.String(26)),
    sa.column("mailbox_id", sa.String(26)),
    sa.column("thread_id", sa.String(26)),
    sa.column("hidden", sa.Boolean()),
)


def _newest(hidden: bool) -> sa.ScalarSelect[str]:
    m = _messages.c
    return (
        sa.select(sa.func.max(m.id))
        .where(
            m.mailbox_id == _threads.c.mailbox_id,
            m.thread_id == _threads.c.id,
            m.hidden == (sa.true() if hidden else sa.false()),
        )
        .scalar_subquery()
    )


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild) of nullable columns: instant on both backends.
    op.add_column("threads", sa.Column("last_visible_id", sa.String(26), nullable=True))
    op.add_column("threads", sa.Column("last_hidden_id", sa.String(26), nullable=True))
    op.execute(
        _threads.update().values(last_visible_id=_newest(False), last_hidden_id=_newest(True))
    )
    op.create_index("ix_threads_mailbox_visible", "threads", ["mailbox_id", "last_visible_id"])
    op.create_index(
        "ix_threads_mailbox_hidden",
        "threads",
        ["mailbox_id", "last_hidden_id"],
        sqlite_where=sa.text("last_hidden_id IS NOT NULL"),
        postgresql_where=sa.text("last_hidden_id IS NOT NULL"),
    )
    op.drop_index("ix_threads_mailbox_last_message", table_name="threads")


def downgrade() -> None:
    op.create_index("ix_threads_mailbox_last_message", "threads", ["mailbox_id", "last_message_id"])
    op.drop_index("ix_threads_mailbox_hidden", table_name="threads")
    op.drop_index("ix_threads_mailbox_visible", table_name="threads")
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("last_hidden_id")
        batch.drop_column("last_visible_id")

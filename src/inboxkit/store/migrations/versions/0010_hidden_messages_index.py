"""Spam: a partial index over the messages hidden from their mailbox's default views, so the
spam folder and the unread count that leaves hidden mail out stay index scans however large
the mailbox.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Each backend's spelling of "hidden is true", as the queries write it (SQLite has no boolean
# type: the planner matches the index to a query whose WHERE has the same `hidden = 1` term).
HIDDEN_ONLY_SQLITE = sa.text("hidden = 1")
HIDDEN_ONLY_POSTGRESQL = sa.text("hidden")


def upgrade() -> None:
    op.create_index(
        "ix_messages_mailbox_hidden",
        "messages",
        # `hidden` leads with the mailbox so SQLite, without statistics, prefers this index
        # for `mailbox_id = ? AND hidden = 1` over `(mailbox_id, id)` (store/tables.py).
        ["mailbox_id", "hidden", "id"],
        sqlite_where=HIDDEN_ONLY_SQLITE,
        postgresql_where=HIDDEN_ONLY_POSTGRESQL,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_mailbox_hidden", table_name="messages")

"""Conversation threads: the `threads` table, each message's `thread_id` and `message_key`.

Existing rows get NULL in both; `store.migrate.backfill_threads` assigns them at start-up,
oldest first, a batch per transaction, with the same code that threads new mail
(`store/threads.py`), so the upgrade itself is quick on any size and an interrupted backfill
resumes where it stopped (`ix_messages_thread_pending` finds the rest).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "threads",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("mailbox_id", sa.String(26), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("subject_key", sa.String(32), nullable=True),
        sa.Column("participants_key", sa.String(32), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("last_message_id", sa.String(26), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name="fk_threads_mailbox_id_mailboxes",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_threads"),
    )
    op.create_index("ix_threads_mailbox_last_message", "threads", ["mailbox_id", "last_message_id"])
    op.create_index(
        "ix_threads_mailbox_subject", "threads", ["mailbox_id", "subject_key", "last_message_at"]
    )
    # Plain ADD COLUMN (no table rebuild): SQLite's full-text triggers on `messages` stay.
    op.add_column("messages", sa.Column("thread_id", sa.String(26), nullable=True))
    op.add_column("messages", sa.Column("message_key", sa.String(32), nullable=True))
    op.create_index("ix_messages_mailbox_message_key", "messages", ["mailbox_id", "message_key"])
    op.create_index("ix_messages_mailbox_thread", "messages", ["mailbox_id", "thread_id", "id"])
    op.create_index(
        "ix_messages_thread_pending",
        "messages",
        ["id"],
        sqlite_where=sa.text("thread_id IS NULL"),
        postgresql_where=sa.text("thread_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_thread_pending", table_name="messages")
    op.drop_index("ix_messages_mailbox_thread", table_name="messages")
    op.drop_index("ix_messages_mailbox_message_key", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("message_key")
        batch.drop_column("thread_id")
    op.drop_index("ix_threads_mailbox_subject", table_name="threads")
    op.drop_index("ix_threads_mailbox_last_message", table_name="threads")
    op.drop_table("threads")

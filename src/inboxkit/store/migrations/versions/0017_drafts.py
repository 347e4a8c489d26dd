"""Drafts, scheduled sending and reviewed sending (DESIGN §13): the `drafts` table, worked as a
lease queue like the outbox, and each mailbox's `outbound_review` switch.

Existing mailboxes get `outbound_review` false: nothing they send changes until an account
turns review on.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)
Id = sa.String(26)


def upgrade() -> None:
    op.add_column(
        "mailboxes",
        sa.Column("outbound_review", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "drafts",
        sa.Column("id", Id, nullable=False),
        sa.Column("mailbox_id", Id, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("to_addrs", sa.JSON(), nullable=False),
        sa.Column("cc_addrs", sa.JSON(), nullable=False),
        sa.Column("bcc_addrs", sa.JSON(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("in_reply_to", Id, nullable=True),
        sa.Column("reply_all", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("forward_of", Id, nullable=True),
        sa.Column("send_at", When, nullable=True),
        sa.Column("approved_at", When, nullable=True),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("sent_message_id", Id, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", When, nullable=False),
        sa.Column("locked_until", When, nullable=True),
        sa.Column("lock_token", sa.String(26), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name="fk_drafts_mailbox_id_mailboxes",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_drafts"),
    )
    op.create_index("ix_drafts_mailbox_id", "drafts", ["mailbox_id", "id"])
    op.create_index("ix_drafts_status_next", "drafts", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_drafts_status_next", table_name="drafts")
    op.drop_index("ix_drafts_mailbox_id", table_name="drafts")
    op.drop_table("drafts")
    with op.batch_alter_table("mailboxes") as batch:
        batch.drop_column("outbound_review")

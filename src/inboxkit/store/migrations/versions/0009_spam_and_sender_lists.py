"""Spam: each message keeps its spam verdict and whether it is hidden from its mailbox's
default views; accounts keep allow and block lists of senders.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.String(length=26)
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        # Existing rows were never scored: null reads as `engine: "none"`, verdict clean.
        batch.add_column(sa.Column("spam", sa.JSON, nullable=True))
        batch.add_column(sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "sender_lists",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("mailbox_id", Id, nullable=True),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("entry", sa.String(length=320), nullable=False),
        sa.Column("subdomains", sa.Boolean(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sender_lists_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_sender_lists_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_lists")),
    )
    op.create_index("ix_sender_lists_account_entry", "sender_lists", ["account_id", "entry"])


def downgrade() -> None:
    op.drop_index("ix_sender_lists_account_entry", table_name="sender_lists")
    op.drop_table("sender_lists")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("hidden")
        batch.drop_column("spam")

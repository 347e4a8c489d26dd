"""Fault injection: SMTP replies an account asks for at a stage of its own mail.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.String(length=26)
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "faults",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("mailbox_id", Id, nullable=True),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=True),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("fired", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_faults_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_faults_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faults")),
    )
    op.create_index("ix_faults_account_id", "faults", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_faults_account_id", table_name="faults")
    op.drop_table("faults")

"""Labels: a message's user labels, one row each in `message_labels` (what `?label=` and
`label:` read, through the `(mailbox_id, label, message_id)` index), and the same labels as a
sorted list on the message row (`messages.labels`, what every summary shows without a join).

Existing messages have no labels: the table starts empty and the column defaults to `[]`.
Rows go with their message (ON DELETE CASCADE), so every deletion path leaves none behind.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column("labels", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.create_table(
        "message_labels",
        sa.Column(
            "message_id",
            sa.String(26),
            sa.ForeignKey(
                "messages.id",
                ondelete="CASCADE",
                name="fk_message_labels_message_id_messages",
            ),
            nullable=False,
        ),
        sa.Column("mailbox_id", sa.String(26), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "label", name="pk_message_labels"),
    )
    op.create_index(
        "ix_message_labels_mailbox_id_label_message_id",
        "message_labels",
        ["mailbox_id", "label", "message_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_message_labels_mailbox_id_label_message_id", table_name="message_labels")
    op.drop_table("message_labels")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("labels")

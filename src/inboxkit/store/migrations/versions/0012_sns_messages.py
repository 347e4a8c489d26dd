"""Mail over HTTP: the SNS message ids `POST /inbound/ses` has handled, so a redelivered
notification is stored once.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sns_messages",
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("topic_arn", sa.String(256), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_sns_messages"),
    )
    op.create_index("ix_sns_messages_received_at", "sns_messages", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_sns_messages_received_at", table_name="sns_messages")
    op.drop_table("sns_messages")

"""Compressed storage: how each content row's raw bytes and attachment bytes are encoded, and
the stored size each message row counts towards its owner's storage.

Every existing row keeps its bytes as they are: `raw_encoding` 0 (as received), no attachment
layout (the attachments as decoded), and `stored_size` NULL, which the counters read as `size`
(what those rows were counted with). Nothing is rewritten, so the upgrade is quick on any size.

Revision ID: 0014
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "contents",
        sa.Column("raw_encoding", sa.SmallInteger(), nullable=False, server_default="0"),
    )
    op.add_column("contents", sa.Column("attachment_layout", sa.JSON(), nullable=True))
    op.add_column("messages", sa.Column("stored_size", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Compressed rows cannot be read by the code of the revision before; a downgrade is only
    # safe on a database that never stored any.
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("stored_size")
    with op.batch_alter_table("contents") as batch:
        batch.drop_column("attachment_layout")
        batch.drop_column("raw_encoding")

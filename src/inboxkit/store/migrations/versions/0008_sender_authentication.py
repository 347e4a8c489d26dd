"""Sender authentication: each message keeps its SPF/DKIM/DMARC results and whether they
verify its From domain.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("authentication", sa.JSON, nullable=True))
        # Existing rows were never evaluated: not verified.
        batch.add_column(
            sa.Column("from_verified", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("from_verified")
        batch.drop_column("authentication")

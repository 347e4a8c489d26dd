"""Content prepared at parse time (sanitised HTML, decoded attachments) and rate-limit events.

Existing `contents` rows keep NULL in the new columns and are served as before, by re-parsing
their raw bytes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.String(length=26)
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("contents") as batch:
        batch.add_column(sa.Column("html_sanitized", sa.Text(), nullable=True))
        batch.add_column(sa.Column("attachment_data", sa.LargeBinary(), nullable=True))

    op.create_table(
        "rate_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("bucket", sa.String(length=100), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_events")),
    )
    op.create_index("ix_rate_events_bucket_created", "rate_events", ["bucket", "created_at"])


def downgrade() -> None:
    op.drop_table("rate_events")
    with op.batch_alter_table("contents") as batch:
        batch.drop_column("attachment_data")
        batch.drop_column("html_sanitized")

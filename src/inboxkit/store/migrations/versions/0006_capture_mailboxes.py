"""Capture: at most one live capture mailbox per account; API keys keep the digest that
verifies SigV4-signed requests (the emulated SES API).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# A partial unique index: two processes creating an account's capture mailbox at once cannot
# both succeed, and a deleted capture mailbox (kept so its address is never reissued) does not
# stop a new one from being made.
LIVE_CAPTURE = sa.text("mode = 'capture' AND deleted_at IS NULL")


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("sigv4_digest", sa.String(length=64), nullable=True))
    op.create_index(
        "ux_mailboxes_live_capture",
        "mailboxes",
        ["account_id"],
        unique=True,
        sqlite_where=LIVE_CAPTURE,
        postgresql_where=LIVE_CAPTURE,
    )


def downgrade() -> None:
    op.drop_index("ux_mailboxes_live_capture", table_name="mailboxes")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("sigv4_digest")

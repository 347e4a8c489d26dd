"""Plans, accounts on plans, usage counters, mode-limited keys and mailbox audit columns.

Seeds the two plans every deployment has (`anonymous`, `default`), puts every existing account
except the bootstrap admin's on `default`, and fills the counters from what is stored, so usage
is exact from the first request after the upgrade.

Revision ID: 0004
Revises: 0003
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)
ADMIN_ACCOUNT_ID = "0" * 26


def _plans_table() -> sa.Table:
    return op.create_table(
        "plans",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("max_mailboxes", sa.Integer(), nullable=True),
        sa.Column("max_messages_per_mailbox", sa.Integer(), nullable=True),
        sa.Column("max_ttl_minutes", sa.Integer(), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("received_per_month", sa.Integer(), nullable=True),
        sa.Column("sent_per_month", sa.Integer(), nullable=True),
        sa.Column("max_message_bytes", sa.Integer(), nullable=True),
        sa.Column("max_webhooks", sa.Integer(), nullable=True),
        sa.Column("max_domains", sa.Integer(), nullable=True),
        sa.Column("send", sa.String(length=8), nullable=True),
        sa.Column("agent_mode", sa.Boolean(), nullable=True),
        sa.Column("api_access", sa.Boolean(), nullable=True),
        sa.Column("mcp_access", sa.Boolean(), nullable=True),
        sa.Column("create_per_minute", sa.Integer(), nullable=True),
        sa.Column("read_per_minute", sa.Integer(), nullable=True),
        sa.Column("write_per_minute", sa.Integer(), nullable=True),
        sa.Column("send_per_minute", sa.Integer(), nullable=True),
        sa.Column("concurrent_waits", sa.Integer(), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_plans")),
    )


def upgrade() -> None:
    plans = _plans_table()
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored as naive UTC, as UTCDateTime does
    seeds = [
        {
            "name": "anonymous",
            "max_mailboxes": 10,
            "max_ttl_minutes": 60,
            "send": "none",
            "agent_mode": False,
            "api_access": True,
            "mcp_access": True,
            "create_per_minute": 3,
            "read_per_minute": 60,
            "created_at": now,
            "updated_at": now,
        },
        {
            "name": "default",
            "send": "any",
            "agent_mode": True,
            "api_access": True,
            "mcp_access": True,
            "created_at": now,
            "updated_at": now,
        },
    ]
    columns = [c.name for c in plans.columns]
    op.bulk_insert(plans, [{name: seed.get(name) for name in columns} for seed in seeds])
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("plan", sa.String(length=64), nullable=True))
        batch.create_foreign_key(op.f("fk_accounts_plan_plans"), "plans", ["plan"], ["name"])
    op.execute(
        sa.text("UPDATE accounts SET plan = 'default' WHERE id <> :admin").bindparams(
            admin=ADMIN_ACCOUNT_ID
        )
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("modes", sa.JSON(), nullable=True))
    with op.batch_alter_table("mailboxes") as batch:
        batch.add_column(sa.Column("created_via", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("created_ip", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("message_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("stored_bytes", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE mailboxes SET "
        "message_count = (SELECT count(*) FROM messages WHERE messages.mailbox_id = mailboxes.id), "
        "stored_bytes = (SELECT coalesce(sum(size), 0) FROM messages "
        "WHERE messages.mailbox_id = mailboxes.id)"
    )
    op.create_table(
        "usage_counters",
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("mailboxes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("received", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("storage_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("subject", "period", name=op.f("pk_usage_counters")),
    )
    # Standing figures of every account from what is stored (live mailboxes, bytes held).
    op.execute(
        "INSERT INTO usage_counters (subject, period, mailboxes, received, sent, storage_bytes) "
        "SELECT 'account:' || account_id, 'all', "
        "sum(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END), 0, 0, sum(stored_bytes) "
        "FROM mailboxes WHERE account_id IS NOT NULL GROUP BY account_id"
    )


def downgrade() -> None:
    op.drop_table("usage_counters")
    with op.batch_alter_table("mailboxes") as batch:
        batch.drop_column("stored_bytes")
        batch.drop_column("message_count")
        batch.drop_column("created_ip")
        batch.drop_column("created_via")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("modes")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(op.f("fk_accounts_plan_plans"), type_="foreignkey")
        batch.drop_column("plan")
    op.drop_table("plans")

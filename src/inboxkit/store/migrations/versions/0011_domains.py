"""Custom domains: an account's own domains, their verification and their DKIM keys.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.String(length=26)
When = sa.DateTime(timezone=True)
VERIFIED_ONLY = sa.text("status = 'verified'")


def upgrade() -> None:
    op.create_table(
        "domains",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("wildcard", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("verified_at", When, nullable=True),
        sa.Column("last_checked_at", When, nullable=True),
        sa.Column("unverified_since", When, nullable=True),
        sa.Column("dkim_selector", sa.String(length=63), nullable=False),
        sa.Column("dkim_private_key", sa.Text(), nullable=False),
        sa.Column("dkim_public", sa.Text(), nullable=False),
        sa.Column("dkim_retired", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_domains_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domains")),
        sa.UniqueConstraint("account_id", "domain", name=op.f("uq_domains_account_id_domain")),
    )
    op.create_index("ix_domains_account_id", "domains", ["account_id", "id"])
    op.create_index("ix_domains_domain", "domains", ["domain"])
    # Whoever verifies a domain first holds it: a second verified row for it cannot exist.
    op.create_index(
        "ux_domains_verified",
        "domains",
        ["domain"],
        unique=True,
        sqlite_where=VERIFIED_ONLY,
        postgresql_where=VERIFIED_ONLY,
    )


def downgrade() -> None:
    op.drop_index("ux_domains_verified", table_name="domains")
    op.drop_index("ix_domains_domain", table_name="domains")
    op.drop_index("ix_domains_account_id", table_name="domains")
    op.drop_table("domains")

"""The operator's side: disabled accounts and quotas, metered Ready time, admin tokens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ACCOUNT_COLUMNS = (
    ("disabled_at", sa.Float),
    ("max_standard_sessions", sa.Integer),
    ("max_premium_sessions", sa.Integer),
    ("max_lease_minutes", sa.Integer),
    ("max_conversions", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        for name, kind in _ACCOUNT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "usage",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(256), primary_key=True),
        sa.Column("ready_at", sa.Float, primary_key=True),
        sa.Column("size", sa.String(16), nullable=False),
        sa.Column("ended_at", sa.Float, nullable=True),
    )
    op.create_index("ix_usage_ready_at", "usage", ["ready_at"])
    op.create_index("ix_usage_ended_at", "usage", ["ended_at"])
    # Sessions already Ready, or ended after being Ready, before metering began.
    op.execute(
        "INSERT INTO usage (account_id, session_id, ready_at, size, ended_at) "
        "SELECT account_id, id, ready_at, size, ended_at FROM sessions "
        "WHERE ready_at IS NOT NULL"
    )
    op.create_table(
        "admin_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("admin_tokens")
    op.drop_index("ix_usage_ended_at", "usage")
    op.drop_index("ix_usage_ready_at", "usage")
    op.drop_table("usage")
    with op.batch_alter_table("accounts") as batch:
        for name, _kind in reversed(_ACCOUNT_COLUMNS):
            batch.drop_column(name)

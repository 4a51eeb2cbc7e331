"""Accounts and sessions.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("primary_key_hash", sa.String(64), nullable=False),
        sa.Column("secondary_key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column(
            "account_id",
            sa.String(36),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("size", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lease_seconds", sa.Integer, nullable=False),
        sa.Column("models", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("start_deadline", sa.Float, nullable=False),
        sa.Column("ready_at", sa.Float, nullable=True),
        sa.Column("lease_deadline", sa.Float, nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("backend_state", sa.JSON, nullable=True),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("handshake_port", sa.Integer, nullable=True),
        sa.Column("inspector_port", sa.Integer, nullable=True),
        sa.Column("teraflops", sa.Float, nullable=True),
        sa.Column("polygons", sa.Integer, nullable=True),
    )
    op.create_index("ix_sessions_status_lease", "sessions", ["status", "lease_deadline"])
    op.create_index("ix_sessions_status_start", "sessions", ["status", "start_deadline"])
    op.create_index("ix_sessions_ended", "sessions", ["ended_at"])
    op.create_index("ix_sessions_account_listing", "sessions", ["account_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("sessions")
    op.drop_table("accounts")

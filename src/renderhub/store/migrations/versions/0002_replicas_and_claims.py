"""Several replicas: a registry of control-plane replicas, each session's work claimed by one
replica, whether an ended session's host has been stopped, the token-signing key shared
through the store, and the warm pools' hosts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ENDED = ("Stopped", "Expired", "Error")


def upgrade() -> None:
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("process_started_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
    )
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "pool_hosts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("size", sa.String(16), nullable=False),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("backend_state", sa.JSON, nullable=True),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("handshake_port", sa.Integer, nullable=True),
        sa.Column("inspector_port", sa.Integer, nullable=True),
        sa.Column("teraflops", sa.Float, nullable=True),
        sa.Column("claimed_by", sa.String(36), nullable=True),
        sa.Column("claimed_until", sa.Float, nullable=True),
    )
    op.create_index("ix_pool_hosts_size_status", "pool_hosts", ["size", "status"])
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(36), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.Float, nullable=True))
        batch.add_column(sa.Column("host_stopped_at", sa.Float, nullable=True))
    op.create_index("ix_sessions_claimed_by", "sessions", ["claimed_by"])
    # Sessions that ended before this revision had their hosts stopped as they ended.
    sessions = sa.table(
        "sessions",
        sa.column("status", sa.String),
        sa.column("ended_at", sa.Float),
        sa.column("host_stopped_at", sa.Float),
    )
    op.execute(
        sessions.update()
        .where(sessions.c.status.in_(_ENDED))
        .values(host_stopped_at=sa.func.coalesce(sessions.c.ended_at, 0.0))
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_claimed_by", "sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("host_stopped_at")
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
    op.drop_table("pool_hosts")
    op.drop_table("signing_keys")
    op.drop_table("replicas")

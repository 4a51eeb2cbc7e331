"""Model conversions: what to convert (with the SAS tokens, needed to run it), how it ended,
and the replica running it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversions",
        sa.Column(
            "account_id",
            sa.String(36),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("input_container_uri", sa.String(2048), nullable=False),
        sa.Column("input_sas", sa.Text, nullable=True),
        sa.Column("input_blob_prefix", sa.String(1024), nullable=False),
        sa.Column("input_relative_path", sa.String(1024), nullable=False),
        sa.Column("output_container_uri", sa.String(2048), nullable=False),
        sa.Column("output_sas", sa.Text, nullable=True),
        sa.Column("output_blob_prefix", sa.String(1024), nullable=False),
        sa.Column("output_asset_filename", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("output_asset_uri", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(36), nullable=True),
        sa.Column("claimed_until", sa.Float, nullable=True),
    )
    op.create_index("ix_conversions_status_created", "conversions", ["status", "created_at"])
    op.create_index("ix_conversions_ended", "conversions", ["ended_at"])
    op.create_index("ix_conversions_claimed_by", "conversions", ["claimed_by"])
    op.create_index(
        "ix_conversions_account_listing", "conversions", ["account_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversions_account_listing", "conversions")
    op.drop_index("ix_conversions_claimed_by", "conversions")
    op.drop_index("ix_conversions_ended", "conversions")
    op.drop_index("ix_conversions_status_created", "conversions")
    op.drop_table("conversions")

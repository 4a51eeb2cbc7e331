"""The store's tables. Times are epoch seconds (float) so that lease arithmetic is plain SQL
addition on both SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("primary_key_hash", String(64), nullable=False),
    Column("secondary_key_hash", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    # Set while the account is disabled: its keys and tokens are refused.
    Column("disabled_at", Float, nullable=True),
    # Quotas; NULL is no limit (the service's capacity still applies).
    Column("max_standard_sessions", Integer, nullable=True),
    Column("max_premium_sessions", Integer, nullable=True),
    Column("max_lease_minutes", Integer, nullable=True),
    Column("max_conversions", Integer, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column(
        "account_id",
        String(36),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("id", String(256), primary_key=True),
    Column("size", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("lease_seconds", Integer, nullable=False),
    Column("models", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("start_deadline", Float, nullable=False),
    Column("ready_at", Float, nullable=True),
    Column("lease_deadline", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("message", Text, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("backend", String(64), nullable=False),
    Column("backend_state", JSON, nullable=True),
    Column("hostname", String(255), nullable=True),
    Column("handshake_port", Integer, nullable=True),
    Column("inspector_port", Integer, nullable=True),
    Column("teraflops", Float, nullable=True),
    Column("polygons", Integer, nullable=True),
    # The replica doing this session's work (bring-up, liveness, teardown), until when.
    Column("claimed_by", String(36), nullable=True),
    Column("claimed_until", Float, nullable=True),
    # Set once an ended session's host is known to be stopped.
    Column("host_stopped_at", Float, nullable=True),
)

# Control-plane replicas sharing the store, so that the work of a dead one is taken over.
replicas = Table(
    "replicas",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("process_started_at", Float, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)

# Warm-pool hosts: started before any session asks for one ("starting" until warm, then
# "idle"); a create takes one (the row moves onto the session), and the pool refills.
pool_hosts = Table(
    "pool_hosts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("size", String(16), nullable=False),
    Column("backend", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("backend_state", JSON, nullable=True),
    Column("hostname", String(255), nullable=True),
    Column("handshake_port", Integer, nullable=True),
    Column("inspector_port", Integer, nullable=True),
    Column("teraflops", Float, nullable=True),
    Column("claimed_by", String(36), nullable=True),
    Column("claimed_until", Float, nullable=True),
)
Index("ix_pool_hosts_size_status", pool_hosts.c.size, pool_hosts.c.status)

# Ready time, what usage is metered on: one row per session that became Ready, written in the
# same transaction as the session's move to Ready (ended_at NULL) and closed in the same
# transaction as its move out of Ready (ended_at: the session's own ended_at). No foreign key:
# usage outlives purged sessions and deleted accounts.
usage = Table(
    "usage",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("session_id", String(256), primary_key=True),
    Column("ready_at", Float, primary_key=True),
    Column("size", String(16), nullable=False),
    Column("ended_at", Float, nullable=True),
)
Index("ix_usage_ready_at", usage.c.ready_at)
Index("ix_usage_ended_at", usage.c.ended_at)

# Admin API credentials: only their SHA-256 hashes; a revoked one keeps its row.
admin_tokens = Table(
    "admin_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(200), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
)

# The one token-signing key (id 1), shared by every replica.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("private_pem", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

# Model conversions: what to convert (the SAS values are kept, to run it, and never shown),
# how it ended, and the replica running it (claimed_by/claimed_until, as sessions have).
conversions = Table(
    "conversions",
    metadata,
    Column(
        "account_id",
        String(36),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("id", String(256), primary_key=True),
    Column("input_container_uri", String(2048), nullable=False),
    Column("input_sas", Text, nullable=True),
    Column("input_blob_prefix", String(1024), nullable=False),
    Column("input_relative_path", String(1024), nullable=False),
    Column("output_container_uri", String(2048), nullable=False),
    Column("output_sas", Text, nullable=True),
    Column("output_blob_prefix", String(1024), nullable=False),
    Column("output_asset_filename", String(1024), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("output_asset_uri", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    # How many times a replica started it (a restart mid-run starts it again).
    Column("attempts", Integer, nullable=False),
    Column("claimed_by", String(36), nullable=True),
    Column("claimed_until", Float, nullable=True),
)
Index("ix_conversions_status_created", conversions.c.status, conversions.c.created_at)
Index("ix_conversions_ended", conversions.c.ended_at)
Index("ix_conversions_claimed_by", conversions.c.claimed_by)
Index(
    "ix_conversions_account_listing",
    conversions.c.account_id,
    conversions.c.created_at,
    conversions.c.id,
)

Index("ix_sessions_status_lease", sessions.c.status, sessions.c.lease_deadline)
Index("ix_sessions_status_start", sessions.c.status, sessions.c.start_deadline)
Index("ix_sessions_ended", sessions.c.ended_at)
Index("ix_sessions_claimed_by", sessions.c.claimed_by)
Index("ix_sessions_account_listing", sessions.c.account_id, sessions.c.created_at, sessions.c.id)

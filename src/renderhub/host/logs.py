"""Plain log lines on stderr, each with a timestamp and the session id (a pooled host's lines
name its pool id until it is assigned a session, then both)."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)s {label} %(name)s: %(message)s"


def configure_logging(
    session_id: str | None, level: int = logging.INFO, pool_id: str | None = None
) -> None:
    """Send every logger's records (ours, uvicorn's, httpx's) to stderr as one line each."""
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    label_lines(session_id, pool_id)
    for noisy in ("httpx", "httpcore", "trimesh"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def label_lines(session_id: str | None, pool_id: str | None = None) -> None:
    """Name the session (and pool) in every line from now on."""
    parts = [f"session={session_id or '-'}"]
    if pool_id is not None:
        parts.append(f"pool={pool_id}")
    label = " ".join(parts).replace("%", "%%")
    formatter = logging.Formatter(_FORMAT.format(label=label))
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)

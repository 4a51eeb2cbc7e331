"""Log lines on stderr, each naming the session (a pooled host's lines name its pool id until
it is assigned a session, then both): plain text with a timestamp, or with `--log-format json`
one JSON object per line, as the control plane writes them (renderhub.logs.JsonFormatter: time,
level, logger, message, cv, account, session, plus pool)."""

from __future__ import annotations

import logging
import sys

from renderhub.logs import QUIET_LOGGERS, JsonFormatter, LogFormat

_FORMAT = "%(asctime)s %(levelname)s {label} %(name)s: %(message)s"
_chosen_format: LogFormat = "text"


def configure_logging(
    session_id: str | None,
    level: int = logging.INFO,
    pool_id: str | None = None,
    log_format: LogFormat = "text",
    account_id: str | None = None,
) -> None:
    """Send every logger's records (ours, uvicorn's, httpx's) to stderr as one line each."""
    global _chosen_format
    _chosen_format = log_format
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    label_lines(session_id, pool_id, account_id)
    for noisy in (*QUIET_LOGGERS, "trimesh"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def label_lines(
    session_id: str | None, pool_id: str | None = None, account_id: str | None = None
) -> None:
    """Name the session (and pool, and account in JSON lines) in every line from now on."""
    formatter: logging.Formatter
    if _chosen_format == "json":
        fixed = {"account": account_id, "session": session_id}
        if pool_id is not None:
            fixed["pool"] = pool_id
        formatter = JsonFormatter(fixed)
    else:
        parts = [f"session={session_id or '-'}"]
        if pool_id is not None:
            parts.append(f"pool={pool_id}")
        label = " ".join(parts).replace("%", "%%")
        formatter = logging.Formatter(_FORMAT.format(label=label))
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)

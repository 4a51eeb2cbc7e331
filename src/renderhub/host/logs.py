"""Plain log lines on stderr, each with a timestamp and the session id."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)s session={session} %(name)s: %(message)s"


def configure_logging(session_id: str, level: int = logging.INFO) -> None:
    """Send every logger's records (ours, uvicorn's, httpx's) to stderr as one line each."""
    handler = logging.StreamHandler(sys.stderr)
    session = session_id.replace("%", "%%")
    handler.setFormatter(logging.Formatter(_FORMAT.format(session=session)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "trimesh"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

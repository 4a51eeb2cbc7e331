"""Logging set-up: every line about a request carries its correlation vector (MS-CV), and
the account and session it concerns where there is one.

Two formats: `text` (one readable line) and `json` (one JSON object per line, for a log
shipper: time, level, logger, message, cv, account, session, and the exception's text when
there is one). The request middleware sets the three labels from the request; the session
service sets account and session around its background work (`labelled`)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]

NO_VECTOR = "-"
correlation_vector: ContextVar[str] = ContextVar("correlation_vector", default=NO_VECTOR)
account_label: ContextVar[str | None] = ContextVar("log_account", default=None)
session_label: ContextVar[str | None] = ContextVar("log_session", default=None)

# Loggers that write a line per call at INFO: httpx logs every request the control plane makes
# to its hosts (a line per health check, every few seconds per host). Their failures still
# reach the log as warnings and errors.
QUIET_LOGGERS = ("httpx", "httpcore", "alembic")


@contextlib.contextmanager
def labelled(account_id: str | None, session_id: str | None) -> Iterator[None]:
    """Name this account and session in every line logged inside the block (and in the tasks
    it starts)."""
    account = account_label.set(account_id)
    session = session_label.set(session_id)
    try:
        yield
    finally:
        session_label.reset(session)
        account_label.reset(account)


class _LabelFilter(logging.Filter):
    """Puts the context's labels on each record (`extra=` values given to a call win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.cv = correlation_vector.get()
        account = getattr(record, "account", None) or account_label.get()
        session = getattr(record, "session", None) or session_label.get()
        record.account, record.session = account, session
        named = (("account", account), ("session", session))
        record.labels = "".join(f" {name}={value}" for name, value in named if value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line. `fixed` values (a host's session, say) stand
    in for the context's labels where those are not set."""

    def __init__(self, fixed: dict[str, str | None] | None = None) -> None:
        super().__init__()
        self.fixed = dict(fixed or {})

    def format(self, record: logging.LogRecord) -> str:
        cv = getattr(record, "cv", NO_VECTOR)
        line: dict[str, object] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "cv": None if cv == NO_VECTOR else cv,
            "account": getattr(record, "account", None) or self.fixed.get("account"),
            "session": getattr(record, "session", None) or self.fixed.get("session"),
        }
        line.update({key: value for key, value in self.fixed.items() if key not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def _iso_time(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def text_formatter() -> logging.Formatter:
    return logging.Formatter(
        "%(asctime)s %(levelname)-7s %(name)s [cv=%(cv)s%(labels)s] %(message)s"
    )


def configure_logging(level: str = "info", log_format: LogFormat = "text") -> None:
    """Send every logger's records to stderr, one line each, in the chosen format."""
    handler = logging.StreamHandler()
    handler.addFilter(_LabelFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else text_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

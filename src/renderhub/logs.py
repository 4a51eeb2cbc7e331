"""Logging set-up: every line about a request carries its correlation vector (MS-CV)."""

from __future__ import annotations

import logging
from contextvars import ContextVar

correlation_vector: ContextVar[str] = ContextVar("correlation_vector", default="-")


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.cv = correlation_vector.get()
        return True


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_CorrelationFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [cv=%(cv)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)

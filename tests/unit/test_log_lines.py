"""JSON log lines (renderhub.logs) and the account and session a request's path names."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from renderhub.api.middleware import labels_of
from renderhub.logs import configure_logging, correlation_vector, labelled


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger in JSON format, writing into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("info", "json")
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_line_carries_the_context_labels_and_nulls_where_none(json_lines: io.StringIO) -> None:
    log = logging.getLogger("renderhub.test")
    log.info("outside any request")
    token = correlation_vector.set("AbCdEfGhIjKlMnOpQrStUv.1")
    try:
        with labelled("acct", "sess"):
            log.warning("inside: %d", 42)
    finally:
        correlation_vector.reset(token)
    outside, inside = lines(json_lines)
    assert outside["cv"] is None and outside["account"] is None and outside["session"] is None
    assert outside["level"] == "INFO" and outside["logger"] == "renderhub.test"
    assert inside["message"] == "inside: 42" and inside["level"] == "WARNING"
    assert inside["cv"] == "AbCdEfGhIjKlMnOpQrStUv.1"
    assert (inside["account"], inside["session"]) == ("acct", "sess")
    assert str(inside["time"]).endswith("Z") and "T" in str(inside["time"])
    assert "exception" not in inside


def test_an_exception_is_in_its_line_as_text(json_lines: io.StringIO) -> None:
    try:
        raise ValueError("a multi\nline problem")
    except ValueError:
        logging.getLogger("renderhub.test").exception("it failed")
    (line,) = lines(json_lines)  # one line, however many lines the traceback has
    assert line["message"] == "it failed" and line["level"] == "ERROR"
    assert "Traceback" in str(line["exception"])
    assert "ValueError: a multi\nline problem" in str(line["exception"])


def test_httpx_request_lines_are_quiet_but_its_warnings_are_not(json_lines: io.StringIO) -> None:
    logging.getLogger("httpx").info('HTTP Request: GET http://127.0.0.1:1/health "200 OK"')
    logging.getLogger("httpx").warning("something went wrong")
    assert [line["message"] for line in lines(json_lines)] == ["something went wrong"]


def test_text_lines_name_the_account_and_session_where_there_are_some() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("info", "text")
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        log = logging.getLogger("renderhub.test")
        log.info("plain")
        with labelled("acct", "sess"):
            log.info("labelled")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    plain, named = buffer.getvalue().splitlines()
    assert plain.endswith("renderhub.test [cv=-] plain")
    assert named.endswith("renderhub.test [cv=- account=acct session=sess] labelled")


@pytest.mark.parametrize(
    ("path", "account", "session"),
    [
        ("/accounts/A1/sessions/S1", "A1", "S1"),
        ("/accounts/A1/sessions/S1/:stop", "A1", "S1"),
        ("/accounts/A1/sessions", "A1", None),
        ("/Accounts/A1/token", "A1", None),
        ("/accounts/A1/conversions/C1", "A1", None),
        ("/v1/accounts/A1/sessions/S1/properties", "A1", "S1"),
        ("/v1/accounts/A1/sessions/create", "A1", None),
        ("/accounts/A1/sessions/create", "A1", "create"),  # a 2021 session may be called that
        ("/admin/accounts/A1", "A1", None),
        ("/admin/accounts/A1:disable", "A1", None),
        ("/admin/accounts/A1/quotas", "A1", None),
        ("/admin/sessions/A1/S1", "A1", "S1"),
        ("/admin/sessions/A1/S1:stop", "A1", "S1"),
        ("/admin/sessions/A1/S1/metrics", "A1", "S1"),
        ("/admin/sessions", None, None),
        ("/admin/usage", None, None),
        ("/healthz", None, None),
    ],
)
def test_the_path_names_the_account_and_session(
    path: str, account: str | None, session: str | None
) -> None:
    assert labels_of(path) == (account, session)

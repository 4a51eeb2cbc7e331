"""`renderhub ...` run in this process (click's CliRunner): the commands' imports are paid
once, not per call. The environment is the test's alone: no client config of the user's, no
RENDERHUB_* variable unless the test gives it."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from renderhub.cli.main import cli

_CLEAN: dict[str, str | None] = {
    "RENDERHUB_CONFIG": "/nonexistent/renderhub-client.json",
    "RENDERHUB_ENDPOINT": None,
    "RENDERHUB_ADMIN_TOKEN": None,
    "RENDERHUB_DATA_DIR": None,
    "RENDERHUB_DATABASE_URL": None,
    "RENDERHUB_CA_BUNDLE": None,
    "REQUESTS_CA_BUNDLE": None,
}


def run(*args: str, env: dict[str, str | None] | None = None, stdin: str | None = None) -> Result:
    """Run one command; a crash (anything but a clean exit) fails the test at once."""
    result = CliRunner().invoke(cli, list(args), env={**_CLEAN, **(env or {})}, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"renderhub {' '.join(args)} crashed") from result.exception
    return result


def ok(*args: str, **kwargs: Any) -> Result:
    result = run(*args, **kwargs)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.stderr}{result.stdout}"
    return result


def ok_json(*args: str, **kwargs: Any) -> Any:
    return json.loads(ok(*args, "--output", "json", **kwargs).stdout)


def fails(code: int, *args: str, **kwargs: Any) -> str:
    """Run a command that must fail with `code`; its one-line message (stderr)."""
    result = run(*args, **kwargs)
    assert result.exit_code == code, f"exit {result.exit_code}: {result.stderr}{result.stdout}"
    assert "Traceback" not in result.stderr
    return result.stderr

"""Property-based: a real `renderhub serve` (fake backend) against its own /openapi.json.

schemathesis generates requests for every documented operation, valid and invalid ones, sends
them with a real access token (or the account key, for the STS) and checks each answer: no
5xx, a status code the document lists for the operation, a body and headers of the documented
shape, the documented content type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from renderhub.api.openapi.document import build_document
from tests.e2e.server import ServerProcess, create_account, free_port

pytestmark = pytest.mark.e2e

# Paths left out of the walk (a regular expression); every route is walked today.
EXCLUDED_PATHS: str | None = None

MAX_EXAMPLES = 40


def content_type_of_a_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """The documented content type on every answer with a body. A 204 has none, and so no
    Content-Type (RFC 9110 8.3); schemathesis would ask for the operation's `produces`."""
    if response.status_code == 204:
        return None
    return content_type_conformance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_of_a_body,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


class Service:
    """The running service and the credentials the generated requests are sent with."""

    def __init__(self, server: ServerProcess, account: dict[str, str]) -> None:
        self.server = server
        self.account_id = account["accountId"]
        self.key = account["primaryKey"]
        self.token = httpx.get(
            f"{server.url}/Accounts/{self.account_id}/token",
            headers={"Authorization": f"Bearer {self.account_id}:{self.key}"},
        ).json()["AccessToken"]

    def credential(self, path: str) -> str:
        if path.endswith("/token"):
            return f"Bearer {self.account_id}:{self.key}"
        return f"Bearer {self.token}"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("conformance") / "data"
    server = ServerProcess(data_dir, free_port(), env={"RENDERHUB_BACKEND": "fake"})
    server.start()
    try:
        yield Service(server, create_account(data_dir))
    finally:
        server.terminate()


@pytest.fixture(scope="module")
def api_schema(service: Service) -> Any:
    schema = schemathesis.openapi.from_url(f"{service.server.url}/openapi.json")
    # Unknown query parameters are ignored, as by Azure's service (clients add their own, such
    # as a `timeout`); unknown body fields are refused (`additionalProperties: false`).
    schema.config.generation.update(allow_extra_parameters=False)
    return schema


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation but the excluded ones (from the document
    the service builds, read here without a server so that each operation is its own test)."""
    paths = build_document("http://127.0.0.1", 1440)["paths"]
    return [
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if EXCLUDED_PATHS is None or not re.search(EXCLUDED_PATHS, path)
    ]


def _cases() -> list[tuple[GenerationMode, str, str]]:
    """Valid requests for every operation; invalid ones for those with something to get wrong
    (a required parameter besides the account, or a body); the others take any request."""
    document = build_document("http://127.0.0.1", 1440)
    cases = []
    for method, path in _operations():
        cases.append((GenerationMode.POSITIVE, method, path))
        item = document["paths"][path]
        parameters = [*item.get("parameters", []), *item[method.lower()].get("parameters", [])]
        resolved = [_resolve(document, parameter) for parameter in parameters]
        if any(
            p.get("required") and p["name"] not in ("account_id", "accountId") for p in resolved
        ):
            cases.append((GenerationMode.NEGATIVE, method, path))
    return cases


def _resolve(document: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    ref = parameter.get("$ref", "")
    resolved: dict[str, Any] = document["parameters"][ref.rsplit("/", 1)[-1]] if ref else parameter
    return resolved


@pytest.mark.parametrize(("mode", "method", "path"), _cases())
def test_the_service_answers_as_its_document_says(
    api_schema: Any, service: Service, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    # Our own account, so that requests get past the account check and reach the operation.
    accounts = {
        name: service.account_id
        for name in ("account_id", "accountId")
        if name in {p.name for p in operation.path_parameters}
    }
    headers = {"Authorization": service.credential(path)}

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=accounts))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases on every run: a failure here is reproducible
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=10)
        statuses.append(response.status_code)

    statuses: list[int] = []
    answers_as_documented()
    # Valid requests get past authentication to the operation itself (a run of 401s or 403s
    # would check only the refusal of credentials).
    if mode is GenerationMode.POSITIVE:
        assert set(statuses) - {401, 403}, statuses

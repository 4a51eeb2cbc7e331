"""GET /openapi.json and GET /api: the official document, unchanged where it is official, plus
what RenderHub adds; and its page for people, built from it with nothing from the network."""

from __future__ import annotations

import re
from typing import Any

from renderhub.api.openapi.document import official_2021, official_sts
from tests.conftest import ControlPlane


async def _document(plane: ControlPlane) -> dict[str, Any]:
    response = await plane.client.get("/openapi.json")  # no Authorization header
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


async def test_the_document_is_the_official_one_with_our_additions(plane: ControlPlane) -> None:
    document = await _document(plane)
    official = official_2021()
    assert document["swagger"] == "2.0"
    assert (document["host"], document["basePath"], document["schemes"]) == (
        "renderhub.test",
        "/",
        ["http"],
    )
    # Every official operation, with the official responses, parameters and examples.
    for path, item in official["paths"].items():
        for method, operation in item.items():
            assert document["paths"][path][method] == operation, (method, path)
    for name, definition in official["definitions"].items():
        ours = document["definitions"][name]
        if name not in ("create_session_settings", "update_session_settings"):
            assert ours == definition, name
    create = document["definitions"]["create_session_settings"]
    assert create["required"] == ["maxLeaseTimeMinutes", "size"]
    assert create["additionalProperties"] is False
    assert create["properties"]["models"]["type"] == "array"
    assert create["properties"]["maxLeaseTimeMinutes"]["maximum"] == 1440
    assert document["parameters"]["session_id"]["pattern"] == "^[A-Za-z0-9_-]{1,256}$"
    # What RenderHub adds.
    for path in (
        "/v1/accounts/{accountId}/sessions/create",
        "/v1/accounts/{accountId}/sessions",
        "/v1/accounts/{accountId}/sessions/{sessionId}/properties",
        "/v1/accounts/{accountId}/sessions/{sessionId}",
        "/Accounts/{accountId}/token",
        "/healthz",
        "/openapi.json",
        "/api",
    ):
        assert path in document["paths"], path
    sts = official_sts()["paths"]["/Accounts/{accountId}/token"]["get"]
    assert document["paths"]["/Accounts/{accountId}/token"]["get"]["responses"] == sts["responses"]
    assert document["paths"]["/healthz"]["get"]["security"] == []


async def test_the_document_follows_the_public_url(plane: ControlPlane) -> None:
    plane.settings.public_url = "https://render.example.com/rh/"
    document = await _document(plane)
    assert (document["host"], document["basePath"], document["schemes"]) == (
        "render.example.com",
        "/rh",
        ["https"],
    )


async def test_the_api_page_lists_every_operation_without_the_network(plane: ControlPlane) -> None:
    document = await _document(plane)
    response = await plane.client.get("/api")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                assert f'id="{operation["operationId"]}"' in page, (method, path)
    assert "maxLeaseTimeMinutes: integer 0..1440" in page
    assert "models?: [string]" in page
    # Nothing loaded from elsewhere: no scripts, no style sheets, no images, no remote links.
    assert not re.search(r"<(script|link|img|iframe)\b", page, re.IGNORECASE)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page, re.IGNORECASE)

"""The API's description: Azure's official 2021-01-01 document (Swagger 2.0, shipped beside this
module as it was published) extended with what RenderHub adds, built once at import.

Copies of Azure/azure-rest-api-specs (MIT licence):
- stable-2021-01-01-mr-arr.json: specification/mixedreality/data-plane/Microsoft.MixedReality/
  stable/2021-01-01/mr-arr.json at 718c3d8b58cf9a2220f79f5adce6bb6d8d2b0409;
- preview-2019-02-28-mr-sts.json: .../preview/2019-02-28-preview/mr-sts.json at
  d9471ee16d88bf1f5ad2a7593edf9b49f80ff022.

What RenderHub adds or states more exactly than the official text does:
- `models` on `create_session_settings`; request bodies refuse unknown fields
  (`additionalProperties: false`) and state the lease bounds the official descriptions give in
  words (the maximum is the operator's `max_lease_minutes`);
- the session id's rule as a pattern (the official description gives it in words), and the
  api-versions this service answers to as an enum;
- the v1 session API, the Secure Token Service route, /healthz, this document and /api.

Swagger 2.0 is kept rather than converted: Azure's tools and schemathesis read it as it is, and
the official parts stay byte-for-byte comparable with the published document.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from renderhub import __version__
from renderhub.api.versions import API_VERSIONS
from renderhub.model_sources import MAX_MODELS_PER_SESSION, MAX_URL_LENGTH
from renderhub.sessions.requests import SESSION_ID

_HERE = Path(__file__).parent
OFFICIAL_2021 = _HERE / "stable-2021-01-01-mr-arr.json"
OFFICIAL_STS = _HERE / "preview-2019-02-28-mr-sts.json"

Document = dict[str, Any]


@cache
def official_2021() -> Document:
    """The official 2021-01-01 document, as published (do not change the returned dict)."""
    loaded: Document = json.loads(OFFICIAL_2021.read_text(encoding="utf-8"))
    return loaded


@cache
def official_sts() -> Document:
    """The official Secure Token Service document, as published."""
    loaded: Document = json.loads(OFFICIAL_STS.read_text(encoding="utf-8"))
    return loaded


def build_document(base_url: str, max_lease_minutes: int) -> Document:
    """The whole API as served at `base_url` (scheme, host and base path come from it)."""
    document = copy.deepcopy(_extended())
    url = urlsplit(base_url)
    document["schemes"] = [url.scheme or "https"]
    document["host"] = url.netloc
    document["basePath"] = url.path.rstrip("/") or "/"
    lease = document["definitions"]
    lease["create_session_settings"]["properties"]["maxLeaseTimeMinutes"].update(
        minimum=0, maximum=max_lease_minutes
    )
    lease["update_session_settings"]["properties"]["maxLeaseTimeMinutes"].update(
        minimum=1, maximum=max_lease_minutes
    )
    return document


@cache
def _extended() -> Document:
    document = copy.deepcopy(official_2021())
    # The official host template names Azure's regional endpoint; build_document sets the host.
    document.pop("x-ms-parameterized-host", None)
    document["info"] = {
        "title": "RenderHub",
        "version": __version__,
        "description": (
            "Azure Remote Rendering's 2021-01-01 API as published by Microsoft, with what "
            "RenderHub adds: the models a session loads, the v1 session API, the Secure Token "
            "Service and the service's own routes."
        ),
    }
    _add_models_and_strictness(document)
    _state_the_rules_given_in_words(document)
    _add_v1(document)
    _add_sts(document)
    _add_service_routes(document)
    return document


def _add_models_and_strictness(document: Document) -> None:
    definitions = document["definitions"]
    definitions["create_session_settings"]["properties"]["models"] = {
        "type": "array",
        "description": (
            "RenderHub: the models the host loads before the session is Ready: files under the "
            "service's models directory, or URLs (a blob URL with its SAS) under a prefix the "
            "operator allowed."
        ),
        "maxItems": MAX_MODELS_PER_SESSION,
        "items": {"type": "string", "minLength": 1, "maxLength": MAX_URL_LENGTH},
    }
    for name in ("create_session_settings", "update_session_settings"):
        definitions[name]["additionalProperties"] = False


def _state_the_rules_given_in_words(document: Document) -> None:
    parameters = document["parameters"]
    parameters["session_id"].update(pattern=f"^{SESSION_ID.pattern}$", minLength=1, maxLength=256)
    parameters["api_version"]["enum"] = sorted(API_VERSIONS)


def _add_v1(document: Document) -> None:
    document["definitions"].update(_V1_DEFINITIONS)
    document["paths"].update(_V1_PATHS)


def _add_sts(document: Document) -> None:
    sts = copy.deepcopy(official_sts())
    document["securityDefinitions"]["AccountKeyAuth"] = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "'Bearer <account id>:<account key>', as Azure's STS takes it.",
    }
    for path, item in sts["paths"].items():
        item["get"]["security"] = [{"AccountKeyAuth": []}]
        item["get"]["tags"] = ["token"]
        document["paths"][path] = item
    document["definitions"].update(sts["definitions"])


def _add_service_routes(document: Document) -> None:
    document["paths"].update(_SERVICE_PATHS)
    document["definitions"]["health"] = {
        "type": "object",
        "required": ["status", "version"],
        "properties": {"status": {"type": "string"}, "version": {"type": "string"}},
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "x-ms-error-response": True,
        "schema": {"$ref": "#/definitions/error_response"},
    }


def _retry(description: str) -> dict[str, Any]:
    response = _error(description)
    response["headers"] = {"Retry-After": {"type": "integer"}}
    return response


_V1_ERRORS = {
    "401": _error("Missing or invalid access token."),
    "403": _error("The access token is for another account."),
    "429": _retry("Every host of the size is in use; retry after Retry-After seconds."),
    "500": _error("The service failed; quote the MS-CV header when reporting it."),
    "503": _retry("The service's database is unreachable; retry after Retry-After seconds."),
}
_V1_BAD = {
    "400": _error("A field is wrong; the message and `target` name it."),
    "413": _error("The body is larger than 64 KiB."),
}
_V1_ACCOUNT = {
    "name": "accountId",
    "in": "path",
    "required": True,
    "type": "string",
    "format": "uuid",
}
_V1_SESSION = {
    "name": "sessionId",
    "in": "path",
    "required": True,
    "type": "string",
    "pattern": f"^{SESSION_ID.pattern}$",
}
_V1_SECURITY: list[dict[str, list[str]]] = [{"MrcBearerAuth": []}]
_TIMESPAN = {
    "type": "string",
    "description": ".NET TimeSpan, e.g. '4:0:0' or '1.02:30:00'.",
    "pattern": r"^\s*([0-9]{1,4}\.)?[0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2}(\.[0-9]{1,7})?)?\s*$",
}

_V1_DEFINITIONS: dict[str, Any] = {
    "v1_create_session": {
        "type": "object",
        "additionalProperties": False,
        "required": ["maxLeaseTime", "size"],
        "properties": {
            "maxLeaseTime": _TIMESPAN,
            "size": {
                "type": "string",
                "description": "'standard' or 'premium' in any letter case.",
                "enum": ["standard", "premium", "Standard", "Premium"],
            },
            "models": {
                "type": "array",
                "maxItems": MAX_MODELS_PER_SESSION,
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_URL_LENGTH},
            },
        },
    },
    "v1_extend_session": {
        "type": "object",
        "additionalProperties": False,
        "required": ["maxLeaseTime"],
        "properties": {"maxLeaseTime": _TIMESPAN},
    },
    "v1_created": {
        "type": "object",
        "required": ["sessionId"],
        "properties": {"sessionId": {"type": "string"}},
    },
    "v1_session_properties": {
        "type": "object",
        "required": [
            "sessionId",
            "sessionStatus",
            "sessionSize",
            "sessionMaxLeaseTime",
            "sessionElapsedTime",
        ],
        "properties": {
            "message": {"type": "string", "x-nullable": True},
            "sessionElapsedTime": {"type": "string"},
            "sessionHostname": {"type": "string", "x-nullable": True},
            "sessionId": {"type": "string"},
            "sessionMaxLeaseTime": {"type": "string"},
            "sessionSize": {"type": "string", "enum": ["Standard", "Premium"]},
            "sessionStatus": {
                "type": "string",
                "enum": ["Starting", "Ready", "Stopping", "Stopped", "Expired", "Error"],
            },
            "handshakePort": {"type": "integer"},
            "arrInspectorPort": {"type": "integer"},
        },
    },
    "v1_sessions": {
        "type": "object",
        "required": ["sessions"],
        "properties": {
            "sessions": {"type": "array", "items": {"$ref": "#/definitions/v1_session_properties"}}
        },
    },
}


def _body(ref: str) -> dict[str, Any]:
    return {"name": "body", "in": "body", "required": True, "schema": {"$ref": ref}}


_V1_PATHS: dict[str, Any] = {
    "/v1/accounts/{accountId}/sessions/create": {
        "post": {
            "operationId": "V1_CreateSession",
            "tags": ["v1"],
            "summary": "Starts a session (v1); poll its properties until it is Ready.",
            "security": _V1_SECURITY,
            "consumes": ["application/json"],
            "produces": ["application/json"],
            "parameters": [_V1_ACCOUNT, _body("#/definitions/v1_create_session")],
            "responses": {
                "202": {
                    "description": "Accepted: the session is starting.",
                    "schema": {"$ref": "#/definitions/v1_created"},
                    "headers": {"Location": {"type": "string"}},
                },
                **_V1_BAD,
                "409": _error("A session with the generated id exists; try again."),
                **_V1_ERRORS,
            },
        }
    },
    "/v1/accounts/{accountId}/sessions": {
        "get": {
            "operationId": "V1_ListSessions",
            "tags": ["v1"],
            "summary": "The account's active sessions (v1).",
            "security": _V1_SECURITY,
            "produces": ["application/json"],
            "parameters": [_V1_ACCOUNT],
            "responses": {
                "200": {"description": "OK", "schema": {"$ref": "#/definitions/v1_sessions"}},
                **_V1_ERRORS,
            },
        }
    },
    "/v1/accounts/{accountId}/sessions/{sessionId}/properties": {
        "get": {
            "operationId": "V1_GetSessionProperties",
            "tags": ["v1"],
            "summary": "One session's properties (v1).",
            "security": _V1_SECURITY,
            "produces": ["application/json"],
            "parameters": [_V1_ACCOUNT, _V1_SESSION],
            "responses": {
                "200": {
                    "description": "OK",
                    "schema": {"$ref": "#/definitions/v1_session_properties"},
                },
                "400": _error("The session id is not one a session could have."),
                "404": _error("No such session in this account."),
                **_V1_ERRORS,
            },
        }
    },
    "/v1/accounts/{accountId}/sessions/{sessionId}": {
        "patch": {
            "operationId": "V1_ExtendSession",
            "tags": ["v1"],
            "summary": "Extends a session's lease to a new total (v1).",
            "security": _V1_SECURITY,
            "consumes": ["application/json"],
            "parameters": [_V1_ACCOUNT, _V1_SESSION, _body("#/definitions/v1_extend_session")],
            "responses": {
                "200": {"description": "Extended."},
                **_V1_BAD,
                "404": _error("No such session in this account."),
                "409": _error("The session has ended; its lease cannot change."),
                **_V1_ERRORS,
            },
        },
        "delete": {
            "operationId": "V1_StopSession",
            "tags": ["v1"],
            "summary": "Stops a session (v1).",
            "security": _V1_SECURITY,
            "parameters": [_V1_ACCOUNT, _V1_SESSION],
            "responses": {
                "204": {"description": "Stopped (or stopping, or ended already)."},
                "400": _error("The session id is not one a session could have."),
                "404": _error("No such session in this account."),
                **_V1_ERRORS,
            },
        },
    },
}

_SERVICE_PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "operationId": "RenderHub_Health",
            "tags": ["service"],
            "summary": "Whether the service answers, and its version.",
            "security": [],
            "produces": ["application/json"],
            "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/health"}}},
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "RenderHub_OpenApi",
            "tags": ["service"],
            "summary": "This document.",
            "security": [],
            "produces": ["application/json"],
            "responses": {"200": {"description": "OK", "schema": {"type": "object"}}},
        }
    },
    "/api": {
        "get": {
            "operationId": "RenderHub_ApiPage",
            "tags": ["service"],
            "summary": "This document as a page for people.",
            "security": [],
            "produces": ["text/html"],
            "responses": {"200": {"description": "OK"}},
        }
    },
}

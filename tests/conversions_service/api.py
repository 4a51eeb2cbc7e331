"""Driving the conversion API in tests: a control plane whose conversions run the test
converters on folders under the test's tmp_path, request bodies, and the calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from renderhub.clock import ManualClock
from renderhub.conversions.jobs import ConversionStatus
from tests.conftest import API, ControlPlane, make_settings, running_control_plane, wait_for

READ_SAS = "sv=2021-08-06&sp=rl&sig=READSECRET"
WRITE_SAS = "sv=2021-08-06&sp=cw&sig=WRITESECRET"


@asynccontextmanager
async def conversion_plane(tmp_path: Path, **overrides: Any) -> AsyncIterator[ControlPlane]:
    """A control plane whose conversions run tests.conversions_service.converters:scripted
    and may use the containers under tmp_path/storage."""
    values: dict[str, Any] = {
        "converter": "tests.conversions_service.converters:scripted",
        "allow_storage": [f"{storage_root(tmp_path)}/"],
        "conversion_timeout_seconds": 60.0,
    }
    values.update(overrides)
    settings = make_settings(tmp_path / "data", **values)
    async with running_control_plane(settings, ManualClock()) as plane:
        yield plane


def storage_root(tmp_path: Path) -> str:
    return (tmp_path / "storage").as_uri()


def body(tmp_path: Path, model: str = "house.glb", **output: Any) -> dict[str, Any]:
    return {
        "settings": {
            "inputLocation": {
                "storageContainerUri": f"{storage_root(tmp_path)}/input",
                "storageContainerReadListSas": "?" + READ_SAS,
                "blobPrefix": "models/",
                "relativeInputAssetPath": model,
            },
            "outputLocation": {
                "storageContainerUri": f"{storage_root(tmp_path)}/output",
                "storageContainerWriteSas": WRITE_SAS,
                **output,
            },
        }
    }


def url(plane: ControlPlane, conversion_id: str = "", account_id: str | None = None) -> str:
    base = f"/accounts/{account_id or plane.account.id}/conversions"
    return f"{base}/{conversion_id}?{API}" if conversion_id else f"{base}?{API}"


async def put(plane: ControlPlane, conversion_id: str, payload: Any) -> httpx.Response:
    return await plane.client.put(url(plane, conversion_id), json=payload, headers=plane.auth)


async def get(plane: ControlPlane, conversion_id: str) -> httpx.Response:
    return await plane.client.get(url(plane, conversion_id), headers=plane.auth)


async def wait_ended(plane: ControlPlane, conversion_id: str, within: float = 30.0) -> dict:
    async def ended() -> dict[str, Any] | None:
        response = await get(plane, conversion_id)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found if ConversionStatus(found["status"]).is_final else None

    result: dict[str, Any] = await wait_for(ended, within=within)
    return result


def assert_no_secrets(response: httpx.Response) -> None:
    """No SAS value in the response; in a conversion, not even the SAS fields."""
    assert "READSECRET" not in response.text and "WRITESECRET" not in response.text
    if response.is_success:
        assert "Sas" not in response.text, response.text

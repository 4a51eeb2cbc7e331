"""/admin/conversions: every account's conversions, filtered and paged, without SAS tokens."""

from __future__ import annotations

from typing import Any

import pytest

from renderhub.conversions.jobs import InputLocation, OutputLocation
from renderhub.status import ConversionStatus
from renderhub.store.records import ConversionRecord
from tests.conftest import ControlPlane

CONTAINER = "https://store.example/models"
SAS = "sv=2024-01-01&sig=SECRETSIGNATURE"


async def _recorded(
    plane: ControlPlane,
    conversion_id: str,
    status: ConversionStatus,
    *,
    account_id: str | None = None,
    created_at: float = 1_800_000_000.0,
) -> ConversionRecord:
    """A conversion written to the store as it would be mid-run or after its end. A running
    one is claimed far ahead by another replica, so this plane's runner leaves it alone."""
    running = status is ConversionStatus.RUNNING
    record = ConversionRecord(
        account_id=account_id or plane.account.id,
        id=conversion_id,
        input=InputLocation(CONTAINER, "car.glb", "cars", SAS),
        output=OutputLocation(CONTAINER, "car.arrasset", "out/", SAS),
        status=status,
        created_at=created_at,
        started_at=created_at + 1,
        ended_at=None if running else created_at + 61,
        error_code="BadRequest" if status is ConversionStatus.FAILED else None,
        error_message="The model is broken." if status is ConversionStatus.FAILED else None,
        output_asset_uri=(
            f"{CONTAINER}/out/car.arrasset?{SAS}" if status is ConversionStatus.SUCCEEDED else None
        ),
        claimed_by="another-replica" if running else None,
        claimed_until=created_at + 10**9 if running else None,
    )
    assert await plane.context.conversions.store.insert(record)
    return record


async def _admin_get(plane: ControlPlane, url: str, status: int = 200) -> Any:
    response = await plane.client.get(url, headers=plane.admin_auth)
    assert response.status_code == status, response.text
    return response.json()


async def test_a_conversion_is_shown_without_its_sas(plane: ControlPlane) -> None:
    await _recorded(plane, "done", ConversionStatus.SUCCEEDED)
    body = await _admin_get(plane, "/admin/conversions")
    assert body == {
        "conversions": [
            {
                "accountId": plane.account.id,
                "conversionId": "done",
                "status": "Succeeded",
                "created": "2027-01-15T08:00:00.000Z",
                "started": "2027-01-15T08:00:01.000Z",
                "ended": "2027-01-15T08:01:01.000Z",
                "errorCode": None,
                "errorMessage": None,
                "input": f"{CONTAINER}/cars/car.glb",
                "outputAssetUri": f"{CONTAINER}/out/car.arrasset",
            }
        ],
        "next": None,
    }


async def test_filters_by_account_and_status_newest_first(plane: ControlPlane) -> None:
    other, _ = await plane.new_account()
    await _recorded(plane, "old", ConversionStatus.FAILED, created_at=1_800_000_000)
    await _recorded(plane, "mid", ConversionStatus.RUNNING, created_at=1_800_000_100)
    await _recorded(
        plane, "new", ConversionStatus.SUCCEEDED, account_id=other.id, created_at=1_800_000_200
    )

    async def ids(query: str) -> list[str]:
        body = await _admin_get(plane, f"/admin/conversions?{query}")
        return [conversion["conversionId"] for conversion in body["conversions"]]

    assert await ids("") == ["new", "mid", "old"]
    assert await ids(f"account={plane.account.id}") == ["mid", "old"]
    assert await ids(f"account={other.id}") == ["new"]
    assert await ids("status=failed,Succeeded") == ["new", "old"]
    assert await ids("status=active") == ["mid"]
    assert await ids(f"status=Running&account={other.id}") == []
    failed = (await _admin_get(plane, "/admin/conversions?status=Failed"))["conversions"][0]
    assert failed["errorCode"] == "BadRequest" and failed["ended"] is not None


async def test_pages_follow_next(plane: ControlPlane) -> None:
    for index in range(5):
        await _recorded(plane, f"c{index}", ConversionStatus.SUCCEEDED, created_at=1.8e9 + index)
    first = await _admin_get(plane, "/admin/conversions?limit=3")
    assert [c["conversionId"] for c in first["conversions"]] == ["c4", "c3", "c2"]
    second = await _admin_get(plane, f"/admin/conversions?limit=3&after={first['next']}")
    assert [c["conversionId"] for c in second["conversions"]] == ["c1", "c0"]
    assert second["next"] is None


async def test_an_unknown_account_is_404(plane: ControlPlane) -> None:
    body = await _admin_get(plane, "/admin/conversions?account=nobody", 404)
    assert body["error"]["target"] == "account"


@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("limit=x", "limit"),
        ("status=Ready", "status"),
        ("size=Standard", "size"),
        ("after=%%%", "after"),
    ],
)
async def test_bad_parameters_are_400_naming_them(
    plane: ControlPlane, query: str, target: str
) -> None:
    body = await _admin_get(plane, f"/admin/conversions?{query}", 400)
    assert body["error"]["target"] == target

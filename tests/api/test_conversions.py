"""The 2021-01-01 conversion API in-process (real store, real worker processes), with the test
converters of tests/conversions_service/converters.py chosen by the input's file name."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from renderhub.api.conversion_bodies import CreateConversionBody
from renderhub.conversions.jobs import ConversionStatus
from renderhub.conversions.runner import MAX_ATTEMPTS, ConversionRunner
from renderhub.store.conversions import ConversionStore
from renderhub.store.records import ConversionRecord
from tests.conftest import ControlPlane, wait_for
from tests.conversions_service.api import (
    READ_SAS,
    WRITE_SAS,
    assert_no_secrets,
    body,
    conversion_plane,
    get,
    put,
    storage_root,
    url,
    wait_ended,
)
from tests.conversions_service.converters import FAILURE_MESSAGE


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    async with conversion_plane(tmp_path) as control_plane:
        yield control_plane


# -- create, read, list -----------------------------------------------------------------------


async def test_a_conversion_is_created_run_and_read_back_without_its_sas(
    plane: ControlPlane, tmp_path: Path
) -> None:
    created = await put(plane, "house", body(tmp_path))
    assert created.status_code == 201, created.text
    assert_no_secrets(created)
    conversion = created.json()
    assert conversion["id"] == "house"
    assert conversion["status"] in ("NotStarted", "Running", "Succeeded")
    assert conversion["error"] is None and conversion["creationTime"].endswith("Z")
    assert conversion["settings"] == {
        "inputLocation": {
            "storageContainerUri": f"{storage_root(tmp_path)}/input",
            "blobPrefix": "models/",
            "relativeInputAssetPath": "house.glb",
        },
        "outputLocation": {
            "storageContainerUri": f"{storage_root(tmp_path)}/output",
            "outputAssetFilename": "house.arrAsset",  # the input's name by default
        },
    }
    done = await wait_ended(plane, "house")
    assert done["status"] == "Succeeded" and done["error"] is None
    asset = tmp_path / "storage" / "output" / "house.arrAsset"
    assert done["output"] == {"outputAssetUri": f"{storage_root(tmp_path)}/output/house.arrAsset"}
    assert asset.read_bytes() == b"asset of house.glb"
    final = await get(plane, "house")
    assert "Retry-After" not in final.headers
    assert_no_secrets(final)
    # The SAS reached the converter as stored: without the leading '?'.
    record = await plane.context.conversions.get(plane.account.id, "house")
    assert record.input.sas == READ_SAS and record.output.sas == WRITE_SAS
    assert record.attempts == 1 and record.started_at is not None


async def test_create_is_idempotent_and_other_settings_conflict(
    plane: ControlPlane, tmp_path: Path
) -> None:
    first = await put(plane, "same", body(tmp_path, "slow.glb"))
    assert first.status_code == 201, first.text
    # A retry, with the SAS written without its '?' this time: the same conversion.
    retry = body(tmp_path, "slow.glb")
    retry["settings"]["inputLocation"]["storageContainerReadListSas"] = READ_SAS
    again = await put(plane, "same", retry)
    assert again.status_code == 200, again.text
    assert again.json()["creationTime"] == first.json()["creationTime"]
    other = await put(plane, "same", body(tmp_path, "slow.glb", outputAssetFilename="x.arrAsset"))
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "Conflict"
    other_sas = body(tmp_path, "slow.glb")
    other_sas["settings"]["outputLocation"]["storageContainerWriteSas"] = "sig=OTHER"
    assert (await put(plane, "same", other_sas)).status_code == 409
    record = await plane.context.conversions.get(plane.account.id, "same")
    assert record.output.output_asset_filename == "slow.arrAsset" and record.output.sas == WRITE_SAS
    await wait_ended(plane, "same")


async def test_retry_after_while_running_and_the_concurrency_limit(tmp_path: Path) -> None:
    async with conversion_plane(tmp_path, conversion_concurrency=1) as plane:
        for conversion_id in ("first", "second"):
            response = await put(plane, conversion_id, body(tmp_path, "slow.glb"))
            assert response.status_code == 201
            assert response.json()["status"] == "NotStarted"

        async def first_running() -> httpx.Response | None:
            response = await get(plane, "first")
            return response if response.json()["status"] == "Running" else None

        running = await wait_for(first_running)
        assert running.headers["Retry-After"] == "5"
        waiting = await get(plane, "second")
        assert waiting.json()["status"] == "NotStarted" and waiting.headers["Retry-After"] == "5"
        assert (await wait_ended(plane, "first"))["status"] == "Succeeded"
        assert (await wait_ended(plane, "second"))["status"] == "Succeeded"
        first = await plane.context.conversions.get(plane.account.id, "first")
        second = await plane.context.conversions.get(plane.account.id, "second")
        assert first.ended_at is not None and second.started_at is not None
        assert second.started_at >= first.ended_at, "one at a time"
        # Two attempt markers, one per worker process.
        assert len(list((tmp_path / "storage" / "output").glob("attempt-*"))) == 2


async def test_get_unknown_and_list_pages_per_account(tmp_path: Path) -> None:
    async with conversion_plane(tmp_path, page_size=2) as plane:
        missing = await get(plane, "nothing")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
        ids = [f"c{index}" for index in range(5)]
        for conversion_id in ids:
            assert (await put(plane, conversion_id, body(tmp_path))).status_code == 201
        other, other_token = await plane.new_account()
        other_auth = {"Authorization": f"Bearer {other_token}"}
        other_put = await plane.client.put(
            url(plane, "theirs", other.id), json=body(tmp_path), headers=other_auth
        )
        assert other_put.status_code == 201

        seen: list[str] = []
        next_url: str | None = url(plane)
        while next_url:
            page = await plane.client.get(next_url, headers=plane.auth)
            assert page.status_code == 200, page.text
            assert_no_secrets(page)
            listed = page.json()
            assert len(listed["conversions"]) <= 2
            seen += [conversion["id"] for conversion in listed["conversions"]]
            next_url = listed.get("@nextLink")
            if next_url:
                assert "api-version=2021-01-01" in next_url and "skipToken=" in next_url
        assert seen == ids

        # Another account sees only its own, and may not read this one's.
        theirs = await plane.client.get(url(plane, account_id=other.id), headers=other_auth)
        assert [c["id"] for c in theirs.json()["conversions"]] == ["theirs"]
        foreign = await plane.client.get(url(plane, "c0"), headers=other_auth)
        assert foreign.status_code == 403
        not_theirs = await plane.client.get(url(plane, "c0", other.id), headers=other_auth)
        assert not_theirs.status_code == 404
        for conversion_id in [*ids]:
            await wait_ended(plane, conversion_id)


async def test_api_version_token_and_id_are_checked(plane: ControlPlane, tmp_path: Path) -> None:
    base = f"/accounts/{plane.account.id}/conversions"
    no_version = await plane.client.put(f"{base}/x", json=body(tmp_path), headers=plane.auth)
    assert no_version.status_code == 400 and no_version.json()["error"]["target"] == "api-version"
    # A list lists no 400: a request it cannot take is refused with its 403 (operations.py).
    listed = await plane.client.get(f"{base}?api-version=2020-01-01", headers=plane.auth)
    assert listed.status_code == 403 and listed.json()["error"]["target"] == "api-version"
    anonymous = await plane.client.put(url(plane, "x"), json=body(tmp_path))
    assert anonymous.status_code == 401
    bad_id = await put(plane, "no.dots", body(tmp_path))
    assert bad_id.status_code == 400 and bad_id.json()["error"]["target"] == "conversionId"
    impossible = await get(plane, "x" * 257)
    assert impossible.status_code == 404, impossible.text  # a get lists no 400
    bad_token = await plane.client.get(url(plane) + "&skipToken=%%%", headers=plane.auth)
    assert bad_token.status_code == 403, bad_token.text
    assert (await plane.client.get(url(plane), headers=plane.auth)).json()["conversions"] == []


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = json.loads(json.dumps(payload))
    holder = changed
    for part in path[:-1]:
        holder = holder[part]
    del holder[path[-1]]
    return changed


def _with(payload: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    changed = json.loads(json.dumps(payload))
    holder = changed
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = value
    return changed


_IN = ("settings", "inputLocation")
_OUT = ("settings", "outputLocation")
BAD_BODIES: list[tuple[str, Any, str]] = [
    ("no settings", lambda b: {}, "settings"),
    ("typo at the top", lambda b: {**b, "setings": {}}, "setings"),
    ("settings not an object", lambda b: {"settings": []}, "settings"),
    ("no input", lambda b: _without(b, "settings", "inputLocation"), "settings.inputLocation"),
    ("no output", lambda b: _without(b, *_OUT), "settings.outputLocation"),
    (
        "no input container",
        lambda b: _without(b, *_IN, "storageContainerUri"),
        "settings.inputLocation.storageContainerUri",
    ),
    (
        "no input path",
        lambda b: _without(b, *_IN, "relativeInputAssetPath"),
        "settings.inputLocation.relativeInputAssetPath",
    ),
    (
        "no output container",
        lambda b: _without(b, *_OUT, "storageContainerUri"),
        "settings.outputLocation.storageContainerUri",
    ),
    (
        "input container a number",
        lambda b: _with(b, 7, *_IN, "storageContainerUri"),
        "settings.inputLocation.storageContainerUri",
    ),
    (
        "input container empty",
        lambda b: _with(b, "", *_IN, "storageContainerUri"),
        "settings.inputLocation.storageContainerUri",
    ),
    (
        "input container too long",
        lambda b: _with(b, "file:///" + "a" * 2048, *_IN, "storageContainerUri"),
        "settings.inputLocation.storageContainerUri",
    ),
    (
        "input path empty",
        lambda b: _with(b, "", *_IN, "relativeInputAssetPath"),
        "settings.inputLocation.relativeInputAssetPath",
    ),
    (
        "input path too long",
        lambda b: _with(b, "a" * 1025, *_IN, "relativeInputAssetPath"),
        "settings.inputLocation.relativeInputAssetPath",
    ),
    (
        "input prefix a list",
        lambda b: _with(b, ["models/"], *_IN, "blobPrefix"),
        "settings.inputLocation.blobPrefix",
    ),
    (
        "output prefix too long",
        lambda b: _with(b, "p" * 1025, *_OUT, "blobPrefix"),
        "settings.outputLocation.blobPrefix",
    ),
    (
        "read SAS too long",
        lambda b: _with(b, "s" * 4097, *_IN, "storageContainerReadListSas"),
        "settings.inputLocation.storageContainerReadListSas",
    ),
    (
        "write SAS a number",
        lambda b: _with(b, 1, *_OUT, "storageContainerWriteSas"),
        "settings.outputLocation.storageContainerWriteSas",
    ),
    (
        "asset name without .arrAsset",
        lambda b: _with(b, "house.glb", *_OUT, "outputAssetFilename"),
        "settings.outputLocation.outputAssetFilename",
    ),
    (
        "asset name only the suffix",
        lambda b: _with(b, ".arrAsset", *_OUT, "outputAssetFilename"),
        "settings.outputLocation.outputAssetFilename",
    ),
    (
        "typo in input",
        lambda b: _with(b, "x", *_IN, "relativeInputAssetPth"),
        "settings.inputLocation.relativeInputAssetPth",
    ),
    (
        "snake_case name",
        lambda b: _with(b, "x", *_OUT, "storage_container_uri"),
        "settings.outputLocation.storage_container_uri",
    ),
    (
        "input container not a URL",
        lambda b: _with(b, "just some words", *_IN, "storageContainerUri"),
        "settings.inputLocation.storageContainerUri",
    ),
    (
        "input prefix escapes",
        lambda b: _with(b, "models/../../", *_IN, "blobPrefix"),
        "settings.inputLocation.blobPrefix",
    ),
    (
        "input path escapes",
        lambda b: _with(b, "../../etc/passwd.glb", *_IN, "relativeInputAssetPath"),
        "settings.inputLocation.relativeInputAssetPath",
    ),
    (
        "output prefix escapes",
        lambda b: _with(b, "../out/", *_OUT, "blobPrefix"),
        "settings.outputLocation.blobPrefix",
    ),
    (
        "input container not allowed",
        lambda b: _with(b, "https://elsewhere.example/c", *_IN, "storageContainerUri"),
        "settings.inputLocation.storageContainerUri",
    ),
    (
        "output container not allowed",
        lambda b: _with(b, "file:///etc/", *_OUT, "storageContainerUri"),
        "settings.outputLocation.storageContainerUri",
    ),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
async def test_every_bad_field_is_a_400_naming_it_and_nothing_is_recorded(
    plane: ControlPlane, tmp_path: Path, case: str, change: Any, field: str
) -> None:
    response = await put(plane, "bad", change(body(tmp_path)))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest" and error["target"] == field, error
    assert field.rsplit(".", 1)[-1] in error["message"], error
    assert_no_secrets(response)
    assert (await get(plane, "bad")).status_code == 404


async def test_bodies_that_are_not_json_objects_are_400s(plane: ControlPlane) -> None:
    for content in (b"", b"[]", b"{not json", b"x" * 70_000):
        response = await plane.client.put(url(plane, "bad"), content=content, headers=plane.auth)
        assert response.status_code == 400, (content[:10], response.text)
    assert (await get(plane, "bad")).status_code == 404


async def test_the_allow_list_names_the_flag_when_nothing_is_allowed(tmp_path: Path) -> None:
    async with conversion_plane(tmp_path, allow_storage=[]) as plane:
        response = await put(plane, "c", body(tmp_path))
        assert response.status_code == 400
        message = response.json()["error"]["message"]
        assert "--allow-storage" in message, message


async def test_a_blob_container_without_a_sas_is_a_400_that_says_why(tmp_path: Path) -> None:
    blob = "https://contoso.blob.core.windows.net/"
    async with conversion_plane(tmp_path, allow_storage=[blob]) as plane:
        payload = body(tmp_path)
        payload["settings"]["inputLocation"] = {
            "storageContainerUri": f"{blob}input",
            "relativeInputAssetPath": "house.glb",
        }
        response = await put(plane, "c", payload)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["target"] == "settings.inputLocation.storageContainerReadListSas"
        assert "SAS" in error["message"] and "linked storage" in error["message"]
        assert (await get(plane, "c")).status_code == 404


# -- how conversions fail ---------------------------------------------------------------------


async def test_failures_end_failed_with_a_message(plane: ControlPlane, tmp_path: Path) -> None:
    expected = {
        "fail": ("BadRequest", FAILURE_MESSAGE),
        "crash": ("InternalServerError", "worker process ended without an outcome (exit code 3)"),
        "raise": ("InternalServerError", "RuntimeError: the model is upside down"),
        "leak": ("InternalServerError", "/input?<SAS>"),
    }
    for name in expected:
        assert (await put(plane, name, body(tmp_path, f"{name}.glb"))).status_code == 201
    for name, (code, words) in expected.items():
        ended = await wait_ended(plane, name)
        assert ended["status"] == "Failed", ended
        assert ended["error"]["code"] == code and words in ended["error"]["message"], ended
        assert set(ended["error"]) == {"code", "message"}  # no null fields
        assert "output" not in ended
        assert_no_secrets(await get(plane, name))


async def test_a_conversion_past_its_time_limit_is_killed_and_failed(tmp_path: Path) -> None:
    async with conversion_plane(tmp_path, conversion_timeout_seconds=1.0) as plane:
        started = asyncio.get_running_loop().time()
        assert (await put(plane, "long", body(tmp_path, "sleep.glb"))).status_code == 201
        ended = await wait_ended(plane, "long", within=20)
        assert asyncio.get_running_loop().time() - started < 15
        assert ended["status"] == "Failed"
        assert "took longer than the limit of 1 seconds" in ended["error"]["message"]
        assert not (tmp_path / "storage" / "output" / "sleep.arrAsset").exists()
        workers = [
            child
            for child in psutil.Process().children(recursive=True)
            if "renderhub.conversions.worker" in " ".join(child.cmdline())
        ]
        assert workers == [], "the worker was killed"


# -- restarts -----------------------------------------------------------------------------------


async def test_a_conversion_abandoned_by_a_dead_replica_runs_again_or_fails_after_its_attempts(
    plane: ControlPlane, tmp_path: Path
) -> None:
    """Conversions left Running by a replica that is gone: one with attempts left runs again
    to Succeeded; one that used them all fails with a message. Neither stays Running."""
    runner: ConversionRunner = plane.app.state.conversion_runner
    store: ConversionStore = plane.context.conversions.store
    now = plane.clock.now().timestamp()
    for conversion_id, attempts in (("again", 1), ("exhausted", MAX_ATTEMPTS)):
        job = CreateConversionBody.model_validate(body(tmp_path, "slow.glb")).job(conversion_id)
        abandoned = ConversionRecord(
            account_id=plane.account.id,
            id=conversion_id,
            input=job.input,
            output=job.output,
            status=ConversionStatus.RUNNING,
            created_at=now,
            attempts=attempts,
            started_at=now,
            claimed_by="gone",
            claimed_until=now + 3600,
        )
        assert await store.insert(abandoned)
    await asyncio.sleep(0.5)
    assert (await get(plane, "again")).json()["status"] == "Running"  # held by "gone"
    assert await runner.release(["gone"]) == 2  # as the scheduler does for a dead replica
    again = await wait_ended(plane, "again")
    assert again["status"] == "Succeeded", again
    exhausted = await wait_ended(plane, "exhausted")
    assert exhausted["status"] == "Failed", exhausted
    message = exhausted["error"]["message"]
    assert f"The service restarted {MAX_ATTEMPTS} times during this conversion" in message
    record = await plane.context.conversions.get(plane.account.id, "again")
    assert record.attempts == 2


async def test_ended_conversions_are_purged_after_the_retention_period(
    plane: ControlPlane, tmp_path: Path
) -> None:
    assert (await put(plane, "old", body(tmp_path))).status_code == 201
    await wait_ended(plane, "old")
    plane.clock.advance(timedelta(days=plane.settings.retention_days - 1))
    plane.refresh_token()
    await plane.scheduler.purge()
    assert (await get(plane, "old")).status_code == 200
    plane.clock.advance(timedelta(days=2))
    plane.refresh_token()
    await plane.scheduler.purge()
    assert (await get(plane, "old")).status_code == 404

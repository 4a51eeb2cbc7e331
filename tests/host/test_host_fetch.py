"""Getting model files: local checks, and http(s) downloads within size and time limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from renderhub.host.config import FetchLimits
from renderhub.host.errors import ModelLoadError
from renderhub.host.fetch import fetch_model
from renderhub.model_sources import ModelPolicy
from tests.host.host_testing import ModelServer


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def leftovers(directory: Path) -> list[Path]:
    return list(directory.iterdir())


def policy(models_dir: Path, server: ModelServer | None = None) -> ModelPolicy:
    return ModelPolicy(models_dir, (f"{server.url}/",) if server else ())


async def test_a_local_model_is_used_in_place(models_dir: Path, work_dir: Path) -> None:
    source = policy(models_dir).check("samples/cube.glb")

    path = await fetch_model(source, FetchLimits(), work_dir)

    assert path == (models_dir / "samples" / "cube.glb").resolve()


async def test_a_local_model_over_the_size_limit_is_refused(
    models_dir: Path, work_dir: Path
) -> None:
    source = policy(models_dir).check("samples/cube.glb")

    with pytest.raises(ModelLoadError, match="more than the limit of 1,000 bytes"):
        await fetch_model(source, FetchLimits(max_bytes=1000), work_dir)


async def test_a_missing_local_model_is_named(models_dir: Path, work_dir: Path) -> None:
    source = policy(models_dir).check("samples/gone.glb")

    with pytest.raises(ModelLoadError, match=r"'samples/gone.glb': .*gone.glb does not exist"):
        await fetch_model(source, FetchLimits(), work_dir)


async def test_a_download_lands_in_the_work_dir(
    models_dir: Path, work_dir: Path, model_server: ModelServer
) -> None:
    source = policy(models_dir, model_server).check(f"{model_server.url}/samples/gear.stl")

    path = await fetch_model(source, FetchLimits(), work_dir)

    assert path.parent == work_dir
    assert path.suffix == ".stl"
    assert path.read_bytes() == (models_dir / "samples" / "gear.stl").read_bytes()


@pytest.mark.parametrize(
    ("name", "limits", "expected"),
    [
        ("missing.glb", FetchLimits(), "the server answered 404 Not Found"),
        ("moved.glb", FetchLimits(), "answered 302 Found (redirects are not followed)"),
        ("samples/torus-knot.glb", FetchLimits(max_bytes=10_000), "larger than the limit"),
        ("unsized.glb", FetchLimits(max_bytes=100_000), "larger than the limit of 100,000 bytes"),
    ],
)
async def test_a_failed_download_says_why(
    models_dir: Path,
    work_dir: Path,
    model_server: ModelServer,
    name: str,
    limits: FetchLimits,
    expected: str,
) -> None:
    url = f"{model_server.url}/{name}"
    source = policy(models_dir, model_server).check(url)

    with pytest.raises(ModelLoadError) as raised:
        await fetch_model(source, limits, work_dir)

    assert raised.value.message.startswith(f"Could not download model {url!r}: ")
    assert expected in raised.value.message
    assert leftovers(work_dir) == []


async def test_a_stalled_download_stops_at_the_time_limit(
    models_dir: Path, work_dir: Path, model_server: ModelServer
) -> None:
    source = policy(models_dir, model_server).check(f"{model_server.url}/stall.glb")
    started = time.monotonic()

    with pytest.raises(ModelLoadError, match=r"took longer than the limit of 0\.5 seconds"):
        await fetch_model(source, FetchLimits(timeout_seconds=0.5), work_dir)

    assert time.monotonic() - started < 3
    assert leftovers(work_dir) == []


async def test_an_unreachable_server_is_reported(models_dir: Path, work_dir: Path) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"http://127.0.0.1:{port}/m.glb"
    source = ModelPolicy(models_dir, ("http://127.0.0.1",)).check(url)

    expected = r"^Could not download model .*: could not connect to its server \(.+\)\.$"
    with pytest.raises(ModelLoadError, match=expected):
        await fetch_model(source, FetchLimits(timeout_seconds=5), work_dir)

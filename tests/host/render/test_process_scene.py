"""The run-time scene across the process boundary: models added and removed, the newest state
sent with the next render, clear errors for bad calls, and a renderer that dies mid-upload."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import numpy as np
import pytest
import trimesh

from renderhub.frame_marker import read_marker
from renderhub.host.render import RendererError, RendererProcess
from renderhub.host.render.geometry import HIDDEN, SELECTED, ModelGeometry, SceneState
from renderhub.host.render.gl import GlRenderer
from tests.host.render.rendering import (
    box,
    front_view,
    geometry_of,
    loop_lags,
    object_mask,
    state_with,
    translation,
)

RED, BLUE = (230, 30, 30, 255), (30, 30, 230, 255)


@pytest.fixture
async def renderer() -> AsyncIterator[RendererProcess]:
    process = await RendererProcess.launch()
    yield process
    await process.aclose()


def two_parts() -> ModelGeometry:
    return geometry_of(box(0.5, (-0.6, 0.0, 0.0)), box(0.5, (0.6, 0.0, 0.0)), colours=[RED, BLUE])


def big_model(triangles: int) -> ModelGeometry:
    """A sphere of about `triangles` triangles, one part."""
    subdivisions = int(np.ceil(np.log(triangles / 20) / np.log(4)))
    return geometry_of(trimesh.creation.icosphere(subdivisions=subdivisions, radius=0.8))


async def test_the_process_draws_what_the_renderer_draws_in_process(
    renderer: RendererProcess,
) -> None:
    state = state_with(
        2,
        matrices=np.stack([translation(0.0, 0.4), np.eye(4, dtype=np.float32)]),
        flags=np.array([SELECTED, 0], dtype=np.uint8),
    )
    local = GlRenderer()
    try:
        local.add_model(3, 0, two_parts())
        local.set_state(state)
        expected = local.render(front_view(marker=8))
    finally:
        local.release()

    await renderer.add_model(3, 0, two_parts())
    renderer.set_state(state)
    frame = await renderer.render(front_view(marker=8))

    assert np.array_equal(frame.pixels, expected) and read_marker(frame.pixels) == 8
    assert renderer.model_ids == {3}
    assert renderer.info()["upload_ms"] >= 0 and renderer.info()["add_model_ms"] > 0


async def test_each_frame_reflects_the_newest_state_set_before_it(
    renderer: RendererProcess,
) -> None:
    await renderer.add_model(1, 0, two_parts())
    shown, hidden = (
        SceneState.identity(2),
        state_with(2, flags=np.array([HIDDEN, HIDDEN], np.uint8)),
    )
    drawn = []
    for states in ([shown], [hidden], [shown, hidden], [hidden, shown], [], [replace(hidden)]):
        for state in states:
            renderer.set_state(state)
        drawn.append(bool(object_mask((await renderer.render(front_view())).pixels).any()))

    assert drawn == [True, False, False, True, True, False]


async def test_removing_a_model_takes_it_out_of_the_next_frame(renderer: RendererProcess) -> None:
    await renderer.add_model(1, 0, geometry_of(box(0.5, (-0.6, 0.0, 0.0))))
    await renderer.add_model(2, 1, geometry_of(box(0.5, (0.6, 0.0, 0.0))))
    renderer.set_state(SceneState.identity(2))
    both = object_mask((await renderer.render(front_view())).pixels)

    await renderer.remove_model(1)
    one = object_mask((await renderer.render(front_view())).pixels)

    assert both[:, :160].any() and not one[:, :160].any()
    assert np.array_equal(both[:, 160:], one[:, 160:]) and renderer.model_ids == {2}


async def test_bad_calls_raise_value_error_and_the_renderer_carries_on(
    renderer: RendererProcess,
) -> None:
    await renderer.add_model(1, 0, two_parts())
    renderer.set_state(SceneState.identity(2))
    before = (await renderer.render(front_view())).pixels.copy()
    broken = replace(two_parts(), indices=np.array([0, 1, 10_000], dtype=np.uint32))
    wrong_part = replace(two_parts(), part_count=1)
    float_colours = replace(two_parts(), colours=two_parts().colours / 255.0)

    with pytest.raises(ValueError, match="has no model 5"):
        await renderer.remove_model(5)
    with pytest.raises(ValueError, match="has a model 1 already"):
        await renderer.add_model(1, 10, two_parts())
    with pytest.raises(ValueError, match="negative"):
        await renderer.add_model(2, -3, two_parts())
    with pytest.raises(ValueError, match="beyond its"):
        await renderer.add_model(2, 0, broken)
    with pytest.raises(ValueError, match="parts beyond"):
        await renderer.add_model(2, 0, wrong_part)
    with pytest.raises(ValueError, match="colours must be a uint8 array"):
        await renderer.add_model(2, 0, float_colours)
    with pytest.raises(ValueError, match="SceneState"):
        renderer.set_state("hidden")  # type: ignore[arg-type]

    assert np.array_equal((await renderer.render(front_view())).pixels, before)
    assert renderer.model_ids == {1}


async def test_a_large_upload_keeps_the_loop_running_and_renders_wait_for_it(
    renderer: RendererProcess,
) -> None:
    model = big_model(1_000_000)
    renderer.set_state(SceneState.identity(1))
    async with loop_lags() as lags:
        began = time.perf_counter()
        adding = asyncio.create_task(renderer.add_model(1, 0, model))
        await asyncio.sleep(0)
        frame = await renderer.render(front_view())  # asked after the upload: waits for it
        await adding
        took = time.perf_counter() - began

    assert model.triangles >= 1_000_000
    assert object_mask(frame.pixels)[120, 160]  # the model was there for the frame
    assert len(lags) > 10 and max(lags) < took / 4


async def test_a_renderer_that_dies_during_an_upload_is_reported(
    renderer: RendererProcess,
) -> None:
    model = big_model(1_000_000)
    assert renderer.pid is not None

    adding = asyncio.create_task(renderer.add_model(1, 0, model))
    await asyncio.sleep(0.01)
    os.kill(renderer.pid, signal.SIGKILL)

    with pytest.raises(RendererError, match="ended unexpectedly while uploading a model"):
        await adding
    assert renderer.closed and renderer.model_ids == set()
    with pytest.raises(RendererError, match="closed"):
        await renderer.add_model(2, 0, two_parts())


async def test_a_cancelled_upload_still_completes_and_keeps_the_pipe_in_step(
    renderer: RendererProcess,
) -> None:
    adding = asyncio.create_task(renderer.add_model(1, 0, big_model(300_000)))
    await asyncio.sleep(0.01)
    adding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await adding

    renderer.set_state(SceneState.identity(1))
    frame = await renderer.render(front_view(marker=3))  # waits for the upload

    assert renderer.model_ids == {1} and read_marker(frame.pixels) == 3
    assert object_mask(frame.pixels)[120, 160]
    await renderer.remove_model(1)
    assert renderer.model_ids == set()


async def test_calls_after_close_raise_renderer_error(renderer: RendererProcess) -> None:
    await renderer.aclose()

    with pytest.raises(RendererError, match="closed"):
        renderer.set_state(SceneState.identity(1))
    with pytest.raises(RendererError, match="closed"):
        await renderer.remove_model(1)

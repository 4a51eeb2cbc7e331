"""The renderer in its own process: frames through shared memory, clean ends, clear errors."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from renderhub.frame_marker import BLOCK, read_marker
from renderhub.host.frames import FrameSource
from renderhub.host.render import RendererError, RendererProcess
from tests.host.host_testing import wait_until
from tests.host.render.rendering import (
    front_view,
    loop_lags,
    object_mask,
    process_of,
    renderer_of,
    sample_scene,
)


@pytest.fixture
async def renderer() -> AsyncIterator[RendererProcess]:
    process = await process_of(sample_scene("cube.glb"))
    yield process
    await process.aclose()


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def frame_memory_fds(pid: int) -> list[str]:
    """The memfds process `pid` holds open (the frame memory, while being handed over)."""
    targets = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # e.g. the fd listing the folder
            targets.append(os.readlink(fd))
    return [target for target in targets if "renderhub-frames" in target]


async def test_launch_render_close_leaves_no_process_and_no_shared_memory() -> None:
    renderer: FrameSource = await process_of(sample_scene("cube.glb"))
    assert isinstance(renderer, RendererProcess)
    pid = renderer.pid
    try:
        assert pid is not None and not gone(pid)
        frame = await renderer.render(front_view(eye=(1.5, 1.2, 2.0), marker=77))
    finally:
        await renderer.aclose()

    assert frame.sequence == 1 and frame.render_ms > 0
    assert frame.pixels.shape == (240, 320, 3) and read_marker(frame.pixels) == 77
    assert gone(pid)
    # The frame memory is a memfd, never named in /dev/shm; it goes with its last mapping.
    del frame
    gc.collect()
    assert frame_memory_fds(os.getpid()) == []


async def test_a_launched_renderer_draws_the_background_until_it_has_models() -> None:
    renderer = await RendererProcess.launch()
    try:
        assert {"renderer", "gpu", "startup_ms"} <= set(renderer.info())
        empty = await renderer.render(front_view(marker=4))
        assert not object_mask(empty.pixels[:-BLOCK]).any() and read_marker(empty.pixels) == 4
        cube = sample_scene("cube.glb")
        (model,) = cube.models
        await renderer.add_model(model.root, model.first_slot, model.geometry)
        untouched = await renderer.render(front_view(marker=5))  # no state yet: not drawn
        assert not object_mask(untouched.pixels[:-BLOCK]).any()
        renderer.set_state(cube.state)
        frame = await renderer.render(front_view(marker=6))
    finally:
        await renderer.aclose()

    assert read_marker(frame.pixels) == 6 and object_mask(frame.pixels).any()
    assert {"startup_ms", "upload_ms", "add_model_ms"} <= set(renderer.info())


async def test_a_launched_renderer_closed_before_its_scene_exits() -> None:
    renderer = await RendererProcess.launch()
    pid = renderer.pid
    assert pid is not None

    await renderer.aclose()

    assert gone(pid)


async def test_frames_match_an_in_process_render_and_info_names_the_renderer(
    renderer: RendererProcess,
) -> None:
    view = front_view(eye=(1.5, 1.2, 2.0))
    local = renderer_of(sample_scene("cube.glb"))
    try:
        expected = local.render(view)
    finally:
        local.release()

    frame = await renderer.render(view)

    assert np.array_equal(frame.pixels, expected)
    info = renderer.info()
    assert info["renderer"] and isinstance(info["gpu"], bool)
    assert info["startup_ms"] > 0 and info["upload_ms"] >= 0


async def test_the_previous_frame_stays_valid_while_the_next_renders(
    renderer: RendererProcess,
) -> None:
    first = await renderer.render(front_view(marker=1))
    kept = first.pixels.copy()

    second = await renderer.render(front_view(eye=(2.0, 1.0, 2.0), marker=2))
    assert np.array_equal(first.pixels, kept)
    assert not np.shares_memory(first.pixels, second.pixels)

    third = await renderer.render(front_view(marker=3))
    assert np.shares_memory(first.pixels, third.pixels)  # the render after next reuses it
    assert [read_marker(f.pixels) for f in (second, third)] == [2, 3]
    assert [f.sequence for f in (first, second, third)] == [1, 2, 3]


async def test_sizes_can_change_from_frame_to_frame(renderer: RendererProcess) -> None:
    for width, height in [(3840, 2160), (160, 120), (1280, 720)]:
        frame = await renderer.render(front_view(width=width, height=height, marker=width))
        assert frame.pixels.shape == (height, width, 3)
        assert read_marker(frame.pixels) == width


async def test_concurrent_renders_take_turns(renderer: RendererProcess) -> None:
    frames = await asyncio.gather(*(renderer.render(front_view(marker=m)) for m in (5, 6, 7)))

    assert sorted(f.sequence for f in frames) == [1, 2, 3]
    assert read_marker(frames[-1].pixels) == 7


async def test_a_cancelled_render_does_not_confuse_the_next(renderer: RendererProcess) -> None:
    cancelled = asyncio.create_task(renderer.render(front_view(marker=10)))
    await asyncio.sleep(0)  # the request is on its way
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled

    frame = await renderer.render(front_view(marker=11))

    assert read_marker(frame.pixels) == 11 and frame.sequence == 2


async def test_a_bad_view_is_refused_and_the_renderer_carries_on(
    renderer: RendererProcess,
) -> None:
    with pytest.raises(ValueError, match="outside"):
        await renderer.render(front_view(width=8000))

    frame = await renderer.render(front_view(marker=4))
    assert read_marker(frame.pixels) == 4


async def test_render_after_close_raises_and_close_is_idempotent() -> None:
    renderer = await process_of(sample_scene("cube.glb"))
    frame = await renderer.render(front_view(marker=9))
    await renderer.aclose()
    await renderer.aclose()

    with pytest.raises(RendererError, match="closed"):
        await renderer.render(front_view())
    assert read_marker(frame.pixels) == 9  # a frame handed out before stays readable


async def test_no_egl_gives_a_clear_error_on_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLCONTEXT_LINUX_LIBEGL", "/nonexistent/libEGL.so.1")

    started = time.monotonic()
    with pytest.raises(RendererError, match=r"^Could not create an OpenGL context through EGL: "):
        await RendererProcess.launch()

    assert time.monotonic() - started < 10
    assert frame_memory_fds(os.getpid()) == []


async def test_a_renderer_that_dies_gives_an_error_not_a_hang(renderer: RendererProcess) -> None:
    assert renderer.pid is not None
    os.kill(renderer.pid, signal.SIGKILL)

    with pytest.raises(RendererError, match="ended unexpectedly"):
        await renderer.render(front_view())
    assert renderer.closed and frame_memory_fds(os.getpid()) == []


async def test_a_renderer_that_does_not_answer_in_time_is_stopped() -> None:
    renderer = await process_of(sample_scene("torus-knot.glb"), render_timeout=0.001)
    pid = renderer.pid
    assert pid is not None

    with pytest.raises(RendererError, match="did not answer in time"):
        await renderer.render(front_view(width=3840, height=2160))
    assert renderer.closed and gone(pid) and frame_memory_fds(os.getpid()) == []


async def test_the_event_loop_keeps_running_while_frames_render(
    renderer: RendererProcess,
) -> None:
    render_ms = []
    async with loop_lags() as lags:
        for _ in range(6):
            frame = await renderer.render(front_view(width=3840, height=2160))
            render_ms.append(frame.render_ms)

    # Blocking on the renderer would stall the loop for a whole render each time.
    assert len(lags) > 10
    assert np.median(lags) * 1000 < min(np.median(render_ms) / 2, 10)


HELPER = """
import asyncio
import contextlib
import gc
import aiortc  # stands in for the host's web stack, which the renderer must not load

from renderhub.host.frames import View
from renderhub.host.meshes import load_model_file
from renderhub.host.render import RendererProcess
from renderhub.host.runtime.model import SceneModel
from renderhub.samples import sample_files

# No `if __name__ == "__main__"` guard on purpose: the renderer must not run this script.
path = sample_files()[0]
scene = SceneModel()
added = scene.add_model(load_model_file(path.name, path))


async def main() -> None:
    renderer = await RendererProcess.launch()
    await renderer.add_model(added.root, added.first_slot, added.geometry)
    renderer.set_state(scene.state())
    await renderer.render(View(eye=(0.0, 0.0, 3.0), target=(0.0, 0.0, 0.0)))
    print(renderer.pid, flush=True)
    await asyncio.sleep(60)


asyncio.run(main())
"""


def test_the_renderer_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "host.py"
    script.write_text(textwrap.dedent(HELPER))
    stderr = (tmp_path / "stderr.txt").open("wb")
    helper = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=stderr, cwd=tmp_path
    )
    try:
        assert helper.stdout is not None
        line = helper.stdout.readline().decode()  # the helper's own deadline: its 60 s sleep
        assert line, (tmp_path / "stderr.txt").read_text()
        pid = int(line)
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "aiortc" not in maps and "/av/" not in maps and "av.libs" not in maps
        assert "av.libs" in Path(f"/proc/{helper.pid}/maps").read_text()

        helper.send_signal(signal.SIGKILL)
        helper.wait(timeout=10)

        wait_until(lambda: True if gone(pid) else None, 5.0, "the orphaned renderer to exit")
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait(timeout=10)
        stderr.close()

"""The scene runtime and one client's channel over a real SceneModel with the sample models;
the renderer is a double that records the geometry and state it is handed."""

from __future__ import annotations

import asyncio
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from renderhub.host.config import FetchLimits
from renderhub.host.render.geometry import HIDDEN
from renderhub.host.runtime.loads import PROGRESS_INTERVAL_SECONDS, ModelSources, fetch_and_prepare
from renderhub.host.runtime.model import SceneModel
from renderhub.host.runtime.runtime import MAX_LOADS, SceneRuntime
from renderhub.model_sources import ModelPolicy
from tests.host.host_testing import ModelServer
from tests.host.runtime.runtime_testing import (
    Client,
    FailingRenderer,
    client_of,
    make_runtime,
    scene_now,
    world_centre,
)
from tests.host.stream.doubles import PictureSource

CUBE, KNOT = "samples/cube.glb", "samples/torus-knot.glb"


@pytest.fixture
async def runtime(models_dir: Path) -> SceneRuntime:
    runtime = make_runtime(models_dir)
    await runtime.attach(PictureSource())
    return runtime


@pytest.fixture
def client(runtime: SceneRuntime) -> Client:
    return client_of(runtime)


def renderer_of(runtime: SceneRuntime) -> PictureSource:
    renderer = runtime.renderer
    assert isinstance(renderer, PictureSource)
    return renderer


async def test_loading_two_models_gives_their_trees_and_hands_them_to_the_renderer(
    runtime: SceneRuntime, client: Client
) -> None:
    cube = await client.result("load_model", url=CUBE)
    knot = await client.result("load_model", url=KNOT)

    for loaded, url in ((cube, CUBE), (knot, KNOT)):
        root = loaded["root"]
        assert root["model"] == root["id"] and "parent" not in root
        assert root["metadata"] == {"url": url}
        assert loaded["entities"][0] == root
        ids = {entity["id"] for entity in loaded["entities"]}
        for entity in loaded["entities"][1:]:
            assert entity["parent"] in ids and entity["model"] == root["id"]
        assert "warning" not in loaded
    assert {cube["root"]["id"], knot["root"]["id"]}.isdisjoint(
        {e["id"] for e in cube["entities"][1:]} | {e["id"] for e in knot["entities"][1:]}
    )
    renderer = renderer_of(runtime)
    assert sorted(renderer.models) == sorted([cube["root"]["id"], knot["root"]["id"]])
    assert renderer.states[-1].slots >= 2
    polygons = sum(e["polygons"] for e in cube["entities"] + knot["entities"])
    assert runtime.model.polygons_loaded == polygons == 12 + 18_432
    tree = await client.result("entities")
    assert tree["entities"] == cube["entities"] + knot["entities"]


async def test_a_load_reports_its_progress_at_most_ten_times_a_second(client: Client) -> None:
    await client.result("load_model", url=KNOT)
    progress = [m for m in client.received if m["type"] == "progress"]
    assert progress and progress[0]["stage"] == "fetching"
    stages = [m["stage"] for m in progress]
    assert stages == sorted(stages, key=["fetching", "parsing", "uploading"].index)
    assert all(m["seq"] == 1 and 0 <= m["fraction"] <= 1 for m in progress)
    assert client.received.index(progress[-1]) < client.received.index(await client.answer_to(1))


async def test_progress_events_are_spaced_out() -> None:
    from renderhub.host.runtime.loads import ThrottledProgress

    sent: list[tuple[float, str, float]] = []
    loop = asyncio.get_running_loop()
    throttled = ThrottledProgress(lambda stage, f: sent.append((loop.time(), stage, f)))
    for step in range(200):
        throttled("fetching", step / 200)
        await asyncio.sleep(0.002)
    throttled("parsing", 0.0)
    await asyncio.sleep(PROGRESS_INTERVAL_SECONDS * 1.5)
    throttled.close()
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= PROGRESS_INTERVAL_SECONDS * 0.9
    assert len(sent) <= 1 + (sent[-1][0] - sent[0][0]) / PROGRESS_INTERVAL_SECONDS + 1
    assert sent[-1][1:] == ("parsing", 0.0), "the last stage reached is told"


async def test_a_model_attached_under_an_entity(client: Client) -> None:
    cube = await client.result("load_model", url=CUBE)
    knot = await client.result("load_model", url=KNOT, parent=cube["root"]["id"])
    assert knot["root"]["parent"] == cube["root"]["id"]

    removed = await client.result("unload_model", id=cube["root"]["id"])
    assert set(removed["removed"]) == {e["id"] for e in cube["entities"] + knot["entities"]}
    assert (await client.result("entities"))["entities"] == []


async def test_refused_loads_change_nothing(
    runtime: SceneRuntime, client: Client, models_dir: Path
) -> None:
    await client.result("load_model", url=CUBE)
    before = scene_now(runtime)
    (models_dir / "broken.glb").write_bytes(b"not a model")

    cases = [
        ("https://example.com/model.glb", "ModelNotAllowed"),
        ("../outside.glb", "ModelNotAllowed"),
        ("samples/model.txt", "ModelNotAllowed"),
        ("samples/missing.glb", "ModelLoadFailed"),
        ("broken.glb", "ModelLoadFailed"),
    ]
    for url, code in cases:
        error = await client.request("load_model", url=url)
        assert (error["type"], error["code"], error["target"]) == ("error", code, "url"), error
        assert error["seq"] == client.seq
    error = await client.request("load_model", url=KNOT, parent=999)
    assert (error["code"], error["target"]) == ("EntityNotFound", "parent")
    assert scene_now(runtime) == before
    assert len(renderer_of(runtime).models) == 1


async def test_at_most_four_loads_run_at_once(runtime: SceneRuntime, client: Client) -> None:
    for _ in range(MAX_LOADS + 1):
        client.seq += 1
        await client.send({"type": "load_model", "seq": client.seq, "url": KNOT})
    refused = await client.answer_to(MAX_LOADS + 1)
    assert refused["code"] == "LimitExceeded"
    for seq in range(1, MAX_LOADS + 1):
        assert (await client.answer_to(seq))["type"] == "reply"
    assert len(runtime.model.model_roots()) == MAX_LOADS


async def test_a_load_completes_into_the_scene_after_its_client_has_gone(
    runtime: SceneRuntime, models_dir: Path
) -> None:
    gone = client_of(runtime)
    gone.seq += 1
    await gone.send({"type": "load_model", "seq": 1, "url": KNOT})
    gone.channel._send = lambda message: False  # the channel has closed

    async with asyncio.timeout(20):
        await runtime.loads_ended()
    assert len(runtime.model.model_roots()) == 1
    assert not gone.answers(1)
    assert len(renderer_of(runtime).models) == 1


async def test_moving_hiding_and_tinting_reach_the_renderer(
    runtime: SceneRuntime, client: Client
) -> None:
    cube = await client.result("load_model", url=CUBE)
    part = cube["entities"][-1]
    renderer = renderer_of(runtime)
    slots = runtime.model.slots_of(cube["root"]["id"])

    moved = await client.result(
        "set_transforms", transforms=[{"id": cube["root"]["id"], "position": [3, 0, 0]}]
    )
    assert moved == {"count": 1}
    assert renderer.states[-1].matrices[slots.start][0, 3] == pytest.approx(3.0)

    hidden = await client.result("set_state", id=part["id"], hidden=True, tint=[1, 0, 0, 0.5])
    assert hidden["entity"]["state"] == {"hidden": True, "tint": [1, 0, 0, 0.5]}
    state = renderer.states[-1]
    assert state.flags[slots.start] & HIDDEN
    assert list(state.tints[slots.start]) == [1, 0, 0, 0.5]
    assert (await client.result("stats"))["polygons_rendered"] == 0

    await client.result("set_state", id=part["id"], hidden=None)
    assert not renderer.states[-1].flags[slots.start] & HIDDEN
    assert (await client.result("stats"))["polygons_rendered"] == 12


async def test_refused_changes_change_nothing(runtime: SceneRuntime, client: Client) -> None:
    cube = await client.result("load_model", url=CUBE)
    root = cube["root"]["id"]
    plane = await client.result("add_cut_plane", point=[0, 0, 0], normal=[1, 0, 0])
    before, states = scene_now(runtime), len(renderer_of(runtime).states)

    refusals = [
        ("set_transforms", {"transforms": [{"id": root, "position": [1, 1, 1]}, {"id": 999}]}),
        ("set_transforms", {"transforms": [{"id": root, "rotation": [0, 0, 0, 0]}]}),
        ("set_transforms", {"transforms": [{"id": root, "scale": [1, 0, 1]}]}),
        ("set_state", {"id": 999, "hidden": True}),
        ("unload_model", {"id": 999}),
        ("unload_model", {"id": cube["entities"][-1]["id"]}),
        ("entities", {"root": 999}),
        ("set_cut_plane", {"id": 999, "point": [1, 0, 0]}),
        ("set_cut_plane", {"id": plane["id"], "normal": [0, 0, 0]}),
        ("remove_cut_plane", {"id": 999}),
        ("add_cut_plane", {"point": [0, 0, 0], "normal": [0, 0, 0]}),
        ("raycast", {"origin": [0, 0, 0], "direction": [0, 0, 0]}),
        ("set_camera", {"position": [1, 2, 3], "target": [1, 2, 3]}),
    ]
    codes = []
    for kind, fields in refusals:
        error = await client.request(kind, **fields)
        assert error["type"] == "error" and error["seq"] == client.seq, error
        codes.append(error["code"])
    assert codes == [
        "EntityNotFound",
        "InvalidField",
        "InvalidField",
        "EntityNotFound",
        "EntityNotFound",
        "NotAModel",
        "EntityNotFound",
        "CutPlaneNotFound",
        "InvalidField",
        "CutPlaneNotFound",
        "InvalidField",
        "InvalidField",
        "InvalidField",
    ]
    assert scene_now(runtime) == before
    assert len(renderer_of(runtime).states) == states, "nothing new sent to the renderer"


async def test_cut_planes_are_added_changed_listed_and_removed(
    runtime: SceneRuntime, client: Client
) -> None:
    added = await client.result("add_cut_plane", point=[0, 0, 0], normal=[0, 2, 0], fade_length=0.1)
    plane = (await client.result("set_cut_plane", id=added["id"], point=[0, 0.5, 0]))["plane"]
    assert plane["id"] == added["id"]
    assert plane["point"] == [0, 0.5, 0] and plane["normal"] == [0, 1, 0]
    assert plane["fade_length"] == pytest.approx(0.1)
    assert (await client.result("cut_planes"))["planes"] == [plane]
    assert len(renderer_of(runtime).states[-1].cut_planes) == 1
    for _ in range(7):
        await client.result("add_cut_plane", point=[0, 0, 0], normal=[1, 0, 0])
    ninth = await client.request("add_cut_plane", point=[0, 0, 0], normal=[1, 0, 0])
    assert ninth["code"] == "LimitExceeded"
    assert await client.result("remove_cut_plane", id=added["id"]) == {}
    assert len(renderer_of(runtime).states[-1].cut_planes) == 7


async def test_rays_hit_miss_and_pass_hidden_entities(client: Client) -> None:
    cube = await client.result("load_model", url=CUBE)
    part = cube["entities"][-1]
    centre = world_centre(part)
    origin = [float(centre[0]), float(centre[1]), float(centre[2]) + 10]

    hits = (await client.result("raycast", origin=origin, direction=[0, 0, -1]))["hits"]
    assert [hit["entity"] for hit in hits] == [part["id"]]
    assert hits[0]["normal"] == pytest.approx([0, 0, 1], abs=1e-5)
    assert hits[0]["distance"] == pytest.approx(10 - (part["bounds"]["max"][2] - centre[2]))
    every = await client.result("raycast", origin=origin, direction=[0, 0, -1], mode="all")
    assert len(every["hits"]) == 2
    assert (await client.result("raycast", origin=origin, direction=[0, 1, 0]))["hits"] == []
    short = await client.result("raycast", origin=origin, direction=[0, 0, -1], max_distance=1)
    assert short["hits"] == []

    await client.result("set_state", id=cube["root"]["id"], hidden=True)
    assert (await client.result("raycast", origin=origin, direction=[0, 0, -1]))["hits"] == []


async def test_pick_casts_through_the_picture_from_the_camera(client: Client) -> None:
    cube = await client.result("load_model", url=CUBE)
    part = cube["entities"][-1]
    centre = [float(v) for v in world_centre(part)]

    camera = await client.result(
        "set_camera", position=[centre[0], centre[1], centre[2] + 5], target=centre, fov=40
    )
    assert camera["camera"]["position"] == pytest.approx([centre[0], centre[1], centre[2] + 5])
    assert camera["camera"]["fov"] == 40
    assert (await client.result("camera")) == camera

    middle = (await client.result("pick", x=0.5, y=0.5))["hits"]
    assert [hit["entity"] for hit in middle] == [part["id"]]
    assert middle[0]["position"][2] == pytest.approx(part["bounds"]["max"][2], abs=1e-4)
    assert (await client.result("pick", x=0.02, y=0.02))["hits"] == []

    # A point up and to the right of the middle hits the cube up and to the right.
    half = part["bounds"]["max"][0] - centre[0]
    reach = half * 0.5 / (5 - half) / math.tan(math.radians(20))  # fraction of half the view
    corner = await client.result("pick", x=0.5 + reach * 240 / 320 / 2, y=0.5 - reach / 2)
    hit = corner["hits"][0]["position"]
    assert hit[0] == pytest.approx(centre[0] + half * 0.5, abs=1e-3)
    assert hit[1] == pytest.approx(centre[1] + half * 0.5, abs=1e-3)


async def test_orbit_goes_on_from_a_camera_that_was_set(client: Client) -> None:
    await client.result("set_camera", position=[0, 0, 4], target=[0, 0, 0])
    await client.send({"type": "orbit", "dx": 0.5, "dy": 0, "seq": 99})
    assert client.answers(99) == [{"type": "reply", "seq": 99, "result": {}}]
    eye = (await client.result("camera"))["camera"]["position"]
    assert eye == pytest.approx([-4, 0, 0], abs=1e-6)


async def test_the_marker_shows_the_newest_applied_request(client: Client) -> None:
    await client.send({"type": "marker", "enabled": True, "seq": 1})
    client.seq = 1
    assert client.controls.view().marker == 1
    await client.result("add_cut_plane", point=[0, 0, 0], normal=[1, 0, 0])
    assert client.controls.view().marker == 2
    await client.request("remove_cut_plane", id=99)
    assert client.controls.view().marker == 2, "a refused request is not applied"
    await client.result("load_model", url=CUBE)
    assert client.controls.view().marker == 4
    await client.send({"type": "ping", "t": 5, "seq": 70000})
    assert client.answers(70000) == [{"type": "pong", "t": 5.0, "seq": 70000}]
    assert client.controls.view().marker == 4, "a ping is no input"


async def test_stats_count_the_scene(client: Client) -> None:
    await client.result("load_model", url=CUBE)
    await client.result("load_model", url=KNOT)
    await client.result("add_cut_plane", point=[0, 0, 0], normal=[1, 0, 0])
    stats = await client.result("stats")
    assert stats["polygons_loaded"] == stats["polygons_rendered"] == 12 + 18_432
    assert stats["models"] == 2 and stats["cut_planes"] == 1
    assert stats["entities"] == len((await client.result("entities"))["entities"])
    assert (stats["width"], stats["height"]) == (320, 240)
    assert stats["frames_rendered"] == stats["frames_sent"] == 0
    assert stats["render_ms"] is None and stats["encode_ms"] is None
    assert stats["fps_sent"] == 0


async def test_over_the_polygon_limit_a_load_warns_and_asks_for_a_checkerboard(
    models_dir: Path,
) -> None:
    runtime = make_runtime(models_dir, polygon_limit=1000)
    await runtime.attach(PictureSource())
    client = client_of(runtime)
    assert "warning" not in await client.result("load_model", url=CUBE)
    knot = await client.result("load_model", url=KNOT)
    assert knot["warning"] == runtime.model.over_limit_message()
    assert renderer_of(runtime).states[-1].checkerboard is not None
    await client.result("unload_model", id=knot["root"]["id"])
    assert renderer_of(runtime).states[-1].checkerboard is None


async def test_a_failed_renderer_makes_the_scene_unavailable(models_dir: Path) -> None:
    runtime = make_runtime(models_dir)
    await runtime.attach(FailingRenderer())
    client = client_of(runtime)

    error = await client.request("load_model", url=CUBE)
    assert error["code"] == "Unavailable"
    assert "The renderer process is gone." in error["message"]
    assert runtime.model.model_roots() == []
    later = await client.request("add_cut_plane", point=[0, 0, 0], normal=[1, 0, 0])
    assert later["code"] == "Unavailable"
    assert (await client.result("entities")) == {"entities": []}, "reading still works"


async def test_a_burst_of_bad_messages_gets_one_error_each(
    runtime: SceneRuntime, client: Client
) -> None:
    await client.result("load_model", url=CUBE)
    before = scene_now(runtime)
    bad = [
        {"type": "nothing"},
        {"type": "set_state", "id": "x"},
        {"type": "set_state", "id": 999, "hidden": True},
        {"type": "set_transforms", "transforms": [{"id": 1, "position": [1e300, 0, 0]}]},
    ]
    for n in range(100):
        await client.send({**bad[n % len(bad)], "seq": 1000 + n})
    for n in range(100):
        answers = client.answers(1000 + n)
        assert len(answers) == 1 and answers[0]["type"] == "error", answers
    await client.send(
        '{"type": "add_cut_plane", "seq": 2000, "point": [NaN, 0, 0], "normal": [1, 0, 0]}'
    )
    assert client.answers(2000)[0]["target"] == "point"
    assert scene_now(runtime) == before
    assert np.isfinite(runtime.model.state().matrices).all()


async def test_a_request_that_fails_unexpectedly_still_gets_one_answer(
    runtime: SceneRuntime, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.result("load_model", url=CUBE)

    def out_of_memory(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(runtime.model, "raycast", out_of_memory)
    error = await client.request("raycast", origin=[0, 0, 5], direction=[0, 0, -1])
    assert error["code"] == "InternalError"
    assert "MemoryError" in error["message"]
    assert len(client.answers(error["seq"])) == 1
    assert (await client.result("stats"))["models"] == 1, "the channel goes on answering"


async def test_a_download_reports_its_bytes_then_the_parse(
    models_dir: Path, model_server: ModelServer
) -> None:
    policy = ModelPolicy(models_dir, (f"{model_server.url}/",))
    sources = ModelSources(policy, FetchLimits())
    scene = SceneModel()
    told: list[tuple[str, float]] = []

    prepared = await fetch_and_prepare(
        f"{model_server.url}/{KNOT}", sources, scene, lambda stage, f: told.append((stage, f))
    )

    assert prepared.loaded.polygons == 18_432
    fetching = [fraction for stage, fraction in told if stage == "fetching"]
    assert len(fetching) > 2, "one report per chunk"
    assert fetching == sorted(fetching) and fetching[-1] == 1.0
    assert told[-1] == ("parsing", 0.0)


async def test_a_download_too_slow_fails_the_load(
    models_dir: Path, model_server: ModelServer
) -> None:
    policy = ModelPolicy(models_dir, (f"{model_server.url}/",))
    runtime = SceneRuntime(SceneModel(), ModelSources(policy, FetchLimits(timeout_seconds=0.5)))
    await runtime.attach(PictureSource())
    client = client_of(runtime)

    error = await client.request("load_model", url=f"{model_server.url}/stall.glb")

    assert (error["code"], error["target"]) == ("ModelLoadFailed", "url")
    assert "longer than the limit of 0.5 seconds" in error["message"]
    assert runtime.model.model_roots() == []


async def test_requests_after_a_load_are_answered_while_it_runs(client: Client) -> None:
    running = asyncio.create_task(client.channel.run())
    try:
        client.channel.receive('{"type": "load_model", "seq": 1, "url": "samples/torus-knot.glb"}')
        client.channel.receive(
            '{"type": "add_cut_plane", "seq": 2, "point": [0, 0, 0], "normal": [0, 1, 0]}'
        )
        client.channel.receive('{"type": "entities", "seq": 3}')
        await client.answer_to(1)
    finally:
        running.cancel()
    order = [m["seq"] for m in client.received if m["type"] == "reply"]
    assert order == [2, 3, 1]
    assert client.answers(3)[0]["result"] == {"entities": []}, "the model was not in yet"

"""The scene from a browser: the host's module /sdk/renderhub.js in real headless Chromium
works on a real render host's scene, and the viewer's panel loads a model, selects what a
click hits (its outline appears in the video) and hides it (it leaves the video)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page

from renderhub.host.render.gl_outline import OUTLINE_COLOUR
from tests.e2e.browser import (
    ViewedSession,
    chromium,
    count_video_pixels,
    video_pixels,
    viewed_session,
    wait_for,
)
from tests.host.runtime.model_files import GROUPS, PARTS_PER_GROUP, write_many_parts

pytestmark = pytest.mark.e2e

PICTURE = (160, 90)  # the size video_pixels reads the frame at
OUTLINE_RGB = tuple(channel * 255 for channel in OUTLINE_COLOUR)
OUTLINE_TOLERANCE = 50  # H.264 and its halved chroma blur a line two pixels wide


@pytest.fixture
def session(tmp_path: Path) -> Iterator[ViewedSession]:
    with viewed_session(tmp_path / "data", []) as viewed:
        yield viewed


@pytest.fixture
def large_model(tmp_path: Path, session: ViewedSession) -> str:
    """The model of over a thousand nodes, in the server's models folder; its URL."""
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True, exist_ok=True)
    write_many_parts(models)
    return "many.glb"


MANY_ENTITIES = 1 + GROUPS * (1 + PARTS_PER_GROUP)


def _module_page(page: Page, session: ViewedSession) -> None:
    """A page of the host's origin with nothing on it but the module's text."""
    page.goto(f"{session.host}/sdk/renderhub.js")


def _run(page: Page, body: str, token: str) -> Any:
    """Run `body` in the page and return what it returns: JavaScript with `connect`,
    `RenderHubError` and `token` in scope, awaiting allowed; `caught(promise)` gives the
    RenderHubError a promise rejects with (null if it resolves)."""
    script = (
        "async (token) => {\n"
        '  const { connect, RenderHubError } = await import("/sdk/renderhub.js");\n'
        "  const caught = (promise) => promise.then(() => null, (e) => ({name: e.name,\n"
        "    code: e.code, target: e.target, seq: e.seq, message: e.message}));\n"
        f"{body}\n}}"
    )
    return page.evaluate(script, token)


def test_the_module_is_served_to_any_page(session) -> None:
    response = httpx.get(f"{session.host}/sdk/renderhub.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "export async function connect" in response.text


def test_the_module_connects_steers_and_closes(session) -> None:
    with chromium() as browser:
        page = browser.new_page()
        _module_page(page, session)
        refused = _run(page, "return await caught(connect({token: token + 'x'}));", session.token)
        assert refused["name"] == "RenderHubError"
        assert "token" in refused["message"].lower()

        result = _run(
            page,
            """
            const session = await connect({token});
            const pong = new Promise((resolve) => session.on("pong", resolve));
            session.ping();
            const seqs = [session.orbit(0.1, 0), session.zoom(0.9), session.reset({seq: false})];
            const typo = await caught(session.setState(1, {hiden: true}));
            const unknown = await caught(session.request("no_such_type"));
            const missing = await caught(session.setState(12345, {hidden: true}));
            const closed = new Promise((resolve) => session.on("close", resolve));
            session.close();
            const after = await caught(session.stats());
            return {hello: session.hello, models: session.scene.models, seqs, typo, unknown,
                    missing, rtt: (await pong).rttMs, closed: await closed, after,
                    peer: session.peer.connectionState};
            """,
            session.token,
        )
    assert result["hello"]["type"] == "hello" and result["hello"]["width"] > 0
    assert result["models"] == []
    assert result["seqs"] == [1, 2, None]  # counted by the module; a reset sent without
    assert result["typo"]["code"] == "InvalidField" and result["typo"]["target"] == "state.hiden"
    assert result["typo"]["seq"] is None  # refused before sending: it took no seq
    assert result["unknown"]["code"] == "UnknownType" and result["unknown"]["seq"] == 3
    assert result["missing"]["code"] == "EntityNotFound" and result["missing"]["seq"] == 4
    assert result["missing"]["target"] == "id"
    assert 0 <= result["rtt"] < 1000
    assert result["closed"] == "closed by the client"
    assert result["after"]["code"] == "Closed"
    assert result["peer"] == "closed"


def test_the_module_works_on_the_scene(session) -> None:
    with chromium() as browser:
        page = browser.new_page()
        _module_page(page, session)
        result = _run(
            page,
            """
            const session = await connect({token});
            const progress = [];
            const onProgress = (p) => progress.push(p.stage);
            const loaded = await session.loadModel("samples/cube.glb", {onProgress});
            const root = loaded.root.id;
            const part = loaded.entities[1].id;
            const moved = await session.setTransform(root, {position: [0, 0, -100]});
            const bad = await caught(session.setTransforms([
              {id: root, position: [1, 2, 3]}, {id: 999, scale: [2, 2, 2]}]));
            const entity = await session.setState(part, {seeThrough: true, tint: [1, 0, 0, 0.5]});
            const tree = await session.entities({root});
            const plane = await session.addCutPlane(
              {point: [0, 0, 0], normal: [1, 0, 0], fadeLength: 0.1});
            const changed = await session.setCutPlane(plane, {point: [0, 0, -100]});
            const planes = await session.cutPlanes();
            await session.removeCutPlane(plane);
            const camera = await session.setCamera(
              {position: [0, 0, -90], target: [0, 0, -100], fov: 40});
            const hits = await session.raycast(
              {origin: [0, 0, -90], direction: [0, 0, -1], maxDistance: 50});
            const picked = await session.pick(0.5, 0.5);
            const stats = await session.stats();
            const removed = await session.unloadModel(root);
            return {loaded, progress, moved, bad, entity, tree, plane, changed, planes, camera,
                    hits, picked, stats, removed, models: session.scene.models,
                    after: await session.entities()};
            """,
            session.token,
        )
    loaded = result["loaded"]
    assert loaded["root"]["name"] == "cube.glb" and len(loaded["entities"]) == 2
    assert "fetching" in result["progress"] or "parsing" in result["progress"]
    assert result["moved"] == 1
    assert result["bad"]["code"] == "EntityNotFound"
    assert result["bad"]["target"] == "transforms[1].id"
    assert result["entity"]["state"] == {"see_through": True, "tint": [1, 0, 0, 0.5]}
    root = next(entity for entity in result["tree"] if entity["id"] == loaded["root"]["id"])
    assert root["position"] == [0, 0, -100], "the refused batch changed the root"
    assert result["changed"]["point"] == [0, 0, -100] and result["changed"]["fade_length"] == 0.1
    assert [plane["id"] for plane in result["planes"]] == [result["plane"]]
    assert result["camera"]["fov"] == 40
    cube = {entity["id"] for entity in loaded["entities"]}
    assert len(result["hits"]) == 1 and result["hits"][0]["entity"] in cube
    assert result["hits"][0]["distance"] == pytest.approx(10 - 0.5, abs=0.01)  # a 1 m cube
    assert [hit["entity"] for hit in result["picked"]] == [result["hits"][0]["entity"]]
    assert result["stats"]["models"] == 1 and result["stats"]["entities"] == 2
    assert sorted(result["removed"]) == sorted(cube)
    assert result["models"] == [] and result["after"] == []


def _outline_pixels(page: Page) -> int:
    return count_video_pixels(page, OUTLINE_RGB, OUTLINE_TOLERANCE)


def _frame_after_change(page: Page) -> np.ndarray:
    """A frame decoded after everything sent so far was rendered: wait on a fresh marker."""
    page.evaluate("() => window.renderhubViewer.stats.latenciesMs.length = 0")
    page.evaluate("() => window.renderhubViewer.sendInput({type: 'zoom', factor: 1})")
    wait_for(page, "window.renderhubViewer.stats.latenciesMs.length > 0")
    return video_pixels(page, *PICTURE).astype(int)


def test_the_viewer_panel_loads_selects_and_hides(session) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{session.host}/viewer#token={session.token}&measure=1")
        wait_for(page, "window.renderhubViewer.stats.framesDecoded > 5")
        wait_for(page, "window.renderhubViewer.session !== null")
        empty = _frame_after_change(page)

        page.fill("#model-url", "samples/cube.glb")
        page.click("#load")
        wait_for(page, "window.renderhubViewer.entities.length === 2", seconds=30)
        assert page.inner_text("#tree").split() == ["cube.glb", "geometry_0"]
        wait_for(page, "document.getElementById('info').textContent.includes(' 12 polygons')")
        # Frame the cube (1 m, at the origin) from the front.
        page.evaluate(
            "() => window.renderhubViewer.session.setCamera("
            "{position: [0, 0, 3], target: [0, 0, 0]})"
        )
        shown = _frame_after_change(page)
        assert np.abs(shown - empty).max(axis=2)[40:50, 75:85].min() > 20, "the cube is not shown"
        unselected = _outline_pixels(page)

        page.mouse.click(640, 360)  # the middle of the picture: the cube
        part = page.evaluate("() => window.renderhubViewer.entities[1].id")
        wait_for(page, f"window.renderhubViewer.selected === {part}")
        assert page.inner_text("#tree .selected") == "geometry_0"
        _frame_after_change(page)
        assert _outline_pixels(page) > unselected + 500, "the selected cube has no outline"

        page.uncheck(f"#tree .row[data-id='{part}'] input")
        wait_for(page, "window.renderhubViewer.entities[1].state.hidden === true")
        hidden = _frame_after_change(page)
        where_it_was = np.abs(hidden - empty).max(axis=2)[25:65, 55:105]
        assert where_it_was.max() < 20, "the cube is still shown"

        page.mouse.click(100, 100)  # empty space: nothing is selected
        wait_for(page, "window.renderhubViewer.selected === null")
        assert page.query_selector("#tree .selected") is None

        page.reload()  # a new connection finds the scene as it was left
        wait_for(page, "window.renderhubViewer.entities.length === 2", seconds=30)
        models = page.evaluate("() => window.renderhubViewer.session.scene.models")
        assert [model["name"] for model in models] == ["cube.glb"]
        assert not page.is_checked(f"#tree .row[data-id='{part}'] input")


def _until(page: Page, function: str, seconds: float = 15) -> None:
    """Wait until the page's async `function` resolves true (wait_for_function would take
    its Promise for true at once)."""
    give_up = time.monotonic() + seconds
    while not page.evaluate(function):
        assert time.monotonic() < give_up, f"still false after {seconds} s: {function}"
        time.sleep(0.05)


def test_the_viewer_panel_cuts_selects_by_name_and_shows_errors(session) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{session.host}/viewer#token={session.token}&measure=1")
        wait_for(page, "window.renderhubViewer.session !== null")
        page.fill("#model-url", "samples/no-such-model.glb")
        page.press("#model-url", "Enter")
        wait_for(page, "document.querySelector('#scene-status.error') !== null")
        assert "no-such-model.glb" in page.inner_text("#scene-status")
        assert page.evaluate("() => window.renderhubViewer.entities.length") == 0

        page.fill("#model-url", "samples/cube.glb")
        page.click("#load")
        wait_for(page, "window.renderhubViewer.entities.length === 2", seconds=30)
        page.evaluate(
            "() => window.renderhubViewer.session.setCamera("
            "{position: [0, 0, 3], target: [0, 0, 0]})"
        )
        whole = _frame_after_change(page)

        page.click("#cut")  # along X, at the slider's middle: the cube's left half is cut away
        wait_for(page, "window.renderhubViewer.panel.cutPlane !== null")
        cut = _frame_after_change(page)
        left, right = (slice(40, 50), slice(62, 72)), (slice(40, 50), slice(88, 98))
        assert np.abs(cut - whole).max(axis=2)[left].min() > 20, "the left half is still there"
        assert np.abs(cut - whole).max(axis=2)[right].max() < 20, "the right half was cut too"

        slider = page.locator("#cut-position").bounding_box()
        assert slider is not None
        y = slider["y"] + slider["height"] / 2
        page.mouse.move(slider["x"] + slider["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(slider["x"] - 10, y, steps=15)  # dragged to its low end: x = -0.5
        page.mouse.up()
        planes = "window.renderhubViewer.session.cutPlanes()"
        _until(page, f"async () => (await {planes})[0].point[0] === -0.5")
        uncut = _frame_after_change(page)
        assert np.abs(uncut - whole).max(axis=2)[left].max() < 20, "the plane did not move"

        page.click("#cut")
        wait_for(page, "window.renderhubViewer.panel.cutPlane === null")
        assert page.evaluate(f"async () => (await {planes}).length") == 0

        page.click("#tree .row:nth-child(1) .name")  # the model's root, by its name
        root = page.evaluate("() => window.renderhubViewer.entities[0].id")
        wait_for(page, f"window.renderhubViewer.selected === {root}")
        assert page.inner_text("#tree .selected") == "cube.glb"


def test_the_module_lists_a_large_model_whole(session, large_model: str) -> None:
    with chromium() as browser:
        page = browser.new_page()
        _module_page(page, session)
        result = _run(
            page,
            f"""
            const session = await connect({{token}});
            const cube = await session.loadModel("samples/cube.glb");
            const loaded = await session.loadModel("{large_model}");
            const all = await session.entities();
            const model = await session.entities({{root: loaded.root.id}});
            const bad = await caught(session.request("entities", {{after: 999999}}));
            return {{cube, loaded, all, model, bad}};
            """,
            session.token,
        )
    loaded, model = result["loaded"], result["model"]
    assert len(loaded["entities"]) == len(model) == MANY_ENTITIES >= 1000
    assert "next" not in loaded
    assert loaded["entities"] == model
    assert [e["id"] for e in result["all"]] == [e["id"] for e in result["cube"]["entities"] + model]
    assert len({e["id"] for e in result["all"]}) == len(result["all"])
    assert (result["bad"]["code"], result["bad"]["target"]) == ("EntityNotFound", "after")


def test_the_viewer_panel_shows_a_large_model_a_few_hundred_rows_at_a_time(
    session, large_model: str
) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{session.host}/viewer#token={session.token}")
        wait_for(page, "window.renderhubViewer.session !== null")
        page.fill("#model-url", large_model)
        page.click("#load")
        wait_for(page, f"window.renderhubViewer.entities.length === {MANY_ENTITIES}", seconds=60)
        rows = page.query_selector_all("#tree .row:not(.more)")
        assert len(rows) == 300
        more = page.inner_text("#tree .more")
        assert more.startswith(f"… {MANY_ENTITIES - 300} more")
        names = [row.inner_text() for row in rows[:3]]
        assert names[0] == large_model and names[1] == "Group_0"

        page.click("#tree .more")
        wait_for(page, "document.querySelectorAll('#tree .row:not(.more)').length === 600")
        assert page.inner_text("#tree .more").startswith(f"… {MANY_ENTITIES - 600} more")
        page.reload()  # a new connection lists the whole scene again, page by page
        wait_for(page, f"window.renderhubViewer.entities.length === {MANY_ENTITIES}", seconds=60)
        assert len(page.query_selector_all("#tree .row:not(.more)")) == 300

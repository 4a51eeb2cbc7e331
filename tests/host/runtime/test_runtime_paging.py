"""Answers that fit the data channel: a large model's load reply and `entities` replies come
a page at a time, each under 200,000 bytes, and an answer too large for the client's message
limit is replaced by a ReplyTooLarge error with its seq (never dropped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from renderhub.host.runtime.channel import encoded
from renderhub.host.runtime.runtime import SceneRuntime
from tests.host.runtime.model_files import GROUPS, PARTS_PER_GROUP, write_many_parts
from tests.host.runtime.runtime_testing import Client, client_of, make_runtime
from tests.host.stream.doubles import PictureSource

ENTITIES = 1 + GROUPS * (1 + PARTS_PER_GROUP)  # the root and the model's nodes
REPLY_BYTES = 200_000


@pytest.fixture
async def runtime(models_dir: Path) -> SceneRuntime:
    write_many_parts(models_dir)
    runtime = make_runtime(models_dir)
    await runtime.attach(PictureSource())
    return runtime


@pytest.fixture
def client(runtime: SceneRuntime) -> Client:
    return client_of(runtime)


def wire_size(client: Client, seq: int) -> int:
    """The bytes of the answer to `seq` as the host would send it."""
    (answer,) = client.answers(seq)
    return len(json.dumps(answer, separators=(",", ":")))


async def rest_of(client: Client, root: int, after: int | None, **fields: Any) -> list[Any]:
    """The listing under `root` after `after`, page by page, as a client follows `next`."""
    entities: list[Any] = []
    while after is not None:
        page = await client.result("entities", root=root, after=after, **fields)
        assert wire_size(client, client.seq) < REPLY_BYTES
        entities += page["entities"]
        after = page.get("next")
    return entities


async def test_a_large_models_load_reply_holds_its_first_page(
    runtime: SceneRuntime, client: Client
) -> None:
    loaded = await client.result("load_model", url="many.glb")
    assert wire_size(client, client.seq) < REPLY_BYTES
    root = loaded["root"]
    assert loaded["entities"][0] == root and len(loaded["entities"]) == 500
    assert loaded["next"] == loaded["entities"][-1]["id"]
    rest = await rest_of(client, root["id"], loaded["next"])
    whole = loaded["entities"] + rest
    assert len(whole) == ENTITIES
    assert whole == runtime.model.entities_json(root["id"])


async def test_entities_come_in_pages_that_chain_to_the_whole_tree(
    runtime: SceneRuntime, client: Client
) -> None:
    root = (await client.result("load_model", url="many.glb"))["root"]["id"]
    first = await client.result("entities", limit=1000)
    assert wire_size(client, client.seq) < REPLY_BYTES
    assert 500 < len(first["entities"]) < 1000  # ended by its bytes
    rest = await rest_of(client, root, first["next"], limit=1000)
    assert first["entities"] + rest == runtime.model.entities_json()
    small = await client.result("entities", limit=7)
    assert small == {"entities": first["entities"][:7], "next": first["entities"][6]["id"]}


async def test_the_last_page_has_no_next(client: Client) -> None:
    await client.result("load_model", url="samples/cube.glb")
    page = await client.result("entities")
    assert "next" not in page and len(page["entities"]) == 2


async def test_an_after_not_in_the_listing_is_refused(client: Client) -> None:
    cube = (await client.result("load_model", url="samples/cube.glb"))["root"]["id"]
    knot = (await client.result("load_model", url="samples/torus-knot.glb"))["root"]["id"]
    for fields in ({"after": 999}, {"root": knot, "after": cube}):
        answer = await client.request("entities", **fields)
        assert answer["type"] == "error", answer
        assert (answer["code"], answer["target"]) == ("EntityNotFound", "after")
        assert answer["seq"] == client.seq


def test_an_answer_that_fits_is_sent_as_it_is() -> None:
    reply = {"type": "reply", "seq": 4, "result": {"entities": [{"id": 1}]}}
    assert encoded(reply, 1000) == json.dumps(reply, separators=(",", ":"))
    huge = {"type": "reply", "seq": 4, "result": {"x": "y" * 100_000}}
    assert json.loads(encoded(huge, 0) or "") == huge  # 0: the remote takes any size


@pytest.mark.parametrize("kind", ["reply", "error"])
def test_an_answer_too_large_becomes_reply_too_large(kind: str) -> None:
    answer = {"type": kind, "seq": 9, "result": {"x": "y" * 5000}}
    text = encoded(answer, 4096)
    assert text is not None and len(text) <= 4096
    error = json.loads(text)
    assert error["type"] == "error" and error["seq"] == 9
    assert error["code"] == "ReplyTooLarge"
    assert "5,0" in error["message"] and "4,096" in error["message"]


def test_an_event_too_large_is_not_sent() -> None:
    assert encoded({"type": "hello", "models": ["m" * 5000]}, 4096) is None
    assert encoded({"type": "reply", "result": {"x": "y" * 5000}}, 4096) is None  # no seq

"""The entity listing a page at a time: pages in listing order that chain through `next`,
end early to stay within their byte budget, refuse an `after` outside the listing, and
metadata too large for an entity replaced by its size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from renderhub.host.meshes import load_model_file
from renderhub.host.runtime.entity_json import MAX_METADATA_BYTES
from renderhub.host.runtime.errors import ErrorCode, SceneError
from renderhub.host.runtime.model import PAGE_BYTES, EntityPage, SceneModel
from tests.host.runtime.model_files import (
    GROUPS,
    HUGE_EXTRAS_NODE,
    PARTS_PER_GROUP,
    load_car,
    write_many_parts,
)

NODES = GROUPS * (1 + PARTS_PER_GROUP)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> SceneModel:
    """A car, then the large model (1,240 nodes, one with extras over the limit)."""
    folder = tmp_path_factory.mktemp("many")
    scene = SceneModel()
    scene.add_model(load_car(folder))
    path = write_many_parts(folder, huge_extras=2 * MAX_METADATA_BYTES)
    scene.add_model(load_model_file("many.glb", path))
    return scene


def pages(scene: SceneModel, root: int | None = None, limit: int = 500) -> list[EntityPage]:
    """Every page of the listing, following `next`."""
    found = [scene.entities_page(root, limit=limit)]
    while found[-1].next is not None:
        found.append(scene.entities_page(root, found[-1].next, limit))
    return found


def size(page: EntityPage) -> int:
    return len(json.dumps(page.entities, separators=(",", ":")))


def test_the_model_has_over_a_thousand_entities() -> None:
    assert NODES >= 1000


def test_pages_chain_through_next_to_the_whole_listing(many: SceneModel) -> None:
    whole = many.entities_json()
    assert len(whole) == 5 + 1 + NODES  # the car's, then the large model's root and nodes
    found = pages(many)
    assert [len(page.entities) for page in found] == [500, 500, len(whole) - 1000]
    assert [e for page in found for e in page.entities] == whole
    assert [page.next for page in found] == [whole[499]["id"], whole[999]["id"], None]


def test_a_page_is_cut_short_to_stay_within_its_bytes(many: SceneModel) -> None:
    found = pages(many, limit=1000)
    assert [e for page in found for e in page.entities] == many.entities_json()
    assert all(size(page) <= PAGE_BYTES for page in found)
    first = found[0]
    assert 500 < len(first.entities) < 1000  # the entities of ~330 bytes ended it, not 1,000
    following = many.entities_json()[len(first.entities)]
    assert size(first) + len(json.dumps(following, separators=(",", ":"))) > PAGE_BYTES
    assert first.next == first.entities[-1]["id"]


def test_a_small_budget_still_moves_on_one_entity_at_a_time(many: SceneModel) -> None:
    page = many.entities_page(limit=10, budget=1)
    assert len(page.entities) == 1 and page.next == page.entities[0]["id"]


def test_a_subtree_pages_within_itself(many: SceneModel) -> None:
    root = many.model_roots()[1]
    found = pages(many, root, limit=300)
    listed = [e for page in found for e in page.entities]
    assert listed == many.entities_json(root)
    assert listed[0]["id"] == root and len(listed) == 1 + NODES
    last = many.entities_page(root, listed[-1]["id"])
    assert last == EntityPage([], None)  # after the last one: an empty page, no next


@pytest.mark.parametrize("after", [10_000, 3])  # no such entity; one of the car's
def test_an_after_outside_the_listing_is_refused(many: SceneModel, after: int) -> None:
    root = many.model_roots()[1]
    with pytest.raises(SceneError) as refused:
        many.entities_page(root, after)
    assert (refused.value.code, refused.value.target) == (ErrorCode.ENTITY_NOT_FOUND, "after")
    assert str(after) in refused.value.message


def test_an_unknown_root_is_refused_naming_root(many: SceneModel) -> None:
    with pytest.raises(SceneError) as refused:
        many.entities_page(10_000)
    assert (refused.value.code, refused.value.target) == (ErrorCode.ENTITY_NOT_FOUND, "root")


def test_metadata_over_16_kib_is_replaced_by_its_size(many: SceneModel) -> None:
    entities = {e["name"]: e for e in many.entities_json()}
    blob = {"blob": "x" * 2 * MAX_METADATA_BYTES}
    size = len(json.dumps(blob, separators=(",", ":")))
    assert entities[HUGE_EXTRAS_NODE]["metadata"] == {"truncated": True, "bytes": size}
    assert entities["Part_0_1"]["metadata"] == {"partNumber": "P-0-1"}


def test_metadata_of_16_kib_is_kept_and_one_byte_more_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    padding = MAX_METADATA_BYTES - len('{"blob":""}')
    scene = SceneModel()
    for extra in (padding, padding + 1):
        (tmp_path / str(extra)).mkdir()
        path = write_many_parts(tmp_path / str(extra), extra)
        scene.add_model(load_model_file("many.glb", path))
    huge = [e["metadata"] for e in scene.entities_json() if e["name"] == HUGE_EXTRAS_NODE]
    assert huge == [{"blob": "x" * padding}, {"truncated": True, "bytes": MAX_METADATA_BYTES + 1}]
    replaced = [r.getMessage() for r in caplog.records if "metadata" in r.getMessage()]
    assert replaced == [
        f"the metadata of node '{HUGE_EXTRAS_NODE}' (16385 bytes) is replaced by its size"
    ]

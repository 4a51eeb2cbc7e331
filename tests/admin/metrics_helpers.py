"""Reading Prometheus text in the metrics tests (with prometheus_client's own parser), and the
session calls they make."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import API, ControlPlane
from tests.conftest import wait_for as wait_until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@dataclass(frozen=True)
class Scrape:
    """One /metrics answer, parsed: every sample by name and labels."""

    samples: Samples
    types: dict[str, str]

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def label_values(self) -> set[str]:
        return {value for _, labels in self.samples for _, value in labels}


async def scrape(plane: ControlPlane) -> Scrape:
    """The control plane's /metrics (with the admin token), parsed."""
    response = await plane.client.get("/metrics", headers=plane.admin_auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    types = {family.name: family.type for family in text_string_to_metric_families(response.text)}
    return Scrape(parse(response.text), types)


def sessions(scrape_: Scrape, status: str, size: str = "Standard") -> float:
    return scrape_.value("renderhub_sessions", status=status, size=size)


async def create(plane: ControlPlane, session_id: str, **body: object) -> None:
    response = await plane.create(session_id, models=["samples/cube.glb"], **body)
    assert response.status_code == 201, response.text


async def stop(plane: ControlPlane, session_id: str) -> None:
    url = f"/accounts/{plane.account.id}/sessions/{session_id}/:stop?{API}"
    response = await plane.client.post(url, headers=plane.auth)
    assert response.status_code == 204, response.text


async def stored(plane: ControlPlane, session_id: str, status: str) -> None:
    async def reached() -> bool:
        return (await plane.row(session_id)).status.value == status

    await wait_until(reached, within=15)

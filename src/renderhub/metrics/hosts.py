"""The render hosts' own metrics, gathered by the control plane: one host's as it serves
them, or every live host's in one text with each series labelled with its account and session
(one scrape target for all hosts, wherever the backend runs them).

A host serves /metrics only with its control token, which the control plane keeps in the
session's backend state; the operator reaches it through the admin API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from renderhub.backends.host_http import HostHttp
from renderhub.errors import BackendError
from renderhub.host_protocol import METRICS_PATH
from renderhub.status import SessionStatus
from renderhub.store.records import SessionRecord

# Sessions whose host runs and is meant to (a Stopping one is going down).
LIVE_STATUSES = frozenset({SessionStatus.STARTING, SessionStatus.READY})
SCRAPE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class HostTarget:
    """Where a session's host serves its metrics, and the credential it takes."""

    account_id: str
    session_id: str
    address: str
    port: int
    token: str


def host_target(record: SessionRecord) -> HostTarget | None:
    """The session's live host, or None (ended, not launched yet, or on a backend whose
    hosts serve no control endpoint)."""
    if record.status not in LIVE_STATUSES or not record.backend_state:
        return None
    state = record.backend_state
    address, port, token = state.get("address"), state.get("port"), state.get("controlToken")
    if not (isinstance(address, str) and isinstance(port, int) and isinstance(token, str)):
        return None
    return HostTarget(record.account_id, record.id, address, port, token)


async def scrape_host(target: HostTarget, hosts: HostHttp) -> str:
    """One host's metrics text; BackendError when it does not answer."""
    return await hosts.text(target.address, target.port, METRICS_PATH, target.token)


@dataclass(frozen=True, slots=True)
class HostsScrape:
    families: list[Metric]
    failed: list[HostTarget]


async def scrape_hosts(
    targets: Iterable[HostTarget], hosts: HostHttp, concurrency: int
) -> HostsScrape:
    """Every target's metrics, at most `concurrency` at once, merged into one set of
    families labelled by account and session; a host that does not answer (or answers
    something that is not Prometheus text) is left out and listed in `failed`."""
    limit = asyncio.Semaphore(concurrency)
    listed = list(targets)

    async def one(target: HostTarget) -> list[Metric] | None:
        async with limit:
            try:
                return list(text_string_to_metric_families(await scrape_host(target, hosts)))
            except (BackendError, ValueError):
                return None

    results = await asyncio.gather(*(one(target) for target in listed))
    merged: dict[str, Metric] = {}
    up = GaugeMetricFamily(
        "renderhub_host_up",
        "1 when the session's render host answered this scrape, else 0.",
        labels=["account", "session"],
    )
    failed = []
    for target, families in zip(listed, results, strict=True):
        up.add_metric([target.account_id, target.session_id], 0 if families is None else 1)
        if families is None:
            failed.append(target)
            continue
        for family in families:
            _merge(merged, family, target)
    return HostsScrape([*merged.values(), up], failed)


def _merge(merged: dict[str, Metric], family: Metric, target: HostTarget) -> None:
    """Add `family`'s samples to the family of that name, labelled with the target's
    account and session (a family whose type differs from the first seen is left out)."""
    into = merged.get(family.name)
    if into is None:
        into = merged[family.name] = Metric(
            family.name, family.documentation, family.type, family.unit
        )
    if into.type != family.type:
        return
    for sample in family.samples:
        labels = {**sample.labels, "account": target.account_id, "session": target.session_id}
        into.samples.append(
            Sample(sample.name, labels, sample.value, sample.timestamp, sample.exemplar)
        )

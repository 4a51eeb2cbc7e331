"""The address a Ray node's hosts are advertised at: the node's own setting, else its IP."""

from __future__ import annotations

import pytest

from renderhub.backends.ray_actor import HOST_ADDRESS_ENV, HOST_ADDRESS_LABEL, _advertised_address


class NodeContext:
    """The one call the actor makes on Ray's runtime context for this."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels

    def get_node_labels(self) -> dict[str, str]:
        return self.labels


@pytest.mark.parametrize(
    ("environment", "labels", "expected"),
    [
        ({}, {}, "10.0.0.7"),
        ({}, {HOST_ADDRESS_LABEL: "203.0.113.5"}, "203.0.113.5"),
        ({HOST_ADDRESS_ENV: "198.51.100.9"}, {HOST_ADDRESS_LABEL: "203.0.113.5"}, "198.51.100.9"),
    ],
)
def test_env_then_label_then_node_ip(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    labels: dict[str, str],
    expected: str,
) -> None:
    monkeypatch.delenv(HOST_ADDRESS_ENV, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert _advertised_address(NodeContext(labels), "10.0.0.7") == expected

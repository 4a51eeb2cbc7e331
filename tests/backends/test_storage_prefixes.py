"""Hosts are told the storage prefixes (--allow-storage), so they accept converted assets
from the containers conversions write to, whichever backend starts them."""

from __future__ import annotations

import socket
from pathlib import Path

from renderhub.backends.local import LocalBackend
from renderhub.backends.ray import RayBackend
from renderhub.sizes import SessionSize
from tests.conftest import make_settings

PREFIXES = ["https://acct.blob.core.windows.net/assets/", "file:///srv/assets/"]


def pairs(arguments: list[str], flag: str) -> list[str]:
    return [arguments[i + 1] for i, argument in enumerate(arguments) if argument == flag]


def test_local_hosts_get_the_storage_prefixes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, allow_storage=PREFIXES)
    command = LocalBackend(settings)._host_command()
    assert pairs(command, "--allow-storage") == PREFIXES


def test_ray_hosts_get_the_storage_prefixes(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as head:  # answers the backend's probe
        address = f"127.0.0.1:{head.getsockname()[1]}"
        settings = make_settings(tmp_path, allow_storage=PREFIXES, ray_address=address)
        arguments = RayBackend(settings)._common_arguments(SessionSize.STANDARD, 0.0, None)
    assert pairs(arguments, "--allow-storage") == PREFIXES


def test_the_api_checks_models_against_the_storage_prefixes_too(tmp_path: Path) -> None:
    policy = make_settings(tmp_path, allow_storage=PREFIXES).model_policy
    assert policy.check(f"{PREFIXES[0]}car.arrAsset?sp=r&sig=x").suffix == ".arrasset"

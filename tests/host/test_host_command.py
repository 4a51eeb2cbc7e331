"""The `renderhub host` command line: what it refuses, in one sentence, before serving."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from renderhub.host.command import host
from renderhub.tokens import load_or_create_signing_key, public_key_path
from tests.host.host_testing import host_command


def run_host(models_dir: Path, *args: str) -> tuple[int, str]:
    base = ["--session-id", "s", "--size", "Standard", "--deadline", "4000000000"]
    result = CliRunner().invoke(host, [*base, "--models-dir", str(models_dir), *args])
    return result.exit_code, result.output


def test_listen_fd_and_port_together_are_refused(models_dir: Path) -> None:
    code, output = run_host(models_dir, "--listen-fd", "3", "--port", "8000")

    assert code == 2
    assert "Give either --listen-fd or --bind/--port, not both." in output


def test_somewhere_to_listen_is_required(models_dir: Path) -> None:
    code, output = run_host(models_dir)

    assert code == 2
    assert "Give --listen-fd FD, or --port PORT" in output


def test_a_closed_fd_is_refused(models_dir: Path) -> None:
    fd = 987_654  # far above anything this process has open

    code, output = run_host(models_dir, "--listen-fd", str(fd))

    assert code == 2
    assert f"Invalid value for '--listen-fd': {fd} is not an open socket" in output


def test_a_file_fd_is_refused(models_dir: Path, tmp_path: Path) -> None:
    with (tmp_path / "f").open("w") as handle:
        code, output = run_host(models_dir, "--listen-fd", str(handle.fileno()))

    assert code == 2
    assert "is not an open socket" in output


def test_a_udp_socket_is_refused(models_dir: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        code, output = run_host(models_dir, "--listen-fd", str(udp.fileno()))
        assert udp.fileno() >= 0, "the refused socket is left open for its owner"

    assert code == 2
    assert "is not a TCP socket" in output


def test_a_port_in_use_is_refused(models_dir: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, output = run_host(models_dir, "--port", str(port))

    assert code == 1
    assert f"Could not listen on 127.0.0.1:{port}:" in output


def test_a_bad_public_key_is_refused(models_dir: Path, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not a key")

    code, output = run_host(models_dir, "--public-key", str(key), "--port", "0")

    assert code == 2
    assert "is not an Ed25519 public key in PEM form" in output


def test_a_models_url_that_is_not_http_is_refused(models_dir: Path) -> None:
    code, output = run_host(models_dir, "--models-url", "ftp://cp.example", "--port", "0")

    assert code == 2
    assert "'ftp://cp.example' is not an http(s) URL." in output


@pytest.mark.parametrize("size", ["Ultra", ""])
def test_an_unknown_size_is_refused(models_dir: Path, size: str) -> None:
    result = CliRunner().invoke(
        host, ["--session-id", "s", "--size", size, "--deadline", "1", "--models-dir", "."]
    )

    assert result.exit_code == 2
    assert "Invalid value for '--size'" in result.output


@pytest.mark.e2e
def test_a_host_past_its_deadline_exits_at_once(models_dir: Path, tmp_path: Path) -> None:
    signing_key = tmp_path / "keys" / "signing.pem"
    load_or_create_signing_key(signing_key)
    command = host_command(models_dir, time.time() - 1, "samples/cube.glb")
    command += ["--public-key", str(public_key_path(signing_key)), "--port", "0"]

    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)

    assert result.returncode == 0, result.stderr
    assert "deadline reached" in result.stderr
    assert time.monotonic() - started < 5


@pytest.mark.e2e
def test_the_subcommand_is_reachable_from_the_renderhub_cli() -> None:
    command = [sys.executable, "-m", "renderhub", "host", "--help"]

    result = subprocess.run(command, capture_output=True, text=True, timeout=30)

    assert result.returncode == 0
    for option in ("--listen-fd", "--deadline", "--polygon-limit", "--max-model-bytes"):
        assert option in result.stdout

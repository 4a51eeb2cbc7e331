"""A real two-node Ray cluster on loopback for the tests and the bench: a head on 127.0.0.2 and
a worker on 127.0.0.3, each a `ray start --block` process with its own free ports, token
authentication on and fast node-death detection. Nodes are stopped by their own pids (never
`ray stop`, which would end every Ray process on the machine)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HEAD_IP = "127.0.0.2"
WORKER_IP = "127.0.0.3"
HOSTS_PER_NODE = 2
_RAY = str(Path(sys.executable).with_name("ray"))

# Node death noticed in ~1.5 s instead of ~15 s.
FAST_HEALTH_CHECKS = {
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


@dataclass
class RayNode:
    ip: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def pids(self) -> list[int]:
        """The `ray start` process and every process under it (raylet, workers, hosts)."""
        try:
            root = psutil.Process(self.process.pid)
            return [root.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the whole node at once, as a machine that vanished."""
        for pid in self.pids():
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@dataclass
class RayCluster:
    address: str
    token: str
    temp_dir: Path
    head: RayNode | None = None
    worker: RayNode | None = None
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def nodes(self) -> list[RayNode]:
        return [node for node in (self.head, self.worker) if node is not None]

    def kill(self) -> None:
        for node in reversed(self.nodes):
            node.kill()


def _start_node(cluster: RayCluster, ip: str, head: bool, resources: dict[str, float]) -> RayNode:
    # Below Linux's ephemeral range (32768-), where the other ports above are picked.
    worker_ports = random.randrange(12000, 32000, 100)
    command = [
        _RAY, "start", "--block", f"--node-ip-address={ip}", "--num-cpus=1",
        f"--resources={json.dumps(resources)}", "--disable-usage-stats",
        "--object-store-memory=80000000",
        f"--node-manager-port={free_port(ip)}", f"--object-manager-port={free_port(ip)}",
        f"--dashboard-agent-listen-port={free_port(ip)}",
        f"--dashboard-agent-grpc-port={free_port(ip)}",
        f"--runtime-env-agent-port={free_port(ip)}", f"--metrics-export-port={free_port(ip)}",
        # Each node its own worker ports, so the two never race for the same one.
        f"--min-worker-port={worker_ports}", f"--max-worker-port={worker_ports + 99}",
    ]  # fmt: skip
    if head:
        port = cluster.address.rpartition(":")[2]
        command += ["--head", f"--port={port}", "--include-dashboard=false"]
        command += [f"--temp-dir={cluster.temp_dir}"]
    else:
        command += [f"--address={cluster.address}"]
    log_path = cluster.temp_dir.parent / f"ray-{ip}.log"
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, env=cluster.environment
        )
    return RayNode(ip, process, log_path)


def _wait_for_port(host: str, port: int, node: RayNode, within: float) -> None:
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        if node.process.poll() is not None:
            raise AssertionError(f"ray start exited:\n{node.log_path.read_text()[-3000:]}")
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the Ray head did not listen within {within} s")


# One token for every cluster a test run starts: Ray reads the token once per driver process
# and keeps it, so a second cluster with another token would refuse this process.
CLUSTER_TOKEN = secrets.token_hex(32)


def driver_environment(token: str) -> dict[str, str]:
    """What a driver (the control plane, a test) needs to join: token auth and the token."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}


@contextlib.contextmanager
def ray_cluster(
    temp_dir: Path, worker_resources: dict[str, float] | None = None
) -> Iterator[RayCluster]:
    """A head and a worker, each with room for HOSTS_PER_NODE Standard hosts (and the
    worker one Premium host); every process killed on the way out."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    token = CLUSTER_TOKEN
    port = free_port(HEAD_IP)
    cluster = RayCluster(address=f"{HEAD_IP}:{port}", token=token, temp_dir=temp_dir / "ray")
    cluster.environment = {
        **os.environ,
        **driver_environment(token),
        **FAST_HEALTH_CHECKS,
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    try:
        cluster.head = _start_node(cluster, HEAD_IP, True, {"renderhub_standard": HOSTS_PER_NODE})
        _wait_for_port(HEAD_IP, port, cluster.head, within=60)
        resources = worker_resources or {"renderhub_standard": HOSTS_PER_NODE}
        cluster.worker = _start_node(cluster, WORKER_IP, False, resources)
        yield cluster
    finally:
        cluster.kill()

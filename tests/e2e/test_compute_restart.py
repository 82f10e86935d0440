"""Crashes leave nothing stuck, on real QEMU guests: kill -9 the compute agent while
servers build and delete, then the whole all-in-one; after each restart every server
converges to ACTIVE or is gone, and no qemu process or instance directory is left
that no server wants."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pocketstack.config import default_guest_image_cache
from pocketstack.testing.server import LiveCloud, free_port
from tests.conftest import ServiceClient, admin_identity
from tests.e2e.conftest import needs_qemu
from tests.e2e.test_compute_cloud import qemu_pids

pytestmark = needs_qemu

CONVERGE_TIMEOUT = 240.0
BASE_ENV = {
    "POCKETSTACK_SERVICES": json.dumps(["identity", "image", "compute"]),
    "POCKETSTACK_COMPUTE__DRIVER": "qemu",
    "POCKETSTACK_COMPUTE__TEST_IMAGE": "true",
    "POCKETSTACK_COMPUTE__GUEST_IMAGE_CACHE": str(default_guest_image_cache()),
    "POCKETSTACK_COMPUTE__AGENT_INTERVAL": "1",
}


class AgentProcess:
    """`pocketstack compute-agent` on the cloud's data directory, ended by PID."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.data_dir / "agent.log", "ab")
        env = {**os.environ, **BASE_ENV}
        cmd = [sys.executable, "-m", "pocketstack", "compute-agent", "--data-dir", str(self.data_dir)]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, guest_image: Path) -> Path:
    return tmp_path_factory.mktemp("restart-cloud")


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


def start_cloud(data_dir: Path, port: int, **env: str) -> LiveCloud:
    return LiveCloud(data_dir, port=port, extra_env={**BASE_ENV, **env}).start(timeout=120)


def boot(nova: ServiceClient, image_id: str, name: str) -> str:
    body = {"name": name, "imageRef": image_id, "flavorRef": "42", "networks": "none"}
    reply = nova.post("/servers", json={"server": body}, headers={"OpenStack-API-Version": "compute 2.37"})
    assert reply.status_code == 202, reply.text
    return reply.json()["server"]["id"]


def converge(nova: ServiceClient, active: list[str], gone: list[str]) -> None:
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    while True:
        statuses = {sid: _status(nova, sid) for sid in [*active, *gone]}
        if all(statuses[s] == "ACTIVE" for s in active) and all(statuses[s] is None for s in gone):
            return
        assert "ERROR" not in statuses.values(), statuses
        assert time.monotonic() < deadline, statuses
        time.sleep(1)


def _status(nova: ServiceClient, server_id: str) -> str | None:
    reply = nova.get(f"/servers/{server_id}")
    if reply.status_code == 404:
        return None
    server: dict[str, Any] = reply.json()["server"]
    return server["status"] if server["OS-EXT-STS:task_state"] is None else f"{server['status']}/{server['OS-EXT-STS:task_state']}"


def assert_no_orphans(data_dir: Path, wanted: list[str], gone: list[str]) -> None:
    instances = data_dir / "compute" / "instances"
    present = {p.name for p in instances.iterdir()} if instances.exists() else set()
    assert present == set(wanted), present
    for sid in wanted:
        assert len(qemu_pids(sid)) == 1, sid
    for sid in gone:
        assert qemu_pids(sid) == [], sid


def test_agent_and_allinone_killed_mid_work_converge(data_dir: Path, port: int) -> None:
    agent = AgentProcess(data_dir)
    cloud = start_cloud(data_dir, port, POCKETSTACK_COMPUTE__RUN_AGENT="false")
    servers: list[str] = []
    try:
        nova = admin_identity(cloud).service("/compute/v2.1")
        image_id = nova.service("/image").get("/v2/images?name=pocketstack-test-guest").json()["images"][0]["id"]
        agent.start()
        time.sleep(3)  # the agent registers its host
        servers = [boot(nova, image_id, f"r{i}") for i in range(3)]
        time.sleep(1.0)
        agent.kill()  # mid-build: some guests may be started, none recorded ACTIVE maybe
        assert nova.delete(f"/servers/{servers[2]}").status_code == 204
        agent.start()
        converge(nova, active=servers[:2], gone=servers[2:])
        assert_no_orphans(data_dir, servers[:2], servers[2:])
        agent.stop()

        # the whole all-in-one (agent inside) dies while one server builds and one is deleted
        cloud.stop()
        cloud = start_cloud(data_dir, port)
        nova = admin_identity(cloud).service("/compute/v2.1")
        servers.append(boot(nova, image_id, "r3"))
        assert nova.delete(f"/servers/{servers[0]}").status_code == 204
        time.sleep(0.5)
        assert cloud.proc is not None
        cloud.proc.send_signal(signal.SIGKILL)
        cloud.proc.wait(timeout=10)
        cloud = start_cloud(data_dir, port)
        nova = admin_identity(cloud).service("/compute/v2.1")
        converge(nova, active=[servers[1], servers[3]], gone=[servers[0], servers[2]])
        assert_no_orphans(data_dir, [servers[1], servers[3]], [servers[0], servers[2]])
    finally:
        agent.kill()
        try:
            for sid in servers:
                nova.delete(f"/servers/{sid}")
            deadline = time.monotonic() + 120
            while any(_status(nova, sid) for sid in servers) and time.monotonic() < deadline:
                time.sleep(1)
        finally:
            cloud.stop()
            for sid in servers:  # a failed test must not leave guests running
                for pid in qemu_pids(sid):
                    os.kill(pid, signal.SIGKILL)

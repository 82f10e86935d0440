"""The issue's "done when", on real QEMU guests: an all-in-one cloud publishes the test
guest; `openstack server create --image ... --key-name k --user-data script.sh vm1`
gives an ACTIVE server whose `openstack console log show vm1` holds the script's
output; stop/start/reboot show in the guest's console; a snapshot boots; delete leaves
no qemu process, no files and no claimed resources."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pocketstack.config import default_guest_image_cache
from pocketstack.testing.processes import processes_mentioning
from pocketstack.testing.server import LiveCloud
from tests.conftest import cli_runner
from tests.e2e.conftest import needs_qemu

pytestmark = needs_qemu

MARKER = "POCKETSTACK-GUEST:"
BOOT_TIMEOUT = 180.0  # TCG on two shared cores: a boot takes 5-15 s, more under load


@pytest.fixture(scope="module")
def qemu_cloud(tmp_path_factory: pytest.TempPathFactory, guest_image: Path) -> Iterator[LiveCloud]:
    env = {
        "POCKETSTACK_SERVICES": json.dumps(["identity", "image", "compute"]),
        "POCKETSTACK_COMPUTE__DRIVER": "qemu",
        "POCKETSTACK_COMPUTE__TEST_IMAGE": "true",
        "POCKETSTACK_COMPUTE__GUEST_IMAGE_CACHE": str(default_guest_image_cache()),
        "POCKETSTACK_COMPUTE__SHUTDOWN_TIMEOUT": "30",
    }
    with LiveCloud(tmp_path_factory.mktemp("qemu-cloud"), extra_env=env) as live:
        yield live


@pytest.fixture(scope="module")
def osc(qemu_cloud: LiveCloud) -> Any:
    return cli_runner(qemu_cloud)


def console(osc: Any, name: str) -> str:
    return osc("console", "log", "show", name).stdout


def wait_console(osc: Any, name: str, text: str, *, count: int = 1, timeout: float = BOOT_TIMEOUT) -> str:
    deadline = time.monotonic() + timeout
    log = ""
    while time.monotonic() < deadline:
        log = console(osc, name)
        if log.count(text) >= count:
            return log
        time.sleep(1)
    raise AssertionError(f"{text!r} x{count} never appeared on {name}'s console:\n{log[-3000:]}")


def wait_status(osc: Any, name: str, status: str, timeout: float = BOOT_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    server: dict[str, Any] = {}
    while time.monotonic() < deadline:
        server = json.loads(osc("server", "show", name, "-f", "json").stdout)
        if server["status"] == status and not server.get("OS-EXT-STS:task_state"):
            return server
        assert server["status"] != "ERROR", server.get("fault")
        time.sleep(1)
    raise AssertionError(f"{name} stayed {server.get('status')}, not {status}")


def qemu_pids(server_id: str) -> list[int]:
    return processes_mentioning(server_id, b"qemu-system")


def test_boot_user_data_console_power_snapshot_and_delete(qemu_cloud: LiveCloud, osc: Any, tmp_path: Path) -> None:
    token = uuid.uuid4().hex[:8]
    script = tmp_path / "script.sh"
    script.write_text(f"#!/bin/sh\necho user-data-says-{token}\n")
    osc("keypair", "create", "k", "--private-key", str(tmp_path / "k"))
    images = json.loads(osc("image", "list", "-f", "json").stdout)
    assert "pocketstack-test-guest" in [i["Name"] for i in images]
    osc("server", "create", "--image", "pocketstack-test-guest", "--flavor", "m1.nano", "--key-name", "k", "--user-data", str(script), "--no-network", "vm1")
    server = wait_status(osc, "vm1", "ACTIVE")
    server_id = server["id"]
    try:
        log = wait_console(osc, "vm1", f"user-data-says-{token}")
        assert f"{MARKER} hostname=vm1" in log
        assert qemu_pids(server_id), "no qemu process runs the server"

        osc("server", "stop", "vm1")
        wait_status(osc, "vm1", "SHUTOFF")
        assert not qemu_pids(server_id)
        wait_console(osc, "vm1", f"{MARKER} poweroff", timeout=10)
        osc("server", "start", "vm1")
        wait_status(osc, "vm1", "ACTIVE")
        wait_console(osc, "vm1", f"{MARKER} booted", count=2)
        osc("server", "reboot", "--hard", "vm1")
        wait_status(osc, "vm1", "ACTIVE")
        wait_console(osc, "vm1", f"{MARKER} booted", count=3)

        osc("server", "image", "create", "--name", f"snap-{token}", "--wait", "vm1")
        osc("server", "create", "--image", f"snap-{token}", "--flavor", "m1.nano", "--no-network", "vm2")
        wait_status(osc, "vm2", "ACTIVE")
        wait_console(osc, "vm2", f"{MARKER} booted")
    finally:
        osc("server", "delete", "--wait", "vm1", "vm2", check=False)
    assert not qemu_pids(server_id)
    instances = qemu_cloud.data_dir / "compute" / "instances"
    assert not instances.exists() or not any(instances.iterdir()), list(instances.iterdir())
    hypervisors = json.loads(osc("hypervisor", "list", "--long", "-f", "json", "--os-compute-api-version", "2.87").stdout)
    assert all(h.get("Memory MB Used", 0) == 0 for h in hypervisors), hypervisors
    osc("image", "delete", f"snap-{token}", check=False)

"""The outside world of a cloud on the Linux dataplane, for the end-to-end tests and the
benchmarks (root only): a bridge and a namespace on TEST-NET-2 (198.51.100.0/24) that an
external network is mapped onto through bridge_mappings, the environment of a QEMU cloud
on the Linux dataplane, and the clean-up of everything such a cloud and world made.

Names made here start with "psx" (never the cloud's); nothing touches the machine's uplink."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pocketstack.drivers.network.linux import LinuxDataplane
from pocketstack.testing.processes import processes_mentioning
from pocketstack.testing.server import LiveCloud

OUTSIDE_CIDR = "198.51.100.0/24"

# a TCP server that answers "<banner> <client address>" and closes
TCP_SERVER = r"""
import socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(sys.argv[1])))
server.listen(8)
while True:
    conn, peer = server.accept()
    conn.sendall(f"{sys.argv[2]} {peer[0]}".encode())
    conn.close()
"""

# a TCP client that prints what the server sent, or FAILED (exit 1)
TCP_CLIENT = r"""
import socket, sys
try:
    conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    print(conn.recv(200).decode())
except OSError as exc:
    print("FAILED", exc)
    sys.exit(1)
"""


def sh(*argv: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, input=stdin, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {result.returncode} {result.stderr}")
    return result


def in_ns(namespace: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", namespace, *argv, check=check)


class Outside:
    """The world beyond the external network: a bridge in the root namespace (no address)
    and a namespace on it holding the external subnet's gateway address."""

    def __init__(self) -> None:
        tag = secrets.token_hex(2)
        self.bridge = f"psxbr{tag}"
        self.namespace = f"psxo-{tag}"
        self.veth = f"psxo{tag}"
        self.address = "198.51.100.1"
        self.servers: list[subprocess.Popen[str]] = []

    def start(self) -> Outside:
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        Path(f"/proc/sys/net/ipv6/conf/{self.bridge}/disable_ipv6").write_text("1")
        sh("ip", "link", "set", self.bridge, "up")
        sh("ip", "netns", "add", self.namespace)
        sh("ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.namespace)
        Path(f"/proc/sys/net/ipv6/conf/{self.veth}/disable_ipv6").write_text("1")
        sh("ip", "link", "set", self.veth, "master", self.bridge, "up")
        in_ns(self.namespace, "ip", "link", "set", "lo", "up")
        in_ns(self.namespace, "ip", "addr", "add", f"{self.address}/24", "dev", "eth0")
        in_ns(self.namespace, "ip", "link", "set", "eth0", "up")
        return self

    def serve(self, port: int) -> None:
        self.servers.append(
            subprocess.Popen(["ip", "netns", "exec", self.namespace, sys.executable, "-c", TCP_SERVER, str(port), "outside"])
        )
        time.sleep(0.3)

    def connect(self, address: str, port: int) -> str | None:
        result = in_ns(self.namespace, sys.executable, "-c", TCP_CLIENT, address, str(port), check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def ping(self, address: str, timeout: float = 1) -> bool:
        return in_ns(self.namespace, "busybox", "ping", "-c", "1", "-W", f"{timeout:g}", address, check=False).returncode == 0

    def remove(self) -> None:
        for process in self.servers:
            process.kill()
            process.wait()
        sh("ip", "netns", "del", self.namespace, check=False)
        sh("ip", "link", "del", self.veth, check=False)
        sh("ip", "link", "del", self.bridge, check=False)


def qemu_cloud_env(scope: str, physical_network: str, bridge: str, guest_image_cache: Path) -> dict[str, str]:
    """An all-in-one with QEMU guests (the test image) on the Linux dataplane, its
    `physical_network` mapped onto the outside `bridge`; `scope` names its devices."""
    return {
        "POCKETSTACK_SERVICES": json.dumps(["identity", "image", "network", "compute"]),
        "POCKETSTACK_COMPUTE__DRIVER": "qemu",
        "POCKETSTACK_COMPUTE__TEST_IMAGE": "true",
        "POCKETSTACK_COMPUTE__GUEST_IMAGE_CACHE": str(guest_image_cache),
        "POCKETSTACK_COMPUTE__FORCE_CONFIG_DRIVE": "false",  # metadata must come over the network
        "POCKETSTACK_COMPUTE__SHUTDOWN_TIMEOUT": "30",
        "POCKETSTACK_NETWORK__DATAPLANE": "linux",
        "POCKETSTACK_NETWORK__SCOPE": scope,
        "POCKETSTACK_NETWORK__AGENT_INTERVAL": "2",
        "POCKETSTACK_NETWORK__BRIDGE_MAPPINGS": json.dumps({physical_network: bridge}),
    }


def tear_down(cloud: LiveCloud, scope: str, outside: Outside) -> None:
    """Stop the cloud, kill the guests it started, remove its dataplane and the outside
    world. Every step runs even when one before it fails, so nothing is left behind."""

    def kill_guests() -> None:
        for pid in processes_mentioning(str(cloud.data_dir), b"qemu-system"):  # daemonized by our cloud: not its children
            os.kill(pid, signal.SIGKILL)

    steps: list[Callable[[], Any]] = [cloud.stop, kill_guests]
    steps += [lambda: LinuxDataplane(cloud.data_dir / "network", scope).remove_everything(), outside.remove]
    failures = []
    for step in steps:
        try:
            step()
        except Exception as exc:
            failures.append(exc)
    if failures:
        raise failures[0]

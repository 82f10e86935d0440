"""The walkthrough of docs/walkthrough.md, end to end, with the stock `openstack` CLI on a
real all-in-one: QEMU guests (the busybox test image, TCG) on the Linux dataplane.

1. admin: project p1, user u1 (member), external network `public` (flat, on the test's
   "outside" bridge through bridge_mappings) with a subnet without DHCP;
2. u1: net1 + subnet, router r1 (gateway on public, interface on the subnet), a keypair,
   a security group allowing ICMP, SSH and HTTP; vm1 boots on net1 with no config drive;
3. vm1 gets its address by DHCP and its metadata and user data from 169.254.169.254
   (console markers); u1 allocates a floating IP on public and associates it; a second
   network is hot-plugged into vm1 (`server add network`: the guest sees the NIC and gets
   a lease on it) and unplugged again;
4. from the outside namespace: the floating IP answers ping, and HTTP (busybox httpd,
   started by vm1's user data) answers vm1's name; vm1 calls a web server outside every
   few seconds, which sees it as the router's gateway address (SNAT), then as its
   floating IP;
5. a second project's server (vm2, its own network and router) reaches vm1 through the
   floating IP but not at its fixed address; removing the ICMP rule stops the ping;
6. deleting everything leaves no namespace, bridge, tap, dnsmasq, qemu or firewall rule.

The test guest has no SSH server, so step 4's "SSH and run hostname" is the HTTP check,
which crosses the floating IP both ways. The outside world is a bridge and a namespace
this test makes (tests/e2e/test_network_dataplane.py's Outside, TEST-NET-2): nothing
touches the machine's uplink, and everything made here is removed in a finally."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from pocketstack.drivers.network.base import dhcp_namespace, router_namespace, tap_name
from pocketstack.drivers.network.linux import missing_tools
from pocketstack.testing.outside import Outside, in_ns, qemu_cloud_env, sh, tear_down
from pocketstack.testing.processes import processes_mentioning
from pocketstack.testing.server import LiveCloud
from pocketstack.testing.waiting import wait_until
from tests.conftest import cli_runner
from tests.e2e.conftest import needs_qemu
from tests.e2e.test_network_dataplane import dnsmasq_pids, leftovers, namespaces

pytestmark = [
    needs_qemu,
    pytest.mark.skipif(
        os.geteuid() != 0 or bool(missing_tools()) or shutil.which("busybox") is None,
        reason="needs root, iproute2, dnsmasq, iptables and busybox (scripts/setup installs them)",
    ),
]

MARKER = "POCKETSTACK-GUEST:"
IMAGE = "pocketstack-test-guest"
FLAVOR = "m1.nano"
PHYSICAL_NETWORK = "walkthrough"
BOOT_TIMEOUT = 300.0  # two TCG guests on two shared cores: a boot takes 5-30 s, more under load
CONVERGE = 60.0  # the agent applies a change within a pass or two
OUTSIDE_HTTP_PORT = 8080
GUEST_HTTP_PORT = 80

# The outside world's web server: answers "seen-from <client address>" and logs each
# request (path and client) on stdout, so the test sees who came from where.
OUTSIDE_HTTP = r"""
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print(self.path, self.client_address[0], flush=True)  # logged before the client has its answer
        body = f"seen-from {self.client_address[0]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
"""

# vm1's user data: a web page with its name, and a call home every two seconds
WEB_USER_DATA = """#!/bin/sh
mkdir -p /www
hostname >/www/index.html
httpd -p {port} -h /www   # busybox httpd daemonizes
echo "WALKTHROUGH httpd listening on {port}"
# a password for the cloud to keep (Nova's os-server-password), posted through the metadata proxy
wget -q -O /dev/null --post-data "$(hostname)-password" http://169.254.169.254/openstack/latest/password \
  && echo "WALKTHROUGH password posted"
(
  last=
  while :; do
    if answer=$(timeout 5 wget -q -O - http://{outside}:{outside_port}/from-$(hostname) 2>/dev/null); then
      [ "$answer" = "$last" ] || echo "WALKTHROUGH outside answered: $answer"
      last=$answer
    fi
    sleep 2
  done
) </dev/null >/dev/console 2>&1 &
"""

# vm2's user data: once it reaches vm1 through the floating IP (so vm1 is up and the
# path works), it tries vm1's fixed address, which another project must not reach
PROBE_USER_DATA = """#!/bin/sh
(
  tries=150
  until body=$(timeout 5 wget -q -O - http://{fip}:{port}/ 2>/dev/null); do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || {{ echo "PROBE floating-ip http: never answered"; exit 1; }}
    sleep 2
  done
  echo "PROBE floating-ip http: $body"
  if ping -c 3 -W 2 {fixed} >/dev/null 2>&1; then echo "PROBE fixed-ip ping: answered"; else echo "PROBE fixed-ip ping: blocked"; fi
  if body=$(timeout 5 wget -q -O - http://{fixed}:{port}/ 2>/dev/null); then
    echo "PROBE fixed-ip http: answered $body"
  else
    echo "PROBE fixed-ip http: blocked"
  fi
  echo "PROBE done"
) </dev/null >/dev/console 2>&1 &
"""


def wait_for(what: str, check: Callable[[], Any], timeout: float = CONVERGE, interval: float = 1.0) -> Any:
    return wait_until(what, check, timeout, interval)


def addresses_of(server: dict[str, Any], network: str) -> list[str]:
    """The server's addresses on `network`, as `openstack server show -f json` gives them
    (a mapping of network name to addresses in current clients, "net=a, b" in older ones)."""
    addresses = server["addresses"]
    if isinstance(addresses, dict):
        return [a if isinstance(a, str) else a["addr"] for a in addresses.get(network, [])]
    return re.findall(rf"{re.escape(network)}=([^;]+)", addresses)[0].replace(" ", "").split(",")


@dataclass
class World:
    """The cloud, the outside world, who logs in as whom, and the clock of each step."""

    cloud: LiveCloud
    scope: str
    outside: Outside
    outside_log: Path
    osc: Any
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def as_user(self, user: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.osc(*args, env=self.users[user], check=check)  # type: ignore[no-any-return]

    def json(self, user: str | None, *args: str) -> Any:
        result = self.as_user(user, *args, "-f", "json") if user else self.osc(*args, "-f", "json")
        return json.loads(result.stdout)

    def add_user(self, name: str, project: str) -> None:
        password = secrets.token_hex(12)
        self.osc("project", "create", project)
        self.osc("user", "create", "--project", project, "--password", password, name)
        self.osc("role", "add", "--project", project, "--user", name, "member")
        admin = self.cloud.env("admin")
        self.users[name] = {**admin, "OS_USERNAME": name, "OS_PASSWORD": password, "OS_PROJECT_NAME": project}

    def console(self, user: str, server: str) -> str:
        return self.as_user(user, "console", "log", "show", server).stdout

    def wait_console(self, user: str, server: str, pattern: str, timeout: float = BOOT_TIMEOUT) -> re.Match[str]:
        log = ""

        def found() -> re.Match[str] | None:
            nonlocal log
            log = self.console(user, server)
            return re.search(pattern, log, re.MULTILINE)

        try:
            return wait_for(f"{pattern!r} on {server}'s console", found, timeout, interval=2)  # type: ignore[no-any-return]
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- console of {server} (end) ---\n{log[-4000:]}") from None

    def wait_active(self, user: str, server: str) -> dict[str, Any]:
        def active() -> dict[str, Any] | None:
            shown = self.json(user, "server", "show", server)
            assert shown["status"] != "ERROR", shown.get("fault")
            return shown if shown["status"] == "ACTIVE" and not shown.get("OS-EXT-STS:task_state") else None

        return wait_for(f"{server} ACTIVE", active, BOOT_TIMEOUT, interval=2)  # type: ignore[no-any-return]

    def outside_requests(self) -> list[tuple[str, str]]:
        """(path, client address) of every request the outside web server answered."""
        lines = self.outside_log.read_text().splitlines() if self.outside_log.exists() else []
        return [(path, client) for path, client in (line.split() for line in lines if len(line.split()) == 2)]

    def outside_ping(self, address: str) -> bool:
        return in_ns(self.outside.namespace, "busybox", "ping", "-c", "1", "-W", "1", address, check=False).returncode == 0

    def outside_http(self, address: str, port: int) -> str | None:
        argv = ["timeout", "5", "busybox", "wget", "-q", "-O", "-", f"http://{address}:{port}/"]
        result = in_ns(self.outside.namespace, *argv, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def clock(self, step: str, started: float) -> None:
        self.timings[step] = time.monotonic() - started


@pytest.fixture
def world(tmp_path: Path, guest_image: Path) -> Iterator[World]:
    """The outside world, a cloud whose external network is on it, and a clean-up of
    everything either made that runs whatever happened."""
    scope = secrets.token_hex(3)
    outside = Outside()
    data_dir = tmp_path / "cloud"
    outside_log = tmp_path / "outside-http.log"
    env = qemu_cloud_env(scope, PHYSICAL_NETWORK, outside.bridge, guest_image.parent)
    cloud = LiveCloud(data_dir, extra_env=env)
    try:
        outside.start()
        with open(outside_log, "w") as log:
            argv = ["ip", "netns", "exec", outside.namespace, sys.executable, "-c", OUTSIDE_HTTP, str(OUTSIDE_HTTP_PORT)]
            outside.servers.append(subprocess.Popen(argv, stdout=log, text=True))  # Outside.remove kills it by PID
        cloud.start(timeout=120)
        yield World(cloud, scope, outside, outside_log, cli_runner(cloud))
    finally:
        tear_down(cloud, scope, outside)


def host_links() -> set[str]:
    return {link["ifname"] for link in json.loads(sh("ip", "-j", "link", "show").stdout)}


def test_walkthrough(world: World, tmp_path: Path, record_property: Any) -> None:
    osc, outside = world.osc, world.outside
    begin = time.monotonic()

    # -- 1. admin: a project and its member, the external network --------------------------------
    step = time.monotonic()
    world.add_user("u1", "p1")
    provider = ["--provider-network-type", "flat", "--provider-physical-network", PHYSICAL_NETWORK]
    osc("network", "create", "--external", *provider, "public")
    osc(
        "subnet", "create", "public-subnet", "--network", "public", "--subnet-range", "198.51.100.0/24",
        "--gateway", outside.address, "--no-dhcp", "--allocation-pool", "start=198.51.100.10,end=198.51.100.99",
    )  # fmt: skip
    assert world.json(None, "network", "show", "public")["router:external"] is True
    world.clock("1 admin setup", step)

    # -- 2. u1: network, router, keypair, security group, a server -----------------------------------
    step = time.monotonic()
    u1 = "u1"
    world.as_user(u1, "network", "create", "net1")
    world.as_user(u1, "subnet", "create", "subnet1", "--network", "net1", "--subnet-range", "10.10.0.0/24")
    world.as_user(u1, "router", "create", "r1")
    world.as_user(u1, "router", "set", "--external-gateway", "public", "r1")
    world.as_user(u1, "router", "add", "subnet", "r1", "subnet1")
    world.as_user(u1, "keypair", "create", "--private-key", str(tmp_path / "k1"), "k1")
    world.as_user(u1, "security", "group", "create", "web")
    world.as_user(u1, "security", "group", "rule", "create", "--protocol", "icmp", "web")
    for port in (22, GUEST_HTTP_PORT):
        world.as_user(u1, "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", str(port), "web")
    user_data = tmp_path / "web.sh"
    user_data.write_text(WEB_USER_DATA.format(port=GUEST_HTTP_PORT, outside=outside.address, outside_port=OUTSIDE_HTTP_PORT))
    world.as_user(
        u1, "server", "create", "--image", IMAGE, "--flavor", FLAVOR, "--network", "net1", "--security-group", "web",
        "--key-name", "k1", "--user-data", str(user_data), "vm1",
    )  # fmt: skip
    vm1 = world.json(u1, "server", "show", "vm1")
    assert vm1["config_drive"] in ("", "False", False, None), vm1["config_drive"]
    assert [group["name"] for group in vm1["security_groups"]] == ["web"], vm1["security_groups"]  # the CLI sent its id
    fixed_ip = addresses_of(vm1, "net1")[0]
    gateway_ip = world.json(u1, "router", "show", "r1")["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    fip = world.json(u1, "floating", "ip", "create", "public")["floating_ip_address"]
    world.clock("2 user setup and boot request", step)

    # a second project: its own network, router and server, which probes vm1 (step 5)
    step = time.monotonic()
    world.add_user("u2", "p2")
    u2 = "u2"
    world.as_user(u2, "network", "create", "net2")
    world.as_user(u2, "subnet", "create", "subnet2", "--network", "net2", "--subnet-range", "10.20.0.0/24")
    world.as_user(u2, "router", "create", "r2")
    world.as_user(u2, "router", "set", "--external-gateway", "public", "r2")
    world.as_user(u2, "router", "add", "subnet", "r2", "subnet2")
    probe = tmp_path / "probe.sh"
    probe.write_text(PROBE_USER_DATA.format(fip=fip, fixed=fixed_ip, port=GUEST_HTTP_PORT))
    world.as_user(u2, "server", "create", "--image", IMAGE, "--flavor", FLAVOR, "--network", "net2", "--user-data", str(probe), "vm2")
    world.clock("5a second project setup and boot request", step)

    # -- 3. DHCP and metadata over the network; a floating IP -------------------------------------------
    step = time.monotonic()
    world.wait_active(u1, "vm1")
    world.clock("3a vm1 ACTIVE", step)
    lease = world.wait_console(u1, "vm1", rf"^{MARKER} ip eth0 ([\d.]+)/24 router=([\d.]+)")
    assert lease.groups() == (fixed_ip, "10.10.0.1")
    world.wait_console(u1, "vm1", rf"^{MARKER} user_data done rc=0")
    vm1_port = world.json(u1, "port", "list", "--server", "vm1", "--long")
    assert [(p["Status"], p["Fixed IP Addresses"][0]["ip_address"]) for p in vm1_port] == [("ACTIVE", fixed_ip)], vm1_port
    log = world.console(u1, "vm1")
    assert f"{MARKER} config-drive none" in log and f"{MARKER} metadata source=http" in log
    assert f"{MARKER} uuid={vm1['id']}" in log and f"{MARKER} hostname=vm1" in log
    assert f"{MARKER} public_keys=1" in log and "WALKTHROUGH httpd listening" in log
    assert "WALKTHROUGH password posted" in log, log[-3000:]
    token = world.json(u1, "token", "issue")["id"]
    password = httpx.get(f"{world.cloud.url}/compute/v2.1/servers/{vm1['id']}/os-server-password", headers={"X-Auth-Token": token})
    assert password.json() == {"password": "vm1-password"}, password.text
    world.clock("3b vm1 DHCP + metadata + user data", step)

    # vm1 reaches the outside through the router's SNAT before it has a floating IP
    step = time.monotonic()
    world.wait_console(u1, "vm1", rf"WALKTHROUGH outside answered: seen-from {re.escape(gateway_ip)}\r?$")
    assert ("/from-vm1", gateway_ip) in world.outside_requests()
    assert not world.outside_ping(fixed_ip) and world.outside_http(fixed_ip, GUEST_HTTP_PORT) is None  # no route to net1
    world.clock("4a SNAT to the outside", step)

    step = time.monotonic()
    world.as_user(u1, "server", "add", "floating", "ip", "vm1", fip)
    wait_for("the floating IP in vm1's addresses", lambda: fip in addresses_of(world.json(u1, "server", "show", "vm1"), "net1"))

    # -- 4. from the outside: ping and HTTP through the floating IP; vm1 seen as it ------------------
    wait_for(f"ping {fip} from outside", lambda: world.outside_ping(fip))
    world.clock("4b floating IP associated -> first ping", step)
    assert wait_for("vm1's web page through the floating IP", lambda: world.outside_http(fip, GUEST_HTTP_PORT)) == "vm1"
    world.wait_console(u1, "vm1", rf"WALKTHROUGH outside answered: seen-from {re.escape(fip)}\r?$")
    assert ("/from-vm1", fip) in world.outside_requests()
    assert world.json(u1, "floating", "ip", "show", fip)["status"] == "ACTIVE"

    # a second network hot-plugged into the running vm1 (os-interface), with DHCP on it, and out again
    step = time.monotonic()
    world.as_user(u1, "network", "create", "net3")
    world.as_user(u1, "subnet", "create", "subnet3", "--network", "net3", "--subnet-range", "10.30.0.0/24")
    world.as_user(u1, "server", "add", "network", "vm1", "net3")
    (extra,) = world.json(u1, "port", "list", "--server", "vm1", "--network", "net3", "--long")
    extra_ip, extra_tap = extra["Fixed IP Addresses"][0]["ip_address"], tap_name(extra["ID"])
    world.wait_console(u1, "vm1", rf"^{MARKER} nic-add eth1 mac={extra['MAC Address']}", timeout=CONVERGE)
    world.wait_console(u1, "vm1", rf"^{MARKER} ip eth1 {re.escape(extra_ip)}/24", timeout=CONVERGE)
    wait_for("the hot-plugged port ACTIVE", lambda: world.json(u1, "port", "show", extra["ID"])["status"] == "ACTIVE")
    world.as_user(u1, "server", "remove", "network", "vm1", "net3")
    world.wait_console(u1, "vm1", rf"^{MARKER} nic-del eth1", timeout=CONVERGE)
    wait_for("its tap gone from the host", lambda: extra_tap not in host_links())
    assert world.outside_http(fip, GUEST_HTTP_PORT) == "vm1"  # eth0 went on working
    world.clock("4c interface hot-plugged (DHCP on it) and unplugged", step)

    # -- 5. another project reaches vm1 by its floating IP, never at its fixed address --------------
    step = time.monotonic()
    world.wait_console(u2, "vm2", r"^PROBE done", timeout=BOOT_TIMEOUT * 2)
    log = world.console(u2, "vm2")
    assert f"{MARKER} metadata source=http" in log
    assert "PROBE floating-ip http: vm1" in log, log[-3000:]
    assert "PROBE fixed-ip ping: blocked" in log and "PROBE fixed-ip http: blocked" in log, log[-3000:]
    world.clock("5b vm2 probes", step)

    # removing the ICMP rule stops the ping (HTTP, still allowed, keeps answering)
    step = time.monotonic()
    rules = world.json(u1, "security", "group", "rule", "list", "web", "--long")
    icmp = next(r for r in rules if r["IP Protocol"] == "icmp")
    world.as_user(u1, "security", "group", "rule", "delete", icmp["ID"])
    wait_for("the ping to stop", lambda: not world.outside_ping(fip))
    world.clock("5c ICMP rule removed -> ping stops", step)
    assert world.outside_http(fip, GUEST_HTTP_PORT) == "vm1"

    # -- 6. delete everything: nothing of it stays on the host -----------------------------------------
    step = time.monotonic()
    server_ids = [vm1["id"], world.json(u2, "server", "show", "vm2")["id"]]
    ports = world.json(None, "port", "list", "--long")
    network_ids = [world.json(None, "network", "show", name)["id"] for name in ("public", "net1", "net2", "net3")]
    router_ids = [world.json(user, "router", "show", name)["id"] for user, name in ((u1, "r1"), (u2, "r2"))]
    world.as_user(u1, "server", "delete", "--wait", "vm1")
    world.as_user(u2, "server", "delete", "--wait", "vm2")
    # the server's port went with it, and so did the floating IP's association (Neutron's rule)
    released = world.json(u1, "floating", "ip", "show", fip)
    assert released["port_id"] is None and released["fixed_ip_address"] is None, released
    wait_for("the floating IP to stop answering", lambda: not world.outside_http(fip, GUEST_HTTP_PORT))
    world.as_user(u1, "floating", "ip", "delete", fip)
    for user, router, subnet in ((u1, "r1", "subnet1"), (u2, "r2", "subnet2")):
        world.as_user(user, "router", "remove", "subnet", router, subnet)
        world.as_user(user, "router", "delete", router)
    world.as_user(u1, "network", "delete", "net1", "net3")
    world.as_user(u2, "network", "delete", "net2")
    world.as_user(u1, "security", "group", "delete", "web")
    world.as_user(u1, "keypair", "delete", "k1")
    osc("network", "delete", "public")
    for user, project in (("u1", "p1"), ("u2", "p2")):
        osc("user", "delete", user)
        osc("project", "delete", project)

    state_dir = world.cloud.data_dir / "network"
    ours = [tap_name(p["ID"]) for p in ports]
    wanted_gone = {dhcp_namespace(n) for n in network_ids} | {router_namespace(r) for r in router_ids}

    def host_is_clean() -> bool:
        return not leftovers(world.scope) and not (wanted_gone & namespaces()) and not (set(ours) & host_links())

    wait_for("every namespace, bridge, tap and chain of the walkthrough to go", host_is_clean)
    assert dnsmasq_pids(state_dir) == [] and processes_mentioning(str(world.cloud.data_dir), b"dnsmasq") == []
    assert not any(processes_mentioning(server_id, b"qemu-system") for server_id in server_ids)
    for table in ("filter", "nat", "mangle", "raw"):
        saved = sh("iptables-save", "-t", table).stdout
        assert f"pocketstack-{world.scope}" not in saved and not any(tap in saved for tap in ours), saved
    # the outside bridge is the test's, not the cloud's: it stays, with nothing of the cloud on it
    on_bridge = {link["ifname"] for link in json.loads(sh("ip", "-j", "link", "show", "master", outside.bridge).stdout)}
    assert on_bridge == {outside.veth}, on_bridge
    world.clock("6 delete everything -> host clean", step)
    world.clock("total", begin)

    summary = "walkthrough timings: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in world.timings.items())
    print("\n" + summary)
    record_property("summary", summary)

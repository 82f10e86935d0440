"""The Linux dataplane for real (root only): an all-in-one with the networking service
and the linux dataplane builds bridges, taps, dnsmasq, security groups, routers and
floating IPs from what the API is told, and rebuilds them after a kill -9.

"Guests" are network namespaces: each one gets a tap of its own ("eth0") and a small
forwarder copies frames between it and the port's tap that the agent made (the tap's
file descriptor, which is what QEMU would hold). So the agent's taps, bridges and
firewall rules are exercised exactly as a VM would exercise them, at the cost of a
Python process instead of a guest boot. The outside world is a bridge and a namespace
the test makes ("psx" names, never ours) on TEST-NET-2 (198.51.100.0/24); nothing
touches the machine's uplink, and everything made here goes in a finally."""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pocketstack.drivers.network.base import bridge_name, dhcp_namespace, router_namespace, tap_name
from pocketstack.drivers.network.linux import LinuxDataplane, missing_tools
from pocketstack.testing.outside import TCP_CLIENT, TCP_SERVER, Outside, in_ns, sh
from pocketstack.testing.server import LiveCloud, free_port
from pocketstack.testing.waiting import wait_until
from tests.conftest import ServiceClient, admin_identity

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or bool(missing_tools()) or shutil.which("busybox") is None,
    reason="needs root, iproute2, dnsmasq, iptables and busybox (scripts/setup installs them)",
)

HOST = "e2e-net-host"
CONVERGE = 60.0
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

# the guest's NIC: a tap made inside the guest namespace, its frames copied to and from
# the port's tap (fd 3, opened by the test in the root namespace, as QEMU opens it)
FORWARDER = r"""
import fcntl, os, select, struct, subprocess, sys
outer, mac, mtu = int(sys.argv[1]), sys.argv[2], sys.argv[3]
inner = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(inner, 0x400454CA, struct.pack("16sH", b"eth0", 0x0002 | 0x1000))
subprocess.run(["ip", "link", "set", "eth0", "address", mac, "mtu", mtu, "up"], check=True)
print("ready", flush=True)
while True:
    ready, _, _ = select.select([outer, inner], [], [])
    for fd in ready:
        try:
            frame = os.read(fd, 65536)
            os.write(inner if fd == outer else outer, frame)
        except OSError:
            pass
"""

DHCP_SCRIPT = """#!/bin/sh
# what a cloud guest's udhcpc script does: the address, then option 121's routes (which
# carry the default route and the metadata route), else option 3's router
event=$1
case "$event" in
  bound|renew)
    ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$staticroutes" ]; then
      set -- $staticroutes
      while [ $# -ge 2 ]; do ip route add "$1" via "$2" dev "$interface"; shift 2; done
    elif [ -n "$router" ]; then
      ip route add default via "$router" dev "$interface"
    fi
    env > "$0.lease"
    ;;
esac
exit 0
"""

HTTP_GET = r"""
import sys, urllib.error, urllib.request
try:
    reply = urllib.request.urlopen(sys.argv[1], timeout=10)
    print(reply.status, reply.read().decode())
except urllib.error.HTTPError as exc:
    print(exc.code, exc.read().decode())
"""


def wait_for(what: str, check: Callable[[], Any], timeout: float = CONVERGE) -> Any:
    return wait_until(what, check, timeout)


def link_exists(name: str, namespace: str | None = None) -> bool:
    argv = ["ip", "-n", namespace] if namespace else ["ip"]
    return sh(*argv, "link", "show", name, check=False).returncode == 0


def namespaces() -> set[str]:
    return {line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line.strip()}


class Guest:
    """A namespace playing a VM on one port: its eth0 is joined to the port's tap."""

    def __init__(self, name: str, port: dict[str, Any], mtu: int) -> None:
        self.namespace = f"psxg-{name}-{secrets.token_hex(2)}"
        self.port = port
        self.mtu = mtu
        self.tap = tap_name(port["id"])
        self.forwarder: subprocess.Popen[str] | None = None
        self.servers: list[subprocess.Popen[str]] = []
        self.script = Path(f"/tmp/{self.namespace}.dhcp")

    @property
    def ip(self) -> str:
        return str(self.port["fixed_ips"][0]["ip_address"])

    def start(self) -> Guest:
        sh("ip", "netns", "add", self.namespace)
        in_ns(self.namespace, "ip", "link", "set", "lo", "up")
        self.attach()
        return self

    def attach(self) -> None:
        """Open the port's tap (as QEMU does) and start copying frames."""
        self.detach()
        fd = os.open("/dev/net/tun", os.O_RDWR)
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", self.tap.encode(), IFF_TAP | IFF_NO_PI))
            argv = [
                "ip",
                "netns",
                "exec",
                self.namespace,
                sys.executable,
                "-c",
                FORWARDER,
                str(fd),
                self.port["mac_address"],
                str(self.mtu),
            ]
            self.forwarder = subprocess.Popen(argv, pass_fds=(fd,), stdout=subprocess.PIPE, text=True)
        finally:
            os.close(fd)
        assert self.forwarder.stdout is not None
        assert self.forwarder.stdout.readline().strip() == "ready"

    def detach(self) -> None:
        if self.forwarder is not None and self.forwarder.poll() is None:
            self.forwarder.kill()
            self.forwarder.wait()
        self.forwarder = None
        if link_exists("eth0", self.namespace):
            in_ns(self.namespace, "ip", "link", "del", "eth0", check=False)

    def dhcp(self) -> dict[str, str]:
        """Ask for a lease with busybox udhcpc; the options it got."""
        self.script.write_text(DHCP_SCRIPT)
        self.script.chmod(0o755)
        lease = Path(f"{self.script}.lease")
        lease.unlink(missing_ok=True)
        argv = ["busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "8", "-T", "1", "-A", "1", "-s", str(self.script)]
        in_ns(self.namespace, *argv, "-O", "staticroutes", "-O", "mtu")
        return dict(line.split("=", 1) for line in lease.read_text().splitlines() if "=" in line)

    def ping(self, address: str, source: str | None = None) -> bool:
        extra = ["-I", source] if source else []
        return in_ns(self.namespace, "busybox", "ping", "-c", "1", "-W", "1", *extra, address, check=False).returncode == 0

    def serve(self, port: int, banner: str) -> None:
        process = subprocess.Popen(["ip", "netns", "exec", self.namespace, sys.executable, "-c", TCP_SERVER, str(port), banner])
        self.servers.append(process)
        time.sleep(0.3)

    def connect(self, address: str, port: int) -> str | None:
        """The server's banner and the address it saw us from, or None when blocked."""
        result = in_ns(self.namespace, sys.executable, "-c", TCP_CLIENT, address, str(port), check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def http_get(self, url: str) -> tuple[int, str]:
        status, _, body = in_ns(self.namespace, sys.executable, "-c", HTTP_GET, url).stdout.partition(" ")
        return int(status), body

    def remove(self) -> None:
        for process in self.servers:
            process.kill()
            process.wait()
        self.detach()
        sh("ip", "netns", "del", self.namespace, check=False)
        self.script.unlink(missing_ok=True)
        Path(f"{self.script}.lease").unlink(missing_ok=True)


# -- the cloud ---------------------------------------------------------------------------------
def collection(resource: str) -> str:
    """/v2.0 path of a resource: security_group -> security-groups."""
    return "/" + resource.replace("_", "-") + "s"


class Neutron:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    def call(self, method: str, path: str, status: int, body: dict[str, Any] | None = None) -> Any:
        reply = self.client.request(method, path, json=body) if body is not None else self.client.request(method, path)
        assert reply.status_code == status, f"{method} {path}: {reply.status_code} {reply.text[:500]}"
        return reply.json() if reply.content else None

    def create(self, resource: str, **fields: Any) -> dict[str, Any]:
        return dict(self.call("POST", collection(resource), 201, {resource: fields})[resource])

    def show(self, resource: str, resource_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"{collection(resource)}/{resource_id}", 200)[resource])

    def update(self, resource: str, resource_id: str, **fields: Any) -> dict[str, Any]:
        return dict(self.call("PUT", f"{collection(resource)}/{resource_id}", 200, {resource: fields})[resource])

    def delete(self, resource: str, resource_id: str) -> None:
        self.call("DELETE", f"{collection(resource)}/{resource_id}", 204)

    def ports(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return list(self.call("GET", f"/ports?{query}", 200)["ports"])

    def has_routers(self) -> bool:
        return self.client.get("/routers").status_code == 200


def cloud_env(scope: str, bridge: str) -> dict[str, str]:
    return {
        # compute (fake hypervisor) too: the metadata proxy forwards to its metadata service
        "POCKETSTACK_SERVICES": json.dumps(["identity", "image", "network", "compute"]),
        "POCKETSTACK_COMPUTE__DRIVER": "fake",
        "POCKETSTACK_NETWORK__DATAPLANE": "linux",
        "POCKETSTACK_NETWORK__HOST": HOST,
        "POCKETSTACK_NETWORK__SCOPE": scope,
        "POCKETSTACK_NETWORK__AGENT_INTERVAL": "1",
        "POCKETSTACK_NETWORK__BRIDGE_MAPPINGS": json.dumps({"public": bridge}),
    }


def leftovers(scope: str) -> list[str]:
    """Everything of this scope still on the host."""
    found = []
    links = json.loads(sh("ip", "-j", "-d", "link", "show").stdout)
    found += [link["ifname"] for link in links if f"pocketstack:{scope}:" in (link.get("ifalias") or "")]
    for tool in ("iptables-save", "ip6tables-save"):
        for table in ("filter", "raw"):  # raw: the conntrack zones
            found += [line.split()[0] for line in sh(tool, "-t", table).stdout.splitlines() if f"pocketstack-{scope}" in line][:1]
    if shutil.which("ipset"):
        found += [name for name in sh("ipset", "list", "-n").stdout.split() if name.startswith(f"pocketstack-{scope}")]
    return found


def dnsmasq_pids(state_dir: Path) -> list[int]:
    pids = []
    for pidfile in state_dir.glob("dhcp/*/pid"):
        try:
            pid = int(pidfile.read_text())
            if b"dnsmasq" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except (OSError, ValueError):
            pass
    return pids


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An outside world, a cloud whose external network is on it, and a guaranteed
    clean-up of everything either made."""
    scope = secrets.token_hex(3)
    outside = Outside().start()
    data_dir = tmp_path / "cloud"
    guests: list[Guest] = []
    state: dict[str, Any] = {"scope": scope, "outside": outside, "data_dir": data_dir, "guests": guests, "port": free_port()}
    state["start"] = lambda: LiveCloud(data_dir, port=state["port"], extra_env=cloud_env(scope, outside.bridge)).start(timeout=60)
    try:
        state["cloud"] = state["start"]()
        yield state
    finally:
        # every step runs even when one before it fails, so nothing is left behind
        steps: list[Callable[[], Any]] = [guest.remove for guest in guests]
        if state.get("cloud") is not None:
            steps.append(state["cloud"].stop)
        steps += [lambda: LinuxDataplane(data_dir / "network", scope).remove_everything(), outside.remove]
        failures = []
        for step in steps:
            try:
                step()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]


def test_dataplane_end_to_end(world: dict[str, Any]) -> None:
    scope, outside, cloud = world["scope"], world["outside"], world["cloud"]
    state_dir = world["data_dir"] / "network"
    neutron = Neutron(admin_identity(cloud).service("/networking/v2.0"))

    # -- a network with DHCP: bridge, DHCP port, namespace, dnsmasq --------------------------
    net = neutron.create("network", name="net1")
    subnet = neutron.create(
        "subnet", network_id=net["id"], cidr="10.91.0.0/24", ip_version=4, gateway_ip="10.91.0.1", dns_nameservers=["192.0.2.53"]
    )
    dhcp_port = wait_for("the DHCP port", lambda: next(iter(neutron.ports(network_id=net["id"], device_owner="network:dhcp")), None))
    wait_for("the DHCP port ACTIVE", lambda: neutron.show("port", dhcp_port["id"])["status"] == "ACTIVE")
    bridge = bridge_name(net["id"])
    mtu = json.loads(sh("ip", "-j", "link", "show", bridge).stdout)[0]["mtu"]
    assert mtu == net["mtu"] == 1450
    assert dhcp_namespace(net["id"]) in namespaces()
    assert len(dnsmasq_pids(state_dir)) == 1
    agents = {a["agent_type"]: a for a in neutron.call("GET", "/agents", 200)["agents"] if a["host"] == HOST}
    assert set(agents) == {"Linux bridge agent", "DHCP agent", "L3 agent"} and all(a["alive"] for a in agents.values())

    # -- two guests with different security groups -------------------------------------------
    open_group = neutron.create("security_group", name="web")
    for rule in ({"protocol": "icmp"}, {"protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080}):
        neutron.create("security_group_rule", security_group_id=open_group["id"], direction="ingress", ethertype="IPv4", **rule)
    closed_group = neutron.create("security_group", name="client")
    port_a = neutron.create("port", network_id=net["id"], security_groups=[open_group["id"]], **{"binding:host_id": HOST})
    port_b = neutron.create("port", network_id=net["id"], security_groups=[closed_group["id"]], **{"binding:host_id": HOST})
    for port in (port_a, port_b):
        wait_for(f"port {port['id']} ACTIVE", lambda p=port: neutron.show("port", p["id"])["status"] == "ACTIVE")
        assert json.loads(sh("ip", "-j", "link", "show", tap_name(port["id"])).stdout)[0]["master"] == bridge
    guest_a = Guest("a", port_a, net["mtu"]).start()
    world["guests"].append(guest_a)
    guest_b = Guest("b", port_b, net["mtu"]).start()
    world["guests"].append(guest_b)

    # DHCP: the port's address and the subnet's options, the metadata route via the DHCP port
    lease = guest_a.dhcp()
    dhcp_ip = dhcp_port["fixed_ips"][0]["ip_address"]
    assert lease["ip"] == guest_a.ip
    assert lease["router"].split() == ["10.91.0.1"]
    assert lease["mtu"] == "1450"
    assert lease["dns"].split() == ["192.0.2.53"]
    assert lease["staticroutes"].split() == ["169.254.169.254/32", dhcp_ip, "0.0.0.0/0", "10.91.0.1"]
    assert guest_b.dhcp()["ip"] == guest_b.ip

    # security groups: ingress only as the rules say, replies always (stateful)
    guest_a.serve(8080, "a-8080")
    guest_a.serve(9090, "a-9090")
    guest_b.serve(8080, "b-8080")
    assert guest_b.ping(guest_a.ip)
    assert guest_b.connect(guest_a.ip, 8080) == f"a-8080 {guest_b.ip}"
    assert guest_b.connect(guest_a.ip, 9090) is None
    assert not guest_a.ping(guest_b.ip)
    assert guest_a.connect(guest_b.ip, 8080) is None
    # anti-spoofing: an address the port does not own gets nowhere
    in_ns(guest_b.namespace, "ip", "addr", "add", "10.91.0.250/24", "dev", "eth0")
    assert not guest_b.ping(guest_a.ip, source="10.91.0.250")
    in_ns(guest_b.namespace, "ip", "addr", "del", "10.91.0.250/24", "dev", "eth0")
    # a remote-group rule follows the group's members
    neutron.create(
        "security_group_rule",
        security_group_id=open_group["id"],
        direction="ingress",
        ethertype="IPv4",
        protocol="tcp",
        port_range_min=9090,
        port_range_max=9090,
        remote_group_id=closed_group["id"],
    )
    wait_for("the remote-group rule", lambda: guest_b.connect(guest_a.ip, 9090), timeout=15)
    other_group = neutron.create("security_group", name="other")
    neutron.update("port", port_b["id"], security_groups=[other_group["id"]])
    wait_for("port b to leave the remote group", lambda: guest_b.connect(guest_a.ip, 9090) is None, timeout=15)
    # removing the ICMP rule stops the ping, even one already flowing (its conntrack entry goes)
    pinger = subprocess.Popen(
        ["ip", "netns", "exec", guest_b.namespace, "busybox", "ping", "-c", "40", "-i", "0.2", guest_a.ip],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    icmp_rule = next(r for r in neutron.show("security_group", open_group["id"])["security_group_rules"] if r["protocol"] == "icmp")
    neutron.delete("security_group_rule", icmp_rule["id"])
    output = pinger.communicate(timeout=30)[0]
    received = int(re.search(r"(\d+) packets received", output).group(1))  # type: ignore[union-attr]
    assert 3 <= received < 30, output
    assert not guest_b.ping(guest_a.ip)

    # -- the metadata proxy at 169.254.169.254 (via the DHCP port, as option 121 says) ----------
    # a port that is no server's gets nothing; a server's port is forwarded, signed, to the
    # compute metadata service (which knows no such server here: its 404, not a 403)
    status, body = guest_b.http_get("http://169.254.169.254/openstack/latest/meta_data.json")
    assert status == 404 and "No instance is known at this address" in body
    neutron.update("port", port_a["id"], device_owner="compute:nova", device_id=str(uuid.uuid4()))
    wait_for(
        "the proxy to know the server",
        lambda: "Instance not found" in guest_a.http_get("http://169.254.169.254/openstack/latest/meta_data.json")[1],
        timeout=15,
    )
    assert guest_a.http_get("http://169.254.169.254/openstack/latest/meta_data.json")[0] == 404

    # -- a router to the outside: SNAT, then a floating IP ------------------------------------
    router = None
    if neutron.has_routers():
        router = check_router(neutron, outside, net, subnet, guest_a, guest_b, port_a, open_group)
        # the router's own way to the metadata proxy, for guests that route it to their gateway
        in_ns(guest_a.namespace, "ip", "route", "del", "169.254.169.254/32")
        status, body = guest_a.http_get("http://169.254.169.254/openstack/latest/meta_data.json")
        assert status == 404 and "Instance not found" in body
        in_ns(guest_a.namespace, "ip", "route", "add", "169.254.169.254/32", "via", dhcp_ip, "dev", "eth0")

    # -- kill -9, a "reboot" of the dataplane, and the rebuild ----------------------------------
    extra_ports = [neutron.create("port", network_id=net["id"], **{"binding:host_id": HOST}) for _ in range(20)]
    wait_for(
        "the extra ports ACTIVE",
        lambda: all(
            p["status"] == "ACTIVE" for p in neutron.ports(network_id=net["id"]) if p["device_owner"] != "network:router_interface"
        ),
    )
    cloud.proc.send_signal(signal.SIGKILL)
    cloud.proc.wait()
    wipe_dataplane(scope, state_dir, net["id"], router)
    assert not link_exists(bridge)
    started = time.monotonic()
    cloud = world["cloud"] = world["start"]()
    taps = [tap_name(p["id"]) for p in (port_a, port_b, *extra_ports)]
    wait_for("the taps again", lambda: all(link_exists(t) for t in taps))
    wait_for("dnsmasq again", lambda: len(dnsmasq_pids(state_dir)) == 1)
    wait_for("the firewall again", lambda: f"pocketstack-{scope}" in sh("iptables-save", "-t", "filter").stdout)
    rebuilt = time.monotonic() - started
    print(f"\nrebuilt {len(taps)} ports, DHCP and firewall{' and a router' if router else ''} {rebuilt:.1f}s after the restart began")
    for guest in (guest_a, guest_b):
        guest.attach()  # a new eth0 on the new tap (the old one went with its tap)
        assert guest.dhcp()["ip"] == guest.ip
    assert guest_b.connect(guest_a.ip, 8080) == f"a-8080 {guest_b.ip}"
    assert guest_b.connect(guest_a.ip, 9090) is None
    if router is not None:
        wait_for("the floating IP again", lambda: outside.connect(router["fip"], 8080), timeout=30)

    # -- everything deleted through the API leaves nothing behind -------------------------------
    neutron = Neutron(admin_identity(cloud).service("/networking/v2.0"))
    if router is not None:
        neutron.delete("floatingip", router["fip_id"])
        neutron.call("PUT", f"/routers/{router['id']}/remove_router_interface", 200, {"subnet_id": subnet["id"]})
        neutron.delete("router", router["id"])
    for port in (port_a, port_b, *extra_ports):
        neutron.delete("port", port["id"])
    neutron.delete("network", net["id"])
    if router is not None:
        neutron.delete("network", router["external_network_id"])
    wait_for(
        "every device, namespace and chain of ours to go", lambda: not leftovers(scope) and not [n for n in namespaces() if net["id"] in n]
    )
    assert dnsmasq_pids(state_dir) == []
    assert not any(n.startswith(("qdhcp-", "qrouter-")) and (net["id"] in n or (router and router["id"] in n)) for n in namespaces())


def check_router(
    neutron: Neutron,
    outside: Outside,
    net: dict[str, Any],
    subnet: dict[str, Any],
    guest_a: Guest,
    guest_b: Guest,
    port_a: dict[str, Any],
    group: dict[str, Any],
) -> dict[str, Any]:
    public = neutron.create(
        "network", name="public", **{"router:external": True, "provider:network_type": "flat", "provider:physical_network": "public"}
    )
    neutron.create(
        "subnet",
        network_id=public["id"],
        cidr="198.51.100.0/24",
        ip_version=4,
        gateway_ip=outside.address,
        enable_dhcp=False,
        allocation_pools=[{"start": "198.51.100.10", "end": "198.51.100.100"}],
    )
    router = neutron.create("router", name="r1", external_gateway_info={"network_id": public["id"]})
    neutron.call("PUT", f"/routers/{router['id']}/add_router_interface", 200, {"subnet_id": subnet["id"]})
    router = neutron.show("router", router["id"])
    gateway_ip = router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    namespace = router_namespace(router["id"])
    wait_for(
        "the router namespace",
        lambda: (
            namespace in namespaces()
            and link_exists(f"qg-{neutron.ports(device_id=router['id'], device_owner='network:router_gateway')[0]['id'][:11]}", namespace)
        ),
    )
    outside.serve(7070)
    # SNAT: the guest reaches the outside as the router's gateway address
    wait_for("SNAT to the outside", lambda: guest_b.connect(outside.address, 7070), timeout=30)
    assert guest_b.connect(outside.address, 7070) == f"outside {gateway_ip}"
    # the fixed address is not reachable from outside
    assert outside.connect(guest_a.ip, 8080) is None
    # a floating IP: DNAT from outside, and the guest seen as it
    fip = neutron.create("floatingip", floating_network_id=public["id"], port_id=port_a["id"])
    address = fip["floating_ip_address"]
    wait_for("the floating IP", lambda: outside.connect(address, 8080), timeout=30)
    assert outside.connect(address, 8080) == f"a-8080 {outside.address}"
    assert guest_a.connect(outside.address, 7070) == f"outside {address}"
    wait_for("the floating IP ACTIVE", lambda: neutron.show("floatingip", fip["id"])["status"] == "ACTIVE")
    # a static route lands in the router's namespace, and goes again
    neutron.update("router", router["id"], routes=[{"destination": "203.0.113.0/24", "nexthop": guest_b.ip}])
    wait_for("the static route", lambda: guest_b.ip in in_ns(namespace, "ip", "route", "show", "203.0.113.0/24").stdout, timeout=15)
    neutron.update("router", router["id"], routes=[])
    wait_for("the static route to go", lambda: not in_ns(namespace, "ip", "route", "show", "203.0.113.0/24").stdout.strip(), timeout=15)
    return {"id": router["id"], "fip": address, "fip_id": fip["id"], "external_network_id": public["id"]}


def wipe_dataplane(scope: str, state_dir: Path, network_id: str, router: dict[str, Any] | None) -> None:
    """What a reboot leaves: no bridge, tap, namespace, dnsmasq or rule of ours."""
    for pid in dnsmasq_pids(state_dir):
        os.kill(pid, signal.SIGKILL)
    for namespace in (dhcp_namespace(network_id), *([router_namespace(router["id"])] if router else [])):
        sh("ip", "netns", "del", namespace, check=False)
    links = json.loads(sh("ip", "-j", "-d", "link", "show").stdout)
    for link in links:
        if f"pocketstack:{scope}:" in (link.get("ifalias") or ""):
            sh("ip", "link", "del", link["ifname"], check=False)
    for tool in ("iptables", "ip6tables"):
        for table, builtin in (("filter", "FORWARD"), ("raw", "PREROUTING")):  # raw: the conntrack zones
            saved = sh(f"{tool}-save", "-t", table).stdout
            rules = [line for line in saved.splitlines() if line.startswith(f"-A {builtin}") and f"pocketstack-{scope}" in line]
            chains = [line[1:].split()[0] for line in saved.splitlines() if line.startswith(f":pocketstack-{scope}")]
            text = (
                f"*{table}\n"
                + "".join(f":{c} - [0:0]\n" for c in chains)
                + "".join(f"-D{r[2:]}\n" for r in rules)
                + "".join(f"-X {c}\n" for c in chains)
                + "COMMIT\n"
            )
            sh(f"{tool}-restore", "--noflush", stdin=text)

"""Conntrack zones for real (root only): two networks on the same CIDR, each with two
stand-in guests (namespaces on the ports' taps, as in test_network_dataplane.py). Every
bridge lives in the host's namespace, so without a zone per network the two networks'
identical 5-tuples would be one conntrack entry: a UDP flow network A's rules allow would
make the very same packet in network B "ESTABLISHED" and carry it past the ingress rules
of B's receiver, whose group allows nothing of the kind. With zones B's copy is a new
flow of B's own, and B's receiver drops it, while A's flow goes on.

Names made here start with "psx" or are the cloud's own; everything goes in the `world`
fixture's finally (the guests, the cloud, its dataplane, the outside world)."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pocketstack.drivers.network.base import bridge_name, tap_name
from pocketstack.drivers.network.linux import missing_tools
from pocketstack.testing.outside import in_ns, sh
from tests.conftest import admin_identity
from tests.e2e.test_network_dataplane import HOST, Guest, Neutron, leftovers, wait_for, world  # noqa: F401 (world: the fixture)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or bool(missing_tools()), reason="needs root, iproute2, dnsmasq and iptables (scripts/setup installs them)"
)

CIDR = "10.77.0.0/24"
SENDER, RECEIVER = "10.77.0.5", "10.77.0.6"  # the same two addresses in both networks
SERVICE_PORT, SOURCE_PORT = 5000, 40000
OTHER_PORT = 6000  # what B's receiver does let in

# a UDP server: every datagram is logged to a file and answered "<name> <sender>"
UDP_SERVER = r"""
import socket, sys
name, log = sys.argv[2], sys.argv[3]
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, peer = server.recvfrom(2048)
    with open(log, "a") as out:
        out.write(f"{peer[0]}:{peer[1]} {data.decode()}\n")
    server.sendto(f"{name} {peer[0]}".encode(), peer)
"""

# a UDP client from a fixed source port: the answer, or exit 1 after a second of silence
UDP_CLIENT = r"""
import socket, sys
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
client.bind(("0.0.0.0", int(sys.argv[3])))
client.settimeout(1)
client.sendto(sys.argv[4].encode(), (sys.argv[1], int(sys.argv[2])))
try:
    print(client.recvfrom(2048)[0].decode())
except socket.timeout:
    sys.exit(1)
"""


class UdpGuest(Guest):
    """A stand-in guest with a fixed address (no DHCP: the subnets have none) and UDP."""

    def __init__(self, name: str, port: dict[str, Any], mtu: int) -> None:
        super().__init__(name, port, mtu)
        self.logs: list[Path] = []

    def address(self) -> UdpGuest:
        in_ns(self.namespace, "ip", "addr", "add", f"{self.ip}/24", "dev", "eth0")
        return self

    def serve_udp(self, name: str, port: int = SERVICE_PORT) -> Path:
        log = Path(f"/tmp/{self.namespace}.udp{port}")
        log.unlink(missing_ok=True)
        log.touch()
        argv = ["ip", "netns", "exec", self.namespace, sys.executable, "-c", UDP_SERVER, str(port), name, str(log)]
        self.servers.append(subprocess.Popen(argv))
        self.logs.append(log)
        time.sleep(0.3)
        return log

    def send_udp(self, address: str, text: str, port: int = SERVICE_PORT) -> str | None:
        """The receiver's answer to one datagram from SOURCE_PORT, or None."""
        argv = [sys.executable, "-c", UDP_CLIENT, address, str(port), str(SOURCE_PORT), text]
        result = in_ns(self.namespace, *argv, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def remove(self) -> None:
        super().remove()
        for log in self.logs:
            log.unlink(missing_ok=True)


def zones_of(bridges: list[str]) -> dict[str, int]:
    """bridge -> the conntrack zone the raw table gives it (missing: none)."""
    found = {}
    for line in sh("iptables-save", "-t", "raw").stdout.splitlines():
        match = re.search(r" -i (\S+) .*-j CT --zone (\d+)", line)
        if match and match.group(1) in bridges:
            found[match.group(1)] = int(match.group(2))
    return found


def filtered(taps: list[str]) -> bool:
    saved = sh("iptables-save", "-t", "filter").stdout
    return all(f"--physdev-in {tap} " in saved for tap in taps)


def flows(zones: list[int]) -> dict[int, list[int]]:
    """zone -> destination ports of the UDP conntrack entries SENDER:SOURCE_PORT -> RECEIVER
    in these zones (zone 0 is the host's, where anything may linger)."""
    from pyroute2 import Conntrack

    found: dict[int, list[int]] = {}
    with Conntrack() as conntrack:
        for entry in conntrack.dump_entries():
            ends = entry.tuple_orig
            if (ends.proto, ends.saddr, ends.daddr, ends.sport) == (socket.IPPROTO_UDP, SENDER, RECEIVER, SOURCE_PORT):
                if (entry.zone or 0) in zones:
                    found.setdefault(entry.zone or 0, []).append(ends.dport)
    return {zone: sorted(ports) for zone, ports in found.items()}


def make_network(neutron: Neutron, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    network = neutron.create("network", name=name)
    subnet = neutron.create("subnet", network_id=network["id"], cidr=CIDR, ip_version=4, enable_dhcp=False)
    return network, subnet


def make_guest(guests: list[Guest], neutron: Neutron, name: str, subnet: dict[str, Any], ip: str, group: dict[str, Any]) -> UdpGuest:
    port = neutron.create(
        "port",
        network_id=subnet["network_id"],
        fixed_ips=[{"subnet_id": subnet["id"], "ip_address": ip}],
        security_groups=[group["id"]],
        **{"binding:host_id": HOST},
    )
    wait_for(f"port {name} ACTIVE", lambda: neutron.show("port", port["id"])["status"] == "ACTIVE")
    guest = UdpGuest(name, port, int(neutron.show("network", subnet["network_id"])["mtu"]))
    guests.append(guest)  # the fixture removes it, whatever happens
    guest.start()
    return guest.address()


def test_equal_flows_in_two_networks_are_two_flows(world: dict[str, Any]) -> None:  # noqa: F811 (the fixture)
    neutron = Neutron(admin_identity(world["cloud"]).service("/networking/v2.0"))
    net_a, subnet_a = make_network(neutron, "zone-a")
    net_b, subnet_b = make_network(neutron, "zone-b")
    assert ipaddress.ip_network(subnet_a["cidr"]) == ipaddress.ip_network(subnet_b["cidr"])

    # A's receiver lets UDP to the service port in; B's receiver only UDP to another port
    open_group = allowing(neutron, "udp-open", SERVICE_PORT)
    closed_group = allowing(neutron, "udp-closed", OTHER_PORT)
    senders = neutron.create("security_group", name="senders")  # a new group's egress rules only

    sender_a = make_guest(world["guests"], neutron, "a1", subnet_a, SENDER, senders)
    receiver_a = make_guest(world["guests"], neutron, "a2", subnet_a, RECEIVER, open_group)
    sender_b = make_guest(world["guests"], neutron, "b1", subnet_b, SENDER, senders)
    receiver_b = make_guest(world["guests"], neutron, "b2", subnet_b, RECEIVER, closed_group)
    bridges = [bridge_name(net_a["id"]), bridge_name(net_b["id"])]
    taps = [tap_name(guest.port["id"]) for guest in (sender_a, receiver_a, sender_b, receiver_b)]
    wait_for("every port filtered", lambda: filtered(taps), timeout=30)
    log_a, log_b = receiver_a.serve_udp("a2"), receiver_b.serve_udp("b2")
    receiver_b.serve_udp("b2", OTHER_PORT)

    # A's flow: allowed and answered
    assert sender_a.send_udp(RECEIVER, "from a1") == f"a2 {SENDER}"
    # the very same datagram in B is a new flow of B's, which B's receiver drops
    assert sender_b.send_udp(RECEIVER, "from b1") is None
    assert log_b.read_text() == "", "B's receiver got a datagram its group does not allow"
    # and A's flow goes on
    assert sender_a.send_udp(RECEIVER, "from a1 again") == f"a2 {SENDER}"
    assert log_a.read_text().count(f"{SENDER}:{SOURCE_PORT} ") == 2

    # how: each network's flows are tracked in a zone of its own (a dropped packet's entry
    # is never confirmed, so A's entry is all there is of the service port)
    zones = zones_of(bridges)
    assert set(zones) == set(bridges) and len(set(zones.values())) == 2 and 0 not in zones.values()
    zone_a, zone_b = zones[bridges[0]], zones[bridges[1]]
    ours = [zone_a, zone_b]
    assert flows(ours) == {zone_a: [SERVICE_PORT]}
    assert sender_b.send_udp(RECEIVER, "from b1", OTHER_PORT) == f"b2 {SENDER}"  # what B does allow
    assert flows(ours) == {zone_a: [SERVICE_PORT], zone_b: [OTHER_PORT]}

    # a port that goes takes its flows along, in its own network's zone only: the same
    # address in B is another guest, whose flow stays
    drop(world["guests"], neutron, sender_a)
    wait_for("a1's flow to be forgotten", lambda: zone_a not in flows(ours), timeout=30)
    assert flows(ours) == {zone_b: [OTHER_PORT]}
    # the last port of a network takes its zone along, and the flows in it
    for guest in (sender_b, receiver_b):
        drop(world["guests"], neutron, guest)
    wait_for("network B's zone rule to go", lambda: bridges[1] not in zones_of(bridges), timeout=30)
    wait_for("network B's flows to be forgotten", lambda: flows(ours) == {}, timeout=10)
    assert zones_of(bridges) == {bridges[0]: zone_a}  # A keeps its zone

    # everything deleted: nothing of this cloud is left in the filter or raw tables
    drop(world["guests"], neutron, receiver_a)
    neutron.delete("network", net_a["id"])
    neutron.delete("network", net_b["id"])
    wait_for("every chain of ours to go", lambda: not leftovers(world["scope"]), timeout=30)


def allowing(neutron: Neutron, name: str, port: int) -> dict[str, Any]:
    """A security group letting UDP to `port` in (and, as every new group, anything out)."""
    group = neutron.create("security_group", name=name)
    rule = {"direction": "ingress", "ethertype": "IPv4", "protocol": "udp", "port_range_min": port, "port_range_max": port}
    neutron.create("security_group_rule", security_group_id=group["id"], **rule)
    return group


def drop(guests: list[Guest], neutron: Neutron, guest: UdpGuest) -> None:
    """The guest goes, then its port."""
    guest.remove()
    guests.remove(guest)
    neutron.delete("port", guest.port["id"])

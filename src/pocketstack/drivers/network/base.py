"""What a network dataplane is asked to build, and the small protocol every dataplane
speaks (linux.py builds it for real, noop.py only records the calls).

The network agent turns database rows into the frozen specs below and hands them to a
driver; the driver makes the host match and never reads the database. Every `ensure_*`
is idempotent (called on every pass, it does nothing when the host already matches) and
every `remove_*` is a no-op for something already gone, so a pass interrupted anywhere
(kill -9, reboot) is simply finished by the next one.

Names follow Neutron's Linux bridge agent so an operator recognises them: the bridge
of a network is "brq" + network_id[:11], the tap of a port "tap" + port_id[:11], the
DHCP server lives in namespace "qdhcp-<network_id>" behind interface "ns-" + port_id[:11],
a router in "qrouter-<router_id>" with legs "qr-"/"qg-" + port_id[:11]."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

DEVICE_ID_LENGTH = 11  # Linux allows 15 characters: 4 of prefix, 11 of id
BRIDGE_PREFIX = "brq"
TAP_PREFIX = "tap"
DHCP_DEVICE_PREFIX = "ns-"
ROUTER_INTERFACE_PREFIX = "qr-"
ROUTER_GATEWAY_PREFIX = "qg-"
DHCP_NAMESPACE_PREFIX = "qdhcp-"
ROUTER_NAMESPACE_PREFIX = "qrouter-"
METADATA_ADDRESS = "169.254.169.254"
METADATA_PORT = 80
ROUTER_METADATA_PORT = 9697  # Neutron's: the proxy in a router namespace


def bridge_name(network_id: str) -> str:
    return BRIDGE_PREFIX + network_id[:DEVICE_ID_LENGTH]


def tap_name(port_id: str) -> str:
    return TAP_PREFIX + port_id[:DEVICE_ID_LENGTH]


def dhcp_device_name(port_id: str) -> str:
    return DHCP_DEVICE_PREFIX + port_id[:DEVICE_ID_LENGTH]


def router_interface_name(port_id: str) -> str:
    return ROUTER_INTERFACE_PREFIX + port_id[:DEVICE_ID_LENGTH]


def router_gateway_name(port_id: str) -> str:
    return ROUTER_GATEWAY_PREFIX + port_id[:DEVICE_ID_LENGTH]


def dhcp_namespace(network_id: str) -> str:
    return DHCP_NAMESPACE_PREFIX + network_id


def router_namespace(router_id: str) -> str:
    return ROUTER_NAMESPACE_PREFIX + router_id


def default_scope(database_url: str) -> str:
    """Six hex digits naming one cloud's dataplane on a host shared with others (two test
    clouds, say): its devices carry it in their alias and its chains and sets in their
    names, so each cloud removes only its own leftovers."""
    return hashlib.sha256(database_url.encode()).hexdigest()[:6]


# -- what to build ------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkSpec:
    """A network's layer 2 on this host: a bridge we own ("brq..."), or an existing host
    bridge of a physical network (bridge_mappings) that we only plug into."""

    id: str
    bridge: str
    mtu: int
    managed: bool = True


@dataclass(frozen=True)
class PortSpec:
    """A guest's NIC: a persistent tap (root-owned, single queue) on the network's bridge;
    QEMU opens it by name. The tap's own MAC is the port's with the first byte 0xfe (as
    libvirt does), so the bridge never mistakes it for the guest."""

    id: str
    network_id: str
    device: str
    mac: str
    bridge: str
    mtu: int
    admin_state_up: bool = True


@dataclass(frozen=True)
class DhcpSubnet:
    id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination cidr, nexthop)
    ipv6_address_mode: str | None = None


@dataclass(frozen=True)
class DhcpHost:
    """One static lease: this MAC gets this address (and name), nothing else does."""

    mac: str
    ip: str
    hostname: str


@dataclass(frozen=True)
class DhcpSpec:
    """One dnsmasq for a network, in namespace `namespace`, on a veth whose root end
    `device` sits on the bridge and whose namespace end `ns_device` holds the DHCP
    port's MAC and addresses ("10.0.0.2/24")."""

    network_id: str
    namespace: str
    bridge: str
    mtu: int
    port_id: str
    device: str
    ns_device: str
    mac: str
    addresses: tuple[str, ...]
    subnets: tuple[DhcpSubnet, ...]
    hosts: tuple[DhcpHost, ...]
    lease_time: int = 86400
    domain: str = "openstacklocal"
    instances: tuple[tuple[str, str], ...] = ()  # (guest address, server id) for the metadata proxy


@dataclass(frozen=True)
class RouterLeg:
    """A router port: a veth whose root end `device` is on the bridge of the port's
    network and whose namespace end `ns_device` ("qr-"/"qg-") holds the port's MAC and
    addresses."""

    port_id: str
    device: str
    ns_device: str
    mac: str
    addresses: tuple[str, ...]
    bridge: str
    mtu: int


@dataclass(frozen=True)
class FloatingIpSpec:
    floating_ip: str
    fixed_ip: str


@dataclass(frozen=True)
class RouterSpec:
    """A router namespace: interfaces, a gateway leg with its default route, SNAT of the
    internal subnets (`snat_sources`, when enable_snat), 1:1 NAT of floating IPs and
    static routes."""

    id: str
    namespace: str
    interfaces: tuple[RouterLeg, ...] = ()
    gateway: RouterLeg | None = None
    default_routes: tuple[str, ...] = ()  # next hops: the external subnets' gateways
    enable_snat: bool = True
    snat_sources: tuple[str, ...] = ()
    floating_ips: tuple[FloatingIpSpec, ...] = ()
    routes: tuple[tuple[str, str], ...] = ()  # (destination cidr, nexthop)
    instances: tuple[tuple[str, str], ...] = ()  # (guest address, server id) for the metadata proxy
    metadata_port: int | None = None  # where 169.254.169.254:80 from the inside is redirected


@dataclass(frozen=True)
class FirewallRule:
    """A security group rule as the firewall needs it. protocol: None for any, else a
    name iptables knows ("tcp", "icmp") or an IANA number as text. For ICMP, port_min is
    the type and port_max the code."""

    direction: str  # "ingress" (to the port) or "egress" (from the port)
    ethertype: str  # "IPv4" or "IPv6"
    protocol: str | None = None
    port_min: int | None = None
    port_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None


@dataclass(frozen=True)
class PortFilter:
    """The firewall of one port with port security: only its own MAC and addresses (and
    allowed address pairs) may leave it; only what a rule allows may reach it."""

    port_id: str
    device: str
    mac: str
    ips: tuple[str, ...]
    allowed_pairs: tuple[tuple[str, str], ...] = ()  # (address or cidr, mac)
    rules: tuple[FirewallRule, ...] = ()
    stateful: bool = True
    bridge: str = ""  # its network's bridge, whose conntrack zone holds the port's flows


@dataclass(frozen=True)
class FirewallSpec:
    """Every port filter of this host at once: remote-group rules of one port depend on
    other ports' addresses, so the firewall is written whole (one atomic restore)."""

    filters: tuple[PortFilter, ...] = ()
    open_devices: tuple[str, ...] = ()  # our ports without port security: accepted as they are
    group_members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group id -> member addresses
    # the bridges we own (tenant networks) with a port of ours on them: each gets a
    # conntrack zone of its own, so equal addresses in two networks never share a flow
    zone_bridges: tuple[str, ...] = ()


class DataplaneError(Exception):
    """The host could not be made to match (a missing tool, a refused command)."""


class NetworkDriver(Protocol):
    name: str

    def prepare(self) -> None:
        """Once per pass, before any ensure/remove: take a fresh look at the host."""

    def ensure_network(self, network: NetworkSpec) -> None: ...
    def remove_network(self, network_id: str) -> None: ...
    def list_networks(self) -> set[str]: ...

    def ensure_port(self, port: PortSpec) -> None: ...
    def remove_port(self, port_id: str) -> None: ...
    def list_ports(self) -> set[str]: ...

    def ensure_dhcp(self, dhcp: DhcpSpec) -> None: ...
    def remove_dhcp(self, network_id: str) -> None: ...
    def list_dhcp(self) -> set[str]: ...

    def ensure_router(self, router: RouterSpec) -> None: ...
    def remove_router(self, router_id: str) -> None: ...
    def list_routers(self) -> set[str]: ...

    def apply_firewall(self, firewall: FirewallSpec) -> None: ...

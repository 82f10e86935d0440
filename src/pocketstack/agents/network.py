"""The network agent: makes this host's dataplane match the networking database, as
Neutron's Linux bridge, DHCP and L3 agents do together.

Each pass (agents/reconcile.py):
1. gives every network with DHCP-enabled subnets its DHCP port (a real port row,
   device_owner "network:dhcp", made through the network backend as Neutron's DHCP
   agent does) and drops those of networks that no longer serve DHCP;
2. reads the desired state: the guest ports bound to this host (a tap each), the DHCP
   servers, the routers with their legs, floating IPs and routes, and every port filter;
3. asks the driver to build each piece (bridges first), then removes what exists on the
   host but no row wants (bridges, taps, namespaces, dnsmasq, chains: found by the marks
   the driver puts on its own things);
4. writes the outcome back: ports ACTIVE once plugged (DOWN otherwise), floating IPs
   ACTIVE once translated; and reports the agents (`openstack network agent list`).

Nothing is kept in memory between passes, so after a kill -9 or a reboot the next pass
rebuilds whatever is missing. A piece that fails is logged and retried next pass, and
the others are still built."""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.config import NetworkSettings, Settings
from pocketstack.core.db import Database
from pocketstack.drivers.network.base import (
    ROUTER_METADATA_PORT,
    DataplaneError,
    DhcpHost,
    DhcpSpec,
    DhcpSubnet,
    FirewallRule,
    FirewallSpec,
    FloatingIpSpec,
    NetworkDriver,
    NetworkSpec,
    PortFilter,
    PortSpec,
    RouterLeg,
    RouterSpec,
    bridge_name,
    dhcp_device_name,
    dhcp_namespace,
    router_gateway_name,
    router_interface_name,
    router_namespace,
    tap_name,
)
from pocketstack.drivers.network.dnsmasq import hostname_for
from pocketstack.services.network.models import (
    ACTIVE,
    DOWN,
    FloatingIp,
    Network,
    Port,
    PortSecurityGroup,
    Router,
    SecurityGroup,
    Subnet,
)

from .reconcile import ReconcileLoop

log = logging.getLogger("pocketstack.agents.network")

DHCP_OWNER = "network:dhcp"
ROUTER_INTERFACE_OWNER = "network:router_interface"
ROUTER_GATEWAY_OWNER = "network:router_gateway"
SESSION_MARK = "pocketstack.network_agent"  # sessions of the agent itself wake no one
REPORT_INTERVAL = 10.0  # seconds between agent reports (heartbeats)
# Neutron's agent types and binaries, as `openstack network agent list` shows them
AGENT_TYPES = {
    "linuxbridge": ("Linux bridge agent", "neutron-linuxbridge-agent"),
    "dhcp": ("DHCP agent", "neutron-dhcp-agent"),
    "l3": ("L3 agent", "neutron-l3-agent"),
}


def default_host_name(settings: Settings) -> str:
    return settings.network.host or settings.compute.host or socket.gethostname()


# -- the desired state ----------------------------------------------------------------------
@dataclass
class Desired:
    networks: dict[str, NetworkSpec] = field(default_factory=dict)
    ports: dict[str, PortSpec] = field(default_factory=dict)
    dhcp: dict[str, DhcpSpec] = field(default_factory=dict)
    routers: dict[str, RouterSpec] = field(default_factory=dict)
    firewall: FirewallSpec = field(default_factory=FirewallSpec)
    managed_ports: set[str] = field(default_factory=set)  # ports whose status this agent keeps
    floating_ips: dict[str, str | None] = field(default_factory=dict)  # id -> the router translating it


class StateReader:
    """Reads the database into driver specs for one host (one read transaction)."""

    def __init__(self, db: Session, host: str, options: NetworkSettings, metadata: bool = False) -> None:
        self.db = db
        self.host = host
        self.options = options
        self.metadata = metadata  # fill in who is who for the metadata proxy
        self.networks = {n.id: n for n in db.scalars(select(Network))}
        self.subnets = {s.id: s for n in self.networks.values() for s in n.subnets}
        self.ports = list(db.scalars(select(Port)))
        self.desired = Desired()

    def read(self) -> Desired:
        guests = [p for p in self.ports if is_guest_port(p, self.host)]
        for port in guests:
            self._guest(port)
        if self.options.dhcp_agent:
            for network in self.networks.values():
                self._dhcp(network)
        if self.options.l3_agent:
            self._routers()
        self.desired.firewall = self._firewall(guests)
        return self.desired

    # networks and ports
    def network(self, network_id: str) -> NetworkSpec:
        spec = self.desired.networks.get(network_id)
        if spec is None:
            spec = network_spec(self.networks[network_id], self.options.bridge_mappings)
            self.desired.networks[network_id] = spec
        return spec

    def addresses(self, port: Port) -> tuple[str, ...]:
        """The port's addresses with their subnets' prefix length ("10.0.0.5/24")."""
        out = []
        for held in port.fixed_ips:
            subnet = self.subnets.get(held.subnet_id)
            if subnet is not None:
                out.append(f"{held.ip_address}/{ipaddress.ip_network(subnet.cidr).prefixlen}")
        return tuple(out)

    def _guest(self, port: Port) -> None:
        network = self.network(port.network_id)
        self.desired.ports[port.id] = PortSpec(
            id=port.id,
            network_id=port.network_id,
            device=tap_name(port.id),
            mac=port.mac_address,
            bridge=network.bridge,
            mtu=network.mtu,
            admin_state_up=port.admin_state_up,
        )
        self.desired.managed_ports.add(port.id)

    # DHCP
    def _dhcp(self, network: Network) -> None:
        subnets = dhcp_subnets(network)
        port = next((p for p in self.ports if p.network_id == network.id and is_our_dhcp_port(p, self.host)), None)
        if not subnets or port is None or not network.admin_state_up:
            return
        spec = self.network(network.id)
        served = {s.id for s in subnets}
        hosts = []
        for other in self.ports:
            if other.network_id != network.id or other.id == port.id or other.device_owner.startswith("network:router"):
                continue
            if other.device_owner == "network:floatingip":
                continue
            for held in other.fixed_ips:
                if held.subnet_id in served:
                    hosts.append(DhcpHost(other.mac_address, held.ip_address, hostname_for(held.ip_address)))
        self.desired.dhcp[network.id] = DhcpSpec(
            network_id=network.id,
            namespace=dhcp_namespace(network.id),
            bridge=spec.bridge,
            mtu=spec.mtu,
            port_id=port.id,
            device=tap_name(port.id),
            ns_device=dhcp_device_name(port.id),
            mac=port.mac_address,
            addresses=self.addresses(port),
            subnets=tuple(dhcp_subnet_spec(s) for s in subnets),
            hosts=tuple(sorted(hosts, key=lambda h: (h.mac, h.ip))),
            lease_time=self.options.dhcp_lease_time,
            domain=self.options.dns_domain,
            instances=self._instances([network.id]),
        )
        self.desired.managed_ports.add(port.id)

    # routers
    def _routers(self) -> None:
        routers = [r for r in self.db.scalars(select(Router)) if r.admin_state_up]
        ids = {r.id for r in routers}
        legs: dict[str, list[Port]] = {}
        for port in self.ports:
            if port.device_id in ids and port.device_owner in (ROUTER_INTERFACE_OWNER, ROUTER_GATEWAY_OWNER):
                legs.setdefault(port.device_id, []).append(port)
        fips: dict[str, list[FloatingIp]] = {}
        for fip in self.db.scalars(select(FloatingIp)):
            translated = fip.router_id in ids and fip.fixed_ip_address and fip.fixed_port_id
            self.desired.floating_ips[fip.id] = fip.router_id if translated else None
            if translated:
                fips.setdefault(fip.router_id, []).append(fip)
        for router in routers:
            self.desired.routers[router.id] = self._router(router, legs.get(router.id, []), fips.get(router.id, []))

    def _router(self, router: Router, ports: list[Port], fips: list[FloatingIp]) -> RouterSpec:
        interfaces, gateway, snat_sources, nexthops = [], None, [], []
        for port in sorted(ports, key=lambda p: p.id):
            network = self.network(port.network_id)
            is_gateway = port.device_owner == ROUTER_GATEWAY_OWNER
            name = router_gateway_name(port.id) if is_gateway else router_interface_name(port.id)
            leg = RouterLeg(port.id, tap_name(port.id), name, port.mac_address, self.addresses(port), network.bridge, network.mtu)
            self.desired.managed_ports.add(port.id)
            if is_gateway:
                gateway = leg
                nexthops += [s.gateway_ip for s in self._subnets_of(port) if s.gateway_ip]
            else:
                interfaces.append(leg)
                snat_sources += [s.cidr for s in self._subnets_of(port) if s.ip_version == 4]
        return RouterSpec(
            id=router.id,
            namespace=router_namespace(router.id),
            interfaces=tuple(interfaces),
            gateway=gateway,
            default_routes=tuple(nexthops),
            enable_snat=router.enable_snat,
            snat_sources=tuple(dict.fromkeys(snat_sources)),
            floating_ips=tuple(
                FloatingIpSpec(f.floating_ip_address, f.fixed_ip_address or "") for f in sorted(fips, key=lambda f: f.floating_ip_address)
            ),
            routes=tuple((route.destination, route.nexthop) for route in router.routes),
            instances=self._instances([port.network_id for port in ports if port.device_owner == ROUTER_INTERFACE_OWNER]),
            metadata_port=ROUTER_METADATA_PORT if self.metadata else None,
        )

    def _instances(self, network_ids: list[str]) -> tuple[tuple[str, str], ...]:
        """(IPv4 address, server id) of the servers' ports on these networks: how the
        metadata proxy tells which server asks."""
        if not self.metadata:
            return ()
        wanted = set(network_ids)
        pairs = [
            (held.ip_address, port.device_id)
            for port in self.ports
            if port.network_id in wanted and port.device_owner.startswith("compute:") and port.device_id
            for held in port.fixed_ips
            if ":" not in held.ip_address
        ]
        return tuple(sorted(pairs))

    def _subnets_of(self, port: Port) -> list[Subnet]:
        return [self.subnets[held.subnet_id] for held in port.fixed_ips if held.subnet_id in self.subnets]

    # security groups
    def _firewall(self, guests: list[Port]) -> FirewallSpec:
        filtered = [p for p in guests if p.port_security_enabled]
        group_ids = {g for p in filtered for g in p.security_group_ids}
        groups = {g.id: g for g in self.db.scalars(select(SecurityGroup).where(SecurityGroup.id.in_(group_ids)))} if group_ids else {}
        filters = []
        for port in filtered:
            mine = [groups[g] for g in port.security_group_ids if g in groups]
            filters.append(
                PortFilter(
                    port_id=port.id,
                    device=tap_name(port.id),
                    mac=port.mac_address,
                    ips=tuple(held.ip_address for held in port.fixed_ips),
                    allowed_pairs=tuple(
                        (pair["ip_address"], pair.get("mac_address") or port.mac_address) for pair in port.allowed_address_pairs
                    ),
                    rules=tuple(firewall_rule(rule) for group in mine for rule in group.rules),
                    stateful=all(group.stateful for group in mine),
                    bridge=self.network(port.network_id).bridge,
                )
            )
        remote_ids = {rule.remote_group_id for f in filters for rule in f.rules if rule.remote_group_id}
        open_devices = [tap_name(p.id) for p in guests if not p.port_security_enabled]
        open_devices += [spec.device for spec in self.desired.dhcp.values()]
        open_devices += [leg.device for r in self.desired.routers.values() for leg in (*r.interfaces, *([r.gateway] if r.gateway else []))]
        # every network with a port here (guest, DHCP or router leg) is in desired.networks;
        # a bridge of bridge_mappings is not ours to zone (see drivers/network/firewall.py)
        zone_bridges = tuple(sorted({n.bridge for n in self.desired.networks.values() if n.managed}))
        return FirewallSpec(
            filters=tuple(filters),
            open_devices=tuple(open_devices),
            group_members=self._members(remote_ids),
            zone_bridges=zone_bridges,
        )

    def _members(self, group_ids: set[str]) -> dict[str, tuple[str, ...]]:
        """Every address of every port in each group, on any host (allowed address pairs
        included, as Neutron puts them in the group's ipset)."""
        if not group_ids:
            return {}
        bindings = self.db.execute(
            select(PortSecurityGroup.security_group_id, PortSecurityGroup.port_id).where(PortSecurityGroup.security_group_id.in_(group_ids))
        )
        by_port = {p.id: p for p in self.ports}
        members: dict[str, list[str]] = {g: [] for g in group_ids}
        for group_id, port_id in bindings:
            port = by_port.get(port_id)
            if port is not None:
                members[group_id] += [held.ip_address for held in port.fixed_ips]
                members[group_id] += [pair["ip_address"] for pair in port.allowed_address_pairs]
        return {g: tuple(sorted(set(addresses))) for g, addresses in members.items()}


def is_guest_port(port: Port, host: str) -> bool:
    """A port this host plugs a tap for: bound here, as a bridge port, and no network device."""
    return port.binding_host_id == host and port.binding_vif_type == "bridge" and not port.device_owner.startswith("network:")


def is_our_dhcp_port(port: Port, host: str) -> bool:
    return port.device_owner == DHCP_OWNER and port.binding_host_id == host


def network_spec(network: Network, mappings: dict[str, str]) -> NetworkSpec:
    """A flat network on a mapped physical network rides the host bridge of the mapping
    (the external network, typically); everything else gets a bridge of its own."""
    segment = network.segment
    if segment is not None and segment.network_type == "flat" and segment.physical_network in mappings:
        return NetworkSpec(network.id, mappings[segment.physical_network], network.mtu, managed=False)
    return NetworkSpec(network.id, bridge_name(network.id), network.mtu)


def dhcp_subnets(network: Network) -> list[Subnet]:
    return [
        s
        for s in network.subnets
        if s.enable_dhcp and (s.ip_version == 4 or s.ipv6_address_mode in ("dhcpv6-stateful", "dhcpv6-stateless"))
    ]


def dhcp_subnet_spec(subnet: Subnet) -> DhcpSubnet:
    return DhcpSubnet(
        id=subnet.id,
        cidr=subnet.cidr,
        ip_version=subnet.ip_version,
        gateway_ip=subnet.gateway_ip,
        dns_nameservers=tuple(subnet.dns_nameservers),
        host_routes=tuple((route["destination"], route["nexthop"]) for route in subnet.host_routes),
        ipv6_address_mode=subnet.ipv6_address_mode,
    )


def firewall_rule(rule: Any) -> FirewallRule:
    return FirewallRule(
        direction=rule.direction,
        ethertype=rule.ethertype,
        protocol=protocol_number(rule.protocol),
        port_min=rule.port_range_min,
        port_max=rule.port_range_max,
        remote_ip_prefix=rule.remote_ip_prefix,
        remote_group_id=rule.remote_group_id,
    )


def protocol_number(protocol: str | None) -> str | None:
    """The IANA number, as text, of a protocol the API stored by name or number."""
    from pocketstack.services.network.backend.security_groups import PROTOCOLS

    if protocol is None or protocol in ("any", ""):
        return None
    if protocol.isdigit():
        return protocol
    return str(PROTOCOLS[protocol])


# -- the agent ------------------------------------------------------------------------------
class NetworkAgent:
    def __init__(self, settings: Settings, db: Database, driver: NetworkDriver, host: str | None = None) -> None:
        self.settings = settings
        self.options = settings.network
        self.db = db
        self.driver = driver
        self.host = host or default_host_name(settings)
        self.loop = ReconcileLoop(f"network-agent-{self.host}", self.reconcile, self.options.agent_interval)
        self._last_report = 0.0
        self._reported = False  # the first report says the agent (re)started
        self.last_pass: dict[str, Any] = {}
        # the metadata proxy has a service to forward to only where compute runs too
        self.metadata = self.options.metadata_proxy and "compute" in settings.services
        self._errors: dict[str, str] = {}  # piece -> its last failure, said once

    # life cycle
    def start(self) -> None:
        if self.metadata and hasattr(self.driver, "enable_metadata"):
            from pocketstack.services.compute.metadata import shared_secret

            secret = shared_secret(self.settings.data_dir, self.settings.compute.metadata_proxy_shared_secret)
            self.driver.enable_metadata(f"{self.settings.effective_public_url}/compute/metadata", secret)
        self.loop.start()
        log.info("network agent for host %s started (%s dataplane)", self.host, self.driver.name)

    def wake(self) -> None:
        self.loop.wake()

    def stop(self) -> None:
        self.loop.stop()
        close = getattr(self.driver, "close", None)
        if close is not None:
            close()

    # one pass
    def reconcile(self) -> None:
        started = time.monotonic()
        if self.options.dhcp_agent:
            self._sync_dhcp_ports()
        with self.db.read() as db:
            desired = StateReader(db, self.host, self.options, self.metadata).read()
        self.driver.prepare()
        done, failed = self._apply(desired)
        self._record(desired, done)
        self._report(desired)
        self.last_pass = {"seconds": time.monotonic() - started, "failed": failed, "ports": len(desired.ports)}

    def _apply(self, desired: Desired) -> tuple[set[str], int]:
        """Build everything wanted, remove everything not; the ids of what was built."""
        done: set[str] = set()
        failed = 0

        def attempt(what: str, key: str, action: Callable[[], None]) -> None:
            nonlocal failed
            try:
                action()
                done.add(key)
                self._errors.pop(key, None)
            except Exception as exc:
                failed += 1
                self._failed(key, what, exc)

        d = self.driver
        for network in desired.networks.values():
            attempt(f"network {network.id}", f"network:{network.id}", lambda n=network: d.ensure_network(n))
        for port in desired.ports.values():
            attempt(f"port {port.id}", f"port:{port.id}", lambda p=port: d.ensure_port(p))
        for dhcp in desired.dhcp.values():
            attempt(f"DHCP of network {dhcp.network_id}", f"dhcp:{dhcp.network_id}", lambda s=dhcp: d.ensure_dhcp(s))
        for router in desired.routers.values():
            attempt(f"router {router.id}", f"router:{router.id}", lambda r=router: d.ensure_router(r))
        attempt("security groups", "firewall", lambda: d.apply_firewall(desired.firewall))
        # then the leftovers, the dependants before what they hang on
        for router_id in d.list_routers() - set(desired.routers):
            attempt(f"removing router {router_id}", f"gone:{router_id}", lambda r=router_id: d.remove_router(r))
        for network_id in d.list_dhcp() - set(desired.dhcp):
            attempt(f"removing DHCP of network {network_id}", f"gone:{network_id}", lambda n=network_id: d.remove_dhcp(n))
        for port_id in d.list_ports() - set(desired.ports):
            attempt(f"removing port {port_id}", f"gone:{port_id}", lambda p=port_id: d.remove_port(p))
        for network_id in d.list_networks() - set(desired.networks):
            attempt(f"removing network {network_id}", f"gone:{network_id}", lambda n=network_id: d.remove_network(n))
        return done, failed

    # DHCP ports
    def _sync_dhcp_ports(self) -> None:
        """One DHCP port per network that serves DHCP, with an address on each DHCP
        subnet; none on a network that does not (or no longer) serve it."""
        with self.db.read() as db:
            wanted = {n.id: {s.id for s in dhcp_subnets(n)} if n.admin_state_up else set() for n in db.scalars(select(Network))}
            have: dict[str, list[set[str]]] = {}
            for port in db.scalars(select(Port).where(Port.device_owner == DHCP_OWNER, Port.binding_host_id == self.host)):
                have.setdefault(port.network_id, []).append({held.subnet_id for held in port.fixed_ips})
        for network_id, subnets in wanted.items():
            mine = have.get(network_id, [])
            if (not subnets and not mine) or (subnets and mine == [subnets]):
                continue
            try:
                with self.db.write() as db:
                    db.info[SESSION_MARK] = True
                    self._fix_dhcp_port(db, network_id)
                self._errors.pop(f"dhcp-port:{network_id}", None)
            except Exception as exc:
                self._failed(f"dhcp-port:{network_id}", f"DHCP port of network {network_id}", exc)

    def _failed(self, key: str, what: str, exc: Exception) -> None:
        """Log a failure; the same failure pass after pass is said once, then quietly."""
        repeated = self._errors.get(key) == str(exc)
        self._errors[key] = str(exc)
        level = logging.DEBUG if repeated else logging.WARNING
        log.log(level, "%s: %s", what, exc, exc_info=not repeated and not isinstance(exc, (DataplaneError, OSError)))

    def _fix_dhcp_port(self, db: Session, network_id: str) -> None:
        from pocketstack.services.network.backend import ports as port_backend
        from pocketstack.services.network.backend.common import Viewer
        from pocketstack.services.network.schemas.ports import PortCreate, PortUpdate

        network = db.get(Network, network_id)
        if network is None:
            return
        mine = list(
            db.scalars(
                select(Port)
                .where(Port.network_id == network_id, Port.device_owner == DHCP_OWNER, Port.binding_host_id == self.host)
                .order_by(Port.created_at, Port.id)
            )
        )
        wanted = [s.id for s in dhcp_subnets(network)] if network.admin_state_up else []
        if not wanted:
            for port in mine:
                port_backend.delete_port(db, port)
            return
        for extra in mine[1:]:
            port_backend.delete_port(db, extra)
        viewer = Viewer(network.project_id, True)
        if not mine:
            body = {
                "network_id": network.id,
                "device_owner": DHCP_OWNER,
                "device_id": dhcp_device_id(self.host, network.id),
                "binding:host_id": self.host,
                "fixed_ips": [{"subnet_id": subnet_id} for subnet_id in wanted],
            }
            port_backend.create_port(db, viewer, network.project_id, network, PortCreate.model_validate(body))
            log.info("network %s: DHCP port made", network.id)
            return
        port = mine[0]
        keep = [{"subnet_id": h.subnet_id, "ip_address": h.ip_address} for h in port.fixed_ips if h.subnet_id in wanted]
        kept = {entry["subnet_id"] for entry in keep}
        fixed = keep + [{"subnet_id": subnet_id} for subnet_id in wanted if subnet_id not in kept]
        port_backend.update_port(db, viewer, port, PortUpdate.model_validate({"fixed_ips": fixed}))

    # what came of it
    def _record(self, desired: Desired, done: set[str]) -> None:
        """Ports ACTIVE when their piece of the dataplane was built this pass, DOWN when
        not; a guest port bound nowhere any more goes DOWN; floating IPs likewise."""
        firewall_ok = "firewall" in done
        active: set[str] = set()
        plugged = {
            p for p, spec in desired.ports.items() if spec.admin_state_up and f"port:{p}" in done and f"network:{spec.network_id}" in done
        }
        active |= plugged if firewall_ok else set()
        active |= {d.port_id for n, d in desired.dhcp.items() if f"dhcp:{n}" in done}
        for router_id, router in desired.routers.items():
            if f"router:{router_id}" in done:
                active |= {leg.port_id for leg in (*router.interfaces, *([router.gateway] if router.gateway else []))}
        with self.db.read() as db:
            changes = self._port_changes(db, desired.managed_ports, active)
            fip_changes = self._fip_changes(db, desired, done) if self.options.l3_agent else {}
        if not changes and not fip_changes:
            return
        from pocketstack.services.network.common import standard

        with self.db.write() as db:
            db.info[SESSION_MARK] = True
            for port_id, status in changes.items():
                port = db.get(Port, port_id)
                if port is not None and port.status != status:
                    port.status = status
                    standard.bump(port)
            for fip_id, status in fip_changes.items():
                fip = db.get(FloatingIp, fip_id)
                if fip is not None and fip.status != status:
                    fip.status = status
                    standard.bump(fip)

    def _port_changes(self, db: Session, managed: set[str], active: set[str]) -> dict[str, str]:
        changes = {}
        for port_id, status, host, owner in db.execute(select(Port.id, Port.status, Port.binding_host_id, Port.device_owner)):
            if port_id in managed:
                wanted = ACTIVE if port_id in active else DOWN
            elif status == ACTIVE and not owner.startswith("network:") and (host in ("", self.host)):
                wanted = DOWN  # unbound, or no longer plugged here
            else:
                continue
            if status != wanted:
                changes[port_id] = wanted
        return changes

    def _fip_changes(self, db: Session, desired: Desired, done: set[str]) -> dict[str, str]:
        changes = {}
        for fip_id, status in db.execute(select(FloatingIp.id, FloatingIp.status)):
            router_id = desired.floating_ips.get(fip_id)
            wanted = ACTIVE if router_id and f"router:{router_id}" in done else DOWN
            if status != wanted:
                changes[fip_id] = wanted
        return changes

    def _report(self, desired: Desired) -> None:
        if time.monotonic() - self._last_report < REPORT_INTERVAL:
            return
        try:
            from pocketstack.services.network.backend.agents import report_agent
        except ImportError:
            return
        roles = [
            (
                "linuxbridge",
                {"bridge_mappings": dict(self.options.bridge_mappings), "devices": len(desired.ports), "dataplane": self.driver.name},
            )
        ]
        if self.options.dhcp_agent:
            roles.append(
                (
                    "dhcp",
                    {"dhcp_driver": "dnsmasq", "networks": len(desired.dhcp), "ports": sum(len(d.hosts) for d in desired.dhcp.values())},
                )
            )
        if self.options.l3_agent:
            fips = sum(len(r.floating_ips) for r in desired.routers.values())
            roles.append(("l3", {"agent_mode": "legacy", "routers": len(desired.routers), "floating_ips": fips}))
        try:
            with self.db.write() as db:
                db.info[SESSION_MARK] = True
                for role, configurations in roles:
                    agent_type, binary = AGENT_TYPES[role]
                    report_agent(db, agent_type, binary, self.host, configurations, start_flag=not self._reported)
            self._last_report = time.monotonic()
            self._reported = True
        except Exception:
            log.exception("reporting the network agents failed")


def dhcp_device_id(host: str, network_id: str) -> str:
    """Neutron's device_id of a DHCP port: dhcp<uuid of the host>-<network id>."""
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host)}-{network_id}"


def network_tables() -> tuple[type, ...]:
    """The rows whose change gives the agent work."""
    from pocketstack.services.network import models

    names = (
        "Network",
        "Subnet",
        "Port",
        "IpAllocation",
        "SecurityGroup",
        "SecurityGroupRule",
        "PortSecurityGroup",
        "Router",
        "RouterRoute",
        "FloatingIp",
        "Segment",
    )
    return tuple(getattr(models, name) for name in names if hasattr(models, name))


def wake_on_commits(wake: Callable[[], None]) -> Callable[[], None]:
    """Call `wake` after every commit (in this process) that changed a networking row, so
    the API needs no hook of its own; the agent's own commits do not count. Returns the
    function that stops it."""
    from sqlalchemy import event

    tables = network_tables()

    def after_flush(session: Session, _context: Any) -> None:
        if session.info.get(SESSION_MARK):
            return
        if any(isinstance(row, tables) for rows in (session.new, session.dirty, session.deleted) for row in rows):
            session.info["pocketstack.network_changed"] = True

    def after_commit(session: Session) -> None:
        if session.info.pop("pocketstack.network_changed", False):
            wake()

    def after_rollback(session: Session, _previous: Any) -> None:
        session.info.pop("pocketstack.network_changed", None)

    listeners = (("after_flush", after_flush), ("after_commit", after_commit), ("after_soft_rollback", after_rollback))
    for name, listener in listeners:
        event.listen(Session, name, listener)

    def stop() -> None:
        for name, listener in listeners:
            event.remove(Session, name, listener)

    return stop

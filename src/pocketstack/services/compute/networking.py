"""The compute service's window on the networking service, in one place (as images.py is
for images): which networks a boot asks for, the ports a server gets (created in the
boot's own transaction, so IPAM and the server row commit together or not at all),
the NICs its guest is started with, its `addresses`, network_data.json, and the ports
it gives back when deleted.

Nova's rules: `networks` "none" means no NIC; absent (before 2.37) or "auto" means the
one network the project can use (none: no NIC; several: 409), and with "auto" a project
with none gets its auto-allocated topology's network when the cloud can make one (as Nova
asks Neutron for it from 2.37 on); a list names networks
(a port is made on each), ports (bound to the server, kept when it goes) and fixed IPs.
Without the networking service only "none", "auto" and an absent value are possible."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Conflict, Fault
from pocketstack.drivers.compute.base import Nic

from .models import Server

PREEXISTING_PORTS = "preexisting_ports"  # system_metadata key: ports the caller brought
INTERFACE_TAGS = "interface_tags"  # system_metadata key: port id -> the device tag asked for (2.32, 2.49)
NIC_ORDER = "nic_order"  # system_metadata key: the server's ports in the order it got them (eth0 first)


@dataclass(frozen=True)
class NicRequest:
    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


def tap_name(port_id: str) -> str:
    """The tap the dataplane plugs for a port (Neutron's linuxbridge naming)."""
    return "tap" + port_id[:11]


def requested_nics(db: Session, ctx: RequestContext, requested: Any, *, available: bool) -> list[NicRequest]:
    if requested == "none":
        return []
    if requested is None or requested == "auto":
        return _the_one_network(db, ctx, auto_allocate=requested == "auto") if available else []
    if not available:
        raise BadRequest("Networks cannot be requested: this cloud runs no networking service.")
    return [check_nic(db, ctx, entry) for entry in requested]


def _the_one_network(db: Session, ctx: RequestContext, *, auto_allocate: bool = False) -> list[NicRequest]:
    from pocketstack.services.network.models import Network

    usable = db.scalars(
        select(Network.id).where(Network.external.is_(False), or_(Network.project_id == ctx.project_id, Network.shared.is_(True)))
    ).all()
    if len(usable) > 1:
        raise Conflict("Multiple possible networks found, use a Network ID to be more specific.")
    if not usable and auto_allocate:
        usable = _auto_allocated_network(db, ctx)
    return [NicRequest(network_id=usable[0])] if usable else []


def _auto_allocated_network(db: Session, ctx: RequestContext) -> list[str]:
    """Nova's _auto_allocate_network: the project's auto-allocated network, made in this
    boot's transaction, if the cloud can make one (Nova's dry run first: none, no NIC)."""
    from pocketstack.services.network.backend import auto_allocated_topology as topology
    from pocketstack.services.network.backend.common import Viewer

    viewer = Viewer.of(ctx)
    try:
        topology.check_requirements(db, viewer)
    except Conflict:
        return []
    try:
        return [topology.topology_network(db, viewer, server_project(ctx))]
    except Conflict:
        raise BadRequest(f"Unable to automatically allocate a network for project {ctx.project_id}") from None


def check_nic(db: Session, ctx: RequestContext, entry: dict[str, Any], missing: type[Fault] = BadRequest) -> NicRequest:
    """One entry of a boot's `networks` ({"port"} or {"uuid", "fixed_ip"}, and "tag"), checked;
    an unknown port or network is `missing` (a boot says 400, os-interface 404)."""
    from pocketstack.services.network.backend import networks, ports
    from pocketstack.services.network.backend.common import Viewer

    viewer = Viewer.of(ctx)
    if entry.get("port"):
        try:
            port = ports.get_port(db, viewer, entry["port"])
        except Fault:
            raise missing(f"Port id {entry['port']} could not be found.") from None
        if port.device_id:
            raise Conflict(f"Port {port.id} is still in use.")
        return NicRequest(port_id=port.id, tag=entry.get("tag"))
    network_id = entry.get("uuid")
    if not network_id:
        raise BadRequest("Bad networks format: a network needs 'uuid' or 'port'.")
    try:
        network = networks.get_network(db, viewer, network_id)
    except Fault:
        raise missing(f"Network {network_id} could not be found.") from None
    fixed_ip = entry.get("fixed_ip")
    if fixed_ip is not None:
        try:
            ipaddress.ip_address(fixed_ip)
        except ValueError:
            raise BadRequest(f"Invalid fixed IP address ({fixed_ip})") from None
    return NicRequest(network_id=network.id, fixed_ip=fixed_ip, tag=entry.get("tag"))


def allocate(db: Session, ctx: RequestContext, server: Server, nics: list[NicRequest]) -> list[str]:
    """Make (or bind) the server's ports, bound to its host, in this transaction; their ids."""
    from pocketstack.services.network.backend import networks, ports
    from pocketstack.services.network.backend.common import Viewer
    from pocketstack.services.network.schemas.ports import PortCreate, PortUpdate

    viewer = Viewer.of(ctx)
    owner = f"compute:{server.availability_zone or 'nova'}"
    brought, made, tags = [], [], {}
    groups = _groups(db, ctx, server.security_groups) if any(not nic.port_id for nic in nics) else []
    if groups:
        # asked for by name or id (the CLI sends ids), shown by name, as Nova shows its ports' groups
        server.security_groups = list(dict.fromkeys(group.name for group in groups))
    for nic in nics:
        if nic.port_id:
            port = ports.get_port(db, viewer, nic.port_id)
            ports.update_port(
                db,
                viewer,
                port,
                PortUpdate.model_validate({"device_id": server.uuid, "device_owner": owner, "binding:host_id": server.host or ""}),
            )
            brought.append(port.id)
            made.append(port.id)
            if nic.tag:
                tags[port.id] = nic.tag
            continue
        network = networks.get_network(db, viewer, nic.network_id or "")
        body: dict[str, Any] = {
            "network_id": network.id,
            "device_id": server.uuid,
            "device_owner": owner,
            "binding:host_id": server.host or "",
        }
        if nic.fixed_ip:
            body["fixed_ips"] = [{"ip_address": nic.fixed_ip}]
        if groups:
            body["security_groups"] = [group.id for group in groups]
        port = ports.create_port(db, viewer, server.project_id, network, PortCreate.model_validate(body))
        made.append(port.id)
        if nic.tag:
            tags[port.id] = nic.tag
    known = server.system_metadata
    server.system_metadata = {
        **known,
        PREEXISTING_PORTS: [*known.get(PREEXISTING_PORTS, []), *brought],
        INTERFACE_TAGS: {**known.get(INTERFACE_TAGS, {}), **tags},
        NIC_ORDER: [*known.get(NIC_ORDER, []), *made],
    }
    return made


def _groups(db: Session, ctx: RequestContext, names: list[str]) -> list[Any]:
    """The project's security groups a boot names (by name or id)."""
    from pocketstack.services.network.backend import security_groups
    from pocketstack.services.network.models import SecurityGroup

    found = []
    for name in names:
        if name == "default":
            found.append(security_groups.ensure_default(db, server_project(ctx)))
            continue
        group = db.scalars(
            select(SecurityGroup).where(
                or_(SecurityGroup.id == name, SecurityGroup.name == name), SecurityGroup.project_id == ctx.project_id
            )
        ).first()
        if group is None:
            raise BadRequest(f"Unable to find security_group with name or id '{name}'")
        found.append(group)
    return found


def server_project(ctx: RequestContext) -> str:
    return ctx.project_id or ""


def release(db: Session, server: Server, port_ids: set[str] | None = None) -> None:
    """The server gives back its ports (or only `port_ids`): ports made for it go (through the
    network backend, which also disassociates their floating IPs); ports the caller brought
    are unbound and stay."""
    from pocketstack.services.network.backend import ports
    from pocketstack.services.network.models import Port

    known = server.system_metadata
    brought = set(known.get(PREEXISTING_PORTS, []))
    released = set()
    for port in db.scalars(select(Port).where(Port.device_id == server.uuid)).all():
        if port_ids is not None and port.id not in port_ids:
            continue
        released.add(port.id)
        if port.id in brought:
            port.device_id, port.device_owner, port.binding_host_id = "", "", ""
            port.binding_vif_type, port.binding_vif_details = "unbound", {}
        else:
            ports.delete_port(db, port)
    if port_ids is not None and released:
        server.system_metadata = {
            **known,
            PREEXISTING_PORTS: [p for p in known.get(PREEXISTING_PORTS, []) if p not in released],
            INTERFACE_TAGS: {p: tag for p, tag in known.get(INTERFACE_TAGS, {}).items() if p not in released},
            NIC_ORDER: [p for p in known.get(NIC_ORDER, []) if p not in released],
        }
    db.flush()


def servers_with_address(pattern: str) -> Any:
    """A subquery: the server uuids with a fixed address matching `pattern` (a regex, as
    Nova's `ip` filter)."""
    from pocketstack.services.network.models import IpAllocation, Port

    return select(Port.device_id).join(IpAllocation, IpAllocation.port_id == Port.id).where(IpAllocation.ip_address.regexp_match(pattern))


def _ports_of(db: Session, server_uuids: list[str]) -> list[Any]:
    """The servers' ports, each server's in the order it got them (ports bound to it some
    other way, after those, oldest first)."""
    from pocketstack.services.network.models import Port

    if not server_uuids:
        return []
    ports = list(db.scalars(select(Port).where(Port.device_id.in_(server_uuids)).order_by(Port.created_at, Port.id)))
    orders = {
        uuid: meta.get(NIC_ORDER, [])
        for uuid, meta in db.execute(select(Server.uuid, Server.system_metadata).where(Server.uuid.in_({p.device_id for p in ports})))
    }

    def position(port: Any) -> int:
        order = orders.get(port.device_id, [])
        return order.index(port.id) if port.id in order else len(order)

    return sorted(ports, key=position)  # stable: the rest keep their created_at order


def addresses(db: Session, server_uuids: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """server uuid -> Nova's `addresses`: network name -> fixed (and floating) addresses."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {uuid: {} for uuid in server_uuids}
    floating = _floating_by_port(db, server_uuids)
    for port in _ports_of(db, server_uuids):
        entries = out[port.device_id].setdefault(port.network.name or port.network_id, [])
        for allocation in port.fixed_ips:
            version = ipaddress.ip_address(allocation.ip_address).version
            entries.append(
                {"version": version, "addr": allocation.ip_address, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port.mac_address}
            )
        for address in floating.get(port.id, []):
            entries.append({"version": 4, "addr": address, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": port.mac_address})
    return out


def _floating_by_port(db: Session, server_uuids: list[str]) -> dict[str, list[str]]:
    from pocketstack.services.network.models import FloatingIp

    port_ids = [p.id for p in _ports_of(db, server_uuids)]
    rows = db.scalars(select(FloatingIp).where(FloatingIp.fixed_port_id.in_(port_ids))) if port_ids else []
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row.fixed_port_id, []).append(row.floating_ip_address)
    return out


def guest_nics(db: Session, server_uuid: str) -> tuple[Nic, ...]:
    return wanted_nics(db, [server_uuid]).get(server_uuid, ())


def wanted_nics(db: Session, server_uuids: list[str]) -> dict[str, tuple[Nic, ...]]:
    """server uuid -> the NICs its guest should have: one per port bound to it."""
    out: dict[str, tuple[Nic, ...]] = {}
    for port in _ports_of(db, server_uuids):
        out[port.device_id] = (*out.get(port.device_id, ()), Nic(mac=port.mac_address, tap=tap_name(port.id), mtu=port.network.mtu))
    return out


def ports_of(db: Session, server_uuid: str) -> list[Any]:
    """The server's ports, oldest first (its NICs in the guest's order)."""
    return _ports_of(db, [server_uuid])


def network_data(db: Session, server_uuid: str) -> dict[str, Any]:
    """network_data.json: one link per port, DHCP on each IPv4 subnet, the DNS servers."""
    links, nets, services = [], [], []
    for index, port in enumerate(_ports_of(db, [server_uuid])):
        link_id = tap_name(port.id)
        links.append(
            {"id": link_id, "vif_id": port.id, "type": "bridge", "mtu": port.network.mtu, "ethernet_mac_address": port.mac_address}
        )
        subnets = {s.id: s for s in port.network.subnets}
        for allocation in port.fixed_ips:
            subnet = subnets.get(allocation.subnet_id)
            if subnet is None:
                continue
            kind = "ipv4_dhcp" if subnet.ip_version == 4 else "ipv6_dhcp"
            nets.append({"id": f"network{index}", "type": kind, "link": link_id, "network_id": port.network_id})
            services.extend({"type": "dns", "address": address} for address in subnet.dns_nameservers)
    return {"links": links, "networks": nets, "services": services}

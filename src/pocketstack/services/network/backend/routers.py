"""Routers (neutron/db/l3_db.py, l3_gwmode_db.py, extraroute_db.py): a gateway to an
external network, interfaces on subnets, static routes.

A router's ports are ordinary ports with device_id = the router's id:
- its gateway: device_owner "network:router_gateway", on the external network, owned by
  no project ("" as Neutron: it is the cloud's, not the user's), addresses chosen by an
  admin (external_fixed_ips) or allocated;
- its interfaces: device_owner "network:router_interface", in the router's project,
  on the subnet's gateway address (by subnet) or an existing port (by port).

The dataplane agent builds a namespace per router from these rows. Router ports are
shown ACTIVE at once, as Neutron's OVN backend does (no separate wiring step for the
API to wait on); the agent may report otherwise.

Who sees a router: admins, and the router's project (no RBAC for routers here).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from .. import ipam
from ..common import standard
from ..common.listing import Attribute, Collection, as_boolean, as_integer
from ..faults import (
    AvailabilityZoneNotFound,
    BadRequest,
    InvalidRoutes,
    PortInUse,
    RouterExternalGatewayInUseByFloatingIp,
    RouterInterfaceInUseByFloatingIP,
    RouterInterfaceInUseByRoute,
    RouterInterfaceNotFound,
    RouterInterfaceNotFoundForSubnet,
    RouterInUse,
    RouterNotFound,
    RoutesExhausted,
    SubnetMismatchForPort,
)
from ..models import ACTIVE, FloatingIp, Network, Port, Router, RouterRoute, Subnet
from ..schemas.ports import PortCreate, PortUpdate
from ..schemas.routers import GatewayInfo, RouterCreate, RouterUpdate
from . import networks, ports, quotas, rbac, subnets
from .common import Viewer

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
MAX_ROUTES = 30  # Neutron's max_routes

COLLECTION = Collection(
    "routers",
    Router,
    [
        Attribute("id", Router.id),
        Attribute("name", Router.name),
        Attribute("description", Router.description),
        Attribute("project_id", Router.project_id),
        Attribute("tenant_id", Router.project_id),
        Attribute("admin_state_up", Router.admin_state_up, as_boolean),
        Attribute("status", Router.status),
        Attribute("revision_number", Router.revision_number, as_integer),
        Attribute("created_at", sort=Router.created_at),
        Attribute("updated_at", sort=Router.updated_at),
    ],
)


def visible(viewer: Viewer) -> Any:
    return true() if viewer.is_admin else Router.project_id == viewer.project_id


def get_router(db: Session, viewer: Viewer, router_id: str, *, lock: bool = False) -> Router:
    """The router, if the viewer may see it. `lock`: for a change, taken FOR UPDATE, so
    that two changes of one router (two interfaces, a gateway) queue on PostgreSQL and
    MariaDB as they do on SQLite's single writer, and their checks see each other."""
    stmt = select(Router).where(Router.id == router_id, visible(viewer))
    router = db.scalars(stmt.with_for_update() if lock else stmt).first()
    if router is None:
        raise RouterNotFound(router_id)
    return router


def policy_target(router: Router) -> dict[str, Any]:
    return {"id": router.id, "project_id": router.project_id, "tenant_id": router.project_id}


# -- the router's ports --------------------------------------------------------------------
def router_ports(db: Session, router_id: str) -> list[Port]:
    owners = (*ipam.ROUTER_INTERFACE_OWNERS, ROUTER_GATEWAY)
    stmt = select(Port).where(Port.device_id == router_id, Port.device_owner.in_(owners)).order_by(Port.created_at, Port.id)
    return list(db.scalars(stmt))


def interfaces(db: Session, router_id: str) -> list[Port]:
    return [port for port in router_ports(db, router_id) if port.device_owner in ipam.ROUTER_INTERFACE_OWNERS]


def gateway_port(db: Session, router_id: str) -> Port | None:
    return next((port for port in router_ports(db, router_id) if port.device_owner == ROUTER_GATEWAY), None)


def gateway_ports(db: Session, router_ids: list[str]) -> dict[str, Port]:
    """router id -> its gateway port, for a page of routers in one query."""
    if not router_ids:
        return {}
    stmt = select(Port).where(Port.device_owner == ROUTER_GATEWAY, Port.device_id.in_(router_ids))
    return {port.device_id: port for port in db.scalars(stmt)}


def _subnets_of(db: Session, port: Port) -> list[Subnet]:
    """The subnets a router port connects: every subnet of the external network for the
    gateway (Neutron's view), the subnets of its addresses for an interface."""
    if port.device_owner == ROUTER_GATEWAY:
        return list(port.network.subnets)
    ids = [held.subnet_id for held in port.fixed_ips]
    return list(db.scalars(select(Subnet).where(Subnet.id.in_(ids)))) if ids else []


def _check_no_overlap(db: Session, router: Router, new_subnets: list[Subnet], *, ignore: Port | None = None) -> None:
    """A router joins a subnet once, and never two subnets whose CIDRs overlap: it
    could not tell where to send their packets."""
    new_ids = {subnet.id for subnet in new_subnets}
    connected: list[Subnet] = []
    for port in router_ports(db, router.id):
        if ignore is not None and port.id == ignore.id:
            continue
        for held in port.fixed_ips:
            if held.subnet_id in new_ids:
                raise BadRequest("router", f"Router already has a port on subnet {held.subnet_id}")
        connected.extend(_subnets_of(db, port))
    for old in connected:
        for new in new_subnets:
            if ipam.overlaps(old.cidr, new.cidr):
                raise BadRequest("router", f"Cidr {new.cidr} of subnet {new.id} overlaps with cidr {old.cidr} of subnet {old.id}")


def _new_router_port(db: Session, viewer: Viewer, router: Router, project_id: str, network: Network, **fields: Any) -> Port:
    """A port of the router, made through the ports backend (one IPAM for everything)."""
    spec = PortCreate.model_validate({"network_id": network.id, "device_id": router.id, **fields})
    port = ports.create_port(db, viewer, project_id, network, spec)
    port.status = ACTIVE
    return port


# -- create / update / delete ------------------------------------------------------------------
def create_router(db: Session, viewer: Viewer, project_id: str, spec: RouterCreate) -> Router:
    quotas.check(db, project_id, "router")
    for zone in spec.availability_zone_hints:
        if zone not in networks.AVAILABILITY_ZONES:
            raise AvailabilityZoneNotFound(zone)
    router = Router(
        name=spec.name,
        admin_state_up=spec.admin_state_up,
        status=ACTIVE,
        enable_snat=True,
        availability_zone_hints=list(spec.availability_zone_hints),
    )
    standard.stamp_new(router, project_id, spec.description)
    db.add(router)
    db.flush()
    if spec.external_gateway_info is not None:
        set_gateway(db, viewer, router, spec.external_gateway_info)
    if spec.tags:
        standard.replace_tags(db, router, spec.tags, "routers")
    router.revision_number = 0  # all of the above is its creation
    db.flush()
    return router


def update_router(db: Session, viewer: Viewer, router: Router, spec: RouterUpdate) -> Router:
    fields = spec.model_fields_set
    if "external_gateway_info" in fields:
        set_gateway(db, viewer, router, spec.external_gateway_info)
    if "routes" in fields:
        replace_routes(db, router, spec.routes)
    for name in ("name", "description", "admin_state_up"):
        if name in fields:
            setattr(router, name, getattr(spec, name))
    standard.bump(router)
    db.flush()
    return router


def delete_router(db: Session, router: Router) -> None:
    """Refused while interfaces remain (409 RouterInUse); the gateway goes with it."""
    attached = interfaces(db, router.id)
    if attached:
        raise RouterInUse(router.id, "has ports still attached: " + ", ".join(port.id for port in attached))
    _remove_gateway(db, router, gateway_port(db, router.id))  # its routes go with it: no check of them
    db.delete(router)
    db.flush()


# -- the gateway -------------------------------------------------------------------------------
def set_gateway(db: Session, viewer: Viewer, router: Router, info: GatewayInfo | None) -> None:
    """Point the router's gateway at an external network (or nowhere). The same network
    keeps its port, whose addresses change only if new ones are asked for; another
    network gets a new port."""
    current = gateway_port(db, router.id)
    if info is None:
        _check_routes_stay_connected(db, router, current, None)
        _remove_gateway(db, router, current)
        return
    network = networks.get_network(db, viewer, info.network_id)
    if not network.external:
        raise BadRequest("router", f"Network {network.id} is not an external network")
    wanted = info.external_fixed_ips or []
    for entry in wanted:
        if any(subnet.gateway_ip and entry.get("ip_address") == subnet.gateway_ip for subnet in network.subnets):
            raise BadRequest("router", f"External IP {entry['ip_address']} is the same as the gateway IP")
    _check_routes_stay_connected(db, router, current, network)
    router.enable_snat = True if info.enable_snat is None else info.enable_snat
    if current is not None and current.network_id == network.id:
        if _addresses_change(current, wanted):
            ports.update_port(db, viewer, current, PortUpdate.model_validate({"fixed_ips": wanted}))
            current.status = ACTIVE
        return
    _remove_gateway(db, router, current)
    _check_no_overlap(db, router, list(network.subnets))
    fields: dict[str, Any] = {"device_owner": ROUTER_GATEWAY}
    if wanted:
        fields["fixed_ips"] = wanted
    _new_router_port(db, viewer, router, "", network, **fields)


def _addresses_change(port: Port, wanted: list[dict[str, str]]) -> bool:
    """Neutron's test: new external_fixed_ips name other subnets or other addresses."""
    if not wanted:
        return False
    subnets_now = {held.subnet_id for held in port.fixed_ips}
    subnets_wanted = {entry["subnet_id"] for entry in wanted if entry.get("subnet_id")}
    if subnets_now != subnets_wanted:
        return True
    return {held.ip_address for held in port.fixed_ips} != {entry["ip_address"] for entry in wanted if entry.get("ip_address")}


def _remove_gateway(db: Session, router: Router, port: Port | None) -> None:
    if port is None:
        return
    in_use = db.scalar(select(FloatingIp.id).where(FloatingIp.router_id == router.id).limit(1))
    if in_use is not None:
        raise RouterExternalGatewayInUseByFloatingIp(router.id, port.network_id)
    ports.delete_port(db, port, by_service=True)


# -- interfaces --------------------------------------------------------------------------------
def interface_info(router: Router, port: Port, subnet_ids: list[str]) -> dict[str, Any]:
    """What add/remove_router_interface answer (subnet_id: the last one, as Neutron)."""
    return {
        "id": router.id,
        "tenant_id": port.project_id,
        "project_id": port.project_id,
        "port_id": port.id,
        "network_id": port.network_id,
        "subnet_id": subnet_ids[-1] if subnet_ids else None,
        "subnet_ids": subnet_ids,
    }


def add_interface_by_subnet(db: Session, viewer: Viewer, router: Router, subnet_id: str) -> dict[str, Any]:
    subnet = subnets.get_subnet(db, viewer, subnet_id)
    if not subnet.gateway_ip:
        raise BadRequest("router", "Subnet for router interface must have a gateway IP")
    if not viewer.is_admin and subnet.project_id != viewer.project_id:
        # a network shared with this project by name may be joined; one shared with
        # everyone may not (Neutron's LP-1757482 and LP-1975603)
        named = any(e.action == rbac.SHARED and e.target_project == viewer.project_id for e in subnet.network.rbac_entries)
        if not named:
            raise BadRequest(
                "router", f"Cannot add interface to router because subnet {subnet.id} is not owned by project making the request"
            )
    _check_address_mode(subnet)
    _check_no_overlap(db, router, [subnet])
    gateway = {"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}
    if subnet.ip_version == 6:
        # IPv6: one router port per network carries every prefix (Neutron's multi-prefix port)
        existing = next((p for p in interfaces(db, router.id) if p.network_id == subnet.network_id and _has_ipv6(p)), None)
        if existing is not None:
            held = [{"subnet_id": h.subnet_id, "ip_address": h.ip_address} for h in existing.fixed_ips]
            ports.update_port(db, viewer, existing, PortUpdate.model_validate({"fixed_ips": [*held, gateway]}))
            _touched(router)
            return interface_info(router, existing, [subnet.id])
    port = _new_router_port(db, viewer, router, router.project_id, subnet.network, device_owner=ROUTER_INTERFACE, fixed_ips=[gateway])
    _touched(router)
    return interface_info(router, port, [subnet.id])


def add_interface_by_port(db: Session, viewer: Viewer, router: Router, port_id: str) -> dict[str, Any]:
    """An existing port becomes the interface: it must be free (no device), have an
    address, at most one IPv4 subnet, and (for non-admins) addresses from the pools of
    subnets they do not own."""
    port = ports.get_port(db, viewer, port_id)
    if port.device_id:
        raise PortInUse(port.network_id, port.id, port.device_id)
    if not port.fixed_ips:
        raise BadRequest("router", "Router port must have at least one fixed IP")
    port_subnets = _subnets_of(db, port)
    for subnet in port_subnets:
        _check_address_mode(subnet)
    if _has_ipv6(port):
        for other in interfaces(db, router.id):
            if other.network_id == port.network_id and _has_ipv6(other):
                raise BadRequest(
                    "router",
                    f"Router already contains IPv6 port {other.id} belonging to network id {other.network_id}. "
                    "Only one IPv6 port from the same network subnet can be connected to a router.",
                )
    _check_no_overlap(db, router, port_subnets)
    if len([s for s in port_subnets if s.ip_version == 4]) > 1:
        raise BadRequest("router", "Cannot have multiple IPv4 subnets on router port")
    if not viewer.is_admin:
        _check_in_pools(port, port_subnets, viewer.project_id)
    port.device_id = router.id
    port.device_owner = ROUTER_INTERFACE
    port.status = ACTIVE
    standard.bump(port)
    _touched(router)
    db.flush()
    return interface_info(router, port, [subnet.id for subnet in port_subnets])


def _check_in_pools(port: Port, port_subnets: list[Subnet], project_id: str | None) -> None:
    by_id = {subnet.id: subnet for subnet in port_subnets}
    for held in port.fixed_ips:
        subnet = by_id[held.subnet_id]
        in_pool = any(ipaddress.ip_address(held.ip_address) in pool for pool in ipam.pools_from_view(subnet.allocation_pools))
        if not in_pool and subnet.project_id != project_id:
            raise BadRequest(
                "router",
                f"Cannot add interface to router because specified port {port.id} has an IP address out of the "
                f"allocation pool of subnet {subnet.id}, which is not owned by the project making the request",
            )


def _check_address_mode(subnet: Subnet) -> None:
    if subnet.ip_version == 6 and subnet.ipv6_ra_mode is None and subnet.ipv6_address_mode is not None:
        raise BadRequest(
            "router", f"IPv6 subnet {subnet.id} configured to receive RAs from an external router cannot be added to Neutron Router."
        )


def _has_ipv6(port: Port) -> bool:
    return any(ipaddress.ip_address(held.ip_address).version == 6 for held in port.fixed_ips)


def _touched(router: Router) -> None:
    """Its interfaces changed: a new revision of the router."""
    standard.bump(router)


def remove_interface_by_port(db: Session, viewer: Viewer, router: Router, port_id: str, subnet_id: str | None) -> dict[str, Any]:
    port = next((p for p in interfaces(db, router.id) if p.id == port_id), None)
    if port is None:
        raise RouterInterfaceNotFound(router.id, port_id)
    port_subnets = _subnets_of(db, port)
    if subnet_id is not None and subnet_id not in {s.id for s in port_subnets}:
        raise SubnetMismatchForPort(port_id, subnet_id)
    for subnet in port_subnets:
        _check_not_in_use(db, router, subnet)
    info = interface_info(router, port, [s.id for s in port_subnets])
    info["subnet_id"] = port_subnets[0].id if port_subnets else None
    ports.delete_port(db, port, by_service=True)
    _touched(router)
    return info


def remove_interface_by_subnet(db: Session, viewer: Viewer, router: Router, subnet_id: str) -> dict[str, Any]:
    subnet = subnets.get_subnet(db, viewer, subnet_id)
    on_network = [p for p in interfaces(db, router.id) if p.network_id == subnet.network_id]
    if on_network:
        _check_not_in_use(db, router, subnet)
    for port in on_network:
        held = [h for h in port.fixed_ips if h.subnet_id == subnet.id]
        if not held:
            continue
        info = interface_info(router, port, [subnet.id])
        if len(port.fixed_ips) > 1:
            # a multi-prefix IPv6 port: only this subnet's address goes
            rest = [{"subnet_id": h.subnet_id, "ip_address": h.ip_address} for h in port.fixed_ips if h.subnet_id != subnet.id]
            ports.update_port(db, viewer, port, PortUpdate.model_validate({"fixed_ips": rest}))
        else:
            ports.delete_port(db, port, by_service=True)
        _touched(router)
        return info
    raise RouterInterfaceNotFoundForSubnet(router.id, subnet.id)


def _check_not_in_use(db: Session, router: Router, subnet: Subnet) -> None:
    """An interface stays while a floating IP is translated through it, or a route's
    nexthop is on its subnet (409)."""
    cidr = ipam.network_of(subnet.cidr)
    stmt = select(FloatingIp).where(FloatingIp.router_id == router.id, FloatingIp.fixed_ip_address.is_not(None))
    for fip in db.scalars(stmt):
        port = fip.fixed_port
        if ipaddress.ip_address(fip.fixed_ip_address) in cidr and port is not None:
            if any(held.subnet_id == subnet.id for held in port.fixed_ips):
                raise RouterInterfaceInUseByFloatingIP(router.id, subnet.id)
    for route in router.routes:
        if ipaddress.ip_address(route.nexthop) in cidr:
            raise RouterInterfaceInUseByRoute(router.id, subnet.id)


# -- static routes -----------------------------------------------------------------------------
def replace_routes(db: Session, router: Router, routes: list[dict[str, str]]) -> None:
    check_routes(db, router, routes)
    wanted = {(route["destination"], route["nexthop"]) for route in routes}
    for row in list(router.routes):
        if (row.destination, row.nexthop) not in wanted:
            router.routes.remove(row)
    have = {(row.destination, row.nexthop) for row in router.routes}
    for destination, nexthop in sorted(wanted - have):
        router.routes.append(RouterRoute(router_id=router.id, destination=destination, nexthop=nexthop))
    db.flush()


def check_routes(db: Session, router: Router, routes: list[dict[str, str]], *, connected: list[str] | None = None) -> None:
    """Each nexthop on a subnet the router is connected to, and not one of the router's
    own addresses; at most MAX_ROUTES."""
    if len(routes) > MAX_ROUTES:
        raise RoutesExhausted(router.id, MAX_ROUTES)
    own: set[str] = set()
    cidrs = connected
    if cidrs is None:
        cidrs = []
        for port in router_ports(db, router.id):
            own.update(held.ip_address for held in port.fixed_ips)
            ids = [held.subnet_id for held in port.fixed_ips]
            cidrs.extend(db.scalars(select(Subnet.cidr).where(Subnet.id.in_(ids))) if ids else [])
    for route in routes:
        nexthop = ipaddress.ip_address(route["nexthop"])
        if not any(nexthop in ipam.network_of(cidr) for cidr in cidrs):
            raise InvalidRoutes(routes, "the nexthop is not connected with router")
        if route["nexthop"] in own:
            raise InvalidRoutes(routes, "the nexthop is used by router")


def _check_routes_stay_connected(db: Session, router: Router, current: Port | None, network: Network | None) -> None:
    """A gateway change must leave every route's nexthop connected (interfaces plus the
    new external network's subnets)."""
    if not router.routes:
        return
    cidrs = []
    for port in interfaces(db, router.id):
        cidrs.extend(subnet.cidr for subnet in _subnets_of(db, port))
    if network is not None:
        cidrs.extend(subnet.cidr for subnet in network.subnets)
    routes = [{"destination": row.destination, "nexthop": row.nexthop} for row in router.routes]
    check_routes(db, router, routes, connected=cidrs)


def add_routes(db: Session, router: Router, routes: list[dict[str, str]]) -> None:
    """extraroute-atomic: the router's routes plus these (exact duplicates once)."""
    current = [{"destination": row.destination, "nexthop": row.nexthop} for row in router.routes]
    merged = {(r["destination"], r["nexthop"]) for r in current + routes}
    replace_routes(db, router, [{"destination": d, "nexthop": n} for d, n in sorted(merged)])
    standard.bump(router)


def remove_routes(db: Session, router: Router, routes: list[dict[str, str]]) -> None:
    """extraroute-atomic: the router's routes less these (missing ones are no error)."""
    unwanted = {(r["destination"], r["nexthop"]) for r in routes}
    kept = [{"destination": row.destination, "nexthop": row.nexthop} for row in router.routes]
    replace_routes(db, router, [r for r in kept if (r["destination"], r["nexthop"]) not in unwanted])
    standard.bump(router)

"""Floating IPs (neutron/db/l3_db.py): an address of an external network, translated by
a router to a fixed address of a port behind it.

The address is held by a port on the external network (device_owner
"network:floatingip", device_id the floating IP's id, owned by no project, status N/A),
so the one IPAM hands it out and takes it back. Associating needs a router that joins
the port's subnet to that external network (an interface there and its gateway on it),
else 404 ExternalGatewayForFloatingIPNotFound; the router found is the one that will
translate (router_id).

Status: DOWN while unassociated, ACTIVE once associated; the dataplane agent reports
what it really built.

Who sees a floating IP: admins, and its project."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import ipam
from ..common import standard
from ..common.listing import Attribute, Collection, as_integer
from ..faults import (
    BadRequest,
    ExternalGatewayForFloatingIPNotFound,
    ExternalIpAddressExhausted,
    FloatingIPNotFound,
    FloatingIPPortAlreadyAssociated,
)
from ..models import ACTIVE, DOWN, NOT_APPLICABLE, FloatingIp, IpAllocation, Network, Port, Subnet
from ..schemas.floating_ips import FloatingIpCreate, FloatingIpUpdate
from ..schemas.ports import PortCreate
from . import networks, ports, quotas
from .common import Viewer
from .routers import ROUTER_GATEWAY

FLOATING_IP_OWNER = ports.FLOATING_IP_OWNER
DHCP_OWNER = "network:dhcp"

COLLECTION = Collection(
    "floatingips",
    FloatingIp,
    [
        Attribute("id", FloatingIp.id),
        Attribute("description", FloatingIp.description),
        Attribute("project_id", FloatingIp.project_id),
        Attribute("tenant_id", FloatingIp.project_id),
        Attribute("floating_ip_address", FloatingIp.floating_ip_address),
        Attribute("floating_network_id", FloatingIp.floating_network_id),
        Attribute("router_id", FloatingIp.router_id, sort=func.coalesce(FloatingIp.router_id, "")),
        Attribute("port_id", FloatingIp.fixed_port_id, sort=func.coalesce(FloatingIp.fixed_port_id, "")),
        Attribute("fixed_ip_address", FloatingIp.fixed_ip_address, sort=func.coalesce(FloatingIp.fixed_ip_address, "")),
        Attribute("status", FloatingIp.status),
        Attribute("revision_number", FloatingIp.revision_number, as_integer),
        Attribute("created_at", sort=FloatingIp.created_at),
        Attribute("updated_at", sort=FloatingIp.updated_at),
    ],
)


def visible(viewer: Viewer) -> Any:
    return true() if viewer.is_admin else FloatingIp.project_id == viewer.project_id


def get_floating_ip(db: Session, viewer: Viewer, floating_ip_id: str) -> FloatingIp:
    fip = db.scalars(select(FloatingIp).where(FloatingIp.id == floating_ip_id, visible(viewer))).first()
    if fip is None:
        raise FloatingIPNotFound(floating_ip_id)
    return fip


def policy_target(fip: FloatingIp) -> dict[str, Any]:
    return {"id": fip.id, "project_id": fip.project_id, "tenant_id": fip.project_id}


# -- create ------------------------------------------------------------------------------------
def create_floating_ip(db: Session, viewer: Viewer, project_id: str, spec: FloatingIpCreate) -> FloatingIp:
    quotas.check(db, project_id, "floatingip")
    network = networks.get_network(db, viewer, spec.floating_network_id)
    if not network.external:
        raise BadRequest("floatingip", f"Network {network.id} is not a valid external network")
    if not any(subnet.ip_version == 4 for subnet in network.subnets):
        raise BadRequest("floatingip", f"Network {network.id} does not contain any IPv4 subnet")
    if spec.fixed_ip_address is not None and spec.port_id is None:
        raise BadRequest("floatingip", "fixed_ip_address cannot be specified without a port_id")
    fip = FloatingIp(floating_network_id=network.id, status=DOWN)
    standard.stamp_new(fip, project_id, spec.description)
    port = _address_port(db, viewer, fip.id, network, spec)
    fip.floating_port_id = port.id
    fip.floating_ip_address = _ipv4_of(port, network.id)
    db.add(fip)
    db.flush()
    if spec.port_id is not None:
        _associate(db, viewer, fip, spec.port_id, spec.fixed_ip_address)
    if spec.tags:
        standard.replace_tags(db, fip, spec.tags, "floatingips")
    fip.revision_number = 0
    db.flush()
    return fip


def _address_port(db: Session, viewer: Viewer, fip_id: str, network: Network, spec: FloatingIpCreate) -> Port:
    """The port holding the address: a chosen address, one from a chosen subnet, or any."""
    wanted: dict[str, str] = {}
    if spec.subnet_id is not None:
        wanted["subnet_id"] = spec.subnet_id
    if spec.floating_ip_address is not None:
        wanted["ip_address"] = spec.floating_ip_address
    body: dict[str, Any] = {"network_id": network.id, "device_id": fip_id, "device_owner": FLOATING_IP_OWNER}
    if wanted:
        body["fixed_ips"] = [wanted]
    port = ports.create_port(db, viewer, "", network, PortCreate.model_validate(body))
    port.status = NOT_APPLICABLE  # nothing plugs it: the router answers for the address
    return port


def _ipv4_of(port: Port, network_id: str) -> str:
    for held in port.fixed_ips:
        if ipaddress.ip_address(held.ip_address).version == 4:
            return held.ip_address
    raise ExternalIpAddressExhausted(network_id)


# -- association ---------------------------------------------------------------------------------
def update_floating_ip(db: Session, viewer: Viewer, fip: FloatingIp, spec: FloatingIpUpdate) -> FloatingIp:
    """port_id null disassociates; another port (or another of its addresses)
    re-associates; a body without port_id keeps the association (Neutron's rules)."""
    fields = spec.model_fields_set
    if "fixed_ip_address" in fields and spec.fixed_ip_address is not None and not spec.port_id:
        raise BadRequest("floatingip", "fixed_ip_address cannot be specified without a port_id")
    if "port_id" in fields:
        if spec.port_id is None:
            _disassociate(fip)
        else:
            _associate(db, viewer, fip, spec.port_id, spec.fixed_ip_address)
    if "description" in fields:
        fip.description = spec.description
    standard.bump(fip)
    db.flush()
    return fip


def _disassociate(fip: FloatingIp) -> None:
    fip.fixed_port = None
    fip.fixed_port_id = None
    fip.fixed_ip_address = None
    fip.router_id = None
    fip.status = DOWN


def _associate(db: Session, viewer: Viewer, fip: FloatingIp, port_id: str, fixed_ip_address: str | None) -> None:
    port = ports.get_port(db, viewer, port_id)
    if port.project_id != fip.project_id and not viewer.is_admin:
        raise BadRequest(
            "floatingip", f"Cannot process floating IP association with Port {port.id}, since that port is owned by a different project"
        )
    if port.device_owner == DHCP_OWNER:
        raise BadRequest("floatingip", f"Port {port.id} is unable to be assigned a floating IP")
    address, subnet_id = _fixed_address(port, fixed_ip_address)
    router_id = router_for(db, port, subnet_id, fip.floating_network_id)
    if port.id == fip.fixed_port_id and address == fip.fixed_ip_address:
        return
    taken = db.scalar(
        select(FloatingIp.id).where(
            FloatingIp.floating_network_id == fip.floating_network_id,
            FloatingIp.fixed_port_id == port.id,
            FloatingIp.fixed_ip_address == address,
            FloatingIp.id != fip.id,
        )
    )
    already = FloatingIPPortAlreadyAssociated(fip.floating_ip_address, fip.id, port.id, address, fip.floating_network_id)
    if taken is not None:
        raise already
    fip.fixed_port, fip.fixed_port_id, fip.fixed_ip_address, fip.router_id, fip.status = port, port.id, address, router_id, ACTIVE
    # the unique key (network, port, address) settles two associations racing for one address
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise already from None


def _fixed_address(port: Port, chosen: str | None) -> tuple[str, str]:
    """(address, subnet id) of the port the floating IP goes to: the chosen one, which
    must be the port's and IPv4, or its only IPv4 address."""
    if chosen is not None:
        if ipaddress.ip_address(chosen).version != 4:
            raise BadRequest("floatingip", f"Cannot process floating IP association with {chosen}, since that is not an IPv4 address")
        held = next((h for h in port.fixed_ips if h.ip_address == chosen), None)
        if held is None:
            raise BadRequest("floatingip", f"Port {port.id} does not have fixed ip {chosen}")
        return held.ip_address, held.subnet_id
    ipv4 = [h for h in port.fixed_ips if ipaddress.ip_address(h.ip_address).version == 4]
    if not ipv4:
        raise BadRequest("floatingip", f"Cannot add floating IP to port {port.id} that has no fixed IPv4 addresses")
    if len(ipv4) > 1:
        raise BadRequest(
            "floatingip",
            f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP",
        )
    return ipv4[0].ip_address, ipv4[0].subnet_id


def router_for(db: Session, port: Port, subnet_id: str, external_network_id: str) -> str:
    """The router that joins the port's subnet to the external network: among those with
    an interface on the subnet and their gateway on the network, the one whose interface
    is the subnet's gateway address, else the first (Neutron's get_router_for_floatingip)."""
    interface = select(Port.device_id, IpAllocation.ip_address).join(IpAllocation, IpAllocation.port_id == Port.id)
    interface = interface.where(
        Port.network_id == port.network_id, Port.device_owner.in_(ipam.ROUTER_INTERFACE_OWNERS), IpAllocation.subnet_id == subnet_id
    )
    gateways = select(Port.device_id).where(Port.network_id == external_network_id, Port.device_owner == ROUTER_GATEWAY)
    candidates = list(db.execute(interface.where(Port.device_id.in_(gateways)).order_by(Port.created_at, Port.id)))
    if not candidates:
        raise ExternalGatewayForFloatingIPNotFound(external_network_id, subnet_id, port.id)
    gateway_ip = db.scalar(select(Subnet.gateway_ip).where(Subnet.id == subnet_id))
    return next((router_id for router_id, address in candidates if address == gateway_ip), candidates[0][0])


# -- delete ------------------------------------------------------------------------------------
def delete_floating_ip(db: Session, fip: FloatingIp) -> None:
    """The floating IP and the port holding its address."""
    port = fip.floating_port
    db.delete(fip)
    db.flush()
    ports.delete_port(db, port, by_service=True)


# -- views' helpers -----------------------------------------------------------------------------
def pools(db: Session, viewer: Viewer) -> list[Subnet]:
    """floatingip-pools: the IPv4 subnets of the external networks the viewer sees."""
    stmt = select(Subnet).join(Network, Network.id == Subnet.network_id)
    stmt = stmt.where(Network.external.is_(True), Subnet.ip_version == 4, networks.visible(viewer))
    return list(db.scalars(stmt.order_by(Subnet.created_at, Subnet.id)))

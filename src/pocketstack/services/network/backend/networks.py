"""Networks and their segments.

Who sees a network (neutron's get_network): admins every one; others their project's,
the shared ones and the external ones. A network they may not see does not exist for
them (404).

Segments follow ML2's type drivers for the types this cloud carries: flat and VLAN on a
named physical network, VXLAN (the type tenant networks get, with a VNI allocated
here), and local. An admin may choose them (provider:* attributes); they do not change
afterwards. MTU: 1500 on a physical network, 1450 for VXLAN (50 bytes of encapsulation).

One external network may be the cloud's default (is_default, an admin's choice), the one
auto-allocated topologies route to. As in Neutron, is_default means nothing on an internal
network (asking for it there is ignored) and goes when the network stops being external.
"""

from __future__ import annotations

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from ..common import standard
from ..common.listing import Attribute, Collection, as_boolean, as_integer
from ..faults import (
    AvailabilityZoneNotFound,
    DefaultExternalNetworkExists,
    ExternalNetworkInUse,
    FlatNetworkInUse,
    InvalidInput,
    InvalidSharedSetting,
    NetworkInUse,
    NetworkNotFound,
    RbacPolicyInUse,
    TunnelIdInUse,
    VlanIdInUse,
)
from ..models import FloatingIp, Network, Port, Segment
from ..schemas.networks import NetworkCreate, NetworkUpdate
from . import quotas, rbac
from .common import Viewer, insert_first_free, try_insert

TENANT_NETWORK_TYPE = "vxlan"
VXLAN_IDS = (1, 2**24 - 1)
VLAN_IDS = (1, 4094)
PHYSICAL_MTU = 1500
VXLAN_OVERHEAD = 50  # IPv4 + UDP + VXLAN headers
AVAILABILITY_ZONES = ("nova",)  # the one zone every agent of this cloud is in (Neutron's default)
# ports Neutron removes with their network (the DHCP server's); any other blocks the delete
AUTO_DELETE_OWNERS = ("network:dhcp",)
ROUTER_GATEWAY = "network:router_gateway"

COLLECTION = Collection(
    "networks",
    Network,
    [
        Attribute("id", Network.id),
        Attribute("name", Network.name),
        Attribute("description", Network.description),
        Attribute("project_id", Network.project_id),
        Attribute("tenant_id", Network.project_id),
        Attribute("admin_state_up", Network.admin_state_up, as_boolean),
        Attribute("status", Network.status),
        Attribute("shared", Network.shared, as_boolean),
        Attribute("router:external", Network.external, as_boolean),
        Attribute("is_default", Network.is_default, as_boolean),
        Attribute("mtu", Network.mtu, as_integer),
        Attribute("port_security_enabled", Network.port_security_enabled, as_boolean),
        Attribute("revision_number", Network.revision_number, as_integer),
        Attribute("created_at", sort=Network.created_at),
        Attribute("updated_at", sort=Network.updated_at),
        Attribute(
            "provider:network_type",
            clause=lambda values: Network.id.in_(select(Segment.network_id).where(Segment.network_type.in_(values))),
            policy="get_network:provider:network_type",
            sortable=False,
        ),
        Attribute(
            "provider:physical_network",
            clause=lambda values: Network.id.in_(select(Segment.network_id).where(Segment.physical_network.in_(values))),
            policy="get_network:provider:physical_network",
            sortable=False,
        ),
        Attribute(
            "provider:segmentation_id",
            convert=as_integer,
            clause=lambda values: Network.id.in_(select(Segment.network_id).where(Segment.segmentation_id.in_(values))),
            policy="get_network:provider:segmentation_id",
            sortable=False,
        ),
    ],
)


def visible(viewer: Viewer) -> object:
    """Admins see every network; others their own and those RBAC entries open to them
    (shared or external, to everyone or to their project)."""
    if viewer.is_admin:
        return true()
    return or_(Network.project_id == viewer.project_id, Network.id.in_(rbac.accessible(viewer.project_id)))


def get_network(db: Session, viewer: Viewer, network_id: str) -> Network:
    network = db.scalars(select(Network).where(Network.id == network_id, visible(viewer))).first()
    if network is None:
        raise NetworkNotFound(network_id)
    return network


def network_for(db: Session, viewer: Viewer, network_id: str, project_id: str) -> Network:
    """The network a new subnet or port of `project_id` goes on. Unless it is shared, it
    must be that project's: another project's network does not exist for them, even an
    external one they can see (neutron/api/v2/base.py _validate_network_project_ownership)."""
    network = get_network(db, viewer, network_id)
    if not viewer.is_admin and network.project_id != project_id and not rbac.shared_with(network, project_id):
        raise NetworkNotFound(network_id)
    return network


def max_mtu(network_type: str) -> int:
    return PHYSICAL_MTU - VXLAN_OVERHEAD if network_type == "vxlan" else PHYSICAL_MTU


def policy_target(network: Network, project_id: str | None = None) -> dict[str, object]:
    """The network as policy rules see it; `shared` as the project asking sees it."""
    return {
        "id": network.id,
        "project_id": network.project_id,
        "tenant_id": network.project_id,
        "network:project_id": network.project_id,
        "shared": rbac.shared_with(network, project_id) if project_id else network.shared,
        "external": network.external,
    }


# -- create -------------------------------------------------------------------------------
def create_network(db: Session, project_id: str, spec: NetworkCreate) -> Network:
    quotas.check(db, project_id, "network")
    for zone in spec.availability_zone_hints:
        if zone not in AVAILABILITY_ZONES:
            raise AvailabilityZoneNotFound(zone)
    if spec.network_type is None and (spec.physical_network is not None or spec.segmentation_id is not None):
        raise InvalidInput("network_type required")
    network_type = spec.network_type or TENANT_NETWORK_TYPE
    limit = max_mtu(network_type)
    mtu = spec.mtu if spec.mtu is not None else limit
    if mtu > limit:
        raise InvalidInput(f"Requested MTU is too big, maximum is {limit}")
    network = Network(
        name=spec.name,
        admin_state_up=spec.admin_state_up,
        status="ACTIVE",
        shared=False,
        external=False,
        is_default=False,
        mtu=mtu,
        port_security_enabled=spec.port_security_enabled,
        availability_zone_hints=list(spec.availability_zone_hints),
    )
    standard.stamp_new(network, project_id, spec.description)
    db.add(network)
    db.flush()
    network.segment = _segment(db, network.id, network_type, spec.physical_network, spec.segmentation_id)
    rbac.set_wildcard(db, network, rbac.SHARED, spec.shared)
    rbac.set_wildcard(db, network, rbac.EXTERNAL, spec.router_external)
    _set_default(db, network, spec.is_default)
    if spec.tags:
        standard.replace_tags(db, network, spec.tags, "networks")
    network.revision_number = 0  # all of the above is its creation, not changes to it
    db.flush()
    return network


def _segment(db: Session, network_id: str, network_type: str, physical_network: str | None, segmentation_id: int | None) -> Segment:
    """Validate the provider attributes as ML2's type drivers do, then claim the segment;
    the segments' unique key refuses one already in use."""
    make = lambda seg_id: Segment(  # noqa: E731
        id=standard.new_id(),
        network_id=network_id,
        network_type=network_type,
        physical_network=physical_network or "",
        segmentation_id=seg_id,
    )
    if network_type == "local":
        if physical_network or segmentation_id is not None:
            raise InvalidInput("provider:physical_network and provider:segmentation_id are not allowed for a local network")
        row = make(None)
        db.add(row)
        db.flush()
        return row
    if network_type == "flat":
        if not physical_network:
            raise InvalidInput("physical_network required for flat provider network")
        if segmentation_id is not None:
            raise InvalidInput("segmentation_id specified for flat provider network")
        return _claim(db, make(0), FlatNetworkInUse(physical_network))
    if network_type == "vlan":
        if not physical_network:
            raise InvalidInput("physical_network required for VLAN provider network")
        if segmentation_id is None:
            raise InvalidInput("segmentation_id required for VLAN provider network on this cloud (no tenant VLAN ranges)")
        _in_range("segmentation_id", segmentation_id, VLAN_IDS)
        return _claim(db, make(segmentation_id), VlanIdInUse(segmentation_id, physical_network))
    # vxlan
    if physical_network:
        raise InvalidInput("provider:physical_network specified for VXLAN network")
    if segmentation_id is not None:
        _in_range("segmentation_id", segmentation_id, VXLAN_IDS)
        return _claim(db, make(segmentation_id), TunnelIdInUse(segmentation_id))
    row = insert_first_free(db, lambda refused: _free_vni(db, refused), make)
    if row is None:
        raise InvalidInput("Unable to create the network. No tenant network is available for allocation")
    return row


def _in_range(name: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise InvalidInput(f"{name} out of range ({low} through {high})")


def _claim(db: Session, row: Segment, in_use: Exception) -> Segment:
    if not try_insert(db, row):
        raise in_use
    return row


def _free_vni(db: Session, refused: set[int]) -> int | None:
    """The lowest VXLAN id no network has (nor was just refused)."""
    used = set(db.scalars(select(Segment.segmentation_id).where(Segment.network_type == "vxlan"))) | refused
    low, high = VXLAN_IDS
    candidate = low
    while candidate in used:
        candidate += 1
    return candidate if candidate <= high else None


# -- update ------------------------------------------------------------------------------
def update_network(db: Session, network: Network, spec: NetworkUpdate) -> Network:
    fields = spec.model_fields_set
    revision = network.revision_number  # one update is one revision, whatever RBAC entries it moves
    _refuse_segment_changes(network, spec)
    if "mtu" in fields and spec.mtu is not None:
        limit = max_mtu(network.segment.network_type)
        if spec.mtu > limit:
            raise InvalidInput(f"Requested MTU is too big, maximum is {limit}")
        network.mtu = spec.mtu
    if "shared" in fields:
        try:
            rbac.set_wildcard(db, network, rbac.SHARED, spec.shared)
        except RbacPolicyInUse:
            raise InvalidSharedSetting(network.id) from None
    if "router_external" in fields:
        if network.external and not spec.router_external and _has_gateway_ports(db, network):
            raise ExternalNetworkInUse(network.id)
        rbac.set_wildcard(db, network, rbac.EXTERNAL, spec.router_external)
    if "is_default" in fields:
        _set_default(db, network, spec.is_default)
    for name in ("name", "description", "admin_state_up", "port_security_enabled"):
        if name in fields:
            setattr(network, name, getattr(spec, name))
    network.revision_number = revision
    standard.bump(network)
    db.flush()
    return network


def _set_default(db: Session, network: Network, wanted: bool) -> None:
    """Make the (external) network the cloud's default one, or not; there is one default
    at most (409 naming the one there is)."""
    if not network.external:
        return
    if wanted:
        other = db.scalar(select(Network.id).where(Network.is_default.is_(True), Network.id != network.id).limit(1))
        if other is not None:
            raise DefaultExternalNetworkExists(other)
    network.is_default = wanted


def default_external_network(db: Session) -> Network | None:
    """The cloud's default external network, if an admin chose one."""
    stmt = select(Network).where(Network.is_default.is_(True), Network.external.is_(True)).order_by(Network.created_at, Network.id)
    return db.scalars(stmt.limit(1)).first()


def _has_gateway_ports(db: Session, network: Network) -> bool:
    """Routers use it as their external network (and so, maybe, floating IPs)."""
    stmt = select(Port.id).where(Port.network_id == network.id, Port.device_owner == ROUTER_GATEWAY).limit(1)
    return db.scalar(stmt) is not None


def _refuse_segment_changes(network: Network, spec: NetworkUpdate) -> None:
    segment = network.segment
    current = {
        "network_type": segment.network_type,
        "physical_network": segment.physical_network or None,
        "segmentation_id": None if segment.network_type == "flat" else segment.segmentation_id,
    }
    for name, value in current.items():
        if name in spec.model_fields_set and getattr(spec, name) != value:
            raise InvalidInput("Plugin does not support updating provider attributes")


# -- delete ------------------------------------------------------------------------------
def delete_network(db: Session, network: Network) -> None:
    """Refused while ports other than the DHCP server's are on it; its subnets go with it.
    An external network takes its unassociated floating IPs along (as Neutron does);
    associated ones and routers' gateways keep it in use."""
    _delete_unassociated_floating_ips(db, network)
    ports = list(db.scalars(select(Port).where(Port.network_id == network.id)))
    if any(port.device_owner not in AUTO_DELETE_OWNERS for port in ports):
        raise NetworkInUse(network.id)
    for port in ports:
        db.delete(port)
    db.flush()
    for subnet in list(network.subnets):
        db.delete(subnet)
    db.flush()
    db.delete(network)
    db.flush()


def _delete_unassociated_floating_ips(db: Session, network: Network) -> None:
    stmt = select(FloatingIp).where(FloatingIp.floating_network_id == network.id, FloatingIp.fixed_port_id.is_(None))
    for fip in list(db.scalars(stmt)):
        port = fip.floating_port
        db.delete(fip)
        db.flush()
        db.delete(port)
    db.flush()

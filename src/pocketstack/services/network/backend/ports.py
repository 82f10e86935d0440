"""Ports: a MAC address unique on the network, addresses from IPAM (allocation.py),
security groups, allowed address pairs and the binding.

A port is created DOWN. Binding it to a host (binding:host_id, set by Nova) fills
binding:vif_type/vif_details with what the host's Linux bridge dataplane will plug:
a tap on the network's bridge "brq<network id[:11]>" (Neutron's linuxbridge naming).
The network agent (later) reads the port rows, plugs them and reports them ACTIVE.

Who sees a port (get_port): admins; the port's project; the owner of its network."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session

from .. import ipam
from ..common import standard
from ..common.attributes import to_ip_or_cidr, to_mac
from ..common.listing import Attribute, Collection, as_boolean, as_integer
from ..faults import (
    AddressPairAndPortSecurityRequired,
    AllowedAddressPairExhausted,
    AllowedAddressPairsMissingIP,
    BadRequest,
    DuplicateAddressPairInRequest,
    InvalidInput,
    MacAddressInUse,
    PortBound,
    PortNotFound,
    PortSecurityAndIPRequiredForSecurityGroups,
    PortSecurityPortHasSecurityGroup,
    ServicePortInUse,
)
from ..models import DOWN, FloatingIp, IpAllocation, Network, Port, PortSecurityGroup, Router
from ..schemas.ports import PortCreate, PortUpdate
from . import allocation, quotas, rbac
from . import security_groups as groups
from .common import Viewer, insert_first_free, try_insert

MAX_ADDRESS_PAIRS = 10  # Neutron's max_allowed_address_pair
BRIDGE_PREFIX = "brq"
FLOATING_IP_OWNER = "network:floatingip"
# ports a router or a floating IP holds: only their owner's API removes them
SERVICE_OWNERS = (*ipam.ROUTER_PORT_OWNERS, FLOATING_IP_OWNER)


def _fixed_ips_clause(values: list[str]) -> Any:
    """fixed_ips=ip_address=X&fixed_ips=subnet_id=Y: ports with one allocation matching
    every key given (a key repeated is OR); ip_address_substr matches part of an address."""
    wanted: dict[str, list[str]] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or key not in ("ip_address", "subnet_id", "ip_address_substr"):
            raise InvalidInput(f"'{value}' is not of the form <key>=[value]")
        wanted.setdefault(key, []).append(item)
    conditions = []
    if "ip_address" in wanted:
        conditions.append(IpAllocation.ip_address.in_(wanted["ip_address"]))
    if "subnet_id" in wanted:
        conditions.append(IpAllocation.subnet_id.in_(wanted["subnet_id"]))
    for part in wanted.get("ip_address_substr", []):
        conditions.append(IpAllocation.ip_address.contains(part, autoescape=True))
    return Port.id.in_(select(IpAllocation.port_id).where(*conditions))


def _security_groups_clause(values: list[str]) -> Any:
    return Port.id.in_(select(PortSecurityGroup.port_id).where(PortSecurityGroup.security_group_id.in_(values)))


COLLECTION = Collection(
    "ports",
    Port,
    [
        Attribute("id", Port.id),
        Attribute("name", Port.name),
        Attribute("description", Port.description),
        Attribute("project_id", Port.project_id),
        Attribute("tenant_id", Port.project_id),
        Attribute("network_id", Port.network_id),
        Attribute("mac_address", Port.mac_address),
        Attribute("admin_state_up", Port.admin_state_up, as_boolean),
        Attribute("status", Port.status),
        Attribute("device_id", Port.device_id),
        Attribute("device_owner", Port.device_owner),
        Attribute("port_security_enabled", Port.port_security_enabled, as_boolean),
        Attribute("revision_number", Port.revision_number, as_integer),
        Attribute("binding:host_id", Port.binding_host_id, policy="get_port:binding:host_id"),
        Attribute("binding:vnic_type", Port.binding_vnic_type),
        Attribute("binding:vif_type", Port.binding_vif_type, policy="get_port:binding:vif_type"),
        Attribute("fixed_ips", clause=_fixed_ips_clause, sortable=False),
        Attribute("security_groups", clause=_security_groups_clause, sortable=False),
        Attribute("created_at", sort=Port.created_at),
        Attribute("updated_at", sort=Port.updated_at),
    ],
)


def visible(viewer: Viewer) -> Any:
    if viewer.is_admin:
        return true()
    owned_networks = select(Network.id).where(Network.project_id == viewer.project_id)
    return or_(Port.project_id == viewer.project_id, Port.network_id.in_(owned_networks))


def get_port(db: Session, viewer: Viewer, port_id: str) -> Port:
    port = db.scalars(select(Port).where(Port.id == port_id, visible(viewer))).first()
    if port is None:
        raise PortNotFound(port_id)
    return port


def policy_target(port: Port | None, network: Network, *, caller: str | None = None, **overrides: Any) -> dict[str, Any]:
    """The port (or, creating one, what it will be) as policy rules see it; `shared` is
    whether the network is shared with the caller's project."""
    project_id = overrides.pop("project_id", None) or (port.project_id if port else network.project_id)
    device_owner = overrides.pop("device_owner", None)
    if device_owner is None:
        device_owner = port.device_owner if port else ""
    return {
        "id": port.id if port else None,
        "project_id": project_id,
        "tenant_id": project_id,
        "network_id": network.id,
        "network:project_id": network.project_id,
        "shared": rbac.shared_with(network, caller or project_id),
        "external": network.external,
        "device_owner": device_owner,
        "network_device": device_owner.startswith("network:"),
    }


# -- create --------------------------------------------------------------------------------
def create_port(db: Session, viewer: Viewer, project_id: str, network: Network, spec: PortCreate) -> Port:
    if project_id:  # the cloud's own ports (a router's gateway, a floating IP's address) count for nobody
        quotas.check(db, project_id, "port")
    explicit = spec.model_fields_set
    if spec.device_owner.startswith("network:"):
        security = False  # the network's own devices (router, DHCP) are trusted, never filtered
    elif spec.port_security_enabled is not None:
        security = spec.port_security_enabled
    else:
        security = network.port_security_enabled
    group_ids = _groups_for_new_port(db, viewer, project_id, spec, security, "security_groups" in explicit)
    port = Port(
        network=network,
        name=spec.name,
        admin_state_up=spec.admin_state_up,
        status="DOWN",
        device_id=spec.device_id,
        device_owner=spec.device_owner,
        port_security_enabled=security,
        binding_host_id=spec.host_id,
        binding_vnic_type=spec.vnic_type,
        binding_profile=dict(spec.profile),
    )
    standard.stamp_new(port, project_id, spec.description)
    _insert_with_mac(db, port, spec.mac_address)
    port.allowed_address_pairs = _address_pairs(spec.allowed_address_pairs, port.mac_address, security)
    if spec.fixed_ips is None:
        wanted = allocation.automatic(network, spec.device_owner, port.mac_address)
    else:
        wanted = allocation.requested(db, network, spec.fixed_ips, spec.device_owner, port.mac_address)
    allocation.take(db, port, wanted)
    port.security_group_bindings = [PortSecurityGroup(security_group_id=group_id) for group_id in group_ids]
    _bind(port)
    if spec.tags:
        standard.replace_tags(db, port, spec.tags, "ports")
        port.revision_number = 0
    db.flush()
    return port


def _groups_for_new_port(db: Session, viewer: Viewer, project_id: str, spec: PortCreate, security: bool, named: bool) -> list[str]:
    """The groups asked for; none named: the project's default group, for ports with
    port security that are not the network's own devices (router, DHCP)."""
    if named:
        if spec.security_groups and not security:
            raise PortSecurityAndIPRequiredForSecurityGroups(
                "Port security must be enabled and port must have an IP address in order to use security groups."
            )
        return [group.id for group in groups.groups_for_port(db, viewer, project_id, spec.security_groups)]
    if not security or spec.device_owner.startswith("network:"):
        return []
    return [groups.default_group(db, project_id).id]


def _insert_with_mac(db: Session, port: Port, mac: str | None) -> None:
    """Insert the port row; the network's unique MAC key refuses a MAC in use (a chosen
    one: 409; a made one: another is made)."""

    def with_mac(value: str) -> Port:
        port.mac_address = value
        return port

    if mac is not None:
        if not try_insert(db, with_mac(mac)):
            raise MacAddressInUse(port.network.id, mac)
        return
    if insert_first_free(db, lambda refused: ipam.random_mac(), with_mac, attempts=16) is None:
        raise MacAddressInUse(port.network.id, "(generated)")


def _address_pairs(raw: list[dict[str, Any]], port_mac: str, security: bool) -> list[dict[str, str]]:
    if raw and not security:
        raise AddressPairAndPortSecurityRequired()
    if len(raw) > MAX_ADDRESS_PAIRS:
        raise AllowedAddressPairExhausted(f"The number of allowed address pair exceeds the maximum {MAX_ADDRESS_PAIRS}.")
    pairs, seen = [], set()
    for entry in raw:
        if "ip_address" not in entry:
            raise AllowedAddressPairsMissingIP("AllowedAddressPair must contain ip_address")
        unknown = sorted(set(entry) - {"ip_address", "mac_address"})
        if unknown:
            raise InvalidInput(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
        try:
            address = to_ip_or_cidr(entry["ip_address"])
            mac = to_mac(entry["mac_address"]) if entry.get("mac_address") is not None else port_mac
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if (address, mac) in seen:
            raise DuplicateAddressPairInRequest(f"Request contains duplicate address pair: mac_address {mac} ip_address {address}.")
        seen.add((address, mac))
        pairs.append({"ip_address": address, "mac_address": mac})
    return pairs


def _bind(port: Port) -> None:
    """What the dataplane plugs for this port on its host; nothing until a host is named."""
    if not port.binding_host_id:
        port.binding_vif_type, port.binding_vif_details = "unbound", {}
    elif port.binding_vnic_type != "normal":
        port.binding_vif_type, port.binding_vif_details = "binding_failed", {}
    else:
        port.binding_vif_type = "bridge"
        port.binding_vif_details = {
            "connectivity": "l2",
            "port_filter": True,
            "bridge_name": BRIDGE_PREFIX + port.network_id[:11],
        }


# -- update ------------------------------------------------------------------------------
def update_port(db: Session, viewer: Viewer, port: Port, spec: PortUpdate) -> Port:
    fields = spec.model_fields_set
    security = spec.port_security_enabled if "port_security_enabled" in fields and spec.port_security_enabled is not None else None
    if security is None:
        security = port.port_security_enabled
    group_ids = port.security_group_ids
    if "security_groups" in fields:
        group_ids = [group.id for group in groups.groups_for_port(db, viewer, port.project_id, spec.security_groups)]
    if group_ids and not security:
        raise PortSecurityPortHasSecurityGroup()
    pairs_raw = spec.allowed_address_pairs if "allowed_address_pairs" in fields else None
    if "mac_address" in fields and spec.mac_address is not None and spec.mac_address != port.mac_address:
        _change_mac(db, port, spec.mac_address)
    if pairs_raw is not None:
        port.allowed_address_pairs = _address_pairs(pairs_raw, port.mac_address, security)
    elif port.allowed_address_pairs and not security:
        raise AddressPairAndPortSecurityRequired()
    if "fixed_ips" in fields and spec.fixed_ips is not None:
        device_owner = spec.device_owner if "device_owner" in fields else port.device_owner
        _keep_floating_ip_address(db, port, spec.fixed_ips)
        _change_addresses(db, port, spec.fixed_ips, device_owner)
    port.port_security_enabled = security
    if "security_groups" in fields:
        current = {binding.security_group_id: binding for binding in port.security_group_bindings}
        port.security_group_bindings = [current.get(group_id) or PortSecurityGroup(security_group_id=group_id) for group_id in group_ids]
    for name in ("name", "description", "admin_state_up", "device_id", "device_owner"):
        if name in fields:
            setattr(port, name, getattr(spec, name))
    if "host_id" in fields:
        port.binding_host_id = spec.host_id
    if "vnic_type" in fields:
        port.binding_vnic_type = spec.vnic_type
    if "profile" in fields:
        port.binding_profile = dict(spec.profile)
    _bind(port)
    standard.bump(port)
    db.flush()
    return port


def _change_mac(db: Session, port: Port, mac: str) -> None:
    if port.binding_vif_type not in ("unbound", "binding_failed"):
        raise PortBound(port.id, port.binding_vif_type, port.mac_address, mac)
    clash = db.scalar(select(Port.id).where(Port.network_id == port.network_id, Port.mac_address == mac, Port.id != port.id))
    if clash is not None:
        raise MacAddressInUse(port.network_id, mac)
    port.mac_address = mac
    # SLAAC addresses follow the MAC
    for held in list(port.fixed_ips):
        subnet = held.subnet_id
        network_subnet = next((s for s in port.network.subnets if s.id == subnet), None)
        if network_subnet is not None and ipam.is_auto_address(network_subnet.ip_version, network_subnet.ipv6_address_mode):
            held.ip_address = ipam.eui64_address(network_subnet.cidr, mac)
    db.flush()


def _change_addresses(db: Session, port: Port, fixed_ips: list[dict[str, str]], device_owner: str) -> None:
    """Neutron's semantics: the list replaces the port's addresses; an address the port
    already holds stays; a subnet named without an address keeps the port's address
    there, if any. Removed addresses are freed before new ones are taken."""
    wanted = allocation.requested(db, port.network, fixed_ips, device_owner, port.mac_address)
    held = list(port.fixed_ips)
    keep: list[IpAllocation] = []
    for want in wanted:
        match = next(
            (
                h
                for h in held
                if h not in keep and h.subnet_id == want.subnets[0].id and (want.address is None or h.ip_address == want.address)
            ),
            None,
        )
        if match is not None and len(want.subnets) == 1:
            keep.append(match)
            want.kept = True
    allocation.release(db, port, [h for h in held if h not in keep])
    allocation.take(db, port, wanted)


def _keep_floating_ip_address(db: Session, port: Port, fixed_ips: list[dict[str, str]]) -> None:
    """The address a floating IP is translated to stays on the port (as Neutron's
    prevent_internal_ip_change_for_fip)."""
    translated = db.scalar(select(FloatingIp.fixed_ip_address).where(FloatingIp.fixed_port_id == port.id).limit(1))
    if translated is None or any(entry.get("ip_address") == translated for entry in fixed_ips):
        return
    raise BadRequest(
        "port", f"Cannot update the fixed_ips of the port {port.id}, because its original fixed_ip has been associated to a floating ip"
    )


# -- delete ------------------------------------------------------------------------------
def delete_port(db: Session, port: Port, *, by_service: bool = False) -> None:
    """The port's addresses and group memberships go with it (foreign keys cascade), and
    floating IPs translated to it are disassociated. A live router's or floating IP's
    port goes only through that resource (`by_service`), else 409 ServicePortInUse."""
    if not by_service and _held_by_service(db, port):
        raise ServicePortInUse(port.id, f"has device owner {port.device_owner}")
    _disassociate_floating_ips(db, port)
    db.delete(port)
    db.flush()


def _held_by_service(db: Session, port: Port) -> bool:
    if port.device_owner not in SERVICE_OWNERS:
        return False
    holder = FloatingIp if port.device_owner == FLOATING_IP_OWNER else Router
    return db.get(holder, port.device_id) is not None


def _disassociate_floating_ips(db: Session, port: Port) -> None:
    """Floating IPs translated to a port that goes are left unassociated (Neutron's
    disassociate_floatingips), each with a new revision."""
    stmt = (
        update(FloatingIp)
        .where(FloatingIp.fixed_port_id == port.id)
        .values(
            fixed_port_id=None,
            fixed_ip_address=None,
            router_id=None,
            status=DOWN,
            revision_number=FloatingIp.revision_number + 1,
            updated_at=standard.now(),
        )
        .execution_options(synchronize_session="fetch")
    )
    db.execute(stmt)

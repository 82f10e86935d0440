"""Subnets: CIDR, gateway and allocation pools checked as Neutron checks them
(db_base_plugin_v2._validate_subnet, ipam_backend_mixin), no two subnets of a network
overlapping, and deletion refused while ports hold addresses in it.

Who sees a subnet (get_subnet): admins; the subnet's project; anyone who may use its
network as its owner or because it is shared. Subnets of an external network are not
shown to other projects (that needs the subnet-external-network extension)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, or_, select, true
from sqlalchemy.orm import Session

from .. import ipam
from ..common import standard
from ..common.listing import Attribute, Collection, as_boolean, as_integer
from ..faults import BadRequest, InvalidInput, NetworkSubnetPoolAffinityError, SubnetInUse, SubnetNotFound
from ..models import IpAllocation, Network, Port, Subnet, SubnetPool
from ..schemas.subnets import SubnetCreate, SubnetUpdate
from . import quotas, rbac, subnetpools
from .common import Viewer, try_insert
from .networks import AUTO_DELETE_OWNERS

MAX_DNS_NAMESERVERS = 5  # Neutron's max_dns_nameservers
MAX_HOST_ROUTES = 20  # Neutron's max_subnet_host_routes


NULL_WORDS = ("", "None", "null")


def _none_only(values: list[str]) -> Any:
    """segment_id is always null here: only an empty filter matches."""
    return true() if all(value in NULL_WORDS for value in values) else false()


def _subnetpool_clause(values: list[str]) -> Any:
    """subnetpool_id=<id>, or an empty value for subnets from no pool."""
    named = [value for value in values if value not in NULL_WORDS]
    clauses = [Subnet.subnetpool_id.in_(named)] if named else []
    if len(named) < len(values):
        clauses.append(Subnet.subnetpool_id.is_(None))
    return or_(*clauses)


COLLECTION = Collection(
    "subnets",
    Subnet,
    [
        Attribute("id", Subnet.id),
        Attribute("name", Subnet.name),
        Attribute("description", Subnet.description),
        Attribute("project_id", Subnet.project_id),
        Attribute("tenant_id", Subnet.project_id),
        Attribute("network_id", Subnet.network_id),
        Attribute("ip_version", Subnet.ip_version, as_integer),
        Attribute("cidr", Subnet.cidr),
        Attribute("gateway_ip", Subnet.gateway_ip, sort=func.coalesce(Subnet.gateway_ip, "")),
        Attribute("enable_dhcp", Subnet.enable_dhcp, as_boolean),
        Attribute("ipv6_ra_mode", Subnet.ipv6_ra_mode, sort=func.coalesce(Subnet.ipv6_ra_mode, "")),
        Attribute("ipv6_address_mode", Subnet.ipv6_address_mode, sort=func.coalesce(Subnet.ipv6_address_mode, "")),
        Attribute("subnetpool_id", clause=_subnetpool_clause, sort=func.coalesce(Subnet.subnetpool_id, "")),
        Attribute("segment_id", clause=_none_only, sortable=False),
        Attribute("revision_number", Subnet.revision_number, as_integer),
        Attribute("created_at", sort=Subnet.created_at),
        Attribute("updated_at", sort=Subnet.updated_at),
    ],
)


def visible(viewer: Viewer) -> Any:
    if viewer.is_admin:
        return true()
    owned = select(Network.id).where(Network.project_id == viewer.project_id)
    shared = rbac.accessible(viewer.project_id, rbac.SHARED)
    return or_(Subnet.project_id == viewer.project_id, Subnet.network_id.in_(owned), Subnet.network_id.in_(shared))


def get_subnet(db: Session, viewer: Viewer, subnet_id: str) -> Subnet:
    subnet = db.scalars(select(Subnet).where(Subnet.id == subnet_id, visible(viewer))).first()
    if subnet is None:
        raise SubnetNotFound(subnet_id)
    return subnet


def policy_target(subnet: Subnet, project_id: str | None = None) -> dict[str, Any]:
    network = subnet.network
    return {
        "id": subnet.id,
        "project_id": subnet.project_id,
        "tenant_id": subnet.project_id,
        "network_id": network.id,
        "network:project_id": network.project_id,
        "shared": rbac.shared_with(network, project_id) if project_id else network.shared,
        "external": network.external,
    }


# -- create --------------------------------------------------------------------------------
def pool_for(db: Session, viewer: Viewer, spec: SubnetCreate) -> SubnetPool | None:
    """The subnet pool a new subnet takes its CIDR from: the one named, or the default one
    of its IP version (use_default_subnetpool), locked for the allocation; or none."""
    if spec.subnetpool_id is not None and spec.use_default_subnetpool:
        raise BadRequest("subnets", "subnetpool_id and use_default_subnetpool cannot both be specified")
    if spec.subnetpool_id is not None:
        return subnetpools.get_pool(db, viewer, spec.subnetpool_id, lock=True)
    if spec.use_default_subnetpool:
        return subnetpools.default_pool(db, spec.ip_version)
    return None


def create_subnet(db: Session, project_id: str, network: Network, spec: SubnetCreate, pool: SubnetPool | None = None) -> Subnet:
    quotas.check(db, project_id, "subnet")
    if spec.cidr is not None and spec.prefixlen is not None:
        raise BadRequest("subnets", "cidr and prefixlen must not be supplied together")
    if pool is not None:
        cidr_text = subnetpools.allocate(db, pool, project_id, spec.ip_version, spec.cidr, spec.prefixlen)
    elif spec.cidr is None:
        raise InvalidInput("Bad subnets request: a subnetpool must be specified in the absence of a cidr")
    else:
        cidr_text = spec.cidr
    cidr = ipam.network_of(cidr_text)
    if cidr.version != spec.ip_version:
        raise InvalidInput(f"cidr '{cidr_text}' does not match the ip_version '{spec.ip_version}'")
    _check_cidr(cidr, spec.enable_dhcp)
    _check_overlap(db, network, cidr_text)
    _check_pool_affinity(network, cidr.version, pool)
    explicit = spec.model_fields_set
    gateway = spec.gateway_ip if "gateway_ip" in explicit else ipam.default_gateway(cidr)
    if gateway is not None:
        ipam.check_gateway(cidr, gateway)
    if spec.allocation_pools is not None:
        pools = ipam.parse_pools(spec.allocation_pools)
    else:
        pools = ipam.default_pools(cidr, gateway)
    ipam.check_pools(cidr, pools, gateway)
    _check_dns_and_routes(cidr.version, spec.dns_nameservers, spec.host_routes)
    _check_ipv6_modes(cidr, spec.ipv6_ra_mode, spec.ipv6_address_mode, spec.enable_dhcp)
    subnet = Subnet(
        network=network,
        name=spec.name,
        ip_version=cidr.version,
        cidr=str(cidr),
        gateway_ip=gateway,
        enable_dhcp=spec.enable_dhcp,
        ipv6_ra_mode=spec.ipv6_ra_mode,
        ipv6_address_mode=spec.ipv6_address_mode,
        allocation_pools=[pool.view() for pool in pools],
        dns_nameservers=list(spec.dns_nameservers),
        host_routes=list(spec.host_routes),
        service_types=list(spec.service_types),
        subnetpool_id=pool.id if pool is not None else None,
    )
    standard.stamp_new(subnet, project_id, spec.description)
    db.add(subnet)
    db.flush()
    if spec.tags:
        standard.replace_tags(db, subnet, spec.tags, "subnets")
        subnet.revision_number = 0
    if ipam.is_auto_address(subnet.ip_version, subnet.ipv6_address_mode):
        _address_existing_ports(db, network, subnet)
    standard.bump(network)  # its subnets changed
    db.flush()
    return subnet


def _check_cidr(cidr: ipam.IpNetwork, enable_dhcp: bool) -> None:
    if cidr.version == 6 and int(cidr.network_address) == 0:
        raise InvalidInput("IPv6 subnet '::' is not supported")
    if not enable_dhcp:
        return
    if (cidr.version == 4 and cidr.prefixlen > 30) or (cidr.version == 6 and cidr.prefixlen > 126):
        raise InvalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled")
    if cidr.is_multicast:
        raise InvalidInput("Multicast IP subnet is not supported if enable_dhcp is True")
    if cidr.is_loopback:
        raise InvalidInput("Loopback IP subnet is not supported if enable_dhcp is True")
    if cidr.version == 4 and int(cidr.network_address) == 0:
        raise InvalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.")


def _check_overlap(db: Session, network: Network, cidr: str) -> None:
    for other in db.scalars(select(Subnet.cidr).where(Subnet.network_id == network.id)):
        if ipam.overlaps(other, cidr):
            raise InvalidInput(f"Requested subnet with cidr: {cidr} for network: {network.id} overlaps with another subnet")


def _check_pool_affinity(network: Network, version: int, pool: SubnetPool | None) -> None:
    """Subnets of one IP version on a network all come from the same pool (or none)."""
    wanted = pool.id if pool is not None else None
    if any(other.ip_version == version and other.subnetpool_id != wanted for other in network.subnets):
        raise NetworkSubnetPoolAffinityError()


def _check_dns_and_routes(version: int, nameservers: list[str], routes: list[dict[str, str]]) -> None:
    if len(nameservers) > MAX_DNS_NAMESERVERS:
        raise InvalidInput(f"The number of DNS nameservers exceeds the limit {MAX_DNS_NAMESERVERS}")
    for server in nameservers:
        if ipam.network_of(server).version != version:
            raise InvalidInput(f"dns_nameserver '{server}' does not match the ip_version '{version}'")
    if len(routes) > MAX_HOST_ROUTES:
        raise InvalidInput(f"The number of host routes exceeds the limit {MAX_HOST_ROUTES}")
    for route in routes:
        for key in ("destination", "nexthop"):
            if ipam.network_of(route[key]).version != version:
                raise InvalidInput(f"Invalid route: {route}: {key} does not match the ip_version '{version}'")


def _check_ipv6_modes(cidr: ipam.IpNetwork, ra_mode: str | None, address_mode: str | None, enable_dhcp: bool) -> None:
    if cidr.version == 4:
        if ra_mode is not None:
            raise InvalidInput("ipv6_ra_mode is not valid when ip_version is 4")
        if address_mode is not None:
            raise InvalidInput("ipv6_address_mode is not valid when ip_version is 4")
        return
    if ra_mode and address_mode and ra_mode != address_mode:
        raise InvalidInput(
            f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to '{address_mode}' is not valid. "
            "If both attributes are set, they must be the same value"
        )
    if (ra_mode or address_mode) and not enable_dhcp:
        raise InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False")
    if ipam.is_auto_address(6, address_mode) and cidr.prefixlen != 64:
        raise InvalidInput(
            f"Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64"
        )


def _address_existing_ports(db: Session, network: Network, subnet: Subnet) -> None:
    """A new SLAAC subnet gives every (non-router) port of the network its EUI-64 address,
    as Neutron does."""
    for port in db.scalars(select(Port).where(Port.network_id == network.id)):
        if port.device_owner in ipam.ROUTER_INTERFACE_OWNERS:
            continue
        allocation = IpAllocation(
            subnet_id=subnet.id, ip_address=ipam.eui64_address(subnet.cidr, port.mac_address), port_id=port.id, position=len(port.fixed_ips)
        )
        if try_insert(db, allocation):
            standard.bump(port)


# -- update ------------------------------------------------------------------------------
def update_subnet(db: Session, subnet: Subnet, spec: SubnetUpdate) -> Subnet:
    fields = spec.model_fields_set
    cidr = ipam.network_of(subnet.cidr)
    gateway = spec.gateway_ip if "gateway_ip" in fields else subnet.gateway_ip
    if "gateway_ip" in fields and gateway is not None:
        ipam.check_gateway(cidr, gateway)
    if "allocation_pools" in fields:
        pools = ipam.parse_pools(spec.allocation_pools) if spec.allocation_pools is not None else ipam.default_pools(cidr, gateway)
    else:
        pools = ipam.pools_from_view(subnet.allocation_pools)
    if fields & {"gateway_ip", "allocation_pools"}:
        ipam.check_pools(cidr, pools, gateway)
    if "enable_dhcp" in fields and spec.enable_dhcp and not subnet.enable_dhcp:
        _check_cidr(cidr, True)
    if "enable_dhcp" in fields and not spec.enable_dhcp and (subnet.ipv6_ra_mode or subnet.ipv6_address_mode):
        raise InvalidInput("Cannot disable enable_dhcp with ipv6 attributes set")
    _check_dns_and_routes(
        cidr.version,
        spec.dns_nameservers if "dns_nameservers" in fields else subnet.dns_nameservers,
        spec.host_routes if "host_routes" in fields else subnet.host_routes,
    )
    subnet.gateway_ip = gateway
    subnet.allocation_pools = [pool.view() for pool in pools]
    for name in ("name", "description", "dns_nameservers", "host_routes", "enable_dhcp", "service_types"):
        if name in fields:
            setattr(subnet, name, getattr(spec, name))
    standard.bump(subnet)
    db.flush()
    return subnet


# -- delete ------------------------------------------------------------------------------
def delete_subnet(db: Session, subnet: Subnet) -> None:
    """Addresses of the DHCP server's ports, and SLAAC addresses, go with the subnet; any
    other address in it makes the subnet in use."""
    auto_address = ipam.is_auto_address(subnet.ip_version, subnet.ipv6_address_mode)
    allocations = list(db.scalars(select(IpAllocation).where(IpAllocation.subnet_id == subnet.id)))
    for allocation in allocations:
        port = allocation.port
        removable = port.device_owner in AUTO_DELETE_OWNERS or (auto_address and port.device_owner not in ipam.ROUTER_INTERFACE_OWNERS)
        if not removable:
            raise SubnetInUse(subnet.id)
    for allocation in allocations:
        port = allocation.port
        port.fixed_ips.remove(allocation)
        standard.bump(port)
    db.flush()
    network = subnet.network
    network.subnets.remove(subnet)
    db.delete(subnet)
    standard.bump(network)
    db.flush()

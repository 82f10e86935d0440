"""IPAM in the database: which addresses a port gets, and taking them so that no address
is ever handed out twice.

A port asks for addresses in one of two ways (neutron/db/ipam_pluggable_backend.py):
- nothing said: one IPv4 address from the first IPv4 subnet with room, one from the
  first stateful IPv6 subnet with room, and its EUI-64 address on every SLAAC subnet;
- fixed_ips: each entry names a subnet, an address, or both; SLAAC subnets not named
  still give their EUI-64 address.

An address is taken by inserting its row into network_ip_allocations, whose primary key
(subnet_id, ip_address) refuses a second holder. A free address is chosen at random among
the first few free ones in the pools; if another transaction took it meanwhile, the
insert is refused (in a savepoint) and another one is tried.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ipam
from ..faults import (
    AllocationOnAutoAddressSubnet,
    InvalidInput,
    InvalidIpForNetwork,
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
    SubnetNotFound,
)
from ..models import IpAllocation, Network, Port, Subnet
from .common import insert_first_free, try_insert


@dataclass
class Wanted:
    """One address a port should hold: a given one on `subnets[0]`, or (address None) a
    free one from the first of `subnets` with room."""

    subnets: list[Subnet]
    address: str | None = None
    kept: bool = field(default=False)  # already the port's: nothing to take


def _service_subnets(network: Network, device_owner: str) -> list[Subnet]:
    """Subnets whose service_types name the device owner, else those without service types."""
    matching = [subnet for subnet in network.subnets if device_owner and device_owner in subnet.service_types]
    return matching or [subnet for subnet in network.subnets if not subnet.service_types]


def _is_router(device_owner: str) -> bool:
    return device_owner in ipam.ROUTER_INTERFACE_OWNERS


def automatic(network: Network, device_owner: str, mac: str) -> list[Wanted]:
    subnets = _service_subnets(network, device_owner)
    if network.subnets and not subnets:
        raise InvalidInput(f"No valid service subnet for the given device owner, network {network.id}, service type {device_owner}")
    auto = [s for s in subnets if ipam.is_auto_address(s.ip_version, s.ipv6_address_mode)]
    v4 = [s for s in subnets if s.ip_version == 4]
    v6 = [s for s in subnets if s.ip_version == 6 and s not in auto]
    wanted = [Wanted(group) for group in (v4, v6) if group]
    if not _is_router(device_owner):
        wanted += [Wanted([s], ipam.eui64_address(s.cidr, mac)) for s in auto]
    elif auto:
        wanted.append(Wanted(auto))
    return wanted


def requested(db: Session, network: Network, fixed_ips: list[dict[str, str]], device_owner: str, mac: str) -> list[Wanted]:
    """What a fixed_ips list asks for, each entry checked against the network's subnets."""
    if fixed_ips and not network.subnets:
        raise InvalidInput("IP allocation requires subnets for network")
    by_id = {subnet.id: subnet for subnet in network.subnets}
    wanted, named = [], set()
    for entry in fixed_ips:
        subnet = _subnet_for(db, network, by_id, entry, device_owner)
        named.add(subnet.id)
        auto = ipam.is_auto_address(subnet.ip_version, subnet.ipv6_address_mode) and not _is_router(device_owner)
        address = entry.get("ip_address")
        if address is not None:
            if auto and address != ipam.eui64_address(subnet.cidr, mac):
                raise AllocationOnAutoAddressSubnet(
                    f"IPv6 address {address} cannot be directly assigned to a port on subnet {subnet.id} "
                    "as the subnet is configured for automatic addresses"
                )
            wanted.append(Wanted([subnet], address))
        elif auto:
            wanted.append(Wanted([subnet], ipam.eui64_address(subnet.cidr, mac)))
        else:
            wanted.append(Wanted([subnet]))
    if not _is_router(device_owner):
        for subnet in network.subnets:
            if subnet.id not in named and ipam.is_auto_address(subnet.ip_version, subnet.ipv6_address_mode):
                wanted.append(Wanted([subnet], ipam.eui64_address(subnet.cidr, mac)))
    return wanted


def _subnet_for(db: Session, network: Network, by_id: dict[str, Subnet], entry: dict[str, str], device_owner: str) -> Subnet:
    address = entry.get("ip_address")
    if "subnet_id" in entry:
        subnet = by_id.get(entry["subnet_id"])
        if subnet is None:
            if db.get(Subnet, entry["subnet_id"]) is None:
                raise SubnetNotFound(entry["subnet_id"])
            raise InvalidInput(
                f"Failed to create port on network {network.id}, because fixed_ips included invalid subnet {entry['subnet_id']}"
            )
        if address is not None and not ipam.valid_for_subnet(ipam.network_of(subnet.cidr), address, device_owner):
            raise InvalidIpForSubnet(address)
        return subnet
    if address is None:
        raise InvalidInput("IP allocation requires subnet_id or ip_address")
    for subnet in network.subnets:
        if ipam.valid_for_subnet(ipam.network_of(subnet.cidr), address, device_owner):
            return subnet
    raise InvalidIpForNetwork(address)


def taken(db: Session, subnet_id: str) -> set[str]:
    return set(db.scalars(select(IpAllocation.ip_address).where(IpAllocation.subnet_id == subnet_id)))


def take(db: Session, port: Port, wanted: list[Wanted]) -> None:
    """Insert the port's allocations; 409 when a given address is held, or when no subnet
    has a free address left."""
    position = max((allocation.position for allocation in port.fixed_ips), default=-1) + 1
    for want in wanted:
        if want.kept:
            continue
        if want.address is not None:
            subnet = want.subnets[0]
            row = IpAllocation(subnet_id=subnet.id, ip_address=want.address, port_id=port.id, position=position)
            if not try_insert(db, row):
                raise IpAddressAlreadyAllocated(want.address, subnet.id)
        elif not any(_take_free(db, port, subnet, position) for subnet in want.subnets):
            raise IpAddressGenerationFailure(port.network_id)
        position += 1
    db.expire(port, ["fixed_ips"])


def _take_free(db: Session, port: Port, subnet: Subnet, position: int) -> bool:
    pools = ipam.pools_from_view(subnet.allocation_pools)
    row = insert_first_free(
        db,
        lambda refused: ipam.pick_free(pools, taken(db, subnet.id) | refused),
        lambda address: IpAllocation(subnet_id=subnet.id, ip_address=address, port_id=port.id, position=position),
    )
    return row is not None


def release(db: Session, port: Port, allocations: list[IpAllocation]) -> None:
    for allocation in allocations:
        port.fixed_ips.remove(allocation)
    db.flush()

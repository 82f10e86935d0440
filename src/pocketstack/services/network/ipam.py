"""Address arithmetic of subnets, without a database: default gateways and allocation
pools, their validation, which address a port may have, the next free addresses, EUI-64
addresses for SLAAC, and MAC addresses. The backend stores what these decide; the
database then refuses any address twice (network_ip_allocations' primary key)."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .faults import (
    GatewayConflictWithAllocationPools,
    InvalidAllocationPool,
    InvalidInput,
    OutOfBoundsAllocationPool,
    OverlappingAllocationPools,
)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# device owners of router ports: these may take a subnet's first (network) address in IPv6
ROUTER_INTERFACE_OWNERS = ("network:router_interface", "network:ha_router_replicated_interface", "network:router_interface_distributed")
ROUTER_PORT_OWNERS = (*ROUTER_INTERFACE_OWNERS, "network:router_gateway")
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")
MAC_PREFIX = "fa:16:3e"  # OpenStack's base MAC (Neutron's base_mac default)
# free addresses a new port picks among at random, so that concurrent requests rarely
# reach for the same one (Neutron picks in a window of free addresses too)
PICK_WINDOW = 16


@dataclass(frozen=True, order=True)
class Pool:
    first: IpAddress
    last: IpAddress

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"

    def __contains__(self, address: object) -> bool:
        return isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)) and self.first <= address <= self.last

    def view(self) -> dict[str, str]:
        return {"start": str(self.first), "end": str(self.last)}

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1


def network_of(cidr: str) -> IpNetwork:
    return ipaddress.ip_network(cidr, strict=False)


def usable_range(network: IpNetwork) -> tuple[IpAddress, IpAddress]:
    """The addresses a pool may span: IPv4 leaves out the network and broadcast
    addresses (except /31 and /32), IPv6 leaves out the subnet-router anycast address."""
    first, last = network.network_address, network.broadcast_address
    if network.version == 4:
        if network.prefixlen <= 30:
            return first + 1, last - 1
        return first, last
    return (first + 1, last) if network.num_addresses > 1 else (first, last)


def default_gateway(network: IpNetwork) -> str | None:
    """The first host address, as Neutron chooses it."""
    first, last = usable_range(network)
    return str(first) if first <= last else None


def default_pools(network: IpNetwork, gateway: str | None) -> list[Pool]:
    """The whole usable range, less the gateway."""
    first, last = usable_range(network)
    pools = [Pool(first, last)]
    if gateway is not None:
        pools = _without(pools, ipaddress.ip_address(gateway))
    return pools


def _without(pools: list[Pool], address: IpAddress) -> list[Pool]:
    out = []
    for pool in pools:
        if address not in pool:
            out.append(pool)
            continue
        if pool.first < address:
            out.append(Pool(pool.first, address - 1))
        if address < pool.last:
            out.append(Pool(address + 1, pool.last))
    return out


def parse_pools(raw: Sequence[dict[str, str]]) -> list[Pool]:
    """Pools from a request ([{"start": a, "end": b}]): both ends addresses of one
    version, start <= end."""
    pools = []
    for entry in raw:
        text = f"{entry.get('start')}-{entry.get('end')}"
        try:
            first, last = ipaddress.ip_address(entry["start"]), ipaddress.ip_address(entry["end"])
        except (KeyError, ValueError, TypeError):
            raise InvalidAllocationPool(text) from None
        if first.version != last.version or first > last:
            raise InvalidAllocationPool(text)
        pools.append(Pool(first, last))
    return sorted(pools)


def check_pools(network: IpNetwork, pools: list[Pool], gateway: str | None) -> None:
    """Neutron's rules: each pool inside the usable range of the subnet, no two pools
    overlapping, and the gateway in none of them."""
    low, high = usable_range(network)
    for pool in pools:
        if pool.first.version != network.version:
            raise InvalidAllocationPool(str(pool))
        if pool.first < low or pool.last > high:
            raise OutOfBoundsAllocationPool(str(pool), str(network))
    for left, right in zip(pools, pools[1:]):
        if right.first <= left.last:
            raise OverlappingAllocationPools(str(left), str(right), str(network))
    if gateway is not None:
        address = ipaddress.ip_address(gateway)
        for pool in pools:
            if address in pool:
                raise GatewayConflictWithAllocationPools(gateway, str(pool))


def check_gateway(network: IpNetwork, gateway: str) -> None:
    """A gateway may be outside the subnet (reached by a host route, as Neutron allows),
    but inside it not the network or IPv4 broadcast address."""
    address = ipaddress.ip_address(gateway)
    if address.version != network.version:
        raise InvalidInput(f"gateway_ip '{gateway}' does not match the ip_version '{network.version}'")
    if network.version == 4 and address in network and address in (network.network_address, network.broadcast_address):
        if network.prefixlen <= 30:
            raise InvalidInput("Gateway is not valid on subnet")


def valid_for_subnet(network: IpNetwork, address: str, device_owner: str = "") -> bool:
    """May a port have this address on this subnet? (neutron/ipam/utils.py check_subnet_ip)"""
    ip = ipaddress.ip_address(address)
    if ip.version != network.version or ip not in network:
        return False
    if network.version == 4:
        return network.prefixlen > 30 or ip not in (network.network_address, network.broadcast_address)
    return device_owner in (*ROUTER_PORT_OWNERS, "") or ip != network.network_address


def free_addresses(pools: Iterable[Pool], taken: set[str]) -> Iterator[str]:
    """Addresses of the pools not in `taken`, in order."""
    for pool in pools:
        address = pool.first
        while address <= pool.last:
            text = str(address)
            if text not in taken:
                yield text
            if address == pool.last:
                break
            address += 1


def pick_free(pools: Iterable[Pool], taken: set[str], rng: random.Random | None = None) -> str | None:
    """One free address, chosen at random among the first few free ones."""
    window = []
    for address in free_addresses(pools, taken):
        window.append(address)
        if len(window) == PICK_WINDOW:
            break
    if not window:
        return None
    return (rng or random).choice(window)


def eui64_address(cidr: str, mac: str) -> str:
    """The SLAAC address of a MAC in a /64: the prefix and the modified EUI-64 interface id."""
    network = network_of(cidr)
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02  # flip the universal/local bit
    interface = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return str(network.network_address + int.from_bytes(bytes(interface), "big"))


def is_auto_address(ip_version: int, ipv6_address_mode: str | None) -> bool:
    return ip_version == 6 and ipv6_address_mode in AUTO_ADDRESS_MODES


def overlaps(cidr_a: str, cidr_b: str) -> bool:
    return network_of(cidr_a).overlaps(network_of(cidr_b))


def random_mac(rng: random.Random | None = None) -> str:
    chosen = rng or random.SystemRandom()
    return MAC_PREFIX + "".join(f":{chosen.randrange(256):02x}" for _ in range(3))


def pools_from_view(stored: Sequence[dict[str, str]]) -> list[Pool]:
    return [Pool(ipaddress.ip_address(p["start"]), ipaddress.ip_address(p["end"])) for p in stored]


def pool_capacity(pools: Iterable[Pool]) -> int:
    return sum(pool.size for pool in pools)

"""Address arithmetic of subnets (services/network/ipam.py): default gateway and pools,
pool validation with Neutron's faults, which address a port may hold, free-address
picking, EUI-64 and MAC addresses."""

from __future__ import annotations

import ipaddress
import random

import pytest

from pocketstack.services.network import ipam
from pocketstack.services.network.faults import (
    GatewayConflictWithAllocationPools,
    InvalidAllocationPool,
    InvalidInput,
    OutOfBoundsAllocationPool,
    OverlappingAllocationPools,
)


def net(cidr: str) -> ipam.IpNetwork:
    return ipam.network_of(cidr)


def pool_views(pools: list[ipam.Pool]) -> list[dict[str, str]]:
    return [pool.view() for pool in pools]


@pytest.mark.parametrize(
    ("cidr", "gateway", "pools"),
    [
        ("10.0.0.0/24", "10.0.0.1", [{"start": "10.0.0.2", "end": "10.0.0.254"}]),
        ("192.168.1.0/30", "192.168.1.1", [{"start": "192.168.1.2", "end": "192.168.1.2"}]),
        ("2001:db8::/64", "2001:db8::1", [{"start": "2001:db8::2", "end": "2001:db8::ffff:ffff:ffff:ffff"}]),
    ],
)
def test_defaults_leave_out_network_broadcast_and_gateway(cidr: str, gateway: str, pools: list[dict[str, str]]) -> None:
    network = net(cidr)
    assert ipam.default_gateway(network) == gateway
    assert pool_views(ipam.default_pools(network, gateway)) == pools


def test_a_gateway_inside_the_range_splits_the_default_pool() -> None:
    pools = ipam.default_pools(net("10.0.0.0/24"), "10.0.0.100")
    assert pool_views(pools) == [{"start": "10.0.0.1", "end": "10.0.0.99"}, {"start": "10.0.0.101", "end": "10.0.0.254"}]
    assert ipam.pool_capacity(pools) == 253


def test_no_gateway_means_the_whole_range() -> None:
    assert pool_views(ipam.default_pools(net("10.0.0.0/29"), None)) == [{"start": "10.0.0.1", "end": "10.0.0.6"}]


@pytest.mark.parametrize(
    ("pools", "gateway", "fault"),
    [
        ([{"start": "10.0.0.5", "end": "10.0.0.2"}], None, InvalidAllocationPool),  # backwards
        ([{"start": "10.0.0.2", "end": "2001:db8::5"}], None, InvalidAllocationPool),  # mixed versions
        ([{"start": "10.0.0.0", "end": "10.0.0.10"}], None, OutOfBoundsAllocationPool),  # the network address
        ([{"start": "10.0.0.2", "end": "10.0.0.255"}], None, OutOfBoundsAllocationPool),  # the broadcast address
        ([{"start": "10.0.1.2", "end": "10.0.1.9"}], None, OutOfBoundsAllocationPool),  # another subnet
        ([{"start": "10.0.0.2", "end": "10.0.0.20"}, {"start": "10.0.0.20", "end": "10.0.0.30"}], None, OverlappingAllocationPools),
        ([{"start": "10.0.0.1", "end": "10.0.0.20"}], "10.0.0.1", GatewayConflictWithAllocationPools),
    ],
)
def test_bad_pools_are_refused_with_neutrons_fault(pools: list[dict[str, str]], gateway: str | None, fault: type[Exception]) -> None:
    with pytest.raises(fault):
        ipam.check_pools(net("10.0.0.0/24"), ipam.parse_pools(pools), gateway)


def test_good_pools_pass_and_are_sorted() -> None:
    pools = ipam.parse_pools([{"start": "10.0.0.50", "end": "10.0.0.60"}, {"start": "10.0.0.2", "end": "10.0.0.9"}])
    ipam.check_pools(net("10.0.0.0/24"), pools, "10.0.0.1")
    assert [str(pool) for pool in pools] == ["10.0.0.2-10.0.0.9", "10.0.0.50-10.0.0.60"]


def test_gateway_checks() -> None:
    ipam.check_gateway(net("10.0.0.0/24"), "10.0.0.1")
    ipam.check_gateway(net("10.0.0.0/24"), "192.168.0.1")  # outside: reached by a host route, as Neutron allows
    for bad in ("10.0.0.0", "10.0.0.255", "2001:db8::1"):
        with pytest.raises(InvalidInput):
            ipam.check_gateway(net("10.0.0.0/24"), bad)


@pytest.mark.parametrize(
    ("cidr", "address", "owner", "valid"),
    [
        ("10.0.0.0/24", "10.0.0.7", "", True),
        ("10.0.0.0/24", "10.0.0.0", "", False),
        ("10.0.0.0/24", "10.0.0.255", "", False),
        ("10.0.0.0/24", "10.0.1.7", "", False),
        ("10.0.0.0/24", "2001:db8::7", "", False),
        ("2001:db8::/64", "2001:db8::", "compute:nova", False),  # the subnet-router anycast address
        ("2001:db8::/64", "2001:db8::", "network:router_interface", True),
        ("2001:db8::/64", "2001:db8::ab", "compute:nova", True),
    ],
)
def test_which_address_a_port_may_hold(cidr: str, address: str, owner: str, valid: bool) -> None:
    assert ipam.valid_for_subnet(net(cidr), address, owner) is valid


def test_free_addresses_skip_taken_ones_in_pool_order() -> None:
    pools = ipam.parse_pools([{"start": "10.0.0.2", "end": "10.0.0.4"}, {"start": "10.0.0.10", "end": "10.0.0.11"}])
    assert list(ipam.free_addresses(pools, {"10.0.0.3", "10.0.0.10"})) == ["10.0.0.2", "10.0.0.4", "10.0.0.11"]


def test_pick_free_stays_in_the_first_free_addresses_and_says_when_none_is_left() -> None:
    pools = ipam.default_pools(net("10.0.0.0/16"), "10.0.0.1")
    window = set(list(ipam.free_addresses(pools, set()))[: ipam.PICK_WINDOW])
    rng = random.Random(7)
    picks = {ipam.pick_free(pools, set(), rng) for _ in range(200)}
    assert picks <= window and len(picks) > 1  # spread, so concurrent requests rarely collide
    small = ipam.parse_pools([{"start": "10.0.0.2", "end": "10.0.0.3"}])
    assert ipam.pick_free(small, {"10.0.0.2", "10.0.0.3"}) is None
    assert ipam.pick_free(small, {"10.0.0.2"}) == "10.0.0.3"


def test_pick_free_in_a_huge_ipv6_pool_is_immediate() -> None:
    pools = ipam.default_pools(net("2001:db8::/64"), "2001:db8::1")
    assert ipaddress.ip_address(ipam.pick_free(pools, set()) or "") in net("2001:db8::/64")


def test_eui64_address_of_a_mac() -> None:
    # the example of RFC 4291 appendix A, in OpenStack's MAC range
    assert ipam.eui64_address("2001:db8::/64", "fa:16:3e:33:44:55") == "2001:db8::f816:3eff:fe33:4455"


def test_random_macs_are_openstack_unicast_macs() -> None:
    macs = {ipam.random_mac() for _ in range(50)}
    assert len(macs) > 40
    assert all(mac.startswith("fa:16:3e:") and len(mac) == 17 for mac in macs)


def test_overlap() -> None:
    assert ipam.overlaps("10.0.0.0/24", "10.0.0.128/25")
    assert not ipam.overlaps("10.0.0.0/24", "10.0.1.0/24")
    assert not ipam.overlaps("10.0.0.0/8", "2001:db8::/64")

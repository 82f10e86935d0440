"""Subnets: IPv4 and IPv6, defaults (gateway, pools), validation of CIDRs, gateways,
pools, nameservers, host routes and IPv6 modes with Neutron's faults, no overlap within a
network, updates, deletion while addresses are in use, the CLI and openstacksdk."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.network.conftest import Tenant, fault, make_network, make_port, make_subnet, ok
from tests.conftest import ServiceClient, unique


@pytest.fixture
def network(alice: Tenant) -> dict[str, Any]:
    return make_network(alice.neutron)


def create(client: ServiceClient, network_id: str, **fields: Any) -> Any:
    body = {"network_id": network_id, "ip_version": 4, **fields}
    return client.post("/subnets", json={"subnet": body})


def test_ipv4_defaults(alice: Tenant, network: dict[str, Any]) -> None:
    subnet = make_subnet(alice.neutron, network["id"], "10.1.0.0/24", name="v4")
    assert subnet["cidr"] == "10.1.0.0/24" and subnet["ip_version"] == 4
    assert subnet["gateway_ip"] == "10.1.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.1.0.2", "end": "10.1.0.254"}]
    assert subnet["enable_dhcp"] is True and subnet["dns_nameservers"] == [] and subnet["host_routes"] == []
    assert subnet["ipv6_ra_mode"] is None and subnet["ipv6_address_mode"] is None
    assert subnet["subnetpool_id"] is None and subnet["segment_id"] is None
    assert subnet["project_id"] == alice.project_id and subnet["network_id"] == network["id"]
    shown = ok(alice.neutron.get(f"/networks/{network['id']}"))["network"]
    assert shown["subnets"] == [subnet["id"]]
    assert shown["revision_number"] > network["revision_number"]  # a subnet more is a change of the network


def test_ipv6_subnets(alice: Tenant, network: dict[str, Any]) -> None:
    slaac = make_subnet(alice.neutron, network["id"], "2001:DB8:1::5/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert slaac["cidr"] == "2001:db8:1::/64"  # normalized
    assert slaac["gateway_ip"] == "2001:db8:1::1"
    assert slaac["allocation_pools"] == [{"start": "2001:db8:1::2", "end": "2001:db8:1:0:ffff:ffff:ffff:ffff"}]
    stateful = make_subnet(alice.neutron, network["id"], "2001:db8:2::/120", ipv6_address_mode="dhcpv6-stateful")
    assert stateful["ipv6_address_mode"] == "dhcpv6-stateful" and stateful["ipv6_ra_mode"] is None


def test_chosen_gateway_pools_dns_and_routes(alice: Tenant, network: dict[str, Any]) -> None:
    subnet = make_subnet(
        alice.neutron,
        network["id"],
        "10.2.0.0/24",
        gateway_ip="10.2.0.254",
        allocation_pools=[{"start": "10.2.0.100", "end": "10.2.0.110"}, {"start": "10.2.0.10", "end": "10.2.0.20"}],
        dns_nameservers=["8.8.8.8", "1.1.1.1"],
        host_routes=[{"destination": "192.168.0.0/16", "nexthop": "10.2.0.5"}],
        enable_dhcp=False,
    )
    assert subnet["gateway_ip"] == "10.2.0.254"
    assert subnet["allocation_pools"] == [{"start": "10.2.0.10", "end": "10.2.0.20"}, {"start": "10.2.0.100", "end": "10.2.0.110"}]
    assert subnet["dns_nameservers"] == ["8.8.8.8", "1.1.1.1"]  # in the order given
    assert subnet["host_routes"] == [{"destination": "192.168.0.0/16", "nexthop": "10.2.0.5"}]
    no_gateway = make_subnet(alice.neutron, network["id"], "10.3.0.0/29", gateway_ip=None)
    assert no_gateway["gateway_ip"] is None
    assert no_gateway["allocation_pools"] == [{"start": "10.3.0.1", "end": "10.3.0.6"}]


@pytest.mark.parametrize(
    ("fields", "status", "kind", "message"),
    [
        ({"cidr": "10.9.0.1/24"}, 400, "HTTPBadRequest", "'10.9.0.1/24' isn't a recognized IP subnet cidr, '10.9.0.0/24' is recommended"),
        ({"cidr": "10.9.0.0/33"}, 400, "HTTPBadRequest", "'10.9.0.0/33' is not a valid IP subnet"),
        ({"cidr": "not-a-cidr"}, 400, "HTTPBadRequest", "is not a valid IP subnet"),
        ({"cidr": "2001:db8::/64"}, 400, "InvalidInput", "cidr '2001:db8::/64' does not match the ip_version '4'"),
        ({"cidr": "10.9.0.0/24", "ip_version": 5}, 400, "HTTPBadRequest", "'5' is not in [4, 6]"),
        ({}, 400, "InvalidInput", "a subnetpool must be specified in the absence of a cidr"),
        ({"cidr": "10.9.0.0/31"}, 400, "InvalidInput", "prefix length that is incompatible with DHCP"),
        ({"cidr": "10.9.0.0/24", "gateway_ip": "10.9.0.255"}, 400, "InvalidInput", "Gateway is not valid on subnet"),
        ({"cidr": "10.9.0.0/24", "gateway_ip": "2001:db8::1"}, 400, "InvalidInput", "does not match the ip_version"),
        ({"cidr": "10.9.0.0/24", "gateway_ip": "10.9.0.300"}, 400, "HTTPBadRequest", "'10.9.0.300' is not a valid IP address"),
        (
            {"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.2", "end": "10.9.1.5"}]},
            400,
            "OutOfBoundsAllocationPool",
            "spans beyond",
        ),
        (
            {"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.9", "end": "10.9.0.2"}]},
            400,
            "InvalidAllocationPool",
            "is not valid",
        ),
        ({"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.2"}]}, 400, "HTTPBadRequest", "Invalid data format for IP pool"),
        (
            {
                "cidr": "10.9.0.0/24",
                "allocation_pools": [{"start": "10.9.0.2", "end": "10.9.0.9"}, {"start": "10.9.0.9", "end": "10.9.0.12"}],
            },
            409,
            "OverlappingAllocationPools",
            "Found overlapping allocation pools",
        ),
        (
            {"cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.1", "end": "10.9.0.9"}]},
            409,
            "GatewayConflictWithAllocationPools",
            "Gateway ip 10.9.0.1 conflicts with allocation pool",
        ),
        ({"cidr": "10.9.0.0/24", "dns_nameservers": ["8.8.8.8", "8.8.8.8"]}, 400, "HTTPBadRequest", "Duplicate"),
        ({"cidr": "10.9.0.0/24", "dns_nameservers": ["dns.example"]}, 400, "HTTPBadRequest", "is not a valid nameserver"),
        ({"cidr": "10.9.0.0/24", "dns_nameservers": ["2001:db8::53"]}, 400, "InvalidInput", "does not match the ip_version"),
        (
            {"cidr": "10.9.0.0/24", "host_routes": [{"destination": "10.0.0.0/8"}]},
            400,
            "HTTPBadRequest",
            "Invalid data format for hostroute",
        ),
        ({"cidr": "10.9.0.0/24", "ipv6_ra_mode": "slaac"}, 400, "InvalidInput", "ipv6_ra_mode is not valid when ip_version is 4"),
        (
            {"cidr": "2001:db8:9::/80", "ip_version": 6, "ipv6_address_mode": "slaac"},
            400,
            "InvalidInput",
            "OpenStack uses the EUI-64 address format, which requires the prefix to be /64",
        ),
        (
            {"cidr": "2001:db8:9::/64", "ip_version": 6, "ipv6_address_mode": "slaac", "ipv6_ra_mode": "dhcpv6-stateful"},
            400,
            "InvalidInput",
            "If both attributes are set, they must be the same value",
        ),
        ({"cidr": "10.9.0.0/24", "subnetpool_id": "9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49"}, 404, "SubnetPoolNotFound", "could not be found"),
        ({"cidr": "10.9.0.0/24", "prefixlen": 24}, 400, "BadRequest", "cidr and prefixlen must not be supplied together"),
        ({"cidr": "10.9.0.0/24", "vlan": 4}, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'vlan'"),
    ],
)
def test_bad_subnets_are_refused(
    alice: Tenant, network: dict[str, Any], fields: dict[str, Any], status: int, kind: str, message: str
) -> None:
    assert message in fault(create(alice.neutron, network["id"], **fields), status, kind)
    # nothing half-made
    assert ok(alice.neutron.get(f"/subnets?network_id={network['id']}"))["subnets"] == []


def test_subnets_of_a_network_never_overlap(alice: Tenant, network: dict[str, Any]) -> None:
    make_subnet(alice.neutron, network["id"], "10.4.0.0/16")
    for cidr in ("10.4.5.0/24", "10.0.0.0/8", "10.4.0.0/16"):
        assert "overlaps with another subnet" in fault(create(alice.neutron, network["id"], cidr=cidr), 400, "InvalidInput")
    make_subnet(alice.neutron, network["id"], "10.5.0.0/16")
    # another network may use the same range
    make_subnet(alice.neutron, make_network(alice.neutron)["id"], "10.4.0.0/16")


def test_subnets_need_a_network_the_caller_may_use(alice: Tenant, bob: Tenant) -> None:
    fault(create(alice.neutron, "9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49", cidr="10.0.0.0/24"), 404, "NetworkNotFound")
    bobs = make_network(bob.neutron)
    fault(create(alice.neutron, bobs["id"], cidr="10.0.0.0/24"), 404, "NetworkNotFound")
    fault(create(alice.neutron, "not-a-uuid", cidr="10.0.0.0/24"), 400)


def test_update(alice: Tenant, network: dict[str, Any]) -> None:
    subnet = make_subnet(alice.neutron, network["id"], "10.6.0.0/24")
    path = f"/subnets/{subnet['id']}"
    changes = {
        "name": "renamed",
        "gateway_ip": "10.6.0.254",
        "allocation_pools": [{"start": "10.6.0.10", "end": "10.6.0.99"}],
        "dns_nameservers": ["9.9.9.9"],
        "host_routes": [{"destination": "0.0.0.0/0", "nexthop": "10.6.0.254"}],
        "enable_dhcp": False,
    }
    updated = ok(alice.neutron.put(path, json={"subnet": changes}))["subnet"]
    assert {key: updated[key] for key in changes} == changes
    assert updated["revision_number"] == subnet["revision_number"] + 1
    assert "Cannot update read-only attribute cidr" in fault(alice.neutron.put(path, json={"subnet": {"cidr": "10.7.0.0/24"}}), 400)
    fault(alice.neutron.put(path, json={"subnet": {"ip_version": 6}}), 400)
    fault(alice.neutron.put(path, json={"subnet": {"gateway_ip": "10.6.0.50"}}), 409, "GatewayConflictWithAllocationPools")
    assert ok(alice.neutron.put(path, json={"subnet": {"gateway_ip": None}}))["subnet"]["gateway_ip"] is None


def test_delete_refuses_while_addresses_are_in_use(alice: Tenant, network: dict[str, Any]) -> None:
    subnet = make_subnet(alice.neutron, network["id"], "10.8.0.0/24")
    port = make_port(alice.neutron, network["id"])
    fault(alice.neutron.delete(f"/subnets/{subnet['id']}"), 409, "SubnetInUse")
    ok(alice.neutron.delete(f"/ports/{port['id']}"), 204)
    ok(alice.neutron.delete(f"/subnets/{subnet['id']}"), 204)
    fault(alice.neutron.get(f"/subnets/{subnet['id']}"), 404, "SubnetNotFound")
    assert ok(alice.neutron.get(f"/networks/{network['id']}"))["network"]["subnets"] == []


def test_a_network_takes_its_subnets_with_it(alice: Tenant, network: dict[str, Any]) -> None:
    subnet = make_subnet(alice.neutron, network["id"], "10.10.0.0/24")
    ok(alice.neutron.delete(f"/networks/{network['id']}"), 204)
    fault(alice.neutron.get(f"/subnets/{subnet['id']}"), 404, "SubnetNotFound")


def test_list_filters(alice: Tenant, network: dict[str, Any]) -> None:
    v4 = make_subnet(alice.neutron, network["id"], "10.11.0.0/24")
    v6 = make_subnet(alice.neutron, network["id"], "2001:db8:11::/64")
    ids = lambda query: [s["id"] for s in ok(alice.neutron.get(f"/subnets?network_id={network['id']}&{query}"))["subnets"]]  # noqa: E731
    assert ids("ip_version=4") == [v4["id"]]
    assert ids("ip_version=6") == [v6["id"]]
    assert ids("cidr=10.11.0.0/24") == [v4["id"]]
    assert sorted(ids("enable_dhcp=true")) == sorted([v4["id"], v6["id"]])
    assert ids("gateway_ip=2001:db8:11::1") == [v6["id"]]
    assert ids("sort_key=ip_version&sort_dir=desc") == [v6["id"], v4["id"]]


def test_cli_subnet_lifecycle(network_osc: Any) -> None:
    name = unique("cli")
    network_osc("network", "create", name)
    out = network_osc(
        "subnet", "create", name + "-sub", "--network", name, "--subnet-range", "192.168.50.0/24",
        "--allocation-pool", "start=192.168.50.10,end=192.168.50.20", "--dns-nameserver", "8.8.4.4", "-f", "json",
    ).stdout  # fmt: skip
    assert "192.168.50.10" in out and "8.8.4.4" in out
    listed = network_osc("subnet", "list", "--network", name, "-f", "value", "-c", "Subnet").stdout.split()
    assert listed == ["192.168.50.0/24"]
    network_osc("subnet", "set", name + "-sub", "--no-dhcp", "--gateway", "none")
    detail = network_osc("subnet", "show", name + "-sub", "-f", "json").stdout
    assert '"enable_dhcp": false' in detail and '"gateway_ip": null' in detail
    network_osc("subnet", "create", name + "-v6", "--network", name, "--ip-version", "6", "--subnet-range", "fd00:50::/64",
                "--ipv6-ra-mode", "slaac", "--ipv6-address-mode", "slaac")  # fmt: skip
    bad = network_osc("subnet", "create", name + "-bad", "--network", name, "--subnet-range", "192.168.50.128/25", check=False)
    assert bad.returncode != 0 and "overlaps with another subnet" in bad.stderr
    network_osc("subnet", "delete", name + "-sub", name + "-v6")
    network_osc("network", "delete", name)


def test_sdk_subnets(network_sdk: Any) -> None:
    network = network_sdk.network.create_network(name=unique("sdk"))
    subnet = network_sdk.network.create_subnet(network_id=network.id, ip_version=4, cidr="172.16.9.0/24", name="s")
    assert subnet.gateway_ip == "172.16.9.1" and subnet.is_dhcp_enabled
    assert [s.id for s in network_sdk.network.subnets(network_id=network.id)] == [subnet.id]
    network_sdk.network.update_subnet(subnet, dns_nameservers=["1.0.0.1"])
    assert network_sdk.network.get_subnet(subnet.id).dns_nameservers == ["1.0.0.1"]
    network_sdk.network.delete_subnet(subnet)
    network_sdk.network.delete_network(network)

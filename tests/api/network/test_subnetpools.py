"""Subnet pools: prefixes, prefix-length bounds, subnets allocated from a pool (by size or
by CIDR, never twice), the default pool, sharing, prefix operations, per-project prefix
quota, isolation, the CLI and openstacksdk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.network.conftest import Tenant, fault, make_network, ok
from tests.conftest import ServiceClient, unique


def make_pool(client: ServiceClient, prefixes: list[str], **fields: Any) -> dict[str, Any]:
    body = {"name": unique("pool"), "prefixes": prefixes, **fields}
    return ok(client.post("/subnetpools", json={"subnetpool": body}), 201)["subnetpool"]


def subnet_from(client: ServiceClient, network_id: str, pool_id: str | None, ip_version: int = 4, **fields: Any) -> Any:
    body = {"network_id": network_id, "ip_version": ip_version, **fields}
    if pool_id is not None:
        body["subnetpool_id"] = pool_id
    return client.post("/subnets", json={"subnet": body})


@pytest.fixture
def network(alice: Tenant) -> dict[str, Any]:
    return make_network(alice.neutron)


def test_pool_lifecycle(alice: Tenant) -> None:
    pool = make_pool(alice.neutron, ["10.200.0.0/17", "10.200.128.0/17", "10.200.64.0/18"], default_prefixlen=24, description="d")
    # overlapping and adjacent prefixes are merged; bounds get Neutron's defaults
    assert pool["prefixes"] == ["10.200.0.0/16"] and pool["ip_version"] == 4
    assert (pool["min_prefixlen"], pool["max_prefixlen"], pool["default_prefixlen"]) == (8, 32, 24)
    assert pool["shared"] is False and pool["is_default"] is False and pool["address_scope_id"] is None
    assert pool["default_quota"] is None and pool["project_id"] == alice.project_id and pool["description"] == "d"
    assert ok(alice.neutron.get(f"/subnetpools/{pool['id']}"))["subnetpool"] == pool
    assert [p["id"] for p in ok(alice.neutron.get(f"/subnetpools?name={pool['name']}"))["subnetpools"]] == [pool["id"]]
    updated = ok(alice.neutron.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {"name": "renamed", "min_prefixlen": 16}}))
    assert updated["subnetpool"]["name"] == "renamed" and updated["subnetpool"]["min_prefixlen"] == 16
    grown = ok(alice.neutron.put(f"/subnetpools/{pool['id']}/add_prefixes", json={"prefixes": ["10.201.0.0/16"]}))
    assert grown["prefixes"] == ["10.200.0.0/15"]
    ok(alice.neutron.put(f"/subnetpools/{pool['id']}/tags/blue"), 201)
    assert ok(alice.neutron.get("/subnetpools?tags=blue"))["subnetpools"][0]["id"] == pool["id"]
    ok(alice.neutron.delete(f"/subnetpools/{pool['id']}"), 204)
    fault(alice.neutron.get(f"/subnetpools/{pool['id']}"), 404, "SubnetPoolNotFound")


@pytest.mark.parametrize(
    ("fields", "kind", "message"),
    [
        ({"prefixes": []}, "EmptySubnetPoolPrefixList", "Empty subnet pool prefix list"),
        ({"prefixes": ["10.0.0.0/8", "2001:db8::/32"]}, "PrefixVersionMismatch", "Cannot mix IPv4 and IPv6"),
        ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 28, "max_prefixlen": 24}, "IllegalSubnetPoolPrefixBounds", "min_prefixlen=28"),
        ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, "IllegalSubnetPoolPrefixBounds", "ip_version_max=32"),
        ({"prefixes": ["10.0.0.0/8"], "default_prefixlen": 4}, "IllegalSubnetPoolPrefixBounds", "default_prefixlen=4"),
        ({"prefixes": ["10.0.0.1/8"]}, "HTTPBadRequest", "10.0.0.0/8"),
        ({"prefixes": ["10.0.0.0/8"], "name": ""}, "HTTPBadRequest", "Blank strings are not permitted"),
        ({"prefixes": ["10.0.0.0/8"], "address_scope_id": "9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49"}, "HTTPBadRequest", "Address scopes"),
    ],
)
def test_bad_pools_are_refused(alice: Tenant, fields: dict[str, Any], kind: str, message: str) -> None:
    body = {"name": "bad", **fields}
    assert message in fault(alice.neutron.post("/subnetpools", json={"subnetpool": body}), 400, kind)
    assert ok(alice.neutron.get("/subnetpools?name=bad"))["subnetpools"] == []


def test_subnets_from_a_pool(alice: Tenant, network: dict[str, Any]) -> None:
    pool = make_pool(alice.neutron, ["10.210.0.0/22"], default_prefixlen=24, min_prefixlen=22, max_prefixlen=28)
    small = ok(subnet_from(alice.neutron, network["id"], pool["id"], prefixlen=26), 201)["subnet"]
    assert small["cidr"] == "10.210.0.0/26" and small["subnetpool_id"] == pool["id"]
    assert small["gateway_ip"] == "10.210.0.1" and small["allocation_pools"] == [{"start": "10.210.0.2", "end": "10.210.0.62"}]
    # smallest free blocks first: the next /26 sits beside the first one
    other = make_network(alice.neutron)
    assert ok(subnet_from(alice.neutron, other["id"], pool["id"], prefixlen=26), 201)["subnet"]["cidr"] == "10.210.0.64/26"
    third = make_network(alice.neutron)
    default = ok(subnet_from(alice.neutron, third["id"], pool["id"]), 201)["subnet"]
    assert default["cidr"] == "10.210.1.0/24"
    chosen = ok(subnet_from(alice.neutron, make_network(alice.neutron)["id"], pool["id"], cidr="10.210.3.0/24"), 201)["subnet"]
    assert chosen["cidr"] == "10.210.3.0/24"
    listed = ok(alice.neutron.get(f"/subnets?subnetpool_id={pool['id']}&sort_key=cidr"))["subnets"]
    assert [s["cidr"] for s in listed] == ["10.210.0.0/26", "10.210.0.64/26", "10.210.1.0/24", "10.210.3.0/24"]

    spare = make_network(alice.neutron)
    for fields, kind, message in (
        ({"cidr": "10.210.1.128/25"}, "SubnetAllocationError", "Cannot allocate requested subnet"),
        ({"cidr": "10.99.0.0/24"}, "SubnetAllocationError", "Cannot allocate requested subnet"),
        ({"prefixlen": 29}, "MaxPrefixSubnetAllocationError", "maximum allowed prefix is 28"),
        ({"prefixlen": 21}, "MinPrefixSubnetAllocationError", "minimum allowed prefix is 22"),
        ({"prefixlen": 23}, "SubnetAllocationError", "Insufficient prefix space to allocate subnet size /23"),
        ({"ip_version": 6}, "BadRequest", "Cannot allocate IPv6 subnet from IPv4 subnet pool"),
        ({"cidr": "10.210.2.0/24", "prefixlen": 24}, "BadRequest", "cidr and prefixlen must not be supplied together"),
    ):
        assert message in fault(subnet_from(alice.neutron, spare["id"], pool["id"], **fields), 400, kind)
    assert ok(alice.neutron.get(f"/subnets?network_id={spare['id']}"))["subnets"] == []
    # a network's subnets of one IP version come from one pool
    fault(alice.neutron.post("/subnets", json={"subnet": {"network_id": network["id"], "ip_version": 4, "cidr": "192.168.7.0/24"}}), 400)

    fault(alice.neutron.delete(f"/subnetpools/{pool['id']}"), 409, "SubnetPoolInUse")
    shrink = alice.neutron.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {"prefixes": ["10.210.0.0/23"]}})
    assert "Existing prefixes must be a subset" in fault(shrink, 400, "IllegalSubnetPoolPrefixUpdate")
    in_use = alice.neutron.put(f"/subnetpools/{pool['id']}/remove_prefixes", json={"prefixes": ["10.210.3.0/24"]})
    fault(in_use, 400, "IllegalSubnetPoolPrefixUpdate")
    ok(alice.neutron.delete(f"/subnets/{chosen['id']}"), 204)
    left = ok(alice.neutron.put(f"/subnetpools/{pool['id']}/remove_prefixes", json={"prefixes": ["10.210.3.0/24"]}))
    assert left["prefixes"] == ["10.210.0.0/23", "10.210.2.0/24"]
    # the block of a deleted subnet is free again
    ok(alice.neutron.delete(f"/subnets/{default['id']}"), 204)
    assert ok(subnet_from(alice.neutron, spare["id"], pool["id"]), 201)["subnet"]["cidr"] == "10.210.1.0/24"


def test_ipv6_pool(alice: Tenant, network: dict[str, Any]) -> None:
    pool = make_pool(alice.neutron, ["2001:db8:1200::/48"])
    assert (pool["ip_version"], pool["min_prefixlen"], pool["max_prefixlen"], pool["default_prefixlen"]) == (6, 64, 128, 64)
    subnet = ok(subnet_from(alice.neutron, network["id"], pool["id"], ip_version=6, ipv6_address_mode="slaac", ipv6_ra_mode="slaac"), 201)
    assert subnet["subnet"]["cidr"] == "2001:db8:1200::/64"


def test_default_and_shared_pools_are_the_admins(alice: Tenant, bob: Tenant, neutron: ServiceClient) -> None:
    for fields in ({"shared": True}, {"is_default": True}):
        fault(alice.neutron.post("/subnetpools", json={"subnetpool": {"name": "x", "prefixes": ["10.0.0.0/8"], **fields}}), 403)
    # no default pool yet
    network = make_network(bob.neutron)
    message = fault(
        bob.neutron.post("/subnets", json={"subnet": {"network_id": network["id"], "ip_version": 4, "use_default_subnetpool": True}}), 400
    )
    assert "No default subnetpool found for IPv4" in message
    shared = make_pool(neutron, ["10.220.0.0/16"], default_prefixlen=24, shared=True, is_default=True)
    fault(neutron.post("/subnetpools", json={"subnetpool": {"name": "another", "prefixes": ["10.221.0.0/16"], "is_default": True}}), 400)
    assert ok(bob.neutron.get(f"/subnetpools/{shared['id']}"))["subnetpool"]["shared"] is True
    fault(bob.neutron.put(f"/subnetpools/{shared['id']}", json={"subnetpool": {"name": "mine"}}), 403)
    by_default = ok(
        bob.neutron.post("/subnets", json={"subnet": {"network_id": network["id"], "ip_version": 4, "use_default_subnetpool": True}}), 201
    )
    assert by_default["subnet"]["subnetpool_id"] == shared["id"] and by_default["subnet"]["cidr"] == "10.220.0.0/24"
    # a private pool is nobody else's
    private = make_pool(alice.neutron, ["10.230.0.0/16"])
    assert private["id"] not in [p["id"] for p in ok(bob.neutron.get("/subnetpools"))["subnetpools"]]
    fault(bob.neutron.get(f"/subnetpools/{private['id']}"), 404, "SubnetPoolNotFound")
    fault(subnet_from(bob.neutron, make_network(bob.neutron)["id"], private["id"], prefixlen=24), 404, "SubnetPoolNotFound")
    ok(bob.neutron.delete(f"/subnets/{by_default['subnet']['id']}"), 204)
    ok(neutron.put(f"/subnetpools/{shared['id']}", json={"subnetpool": {"is_default": False}}))


def test_per_project_prefix_quota(tenant: Callable[..., Tenant], neutron: ServiceClient) -> None:
    carol = tenant()
    # 512 addresses per project: two /24s
    pool = make_pool(neutron, ["10.240.0.0/16"], default_prefixlen=24, shared=True, default_quota=512)
    for _ in range(2):
        ok(subnet_from(carol.neutron, make_network(carol.neutron)["id"], pool["id"]), 201)
    fault(subnet_from(carol.neutron, make_network(carol.neutron)["id"], pool["id"]), 409, "SubnetPoolQuotaExceeded")


def test_cli_and_sdk(alice: Tenant, network_osc: Any, network_sdk: Any) -> None:
    env = alice.env()
    name = unique("cli-pool")
    network_osc("subnet", "pool", "create", name, "--pool-prefix", "10.250.0.0/16", "--default-prefix-length", "24", env=env)
    network_osc("network", "create", name + "-net", env=env)
    network_osc("subnet", "create", name + "-sub", "--network", name + "-net", "--subnet-pool", name, env=env)
    assert network_osc("subnet", "show", name + "-sub", "-f", "value", "-c", "cidr", env=env).stdout.strip() == "10.250.0.0/24"
    network_osc("subnet", "pool", "set", name, "--pool-prefix", "10.251.0.0/16", env=env)
    prefixes = network_osc("subnet", "pool", "show", name, "-f", "value", "-c", "prefixes", env=env).stdout
    assert "10.250.0.0/15" in prefixes  # adjacent prefixes merge, as in Neutron
    network_osc("subnet", "delete", name + "-sub", env=env)
    network_osc("subnet", "pool", "delete", name, env=env)
    network_osc("network", "delete", name + "-net", env=env)

    conn = network_sdk
    pool = conn.network.create_subnet_pool(name=unique("sdk-pool"), prefixes=["10.252.0.0/16"], default_prefix_length=26)
    assert pool.ip_version == 4 and pool.default_prefix_length == 26
    net = conn.network.create_network(name=unique("sdk-net"))
    subnet = conn.network.create_subnet(network_id=net.id, ip_version=4, subnet_pool_id=pool.id)
    assert subnet.cidr == "10.252.0.0/26" and subnet.subnet_pool_id == pool.id
    assert pool.id in [p.id for p in conn.network.subnet_pools()]
    conn.network.delete_subnet(subnet)
    conn.network.delete_subnet_pool(pool)
    conn.network.delete_network(net)

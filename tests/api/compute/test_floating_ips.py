"""Nova's deprecated floating-IP and multinic proxies over the networking service (fake
hypervisor, no dataplane): os-floating-ip-pools, os-floating-ips (gone at 2.36),
addFloatingIp / removeFloatingIp and addFixedIp / removeFixedIp (gone at 2.44), with what
the networking service and the server's `addresses` show after each, Nova's answers to
mistakes, and another project kept out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import ApiSpec
from tests.api.compute.helpers import LATEST, checked, mv, wait_for
from tests.conftest import Identity, ServiceClient, admin_identity, login, make_project, make_user

PROXY = mv("2.35")  # the last microversion of os-floating-ips and os-floating-ip-pools
ACTIONS = mv("2.43")  # the last one of the four actions

# Nova's own response schema (nova/api/openstack/compute/schemas/floating_ips.py)
FIP_SCHEMA = {
    "type": "object",
    "properties": {
        "fixed_ip": {"type": ["string", "null"]},
        "id": {"type": "string"},
        "instance_id": {"type": ["string", "null"]},
        "ip": {"type": "string"},
        "pool": {"type": "string"},
    },
    "required": ["fixed_ip", "id", "instance_id", "ip", "pool"],
    "additionalProperties": False,
}
ONE = {"type": "object", "properties": {"floating_ip": FIP_SCHEMA}, "required": ["floating_ip"], "additionalProperties": False}


@dataclass
class Tenant:
    project: dict[str, Any]
    identity: Identity
    nova: ServiceClient
    neutron: ServiceClient


def new_tenant(net_cloud: LiveCloud, role: str = "member", project: dict[str, Any] | None = None) -> Tenant:
    admin = admin_identity(net_cloud)
    project = project or make_project(admin)
    user, password = make_user(admin, project["id"], role)
    identity = login(net_cloud, user, password, project["id"])
    return Tenant(project, identity, identity.service("/compute/v2.1"), identity.service("/networking/v2.0"))


@pytest.fixture(scope="module")
def admin(net_cloud: LiveCloud) -> Tenant:
    identity = admin_identity(net_cloud)
    return Tenant({}, identity, identity.service("/compute/v2.1"), identity.service("/networking/v2.0"))


def ok(reply: Any, status: int = 200) -> Any:
    assert reply.status_code == status, f"{reply.status_code} {reply.text[:500]}"
    return reply.json() if reply.content else None


def network_with_subnet(client: ServiceClient, name: str, cidr: str, **fields: Any) -> dict[str, Any]:
    net = ok(client.post("/networks", json={"network": {"name": name, **fields.pop("network", {})}}), 201)["network"]
    body = {"network_id": net["id"], "cidr": cidr, "ip_version": 4, **fields}
    net["subnet"] = ok(client.post("/subnets", json={"subnet": body}), 201)["subnet"]
    return net


@pytest.fixture(scope="module")
def public(admin: Tenant) -> dict[str, Any]:
    """The cloud's first external network (so the default pool)."""
    return network_with_subnet(admin.neutron, "public", "172.30.0.0/24", network={"router:external": True})


@pytest.fixture(scope="module")
def alice(net_cloud: LiveCloud) -> Tenant:
    return new_tenant(net_cloud)


@pytest.fixture(scope="module")
def bob(net_cloud: LiveCloud) -> Tenant:
    return new_tenant(net_cloud)


def routed_network(tenant: Tenant, public: dict[str, Any], name: str, cidr: str) -> dict[str, Any]:
    """A project network joined to the external one by a router (so its ports can have
    floating IPs)."""
    net = network_with_subnet(tenant.neutron, name, cidr)
    router = ok(tenant.neutron.post("/routers", json={"router": {"external_gateway_info": {"network_id": public["id"]}}}), 201)
    ok(tenant.neutron.put(f"/routers/{router['router']['id']}/add_router_interface", json={"subnet_id": net["subnet"]["id"]}))
    return net


@pytest.fixture(scope="module")
def alice_net(alice: Tenant, public: dict[str, Any]) -> dict[str, Any]:
    return routed_network(alice, public, "alice-net", "10.50.0.0/24")


def boot(tenant: Tenant, image: str, networks: Any) -> str:
    body = {"name": f"fip-{uuid.uuid4().hex[:6]}", "imageRef": image, "flavorRef": "1", "networks": networks}
    server_id = ok(tenant.nova.post("/servers", json={"server": body}, headers=LATEST), 202)["server"]["id"]
    wait_for(tenant.nova, server_id, "ACTIVE")
    return str(server_id)


@pytest.fixture(scope="module")
def server(alice: Tenant, net_image: str, alice_net: dict[str, Any]) -> str:
    """Alice's server with one port on her routed network."""
    return boot(alice, net_image, [{"uuid": alice_net["id"]}])


def allocate(tenant: Tenant, body: Any = None, **kw: Any) -> Any:
    return tenant.nova.post("/os-floating-ips", headers=PROXY, **({"json": body} if body is not None else {}), **kw)


def new_fip(tenant: Tenant, pool: str = "public") -> dict[str, Any]:
    return dict(ok(allocate(tenant, {"pool": pool}))["floating_ip"])


def act(tenant: Tenant, server_id: str, body: Any, headers: dict[str, str] = ACTIONS) -> Any:
    return tenant.nova.post(f"/servers/{server_id}/action", json=body, headers=headers)


def show(tenant: Tenant, fip_id: str) -> dict[str, Any]:
    return dict(ok(tenant.nova.get(f"/os-floating-ips/{fip_id}", headers=PROXY))["floating_ip"])


def fixed_addresses(tenant: Tenant, server_id: str) -> list[str]:
    (port,) = ok(tenant.neutron.get(f"/ports?device_id={server_id}"))["ports"]
    return [entry["ip_address"] for entry in port["fixed_ips"]]


def shown_addresses(tenant: Tenant, server_id: str) -> list[tuple[str, str]]:
    addresses = ok(tenant.nova.get(f"/servers/{server_id}", headers=LATEST))["server"]["addresses"]
    return [(entry["addr"], entry["OS-EXT-IPS:type"]) for entries in addresses.values() for entry in entries]


def message(reply: Any) -> str:
    return str(next(iter(reply.json().values()))["message"])


# -- os-floating-ip-pools -----------------------------------------------------------------------
def test_pools_are_the_external_networks(alice: Tenant, admin: Tenant, public: dict[str, Any], spec: ApiSpec | None) -> None:
    nameless = ok(admin.neutron.post("/networks", json={"network": {"router:external": True}}), 201)["network"]
    try:
        body = checked(spec, alice.nova.get("/os-floating-ip-pools", headers=PROXY), "GET", "/os-floating-ip-pools", 200)
    finally:
        ok(admin.neutron.delete(f"/networks/{nameless['id']}"), 204)
    # a network without a name is its id; project networks are no pools (the order of two
    # networks made in the same second is their ids')
    assert sorted(pool["name"] for pool in body["floating_ip_pools"]) == sorted(["public", nameless["id"]])
    assert alice.nova.get("/os-floating-ip-pools", headers=mv("2.36")).status_code == 404


# -- os-floating-ips ------------------------------------------------------------------------------
def test_allocate_show_list_release(alice: Tenant, public: dict[str, Any], spec: ApiSpec | None) -> None:
    made = checked(spec, allocate(alice, {"pool": "public"}), "POST", "/os-floating-ips", 200)
    jsonschema.validate(made, ONE)
    fip = made["floating_ip"]
    assert fip["pool"] == "public" and fip["fixed_ip"] is None and fip["instance_id"] is None
    # it is the networking service's floating IP, in the caller's project
    neutron = ok(alice.neutron.get(f"/floatingips/{fip['id']}"))["floatingip"]
    assert neutron["floating_ip_address"] == fip["ip"] and neutron["floating_network_id"] == public["id"]
    assert neutron["project_id"] == alice.project["id"]

    path = f"/os-floating-ips/{fip['id']}"
    assert checked(spec, alice.nova.get(path, headers=PROXY), "GET", path, 200) == made
    listed = checked(spec, alice.nova.get("/os-floating-ips", headers=PROXY), "GET", "/os-floating-ips", 200)
    assert fip in listed["floating_ips"]

    released = alice.nova.delete(path, headers=PROXY)
    assert released.status_code == 202 and released.content == b""
    assert alice.nova.get(path, headers=PROXY).status_code == 404
    assert alice.neutron.get(f"/floatingips/{fip['id']}").status_code == 404


def test_allocate_from_the_default_pool_or_by_id(alice: Tenant, public: dict[str, Any]) -> None:
    # no body, a null body, a null pool, another key: the default pool (the first external network)
    for body in (None, {"pool": None}, {"other": 1}):
        fip = ok(allocate(alice, body))["floating_ip"]
        assert fip["pool"] == "public", body
        assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 202
    by_id = new_fip(alice, public["id"])  # a UUID names the network by id
    assert by_id["pool"] == "public"
    assert alice.nova.delete(f"/os-floating-ips/{by_id['id']}", headers=PROXY).status_code == 202


def test_the_default_external_network_is_the_default_pool(alice: Tenant, admin: Tenant, public: dict[str, Any]) -> None:
    chosen = network_with_subnet(admin.neutron, "chosen", "172.31.0.0/24", network={"router:external": True, "is_default": True})
    try:
        fip = ok(allocate(alice, None))["floating_ip"]
        assert fip["pool"] == "chosen"
        assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 202
    finally:
        ok(admin.neutron.delete(f"/networks/{chosen['id']}"), 204)


def test_allocate_mistakes(net_cloud: LiveCloud, alice: Tenant, admin: Tenant, public: dict[str, Any]) -> None:
    unknown = allocate(alice, {"pool": "no-such-pool"})
    assert unknown.status_code == 404 and message(unknown) == "Floating IP pool not found."
    assert allocate(alice, {"pool": str(uuid.uuid4())}).status_code == 404
    # a project network is no pool, even by its own name
    network_with_subnet(alice.neutron, "mine", "10.51.0.0/24")
    assert allocate(alice, {"pool": "mine"}).status_code == 404
    for body in ([], "public", {"pool": 1}, {"pool": ["public"]}):
        assert allocate(alice, body).status_code == 400, body

    # over the networking service's floatingip quota: Nova's 403
    carol = new_tenant(net_cloud)
    ok(admin.neutron.put(f"/quotas/{carol.project['id']}", json={"quota": {"floatingip": 1}}))
    first = new_fip(carol)
    over = allocate(carol, {"pool": "public"})
    assert over.status_code == 403 and message(over) == "IP allocation over quota in pool public."
    assert message(allocate(carol)) == "IP allocation over quota."
    assert carol.nova.delete(f"/os-floating-ips/{first['id']}", headers=PROXY).status_code == 202

    # no address left in the pool: Nova's 404
    tiny = network_with_subnet(
        admin.neutron,
        "tiny",
        "172.31.0.0/29",
        network={"router:external": True},
        enable_dhcp=False,  # no DHCP port to take the one address
        allocation_pools=[{"start": "172.31.0.2", "end": "172.31.0.2"}],
    )
    only = new_fip(alice, "tiny")
    empty = allocate(alice, {"pool": "tiny"})
    assert empty.status_code == 404 and message(empty) == "No more floating IPs in pool tiny."
    assert alice.nova.delete(f"/os-floating-ips/{only['id']}", headers=PROXY).status_code == 202
    # an external network without an IPv4 subnet: the networking service's 400
    bare = ok(admin.neutron.post("/networks", json={"network": {"name": "bare", "router:external": True}}), 201)["network"]
    assert allocate(alice, {"pool": "bare"}).status_code == 400
    for net in (tiny, bare):
        ok(admin.neutron.delete(f"/networks/{net['id']}"), 204)


def test_unknown_ids_and_other_projects(alice: Tenant, bob: Tenant, public: dict[str, Any]) -> None:
    for fip_id in (str(uuid.uuid4()), "not-a-uuid", "1"):
        missing = alice.nova.get(f"/os-floating-ips/{fip_id}", headers=PROXY)
        assert missing.status_code == 404 and message(missing) == f"Floating IP not found for ID {fip_id}"
        assert alice.nova.delete(f"/os-floating-ips/{fip_id}", headers=PROXY).status_code == 404
    fip = new_fip(alice)
    assert bob.nova.get(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 404
    assert bob.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 404
    assert fip not in ok(bob.nova.get("/os-floating-ips", headers=PROXY))["floating_ips"]
    assert show(alice, fip["id"]) == fip
    assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 202


def test_readers_look_but_do_not_touch(net_cloud: LiveCloud, alice: Tenant, public: dict[str, Any]) -> None:
    fip = new_fip(alice)
    reader = new_tenant(net_cloud, "reader", alice.project)
    assert fip in ok(reader.nova.get("/os-floating-ips", headers=PROXY))["floating_ips"]
    assert show(reader, fip["id"]) == fip
    assert allocate(reader, {"pool": "public"}).status_code == 403
    assert reader.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 403
    assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 202


def test_proxies_are_gone_at_2_36(alice: Tenant, public: dict[str, Any]) -> None:
    fip = new_fip(alice)
    later = mv("2.36")
    assert alice.nova.get("/os-floating-ips", headers=later).status_code == 404
    assert alice.nova.get(f"/os-floating-ips/{fip['id']}", headers=later).status_code == 404
    assert alice.nova.post("/os-floating-ips", json={"pool": "public"}, headers=later).status_code == 404
    assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=later).status_code == 404
    assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 202


# -- addFloatingIp / removeFloatingIp ----------------------------------------------------------------
def test_associate_and_disassociate(alice: Tenant, server: str, public: dict[str, Any]) -> None:
    fip = new_fip(alice)
    (fixed,) = fixed_addresses(alice, server)
    added = act(alice, server, {"addFloatingIp": {"address": fip["ip"]}})
    assert added.status_code == 202 and added.content == b"", added.text
    assert show(alice, fip["id"]) == {**fip, "fixed_ip": fixed, "instance_id": server}
    (port,) = ok(alice.neutron.get(f"/ports?device_id={server}"))["ports"]
    neutron = ok(alice.neutron.get(f"/floatingips/{fip['id']}"))["floatingip"]
    assert neutron["port_id"] == port["id"] and neutron["fixed_ip_address"] == fixed
    # the server shows it beside its fixed address, on the same network
    assert shown_addresses(alice, server) == [(fixed, "fixed"), (fip["ip"], "floating")]
    # again to the same address: nothing changes
    assert act(alice, server, {"addFloatingIp": {"address": fip["ip"], "fixed_address": fixed}}).status_code == 202

    removed = act(alice, server, {"removeFloatingIp": {"address": fip["ip"]}})
    assert removed.status_code == 202 and removed.content == b""
    assert show(alice, fip["id"]) == fip
    assert shown_addresses(alice, server) == [(fixed, "fixed")]
    again = act(alice, server, {"removeFloatingIp": {"address": fip["ip"]}})
    assert again.status_code == 409 and message(again) == f"Floating IP {fip['ip']} is not associated with instance {server}."

    # releasing an associated floating IP disassociates it
    assert act(alice, server, {"addFloatingIp": {"address": fip["ip"]}}).status_code == 202
    assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 202
    assert shown_addresses(alice, server) == [(fixed, "fixed")]


def test_associating_again_moves_it(alice: Tenant, server: str, net_image: str, alice_net: dict[str, Any]) -> None:
    other = boot(alice, net_image, [{"uuid": alice_net["id"]}])
    fip = new_fip(alice)
    assert act(alice, server, {"addFloatingIp": {"address": fip["ip"]}}).status_code == 202
    assert act(alice, other, {"addFloatingIp": {"address": fip["ip"]}}).status_code == 202
    assert show(alice, fip["id"])["instance_id"] == other
    assert (fip["ip"], "floating") not in shown_addresses(alice, server)
    assert (fip["ip"], "floating") in shown_addresses(alice, other)
    # no longer the first server's: 409 there (even for a server that does not exist)
    assert act(alice, server, {"removeFloatingIp": {"address": fip["ip"]}}).status_code == 409
    assert act(alice, str(uuid.uuid4()), {"removeFloatingIp": {"address": fip["ip"]}}).status_code == 409
    assert act(alice, other, {"removeFloatingIp": {"address": fip["ip"]}}).status_code == 202
    assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 202
    alice.nova.delete(f"/servers/{other}")


def test_associate_mistakes(alice: Tenant, server: str, net_image: str, public: dict[str, Any]) -> None:
    missing = act(alice, server, {"addFloatingIp": {"address": "0.0.0.0"}})
    assert missing.status_code == 404 and message(missing) == "floating IP not found"
    gone = act(alice, server, {"removeFloatingIp": {"address": "0.0.0.0"}})
    assert gone.status_code == 404 and message(gone) == "Floating IP not found for address 0.0.0.0."
    for argument in ({"address": ""}, {"address": "10.0.0"}, {"address": 1}, {}, {"address": "1.2.3.4", "x": 1}, "1.2.3.4", None):
        assert act(alice, server, {"addFloatingIp": argument}).status_code == 400, argument
        assert act(alice, server, {"removeFloatingIp": argument}).status_code == 400, argument
    assert act(alice, server, {"addFloatingIp": {"address": "1.2.3.4", "fixed_address": "nope"}}).status_code == 400
    assert act(alice, str(uuid.uuid4()), {"addFloatingIp": {"address": "0.0.0.0"}}).status_code == 404

    fip, second = new_fip(alice), new_fip(alice)
    wrong = act(alice, server, {"addFloatingIp": {"address": fip["ip"], "fixed_address": "10.99.0.1"}})
    assert wrong.status_code == 400 and message(wrong) == "Specified fixed address not assigned to instance"
    # one floating IP per fixed address (the networking service's rule): Nova's 400
    assert act(alice, server, {"addFloatingIp": {"address": fip["ip"]}}).status_code == 202
    taken = act(alice, server, {"addFloatingIp": {"address": second["ip"]}})
    assert taken.status_code == 400 and "already has a floating IP" in message(taken)
    assert act(alice, server, {"removeFloatingIp": {"address": fip["ip"]}}).status_code == 202

    # a server without ports, and one on a network no router joins to the pool
    portless = boot(alice, net_image, "none")
    bare = act(alice, portless, {"addFloatingIp": {"address": fip["ip"]}})
    assert bare.status_code == 400 and message(bare) == "Instance network is not ready yet"
    isolated = network_with_subnet(alice.neutron, "isolated", "10.52.0.0/24")
    unrouted = boot(alice, net_image, [{"uuid": isolated["id"]}])
    unreachable = act(alice, unrouted, {"addFloatingIp": {"address": fip["ip"]}})
    assert unreachable.status_code == 400 and message(unreachable).startswith(f"Unable to associate floating IP {fip['ip']} to fixed IP")
    for made in (portless, unrouted):
        alice.nova.delete(f"/servers/{made}")
    for made in (fip, second):
        assert alice.nova.delete(f"/os-floating-ips/{made['id']}", headers=PROXY).status_code == 202


def test_other_projects_floating_ips_and_servers(
    alice: Tenant, bob: Tenant, admin: Tenant, server: str, net_image: str, public: dict[str, Any]
) -> None:
    theirs = new_fip(alice)
    bob_net = routed_network(bob, public, "bob-net", "10.53.0.0/24")
    bobs = boot(bob, net_image, [{"uuid": bob_net["id"]}])
    mine = new_fip(bob)
    # alice's floating IP is not bob's to take, nor alice's server his to touch
    assert act(bob, bobs, {"addFloatingIp": {"address": theirs["ip"]}}).status_code == 404
    assert act(bob, server, {"addFloatingIp": {"address": mine["ip"]}}).status_code == 404
    assert act(bob, server, {"addFixedIp": {"networkId": bob_net["id"]}}).status_code == 404
    assert act(bob, server, {"removeFixedIp": {"address": "10.50.0.10"}}).status_code == 404
    # nor can he take it off her server
    assert act(alice, server, {"addFloatingIp": {"address": theirs["ip"]}}).status_code == 202
    assert act(bob, server, {"removeFloatingIp": {"address": theirs["ip"]}}).status_code == 404
    assert show(alice, theirs["id"])["instance_id"] == server
    assert act(alice, server, {"removeFloatingIp": {"address": theirs["ip"]}}).status_code == 202
    # an admin may associate a project's floating IP with that project's server
    assert act(admin, server, {"addFloatingIp": {"address": theirs["ip"]}}).status_code == 202
    assert act(admin, server, {"removeFloatingIp": {"address": theirs["ip"]}}).status_code == 202
    assert alice.nova.delete(f"/os-floating-ips/{theirs['id']}", headers=PROXY).status_code == 202
    assert bob.nova.delete(f"/os-floating-ips/{mine['id']}", headers=PROXY).status_code == 202
    bob.nova.delete(f"/servers/{bobs}")


# -- addFixedIp / removeFixedIp -------------------------------------------------------------------
def test_add_and_remove_a_fixed_ip(alice: Tenant, server: str, alice_net: dict[str, Any]) -> None:
    (first,) = fixed_addresses(alice, server)
    added = act(alice, server, {"addFixedIp": {"networkId": alice_net["id"]}})
    assert added.status_code == 202 and added.content == b"", added.text
    both = fixed_addresses(alice, server)
    assert both[0] == first and len(both) == 2  # a second address on the same port
    assert shown_addresses(alice, server) == [(address, "fixed") for address in both]
    assert {entry["addr"] for entry in ok(alice.nova.get(f"/servers/{server}/ips"))["addresses"]["alice-net"]} == set(both)

    removed = act(alice, server, {"removeFixedIp": {"address": both[1]}})
    assert removed.status_code == 202 and removed.content == b""
    assert fixed_addresses(alice, server) == [first]
    again = act(alice, server, {"removeFixedIp": {"address": both[1]}})
    assert again.status_code == 400 and message(again) == f"Instance {server} does not have fixed IP '{both[1]}'."


def test_fixed_ip_mistakes(alice: Tenant, admin: Tenant, server: str, net_image: str, alice_net: dict[str, Any]) -> None:
    for argument in ({}, {"networkId": ""}, {"networkId": "x" * 37}, {"networkId": None}, {"networkId": True}, {"networkId": "a", "b": 1}):
        assert act(alice, server, {"addFixedIp": argument}).status_code == 400, argument
    for argument in ({}, {"address": "nope"}, {"address": "10.0.0.1", "x": 1}):
        assert act(alice, server, {"removeFixedIp": argument}).status_code == 400, argument
    # a network the server has no port on (or that does not exist)
    elsewhere = network_with_subnet(alice.neutron, "elsewhere", "10.54.0.0/24")
    for network_id in (elsewhere["id"], str(uuid.uuid4()), 42):
        refused = act(alice, server, {"addFixedIp": {"networkId": network_id}})
        assert refused.status_code == 400 and message(refused) == f"Network could not be found for instance {server}.", network_id
    # a full network
    full = network_with_subnet(
        alice.neutron, "full", "10.55.0.0/29", enable_dhcp=False, allocation_pools=[{"start": "10.55.0.2", "end": "10.55.0.2"}]
    )
    crowded = boot(alice, net_image, [{"uuid": full["id"]}])
    exhausted = act(alice, crowded, {"addFixedIp": {"networkId": full["id"]}})
    assert exhausted.status_code == 400 and message(exhausted) == f"No fixed IP addresses available for network: {full['id']}"
    assert fixed_addresses(alice, crowded) == ["10.55.0.2"]
    # the address a floating IP is translated to stays (the networking service's rule)
    fip = new_fip(alice)
    assert act(alice, server, {"addFloatingIp": {"address": fip["ip"]}}).status_code == 202
    (translated,) = fixed_addresses(alice, server)
    assert act(alice, server, {"removeFixedIp": {"address": translated}}).status_code == 400
    assert act(alice, server, {"removeFloatingIp": {"address": fip["ip"]}}).status_code == 202
    assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 202
    # a locked server: Nova's InstanceIsLocked, a 400 here
    assert act(alice, crowded, {"lock": None}, LATEST).status_code == 202
    locked = act(alice, crowded, {"removeFixedIp": {"address": "10.55.0.2"}})
    assert locked.status_code == 400 and message(locked) == f"Instance {crowded} is locked"
    assert act(alice, crowded, {"unlock": None}, LATEST).status_code == 202
    alice.nova.delete(f"/servers/{crowded}")


def test_actions_are_gone_at_2_44(alice: Tenant, server: str, alice_net: dict[str, Any], public: dict[str, Any]) -> None:
    fip = new_fip(alice)
    later = mv("2.44")
    for body in (
        {"addFloatingIp": {"address": fip["ip"]}},
        {"removeFloatingIp": {"address": fip["ip"]}},
        {"addFixedIp": {"networkId": alice_net["id"]}},
        {"removeFixedIp": {"address": "10.50.0.10"}},
    ):
        assert act(alice, server, body, later).status_code == 404, body
    assert show(alice, fip["id"])["instance_id"] is None
    assert len(fixed_addresses(alice, server)) == 1
    assert alice.nova.delete(f"/os-floating-ips/{fip['id']}", headers=PROXY).status_code == 202


# -- without the networking service --------------------------------------------------------------------
def test_without_networking(nova: ServiceClient) -> None:
    assert ok(nova.get("/os-floating-ip-pools", headers=PROXY)) == {"floating_ip_pools": []}
    assert ok(nova.get("/os-floating-ips", headers=PROXY)) == {"floating_ips": []}
    assert nova.post("/os-floating-ips", json={"pool": "public"}, headers=PROXY).status_code == 404
    assert nova.get(f"/os-floating-ips/{uuid.uuid4()}", headers=PROXY).status_code == 404
    assert nova.delete(f"/os-floating-ips/{uuid.uuid4()}", headers=PROXY).status_code == 404

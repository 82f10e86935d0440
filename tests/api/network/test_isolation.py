"""Projects are kept apart: B cannot see or use A's private networks, subnets, ports or
security groups (404, as if they did not exist), sees shared and external networks, may
put ports on a shared network but not on another project's external one, and cannot add
subnets to a network it does not own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.network.conftest import Tenant, fault, make_network, make_port, make_subnet, ok
from tests.conftest import ServiceClient

NO_SUCH = "9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49"


@pytest.fixture(scope="module")
def world(tenant: Callable[..., Tenant], neutron: ServiceClient) -> dict[str, Any]:
    """A with a private network, subnet, port and group, and a network the admin made
    shared for A; the admin's external network. Each network has a subnet."""
    a, b, c = tenant(), tenant(), tenant()
    private = make_network(a.neutron, name="a-private")
    subnet = make_subnet(a.neutron, private["id"], "10.50.0.0/24")
    port = make_port(a.neutron, private["id"])
    group = ok(a.neutron.post("/security-groups", json={"security_group": {"name": "a-group"}}), 201)["security_group"]
    shared = make_network(neutron, name="everyone", shared=True, project_id=a.project_id)
    shared_subnet = make_subnet(neutron, shared["id"], "10.51.0.0/24", project_id=a.project_id)
    external = make_network(neutron, name="public", **{"router:external": True})
    external_subnet = make_subnet(neutron, external["id"], "203.0.113.0/24")
    return {
        "a": a,
        "b": b,
        "c": c,
        "private": private,
        "subnet": subnet,
        "port": port,
        "group": group,
        "shared": shared,
        "shared_subnet": shared_subnet,
        "external": external,
        "external_subnet": external_subnet,
    }


def ids(client: ServiceClient, path: str, key: str) -> set[str]:
    return {item["id"] for item in ok(client.get(path))[key]}


def test_b_does_not_see_as_private_resources(world: dict[str, Any]) -> None:
    b = world["b"].neutron
    for path, kind, item in (
        ("networks", "NetworkNotFound", world["private"]),
        ("subnets", "SubnetNotFound", world["subnet"]),
        ("ports", "PortNotFound", world["port"]),
        ("security-groups", "SecurityGroupNotFound", world["group"]),
    ):
        fault(b.get(f"/{path}/{item['id']}"), 404, kind)
        fault(b.put(f"/{path}/{item['id']}", json={path.rstrip("s").replace("-", "_"): {"name": "mine now"}}), 404, kind)
        fault(b.delete(f"/{path}/{item['id']}"), 404, kind)
        fault(b.put(f"/{path}/{item['id']}/tags/x"), 404, kind)
        assert item["id"] not in ids(b, f"/{path}", path.replace("-", "_"))
    for rule in world["group"]["security_group_rules"]:
        fault(b.get(f"/security-group-rules/{rule['id']}"), 404, "SecurityGroupRuleNotFound")
        fault(b.delete(f"/security-group-rules/{rule['id']}"), 404, "SecurityGroupRuleNotFound")
    # and what A has is as it was
    assert ok(world["a"].neutron.get(f"/networks/{world['private']['id']}"))["network"]["name"] == "a-private"


def test_b_cannot_use_as_private_resources(world: dict[str, Any]) -> None:
    b = world["b"].neutron
    fault(b.post("/ports", json={"port": {"network_id": world["private"]["id"]}}), 404, "NetworkNotFound")
    body = {"subnet": {"network_id": world["private"]["id"], "cidr": "10.52.0.0/24", "ip_version": 4}}
    fault(b.post("/subnets", json=body), 404, "NetworkNotFound")
    mine = make_network(b)
    make_subnet(b, mine["id"], "10.53.0.0/24")
    fault(
        b.post("/ports", json={"port": {"network_id": mine["id"], "security_groups": [world["group"]["id"]]}}), 404, "SecurityGroupNotFound"
    )
    rule = {"security_group_id": world["group"]["id"], "direction": "ingress"}
    fault(b.post("/security-group-rules", json={"security_group_rule": rule}), 404, "SecurityGroupNotFound")
    (bs_default,) = ok(b.get("/security-groups?name=default"))["security_groups"]
    remote = {"security_group_id": bs_default["id"], "direction": "ingress", "remote_group_id": world["group"]["id"]}
    fault(b.post("/security-group-rules", json={"security_group_rule": remote}), 404, "SecurityGroupNotFound")
    fault(b.put(f"/ports/{world['port']['id']}", json={"port": {"name": "x"}}), 404, "PortNotFound")
    assert ok(b.get(f"/ports?network_id={world['private']['id']}"))["ports"] == []


def test_shared_and_external_networks_are_visible(world: dict[str, Any]) -> None:
    b = world["b"].neutron
    visible = ids(b, "/networks", "networks")
    assert {world["shared"]["id"], world["external"]["id"]} <= visible
    assert world["private"]["id"] not in visible
    shared = ok(b.get(f"/networks/{world['shared']['id']}"))["network"]
    assert shared["shared"] is True and "provider:network_type" not in shared
    assert ok(b.get("/networks?router:external=true"))["networks"][0]["router:external"] is True
    # subnets of a shared network are visible; those of an external one are not
    assert world["shared_subnet"]["id"] in ids(b, "/subnets", "subnets")
    assert world["external_subnet"]["id"] not in ids(b, "/subnets", "subnets")
    fault(b.get(f"/subnets/{world['external_subnet']['id']}"), 404, "SubnetNotFound")


def test_ports_on_shared_but_not_on_external_networks(world: dict[str, Any]) -> None:
    b = world["b"]
    port = make_port(b.neutron, world["shared"]["id"])
    assert port["project_id"] == b.project_id and port["fixed_ips"][0]["subnet_id"] == world["shared_subnet"]["id"]
    # a port on someone's shared network may not choose its address or MAC (the owner's right)
    chosen = {"port": {"network_id": world["shared"]["id"], "fixed_ips": [{"ip_address": "10.51.0.99"}]}}
    assert "create_port:fixed_ips:ip_address" in fault(b.neutron.post("/ports", json=chosen), 403, "PolicyNotAuthorized")
    by_subnet = {"port": {"network_id": world["shared"]["id"], "fixed_ips": [{"subnet_id": world["shared_subnet"]["id"]}]}}
    ok(b.neutron.post("/ports", json=by_subnet), 201)
    mac = {"port": {"network_id": world["shared"]["id"], "mac_address": "fa:16:3e:12:34:56"}}
    fault(b.neutron.post("/ports", json=mac), 403, "PolicyNotAuthorized")
    fault(b.neutron.post("/ports", json={"port": {"network_id": world["external"]["id"]}}), 404, "NetworkNotFound")
    # the network's owner sees ports others put on it (and may delete them); other projects do not
    assert port["id"] in ids(world["a"].neutron, "/ports", "ports")
    assert port["id"] not in ids(world["c"].neutron, "/ports", "ports")
    fault(world["c"].neutron.get(f"/ports/{port['id']}"), 404, "PortNotFound")
    assert world["a"].neutron.delete(f"/ports/{port['id']}").status_code == 204


def test_shared_networks_stay_the_owners(world: dict[str, Any], neutron: ServiceClient) -> None:
    b = world["b"].neutron
    shared_id = world["shared"]["id"]
    fault(b.put(f"/networks/{shared_id}", json={"network": {"name": "taken"}}), 403, "PolicyNotAuthorized")
    fault(b.delete(f"/networks/{shared_id}"), 403, "PolicyNotAuthorized")
    body = {"subnet": {"network_id": shared_id, "cidr": "10.54.0.0/24", "ip_version": 4}}
    fault(b.post("/subnets", json=body), 403, "PolicyNotAuthorized")
    fault(b.put(f"/subnets/{world['shared_subnet']['id']}", json={"subnet": {"name": "x"}}), 403, "PolicyNotAuthorized")
    make_port(b, shared_id)
    # another project's ports keep it shared
    fault(neutron.put(f"/networks/{shared_id}", json={"network": {"shared": False}}), 409, "InvalidSharedSetting")


def test_admins_see_everything_and_act_for_projects(world: dict[str, Any], neutron: ServiceClient) -> None:
    assert world["private"]["id"] in ids(neutron, "/networks", "networks")
    assert world["port"]["id"] in ids(neutron, f"/ports?network_id={world['private']['id']}", "ports")
    made = make_network(neutron, project_id=world["b"].project_id)
    assert made["project_id"] == world["b"].project_id
    assert made["id"] in ids(world["b"].neutron, "/networks", "networks")
    fault(neutron.get(f"/networks/{NO_SUCH}"), 404, "NetworkNotFound")


def test_readers_read_but_do_not_write(world: dict[str, Any], tenant: Callable[..., Tenant], neutron: ServiceClient) -> None:
    reader = tenant("reader")
    network = make_network(neutron, project_id=reader.project_id)
    assert ok(reader.neutron.get(f"/networks/{network['id']}"))["network"]["id"] == network["id"]
    fault(reader.neutron.post("/networks", json={"network": {}}), 403, "PolicyNotAuthorized")
    fault(reader.neutron.put(f"/networks/{network['id']}", json={"network": {"name": "x"}}), 403, "PolicyNotAuthorized")
    fault(reader.neutron.delete(f"/networks/{network['id']}"), 403, "PolicyNotAuthorized")

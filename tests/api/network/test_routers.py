"""Routers: gateways on external networks (enable_snat and external_fixed_ips are the
admin's), interfaces by subnet and by port, static routes, what keeps a router or its
interfaces in use, isolation between projects, quotas, the CLI and openstacksdk."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.network.conftest import (
    Tenant,
    add_interface,
    fault,
    make_external,
    make_network,
    make_port,
    make_router,
    make_subnet,
    ok,
)
from tests.conftest import ServiceClient, unique

NO_SUCH = "9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49"


@pytest.fixture(scope="module")
def public(neutron: ServiceClient) -> dict[str, Any]:
    return make_external(neutron, "172.24.4.0/24")


@pytest.fixture
def lan(alice: Tenant) -> dict[str, Any]:
    """A network of alice's with one IPv4 subnet (gateway 10.60.0.1)."""
    network = make_network(alice.neutron, name="lan")
    return {"network": network, "subnet": make_subnet(alice.neutron, network["id"], "10.60.0.0/24")}


def router_ports(admin: ServiceClient, router_id: str) -> list[dict[str, Any]]:
    return ok(admin.get(f"/ports?device_id={router_id}"))["ports"]


def count_routers(client: ServiceClient) -> int:
    return len(ok(client.get("/routers"))["routers"])


def test_router_with_a_gateway(alice: Tenant, neutron: ServiceClient, public: dict[str, Any]) -> None:
    router = make_router(alice.neutron, name="r1", external_gateway_info={"network_id": public["id"]})
    assert router["status"] == "ACTIVE" and router["admin_state_up"] is True
    assert router["project_id"] == alice.project_id and router["routes"] == []
    gateway = router["external_gateway_info"]
    assert gateway["network_id"] == public["id"] and gateway["enable_snat"] is True
    (fixed,) = gateway["external_fixed_ips"]
    assert fixed["subnet_id"] == public["subnet"]["id"] and fixed["ip_address"].startswith("172.24.4.")
    # distributed and ha are the admin's to read
    assert "distributed" not in router and "ha" not in router
    as_admin = ok(neutron.get(f"/routers/{router['id']}"))["router"]
    assert as_admin["distributed"] is False and as_admin["ha"] is False
    # the gateway port: the cloud's (no project), on the external network, hidden from alice
    (port,) = router_ports(neutron, router["id"])
    assert port["device_owner"] == "network:router_gateway" and port["project_id"] == ""
    assert port["network_id"] == public["id"] and port["status"] == "ACTIVE"
    assert port["fixed_ips"] == [fixed]
    assert router_ports(alice.neutron, router["id"]) == []

    renamed = ok(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"name": "r1b", "admin_state_up": False}}))["router"]
    assert renamed["name"] == "r1b" and renamed["admin_state_up"] is False
    assert renamed["revision_number"] > router["revision_number"]
    cleared = ok(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"external_gateway_info": {}}}))["router"]
    assert cleared["external_gateway_info"] is None
    assert router_ports(neutron, router["id"]) == []
    again = ok(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"external_gateway_info": {"network_id": public["id"]}}}))
    assert again["router"]["external_gateway_info"]["network_id"] == public["id"]
    ok(alice.neutron.delete(f"/routers/{router['id']}"), 204)
    fault(alice.neutron.get(f"/routers/{router['id']}"), 404, "RouterNotFound")
    assert router_ports(neutron, router["id"]) == []


def test_snat_and_gateway_addresses_are_the_admins(alice: Tenant, neutron: ServiceClient, public: dict[str, Any]) -> None:
    for gateway in (
        {"network_id": public["id"], "enable_snat": False},
        {"network_id": public["id"], "external_fixed_ips": [{"ip_address": "172.24.4.200"}]},
    ):
        fault(alice.neutron.post("/routers", json={"router": {"external_gateway_info": gateway}}), 403, "PolicyNotAuthorized")
    before = count_routers(neutron)
    chosen = {"network_id": public["id"], "enable_snat": False, "external_fixed_ips": [{"ip_address": "172.24.4.200"}]}
    router = make_router(neutron, project_id=alice.project_id, external_gateway_info=chosen)
    assert router["external_gateway_info"]["enable_snat"] is False
    assert router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == "172.24.4.200"
    # the address is taken: 409, and no second router is left behind
    taken = neutron.post("/routers", json={"router": {"external_gateway_info": chosen}})
    fault(taken, 409, "IpAddressAlreadyAllocated")
    assert count_routers(neutron) == before + 1
    # the subnet's own gateway address is refused
    gateway_ip = {"network_id": public["id"], "external_fixed_ips": [{"ip_address": "172.24.4.1"}]}
    assert "is the same as the gateway IP" in fault(neutron.post("/routers", json={"router": {"external_gateway_info": gateway_ip}}), 400)
    # re-addressing the gateway; setting it again without enable_snat turns SNAT back on
    moved = {"network_id": public["id"], "external_fixed_ips": [{"ip_address": "172.24.4.201"}]}
    updated = ok(neutron.put(f"/routers/{router['id']}", json={"router": {"external_gateway_info": moved}}))["router"]
    assert updated["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == "172.24.4.201"
    assert updated["external_gateway_info"]["enable_snat"] is True
    fault(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"external_gateway_info": chosen}}), 403, "PolicyNotAuthorized")
    ok(neutron.delete(f"/routers/{router['id']}"), 204)


def test_gateway_network_must_be_external(alice: Tenant, lan: dict[str, Any]) -> None:
    before = count_routers(alice.neutron)
    private = {"network_id": lan["network"]["id"]}
    message = fault(alice.neutron.post("/routers", json={"router": {"external_gateway_info": private}}), 400, "BadRequest")
    assert "is not an external network" in message
    fault(alice.neutron.post("/routers", json={"router": {"external_gateway_info": {"network_id": NO_SUCH}}}), 404, "NetworkNotFound")
    for bad in ({"network_id": "banana"}, {"enable_snat": True}, {"network_id": NO_SUCH, "color": "red"}, "public"):
        fault(alice.neutron.post("/routers", json={"router": {"external_gateway_info": bad}}), 400)
    assert count_routers(alice.neutron) == before


def test_router_attributes(alice: Tenant, neutron: ServiceClient) -> None:
    fault(alice.neutron.post("/routers", json={"router": {"distributed": True}}), 400)
    fault(alice.neutron.post("/routers", json={"router": {"status": "DOWN"}}), 400)
    fault(alice.neutron.post("/routers", json={"router": {"colour": "red"}}), 400)
    fault(alice.neutron.post("/routers", json={"router": {"availability_zone_hints": ["mars"]}}), 404, "AvailabilityZoneNotFound")
    router = make_router(alice.neutron, availability_zone_hints=["nova"], description="d", tags=["a"])
    assert router["availability_zone_hints"] == ["nova"] and router["tags"] == ["a"] and router["description"] == "d"
    ok(alice.neutron.put(f"/routers/{router['id']}/tags/b"), 201)
    assert ok(alice.neutron.get("/routers?tags=a,b&fields=id&fields=name"))["routers"] == [{"id": router["id"], "name": "router"}]
    fault(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"availability_zone_hints": []}}), 400)
    stale = alice.neutron.put(f"/routers/{router['id']}", json={"router": {"name": "x"}}, headers={"If-Match": "revision_number=0"})
    fault(stale, 412, "RevisionNumberConstraintFailed")
    ok(alice.neutron.delete(f"/routers/{router['id']}"), 204)
    fault(alice.neutron.delete(f"/routers/{router['id']}"), 404, "RouterNotFound")
    fault(alice.neutron.put(f"/routers/{NO_SUCH}", json={"router": {"name": "x"}}), 404, "RouterNotFound")


def test_interfaces_by_subnet(alice: Tenant, neutron: ServiceClient, lan: dict[str, Any]) -> None:
    router = make_router(alice.neutron)
    subnet = lan["subnet"]
    interface = add_interface(alice.neutron, router["id"], subnet_id=subnet["id"])
    assert interface["id"] == router["id"] and interface["subnet_id"] == subnet["id"] and interface["subnet_ids"] == [subnet["id"]]
    assert interface["network_id"] == lan["network"]["id"] and interface["project_id"] == alice.project_id
    port = ok(alice.neutron.get(f"/ports/{interface['port_id']}"))["port"]
    assert port["device_owner"] == "network:router_interface" and port["device_id"] == router["id"]
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.60.0.1"}] and port["status"] == "ACTIVE"
    assert port["security_groups"] == [] and port["project_id"] == alice.project_id

    # the same subnet again; another network's subnet that overlaps it
    again = alice.neutron.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]})
    assert "Router already has a port on subnet" in fault(again, 400, "BadRequest")
    twin = make_network(alice.neutron)
    twin_subnet = make_subnet(alice.neutron, twin["id"], "10.60.0.128/25")
    overlap = alice.neutron.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": twin_subnet["id"]})
    assert "overlaps" in fault(overlap, 400, "BadRequest")
    # no gateway on the subnet; its gateway address already taken
    gatewayless = make_subnet(alice.neutron, twin["id"], "10.61.0.0/24", gateway_ip=None)
    reply = alice.neutron.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": gatewayless["id"]})
    assert "must have a gateway IP" in fault(reply, 400, "BadRequest")
    busy = make_subnet(alice.neutron, twin["id"], "10.62.0.0/24")
    make_port(alice.neutron, twin["id"], fixed_ips=[{"ip_address": "10.62.0.1"}])
    before = len(ok(alice.neutron.get("/ports"))["ports"])
    fault(
        alice.neutron.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": busy["id"]}), 409, "IpAddressAlreadyAllocated"
    )
    assert len(ok(alice.neutron.get("/ports"))["ports"]) == before
    fault(alice.neutron.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": NO_SUCH}), 404, "SubnetNotFound")

    # what the interface keeps in use
    assert "has ports still attached" in fault(alice.neutron.delete(f"/routers/{router['id']}"), 409, "RouterInUse")
    fault(alice.neutron.delete(f"/subnets/{subnet['id']}"), 409, "SubnetInUse")
    fault(alice.neutron.delete(f"/networks/{lan['network']['id']}"), 409, "NetworkInUse")
    fault(alice.neutron.delete(f"/ports/{port['id']}"), 409, "ServicePortInUse")

    removed = ok(alice.neutron.put(f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": subnet["id"]}))
    assert removed["port_id"] == port["id"] and removed["subnet_id"] == subnet["id"]
    fault(alice.neutron.get(f"/ports/{port['id']}"), 404, "PortNotFound")
    gone = alice.neutron.put(f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": subnet["id"]})
    fault(gone, 404, "RouterInterfaceNotFoundForSubnet")
    ok(alice.neutron.delete(f"/routers/{router['id']}"), 204)


def test_interfaces_by_port(alice: Tenant, lan: dict[str, Any]) -> None:
    router = make_router(alice.neutron)
    network_id = lan["network"]["id"]
    port = make_port(alice.neutron, network_id, fixed_ips=[{"ip_address": "10.60.0.50"}])
    interface = add_interface(alice.neutron, router["id"], port_id=port["id"])
    assert interface["port_id"] == port["id"] and interface["subnet_id"] == lan["subnet"]["id"]
    shown = ok(alice.neutron.get(f"/ports/{port['id']}"))["port"]
    assert shown["device_id"] == router["id"] and shown["device_owner"] == "network:router_interface"
    assert [p["id"] for p in ok(alice.neutron.get(f"/ports?device_id={router['id']}"))["ports"]] == [port["id"]]

    other = make_router(alice.neutron)
    fault(alice.neutron.put(f"/routers/{other['id']}/add_router_interface", json={"port_id": port["id"]}), 409, "PortInUse")
    bare = make_port(alice.neutron, network_id, fixed_ips=[])
    reply = alice.neutron.put(f"/routers/{other['id']}/add_router_interface", json={"port_id": bare["id"]})
    assert "must have at least one fixed IP" in fault(reply, 400, "BadRequest")
    assert ok(alice.neutron.get(f"/ports/{bare['id']}"))["port"]["device_id"] == ""
    for body in ({}, {"subnet_id": lan["subnet"]["id"], "port_id": port["id"]}, {"port_id": "banana"}):
        fault(alice.neutron.put(f"/routers/{other['id']}/add_router_interface", json=body), 400, "BadRequest")

    mismatch = {"port_id": port["id"], "subnet_id": NO_SUCH}
    fault(alice.neutron.put(f"/routers/{router['id']}/remove_router_interface", json=mismatch), 400, "SubnetMismatchForPort")
    stranger = {"port_id": bare["id"]}
    fault(alice.neutron.put(f"/routers/{router['id']}/remove_router_interface", json=stranger), 404, "RouterInterfaceNotFound")
    ok(alice.neutron.put(f"/routers/{router['id']}/remove_router_interface", json={"port_id": port["id"]}))
    # Neutron deletes the port, whichever way the interface is removed
    fault(alice.neutron.get(f"/ports/{port['id']}"), 404, "PortNotFound")
    for each in (router, other):
        ok(alice.neutron.delete(f"/routers/{each['id']}"), 204)


def test_two_interfaces_and_static_routes(alice: Tenant, neutron: ServiceClient, public: dict[str, Any]) -> None:
    router = make_router(alice.neutron, external_gateway_info={"network_id": public["id"]})
    subnets = []
    for cidr in ("10.70.0.0/24", "10.71.0.0/24"):
        network = make_network(alice.neutron)
        subnets.append(make_subnet(alice.neutron, network["id"], cidr))
        add_interface(alice.neutron, router["id"], subnet_id=subnets[-1]["id"])
    routes = [{"destination": "192.168.10.0/24", "nexthop": "10.70.0.5"}, {"destination": "192.168.11.0/24", "nexthop": "172.24.4.77"}]
    updated = ok(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"routes": routes}}))["router"]
    assert updated["routes"] == routes
    for bad, reason in (
        ([{"destination": "192.168.12.0/24", "nexthop": "10.99.0.5"}], "the nexthop is not connected with router"),
        ([{"destination": "192.168.12.0/24", "nexthop": "10.70.0.1"}], "the nexthop is used by router"),
    ):
        message = fault(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"routes": bad}}), 400, "InvalidRoutes")
        assert reason in message
    for malformed in ([{"destination": "192.168.12.1/24", "nexthop": "10.70.0.5"}], [{"nexthop": "10.70.0.5"}], "x"):
        fault(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"routes": malformed}}), 400)
    # a route's nexthop keeps its interface (and the gateway) in place
    reply = alice.neutron.put(f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": subnets[0]["id"]})
    fault(reply, 409, "RouterInterfaceInUseByRoute")
    reply = alice.neutron.put(f"/routers/{router['id']}", json={"router": {"external_gateway_info": None}})
    assert "the nexthop is not connected with router" in fault(reply, 400, "InvalidRoutes")
    # extraroute-atomic
    extra = {"router": {"routes": [{"destination": "192.168.20.0/24", "nexthop": "10.71.0.9"}]}}
    added = ok(alice.neutron.put(f"/routers/{router['id']}/add_extraroutes", json=extra))["router"]
    assert len(added["routes"]) == 3
    removed = ok(alice.neutron.put(f"/routers/{router['id']}/remove_extraroutes", json={"router": {"routes": routes}}))["router"]
    assert removed["routes"] == extra["router"]["routes"]
    cleared = ok(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"routes": None}}))["router"]
    assert cleared["routes"] == []
    for subnet in subnets:
        ok(alice.neutron.put(f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": subnet["id"]}))
    # a route through the gateway does not keep the router: it goes with it
    via_gateway = [{"destination": "192.168.30.0/24", "nexthop": "172.24.4.78"}]
    assert ok(alice.neutron.put(f"/routers/{router['id']}", json={"router": {"routes": via_gateway}}))["router"]["routes"] == via_gateway
    ok(alice.neutron.delete(f"/routers/{router['id']}"), 204)


def test_external_network_in_use_by_gateways(neutron: ServiceClient, alice: Tenant) -> None:
    external = make_external(neutron, "198.51.100.0/24", name=unique("ext"))
    router = make_router(alice.neutron, external_gateway_info={"network_id": external["id"]})
    reply = neutron.put(f"/networks/{external['id']}", json={"network": {"router:external": False}})
    fault(reply, 409, "ExternalNetworkInUse")
    fault(neutron.delete(f"/networks/{external['id']}"), 409, "NetworkInUse")
    fault(neutron.delete(f"/subnets/{external['subnet']['id']}"), 409, "SubnetInUse")
    ok(alice.neutron.delete(f"/routers/{router['id']}"), 204)
    ok(neutron.delete(f"/networks/{external['id']}"), 204)


def test_projects_do_not_see_each_others_routers(alice: Tenant, bob: Tenant, lan: dict[str, Any]) -> None:
    router = make_router(alice.neutron, name="alices")
    assert router["id"] not in [r["id"] for r in ok(bob.neutron.get("/routers"))["routers"]]
    fault(bob.neutron.get(f"/routers/{router['id']}"), 404, "RouterNotFound")
    fault(bob.neutron.put(f"/routers/{router['id']}", json={"router": {"name": "mine"}}), 404, "RouterNotFound")
    fault(bob.neutron.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": lan["subnet"]["id"]}), 404, "RouterNotFound")
    fault(bob.neutron.delete(f"/routers/{router['id']}"), 404, "RouterNotFound")
    # bob's router cannot join alice's subnet or port: they do not exist for him
    bobs = make_router(bob.neutron)
    fault(bob.neutron.put(f"/routers/{bobs['id']}/add_router_interface", json={"subnet_id": lan["subnet"]["id"]}), 404, "SubnetNotFound")
    port = make_port(alice.neutron, lan["network"]["id"])
    fault(bob.neutron.put(f"/routers/{bobs['id']}/add_router_interface", json={"port_id": port["id"]}), 404, "PortNotFound")
    ok(alice.neutron.delete(f"/routers/{router['id']}"), 204)
    ok(bob.neutron.delete(f"/routers/{bobs['id']}"), 204)


def test_reader_reads_but_does_not_change(tenant: Callable[..., Tenant], neutron: ServiceClient) -> None:
    reader = tenant("reader")
    router = make_router(neutron, project_id=reader.project_id)
    assert ok(reader.neutron.get(f"/routers/{router['id']}"))["router"]["id"] == router["id"]
    fault(reader.neutron.put(f"/routers/{router['id']}", json={"router": {"name": "x"}}), 403, "PolicyNotAuthorized")
    fault(reader.neutron.post("/routers", json={"router": {}}), 403, "PolicyNotAuthorized")
    ok(neutron.delete(f"/routers/{router['id']}"), 204)


def test_router_quota(tenant: Callable[..., Tenant], neutron: ServiceClient) -> None:
    carol = tenant()
    ok(neutron.put(f"/quotas/{carol.project_id}", json={"quota": {"router": 1}}))
    make_router(carol.neutron)
    fault(carol.neutron.post("/routers", json={"router": {}}), 409, "OverQuota")
    details = ok(neutron.get(f"/quotas/{carol.project_id}/details"))["quota"]["router"]
    assert details == {"limit": 1, "used": 1, "reserved": 0}


def test_cli_router_walkthrough(alice: Tenant, network_osc: Any, public: dict[str, Any]) -> None:
    env = alice.env()
    name = unique("cli-router")
    network = unique("cli-net")
    network_osc("network", "create", network, env=env)
    network_osc("subnet", "create", network + "-sub", "--network", network, "--subnet-range", "10.80.0.0/24", env=env)
    network_osc("router", "create", name, env=env)
    network_osc("router", "set", name, "--external-gateway", public["id"], env=env)
    network_osc("router", "add", "subnet", name, network + "-sub", env=env)
    network_osc("router", "set", name, "--route", "destination=192.168.50.0/24,gateway=10.80.0.9", env=env)
    shown = network_osc("router", "show", name, "-f", "json", env=env).stdout
    assert public["id"] in shown and "192.168.50.0/24" in shown and "ACTIVE" in shown
    interfaces = network_osc("port", "list", "--router", name, "-f", "value", "-c", "Fixed IP Addresses", env=env).stdout
    assert "10.80.0.1" in interfaces
    network_osc("router", "unset", name, "--route", "destination=192.168.50.0/24,gateway=10.80.0.9", env=env)
    network_osc("router", "remove", "subnet", name, network + "-sub", env=env)
    network_osc("router", "unset", name, "--external-gateway", env=env)
    assert '"external_gateway_info": null' in network_osc("router", "show", name, "-f", "json", env=env).stdout
    network_osc("router", "delete", name, env=env)
    network_osc("network", "delete", network, env=env)
    assert name not in network_osc("router", "list", "-f", "value", "-c", "Name", env=env).stdout


def test_cli_admin_gateway_and_port_interface(network_osc: Any, public: dict[str, Any]) -> None:
    name = unique("cli-admin-router")
    network_osc(
        "router", "create", name, "--external-gateway", public["id"], "--disable-snat",
        "--fixed-ip", f"subnet={public['subnet']['id']},ip-address=172.24.4.150",
    )  # fmt: skip
    gateway = json.loads(network_osc("router", "show", name, "-f", "json", "-c", "external_gateway_info").stdout)
    info = gateway["external_gateway_info"]
    assert info["enable_snat"] is False and info["external_fixed_ips"][0]["ip_address"] == "172.24.4.150"
    network = unique("cli-net")
    network_osc("network", "create", network)
    network_osc("subnet", "create", network + "-sub", "--network", network, "--subnet-range", "10.82.0.0/24")
    port = network_osc("port", "create", "--network", network, unique("cli-port"), "-f", "value", "-c", "id").stdout.strip()
    network_osc("router", "add", "port", name, port)
    assert network_osc("port", "show", port, "-f", "value", "-c", "device_owner").stdout.strip() == "network:router_interface"
    network_osc("router", "remove", "port", name, port)
    network_osc("router", "delete", name)
    network_osc("network", "delete", network)


def test_sdk_router(network_sdk: Any, public: dict[str, Any]) -> None:
    conn = network_sdk
    network = conn.network.create_network(name=unique("sdk-net"))
    subnet = conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.81.0.0/24")
    router = conn.network.create_router(name=unique("sdk-router"), external_gateway_info={"network_id": public["id"]})
    assert router.external_gateway_info["network_id"] == public["id"] and router.status == "ACTIVE"
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    assert [p.device_id for p in conn.network.ports(device_owner="network:router_interface", network_id=network.id)] == [router.id]
    conn.network.update_router(router, name="renamed")
    assert conn.network.find_router("renamed").id == router.id
    conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
    conn.network.delete_router(router)
    assert conn.network.find_router(router.id) is None
    conn.network.delete_network(network)

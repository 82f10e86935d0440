"""Floating IPs: allocation from an external network (its address is a port of the
cloud's), association with a port behind a router with a gateway there, the choice of
fixed address, what an association keeps in use, disassociation when the port goes,
pools, isolation, quotas, the CLI and openstacksdk."""

from __future__ import annotations

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
    return make_external(neutron, "172.25.0.0/24")


@pytest.fixture(scope="module")
def site(alice: Tenant, public: dict[str, Any]) -> dict[str, Any]:
    """alice's network 10.90.0.0/24 behind her router, whose gateway is on `public`."""
    network = make_network(alice.neutron, name="site")
    subnet = make_subnet(alice.neutron, network["id"], "10.90.0.0/24")
    router = make_router(alice.neutron, external_gateway_info={"network_id": public["id"]})
    add_interface(alice.neutron, router["id"], subnet_id=subnet["id"])
    return {"network": network, "subnet": subnet, "router": router}


def allocate(client: ServiceClient, network_id: str, **fields: Any) -> dict[str, Any]:
    return ok(client.post("/floatingips", json={"floatingip": {"floating_network_id": network_id, **fields}}), 201)["floatingip"]


def update(client: ServiceClient, fip_id: str, **fields: Any) -> dict[str, Any]:
    return ok(client.put(f"/floatingips/{fip_id}", json={"floatingip": fields}))["floatingip"]


def test_allocate_associate_disassociate(alice: Tenant, neutron: ServiceClient, public: dict[str, Any], site: dict[str, Any]) -> None:
    fip = allocate(alice.neutron, public["id"], description="web")
    assert fip["floating_ip_address"].startswith("172.25.0.") and fip["floating_network_id"] == public["id"]
    assert fip["status"] == "DOWN" and fip["port_id"] is None and fip["fixed_ip_address"] is None and fip["router_id"] is None
    assert fip["port_details"] is None and fip["project_id"] == alice.project_id and fip["description"] == "web"
    assert not any(key.startswith("dns_") for key in fip)
    # the address is held by a port of the cloud's on the external network
    (holder,) = ok(neutron.get(f"/ports?device_id={fip['id']}"))["ports"]
    assert holder["device_owner"] == "network:floatingip" and holder["project_id"] == "" and holder["status"] == "N/A"
    assert holder["fixed_ips"][0]["ip_address"] == fip["floating_ip_address"]
    fault(neutron.delete(f"/ports/{holder['id']}"), 409, "ServicePortInUse")

    port = make_port(alice.neutron, site["network"]["id"], name="vm")
    associated = update(alice.neutron, fip["id"], port_id=port["id"])
    assert associated["port_id"] == port["id"] and associated["router_id"] == site["router"]["id"]
    assert associated["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"] and associated["status"] == "ACTIVE"
    details = associated["port_details"]
    assert details["name"] == "vm" and details["network_id"] == site["network"]["id"] and details["mac_address"] == port["mac_address"]
    assert set(details) == {"name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner"}
    listed = ok(alice.neutron.get(f"/floatingips?port_id={port['id']}"))["floatingips"]
    assert [f["id"] for f in listed] == [fip["id"]]
    # a description-only update keeps the association
    assert update(alice.neutron, fip["id"], description="still web")["port_id"] == port["id"]

    disassociated = update(alice.neutron, fip["id"], port_id=None)
    assert disassociated["port_id"] is None and disassociated["router_id"] is None and disassociated["fixed_ip_address"] is None
    assert disassociated["status"] == "DOWN" and disassociated["port_details"] is None
    ok(alice.neutron.delete(f"/floatingips/{fip['id']}"), 204)
    fault(alice.neutron.get(f"/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    fault(neutron.get(f"/ports/{holder['id']}"), 404, "PortNotFound")


def test_allocation_mistakes(alice: Tenant, public: dict[str, Any], site: dict[str, Any]) -> None:
    before = len(ok(alice.neutron.get("/floatingips"))["floatingips"])
    message = fault(alice.neutron.post("/floatingips", json={"floatingip": {"floating_network_id": site["network"]["id"]}}), 400)
    assert "is not a valid external network" in message
    fault(alice.neutron.post("/floatingips", json={"floatingip": {"floating_network_id": NO_SUCH}}), 404, "NetworkNotFound")
    lonely = {"floating_network_id": public["id"], "fixed_ip_address": "10.90.0.5"}
    assert "without a port_id" in fault(alice.neutron.post("/floatingips", json={"floatingip": lonely}), 400, "BadRequest")
    chosen = {"floating_network_id": public["id"], "floating_ip_address": "172.25.0.99"}
    fault(alice.neutron.post("/floatingips", json={"floatingip": chosen}), 403, "PolicyNotAuthorized")
    for bad in ({"floating_network_id": "x"}, {}, {"floating_network_id": public["id"], "router_id": NO_SUCH}):
        fault(alice.neutron.post("/floatingips", json={"floatingip": bad}), 400)
    # a port no router joins to the external network: 404, and no floating IP is left
    island = make_network(alice.neutron)
    make_subnet(alice.neutron, island["id"], "10.91.0.0/24")
    stranded = make_port(alice.neutron, island["id"])
    body = {"floating_network_id": public["id"], "port_id": stranded["id"]}
    fault(alice.neutron.post("/floatingips", json={"floatingip": body}), 404, "ExternalGatewayForFloatingIPNotFound")
    assert len(ok(alice.neutron.get("/floatingips"))["floatingips"]) == before


def test_chosen_address_and_subnet(neutron: ServiceClient, alice: Tenant, public: dict[str, Any]) -> None:
    fip = allocate(neutron, public["id"], floating_ip_address="172.25.0.99", project_id=alice.project_id)
    assert fip["floating_ip_address"] == "172.25.0.99" and fip["project_id"] == alice.project_id
    fault(
        neutron.post("/floatingips", json={"floatingip": {"floating_network_id": public["id"], "floating_ip_address": "172.25.0.99"}}), 409
    )
    outside = {"floating_network_id": public["id"], "floating_ip_address": "10.1.1.1"}
    fault(neutron.post("/floatingips", json={"floatingip": outside}), 400, "InvalidIpForNetwork")
    by_subnet = allocate(alice.neutron, public["id"], subnet_id=public["subnet"]["id"])
    assert by_subnet["floating_ip_address"].startswith("172.25.0.")
    for each in (fip, by_subnet):
        ok(alice.neutron.delete(f"/floatingips/{each['id']}"), 204)
    # the address is free again
    again = allocate(neutron, public["id"], floating_ip_address="172.25.0.99")
    ok(neutron.delete(f"/floatingips/{again['id']}"), 204)


def test_fixed_address_choice(alice: Tenant, public: dict[str, Any], site: dict[str, Any]) -> None:
    port = make_port(alice.neutron, site["network"]["id"], fixed_ips=[{"ip_address": "10.90.0.21"}, {"ip_address": "10.90.0.22"}])
    fip = allocate(alice.neutron, public["id"])
    several = alice.neutron.put(f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": port["id"]}})
    assert "multiple fixed IPv4 addresses" in fault(several, 400, "BadRequest")
    missing = alice.neutron.put(f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": port["id"], "fixed_ip_address": "10.90.0.23"}})
    assert "does not have fixed ip" in fault(missing, 400, "BadRequest")
    first = update(alice.neutron, fip["id"], port_id=port["id"], fixed_ip_address="10.90.0.21")
    assert first["fixed_ip_address"] == "10.90.0.21"
    moved = update(alice.neutron, fip["id"], port_id=port["id"], fixed_ip_address="10.90.0.22")
    assert moved["fixed_ip_address"] == "10.90.0.22"
    # one floating IP per fixed address on an external network
    body = {"floating_network_id": public["id"], "port_id": port["id"], "fixed_ip_address": "10.90.0.22"}
    fault(alice.neutron.post("/floatingips", json={"floatingip": body}), 409, "FloatingIPPortAlreadyAssociated")
    second = allocate(alice.neutron, public["id"], port_id=port["id"], fixed_ip_address="10.90.0.21")
    assert second["router_id"] == site["router"]["id"]
    # the translated address stays on the port
    reply = alice.neutron.put(f"/ports/{port['id']}", json={"port": {"fixed_ips": [{"ip_address": "10.90.0.21"}]}})
    assert "has been associated to a floating ip" in fault(reply, 400, "BadRequest")
    # the port goes: its floating IPs are left unassociated
    ok(alice.neutron.delete(f"/ports/{port['id']}"), 204)
    for each in (fip, second):
        shown = ok(alice.neutron.get(f"/floatingips/{each['id']}"))["floatingip"]
        assert shown["port_id"] is None and shown["fixed_ip_address"] is None and shown["router_id"] is None
        assert shown["status"] == "DOWN"
        ok(alice.neutron.delete(f"/floatingips/{each['id']}"), 204)


def test_association_keeps_the_path_in_use(alice: Tenant, public: dict[str, Any]) -> None:
    network = make_network(alice.neutron)
    subnet = make_subnet(alice.neutron, network["id"], "10.92.0.0/24")
    router = make_router(alice.neutron, external_gateway_info={"network_id": public["id"]})
    add_interface(alice.neutron, router["id"], subnet_id=subnet["id"])
    port = make_port(alice.neutron, network["id"])
    fip = allocate(alice.neutron, public["id"], port_id=port["id"])
    assert fip["router_id"] == router["id"] and fip["status"] == "ACTIVE"
    interface = alice.neutron.put(f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": subnet["id"]})
    fault(interface, 409, "RouterInterfaceInUseByFloatingIP")
    gateway = alice.neutron.put(f"/routers/{router['id']}", json={"router": {"external_gateway_info": {}}})
    fault(gateway, 409, "RouterExternalGatewayInUseByFloatingIp")
    update(alice.neutron, fip["id"], port_id=None)
    ok(alice.neutron.put(f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": subnet["id"]}))
    # without the interface the port cannot be reached from outside any more
    reply = alice.neutron.put(f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": port["id"]}})
    fault(reply, 404, "ExternalGatewayForFloatingIPNotFound")
    ok(alice.neutron.delete(f"/floatingips/{fip['id']}"), 204)
    ok(alice.neutron.delete(f"/routers/{router['id']}"), 204)


def test_deleting_an_external_network_takes_its_unassociated_floating_ips(neutron: ServiceClient, alice: Tenant) -> None:
    external = make_external(neutron, "198.18.0.0/24", name=unique("ext"))
    fip = allocate(alice.neutron, external["id"])
    ok(neutron.delete(f"/networks/{external['id']}"), 204)
    fault(alice.neutron.get(f"/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")


def test_pools(alice: Tenant, public: dict[str, Any], site: dict[str, Any]) -> None:
    pools = ok(alice.neutron.get("/floatingip_pools"))["floatingip_pools"]
    mine = [pool for pool in pools if pool["network_id"] == public["id"]]
    assert mine == [
        {
            "subnet_id": public["subnet"]["id"],
            "subnet_name": public["subnet"]["name"],
            "network_id": public["id"],
            "cidr": "172.25.0.0/24",
            "project_id": alice.project_id,
        }
    ]
    assert all(pool["network_id"] != site["network"]["id"] for pool in pools)


def test_projects_do_not_see_each_others_floating_ips(alice: Tenant, bob: Tenant, public: dict[str, Any], site: dict[str, Any]) -> None:
    fip = allocate(alice.neutron, public["id"])
    assert fip["id"] not in [f["id"] for f in ok(bob.neutron.get("/floatingips"))["floatingips"]]
    fault(bob.neutron.get(f"/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    fault(bob.neutron.put(f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}}), 404, "FloatingIPNotFound")
    fault(bob.neutron.delete(f"/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    # bob cannot point his floating IP at alice's port: it does not exist for him
    port = make_port(alice.neutron, site["network"]["id"])
    bobs = allocate(bob.neutron, public["id"])
    fault(bob.neutron.put(f"/floatingips/{bobs['id']}", json={"floatingip": {"port_id": port["id"]}}), 404, "PortNotFound")
    for each, client in ((fip, alice.neutron), (bobs, bob.neutron)):
        ok(client.delete(f"/floatingips/{each['id']}"), 204)


def test_floating_ip_quota(tenant: Callable[..., Tenant], neutron: ServiceClient, public: dict[str, Any]) -> None:
    carol = tenant()
    ok(neutron.put(f"/quotas/{carol.project_id}", json={"quota": {"floatingip": 1}}))
    allocate(carol.neutron, public["id"])
    fault(carol.neutron.post("/floatingips", json={"floatingip": {"floating_network_id": public["id"]}}), 409, "OverQuota")
    details = ok(neutron.get(f"/quotas/{carol.project_id}/details"))["quota"]
    # a floating IP counts once, as a floating IP: its address port belongs to nobody
    assert details["floatingip"]["used"] == 1 and details["port"]["used"] == 0


def test_cli_floating_ip(alice: Tenant, network_osc: Any, public: dict[str, Any], site: dict[str, Any]) -> None:
    env = alice.env()
    port = make_port(alice.neutron, site["network"]["id"], name=unique("cli-port"))
    created = network_osc("floating", "ip", "create", public["id"], "-f", "value", "-c", "id", env=env).stdout.strip()
    network_osc("floating", "ip", "set", created, "--port", port["id"], env=env)
    shown = network_osc("floating", "ip", "show", created, "-f", "json", env=env).stdout
    assert port["id"] in shown and port["fixed_ips"][0]["ip_address"] in shown and site["router"]["id"] in shown
    listed = network_osc("floating", "ip", "list", "--port", port["id"], "-f", "value", "-c", "ID", env=env).stdout.split()
    assert listed == [created]
    network_osc("floating", "ip", "unset", "--port", created, env=env)
    assert '"port_id": null' in network_osc("floating", "ip", "show", created, "-f", "json", env=env).stdout
    network_osc("floating", "ip", "delete", created, env=env)
    assert created not in network_osc("floating", "ip", "list", "-f", "value", "-c", "ID", env=env).stdout


def test_sdk_floating_ip(network_sdk: Any, neutron: ServiceClient, public: dict[str, Any]) -> None:
    conn = network_sdk
    network = conn.network.create_network(name=unique("sdk-net"))
    subnet = conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.93.0.0/24")
    router = conn.network.create_router(external_gateway_info={"network_id": public["id"]})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    port = conn.network.create_port(network_id=network.id)
    fip = conn.network.create_ip(floating_network_id=public["id"], port_id=port.id)
    assert fip.port_id == port.id and fip.router_id == router.id and fip.fixed_ip_address == port.fixed_ips[0]["ip_address"]
    assert [ip.id for ip in conn.network.ips(port_id=port.id)] == [fip.id]
    conn.network.update_ip(fip, port_id=None)
    assert conn.network.get_ip(fip.id).port_id is None
    conn.network.delete_ip(fip)
    conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
    conn.network.delete_router(router)
    conn.network.delete_port(port)
    conn.network.delete_network(network)

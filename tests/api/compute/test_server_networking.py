"""Servers with the networking service (fake hypervisor, no dataplane): ports made in the
boot's transaction and bound to the host, `addresses` and /ips, "auto" picking the one
network (or, with none, the project's auto-allocated one), a port brought by the caller kept (unbound) when the server goes, ports made
for the server deleted with it, and Nova's refusals."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pocketstack.testing.server import LiveCloud
from tests.api.compute.helpers import LATEST, mv, wait_for, wait_gone
from tests.conftest import Identity, ServiceClient, admin_identity, project_member


@pytest.fixture(scope="module")
def user(net_cloud: LiveCloud) -> Identity:
    admin = admin_identity(net_cloud)
    _, _, identity = project_member(net_cloud, admin)
    return identity


def network(neutron: ServiceClient, name: str, cidr: str) -> dict[str, Any]:
    net = neutron.post("/v2.0/networks", json={"network": {"name": name}}).json()["network"]
    subnet = neutron.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"], "cidr": cidr, "ip_version": 4}})
    assert subnet.status_code == 201, subnet.text
    return net


def boot(nova: ServiceClient, net_image: str, networks: Any, version: str = "latest") -> Any:
    body = {"name": f"n-{uuid.uuid4().hex[:6]}", "imageRef": net_image, "flavorRef": "1", "networks": networks}
    return nova.post("/servers", json={"server": body}, headers=mv(version))


def test_ports_addresses_and_cleanup(net_cloud: LiveCloud, user: Identity, net_image: str) -> None:
    nova, neutron = user.service("/compute/v2.1"), user.service("/networking")
    net = network(neutron, "net1", "10.20.0.0/24")
    reply = boot(nova, net_image, "auto")  # the project's one network
    assert reply.status_code == 202, reply.text
    sid = reply.json()["server"]["id"]
    server = wait_for(nova, sid, "ACTIVE")
    (entry,) = server["addresses"]["net1"]
    assert entry["addr"].startswith("10.20.0.") and entry["OS-EXT-IPS:type"] == "fixed"
    assert nova.get(f"/servers/{sid}/ips").json() == {"addresses": {"net1": [{"version": 4, "addr": entry["addr"]}]}}
    assert nova.get(f"/servers/{sid}/ips/net1").status_code == 200 and nova.get(f"/servers/{sid}/ips/other").status_code == 404
    # Nova's ip filter: a regex over the servers' port addresses
    assert [s["id"] for s in nova.get("/servers?ip=^10\\.20\\.0\\.").json()["servers"]] == [sid]
    assert nova.get("/servers?ip=^10\\.99\\.").json()["servers"] == []
    (port,) = neutron.get(f"/v2.0/ports?device_id={sid}").json()["ports"]
    assert port["mac_address"] == entry["OS-EXT-IPS-MAC:mac_addr"] and port["device_owner"] == "compute:nova"
    bound = admin_identity(net_cloud).service("/networking").get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert bound["binding:host_id"] and bound["binding:vif_type"] == "bridge"

    brought = neutron.post("/v2.0/ports", json={"port": {"network_id": net["id"]}}).json()["port"]
    second = boot(nova, net_image, [{"port": brought["id"]}])
    assert second.status_code == 202, second.text
    sid2 = second.json()["server"]["id"]
    wait_for(nova, sid2, "ACTIVE")
    assert neutron.get(f"/v2.0/ports/{brought['id']}").json()["port"]["device_id"] == sid2
    assert boot(nova, net_image, [{"port": brought["id"]}]).status_code == 409  # in use

    for server_id in (sid, sid2):
        nova.delete(f"/servers/{server_id}")
        wait_gone(nova, server_id)
    assert neutron.get(f"/v2.0/ports/{port['id']}").status_code == 404  # made for the server: gone
    kept = admin_identity(net_cloud).service("/networking").get(f"/v2.0/ports/{brought['id']}").json()["port"]
    assert kept["device_id"] == "" and kept["binding:host_id"] == ""  # brought by the caller: kept, unbound
    neutron.delete(f"/v2.0/ports/{brought['id']}")


def test_refusals(user: Identity, net_image: str) -> None:
    nova, neutron = user.service("/compute/v2.1"), user.service("/networking")
    network(neutron, "a", "10.30.0.0/24")
    network(neutron, "b", "10.31.0.0/24")
    assert boot(nova, net_image, "auto").status_code == 409  # which one?
    assert boot(nova, net_image, [{"uuid": str(uuid.uuid4())}]).status_code == 400
    assert boot(nova, net_image, [{"port": str(uuid.uuid4())}]).status_code == 400
    assert nova.get("/servers", headers=LATEST).json()["servers"] == []


def test_network_proxies_show_the_networks_the_project_sees(net_cloud: LiveCloud, user: Identity) -> None:
    """os-networks and os-tenant-networks (Nova's proxies, up to 2.35) over Neutron's networks."""
    nova, neutron = user.service("/compute/v2.1"), user.service("/networking")
    mine = network(neutron, "proxied", "10.50.0.0/24")
    _, _, stranger = project_member(net_cloud, admin_identity(net_cloud))
    theirs = network(stranger.service("/networking"), "theirs", "10.51.0.0/24")
    tenant = nova.get("/os-tenant-networks", headers=mv("2.35")).json()["networks"]
    assert {"id": mine["id"], "cidr": "None", "label": "proxied"} in tenant
    assert theirs["id"] not in [n["id"] for n in tenant]
    assert nova.get(f"/os-tenant-networks/{mine['id']}").json()["network"]["label"] == "proxied"
    assert nova.get(f"/os-tenant-networks/{theirs['id']}").status_code == 404
    assert nova.get("/os-tenant-networks", headers=mv("2.36")).status_code == 404
    assert mine["id"] in [n["id"] for n in nova.get("/os-networks").json()["networks"]]
    assert nova.get(f"/os-networks/{mine['id']}").json()["network"]["label"] == "proxied"


def test_auto_boots_a_project_without_networks_on_its_auto_allocated_network(net_cloud: LiveCloud, net_image: str) -> None:
    """Nova's "get me a network" (2.37's "auto"): the project has no network, the cloud has
    a default external network and a default subnet pool, so the server gets a port on the
    project's auto-allocated network, made in the boot; the next boot uses it too."""
    admin = admin_identity(net_cloud).service("/networking/v2.0")
    _, _, fresh = project_member(net_cloud, admin_identity(net_cloud))
    nova, neutron = fresh.service("/compute/v2.1"), fresh.service("/networking")
    # before the cloud has its defaults: no NIC, as before
    bare = boot(nova, net_image, "auto")
    assert bare.status_code == 202, bare.text
    assert wait_for(nova, bare.json()["server"]["id"], "ACTIVE")["addresses"] == {}
    public = admin.post("/networks", json={"network": {"name": "public", "router:external": True, "is_default": True}}).json()["network"]
    admin.post("/subnets", json={"subnet": {"network_id": public["id"], "cidr": "172.24.4.0/24", "ip_version": 4}})
    pool_body = {"name": "default", "prefixes": ["10.128.0.0/16"], "default_prefixlen": 26, "shared": True, "is_default": True}
    pool = admin.post("/subnetpools", json={"subnetpool": pool_body}).json()["subnetpool"]
    try:
        # an absent `networks` (before 2.37) still means no NIC: Nova auto-allocates for "auto" only
        body = {"name": "old", "imageRef": net_image, "flavorRef": "1"}
        old = nova.post("/servers", json={"server": body}, headers=mv("2.36"))
        assert old.status_code == 202, old.text
        assert wait_for(nova, old.json()["server"]["id"], "ACTIVE")["addresses"] == {}

        reply = nova.post(
            "/servers",
            json={"server": {"name": "many", "imageRef": net_image, "flavorRef": "1", "networks": "auto", "min_count": 3}},
            headers=mv("latest"),
        )
        assert reply.status_code == 202, reply.text
        servers = nova.get("/servers?name=many", headers=LATEST).json()["servers"]
        assert len(servers) == 3
        for server in servers:
            addresses = wait_for(nova, server["id"], "ACTIVE")["addresses"]
            assert list(addresses) == ["auto_allocated_network"]
            assert addresses["auto_allocated_network"][0]["addr"].startswith("10.128.")
        (network,) = neutron.get("/v2.0/networks?name=auto_allocated_network").json()["networks"]
        topology = neutron.get(f"/v2.0/auto-allocated-topology/{network['project_id']}").json()["auto_allocated_topology"]
        assert topology["id"] == network["id"]
        ports = neutron.get(f"/v2.0/ports?network_id={network['id']}&device_owner=compute:nova").json()["ports"]
        assert sorted(port["device_id"] for port in ports) == sorted(server["id"] for server in servers)
        (router,) = neutron.get("/v2.0/routers").json()["routers"]
        assert router["name"] == "auto_allocated_router" and router["external_gateway_info"]["network_id"] == public["id"]
    finally:
        # the module's other tests expect a cloud without defaults
        admin.put(f"/networks/{public['id']}", json={"network": {"is_default": False}})
        admin.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {"is_default": False}})

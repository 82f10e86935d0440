"""os-interface on the fake hypervisor (the QEMU hot-plug is tests/e2e/test_qemu_driver.py and
test_interface_hotplug.py): attach by network (with a chosen address) or by port, tags, the
agent plugging each port into the guest and unplugging it, a port moved between servers,
the port kept or deleted on detach as Nova does, the stock CLI, and Nova's refusals."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import ApiSpec
from pocketstack.testing.waiting import wait_until
from tests.api.compute.helpers import checked, mv, wait_for
from tests.conftest import Identity, ServiceClient, admin_identity, cli_runner, project_member


@pytest.fixture(scope="module")
def user(net_cloud: LiveCloud) -> Identity:
    _, _, identity = project_member(net_cloud, admin_identity(net_cloud))
    return identity


@pytest.fixture(scope="module")
def nets(user: Identity) -> dict[str, dict[str, Any]]:
    neutron = user.service("/networking")
    made = {}
    for name, cidr in (("one", "10.40.0.0/24"), ("two", "10.41.0.0/24")):
        net = neutron.post("/v2.0/networks", json={"network": {"name": name}}).json()["network"]
        subnet = neutron.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"], "cidr": cidr, "ip_version": 4}}).json()["subnet"]
        made[name] = {**net, "subnet_id": subnet["id"]}
    return made


@pytest.fixture
def server(user: Identity, net_image: str, nets: dict[str, dict[str, Any]]) -> Iterator[str]:
    """An ACTIVE server with one port on network "one"."""
    nova = user.service("/compute/v2.1")
    body = {"name": f"if-{uuid.uuid4().hex[:6]}", "imageRef": net_image, "flavorRef": "1", "networks": [{"uuid": nets["one"]["id"]}]}
    reply = nova.post("/servers", json={"server": body})
    assert reply.status_code == 202, reply.text
    server_id = reply.json()["server"]["id"]
    wait_for(nova, server_id, "ACTIVE")
    yield server_id
    nova.delete(f"/servers/{server_id}")


def eventually(what: str, check: Callable[[], Any]) -> Any:
    return wait_until(what, check, timeout=20, interval=0.1)


def console(nova: ServiceClient, server_id: str) -> str:
    return nova.post(f"/servers/{server_id}/action", json={"os-getConsoleOutput": {}}).json()["output"]


def plugged(nova: ServiceClient, server_id: str, mac: str) -> bool:
    """Whether the fake guest's last word on this MAC is that it was plugged in."""
    events = [line for line in console(nova, server_id).splitlines() if mac in line or "nic-del" in line]
    return bool(events) and events[-1].endswith(f"nic-add mac={mac}")


def test_attach_by_network_and_port_then_detach(user: Identity, server: str, nets: dict[str, dict[str, Any]], spec: ApiSpec | None) -> None:
    nova, neutron = user.service("/compute/v2.1"), user.service("/networking")
    path = f"/servers/{server}/os-interface"
    (boot_nic,) = checked(spec, nova.get(path), "GET", path, 200)["interfaceAttachments"]
    assert boot_nic["net_id"] == nets["one"]["id"]
    eventually("the boot port ACTIVE", lambda: nova.get(path).json()["interfaceAttachments"][0]["port_state"] == "ACTIVE")
    assert "tag" not in boot_nic

    # a new port on network two, at an address the caller chose
    body = {"interfaceAttachment": {"net_id": nets["two"]["id"], "fixed_ips": [{"ip_address": "10.41.0.50"}]}}
    made = checked(spec, nova.post(path, json=body), "POST", path, 200)["interfaceAttachment"]
    assert made["fixed_ips"] == [{"ip_address": "10.41.0.50", "subnet_id": nets["two"]["subnet_id"]}]
    made_path = f"{path}/{made['port_id']}"
    eventually("the new NIC plugged into the guest", lambda: plugged(nova, server, made["mac_addr"]))
    eventually("the new port ACTIVE", lambda: nova.get(made_path).json()["interfaceAttachment"]["port_state"] == "ACTIVE")
    shown = checked(spec, nova.get(made_path), "GET", made_path, 200)["interfaceAttachment"]
    assert shown["port_id"] == made["port_id"] and shown["mac_addr"] == made["mac_addr"]
    addresses = nova.get(f"/servers/{server}").json()["server"]["addresses"]
    assert [a["addr"] for a in addresses["two"]] == ["10.41.0.50"]

    # a port the caller made, with a tag (2.49), shown from 2.70
    brought = neutron.post("/v2.0/ports", json={"port": {"network_id": nets["two"]["id"]}}).json()["port"]
    tagged = {"interfaceAttachment": {"port_id": brought["id"], "tag": "storage"}}
    assert nova.post(path, json=tagged, headers=mv("2.48")).status_code == 400  # no tags before 2.49
    reply = nova.post(path, json=tagged, headers=mv("2.70"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["interfaceAttachment"]["tag"] == "storage"
    listed = nova.get(path, headers=mv("2.70")).json()["interfaceAttachments"]
    assert {nic["port_id"]: nic["tag"] for nic in listed} == {boot_nic["port_id"]: None, made["port_id"]: None, brought["id"]: "storage"}
    eventually("the caller's port plugged in", lambda: plugged(nova, server, brought["mac_address"]))

    # detach: the port made for the server goes, the caller's port stays (unbound)
    assert nova.delete(made_path).status_code == 202
    assert nova.delete(f"{path}/{brought['id']}").status_code == 202
    assert [nic["port_id"] for nic in nova.get(path).json()["interfaceAttachments"]] == [boot_nic["port_id"]]
    assert neutron.get(f"/v2.0/ports/{made['port_id']}").status_code == 404
    kept = neutron.get(f"/v2.0/ports/{brought['id']}").json()["port"]
    assert kept["device_id"] == "" and kept["device_owner"] == ""
    eventually(
        "both NICs unplugged", lambda: not plugged(nova, server, made["mac_addr"]) and not plugged(nova, server, brought["mac_address"])
    )
    assert nova.get(made_path).status_code == 404
    actions = [a["action"] for a in nova.get(f"/servers/{server}/os-instance-actions").json()["instanceActions"]]
    assert actions.count("attach_interface") == 2 and actions.count("detach_interface") == 2
    neutron.delete(f"/v2.0/ports/{brought['id']}")


def test_a_port_moves_between_servers(user: Identity, net_image: str, nets: dict[str, dict[str, Any]], server: str) -> None:
    nova, neutron = user.service("/compute/v2.1"), user.service("/networking")
    other = nova.post(
        "/servers", json={"server": {"name": "other", "imageRef": net_image, "flavorRef": "1", "networks": [{"uuid": nets["one"]["id"]}]}}
    ).json()["server"]["id"]
    wait_for(nova, other, "ACTIVE")
    port = neutron.post("/v2.0/ports", json={"port": {"network_id": nets["two"]["id"]}}).json()["port"]
    for holder in (server, other, server):
        reply = nova.post(f"/servers/{holder}/os-interface", json={"interfaceAttachment": {"port_id": port["id"]}})
        assert reply.status_code == 200, reply.text
        eventually(f"the port plugged into {holder}", lambda h=holder: plugged(nova, h, port["mac_address"]))
        assert neutron.get(f"/v2.0/ports/{port['id']}").json()["port"]["device_id"] == holder
        assert nova.delete(f"/servers/{holder}/os-interface/{port['id']}").status_code == 202
    nova.delete(f"/servers/{other}")
    neutron.delete(f"/v2.0/ports/{port['id']}")


def test_a_stopped_server_gets_its_new_nic_when_it_starts(user: Identity, server: str, nets: dict[str, dict[str, Any]]) -> None:
    nova = user.service("/compute/v2.1")
    assert nova.post(f"/servers/{server}/action", json={"os-stop": None}).status_code == 202
    wait_for(nova, server, "SHUTOFF")
    reply = nova.post(f"/servers/{server}/os-interface", json={"interfaceAttachment": {"net_id": nets["two"]["id"]}})
    assert reply.status_code == 200, reply.text
    assert nova.post(f"/servers/{server}/action", json={"os-start": None}).status_code == 202
    wait_for(nova, server, "ACTIVE")
    mac = reply.json()["interfaceAttachment"]["mac_addr"]
    assert f"mac={mac}" not in console(nova, server)  # booted with it: nothing was hot-plugged
    assert nova.get(f"/servers/{server}/os-interface").json()["interfaceAttachments"][1]["mac_addr"] == mac


def test_refusals(net_cloud: LiveCloud, user: Identity, server: str, nets: dict[str, dict[str, Any]]) -> None:
    nova, neutron = user.service("/compute/v2.1"), user.service("/networking")
    path = f"/servers/{server}/os-interface"

    def attach(body: Any, **kwargs: Any) -> int:
        return nova.post(path, json=body, **kwargs).status_code

    both = {"interfaceAttachment": {"net_id": nets["two"]["id"], "port_id": str(uuid.uuid4())}}
    assert attach(both) == 400
    assert attach({"interfaceAttachment": {"fixed_ips": [{"ip_address": "10.41.0.9"}]}}) == 400  # an address needs a network
    assert attach({"interfaceAttachment": {"net_id": "not-a-uuid"}}) == 400
    assert attach({"interfaceAttachment": {"net_id": nets["two"]["id"], "fixed_ips": [{"ip_address": "nope"}]}}) == 400
    assert attach({"interfaceAttachment": {"net_id": nets["two"]["id"], "fixed_ips": [{"ip_address": "10.99.0.1"}]}}) == 400
    assert attach({"interfaceAttachment": {"net_id": str(uuid.uuid4())}}) == 404
    assert attach({"interfaceAttachment": {"port_id": str(uuid.uuid4())}}) == 404
    assert attach({"interfaceAttachment": {}}) == 400  # two networks: which one?
    assert attach({"interfaceAttachment": {"port_id": nova.get(path).json()["interfaceAttachments"][0]["port_id"]}}) == 409  # in use
    assert nova.delete(f"{path}/{uuid.uuid4()}").status_code == 404
    assert nova.get(f"{path}/{uuid.uuid4()}").status_code == 404

    # another project sees no server; its network is not usable
    _, _, stranger = project_member(net_cloud, admin_identity(net_cloud))
    assert stranger.service("/compute/v2.1").get(path).status_code == 404
    foreign = stranger.service("/networking").post("/v2.0/networks", json={"network": {"name": "theirs"}}).json()["network"]
    assert attach({"interfaceAttachment": {"net_id": foreign["id"]}}) == 404

    # locked, then suspended: 409, and nothing was made
    before = len(neutron.get("/v2.0/ports").json()["ports"])
    assert nova.post(f"/servers/{server}/action", json={"lock": None}).status_code == 202
    assert stranger.service("/compute/v2.1").delete(f"{path}/x").status_code == 404
    member_of_admin = admin_identity(net_cloud).service("/compute/v2.1")
    assert member_of_admin.get(path).status_code == 200  # admins see any project's interfaces
    assert attach({"interfaceAttachment": {"net_id": nets["two"]["id"]}}) == 409
    assert nova.post(f"/servers/{server}/action", json={"unlock": None}).status_code == 202
    assert nova.post(f"/servers/{server}/action", json={"suspend": None}).status_code == 202
    wait_for(nova, server, "SUSPENDED")
    assert attach({"interfaceAttachment": {"net_id": nets["two"]["id"]}}) == 409
    assert len(neutron.get("/v2.0/ports").json()["ports"]) == before


def test_the_stock_cli(net_cloud: LiveCloud, user: Identity, server: str, nets: dict[str, dict[str, Any]]) -> None:
    """`openstack server add network` / `server remove network` use os-interface (here as admin)."""
    nova, cli = user.service("/compute/v2.1"), cli_runner(net_cloud)
    cli("server", "add", "network", server, nets["two"]["id"])
    listed = nova.get(f"/servers/{server}/os-interface").json()["interfaceAttachments"]
    assert sorted(nic["net_id"] for nic in listed) == sorted([nets["one"]["id"], nets["two"]["id"]])
    cli("server", "remove", "network", server, nets["two"]["id"])
    eventually(
        "only network one left",
        lambda: [n["net_id"] for n in nova.get(f"/servers/{server}/os-interface").json()["interfaceAttachments"]] == [nets["one"]["id"]],
    )

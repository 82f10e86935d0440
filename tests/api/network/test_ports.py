"""Ports: automatic and chosen addresses (IPAM), exhaustion, MACs, updates that move
addresses, bindings (admin-only attributes), allowed address pairs, port security and
security groups, filters, the CLI and openstacksdk."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.network.conftest import Tenant, fault, make_network, make_port, make_subnet, ok
from tests.conftest import ServiceClient, unique


@pytest.fixture
def lan(alice: Tenant) -> dict[str, Any]:
    """A network of alice's with one IPv4 subnet of 13 free addresses (10.20.0.2-14)."""
    network = make_network(alice.neutron)
    subnet = make_subnet(alice.neutron, network["id"], "10.20.0.0/28")
    return {"network": network, "subnet": subnet}


def addresses(port: dict[str, Any]) -> list[str]:
    return [held["ip_address"] for held in port["fixed_ips"]]


def test_a_port_gets_an_address_a_mac_and_the_default_group(alice: Tenant, lan: dict[str, Any]) -> None:
    port = make_port(alice.neutron, lan["network"]["id"], name="web")
    assert port["status"] == "DOWN" and port["admin_state_up"] is True
    assert port["mac_address"].startswith("fa:16:3e:")
    (held,) = port["fixed_ips"]
    assert held["subnet_id"] == lan["subnet"]["id"]
    assert held["ip_address"].startswith("10.20.0.") and held["ip_address"] not in ("10.20.0.0", "10.20.0.1", "10.20.0.15")
    groups = ok(alice.neutron.get("/security-groups?name=default"))["security_groups"]
    assert port["security_groups"] == [groups[0]["id"]]
    assert port["port_security_enabled"] is True and port["allowed_address_pairs"] == []
    assert port["device_owner"] == "" and port["device_id"] == ""
    assert port["binding:vnic_type"] == "normal"
    for admin_only in ("binding:host_id", "binding:vif_type", "binding:vif_details", "binding:profile"):
        assert admin_only not in port


def test_ipv6_slaac_and_dual_stack(alice: Tenant, lan: dict[str, Any]) -> None:
    v6 = make_subnet(alice.neutron, lan["network"]["id"], "2001:db8:20::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    port = make_port(alice.neutron, lan["network"]["id"], mac_address="fa:16:3e:33:44:55")
    assert {held["subnet_id"]: held["ip_address"] for held in port["fixed_ips"]}[v6["id"]] == "2001:db8:20:0:f816:3eff:fe33:4455"
    stateful = make_subnet(alice.neutron, lan["network"]["id"], "2001:db8:21::/120", ipv6_address_mode="dhcpv6-stateful")
    other = make_port(alice.neutron, lan["network"]["id"])
    assert {held["subnet_id"] for held in other["fixed_ips"]} == {lan["subnet"]["id"], v6["id"], stateful["id"]}
    bad = alice.neutron.post(
        "/ports", json={"port": {"network_id": lan["network"]["id"], "fixed_ips": [{"ip_address": "2001:db8:20::99"}]}}
    )
    fault(bad, 400, "AllocationOnAutoAddressSubnet")


def test_chosen_addresses(alice: Tenant, lan: dict[str, Any]) -> None:
    net_id, subnet_id = lan["network"]["id"], lan["subnet"]["id"]
    port = make_port(alice.neutron, net_id, fixed_ips=[{"subnet_id": subnet_id, "ip_address": "10.20.0.9"}])
    assert addresses(port) == ["10.20.0.9"]
    by_address = make_port(alice.neutron, net_id, fixed_ips=[{"ip_address": "10.20.0.10"}])
    assert by_address["fixed_ips"] == [{"subnet_id": subnet_id, "ip_address": "10.20.0.10"}]
    by_subnet = make_port(alice.neutron, net_id, fixed_ips=[{"subnet_id": subnet_id}])
    assert by_subnet["fixed_ips"][0]["subnet_id"] == subnet_id
    # outside the pools but inside the subnet is allowed, as in Neutron
    assert addresses(make_port(alice.neutron, net_id, fixed_ips=[{"ip_address": "10.20.0.1"}])) == ["10.20.0.1"]
    none = make_port(alice.neutron, net_id, fixed_ips=[])
    assert none["fixed_ips"] == []


@pytest.mark.parametrize(
    ("fixed_ips", "status", "kind", "message"),
    [
        ([{"ip_address": "10.20.0.9"}], 409, "IpAddressAlreadyAllocated", "IP address 10.20.0.9 already allocated in subnet"),
        ([{"ip_address": "10.99.0.9"}], 400, "InvalidIpForNetwork", "is not a valid IP for any of the subnets"),
        ([{"ip_address": "10.20.0.15"}], 400, "InvalidIpForNetwork", "10.20.0.15"),  # the broadcast address
        ([{"subnet_id": "SUBNET", "ip_address": "10.21.0.3"}], 400, "InvalidIpForSubnet", "is not a valid IP for the specified subnet"),
        ([{"subnet_id": "9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49"}], 404, "SubnetNotFound", "could not be found"),
        ([{"ip_address": "banana"}], 400, "HTTPBadRequest", "'banana' is not a valid IP address"),
        ([{"ip_address": "10.20.0.3"}, {"ip_address": "10.20.0.3"}], 400, "HTTPBadRequest", "Duplicate IP address"),
        ([{"port": 3}], 400, "HTTPBadRequest", "Invalid data format for fixed IP"),
        ([{}], 400, "HTTPBadRequest", "Invalid data format for fixed IP"),
    ],
)
def test_bad_fixed_ips(alice: Tenant, lan: dict[str, Any], fixed_ips: list[dict[str, str]], status: int, kind: str, message: str) -> None:
    net_id, subnet_id = lan["network"]["id"], lan["subnet"]["id"]
    make_port(alice.neutron, net_id, fixed_ips=[{"ip_address": "10.20.0.9"}])
    fixed_ips = [{k: (subnet_id if v == "SUBNET" else v) for k, v in entry.items()} for entry in fixed_ips]
    before = len(ok(alice.neutron.get(f"/ports?network_id={net_id}"))["ports"])
    assert message in fault(alice.neutron.post("/ports", json={"port": {"network_id": net_id, "fixed_ips": fixed_ips}}), status, kind)
    assert len(ok(alice.neutron.get(f"/ports?network_id={net_id}"))["ports"]) == before  # nothing half-made


def test_a_subnet_of_another_network_is_refused(alice: Tenant, lan: dict[str, Any]) -> None:
    elsewhere = make_subnet(alice.neutron, make_network(alice.neutron)["id"], "10.30.0.0/24")
    body = {"port": {"network_id": lan["network"]["id"], "fixed_ips": [{"subnet_id": elsewhere["id"]}]}}
    assert "because fixed_ips included invalid subnet" in fault(alice.neutron.post("/ports", json=body), 400, "InvalidInput")


def test_exhaustion_and_release(alice: Tenant, lan: dict[str, Any]) -> None:
    net_id = lan["network"]["id"]
    ports = [make_port(alice.neutron, net_id) for _ in range(13)]
    assert len({address for port in ports for address in addresses(port)}) == 13
    message = fault(alice.neutron.post("/ports", json={"port": {"network_id": net_id}}), 409, "IpAddressGenerationFailure")
    assert message == f"No more IP addresses available on network {net_id}."
    freed = addresses(ports[4])[0]
    ok(alice.neutron.delete(f"/ports/{ports[4]['id']}"), 204)
    assert addresses(make_port(alice.neutron, net_id)) == [freed]  # the one address free again


def test_no_subnet_no_address(alice: Tenant) -> None:
    network = make_network(alice.neutron)
    assert make_port(alice.neutron, network["id"])["fixed_ips"] == []
    body = {"port": {"network_id": network["id"], "fixed_ips": [{"ip_address": "10.0.0.3"}]}}
    assert "IP allocation requires subnets for network" in fault(alice.neutron.post("/ports", json=body), 400, "InvalidInput")


def test_mac_addresses(alice: Tenant, neutron: ServiceClient, lan: dict[str, Any]) -> None:
    net_id = lan["network"]["id"]
    port = make_port(alice.neutron, net_id, mac_address="FA:16:3E:00:00:01")
    assert port["mac_address"] == "fa:16:3e:00:00:01"
    assert "The mac address fa:16:3e:00:00:01 is in use" in fault(
        alice.neutron.post("/ports", json={"port": {"network_id": net_id, "mac_address": "fa:16:3e:00:00:01"}}), 409, "MacAddressInUse"
    )
    make_port(alice.neutron, make_network(alice.neutron)["id"], mac_address="fa:16:3e:00:00:01")  # another network: fine
    bad = alice.neutron.post("/ports", json={"port": {"network_id": net_id, "mac_address": "01:00:5e:00:00:01"}})
    assert "not a valid MAC address" in fault(bad, 400)
    # changing a MAC is for the network owner's managers and admins (update_port:mac_address)
    change = {"port": {"mac_address": "fa:16:3e:00:00:02"}}
    fault(alice.neutron.put(f"/ports/{port['id']}", json=change), 403, "PolicyNotAuthorized")
    assert ok(neutron.put(f"/ports/{port['id']}", json=change))["port"]["mac_address"] == "fa:16:3e:00:00:02"


def test_updating_fixed_ips_frees_the_old_address(alice: Tenant, lan: dict[str, Any]) -> None:
    net_id, subnet_id = lan["network"]["id"], lan["subnet"]["id"]
    port = make_port(alice.neutron, net_id, fixed_ips=[{"ip_address": "10.20.0.5"}])
    path = f"/ports/{port['id']}"
    moved = ok(alice.neutron.put(path, json={"port": {"fixed_ips": [{"ip_address": "10.20.0.6"}]}}))["port"]
    assert addresses(moved) == ["10.20.0.6"] and moved["revision_number"] == port["revision_number"] + 1
    assert addresses(make_port(alice.neutron, net_id, fixed_ips=[{"ip_address": "10.20.0.5"}])) == ["10.20.0.5"]
    two = ok(alice.neutron.put(path, json={"port": {"fixed_ips": [{"ip_address": "10.20.0.6"}, {"subnet_id": subnet_id}]}}))["port"]
    assert len(two["fixed_ips"]) == 2 and "10.20.0.6" in addresses(two)
    # a failed update keeps what the port had
    fault(alice.neutron.put(path, json={"port": {"fixed_ips": [{"ip_address": "10.20.0.5"}]}}), 409, "IpAddressAlreadyAllocated")
    assert sorted(addresses(ok(alice.neutron.get(path))["port"])) == sorted(addresses(two))
    assert ok(alice.neutron.put(path, json={"port": {"fixed_ips": []}}))["port"]["fixed_ips"] == []


def test_updates_and_read_only_attributes(alice: Tenant, lan: dict[str, Any]) -> None:
    port = make_port(alice.neutron, lan["network"]["id"])
    path = f"/ports/{port['id']}"
    changes = {"name": "renamed", "description": "d", "admin_state_up": False, "device_id": "vm-1", "device_owner": "compute:nova"}
    updated = ok(alice.neutron.put(path, json={"port": changes}))["port"]
    assert {key: updated[key] for key in changes} == changes
    assert "Cannot update read-only attribute network_id" in fault(
        alice.neutron.put(path, json={"port": {"network_id": lan["network"]["id"]}}), 400
    )
    fault(alice.neutron.put(path, json={"port": {"status": "ACTIVE"}}), 400)
    fault(alice.neutron.put(path, json={"port": {"binding:host_id": "host-1"}}), 403, "PolicyNotAuthorized")


def test_binding_is_the_admins(neutron: ServiceClient, alice: Tenant, lan: dict[str, Any]) -> None:
    port = make_port(alice.neutron, lan["network"]["id"])
    seen = ok(neutron.get(f"/ports/{port['id']}"))["port"]
    assert (seen["binding:host_id"], seen["binding:vif_type"], seen["binding:vif_details"]) == ("", "unbound", {})
    bound = ok(neutron.put(f"/ports/{port['id']}", json={"port": {"binding:host_id": "compute-1", "device_owner": "compute:nova"}}))["port"]
    assert bound["binding:vif_type"] == "bridge"
    assert bound["binding:vif_details"]["bridge_name"] == "brq" + lan["network"]["id"][:11]
    assert bound["status"] == "DOWN"  # until the agent plugs it
    # a bound port keeps its MAC (the hypervisor plugged it with this one)
    fault(neutron.put(f"/ports/{port['id']}", json={"port": {"mac_address": "fa:16:3e:99:99:99"}}), 409, "PortBound")
    assert ok(neutron.get(f"/ports?binding:host_id=compute-1&id={port['id']}"))["ports"][0]["id"] == port["id"]
    # the owner still sees the port, without the binding details
    assert "binding:vif_type" not in ok(alice.neutron.get(f"/ports/{port['id']}"))["port"]
    body = {"port": {"network_id": lan["network"]["id"], "binding:host_id": "compute-1"}}
    fault(alice.neutron.post("/ports", json=body), 403, "PolicyNotAuthorized")
    fault(alice.neutron.post("/ports", json={"port": {"network_id": lan["network"]["id"], "binding:vnic_type": "wifi"}}), 400)


def test_allowed_address_pairs(alice: Tenant, lan: dict[str, Any]) -> None:
    net_id = lan["network"]["id"]
    pairs = [{"ip_address": "10.20.0.100"}, {"ip_address": "192.168.0.0/24", "mac_address": "fa:16:3e:aa:bb:cc"}]
    port = make_port(alice.neutron, net_id, allowed_address_pairs=pairs)
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.20.0.100", "mac_address": port["mac_address"]},
        {"ip_address": "192.168.0.0/24", "mac_address": "fa:16:3e:aa:bb:cc"},
    ]
    cases = [
        ([{"mac_address": "fa:16:3e:aa:bb:cc"}], 400, "AllowedAddressPairsMissingIP"),
        ([{"ip_address": "10.0.0.1"}, {"ip_address": "10.0.0.1"}], 400, "DuplicateAddressPairInRequest"),
        ([{"ip_address": f"10.0.0.{i}"} for i in range(11)], 400, "AllowedAddressPairExhausted"),
        ([{"ip_address": "nope"}], 400, "InvalidInput"),
    ]
    for bad, status, kind in cases:
        fault(alice.neutron.post("/ports", json={"port": {"network_id": net_id, "allowed_address_pairs": bad}}), status, kind)
    body = {"port": {"network_id": net_id, "port_security_enabled": False, "allowed_address_pairs": pairs, "security_groups": []}}
    fault(alice.neutron.post("/ports", json=body), 409, "AddressPairAndPortSecurityRequired")


def test_port_security_and_security_groups(alice: Tenant, lan: dict[str, Any]) -> None:
    net_id = lan["network"]["id"]
    open_port = make_port(alice.neutron, net_id, port_security_enabled=False)
    assert open_port["port_security_enabled"] is False and open_port["security_groups"] == []
    web = ok(alice.neutron.post("/security-groups", json={"security_group": {"name": unique("web")}}), 201)["security_group"]
    member = make_port(alice.neutron, net_id, security_groups=[web["id"]])
    assert member["security_groups"] == [web["id"]]
    body = {"port": {"network_id": net_id, "port_security_enabled": False, "security_groups": [web["id"]]}}
    fault(alice.neutron.post("/ports", json=body), 400, "PortSecurityAndIPRequiredForSecurityGroups")
    fault(
        alice.neutron.put(f"/ports/{member['id']}", json={"port": {"port_security_enabled": False}}),
        409,
        "PortSecurityPortHasSecurityGroup",
    )
    cleared = ok(alice.neutron.put(f"/ports/{member['id']}", json={"port": {"port_security_enabled": False, "security_groups": []}}))
    assert cleared["port"]["security_groups"] == [] and cleared["port"]["port_security_enabled"] is False
    fault(
        alice.neutron.post("/ports", json={"port": {"network_id": net_id, "security_groups": ["9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49"]}}),
        404,
    )
    # network devices (router, DHCP) are not filtered: no group
    dhcp = make_port(alice.neutron, net_id, device_owner="network:dhcp")
    assert dhcp["security_groups"] == [] and dhcp["port_security_enabled"] is False
    # a network without port security gives its ports none
    plain = make_network(alice.neutron, port_security_enabled=False)
    assert make_port(alice.neutron, plain["id"])["port_security_enabled"] is False


def test_port_filters(alice: Tenant, lan: dict[str, Any]) -> None:
    net_id, subnet_id = lan["network"]["id"], lan["subnet"]["id"]
    one = make_port(alice.neutron, net_id, fixed_ips=[{"ip_address": "10.20.0.11"}], device_id="vm-a", name="one")
    two = make_port(alice.neutron, net_id, fixed_ips=[{"ip_address": "10.20.0.12"}], device_id="vm-b", name="two")
    ids = lambda query: sorted(p["id"] for p in ok(alice.neutron.get(f"/ports?network_id={net_id}&{query}"))["ports"])  # noqa: E731
    assert ids("fixed_ips=ip_address%3D10.20.0.11") == [one["id"]]
    assert ids(f"fixed_ips=subnet_id%3D{subnet_id}&fixed_ips=ip_address%3D10.20.0.12") == [two["id"]]
    assert ids("fixed_ips=ip_address_substr%3D0.1") == sorted([one["id"], two["id"]])
    assert ids("device_id=vm-a&device_id=vm-b") == sorted([one["id"], two["id"]])
    assert ids("mac_address=" + two["mac_address"]) == [two["id"]]
    assert ids("security_groups=" + one["security_groups"][0]) == sorted([one["id"], two["id"]])
    assert "is not of the form <key>=[value]" in fault(alice.neutron.get("/ports?fixed_ips=10.20.0.11"), 400)
    assert ids("name=") == []  # the empty string matches the empty name only


def test_bulk_ports(alice: Tenant, lan: dict[str, Any]) -> None:
    net_id = lan["network"]["id"]
    made = ok(alice.neutron.post("/ports", json={"ports": [{"network_id": net_id}, {"network_id": net_id}]}), 201)["ports"]
    assert len({addresses(port)[0] for port in made}) == 2


def test_cli_port_lifecycle(network_osc: Any) -> None:
    name = unique("cli")
    network_osc("network", "create", name)
    network_osc("subnet", "create", name, "--network", name, "--subnet-range", "192.168.60.0/24")
    out = network_osc(
        "port", "create", name + "-p", "--network", name, "--fixed-ip", f"subnet={name},ip-address=192.168.60.50", "-f", "json"
    )
    assert "192.168.60.50" in out.stdout
    listed = network_osc("port", "list", "--network", name, "--fixed-ip", "ip-address=192.168.60.50", "-f", "value", "-c", "Name").stdout
    assert listed.split() == [name + "-p"]
    network_osc("port", "set", name + "-p", "--name", name + "-q", "--no-fixed-ip", "--fixed-ip", "ip-address=192.168.60.51")
    shown = network_osc("port", "show", name + "-q", "-f", "json").stdout
    assert "192.168.60.51" in shown and "192.168.60.50" not in shown
    taken = network_osc("port", "create", "x", "--network", name, "--fixed-ip", "ip-address=192.168.60.51", check=False)
    assert taken.returncode != 0 and "already allocated" in taken.stderr
    network_osc("port", "delete", name + "-q")
    network_osc("network", "delete", name)


def test_sdk_ports(network_sdk: Any) -> None:
    network = network_sdk.network.create_network(name=unique("sdk"))
    subnet = network_sdk.network.create_subnet(network_id=network.id, ip_version=4, cidr="172.16.10.0/24")
    port = network_sdk.network.create_port(network_id=network.id, fixed_ips=[{"subnet_id": subnet.id, "ip_address": "172.16.10.7"}])
    assert port.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "172.16.10.7"}] and port.status == "DOWN"
    assert [p.id for p in network_sdk.network.ports(network_id=network.id)] == [port.id]
    network_sdk.network.update_port(port, binding_host_id="compute-9")
    assert network_sdk.network.get_port(port.id).binding_vif_type == "bridge"
    network_sdk.network.delete_port(port)
    network_sdk.network.delete_network(network)

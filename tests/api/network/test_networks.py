"""Networks: create (one and bulk), show, update, delete; provider attributes and MTU;
the standard attributes (timestamps, revisions, If-Match, tags); listing with filters,
tags filters, sorting, paging and fields; the CLI and openstacksdk."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.api.network.conftest import Tenant, fault, make_network, make_port, ok
from tests.conftest import ServiceClient, unique

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def test_a_member_creates_a_tenant_network(alice: Tenant) -> None:
    network = make_network(alice.neutron, name="private", description="mine")
    assert network["name"] == "private" and network["description"] == "mine"
    assert network["status"] == "ACTIVE" and network["admin_state_up"] is True
    assert network["project_id"] == network["tenant_id"] == alice.project_id
    assert network["shared"] is False and network["router:external"] is False
    assert network["mtu"] == 1450  # a VXLAN tenant network
    assert network["port_security_enabled"] is True
    assert network["subnets"] == [] and network["tags"] == []
    assert TIMESTAMP.fullmatch(network["created_at"]) and TIMESTAMP.fullmatch(network["updated_at"])
    assert network["revision_number"] == 0
    # provider attributes are the admin's to see
    assert not any(key.startswith("provider:") for key in network)
    assert ok(alice.neutron.get(f"/networks/{network['id']}"))["network"] == network


def test_the_admin_sees_and_chooses_provider_attributes(neutron: ServiceClient) -> None:
    tenant_net = make_network(neutron)
    assert tenant_net["provider:network_type"] == "vxlan"
    assert tenant_net["provider:physical_network"] is None
    assert 1 <= tenant_net["provider:segmentation_id"] <= 2**24 - 1
    physnet = unique("phys")
    flat = make_network(neutron, **{"provider:network_type": "flat", "provider:physical_network": physnet})
    assert (flat["provider:network_type"], flat["provider:physical_network"], flat["provider:segmentation_id"]) == ("flat", physnet, None)
    assert flat["mtu"] == 1500
    vlan = make_network(neutron, **{"provider:network_type": "vlan", "provider:physical_network": physnet, "provider:segmentation_id": 42})
    assert vlan["provider:segmentation_id"] == 42
    local = make_network(neutron, **{"provider:network_type": "local"})
    assert local["provider:segmentation_id"] is None


def test_segments_are_unique(neutron: ServiceClient) -> None:
    physnet = unique("phys")
    make_network(neutron, **{"provider:network_type": "flat", "provider:physical_network": physnet})
    again = neutron.post("/networks", json={"network": {"provider:network_type": "flat", "provider:physical_network": physnet}})
    assert physnet in fault(again, 409, "FlatNetworkInUse")
    make_network(neutron, **{"provider:network_type": "vlan", "provider:physical_network": physnet, "provider:segmentation_id": 7})
    body = {"network": {"provider:network_type": "vlan", "provider:physical_network": physnet, "provider:segmentation_id": 7}}
    fault(neutron.post("/networks", json=body), 409, "VlanIdInUse")
    vni = make_network(neutron)["provider:segmentation_id"]
    body = {"network": {"provider:network_type": "vxlan", "provider:segmentation_id": vni}}
    fault(neutron.post("/networks", json=body), 409, "TunnelIdInUse")


def test_provider_attribute_mistakes(neutron: ServiceClient, alice: Tenant) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"provider:network_type": "gre"}, "network_type value 'gre' not supported"),
        ({"provider:network_type": "flat"}, "physical_network required for flat provider network"),
        (
            {"provider:network_type": "vlan", "provider:physical_network": "p", "provider:segmentation_id": 4095},
            "out of range (1 through 4094)",
        ),
        ({"provider:network_type": "vxlan", "provider:segmentation_id": 2**24}, "out of range (1 through 16777215)"),
        ({"provider:network_type": "vxlan", "provider:physical_network": "p"}, "provider:physical_network specified for VXLAN network"),
        ({"provider:physical_network": "p"}, "network_type required"),
        ({"mtu": 9000}, "Requested MTU is too big, maximum is 1450"),
        ({"mtu": 20}, "must be at least '68'"),
        ({"availability_zone_hints": ["elsewhere"]}, "AvailabilityZone elsewhere could not be found"),
    ]
    for fields, message in cases:
        reply = neutron.post("/networks", json={"network": fields})
        assert reply.status_code in (400, 404), reply.text
        assert message in reply.json()["NeutronError"]["message"]
    # a member may not choose them at all, nor share, nor make a network external
    for fields, rule in (
        ({"provider:network_type": "vxlan"}, "create_network:provider:network_type"),
        ({"shared": True}, "create_network:shared"),
        ({"router:external": True}, "create_network:router:external"),
    ):
        assert rule in fault(alice.neutron.post("/networks", json={"network": fields}), 403, "PolicyNotAuthorized")
    # stating a default is no choice: allowed
    assert make_network(alice.neutron, shared=False, **{"router:external": False})["shared"] is False


def test_request_body_mistakes_are_400_with_neutrons_words(alice: Tenant) -> None:
    cases: list[tuple[Any, str]] = [
        ({"network": {"name": "x", "colour": "blue"}}, "Unrecognized attribute(s) 'colour'"),
        ({"network": {"status": "DOWN"}}, "Attribute 'status' not allowed in POST"),
        ({"network": {"admin_state_up": "perhaps"}}, "Invalid input for admin_state_up. Reason: 'perhaps' cannot be converted to boolean."),
        ({"network": {"name": "x" * 256}}, "exceeds maximum length of 255"),
        ({"network": {"name": 7}}, "'7' is not a valid string"),
        ({"netwerk": {}}, "Unable to find 'network' in request body"),
        ({"network": "x"}, "Object 'network' contains invalid data"),
        ({"network": {"project_id": "someone-else"}}, "Specifying 'project_id' other than the authenticated project"),
        ({"network": {"project_id": "a", "tenant_id": "b"}}, "'project_id' and 'tenant_id' do not match"),
        ([], "Body contains invalid data"),
    ]
    for body, message in cases:
        assert message in fault(alice.neutron.post("/networks", json=body), 400), body
    fault(alice.neutron.post("/networks", content=b"{not json", headers={"Content-Type": "application/json"}), 400, "HTTPBadRequest")


def test_update_bumps_the_revision_and_keeps_read_only_attributes(alice: Tenant, neutron: ServiceClient) -> None:
    network = make_network(alice.neutron)
    path = f"/networks/{network['id']}"
    updated = ok(alice.neutron.put(path, json={"network": {"name": "renamed", "admin_state_up": False, "mtu": 1400}}))["network"]
    assert (updated["name"], updated["admin_state_up"], updated["mtu"]) == ("renamed", False, 1400)
    assert updated["revision_number"] == network["revision_number"] + 1
    assert "Cannot update read-only attribute status" in fault(alice.neutron.put(path, json={"network": {"status": "DOWN"}}), 400)
    assert "Cannot update read-only attribute project_id" in fault(alice.neutron.put(path, json={"network": {"project_id": "x"}}), 400)
    fault(alice.neutron.put(path, json={"network": {"shared": True}}), 403, "PolicyNotAuthorized")
    segment = {"provider:network_type": "vlan", "provider:physical_network": "x", "provider:segmentation_id": 3}
    assert "does not support updating provider attributes" in fault(neutron.put(path, json={"network": segment}), 400)
    assert ok(neutron.put(path, json={"network": {"shared": True}}))["network"]["shared"] is True


def test_if_match_revision_number(alice: Tenant) -> None:
    network = make_network(alice.neutron)
    path = f"/networks/{network['id']}"
    stale = {"If-Match": f"revision_number={network['revision_number'] + 5}"}
    assert "Constrained to" in fault(
        alice.neutron.put(path, json={"network": {"name": "n"}}, headers=stale), 412, "RevisionNumberConstraintFailed"
    )
    fault(alice.neutron.delete(path, headers=stale), 412)
    fresh = {"If-Match": f"revision_number={network['revision_number']}"}
    ok(alice.neutron.put(path, json={"network": {"name": "n"}}, headers=fresh))
    fault(alice.neutron.put(path, json={"network": {"name": "m"}}, headers={"If-Match": "revision_number=x"}), 400)


def test_bulk_create_is_all_or_nothing(alice: Tenant) -> None:
    name = unique("bulk")
    made = ok(alice.neutron.post("/networks", json={"networks": [{"name": name}, {"name": name}]}), 201)["networks"]
    assert [n["name"] for n in made] == [name, name]
    broken = alice.neutron.post("/networks", json={"networks": [{"name": name + "-x"}, {"name": name + "-y", "mtu": 99999}]})
    fault(broken, 400)
    assert ok(alice.neutron.get(f"/networks?name={name}-x"))["networks"] == []


def test_delete_refuses_while_ports_are_in_use(alice: Tenant) -> None:
    network = make_network(alice.neutron)
    port = make_port(alice.neutron, network["id"])
    fault(alice.neutron.delete(f"/networks/{network['id']}"), 409, "NetworkInUse")
    ok(alice.neutron.delete(f"/ports/{port['id']}"), 204)
    ok(alice.neutron.delete(f"/networks/{network['id']}"), 204)
    fault(alice.neutron.get(f"/networks/{network['id']}"), 404, "NetworkNotFound")
    fault(alice.neutron.delete(f"/networks/{network['id']}"), 404, "NetworkNotFound")


def test_the_dhcp_port_goes_with_its_network_and_subnet(alice: Tenant) -> None:
    network = make_network(alice.neutron)
    subnet = ok(
        alice.neutron.post("/subnets", json={"subnet": {"network_id": network["id"], "cidr": "10.90.0.0/24", "ip_version": 4}}), 201
    )
    dhcp = make_port(alice.neutron, network["id"], device_owner="network:dhcp")
    ok(alice.neutron.delete(f"/subnets/{subnet['subnet']['id']}"), 204)
    assert ok(alice.neutron.get(f"/ports/{dhcp['id']}"))["port"]["fixed_ips"] == []
    ok(alice.neutron.delete(f"/networks/{network['id']}"), 204)
    fault(alice.neutron.get(f"/ports/{dhcp['id']}"), 404, "PortNotFound")


def test_tags(alice: Tenant) -> None:
    network = make_network(alice.neutron, tags=["red", "blue"])
    assert network["tags"] == ["blue", "red"]
    path = f"/networks/{network['id']}/tags"
    assert ok(alice.neutron.put(path, json={"tags": ["a", "b"]}))["tags"] == ["a", "b"]
    assert alice.neutron.put(path + "/c").status_code == 201
    assert alice.neutron.get(path + "/c").status_code == 204
    fault(alice.neutron.get(path + "/zzz"), 404, "TagNotFound")
    assert ok(alice.neutron.get(path))["tags"] == ["a", "b", "c"]
    assert alice.neutron.delete(path + "/a").status_code == 204
    fault(alice.neutron.delete(path + "/a"), 404, "TagNotFound")
    shown = ok(alice.neutron.get(f"/networks/{network['id']}"))["network"]
    assert shown["tags"] == ["b", "c"] and shown["revision_number"] > network["revision_number"]
    assert alice.neutron.delete(path).status_code == 204
    assert ok(alice.neutron.get(path))["tags"] == []
    fault(alice.neutron.put(path, json={"tags": ["x", "x"]}), 400)
    fault(alice.neutron.put(path, json={"tags": ["x" * 256]}), 400)
    fault(alice.neutron.put(path, json={"labels": []}), 400)
    fault(alice.neutron.put(path, json={"tags": [str(i) for i in range(51)]}), 400)
    fault(alice.neutron.put("/networks/00000000-0000-0000-0000-000000000000/tags/x"), 404, "NetworkNotFound")


def test_filters_tags_filters_fields_and_sorting(alice: Tenant) -> None:
    marker = unique("f")
    nets = [make_network(alice.neutron, name=f"{marker}-{i}", tags=tags) for i, tags in enumerate((["a", "b"], ["a"], ["c"]))]
    names = lambda reply: sorted(n["name"] for n in ok(reply)["networks"])  # noqa: E731
    q = f"/networks?name={marker}-0&name={marker}-1"
    assert names(alice.neutron.get(q)) == [f"{marker}-0", f"{marker}-1"]  # a repeated key is OR
    mine = [n["name"] for n in nets]
    in_mine = lambda reply: [n for n in names(reply) if n in mine]  # noqa: E731
    assert in_mine(alice.neutron.get("/networks?tags=a,b")) == [f"{marker}-0"]
    assert in_mine(alice.neutron.get("/networks?tags-any=b,c")) == [f"{marker}-0", f"{marker}-2"]
    assert in_mine(alice.neutron.get("/networks?not-tags=a,b")) == [f"{marker}-1", f"{marker}-2"]
    assert in_mine(alice.neutron.get("/networks?not-tags-any=a")) == [f"{marker}-2"]
    assert in_mine(alice.neutron.get("/networks?admin_state_up=true&shared=False")) == mine
    assert "cannot be converted to boolean" in fault(alice.neutron.get("/networks?shared=perhaps"), 400, "InvalidInput")
    assert "['colour'] is invalid attribute for filtering" in fault(alice.neutron.get("/networks?colour=red"), 400)
    only = ok(alice.neutron.get(f"/networks?name={marker}-0&fields=id&fields=name"))["networks"]
    assert only == [{"id": nets[0]["id"], "name": f"{marker}-0"}]
    shown = ok(alice.neutron.get(f"/networks/{nets[0]['id']}?fields=name,mtu"))["network"]
    assert shown == {"name": f"{marker}-0", "mtu": 1450}
    down = [n["name"] for n in ok(alice.neutron.get(f"/networks?sort_key=name&sort_dir=desc&name={marker}-0&name={marker}-2"))["networks"]]
    assert down == [f"{marker}-2", f"{marker}-0"]
    fault(alice.neutron.get("/networks?sort_key=colour&sort_dir=asc"), 400)
    fault(alice.neutron.get("/networks?sort_key=name&sort_dir=sideways"), 400)
    fault(alice.neutron.get("/networks?sort_key=name&sort_key=id&sort_dir=asc"), 400)


def test_changed_since(alice: Tenant) -> None:
    network = make_network(alice.neutron)
    since = lambda moment: [n["id"] for n in ok(alice.neutron.get(f"/networks?changed_since={moment}&id={network['id']}"))["networks"]]  # noqa: E731
    assert since(network["updated_at"]) == [network["id"]]
    assert since("2999-01-01T00:00:00") == []
    assert "must be in the following format" in fault(alice.neutron.get("/networks?changed_since=yesterday"), 400)


def test_paging_with_links(tenant: Callable[..., Tenant]) -> None:
    owner = tenant()
    made = sorted(make_network(owner.neutron, name=f"page-{i}")["id"] for i in range(5))
    seen: list[str] = []
    # shared and external networks of others are listed too: keep to the project's own
    url = f"/networks?limit=2&sort_key=id&sort_dir=asc&fields=id&project_id={owner.project_id}"
    while url:
        body = ok(owner.neutron.get(url))
        seen += [n["id"] for n in body["networks"]]
        following = [link["href"] for link in body.get("networks_links", []) if link["rel"] == "next"]
        url = following[0].split("/networking/v2.0", 1)[1] if following else ""
        assert "fields=id" in (following[0] if following else "fields=id")
    assert seen == made
    backwards = ok(
        owner.neutron.get(f"/networks?limit=2&marker={made[4]}&page_reverse=True&sort_key=id&sort_dir=asc&tenant_id={owner.project_id}")
    )
    assert [n["id"] for n in backwards["networks"]] == made[2:4]
    assert "Limit must be an integer 0 or greater" in fault(owner.neutron.get("/networks?limit=-1"), 400)
    assert len(ok(owner.neutron.get(f"/networks?limit=0&project_id={owner.project_id}"))["networks"]) == 5  # 0: no paging


def test_cli_network_lifecycle(network_osc: Any) -> None:
    name = unique("cli-net")
    shown = network_osc("network", "create", name, "--description", "from the CLI", "-f", "json").stdout
    assert f'"name": "{name}"' in shown
    listed = network_osc("network", "list", "-f", "value", "-c", "Name").stdout.split()
    assert name in listed
    network_osc("network", "set", name, "--name", name + "-2", "--mtu", "1300", "--tag", "cli")
    detail = network_osc("network", "show", name + "-2", "-f", "json").stdout
    assert '"mtu": 1300' in detail and '"cli"' in detail
    network_osc("network", "unset", name + "-2", "--tag", "cli")
    external = network_osc(
        "network",
        "create",
        name + "-ext",
        "--external",
        "--provider-network-type",
        "flat",
        "--provider-physical-network",
        unique("phys"),
        "-f",
        "value",
        "-c",
        "router:external",
    ).stdout.strip()
    assert external == "True"
    network_osc("network", "delete", name + "-2", name + "-ext")
    assert name not in network_osc("network", "list", "-f", "value", "-c", "Name").stdout


def test_sdk_network_lifecycle(network_sdk: Any) -> None:
    name = unique("sdk-net")
    network = network_sdk.network.create_network(name=name, mtu=1400)
    assert network.mtu == 1400 and network.provider_network_type == "vxlan"
    assert network_sdk.network.find_network(name).id == network.id
    assert network.id in [n.id for n in network_sdk.network.networks(name=name)]
    network_sdk.network.update_network(network, description="d")
    network_sdk.network.set_tags(network, ["x", "y"])
    assert sorted(network_sdk.network.get_network(network.id).tags) == ["x", "y"]
    assert [n.id for n in network_sdk.network.networks(tags="x,y")] == [network.id]
    network_sdk.network.delete_network(network)
    assert network_sdk.network.find_network(name) is None

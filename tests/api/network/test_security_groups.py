"""Security groups and rules: the default group with Neutron's default rules, new groups
with their egress rules, rule validation with Neutron's fault types, duplicates, the
default group's protections, groups in use, the CLI and openstacksdk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.network.conftest import Tenant, fault, make_network, make_port, ok
from tests.conftest import ServiceClient, unique


@pytest.fixture(scope="module", autouse=True)
def roomy_quotas(alice: Tenant, neutron: ServiceClient) -> None:
    """These tests make many groups; Neutron's default allows 10 per project."""
    ok(neutron.put(f"/quotas/{alice.project_id}", json={"quota": {"security_group": 100, "security_group_rule": 1000}}))


def rule_shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["direction"], rule["ethertype"], rule["protocol"], rule["remote_ip_prefix"], rule["remote_group_id"] is not None)


def make_group(client: ServiceClient, **fields: Any) -> dict[str, Any]:
    return ok(client.post("/security-groups", json={"security_group": {"name": unique("sg"), **fields}}), 201)["security_group"]


def add_rule(client: ServiceClient, group_id: str, **fields: Any) -> Any:
    return client.post(
        "/security-group-rules", json={"security_group_rule": {"security_group_id": group_id, "direction": "ingress", **fields}}
    )


def test_the_default_group_appears_on_first_sight(tenant: Callable[..., Tenant]) -> None:
    newcomer = tenant()
    groups = ok(newcomer.neutron.get("/security-groups"))["security_groups"]
    (default,) = groups
    assert default["name"] == "default" and default["description"] == "Default security group"
    assert default["stateful"] is True and default["project_id"] == newcomer.project_id
    assert sorted(rule_shape(rule) for rule in default["security_group_rules"]) == [
        ("egress", "IPv4", None, None, False),
        ("egress", "IPv6", None, None, False),
        ("ingress", "IPv4", None, None, True),
        ("ingress", "IPv6", None, None, True),
    ]
    assert all(rule["remote_group_id"] == default["id"] for rule in default["security_group_rules"] if rule["direction"] == "ingress")
    # listed again: the same one group
    assert [g["id"] for g in ok(newcomer.neutron.get("/security-groups"))["security_groups"]] == [default["id"]]


def test_the_default_group_is_made_for_a_first_port_too(tenant: Callable[..., Tenant]) -> None:
    newcomer = tenant()
    port = make_port(newcomer.neutron, make_network(newcomer.neutron)["id"])
    (default,) = ok(newcomer.neutron.get("/security-groups"))["security_groups"]
    assert port["security_groups"] == [default["id"]]


def test_a_new_group_allows_egress_only(alice: Tenant) -> None:
    group = make_group(alice.neutron, description="web servers")
    assert sorted(rule_shape(rule) for rule in group["security_group_rules"]) == [
        ("egress", "IPv4", None, None, False),
        ("egress", "IPv6", None, None, False),
    ]
    assert group["description"] == "web servers" and group["stateful"] is True and group["tags"] == []
    assert "Default security group already exists" in fault(
        alice.neutron.post("/security-groups", json={"security_group": {"name": "Default"}}), 409, "SecurityGroupDefaultAlreadyExists"
    )


def test_rules(alice: Tenant) -> None:
    group = make_group(alice.neutron)
    ssh = ok(add_rule(alice.neutron, group["id"], protocol="TCP", port_range_min=22, port_range_max=22), 201)["security_group_rule"]
    assert (ssh["protocol"], ssh["port_range_min"], ssh["port_range_max"], ssh["ethertype"]) == ("tcp", 22, 22, "IPv4")
    assert ssh["remote_ip_prefix"] is None and ssh["normalized_cidr"] is None
    ping = ok(
        add_rule(alice.neutron, group["id"], protocol="icmp", port_range_min=8, port_range_max=0, remote_ip_prefix="10.0.0.1/24"), 201
    )
    rule = ping["security_group_rule"]
    assert (rule["remote_ip_prefix"], rule["normalized_cidr"]) == ("10.0.0.1/24", "10.0.0.0/24")
    v6 = ok(add_rule(alice.neutron, group["id"], protocol="58", ethertype="ipv6", remote_ip_prefix="2001:db8::/64"), 201)[
        "security_group_rule"
    ]
    assert v6["ethertype"] == "IPv6" and v6["protocol"] == "58"
    everything = ok(add_rule(alice.neutron, group["id"], protocol="udp", port_range_min=1, port_range_max=65535), 201)[
        "security_group_rule"
    ]
    assert everything["port_range_min"] is None and everything["port_range_max"] is None
    shown = ok(alice.neutron.get(f"/security-groups/{group['id']}"))["security_group"]
    assert len(shown["security_group_rules"]) == 6 and shown["revision_number"] > group["revision_number"]
    assert ok(alice.neutron.get(f"/security-group-rules/{ssh['id']}"))["security_group_rule"] == ssh
    listed = ok(alice.neutron.get(f"/security-group-rules?security_group_id={group['id']}&protocol=tcp"))["security_group_rules"]
    assert [r["id"] for r in listed] == [ssh["id"]]
    assert alice.neutron.delete(f"/security-group-rules/{ssh['id']}").status_code == 204
    fault(alice.neutron.get(f"/security-group-rules/{ssh['id']}"), 404, "SecurityGroupRuleNotFound")


def test_duplicate_rules(alice: Tenant) -> None:
    group = make_group(alice.neutron)
    first = ok(add_rule(alice.neutron, group["id"], protocol="tcp", port_range_min=80, port_range_max=80), 201)["security_group_rule"]
    for same in ({"protocol": "tcp"}, {"protocol": "6"}, {"protocol": "TCP", "remote_ip_prefix": "0.0.0.0/0"}):
        message = fault(add_rule(alice.neutron, group["id"], port_range_min=80, port_range_max=80, **same), 409, "SecurityGroupRuleExists")
        assert first["id"] in message
    egress = {"security_group_id": group["id"], "direction": "egress", "ethertype": "IPv4"}
    fault(alice.neutron.post("/security-group-rules", json={"security_group_rule": egress}), 409, "SecurityGroupRuleExists")
    bulk = {"security_group_rules": [{**egress, "protocol": "udp"}, {**egress, "protocol": "udp"}]}
    fault(alice.neutron.post("/security-group-rules", json=bulk), 409, "DuplicateSecurityGroupRuleInPost")


@pytest.mark.parametrize(
    ("fields", "kind", "message"),
    [
        ({"protocol": "carrier-pigeon"}, "SecurityGroupRuleInvalidProtocol", "protocol carrier-pigeon not supported"),
        ({"protocol": 300}, "SecurityGroupRuleInvalidProtocol", "integer representations [0 to 255]"),
        ({"port_range_min": 22, "port_range_max": 22}, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol"),
        ({"protocol": "tcp", "port_range_min": 30, "port_range_max": 20}, "SecurityGroupInvalidPortRange", "port_range_min must be <="),
        (
            {"protocol": "tcp", "port_range_min": 70000, "port_range_max": 70000},
            "SecurityGroupInvalidPortValue",
            "Invalid value for port 70000",
        ),
        ({"protocol": "icmp", "port_range_min": 300}, "SecurityGroupInvalidIcmpValue", "It must be 0 to 255"),
        ({"protocol": "icmp", "port_range_max": 0}, "SecurityGroupMissingIcmpType", "ICMP type (port-range-min) is missing"),
        ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2}, "SecurityGroupInvalidProtocolForPort", "Ports cannot be specified"),
        ({"remote_ip_prefix": "2001:db8::/64"}, "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv4"),
        ({"protocol": "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype IPv4"),
        ({"ethertype": "IPv5"}, "InvalidInput", "ethertype 'IPv5' not supported"),
        ({"remote_ip_prefix": "10.0.0.0/40"}, "InvalidInput", "Invalid CIDR"),
        ({"direction": "sideways"}, "HTTPBadRequest", "'sideways' is not in ['ingress', 'egress']"),
        ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "SELF"}, "SecurityGroupMultipleRemoteEntites", "Only one of"),
        ({"colour": "red"}, "HTTPBadRequest", "Unrecognized attribute(s) 'colour'"),
    ],
)
def test_bad_rules(alice: Tenant, fields: dict[str, Any], kind: str, message: str) -> None:
    group = make_group(alice.neutron)
    fields = {key: (group["id"] if value == "SELF" else value) for key, value in fields.items()}
    assert message in fault(add_rule(alice.neutron, group["id"], **fields), 400, kind)
    assert len(ok(alice.neutron.get(f"/security-groups/{group['id']}"))["security_group"]["security_group_rules"]) == 2


def test_rules_need_groups_the_caller_has(alice: Tenant, bob: Tenant) -> None:
    group = make_group(alice.neutron)
    bobs = make_group(bob.neutron)
    fault(add_rule(alice.neutron, bobs["id"]), 404, "SecurityGroupNotFound")
    fault(add_rule(alice.neutron, group["id"], remote_group_id=bobs["id"]), 404, "SecurityGroupNotFound")
    # any value is looked up (not checked as a UUID first): one that names no group is 404, as in Neutron
    fault(add_rule(alice.neutron, group["id"], remote_group_id="bad_group_id"), 404, "SecurityGroupNotFound")
    fault(add_rule(alice.neutron, "9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49"), 404, "SecurityGroupNotFound")


def test_update_and_delete(alice: Tenant) -> None:
    group = make_group(alice.neutron)
    path = f"/security-groups/{group['id']}"
    updated = ok(alice.neutron.put(path, json={"security_group": {"name": "renamed", "description": "d"}}))["security_group"]
    assert (updated["name"], updated["description"]) == ("renamed", "d")
    assert updated["revision_number"] == group["revision_number"] + 1
    fault(alice.neutron.put(path, json={"security_group": {"name": "default"}}), 409, "SecurityGroupDefaultAlreadyExists")
    fault(alice.neutron.put(path, json={"security_group": {"security_group_rules": []}}), 400)
    network = make_network(alice.neutron)
    port = make_port(alice.neutron, network["id"], security_groups=[group["id"]])
    assert "in use" in fault(alice.neutron.delete(path), 409, "SecurityGroupInUse")
    fault(alice.neutron.put(path, json={"security_group": {"stateful": False}}), 409, "SecurityGroupInUse")
    ok(alice.neutron.delete(f"/ports/{port['id']}"), 204)
    assert alice.neutron.delete(path).status_code == 204
    fault(alice.neutron.get(path), 404, "SecurityGroupNotFound")


def test_the_default_group_is_protected(alice: Tenant, neutron: ServiceClient) -> None:
    (default,) = ok(alice.neutron.get("/security-groups?name=default"))["security_groups"]
    path = f"/security-groups/{default['id']}"
    fault(alice.neutron.delete(path), 409, "SecurityGroupCannotRemoveDefault")
    fault(alice.neutron.put(path, json={"security_group": {"name": "other"}}), 409, "SecurityGroupCannotUpdateDefault")
    assert ok(alice.neutron.put(path, json={"security_group": {"description": "still default"}}))["security_group"]["name"] == "default"
    # a group another rule names as remote takes those rules with it
    group = make_group(alice.neutron)
    ok(add_rule(alice.neutron, default["id"], remote_group_id=group["id"], protocol="tcp"), 201)
    ok(alice.neutron.delete(f"/security-groups/{group['id']}"), 204)
    rules = ok(alice.neutron.get(path))["security_group"]["security_group_rules"]
    assert all(rule["remote_group_id"] in (None, default["id"]) for rule in rules)


def test_tags_on_groups(alice: Tenant) -> None:
    group = make_group(alice.neutron, tags=["blue"])
    assert group["tags"] == ["blue"]
    ok(alice.neutron.put(f"/security-groups/{group['id']}/tags", json={"tags": ["red", "green"]}))
    assert [g["id"] for g in ok(alice.neutron.get("/security-groups?tags=red"))["security_groups"]] == [group["id"]]


def test_cli_security_groups(network_osc: Any) -> None:
    name = unique("cli-sg")
    network_osc("security", "group", "create", name, "--description", "ssh in")
    out = network_osc("security", "group", "rule", "create", name, "--protocol", "tcp", "--dst-port", "22", "-f", "json").stdout
    assert '"port_range_min": 22' in out and '"protocol": "tcp"' in out
    network_osc("security", "group", "rule", "create", name, "--protocol", "icmp", "--remote-ip", "192.168.0.0/16")
    again = network_osc("security", "group", "rule", "create", name, "--protocol", "tcp", "--dst-port", "22", check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    rules = network_osc("security", "group", "rule", "list", name, "-f", "value", "-c", "IP Protocol").stdout.split()
    assert sorted(rule for rule in rules if rule != "None") == ["icmp", "tcp"]  # and the two egress rules
    assert name in network_osc("security", "group", "list", "-f", "value", "-c", "Name").stdout
    network_osc("security", "group", "delete", name)


def test_sdk_security_groups(network_sdk: Any) -> None:
    group = network_sdk.network.create_security_group(name=unique("sdk-sg"))
    rule = network_sdk.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", protocol="tcp", port_range_min=443, port_range_max=443, ether_type="IPv4"
    )
    assert rule.port_range_min == 443
    assert rule.id in [r.id for r in network_sdk.network.security_group_rules(security_group_id=group.id)]
    network_sdk.network.delete_security_group_rule(rule)
    network_sdk.network.delete_security_group(group)

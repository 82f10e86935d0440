"""Nova's security-group APIs over the networking service's groups (fake hypervisor, no
dataplane): addSecurityGroup / removeSecurityGroup through the raw API and the stock
CLI, the ports' groups in Neutron and the server view following, the groups of a server,
and the deprecated os-security-groups / os-security-group-rules proxies (gone at 2.36),
with Nova's answers to mistakes and another project kept out."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import ApiSpec
from tests.api.compute.helpers import LATEST, checked, mv, wait_for
from tests.conftest import Identity, ServiceClient, admin_identity, cli_runner, login, make_project, make_user

PROXY = mv("2.35")  # the last microversion of the proxies

# Nova's own response schema of a group (nova/api/openstack/compute/schemas/security_groups.py),
# stricter than the OpenAPI spec's, which leaves the proxies' bodies open
RULE_SCHEMA = {
    "type": "object",
    "properties": {
        "from_port": {"type": ["integer", "null"], "minimum": -1},
        "to_port": {"type": ["integer", "null"], "minimum": -1},
        "group": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "tenant_id": {"type": "string"}},
            "additionalProperties": False,
        },
        "id": {"type": "string"},
        "ip_protocol": {"type": ["string", "null"]},
        "ip_range": {"type": "object", "properties": {"cidr": {"type": "string"}}, "additionalProperties": False},
        "parent_group_id": {"type": "string"},
    },
    "required": ["from_port", "group", "id", "ip_protocol", "ip_range", "parent_group_id", "to_port"],
    "additionalProperties": False,
}
GROUP_SCHEMA = {
    "type": "object",
    "properties": {
        "description": {"type": ["string", "null"]},
        "id": {"type": "string"},
        "name": {"type": "string"},
        "rules": {"type": "array", "items": RULE_SCHEMA},
        "tenant_id": {"type": "string"},
    },
    "required": ["description", "id", "name", "rules", "tenant_id"],
    "additionalProperties": False,
}
ONE = {"type": "object", "properties": {"security_group": GROUP_SCHEMA}, "required": ["security_group"], "additionalProperties": False}
MANY = {
    "type": "object",
    "properties": {"security_groups": {"type": "array", "items": GROUP_SCHEMA}},
    "required": ["security_groups"],
    "additionalProperties": False,
}
ONE_RULE = {"type": "object", "properties": {"security_group_rule": RULE_SCHEMA}, "required": ["security_group_rule"]}


@dataclass
class Tenant:
    project: dict[str, Any]
    user: dict[str, Any]
    password: str
    identity: Identity
    nova: ServiceClient
    neutron: ServiceClient

    def env(self, net_cloud: LiveCloud) -> dict[str, str]:
        """OS_* variables for running the CLI as this user."""
        return {
            **net_cloud.env("admin"),
            "OS_USERNAME": self.user["name"],
            "OS_PASSWORD": self.password,
            "OS_PROJECT_NAME": self.project["name"],
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
        }


def new_tenant(net_cloud: LiveCloud) -> Tenant:
    admin = admin_identity(net_cloud)
    project = make_project(admin)
    user, password = make_user(admin, project["id"], "member")
    identity = login(net_cloud, user, password, project["id"])
    return Tenant(project, user, password, identity, identity.service("/compute/v2.1"), identity.service("/networking"))


@pytest.fixture(scope="module")
def alice(net_cloud: LiveCloud) -> Tenant:
    return new_tenant(net_cloud)


@pytest.fixture(scope="module")
def bob(net_cloud: LiveCloud) -> Tenant:
    return new_tenant(net_cloud)


def boot(tenant: Tenant, net_image: str, networks: Any = "auto") -> str:
    body = {"name": f"sg-{uuid.uuid4().hex[:6]}", "imageRef": net_image, "flavorRef": "1", "networks": networks}
    reply = tenant.nova.post("/servers", json={"server": body}, headers=LATEST)
    assert reply.status_code == 202, reply.text
    server_id = reply.json()["server"]["id"]
    wait_for(tenant.nova, server_id, "ACTIVE")
    return str(server_id)


@pytest.fixture(scope="module")
def server(alice: Tenant, net_image: str) -> str:
    """Alice's server on her one network (so one port, in her default group)."""
    net = alice.neutron.post("/v2.0/networks", json={"network": {"name": "sg-net"}}).json()["network"]
    subnet = alice.neutron.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"], "cidr": "10.40.0.0/24", "ip_version": 4}})
    assert subnet.status_code == 201, subnet.text
    return boot(alice, net_image)


def neutron_group(tenant: Tenant, name: str) -> dict[str, Any]:
    reply = tenant.neutron.post("/v2.0/security-groups", json={"security_group": {"name": name}})
    assert reply.status_code == 201, reply.text
    return dict(reply.json()["security_group"])


def port_groups(tenant: Tenant, server_id: str) -> set[str]:
    (port,) = tenant.neutron.get(f"/v2.0/ports?device_id={server_id}").json()["ports"]
    return set(port["security_groups"])


def shown_groups(tenant: Tenant, server_id: str) -> list[str]:
    server = tenant.nova.get(f"/servers/{server_id}", headers=LATEST).json()["server"]
    return [group["name"] for group in server.get("security_groups", [])]


def act(tenant: Tenant, server_id: str, body: dict[str, Any]) -> Any:
    return tenant.nova.post(f"/servers/{server_id}/action", json=body)


def default_group_id(tenant: Tenant) -> str:
    groups = tenant.neutron.get("/v2.0/security-groups?name=default").json()["security_groups"]
    return str(groups[0]["id"])


# -- addSecurityGroup / removeSecurityGroup --------------------------------------------------------
def test_add_and_remove_through_the_api(alice: Tenant, server: str, spec: ApiSpec | None) -> None:
    web = neutron_group(alice, "web")
    default_id = default_group_id(alice)
    assert port_groups(alice, server) == {default_id} and shown_groups(alice, server) == ["default"]

    added = act(alice, server, {"addSecurityGroup": {"name": "web"}})
    assert added.status_code == 202 and added.content == b"", added.text
    assert port_groups(alice, server) == {default_id, web["id"]}
    assert shown_groups(alice, server) == ["default", "web"]
    # what Nova lists for the server: each group with its ingress rules, by project and name
    # (the default group's rules have no protocol nor ports: nulls, which Nova's own schema
    # allows and the OpenAPI spec does not; test_removing_every_group checks against the spec)
    body = alice.nova.get(f"/servers/{server}/os-security-groups").json()
    jsonschema.validate(body, MANY)
    assert [g["name"] for g in body["security_groups"]] == ["default", "web"]
    default, listed_web = body["security_groups"]
    assert listed_web == {"id": web["id"], "name": "web", "description": "", "tenant_id": alice.project["id"], "rules": []}
    # the default group's ingress rule (from its own members; IPv4 shown, as Nova shows both)
    assert {"name": "default", "tenant_id": alice.project["id"]} in [r["group"] for r in default["rules"]]

    # already there: Neutron's duplicate, a 400 from Nova
    again = act(alice, server, {"addSecurityGroup": {"name": web["id"]}})
    assert again.status_code == 400 and "Duplicate" in again.json()["badRequest"]["message"]

    removed = act(alice, server, {"removeSecurityGroup": {"name": web["id"]}})  # by id
    assert removed.status_code == 202, removed.text
    assert port_groups(alice, server) == {default_id} and shown_groups(alice, server) == ["default"]
    # Nova: a group the server does not have is "not associated": 404
    gone = act(alice, server, {"removeSecurityGroup": {"name": "web"}})
    assert gone.status_code == 404
    assert gone.json()["itemNotFound"]["message"] == f"Security group web not associated with the instance {server}"


def test_removing_every_group(alice: Tenant, net_image: str, server: str, spec: ApiSpec | None) -> None:
    lone = boot(alice, net_image)
    assert act(alice, lone, {"removeSecurityGroup": {"name": "default"}}).status_code == 202
    assert port_groups(alice, lone) == set() and shown_groups(alice, lone) == []
    assert alice.nova.get(f"/servers/{lone}/os-security-groups").json() == {"security_groups": []}

    ssh = neutron_group(alice, "ssh")
    rule = {"security_group_id": ssh["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
    assert alice.neutron.post("/v2.0/security-group-rules", json={"security_group_rule": rule}).status_code == 201
    assert act(alice, lone, {"addSecurityGroup": {"name": ssh["id"]}}).status_code == 202
    path = f"/servers/{lone}/os-security-groups"
    body = checked(spec, alice.nova.get(path), "GET", path, 200)
    jsonschema.validate(body, MANY)
    ((listed,),) = [body["security_groups"]]
    assert listed["rules"] == [
        {
            "id": listed["rules"][0]["id"],
            "parent_group_id": ssh["id"],
            "ip_protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "ip_range": {"cidr": "0.0.0.0/0"},
            "group": {},
        }
    ]  # the egress rules are not Nova's to show
    assert act(alice, lone, {"removeSecurityGroup": {"name": "ssh"}}).status_code == 202
    assert act(alice, lone, {"addSecurityGroup": {"name": "default"}}).status_code == 202
    assert shown_groups(alice, lone) == ["default"]
    alice.nova.delete(f"/servers/{lone}")


def test_action_mistakes(alice: Tenant, bob: Tenant, net_image: str, server: str) -> None:
    unknown = act(alice, server, {"addSecurityGroup": {"name": "no-such-group"}})
    assert unknown.status_code == 404
    assert unknown.json()["itemNotFound"]["message"] == f"Security group no-such-group is not found for project {alice.project['id']}"
    assert act(alice, server, {"removeSecurityGroup": {"name": str(uuid.uuid4())}}).status_code == 404
    for argument in ({}, {"name": ""}, {"name": 1}, {"name": "web", "extra": 1}, "web", None):
        assert act(alice, server, {"addSecurityGroup": argument}).status_code == 400, argument
    blank = act(alice, server, {"addSecurityGroup": {"name": "  "}})
    assert blank.status_code == 400 and blank.json()["badRequest"]["message"] == "Security group name cannot be empty"
    assert act(alice, str(uuid.uuid4()), {"addSecurityGroup": {"name": "default"}}).status_code == 404

    # another project's group is none of alice's, by id or by name
    bobs = neutron_group(bob, "bobs")
    assert act(alice, server, {"addSecurityGroup": {"name": bobs["id"]}}).status_code == 404
    assert act(alice, server, {"addSecurityGroup": {"name": "bobs"}}).status_code == 404
    # two groups of one name: which? (Nova's 409)
    neutron_group(alice, "twin")
    neutron_group(alice, "twin")
    assert act(alice, server, {"addSecurityGroup": {"name": "twin"}}).status_code == 409
    # a server without ports has nothing to put a group on
    portless = boot(alice, net_image, "none")
    assert act(alice, portless, {"addSecurityGroup": {"name": "default"}}).status_code == 404
    assert alice.nova.get(f"/servers/{portless}/os-security-groups").json() == {"security_groups": []}
    alice.nova.delete(f"/servers/{portless}")


def test_another_project_cannot_touch_the_server(alice: Tenant, bob: Tenant, server: str) -> None:
    for name in ("addSecurityGroup", "removeSecurityGroup"):
        assert act(bob, server, {name: {"name": "default"}}).status_code == 404
    assert bob.nova.get(f"/servers/{server}/os-security-groups").status_code == 404
    assert shown_groups(alice, server) == ["default"]


def test_reader_may_look_but_not_change(net_cloud: LiveCloud, alice: Tenant, server: str) -> None:
    admin = admin_identity(net_cloud)
    user, password = make_user(admin, alice.project["id"], "reader")
    reader = login(net_cloud, user, password, alice.project["id"]).service("/compute/v2.1")
    assert reader.get(f"/servers/{server}/os-security-groups").status_code == 200
    assert reader.post(f"/servers/{server}/action", json={"addSecurityGroup": {"name": "default"}}).status_code == 403
    assert reader.post("/os-security-groups", json={"security_group": {"name": "r", "description": ""}}, headers=PROXY).status_code == 403


def test_stock_cli(net_cloud: LiveCloud, alice: Tenant, server: str) -> None:
    run = cli_runner(net_cloud)
    env = alice.env(net_cloud)
    cli = neutron_group(alice, "cli")
    run("server", "add", "security", "group", server, "cli", env=env)
    assert cli["id"] in port_groups(alice, server) and shown_groups(alice, server) == ["default", "cli"]
    shown = json.loads(run("server", "show", server, "-f", "json", env=env).stdout)
    assert sorted(g["name"] for g in shown["security_groups"]) == ["cli", "default"]
    run("server", "remove", "security", "group", server, cli["id"], env=env)  # the CLI passes names and ids through
    assert cli["id"] not in port_groups(alice, server) and shown_groups(alice, server) == ["default"]
    failed = run("server", "remove", "security", "group", server, "cli", env=env, check=False)
    assert failed.returncode != 0


# -- the os-security-groups proxy ----------------------------------------------------------------
def proxy_group(tenant: Tenant, name: str, description: str = "") -> dict[str, Any]:
    reply = tenant.nova.post("/os-security-groups", json={"security_group": {"name": name, "description": description}}, headers=PROXY)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    jsonschema.validate(body, ONE)
    return dict(body["security_group"])


def proxy_rule(tenant: Tenant, **fields: Any) -> Any:
    return tenant.nova.post("/os-security-group-rules", json={"security_group_rule": fields}, headers=PROXY)


def test_group_crud(alice: Tenant, bob: Tenant, spec: ApiSpec | None) -> None:
    body = {"security_group": {"name": " spaced name ", "description": "first"}}
    created = checked(spec, alice.nova.post("/os-security-groups", json=body, headers=PROXY), "POST", "/os-security-groups", 200)
    jsonschema.validate(created, ONE)
    made = created["security_group"]
    assert made == {"id": made["id"], "name": " spaced name ", "description": "first", "tenant_id": alice.project["id"], "rules": []}
    assert alice.neutron.get(f"/v2.0/security-groups/{made['id']}").json()["security_group"]["name"] == " spaced name "

    listed = checked(spec, alice.nova.get("/os-security-groups", headers=PROXY), "GET", "/os-security-groups", 200)
    jsonschema.validate(listed, MANY)
    assert made in listed["security_groups"] and "default" in [g["name"] for g in listed["security_groups"]]
    assert listed["security_groups"] == sorted(listed["security_groups"], key=lambda g: (g["tenant_id"], g["name"]))
    assert len(alice.nova.get("/os-security-groups?limit=1", headers=PROXY).json()["security_groups"]) == 1
    assert alice.nova.get("/os-security-groups?limit=-1", headers=PROXY).status_code == 400
    # all_tenants is for admins; a member still sees their own
    assert {g["tenant_id"] for g in alice.nova.get("/os-security-groups?all_tenants=1", headers=PROXY).json()["security_groups"]} == {
        alice.project["id"]
    }

    shown = checked(
        spec, alice.nova.get(f"/os-security-groups/{made['id']}", headers=PROXY), "GET", f"/os-security-groups/{made['id']}", 200
    )
    jsonschema.validate(shown, ONE)
    assert shown["security_group"] == made
    updated = alice.nova.put(
        f"/os-security-groups/{made['id']}", json={"security_group": {"name": "renamed", "description": "second"}}, headers=PROXY
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["security_group"]["name"], updated.json()["security_group"]["description"]) == ("renamed", "second")

    # Nova's refusals
    assert alice.nova.get("/os-security-groups/not-a-uuid", headers=PROXY).status_code == 400
    assert alice.nova.get(f"/os-security-groups/{uuid.uuid4()}", headers=PROXY).status_code == 404
    assert (
        alice.nova.put(
            f"/os-security-groups/{uuid.uuid4()}", json={"security_group": {"name": "x", "description": ""}}, headers=PROXY
        ).status_code
        == 404
    )
    for body in (
        {"security_group": {"name": "x"}},
        {"security_group": {"name": "x" * 256, "description": ""}},
        {"security_group": "x"},
        {},
    ):
        assert alice.nova.post("/os-security-groups", json=body, headers=PROXY).status_code == 400, body
    assert (
        alice.nova.post("/os-security-groups", json={"security_group": {"name": "default", "description": ""}}, headers=PROXY).status_code
        == 403
    )
    assert bob.nova.get(f"/os-security-groups/{made['id']}", headers=PROXY).status_code == 404  # not bob's
    assert bob.nova.delete(f"/os-security-groups/{made['id']}", headers=PROXY).status_code == 404

    deleted = alice.nova.delete(f"/os-security-groups/{made['id']}", headers=PROXY)
    assert deleted.status_code == 202 and deleted.content == b""
    assert alice.nova.get(f"/os-security-groups/{made['id']}", headers=PROXY).status_code == 404
    assert alice.nova.delete(f"/os-security-groups/{made['id']}", headers=PROXY).status_code == 404
    assert alice.nova.delete(f"/os-security-groups/{default_group_id(alice)}", headers=PROXY).status_code == 400


def test_group_in_use_cannot_go(alice: Tenant, server: str) -> None:
    used = proxy_group(alice, "used")
    assert act(alice, server, {"addSecurityGroup": {"name": "used"}}).status_code == 202
    refused = alice.nova.delete(f"/os-security-groups/{used['id']}", headers=PROXY)
    assert refused.status_code == 400, refused.text
    assert act(alice, server, {"removeSecurityGroup": {"name": "used"}}).status_code == 202
    assert alice.nova.delete(f"/os-security-groups/{used['id']}", headers=PROXY).status_code == 202


def test_admin_lists_every_project(net_cloud: LiveCloud, alice: Tenant, bob: Tenant) -> None:
    nova = admin_identity(net_cloud).service("/compute/v2.1")
    proxy_group(bob, "for-admin")
    every = {g["tenant_id"] for g in nova.get("/os-security-groups?all_tenants=1", headers=PROXY).json()["security_groups"]}
    assert {alice.project["id"], bob.project["id"]} <= every
    own = {g["tenant_id"] for g in nova.get("/os-security-groups", headers=PROXY).json()["security_groups"]}
    assert bob.project["id"] not in own


# -- the os-security-group-rules proxy -------------------------------------------------------------
def test_rules(alice: Tenant, spec: ApiSpec | None) -> None:
    parent, peer = proxy_group(alice, "parent"), proxy_group(alice, "peer")
    tcp = checked(
        spec,
        proxy_rule(alice, parent_group_id=parent["id"], ip_protocol="tcp", from_port=22, to_port=22),
        "POST",
        "/os-security-group-rules",
        200,
    )
    jsonschema.validate(tcp, ONE_RULE)
    tcp = tcp["security_group_rule"]
    assert {k: v for k, v in tcp.items() if k != "id"} == {
        "parent_group_id": parent["id"], "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "ip_range": {"cidr": "0.0.0.0/0"}, "group": {},
    }  # fmt: skip
    cidr = proxy_rule(alice, parent_group_id=parent["id"], ip_protocol="udp", from_port=53, to_port=53, cidr="10.2.3.124/24").json()
    assert cidr["security_group_rule"]["ip_range"] == {"cidr": "10.2.3.124/24"}
    by_group = proxy_rule(alice, parent_group_id=parent["id"], ip_protocol="tcp", from_port=80, to_port=80, group_id=peer["id"]).json()
    assert by_group["security_group_rule"]["group"] == {"name": "peer", "tenant_id": alice.project["id"]}
    assert by_group["security_group_rule"]["ip_range"] == {}
    icmp = proxy_rule(alice, parent_group_id=parent["id"], ip_protocol="icmp", from_port=-1, to_port=-1).json()["security_group_rule"]
    assert (icmp["from_port"], icmp["to_port"]) == (-1, -1)
    whole = proxy_rule(alice, parent_group_id=parent["id"], group_id=peer["id"], ip_protocol="udp").json()["security_group_rule"]
    assert (whole["from_port"], whole["to_port"]) == (1, 65535)  # a group rule without ports opens them all

    # in Neutron: ingress rules of the right ethertype and ports
    neutron_rule = alice.neutron.get(f"/v2.0/security-group-rules/{tcp['id']}").json()["security_group_rule"]
    assert (neutron_rule["direction"], neutron_rule["ethertype"], neutron_rule["port_range_min"]) == ("ingress", "IPv4", 22)
    v6 = proxy_rule(alice, parent_group_id=parent["id"], ip_protocol="tcp", from_port=1, to_port=2, cidr="2001:db8::/64").json()
    assert (
        alice.neutron.get(f"/v2.0/security-group-rules/{v6['security_group_rule']['id']}").json()["security_group_rule"]["ethertype"]
        == "IPv6"
    )

    rules = alice.nova.get(f"/os-security-groups/{parent['id']}", headers=PROXY).json()["security_group"]["rules"]
    assert {tcp["id"], icmp["id"], whole["id"]} <= {r["id"] for r in rules}

    deleted = alice.nova.delete(f"/os-security-group-rules/{tcp['id']}", headers=PROXY)
    assert deleted.status_code == 202 and deleted.content == b""
    assert alice.nova.delete(f"/os-security-group-rules/{tcp['id']}", headers=PROXY).status_code == 404
    assert alice.nova.delete("/os-security-group-rules/not-a-uuid", headers=PROXY).status_code == 400
    assert alice.neutron.get(f"/v2.0/security-group-rules/{tcp['id']}").status_code == 404

    # a rule naming a group goes with that group (Neutron's cascade)
    assert alice.nova.delete(f"/os-security-groups/{peer['id']}", headers=PROXY).status_code == 202
    rules = alice.nova.get(f"/os-security-groups/{parent['id']}", headers=PROXY).json()["security_group"]["rules"]
    assert by_group["security_group_rule"]["id"] not in {r["id"] for r in rules}


def test_rule_mistakes(alice: Tenant, bob: Tenant) -> None:
    parent = proxy_group(alice, "strict")
    pid = parent["id"]
    bad = [
        {"parent_group_id": pid, "ip_protocol": "tcp", "from_port": 22, "to_port": 21},  # range backwards
        {"parent_group_id": pid, "ip_protocol": "tcp", "from_port": 65536, "to_port": 22},
        {"parent_group_id": pid, "ip_protocol": "tcp", "from_port": 22, "to_port": 65536},
        {"parent_group_id": pid, "ip_protocol": "tcp", "from_port": "x", "to_port": 22},
        {"parent_group_id": pid, "ip_protocol": "999abc", "from_port": 22, "to_port": 22},
        {"parent_group_id": pid, "ip_protocol": "icmp", "from_port": 256, "to_port": 0},
        {"parent_group_id": pid, "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.300/24"},
        {"parent_group_id": pid, "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.1"},  # no prefix
        {"parent_group_id": pid, "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/0"},
        {"parent_group_id": pid, "ip_protocol": "tcp"},  # a CIDR rule needs its ports
        {"parent_group_id": "not-a-uuid", "ip_protocol": "tcp", "from_port": 22, "to_port": 22},
        {"parent_group_id": pid, "group_id": "not-a-uuid", "ip_protocol": "tcp", "from_port": 22, "to_port": 22},
        {"ip_protocol": "tcp", "from_port": 22, "to_port": 22},
    ]
    for fields in bad:
        reply = proxy_rule(alice, **fields)
        assert reply.status_code == 400, (fields, reply.text)
    assert alice.nova.post("/os-security-group-rules", json={}, headers=PROXY).status_code == 400
    assert proxy_rule(alice, parent_group_id=str(uuid.uuid4()), ip_protocol="tcp", from_port=22, to_port=22).status_code == 404
    assert proxy_rule(alice, parent_group_id=pid, group_id=str(uuid.uuid4()), ip_protocol="tcp").status_code == 404
    # the same rule twice: Nova's 400
    first = proxy_rule(alice, parent_group_id=pid, ip_protocol="tcp", from_port=22, to_port=22)
    assert first.status_code == 200
    twice = proxy_rule(alice, parent_group_id=pid, ip_protocol="tcp", from_port=22, to_port=22)
    assert twice.status_code == 400 and twice.json()["badRequest"]["message"] == f"This rule already exists in group {pid}"
    # bob can neither add to alice's group nor remove her rule
    assert proxy_rule(bob, parent_group_id=pid, ip_protocol="tcp", from_port=23, to_port=23).status_code == 404
    rule_id = first.json()["security_group_rule"]["id"]
    assert bob.nova.delete(f"/os-security-group-rules/{rule_id}", headers=PROXY).status_code == 404


def test_proxies_are_gone_at_2_36(alice: Tenant, server: str) -> None:
    group = proxy_group(alice, "old")
    later = mv("2.36")
    assert alice.nova.get("/os-security-groups", headers=later).status_code == 404
    assert alice.nova.get(f"/os-security-groups/{group['id']}", headers=later).status_code == 404
    assert (
        alice.nova.post("/os-security-groups", json={"security_group": {"name": "n", "description": ""}}, headers=later).status_code == 404
    )
    assert (
        alice.nova.put(
            f"/os-security-groups/{group['id']}", json={"security_group": {"name": "n", "description": ""}}, headers=later
        ).status_code
        == 404
    )
    assert alice.nova.delete(f"/os-security-groups/{group['id']}", headers=later).status_code == 404
    assert proxy_rule(alice, parent_group_id=group["id"]).status_code == 400  # still there at 2.35
    assert (
        alice.nova.post(
            "/os-security-group-rules", json={"security_group_rule": {"parent_group_id": group["id"]}}, headers=later
        ).status_code
        == 404
    )
    assert alice.nova.delete(f"/os-security-group-rules/{uuid.uuid4()}", headers=later).status_code == 404
    # the server's groups and the actions are no proxies: they stay
    assert alice.nova.get(f"/servers/{server}/os-security-groups", headers=LATEST).status_code == 200
    assert alice.nova.post(f"/servers/{server}/action", json={"addSecurityGroup": {"name": "old"}}, headers=LATEST).status_code == 202
    assert alice.nova.post(f"/servers/{server}/action", json={"removeSecurityGroup": {"name": "old"}}, headers=LATEST).status_code == 202


# -- without the networking service -----------------------------------------------------------------
def test_without_networking(nova: ServiceClient) -> None:
    """The compute-only cloud of tests/api/compute/conftest.py: no groups at all."""
    assert nova.get("/os-security-groups", headers=PROXY).json() == {"security_groups": []}
    assert nova.get(f"/os-security-groups/{uuid.uuid4()}", headers=PROXY).status_code == 404
    assert nova.post("/os-security-groups", json={"security_group": {"name": "n", "description": ""}}, headers=PROXY).status_code == 404
    assert (
        nova.post(
            "/os-security-group-rules", json={"security_group_rule": {"parent_group_id": str(uuid.uuid4())}}, headers=PROXY
        ).status_code
        == 404
    )

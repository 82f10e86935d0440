"""/v3/roles and implied roles: CRUD, Keystone's naming and immutability rules, role
inference rules and what they do to tokens, cleanup on delete, the stock CLI."""

from __future__ import annotations

import json
import uuid
from typing import Any

from pocketstack.testing.server import LiveCloud
from tests.conftest import Identity, login, make_project, make_user, unique


def _role(admin: Identity, **fields: Any) -> dict[str, Any]:
    reply = admin.post("/roles", json={"role": {"name": unique("r"), **fields}})
    assert reply.status_code == 201, reply.text
    return reply.json()["role"]


def _domain(admin: Identity) -> dict[str, Any]:
    reply = admin.post("/domains", json={"domain": {"name": unique("d")}})
    assert reply.status_code == 201, reply.text
    return reply.json()["domain"]


def test_crud_and_listing(admin: Identity) -> None:
    role = _role(admin, description="first", tier="gold")
    assert role["domain_id"] is None and role["description"] == "first" and role["options"] == {} and role["tier"] == "gold"
    assert role["links"]["self"].endswith(f"/v3/roles/{role['id']}")
    assert admin.get(f"/roles/{role['id']}").json()["role"] == role
    assert [r["id"] for r in admin.get(f"/roles?name={role['name']}").json()["roles"]] == [role["id"]]

    renamed = admin.patch(f"/roles/{role['id']}", json={"role": {"name": role["name"] + "-2", "description": None}})
    assert renamed.status_code == 200, renamed.text
    after = renamed.json()["role"]
    assert after["name"] == role["name"] + "-2" and after["description"] is None and after["tier"] == "gold"
    assert admin.get(f"/roles/{role['id']}").json()["role"] == after

    # a domain role is listed only when its domain is asked for, as Keystone does
    domain = _domain(admin)
    scoped = _role(admin, name=after["name"], domain_id=domain["id"])  # same name, other namespace
    assert admin.get(f"/roles?domain_id={domain['id']}").json()["roles"] == [scoped]
    assert scoped["id"] not in {r["id"] for r in admin.get("/roles").json()["roles"]}

    assert admin.delete(f"/roles/{role['id']}").status_code == 204
    assert admin.get(f"/roles/{role['id']}").status_code == 404
    assert admin.delete(f"/roles/{role['id']}").status_code == 404


def test_bad_requests_and_conflicts(admin: Identity) -> None:
    role = _role(admin)
    other = _role(admin)
    duplicate = admin.post("/roles", json={"role": {"name": role["name"]}})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == 409
    assert admin.patch(f"/roles/{other['id']}", json={"role": {"name": role["name"]}}).status_code == 409
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 256}, {"name": 5}, {"name": "ok", "options": {"bogus": True}}):
        assert admin.post("/roles", json={"role": body}).status_code == 400, body
    for patch in ({}, {"name": None}, {"domain_id": "default"}, {"id": uuid.uuid4().hex}):
        assert admin.patch(f"/roles/{role['id']}", json={"role": patch}).status_code == 400, patch
    assert admin.post("/roles", json={"role": {"name": unique("r"), "domain_id": uuid.uuid4().hex}}).status_code == 404
    assert admin.get(f"/roles/{uuid.uuid4().hex}").status_code == 404


def test_immutable_roles(admin: Identity) -> None:
    role = _role(admin, options={"immutable": True})
    assert role["options"] == {"immutable": True}
    assert admin.patch(f"/roles/{role['id']}", json={"role": {"description": "x"}}).status_code == 403
    # turning immutability off must come alone
    mixed = {"role": {"options": {"immutable": False}, "description": "x"}}
    assert admin.patch(f"/roles/{role['id']}", json=mixed).status_code == 403
    assert admin.delete(f"/roles/{role['id']}").status_code == 403
    unlocked = admin.patch(f"/roles/{role['id']}", json={"role": {"options": {"immutable": False}}})
    assert unlocked.status_code == 200 and unlocked.json()["role"]["options"] == {"immutable": False}
    cleared = admin.patch(f"/roles/{role['id']}", json={"role": {"options": {"immutable": None}}})
    assert cleared.json()["role"]["options"] == {}
    assert admin.delete(f"/roles/{role['id']}").status_code == 204
    # the bootstrap roles are immutable, as keystone-manage bootstrap makes them
    member = admin.get("/roles?name=member").json()["roles"][0]
    assert member["options"] == {"immutable": True}
    assert admin.delete(f"/roles/{member['id']}").status_code == 403


def test_implied_roles_rules_and_bodies(admin: Identity, role_ids: dict[str, str]) -> None:
    prior, implied, third = _role(admin), _role(admin), _role(admin)
    path = f"/roles/{prior['id']}/implies/{implied['id']}"
    created = admin.put(path)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["role_inference"]["prior_role"] == {"id": prior["id"], "name": prior["name"], "links": prior["links"]}
    assert body["role_inference"]["implies"] == {"id": implied["id"], "name": implied["name"], "links": implied["links"]}
    assert body["links"]["self"].endswith("/v3" + path)
    assert admin.get(path).json() == body
    assert admin.request("HEAD", path).status_code == 204  # Keystone's contract, though GET says 200
    assert admin.put(path).status_code == 409
    assert admin.put(f"/roles/{prior['id']}/implies/{third['id']}").status_code == 201

    listed = admin.get(f"/roles/{prior['id']}/implies").json()
    assert sorted(r["id"] for r in listed["role_inference"]["implies"]) == sorted([implied["id"], third["id"]])
    assert listed["links"]["self"].endswith(f"/v3/roles/{prior['id']}/implies")
    rules = {r["prior_role"]["id"]: r for r in admin.get("/role_inferences").json()["role_inferences"]}
    assert len(rules[prior["id"]]["implies"]) == 2
    assert [r["name"] for r in rules[role_ids["member"]]["implies"]] == ["reader"]

    domain_role = _role(admin, domain_id=_domain(admin)["id"])
    assert admin.put(f"/roles/{prior['id']}/implies/{domain_role['id']}").status_code == 403  # global -> domain role
    assert admin.put(f"/roles/{domain_role['id']}/implies/{prior['id']}").status_code == 201  # the other way is fine
    assert admin.put(f"/roles/{prior['id']}/implies/{role_ids['admin']}").status_code == 403  # admin is never implied
    assert admin.put(f"/roles/{uuid.uuid4().hex}/implies/{prior['id']}").status_code == 404

    assert admin.delete(path).status_code == 204
    assert admin.get(path).status_code == 404
    assert admin.delete(path).status_code == 404


def test_implied_roles_reach_tokens_and_role_delete_cleans_up(cloud: LiveCloud, admin: Identity) -> None:
    project = make_project(admin)
    user, password = make_user(admin)
    prior, middle, last = _role(admin), _role(admin), _role(admin)
    admin.put(f"/roles/{prior['id']}/implies/{middle['id']}")
    admin.put(f"/roles/{middle['id']}/implies/{last['id']}")
    assert admin.put(f"/projects/{project['id']}/users/{user['id']}/roles/{prior['id']}").status_code == 204

    token = login(cloud, user, password, project["id"]).token
    seen = admin.get("/auth/tokens", headers={"X-Subject-Token": token}).json()["token"]["roles"]
    assert {r["id"] for r in seen} == {prior["id"], middle["id"], last["id"]}

    # deleting the middle role breaks the chain and drops its grants and links
    assert admin.delete(f"/roles/{middle['id']}").status_code == 204
    seen = admin.get("/auth/tokens", headers={"X-Subject-Token": token}).json()["token"]["roles"]
    assert {r["id"] for r in seen} == {prior["id"]}
    assert admin.get(f"/roles/{prior['id']}/implies").json()["role_inference"]["implies"] == []

    assert admin.delete(f"/roles/{prior['id']}").status_code == 204
    assert admin.get(f"/role_assignments?user.id={user['id']}").json()["role_assignments"] == []
    # the user holds nothing on the project any more: the token is dead
    assert admin.get("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404


def test_non_admins_cannot_manage_roles(cloud: LiveCloud, admin: Identity) -> None:
    project = make_project(admin)
    user, password = make_user(admin, project["id"], "member")
    member = login(cloud, user, password, project["id"])
    role = _role(admin)
    assert member.patch(f"/roles/{role['id']}", json={"role": {"name": "mine"}}).status_code == 403
    assert member.delete(f"/roles/{role['id']}").status_code == 403
    assert member.put(f"/roles/{role['id']}/implies/{role['id']}").status_code == 403
    assert admin.get(f"/roles/{role['id']}").json()["role"]["name"] == role["name"]


def test_stock_cli(osc: Any) -> None:
    name = unique("r")
    created = json.loads(osc("role", "create", name, "--description", "by the cli", "-f", "json").stdout)
    assert created["name"] == name and created["description"] == "by the cli"
    assert name in osc("role", "list", "-f", "value", "-c", "Name").stdout.split()
    osc("role", "set", "--name", name + "-x", name)
    assert json.loads(osc("role", "show", name + "-x", "-f", "json").stdout)["id"] == created["id"]
    osc("implied", "role", "create", name + "-x", "--implied-role", "reader")
    rules = json.loads(osc("implied", "role", "list", "-f", "json").stdout)
    assert {"Prior Role Name": name + "-x", "Implied Role Name": "reader"}.items() <= next(
        r for r in rules if r["Prior Role Name"] == name + "-x"
    ).items()
    osc("implied", "role", "delete", name + "-x", "--implied-role", "reader")
    osc("role", "delete", name + "-x")
    assert name + "-x" not in osc("role", "list", "-f", "value", "-c", "Name").stdout.split()

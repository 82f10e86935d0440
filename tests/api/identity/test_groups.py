"""/v3/groups: CRUD, filters, membership, cleanup on delete, the stock CLI and the SDK."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.conftest import Identity, make_user, unique


def _group(admin: Identity, **fields: Any) -> dict[str, Any]:
    reply = admin.post("/groups", json={"group": {"name": unique("g"), **fields}})
    assert reply.status_code == 201, reply.text
    return reply.json()["group"]


def test_crud_filters_and_extras(admin: Identity) -> None:
    domain = admin.post("/domains", json={"domain": {"name": unique("d")}}).json()["domain"]
    group = _group(admin, domain_id=domain["id"], description="first", tier="gold")
    assert group["domain_id"] == domain["id"] and group["description"] == "first" and group["tier"] == "gold"
    assert group["links"]["self"].endswith(f"/v3/groups/{group['id']}")
    assert admin.get(f"/groups/{group['id']}").json()["group"] == group

    renamed = admin.patch(f"/groups/{group['id']}", json={"group": {"name": group["name"] + "-2"}})
    assert renamed.status_code == 200, renamed.text
    after = renamed.json()["group"]
    assert after["name"] == group["name"] + "-2" and after["description"] == "first" and after["domain_id"] == domain["id"]

    plain = _group(admin)
    assert plain["domain_id"] == "default" and plain["description"] == ""
    listed = {g["id"] for g in admin.get(f"/groups?domain_id={domain['id']}").json()["groups"]}
    assert listed == {group["id"]}
    assert [g["id"] for g in admin.get(f"/groups?name={plain['name']}").json()["groups"]] == [plain["id"]]
    assert {group["id"], plain["id"]} <= {g["id"] for g in admin.get("/groups").json()["groups"]}

    assert admin.delete(f"/groups/{group['id']}").status_code == 204
    assert admin.get(f"/groups/{group['id']}").status_code == 404
    assert admin.delete(f"/groups/{group['id']}").status_code == 404
    admin.patch(f"/domains/{domain['id']}", json={"domain": {"enabled": False}})
    admin.delete(f"/domains/{domain['id']}")


def test_bad_requests(admin: Identity) -> None:
    group = _group(admin)
    assert admin.post("/groups", json={"group": {"name": group["name"]}}).status_code == 409
    assert admin.post("/groups", json={"group": {"name": unique("g"), "domain_id": uuid.uuid4().hex}}).status_code == 404
    for body in ({}, {"name": ""}, {"name": "  "}, {"name": "x" * 256}, {"name": 7}, {"name": "ok", "description": 5}):
        assert admin.post("/groups", json={"group": body}).status_code == 400, body
    other = _group(admin)
    assert admin.patch(f"/groups/{group['id']}", json={"group": {"name": other["name"]}}).status_code == 409
    for patch in ({}, {"domain_id": uuid.uuid4().hex}, {"name": None}):
        assert admin.patch(f"/groups/{group['id']}", json={"group": patch}).status_code == 400, patch
    assert admin.get(f"/groups/{uuid.uuid4().hex}").status_code == 404


def test_membership(admin: Identity) -> None:
    group = _group(admin)
    users = [make_user(admin)[0] for _ in range(2)]
    for user in users:
        assert admin.put(f"/groups/{group['id']}/users/{user['id']}").status_code == 204
    assert admin.put(f"/groups/{group['id']}/users/{users[0]['id']}").status_code == 204  # idempotent

    members = admin.get(f"/groups/{group['id']}/users").json()["users"]
    # listed exactly as they were created (Tempest compares the whole bodies)
    assert sorted(members, key=lambda u: u["name"]) == sorted(users, key=lambda u: u["name"])
    assert [u["id"] for u in admin.get(f"/groups/{group['id']}/users?name={users[1]['name']}").json()["users"]] == [users[1]["id"]]

    check = admin.request("HEAD", f"/groups/{group['id']}/users/{users[0]['id']}")
    assert check.status_code == 204
    mine = admin.get(f"/users/{users[0]['id']}/groups").json()["groups"]
    # Keystone adds membership_expires_at only for expiring (federated) memberships
    assert mine == [group]

    assert admin.delete(f"/groups/{group['id']}/users/{users[0]['id']}").status_code == 204
    assert admin.delete(f"/groups/{group['id']}/users/{users[0]['id']}").status_code == 404
    assert admin.request("HEAD", f"/groups/{group['id']}/users/{users[0]['id']}").status_code == 404
    assert admin.put(f"/groups/{group['id']}/users/{uuid.uuid4().hex}").status_code == 404
    assert admin.put(f"/groups/{uuid.uuid4().hex}/users/{users[0]['id']}").status_code == 404


def test_deleting_a_user_or_a_group_drops_memberships(admin: Identity) -> None:
    group = _group(admin)
    stays, _ = make_user(admin)
    leaves, _ = make_user(admin)
    for user in (stays, leaves):
        admin.put(f"/groups/{group['id']}/users/{user['id']}")
    assert admin.delete(f"/users/{leaves['id']}").status_code == 204
    assert [u["id"] for u in admin.get(f"/groups/{group['id']}/users").json()["users"]] == [stays["id"]]
    assert admin.delete(f"/groups/{group['id']}").status_code == 204
    assert admin.get(f"/users/{stays['id']}/groups").json()["groups"] == []


def test_stock_cli_group_commands(osc, admin: Identity) -> None:
    name = unique("g")
    created = json.loads(osc("group", "create", "--description", "cli group", name, "-f", "json").stdout)
    assert created["description"] == "cli group" and created["domain_id"] == "default"
    user, _ = make_user(admin)
    osc("group", "add", "user", name, user["name"])
    assert "in group" in osc("group", "contains", "user", name, user["name"]).stdout
    listed = json.loads(osc("user", "list", "--group", name, "-f", "json").stdout)
    assert [u["Name"] for u in listed] == [user["name"]]
    osc("group", "remove", "user", name, user["name"])
    assert "not in group" in osc("group", "contains", "user", name, user["name"], check=False).stderr
    osc("group", "set", "--name", name + "-2", name)
    osc("group", "delete", name + "-2")
    assert admin.get(f"/groups?name={name}-2").json()["groups"] == []


def test_sdk_groups(sdk, admin: Identity) -> None:
    group = sdk.identity.create_group(name=unique("g"), description="via sdk", domain_id="default")
    user, _ = make_user(admin)
    sdk.identity.add_user_to_group(user["id"], group)
    assert sdk.identity.check_user_in_group(user["id"], group) is True
    assert [u.id for u in sdk.identity.group_users(group)] == [user["id"]]
    sdk.identity.remove_user_from_group(user["id"], group)
    assert sdk.identity.check_user_in_group(user["id"], group) is False
    sdk.identity.delete_group(group)
    assert sdk.identity.find_group(group.name) is None

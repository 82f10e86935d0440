"""os-server-groups against a live cloud: Nova's bodies across 2.1 / 2.13 / 2.15 / 2.64,
validation, the server_groups and server_group_members quotas, members shown only while
their servers live (server rows written straight into the database), listing with
all_projects and paging, project isolation, the helpers server create uses, and the
stock clients."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pocketstack.config import ComputeSettings
from pocketstack.core.faults import BadRequest, Forbidden
from pocketstack.services.compute.backend import server_groups as backend
from pocketstack.testing.spec import ApiSpec
from tests.api.compute.conftest import Member
from tests.api.compute.fakes import Records
from tests.api.compute.helpers import LATEST, checked, mv
from tests.conftest import ServiceClient, unique


@pytest.fixture()
def user(member: Callable[..., Member]) -> Member:
    return member()


def fault(reply: httpx.Response, status: int, key: str) -> str:
    assert reply.status_code == status, reply.text
    return str(reply.json()[key]["message"])


def create(client: ServiceClient, version: str = "latest", **fields: Any) -> dict[str, Any]:
    if version == "latest" or version >= "2.64":
        body = {"name": unique("sg"), "policy": "anti-affinity", **fields}
    else:
        body = {"name": unique("sg"), "policies": ["anti-affinity"], **fields}
    reply = client.post("/os-server-groups", json={"server_group": body}, headers=mv(version))
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["server_group"])


# -- bodies per microversion -------------------------------------------------------------------


def test_create_show_list_delete_latest(spec: ApiSpec | None, user: Member) -> None:
    client = user.nova
    body = {"server_group": {"name": "web", "policy": "anti-affinity", "rules": {"max_server_per_host": 3}}}
    made = checked(spec, client.post("/os-server-groups", json=body, headers=LATEST), "POST", "/os-server-groups", 200)["server_group"]
    assert made == {
        "id": made["id"],
        "name": "web",
        "policy": "anti-affinity",
        "rules": {"max_server_per_host": 3},
        "members": [],
        "project_id": user.project["id"],
        "user_id": user.user["id"],
    }
    path = f"/os-server-groups/{made['id']}"
    assert checked(spec, client.get(path, headers=LATEST), "GET", path, 200)["server_group"] == made
    listed = checked(spec, client.get("/os-server-groups", headers=LATEST), "GET", "/os-server-groups", 200)["server_groups"]
    assert listed == [made]
    deleted = client.delete(path, headers=LATEST)
    assert deleted.status_code == 204 and not deleted.content
    assert fault(client.get(path), 404, "itemNotFound") == f"Instance group {made['id']} could not be found."
    fault(client.delete(path), 404, "itemNotFound")


def test_older_microversions(user: Member) -> None:
    client = user.nova
    old = create(client, "2.1", policies=["affinity"])
    assert old == {"id": old["id"], "name": old["name"], "policies": ["affinity"], "metadata": {}, "members": []}
    at_213 = client.get(f"/os-server-groups/{old['id']}", headers=mv("2.13")).json()["server_group"]
    assert at_213["project_id"] == user.project["id"] and at_213["user_id"] == user.user["id"]
    # the soft policies came with 2.15, "policy" and "rules" with 2.64
    fault(
        client.post("/os-server-groups", json={"server_group": {"name": "s", "policies": ["soft-affinity"]}}, headers=mv("2.14")),
        400,
        "badRequest",
    )
    soft = create(client, "2.15", policies=["soft-anti-affinity"])
    assert soft["policies"] == ["soft-anti-affinity"]
    latest = client.get(f"/os-server-groups/{soft['id']}", headers=LATEST).json()["server_group"]
    assert latest["policy"] == "soft-anti-affinity" and latest["rules"] == {} and "policies" not in latest and "metadata" not in latest
    fault(
        client.post("/os-server-groups", json={"server_group": {"name": "p", "policies": ["affinity"]}}, headers=mv("2.64")),
        400,
        "badRequest",
    )
    fault(
        client.post("/os-server-groups", json={"server_group": {"name": "p", "policy": "affinity"}}, headers=mv("2.63")), 400, "badRequest"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "policy": "best-effort"},
        {"name": "", "policy": "affinity"},
        {"name": " padded", "policy": "affinity"},
        {"name": "x" * 256, "policy": "affinity"},
        {"policy": "affinity"},
        {"name": "x"},
        {"name": "x", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}},
        {"name": "x", "policy": "anti-affinity", "rules": {"max_server_per_host": "two"}},
        {"name": "x", "policy": "anti-affinity", "rules": {"other": 1}},
        {"name": "x", "policy": "affinity", "extra": True},
    ],
)
def test_bad_bodies(user: Member, body: dict[str, Any]) -> None:
    fault(user.nova.post("/os-server-groups", json={"server_group": body}, headers=LATEST), 400, "badRequest")


def test_rules_only_for_anti_affinity(user: Member) -> None:
    reply = user.nova.post(
        "/os-server-groups", json={"server_group": {"name": "a", "policy": "affinity", "rules": {"max_server_per_host": 2}}}, headers=LATEST
    )
    assert fault(reply, 400, "badRequest") == "Only anti-affinity policy supports rules."
    # a number may come as a string of digits, as Nova's schema allows
    made = create(user.nova, rules={"max_server_per_host": "2"})
    assert made["rules"] == {"max_server_per_host": 2}


# -- who sees what -----------------------------------------------------------------------------


def test_projects_see_their_own_groups_and_admins_all(nova: ServiceClient, user: Member, member: Callable[..., Member]) -> None:
    mine = create(user.nova)
    other = member()
    theirs = create(other.nova)
    assert [g["id"] for g in user.nova.get("/os-server-groups", headers=LATEST).json()["server_groups"]] == [mine["id"]]
    # a member asking for all projects quietly gets their own (Nova)
    assert [g["id"] for g in user.nova.get("/os-server-groups?all_projects=1", headers=LATEST).json()["server_groups"]] == [mine["id"]]
    everyone = {g["id"] for g in nova.get("/os-server-groups?all_projects=True", headers=LATEST).json()["server_groups"]}
    assert {mine["id"], theirs["id"]} <= everyone
    assert mine["id"] not in {g["id"] for g in nova.get("/os-server-groups", headers=LATEST).json()["server_groups"]}
    fault(user.nova.get(f"/os-server-groups/{theirs['id']}"), 403, "forbidden")
    fault(user.nova.delete(f"/os-server-groups/{theirs['id']}"), 403, "forbidden")
    assert nova.get(f"/os-server-groups/{theirs['id']}", headers=LATEST).status_code == 200
    reader = member("reader")
    fault(
        reader.nova.post("/os-server-groups", json={"server_group": {"name": "r", "policy": "affinity"}}, headers=LATEST), 403, "forbidden"
    )


def test_paging_with_limit_and_offset(user: Member) -> None:
    made = [create(user.nova)["id"] for _ in range(3)]
    page = user.nova.get("/os-server-groups?limit=2", headers=LATEST).json()["server_groups"]
    assert [g["id"] for g in page] == made[:2]
    rest = user.nova.get("/os-server-groups?limit=2&offset=2", headers=LATEST).json()["server_groups"]
    assert [g["id"] for g in rest] == made[2:]
    fault(user.nova.get("/os-server-groups?limit=-1"), 400, "badRequest")
    fault(user.nova.get("/os-server-groups?bogus=1", headers=mv("2.75")), 400, "badRequest")


# -- quotas and members -----------------------------------------------------------------------------


def test_server_groups_quota(nova: ServiceClient, user: Member) -> None:
    project_id = user.project["id"]
    nova.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"server_groups": 1}})
    try:
        create(user.nova)
        refused = user.nova.post("/os-server-groups", json={"server_group": {"name": "two", "policy": "affinity"}}, headers=LATEST)
        assert fault(refused, 403, "forbidden") == "Quota exceeded, too many server groups."
        assert user.nova.get("/limits", headers=LATEST).json()["limits"]["absolute"]["totalServerGroupsUsed"] == 1
        detail = nova.get(f"/os-quota-sets/{project_id}/detail", headers=LATEST).json()["quota_set"]
        assert detail["server_groups"] == {"in_use": 1, "limit": 1, "reserved": 0}
    finally:
        nova.delete(f"/os-quota-sets/{project_id}")


def test_members_are_the_live_servers(user: Member, records: Records) -> None:
    group = create(user.nova)
    servers = [records.add_server(user.project["id"], user.user["id"]) for _ in range(2)]
    try:
        for server in servers:
            records.add_member(group["id"], server)
        shown = user.nova.get(f"/os-server-groups/{group['id']}", headers=LATEST).json()["server_group"]
        assert sorted(shown["members"]) == sorted(servers)
        records.mark_deleted(servers[0])
        shown = user.nova.get(f"/os-server-groups/{group['id']}", headers=LATEST).json()["server_group"]
        assert shown["members"] == [servers[1]]
        listed = user.nova.get("/os-server-groups", headers=LATEST).json()["server_groups"]
        assert listed[0]["members"] == [servers[1]]
    finally:
        records.remove_servers(servers)


def test_helpers_for_server_create(nova: ServiceClient, user: Member, member: Callable[..., Member], records: Records) -> None:
    """What server create calls: the group of the "group" hint, and add_member within
    the server_group_members quota."""
    group = create(user.nova)
    theirs = create(member().nova)
    settings = ComputeSettings()
    project_id = user.project["id"]
    with records.db.read() as db:
        assert backend.group_of_server_hints(db, project_id, {}) is None
        assert backend.group_of_server_hints(db, project_id, {"group": group["id"]}).uuid == group["id"]  # type: ignore[union-attr]
        assert backend.group_of_server_hints(db, project_id, {"group": [group["id"]]}).uuid == group["id"]  # type: ignore[union-attr]
        for bad in ("not-a-uuid", str(uuid.uuid4()), theirs["id"]):
            with pytest.raises(BadRequest):
                backend.group_of_server_hints(db, project_id, {"group": bad})
        # an admin (project None) may name any project's group
        assert backend.group_of_server_hints(db, None, {"group": theirs["id"]}).uuid == theirs["id"]  # type: ignore[union-attr]
    nova.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"server_group_members": 2}})
    servers = [records.add_server(project_id, user.user["id"]) for _ in range(3)]
    try:
        with records.db.write() as db:
            found = backend.get_group(db, group["id"])
            backend.add_member(db, settings, found, servers[0])
            backend.add_member(db, settings, found, servers[1])
            with pytest.raises(Forbidden, match="Quota exceeded, too many servers in group"):
                backend.add_member(db, settings, found, servers[2])
        # a deleted member frees its place
        records.mark_deleted(servers[0])
        with records.db.write() as db:
            backend.add_member(db, settings, backend.get_group(db, group["id"]), servers[2])
        shown = user.nova.get(f"/os-server-groups/{group['id']}", headers=LATEST).json()["server_group"]
        assert sorted(shown["members"]) == sorted(servers[1:])
    finally:
        records.remove_servers(servers)
        nova.delete(f"/os-quota-sets/{project_id}")


# -- the stock clients ------------------------------------------------------------------------------


def test_openstack_cli(compute_osc: Any) -> None:
    name = unique("cli")
    made = json.loads(compute_osc("server", "group", "create", "--policy", "soft-anti-affinity", "-f", "json", name).stdout)
    assert made["name"] == name and "soft-anti-affinity" in str(made.get("policy", made.get("policies")))
    listed = json.loads(compute_osc("server", "group", "list", "-f", "json").stdout)
    assert name in [row["Name"] for row in listed]
    shown = json.loads(compute_osc("server", "group", "show", "-f", "json", name).stdout)
    assert shown["id"] == made["id"]
    compute_osc("server", "group", "delete", name)
    assert name not in compute_osc("server", "group", "list", "-f", "value", "-c", "Name").stdout


def test_openstacksdk(compute_sdk: Any) -> None:
    conn = compute_sdk
    name = unique("sdk")
    group = conn.compute.create_server_group(name=name, policy="affinity")
    assert group.policy == "affinity" and group.member_ids == []
    assert conn.compute.find_server_group(name).id == group.id
    assert group.id in {g.id for g in conn.compute.server_groups()}
    conn.compute.delete_server_group(group)
    assert conn.compute.find_server_group(name) is None

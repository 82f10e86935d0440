"""Isolation between projects and personas: a project member sees and changes nothing of
another project, a reader writes nothing, only admins create identities, and a disabled
user's token stops at the very next request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pocketstack.testing.server import LiveCloud
from tests.conftest import Identity, login, make_project, make_user, password_token, unique


@dataclass
class Tenant:
    project: dict[str, Any]
    user: dict[str, Any]
    password: str
    client: Identity  # the user's token scoped to the project


def tenant(cloud: LiveCloud, admin: Identity, role: str = "member") -> Tenant:
    project = make_project(admin)
    user, password = make_user(admin, project["id"], role)
    return Tenant(project, user, password, login(cloud, user, password, project["id"]))


@pytest.fixture
def a(cloud: LiveCloud, admin: Identity) -> Tenant:
    return tenant(cloud, admin)


@pytest.fixture
def b(cloud: LiveCloud, admin: Identity) -> Tenant:
    return tenant(cloud, admin)


def test_member_sees_only_their_own_project(a: Tenant, b: Tenant) -> None:
    assert a.client.get(f"/projects/{a.project['id']}").status_code == 200
    assert a.client.get(f"/projects/{b.project['id']}").status_code == 403
    assert a.client.get("/projects").status_code == 403  # listing all projects is for admins
    mine = a.client.get(f"/users/{a.user['id']}/projects")
    assert mine.status_code == 200
    assert [p["id"] for p in mine.json()["projects"]] == [a.project["id"]]
    assert a.client.get(f"/users/{b.user['id']}/projects").status_code == 403
    assert a.client.get(f"/users/{b.user['id']}").status_code == 403
    assert a.client.get(f"/users/{a.user['id']}").status_code == 200


def test_member_cannot_change_another_project(a: Tenant, b: Tenant, admin: Identity) -> None:
    before = admin.get(f"/projects/{b.project['id']}").json()["project"]
    assert a.client.patch(f"/projects/{b.project['id']}", json={"project": {"description": "mine now"}}).status_code == 403
    assert a.client.put(f"/projects/{b.project['id']}/tags/stolen").status_code == 403
    assert a.client.delete(f"/projects/{b.project['id']}").status_code == 403
    assert admin.get(f"/projects/{b.project['id']}").json()["project"] == before


def test_member_cannot_see_or_change_another_projects_role_assignments(
    a: Tenant, b: Tenant, admin: Identity, role_ids: dict[str, str]
) -> None:
    listed = a.client.get(f"/role_assignments?scope.project.id={b.project['id']}")
    # Keystone refuses outright; an implementation may instead show nothing of B
    assert listed.status_code == 403 or not any(
        ra.get("scope", {}).get("project", {}).get("id") == b.project["id"] for ra in listed.json()["role_assignments"]
    )
    assert a.client.get(f"/projects/{b.project['id']}/users/{b.user['id']}/roles").status_code == 403
    # neither joining B nor promoting oneself in A
    assert a.client.put(f"/projects/{b.project['id']}/users/{a.user['id']}/roles/{role_ids['member']}").status_code == 403
    assert a.client.put(f"/projects/{a.project['id']}/users/{a.user['id']}/roles/{role_ids['admin']}").status_code == 403
    assert a.client.delete(f"/projects/{b.project['id']}/users/{b.user['id']}/roles/{role_ids['member']}").status_code == 403
    held = admin.get(f"/role_assignments?user.id={a.user['id']}").json()["role_assignments"]
    assert [(ra["scope"]["project"]["id"], ra["role"]["id"]) for ra in held] == [(a.project["id"], role_ids["member"])]
    assert admin.get(f"/projects/{b.project['id']}/users/{b.user['id']}/roles/{role_ids['member']}").status_code == 204


def test_member_cannot_scope_to_another_project(cloud: LiveCloud, a: Tenant, b: Tenant) -> None:
    reply = password_token(cloud, {"id": a.user["id"], "password": a.password}, {"project": {"id": b.project["id"]}})
    assert reply.status_code == 401


def test_member_cannot_read_another_users_credentials(a: Tenant, b: Tenant) -> None:
    assert a.client.get(f"/users/{b.user['id']}/application_credentials").status_code == 403
    mine = a.client.get("/credentials")
    assert mine.status_code == 200
    assert all(c["user_id"] == a.user["id"] for c in mine.json()["credentials"])


def test_reader_reads_but_cannot_write(cloud: LiveCloud, admin: Identity, role_ids: dict[str, str]) -> None:
    reader = tenant(cloud, admin, role="reader")
    pid = reader.project["id"]
    assert reader.client.get(f"/projects/{pid}").status_code == 200
    writes = [
        ("PATCH", f"/projects/{pid}", {"project": {"description": "x"}}),
        ("PUT", f"/projects/{pid}/tags/t", None),
        ("DELETE", f"/projects/{pid}", None),
        ("PUT", f"/projects/{pid}/users/{reader.user['id']}/roles/{role_ids['member']}", None),
        ("PATCH", f"/users/{reader.user['id']}", {"user": {"enabled": True, "description": "self-promoted"}}),
    ]
    for method, path, body in writes:
        reply = reader.client.request(method, path, json=body)
        assert reply.status_code == 403, (method, path, reply.text)
    assert admin.get(f"/projects/{pid}").json()["project"]["description"] != "x"


def test_domain_reader_lists_users_but_cannot_create_them(cloud: LiveCloud, admin: Identity, role_ids: dict[str, str]) -> None:
    user, password = make_user(admin)
    assert admin.put(f"/domains/default/users/{user['id']}/roles/{role_ids['reader']}").status_code == 204
    reply = password_token(cloud, {"id": user["id"], "password": password}, {"domain": {"id": "default"}})
    assert reply.status_code == 201, reply.text
    domain_reader = Identity(cloud, reply.headers["X-Subject-Token"])
    assert domain_reader.get("/users").status_code == 200
    assert domain_reader.post("/users", json={"user": {"name": unique("u"), "domain_id": "default"}}).status_code == 403


NON_ADMIN_CREATES = [
    ("/users", "user", lambda: {"name": unique("u"), "domain_id": "default", "password": "pw"}),
    ("/roles", "role", lambda: {"name": unique("r")}),
    ("/projects", "project", lambda: {"name": unique("p"), "domain_id": "default"}),
    ("/domains", "domain", lambda: {"name": unique("d")}),
    ("/groups", "group", lambda: {"name": unique("g"), "domain_id": "default"}),
    ("/services", "service", lambda: {"type": unique("svc")}),
    ("/regions", "region", lambda: {"id": unique("R")}),
]


@pytest.mark.parametrize(("path", "key", "fields"), NON_ADMIN_CREATES, ids=[c[0] for c in NON_ADMIN_CREATES])
def test_non_admins_cannot_create_identities(a: Tenant, admin: Identity, path: str, key: str, fields: Any) -> None:
    body = fields()
    reply = a.client.post(path, json={key: body})
    assert reply.status_code == 403, reply.text
    assert reply.json()["error"]["code"] == 403
    listed = admin.get(path).json()[path.strip("/")]
    name_or_id = body.get("name") or body.get("type") or body.get("id")
    assert not any(name_or_id in (item.get("name"), item.get("type"), item.get("id")) for item in listed)


def test_demo_user_cannot_see_the_admin_project(cloud: LiveCloud, admin: Identity) -> None:
    env = cloud.env("demo")
    reply = password_token(
        cloud,
        {"name": env["OS_USERNAME"], "domain": {"name": "Default"}, "password": env["OS_PASSWORD"]},
        {"project": {"name": env["OS_PROJECT_NAME"], "domain": {"name": "Default"}}},
    )
    assert reply.status_code == 201, reply.text
    demo = Identity(cloud, reply.headers["X-Subject-Token"])
    admin_project = admin.get("/auth/tokens", headers={"X-Subject-Token": admin.token}).json()["token"]["project"]
    assert demo.get(f"/projects/{admin_project['id']}").status_code == 403
    assert demo.get("/users").status_code == 403


def test_disabled_users_token_stops_at_the_next_request(a: Tenant, admin: Identity) -> None:
    path = f"/projects/{a.project['id']}"
    assert a.client.get(path).status_code == 200
    assert admin.patch(f"/users/{a.user['id']}", json={"user": {"enabled": False}}).status_code == 200
    refused = a.client.get(path)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == 401

"""Grants on projects, domains and the system (plain and OS-INHERIT), and the
/v3/role_assignments listing in its direct and effective forms, as Keystone answers them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import load_spec
from tests.conftest import Identity, login, make_project, make_user, password_token, unique


def _post(admin: Identity, path: str, kind: str, **fields: Any) -> dict[str, Any]:
    reply = admin.post(path, json={kind: {"name": unique(kind[0]), **fields}})
    assert reply.status_code == 201, reply.text
    return reply.json()[kind]


def _assignments(admin: Identity, query: str) -> list[dict[str, Any]]:
    reply = admin.get(f"/role_assignments?{query}")
    assert reply.status_code == 200, reply.text
    return reply.json()["role_assignments"]


def _pairs(entries: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(scope target id, role id) of each listed assignment."""
    out = set()
    for e in entries:
        scope = e["scope"]
        where = scope.get("project", scope.get("domain", {})).get("id", "system")
        out.add((where, e["role"]["id"]))
    return out


@dataclass
class World:
    """A domain with a project tree (parent > child), a user in a group, and roles."""

    domain: dict[str, Any]
    parent: dict[str, Any]
    child: dict[str, Any]
    user: dict[str, Any]
    password: str
    group: dict[str, Any]
    role: dict[str, Any]
    implied: dict[str, Any]


@pytest.fixture
def world(admin: Identity) -> World:
    domain = _post(admin, "/domains", "domain")
    parent = make_project(admin, domain_id=domain["id"])
    child = make_project(admin, domain_id=domain["id"], parent_id=parent["id"])
    user, password = make_user(admin, domain_id=domain["id"])
    group = _post(admin, "/groups", "group", domain_id=domain["id"])
    assert admin.put(f"/groups/{group['id']}/users/{user['id']}").status_code == 204
    role, implied = _post(admin, "/roles", "role"), _post(admin, "/roles", "role")
    assert admin.put(f"/roles/{role['id']}/implies/{implied['id']}").status_code == 201
    return World(domain, parent, child, user, password, group, role, implied)


GRANT_PATHS = [
    "/projects/{parent}/users/{user}/roles",
    "/projects/{parent}/groups/{group}/roles",
    "/domains/{domain}/users/{user}/roles",
    "/domains/{domain}/groups/{group}/roles",
    "/system/users/{user}/roles",
    "/system/groups/{group}/roles",
    "/OS-INHERIT/domains/{domain}/users/{user}/roles/{role}/inherited_to_projects",
    "/OS-INHERIT/domains/{domain}/groups/{group}/roles/{role}/inherited_to_projects",
    "/OS-INHERIT/projects/{parent}/users/{user}/roles/{role}/inherited_to_projects",
    "/OS-INHERIT/projects/{parent}/groups/{group}/roles/{role}/inherited_to_projects",
]


@pytest.mark.parametrize("template", GRANT_PATHS)
def test_grant_check_list_revoke(admin: Identity, world: World, template: str) -> None:
    ids = {"parent": world.parent["id"], "user": world.user["id"], "group": world.group["id"], "domain": world.domain["id"]}
    ids["role"] = world.role["id"]
    if "{role}" in template:
        member = template.format(**ids)
        listing = member.replace(f"/{world.role['id']}/", "/") if "OS-INHERIT/domains" in member else None
    else:
        listing = template.format(**ids)
        member = f"{listing}/{world.role['id']}"
    assert admin.request("HEAD", member).status_code == 404
    assert admin.put(member).status_code == 204
    assert admin.put(member).status_code == 204  # granting twice is silent
    assert admin.get(member).status_code == 204
    assert admin.request("HEAD", member).status_code == 204
    if listing:
        roles = admin.get(listing).json()["roles"]
        assert [r["id"] for r in roles] == [world.role["id"]] and roles[0]["links"]["self"].endswith(world.role["id"])
    inherited = "OS-INHERIT" in template
    held = _assignments(admin, f"role.id={world.role['id']}")
    assert len(held) == 1 and held[0]["links"]["assignment"].endswith("/v3" + member)
    assert ("OS-INHERIT:inherited_to" in held[0]["scope"]) == inherited
    assert admin.delete(member).status_code == 204
    assert admin.delete(member).status_code == 404
    assert admin.get(member).status_code == 404
    assert _assignments(admin, f"role.id={world.role['id']}") == []


def test_grant_refusals(admin: Identity, world: World) -> None:
    other_domain = _post(admin, "/domains", "domain")
    foreign_role = _post(admin, "/roles", "role", domain_id=other_domain["id"])
    user, parent, role = world.user["id"], world.parent["id"], world.role["id"]
    nobody = uuid.uuid4().hex
    assert admin.put(f"/projects/{parent}/users/{user}/roles/{foreign_role['id']}").status_code == 403
    assert admin.put(f"/system/users/{user}/roles/{foreign_role['id']}").status_code == 400
    for path in (
        f"/projects/{nobody}/users/{user}/roles/{role}",
        f"/projects/{parent}/users/{nobody}/roles/{role}",
        f"/projects/{parent}/groups/{nobody}/roles/{role}",
        f"/projects/{parent}/users/{user}/roles/{nobody}",
        f"/domains/{nobody}/users/{user}/roles/{role}",
        f"/domains/{parent}/users/{user}/roles/{role}",  # a project is not a domain
        f"/system/users/{nobody}/roles/{role}",
    ):
        reply = admin.put(path)
        assert reply.status_code == 404, (path, reply.text)
    own_role = _post(admin, "/roles", "role", domain_id=world.domain["id"])
    assert admin.put(f"/projects/{parent}/users/{user}/roles/{own_role['id']}").status_code == 204


def test_effective_listing(admin: Identity, world: World) -> None:
    """Group grants reach members, inherited grants the projects below, implied roles
    come along with their prior role; the direct listing shows the grants themselves."""
    admin.put(f"/projects/{world.parent['id']}/groups/{world.group['id']}/roles/{world.role['id']}")
    admin.put(f"/OS-INHERIT/projects/{world.parent['id']}/users/{world.user['id']}/roles/{world.implied['id']}/inherited_to_projects")
    user = world.user["id"]

    direct = _assignments(admin, f"user.id={user}")
    assert _pairs(direct) == {(world.parent["id"], world.implied["id"])}
    assert direct[0]["scope"]["OS-INHERIT:inherited_to"] == "projects"

    effective = _assignments(admin, f"user.id={user}&effective")
    parent, child = world.parent["id"], world.child["id"]
    assert _pairs(effective) == {(parent, world.role["id"]), (parent, world.implied["id"]), (child, world.implied["id"])}
    via_group = next(e for e in effective if e["scope"]["project"]["id"] == parent and e["role"]["id"] == world.role["id"])
    assert via_group["user"] == {"id": user}
    assert via_group["links"]["membership"].endswith(f"/v3/groups/{world.group['id']}/users/{user}")
    assert via_group["links"]["assignment"].endswith(f"/v3/projects/{parent}/groups/{world.group['id']}/roles/{world.role['id']}")
    implied = next(e for e in effective if e["scope"]["project"]["id"] == parent and e["role"]["id"] == world.implied["id"])
    assert "prior_role" in implied["links"]
    inherited = next(e for e in effective if e["scope"]["project"]["id"] == child)
    assert inherited["scope"]["OS-INHERIT:inherited_to"] == "projects"

    # per project, and the whole tree at once
    assert _pairs(_assignments(admin, f"user.id={user}&effective&scope.project.id={child}")) == {(child, world.implied["id"])}
    tree = _assignments(admin, f"scope.project.id={parent}&include_subtree&effective")
    assert (child, world.implied["id"]) in _pairs(tree)
    assert _assignments(admin, f"scope.project.id={parent}&effective&role.id={world.implied['id']}&user.id={user}")


def test_include_names_and_domain_roles(admin: Identity, world: World) -> None:
    domain_role = _post(admin, "/roles", "role", domain_id=world.domain["id"])
    admin.put(f"/roles/{domain_role['id']}/implies/{world.role['id']}")
    admin.put(f"/domains/{world.domain['id']}/users/{world.user['id']}/roles/{domain_role['id']}")
    entry = _assignments(admin, f"user.id={world.user['id']}&include_names")[0]
    named_domain = {"id": world.domain["id"], "name": world.domain["name"]}
    assert entry["role"] == {"id": domain_role["id"], "name": domain_role["name"], "domain": named_domain}
    assert entry["user"] == {"id": world.user["id"], "name": world.user["name"], "domain": named_domain}
    assert entry["scope"] == {"domain": named_domain}
    # effective: the domain role itself never counts, only what it implies
    effective = _assignments(admin, f"user.id={world.user['id']}&effective")
    assert {e["role"]["id"] for e in effective} == {world.role["id"], world.implied["id"]}


@pytest.mark.parametrize(
    "query",
    [
        "scope.project.id=a&scope.domain.id=b",
        "scope.system=all&scope.domain.id=b",
        "scope.system=all&scope.project.id=a",
        "user.id=a&group.id=b",
        "effective&group.id=b",
        "effective&scope.domain.id=b&scope.OS-INHERIT:inherited_to=projects",
        "include_subtree",
    ],
)
def test_listing_refuses_useless_filters(admin: Identity, query: str) -> None:
    assert admin.get(f"/role_assignments?{query}").status_code == 400


def test_what_callers_may_see(cloud: LiveCloud, admin: Identity, world: World, role_ids: dict[str, str]) -> None:
    # a domain reader sees its domain's assignments only
    admin.put(f"/domains/{world.domain['id']}/users/{world.user['id']}/roles/{role_ids['reader']}")
    admin.put(f"/projects/{world.parent['id']}/users/{world.user['id']}/roles/{role_ids['member']}")
    reply = password_token(cloud, {"id": world.user["id"], "password": world.password}, {"domain": {"id": world.domain["id"]}})
    domain_reader = Identity(cloud, reply.headers["X-Subject-Token"])
    seen = domain_reader.get("/role_assignments").json()["role_assignments"]
    assert _pairs(seen) == {(world.domain["id"], role_ids["reader"]), (world.parent["id"], role_ids["member"])}

    # a project member sees nothing of other projects, and may not grant
    project = make_project(admin)
    outsider, password = make_user(admin, project["id"], "member")
    member = login(cloud, outsider, password, project["id"])
    listed = member.get(f"/role_assignments?scope.project.id={world.parent['id']}")
    assert listed.status_code == 403 or listed.json()["role_assignments"] == []
    assert member.put(f"/projects/{project['id']}/users/{outsider['id']}/roles/{role_ids['admin']}").status_code == 403
    assert member.get(f"/system/users/{outsider['id']}/roles").status_code == 403


def test_grants_change_what_tokens_hold(cloud: LiveCloud, admin: Identity, world: World) -> None:
    user = {"id": world.user["id"], "password": world.password}
    scope = {"project": {"id": world.child["id"]}}
    assert password_token(cloud, user, scope).status_code == 401
    # a group grant inherited from the domain reaches every project in it
    inherited = f"/OS-INHERIT/domains/{world.domain['id']}/groups/{world.group['id']}/roles/{world.role['id']}/inherited_to_projects"
    assert admin.put(inherited).status_code == 204
    issued = password_token(cloud, user, scope)
    assert issued.status_code == 201, issued.text
    assert {r["id"] for r in issued.json()["token"]["roles"]} == {world.role["id"], world.implied["id"]}
    token = issued.headers["X-Subject-Token"]
    projects = Identity(cloud, token).get("/auth/projects").json()["projects"]
    assert {world.parent["id"], world.child["id"]} <= {p["id"] for p in projects}
    # but not the domain itself
    assert password_token(cloud, user, {"domain": {"id": world.domain["id"]}}).status_code == 401
    assert admin.delete(inherited).status_code == 204
    assert admin.get("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404


def test_bodies_match_keystone_spec(admin: Identity, world: World) -> None:
    spec = load_spec("identity")
    if spec is None:
        pytest.skip("../shared/api-specs is not present")
    admin.put(f"/projects/{world.parent['id']}/groups/{world.group['id']}/roles/{world.role['id']}")
    for query in (f"group.id={world.group['id']}&include_names", f"user.id={world.user['id']}&effective&include_names"):
        reply = admin.get(f"/role_assignments?{query}")
        spec.check("GET", "/v3/role_assignments", 200, reply.json())
    # (not the grant lists: the spec's role says "description" is a string, where Keystone
    # sends null for a role created without one, and so do we)
    implies = f"/roles/{world.role['id']}/implies"
    spec.check("GET", "/v3" + implies, 200, admin.get(implies).json())
    spec.check("GET", "/v3/role_inferences", 200, admin.get("/role_inferences").json())


def test_stock_cli_and_sdk(osc: Any, sdk: Any, admin: Identity) -> None:
    project = make_project(admin)
    user, _ = make_user(admin)
    osc("role", "add", "--user", user["name"], "--project", project["name"], "member")
    table = osc("role", "assignment", "list", "--names", "--user", user["name"], "-f", "value", "-c", "Role", "-c", "Project").stdout
    assert table.split() == ["member", f"{project['name']}@Default"]
    effective = osc("role", "assignment", "list", "--effective", "--names", "--user", user["id"], "-f", "value", "-c", "Role").stdout
    assert sorted(effective.split()) == ["member", "reader"]
    assignments = list(sdk.identity.role_assignments(user_id=user["id"]))
    assert [(a.scope["project"]["id"], a.role["id"]) for a in assignments] == [
        (project["id"], admin.get("/roles?name=member").json()["roles"][0]["id"])
    ]
    osc("role", "remove", "--user", user["name"], "--project", project["name"], "member")
    assert _assignments(admin, f"user.id={user['id']}") == []

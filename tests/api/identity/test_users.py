"""/v3/users: CRUD, options, filters, revocation, self-service passwords, lockout and
the [security_compliance] rules, driven over HTTP and through the stock CLI."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pocketstack.testing.server import LiveCloud
from tests.conftest import Identity, _drop_postgres_database, _postgres_database, make_project, make_user, password_token, unique


def _token(cloud: LiveCloud, user: dict[str, Any], password: str) -> str:
    reply = password_token(cloud, {"id": user["id"], "password": password})
    assert reply.status_code == 201, reply.text
    return reply.headers["X-Subject-Token"]


def _token_status(admin: Identity, token: str) -> int:
    return admin.get("/auth/tokens", headers={"X-Subject-Token": token}).status_code


def _change_own_password(cloud: LiveCloud, user_id: str, original: str, new: str) -> httpx.Response:
    """The self-service route, on purpose without any X-Auth-Token."""
    body = {"user": {"original_password": original, "password": new}}
    return httpx.post(f"{cloud.url}/identity/v3/users/{user_id}/password", json=body, timeout=30)


def test_crud_keeps_extras_and_options_and_never_shows_a_password(admin: Identity) -> None:
    project = make_project(admin)
    name = unique("u")
    body = {
        "name": name,
        "password": "s3cret-Pass",
        "email": f"{name}@example.org",
        "description": "a person",
        "default_project_id": project["id"],
        "favourite_colour": "green",
        "options": {"ignore_password_expiry": True, "multi_factor_auth_rules": [["password", "totp"]]},
    }
    made = admin.post("/users", json={"user": body})
    assert made.status_code == 201, made.text
    user = made.json()["user"]
    assert "password" not in user and "s3cret" not in made.text
    assert user["domain_id"] == "default"  # the caller's (project-scoped) default
    assert user["enabled"] is True and user["password_expires_at"] is None
    assert user["favourite_colour"] == "green" and user["email"] == body["email"]
    assert user["default_project_id"] == project["id"]
    assert user["options"] == body["options"]
    assert user["links"]["self"].endswith(f"/v3/users/{user['id']}")
    assert admin.get(f"/users/{user['id']}").json()["user"] == user

    changed = admin.patch(
        f"/users/{user['id']}",
        json={"user": {"name": name + "-2", "favourite_colour": "blue", "options": {"ignore_password_expiry": None, "lock_password": True}}},
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()["user"]
    assert after["name"] == name + "-2" and after["favourite_colour"] == "blue" and after["email"] == body["email"]
    assert after["options"] == {"lock_password": True, "multi_factor_auth_rules": [["password", "totp"]]}

    assert admin.delete(f"/users/{user['id']}").status_code == 204
    assert admin.get(f"/users/{user['id']}").status_code == 404
    assert admin.delete(f"/users/{user['id']}").status_code == 404


def test_a_user_without_optional_fields_shows_only_what_keystone_shows(admin: Identity) -> None:
    made = admin.post("/users", json={"user": {"name": unique("u")}})
    assert made.status_code == 201, made.text
    user = made.json()["user"]
    assert set(user) == {"id", "name", "domain_id", "enabled", "password_expires_at", "options", "links"}
    # no password at all: nobody can log in as this user
    assert password_token(admin.cloud, {"id": user["id"], "password": ""}).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 256},
        {"name": 42},
        {"name": "ok", "enabled": "yes"},
        {"name": "ok", "password": 1234},
        {"name": "ok", "options": {"no_such_option": True}},
        {"name": "ok", "options": {"lock_password": "true"}},
        {"name": "ok", "options": {"multi_factor_auth_rules": [["password", "password"]]}},
        {"name": "ok", "options": {"multi_factor_auth_rules": [[]]}},
        {"name": "ok", "options": {"multi_factor_auth_rules": [["totp"], ["totp"]]}},
        {"name": "ok", "default_project_id": "default"},  # a domain is no default project
    ],
)
def test_bad_create_bodies_are_400(admin: Identity, body: dict[str, Any]) -> None:
    reply = admin.post("/users", json={"user": body})
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["code"] == 400


def test_conflicts_unknown_domain_and_bad_updates(admin: Identity) -> None:
    user, _ = make_user(admin)
    duplicate = admin.post("/users", json={"user": {"name": user["name"], "domain_id": "default"}})
    assert duplicate.status_code == 409
    # Tempest's test_create_user_for_non_existent_domain wants a 404, as Keystone answers
    assert admin.post("/users", json={"user": {"name": unique("u"), "domain_id": uuid.uuid4().hex}}).status_code == 404
    other, _ = make_user(admin)
    assert admin.patch(f"/users/{user['id']}", json={"user": {"name": other["name"]}}).status_code == 409
    for patch in ({}, {"domain_id": uuid.uuid4().hex}, {"id": uuid.uuid4().hex}, {"enabled": None}, {"options": {"bogus": 1}}):
        reply = admin.patch(f"/users/{user['id']}", json={"user": patch})
        assert reply.status_code == 400, (patch, reply.text)
    assert admin.patch(f"/users/{uuid.uuid4().hex}", json={"user": {"enabled": False}}).status_code == 404


def test_list_filters(admin: Identity) -> None:
    domain = admin.post("/domains", json={"domain": {"name": unique("d")}}).json()["domain"]
    in_domain = admin.post("/users", json={"user": {"name": unique("u"), "domain_id": domain["id"]}}).json()["user"]
    disabled, _ = make_user(admin, enabled=False)

    def names(query: str) -> set[str]:
        reply = admin.get("/users" + query)
        assert reply.status_code == 200, reply.text
        return {u["name"] for u in reply.json()["users"]}

    assert names(f"?domain_id={domain['id']}") == {in_domain["name"]}
    assert disabled["name"] in names("?enabled=false") and in_domain["name"] not in names("?enabled=false")
    assert names(f"?name={disabled['name']}") == {disabled["name"]}
    assert {in_domain["name"], disabled["name"], "admin"} <= names("")
    # nobody here has an expiring password
    assert names("?password_expires_at=lt:2999-01-01T00:00:00Z") == set()
    assert admin.get("/users?password_expires_at=xx:2999-01-01T00:00:00Z").status_code == 400
    assert admin.get("/users?password_expires_at=lt:yesterday").status_code == 400
    admin.patch(f"/domains/{domain['id']}", json={"domain": {"enabled": False}})
    admin.delete(f"/domains/{domain['id']}")


def test_disabling_and_admin_password_reset_revoke_tokens(cloud: LiveCloud, admin: Identity) -> None:
    user, password = make_user(admin)
    token = _token(cloud, user, password)
    assert _token_status(admin, token) == 200

    assert admin.patch(f"/users/{user['id']}", json={"user": {"enabled": False}}).status_code == 200
    assert _token_status(admin, token) == 404
    assert password_token(cloud, {"id": user["id"], "password": password}).status_code == 401
    admin.patch(f"/users/{user['id']}", json={"user": {"enabled": True}})
    assert _token_status(admin, token) == 404  # re-enabling does not resurrect old tokens

    # tokens carry microseconds: one issued right after a revocation is good
    token = _token(cloud, user, password)
    reset = admin.patch(f"/users/{user['id']}", json={"user": {"password": "brand-new-one"}})
    assert reset.status_code == 200 and "brand-new-one" not in reset.text
    assert _token_status(admin, token) == 404
    assert password_token(cloud, {"id": user["id"], "password": password}).status_code == 401
    _token(cloud, user, "brand-new-one")


def test_self_service_password_change_needs_no_token(cloud: LiveCloud, admin: Identity) -> None:
    user, password = make_user(admin)
    token = _token(cloud, user, password)
    wrong = _change_own_password(cloud, user["id"], "not-it", "whatever-1")
    assert wrong.status_code == 401
    assert _change_own_password(cloud, uuid.uuid4().hex, "x", "y").status_code == 401
    assert httpx.post(f"{cloud.url}/identity/v3/users/{user['id']}/password", json={"user": {"password": "x"}}).status_code == 400

    changed = _change_own_password(cloud, user["id"], password, "changed-by-me")
    assert changed.status_code == 204, changed.text
    assert _token_status(admin, token) == 404  # the user's tokens are revoked
    # a token authenticating with a revoked token gets 404, as Keystone (Tempest relies on it)
    rescope = httpx.post(
        cloud.url + "/identity/v3/auth/tokens", json={"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}
    )
    assert rescope.status_code == 404
    _token(cloud, user, "changed-by-me")

    admin.patch(f"/users/{user['id']}", json={"user": {"options": {"lock_password": True}}})
    assert _change_own_password(cloud, user["id"], "changed-by-me", "another-one").status_code == 400


def test_user_projects_and_groups(admin: Identity, cloud: LiveCloud) -> None:
    users = {u["name"]: u for u in admin.get("/users").json()["users"]}
    demo_projects = admin.get(f"/users/{users['demo']['id']}/projects")
    assert demo_projects.status_code == 200
    assert [p["name"] for p in demo_projects.json()["projects"]] == ["demo"]
    admin_projects = {p["name"] for p in admin.get(f"/users/{users['admin']['id']}/projects").json()["projects"]}
    assert "admin" in admin_projects and "demo" not in admin_projects
    assert admin.get(f"/users/{users['admin']['id']}/projects?name=nothing").json()["projects"] == []
    assert admin.get(f"/users/{uuid.uuid4().hex}/projects").status_code == 404

    # a user sees their own projects and groups, not someone else's
    demo = cloud.env("demo")
    reply = password_token(cloud, {"name": "demo", "domain": {"id": "default"}, "password": demo["OS_PASSWORD"]})
    me = Identity(cloud, reply.headers["X-Subject-Token"])
    assert me.get(f"/users/{users['demo']['id']}/projects").status_code == 200
    assert me.get(f"/users/{users['demo']['id']}/groups").json()["groups"] == []
    assert me.get(f"/users/{users['admin']['id']}/projects").status_code == 403
    assert me.get("/users").status_code == 403
    assert me.post("/users", json={"user": {"name": unique("u")}}).status_code == 403


def test_stock_cli_user_commands(osc, cloud: LiveCloud) -> None:
    project = json.loads(osc("project", "create", unique("p"), "-f", "json").stdout)
    name = unique("u")
    created = json.loads(osc("user", "create", "--project", project["name"], "--password", "first-pass", "--email", "a@b.example", name, "-f", "json").stdout)
    assert created["default_project_id"] == project["id"] and created["email"] == "a@b.example"
    osc("user", "set", "--description", "set by the cli", "--disable", name)
    shown = json.loads(osc("user", "show", name, "-f", "json").stdout)
    assert shown["description"] == "set by the cli" and shown["enabled"] is False
    osc("user", "set", "--enable", "--password", "second-pass", name)

    # the user changes their own password with their own (unscoped) credentials
    env = {**cloud.env("admin"), "OS_USERNAME": name, "OS_PASSWORD": "second-pass"}
    for key in ("OS_PROJECT_NAME", "OS_PROJECT_DOMAIN_NAME"):
        env.pop(key, None)
    osc("user", "password", "set", "--original-password", "second-pass", "--password", "third-pass", env=env)
    assert password_token(cloud, {"id": created["id"], "password": "third-pass"}).status_code == 201
    osc("user", "delete", name)
    assert name not in osc("user", "list", "-f", "value", "-c", "Name").stdout


def test_sdk_users(sdk) -> None:
    name = unique("u")
    user = sdk.identity.create_user(name=name, password="sdk-pass", domain_id="default", description="via sdk")
    assert sdk.identity.get_user(user.id).description == "via sdk"
    assert [u.id for u in sdk.identity.users(name=name)] == [user.id]
    sdk.identity.update_user(user, enabled=False)
    assert sdk.identity.get_user(user.id).is_enabled is False
    sdk.identity.delete_user(user)
    assert sdk.identity.find_user(name) is None


# -- [security_compliance] ---------------------------------------------------------------

COMPLIANCE = {
    "POCKETSTACK_IDENTITY__SECURITY_COMPLIANCE__LOCKOUT_FAILURE_ATTEMPTS": "2",
    "POCKETSTACK_IDENTITY__SECURITY_COMPLIANCE__LOCKOUT_DURATION": "3",
    "POCKETSTACK_IDENTITY__SECURITY_COMPLIANCE__UNIQUE_LAST_PASSWORD_COUNT": "2",
    "POCKETSTACK_IDENTITY__SECURITY_COMPLIANCE__MINIMUM_PASSWORD_AGE": "0",
    "POCKETSTACK_IDENTITY__SECURITY_COMPLIANCE__CHANGE_PASSWORD_UPON_FIRST_USE": "true",
}


@pytest.fixture(scope="module")
def strict(cloud: LiveCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveCloud, Identity]]:
    """A second cloud, on the same kind of database, with lockout, history and
    change-password-upon-first-use switched on."""
    db_name = url = None
    if cloud.database_url:
        made = _postgres_database()
        assert made is not None
        db_name, url = made
    live = LiveCloud(tmp_path_factory.mktemp("strict"), database_url=url, extra_env=COMPLIANCE)
    live.start()
    try:
        env = live.env("admin")
        reply = password_token(
            live,
            {"name": env["OS_USERNAME"], "domain": {"name": "Default"}, "password": env["OS_PASSWORD"]},
            {"project": {"name": "admin", "domain": {"name": "Default"}}},
        )
        assert reply.status_code == 201, reply.text
        yield live, Identity(live, reply.headers["X-Subject-Token"])
    finally:
        live.stop()
        if db_name:
            _drop_postgres_database(db_name)


def _strict_user(admin: Identity, **options: Any) -> tuple[dict[str, Any], str]:
    opts = {"ignore_change_password_upon_first_use": True, **options}
    return make_user(admin, options=opts)


def test_lockout_after_failures_and_its_exemption(strict: tuple[LiveCloud, Identity]) -> None:
    cloud, admin = strict
    user, password = _strict_user(admin)
    for _ in range(2):
        assert password_token(cloud, {"id": user["id"], "password": "wrong"}).status_code == 401
    locked = password_token(cloud, {"id": user["id"], "password": password})
    assert locked.status_code == 401 and "locked" in locked.json()["error"]["message"]
    # a locked account cannot change its password either
    assert _change_own_password(cloud, user["id"], password, "new-pass-1").status_code == 401
    time.sleep(3.2)
    assert password_token(cloud, {"id": user["id"], "password": password}).status_code == 201

    exempt, exempt_password = _strict_user(admin, ignore_lockout_failure_attempts=True)
    for _ in range(4):
        assert password_token(cloud, {"id": exempt["id"], "password": "wrong"}).status_code == 401
    assert password_token(cloud, {"id": exempt["id"], "password": exempt_password}).status_code == 201


def test_history_applies_to_self_service_only(strict: tuple[LiveCloud, Identity]) -> None:
    cloud, admin = strict
    user, first = _strict_user(admin)
    assert _change_own_password(cloud, user["id"], first, "second-pass").status_code == 204
    assert _change_own_password(cloud, user["id"], "second-pass", "second-pass").status_code == 400
    assert _change_own_password(cloud, user["id"], "second-pass", first).status_code == 400
    assert _change_own_password(cloud, user["id"], "second-pass", "third-pass").status_code == 204
    # an admin reset may reuse any password
    assert admin.patch(f"/users/{user['id']}", json={"user": {"password": "third-pass"}}).status_code == 200
    assert admin.patch(f"/users/{user['id']}", json={"user": {"password": first}}).status_code == 200


def test_change_password_upon_first_use(strict: tuple[LiveCloud, Identity]) -> None:
    cloud, admin = strict
    user, password = make_user(admin)
    assert user["password_expires_at"] is not None
    expired = password_token(cloud, {"id": user["id"], "password": password})
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    # the expired password still proves who the user is, so it can be replaced
    assert _change_own_password(cloud, user["id"], password, "my-own-choice").status_code == 204
    assert admin.get(f"/users/{user['id']}").json()["user"]["password_expires_at"] is None
    assert password_token(cloud, {"id": user["id"], "password": "my-own-choice"}).status_code == 201
    # expiring passwords can be listed
    listed = admin.get("/users?password_expires_at=lte:2999-01-01T00:00:00Z").json()["users"]
    assert user["id"] not in {u["id"] for u in listed}
    another, _ = make_user(admin)
    listed = admin.get("/users?password_expires_at=lte:2999-01-01T00:00:00Z").json()["users"]
    assert another["id"] in {u["id"] for u in listed}

"""Tokens: issue, validate, HEAD, revoke; every scope; rescoping; and a token dies at
once when what it stands on changes (user, password, project, role) or when it expires."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pocketstack.testing.server import LiveCloud
from tests.conftest import Identity, make_project, make_user, password_token


def issue(cloud: LiveCloud, user: dict[str, Any], password: str, scope: dict[str, Any] | None = None, query: str = "") -> httpx.Response:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user["id"], "password": password}}}}}
    if scope is not None:
        body["auth"]["scope"] = scope
    reply = httpx.post(cloud.url + "/identity/v3/auth/tokens" + query, json=body, timeout=30)
    assert reply.status_code == 201, reply.text
    return reply


def validate(admin: Identity, token: str, query: str = "") -> httpx.Response:
    return admin.get("/auth/tokens" + query, headers={"X-Subject-Token": token})


def assert_dead(cloud: LiveCloud, admin: Identity, token: str) -> None:
    """Refused both ways: validation by someone else (404) and use as credentials (401)."""
    assert validate(admin, token).status_code == 404
    used = httpx.get(cloud.url + "/identity/v3/auth/projects", headers={"X-Auth-Token": token}, timeout=30)
    assert used.status_code == 401, used.text


def member_token(cloud: LiveCloud, admin: Identity) -> tuple[dict[str, Any], str, dict[str, Any], str]:
    """A fresh project, a member of it, and that member's project-scoped token."""
    project = make_project(admin)
    user, password = make_user(admin, project["id"], "member")
    token = issue(cloud, user, password, {"project": {"id": project["id"]}}).headers["X-Subject-Token"]
    return user, password, project, token


def test_issue_validate_head_and_revoke(cloud: LiveCloud, admin: Identity) -> None:
    user, _, project, token = member_token(cloud, admin)
    shown = validate(admin, token)
    assert shown.status_code == 200 and shown.headers["X-Subject-Token"] == token
    body = shown.json()["token"]
    assert body["user"]["id"] == user["id"] and body["project"]["id"] == project["id"]
    assert {r["name"] for r in body["roles"]} >= {"member", "reader"}  # implied roles included
    assert body["methods"] == ["password"] and len(body["audit_ids"]) == 1
    assert body["expires_at"] > body["issued_at"]
    assert any(s["type"] == "identity" for s in body["catalog"])

    head = admin.request("HEAD", "/auth/tokens", headers={"X-Subject-Token": token})
    assert head.status_code == 200 and head.content == b""

    # a user may look at and revoke their own token
    own = Identity(cloud, token)
    assert own.get("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 200
    assert own.delete("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 204
    assert_dead(cloud, admin, token)
    assert admin.delete("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404
    assert admin.request("HEAD", "/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404


def test_missing_or_garbage_subject_token(admin: Identity) -> None:
    assert admin.get("/auth/tokens").status_code in (400, 401, 404)
    for garbage in ("nonsense", "gAAAAABnot-really-a-fernet-token", "x" * 2000):
        reply = validate(admin, garbage)
        assert reply.status_code == 404, garbage
        assert reply.json()["error"]["code"] == 404


def test_nocatalog(cloud: LiveCloud, admin: Identity) -> None:
    user, password, project, _ = member_token(cloud, admin)
    issued = issue(cloud, user, password, {"project": {"id": project["id"]}}, query="?nocatalog")
    assert "catalog" not in issued.json()["token"]
    token = issued.headers["X-Subject-Token"]
    assert "catalog" not in validate(admin, token, "?nocatalog").json()["token"]
    assert "catalog" in validate(admin, token).json()["token"]


def test_unscoped_token_has_no_roles_or_catalog(cloud: LiveCloud, admin: Identity) -> None:
    user, password = make_user(admin)
    body = issue(cloud, user, password).json()["token"]
    assert "project" not in body and "domain" not in body and "system" not in body
    assert not body.get("roles") and not body.get("catalog")
    token = issue(cloud, user, password).headers["X-Subject-Token"]
    # an unscoped token still lists where it may go
    assert httpx.get(cloud.url + "/identity/v3/auth/projects", headers={"X-Auth-Token": token}).status_code == 200


def test_domain_and_system_scope(cloud: LiveCloud, admin: Identity, role_ids: dict[str, str]) -> None:
    user, password = make_user(admin)
    assert admin.put(f"/domains/default/users/{user['id']}/roles/{role_ids['reader']}").status_code == 204
    assert admin.put(f"/system/users/{user['id']}/roles/{role_ids['reader']}").status_code == 204
    domain = issue(cloud, user, password, {"domain": {"id": "default"}}).json()["token"]
    assert domain["domain"]["id"] == "default" and "project" not in domain
    assert {r["name"] for r in domain["roles"]} == {"reader"}
    by_name = issue(cloud, user, password, {"domain": {"name": "Default"}}).json()["token"]
    assert by_name["domain"]["id"] == "default"
    system = issue(cloud, user, password, {"system": {"all": True}}).json()["token"]
    assert system["system"] == {"all": True} and "project" not in system
    assert {r["name"] for r in system["roles"]} == {"reader"}


def test_scope_without_a_role_is_refused(cloud: LiveCloud, admin: Identity) -> None:
    user, password = make_user(admin)
    project = make_project(admin)
    for scope in ({"project": {"id": project["id"]}}, {"domain": {"id": "default"}}, {"system": {"all": True}}):
        reply = password_token(cloud, {"id": user["id"], "password": password}, scope)
        assert reply.status_code == 401, (scope, reply.text)


def test_rescope_with_the_token_method(cloud: LiveCloud, admin: Identity) -> None:
    user, password, project, _ = member_token(cloud, admin)
    unscoped = issue(cloud, user, password)
    parent = unscoped.json()["token"]
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped.headers["X-Subject-Token"]}}, "scope": {"project": {"id": project["id"]}}}}
    rescoped = httpx.post(cloud.url + "/identity/v3/auth/tokens", json=body, timeout=30)
    assert rescoped.status_code == 201, rescoped.text
    token = rescoped.json()["token"]
    assert token["project"]["id"] == project["id"]
    assert set(token["methods"]) == {"password", "token"}
    assert token["audit_ids"][1] == parent["audit_ids"][0]  # the chain is kept
    assert token["expires_at"] <= parent["expires_at"]  # rescoping never extends a token
    dead = dict(body)
    dead["auth"] = {**body["auth"], "identity": {"methods": ["token"], "token": {"id": "not-a-token"}}}
    assert httpx.post(cloud.url + "/identity/v3/auth/tokens", json=dead, timeout=30).status_code in (401, 404)


def test_disabling_the_user_kills_the_token(cloud: LiveCloud, admin: Identity) -> None:
    user, password, _, token = member_token(cloud, admin)
    assert validate(admin, token).status_code == 200  # cached now: the write must clear it
    assert admin.patch(f"/users/{user['id']}", json={"user": {"enabled": False}}).status_code == 200
    assert_dead(cloud, admin, token)
    assert admin.patch(f"/users/{user['id']}", json={"user": {"enabled": True}}).status_code == 200
    assert validate(admin, token).status_code == 404  # re-enabling does not revive old tokens
    issue(cloud, user, password)  # but the user can log in again


def test_password_change_kills_the_token(cloud: LiveCloud, admin: Identity) -> None:
    user, password, _, token = member_token(cloud, admin)
    assert validate(admin, token).status_code == 200
    change = {"user": {"original_password": password, "password": password + "-new"}}
    reply = httpx.post(f"{cloud.url}/identity/v3/users/{user['id']}/password", json=change, headers={"X-Auth-Token": token}, timeout=30)
    assert reply.status_code == 204, reply.text
    assert_dead(cloud, admin, token)
    issue(cloud, user, password + "-new")


def test_disabling_or_deleting_the_project_kills_the_token(cloud: LiveCloud, admin: Identity) -> None:
    _, _, project, token = member_token(cloud, admin)
    assert validate(admin, token).status_code == 200
    assert admin.patch(f"/projects/{project['id']}", json={"project": {"enabled": False}}).status_code == 200
    assert_dead(cloud, admin, token)

    _, _, project, token = member_token(cloud, admin)
    assert validate(admin, token).status_code == 200
    assert admin.delete(f"/projects/{project['id']}").status_code == 204
    assert_dead(cloud, admin, token)


def test_removing_the_scoping_role_kills_the_token(cloud: LiveCloud, admin: Identity, role_ids: dict[str, str]) -> None:
    user, _, project, token = member_token(cloud, admin)
    unscoped_holder = Identity(cloud, token)
    assert unscoped_holder.get("/auth/projects").status_code == 200
    assert admin.delete(f"/projects/{project['id']}/users/{user['id']}/roles/{role_ids['member']}").status_code == 204
    assert_dead(cloud, admin, token)


def test_cli_token_issue_and_revoke(cloud: LiveCloud, osc: Any, admin: Identity) -> None:
    token = json.loads(osc("token", "issue", "-f", "json").stdout)
    assert validate(admin, token["id"]).status_code == 200
    osc("token", "revoke", token["id"])
    assert validate(admin, token["id"]).status_code == 404


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    """A cloud of its own whose tokens live two seconds (SQLite is enough here)."""
    data_dir: Path = tmp_path_factory.mktemp("short-lived")
    with LiveCloud(data_dir, extra_env={"POCKETSTACK_IDENTITY__TOKEN_EXPIRATION": "2"}) as live:
        yield live


def test_expired_token_is_refused(short_lived: LiveCloud) -> None:
    env = short_lived.env("admin")
    user = {"name": env["OS_USERNAME"], "domain": {"name": "Default"}, "password": env["OS_PASSWORD"]}
    scope = {"project": {"name": "admin", "domain": {"name": "Default"}}}
    checker = password_token(short_lived, user, scope)
    victim_reply = password_token(short_lived, user, scope)
    victim = victim_reply.headers["X-Subject-Token"]
    body = checker.json()["token"]
    assert 1 <= _seconds_between(body["issued_at"], body["expires_at"]) <= 3
    # validate once while alive so a cached entry exists and must still expire
    url = short_lived.url + "/identity/v3/auth/tokens"
    assert httpx.get(url, headers={"X-Auth-Token": victim, "X-Subject-Token": victim}).status_code == 200
    time.sleep(3)
    fresh = password_token(short_lived, user, scope).headers["X-Subject-Token"]
    assert httpx.get(url, headers={"X-Auth-Token": fresh, "X-Subject-Token": victim}).status_code == 404
    assert httpx.get(url, headers={"X-Auth-Token": victim, "X-Subject-Token": fresh}).status_code == 401
    # services may still read a just-expired token when they ask for it explicitly
    late = httpx.get(url + "?allow_expired=1", headers={"X-Auth-Token": fresh, "X-Subject-Token": victim})
    assert late.status_code == 200
    assert late.json()["token"]["expires_at"] == victim_reply.json()["token"]["expires_at"]


def _seconds_between(start: str, end: str) -> float:
    from datetime import datetime

    parse = lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()

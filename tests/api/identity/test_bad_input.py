"""Bad input gets a clear Keystone error (4xx with {"error": {code, title, message}}),
never a 500, and leaves nothing half-created behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import check_keystone_error
from tests.conftest import Identity, make_project, unique

JSON = {"Content-Type": "application/json"}
MAX_BODY = 1024 * 1024  # Settings.max_request_body's default


def assert_refused(reply: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert reply.status_code in statuses, f"{reply.status_code} (wanted {statuses}): {reply.text[:300]}"
    body = reply.json()
    check_keystone_error(body, reply.status_code)
    return body["error"]


def snapshot(admin: Identity) -> dict[str, set[str]]:
    """Ids of everything a bad request might half-create."""
    out = {}
    for collection in ("projects", "users", "groups", "domains", "roles"):
        reply = admin.get(f"/{collection}")
        out[collection] = {item["id"] for item in reply.json()[collection]} if reply.status_code == 200 else set()
    return out


@pytest.fixture(scope="module")
def target(admin: Identity) -> str:
    """A project to PATCH at, made before any `unchanged` snapshot."""
    return make_project(admin)["id"]


@pytest.fixture
def unchanged(admin: Identity, target: str) -> Iterator[None]:
    """Fails the test if it left any new project, user, group, domain or role behind."""
    before = snapshot(admin)
    yield
    after = snapshot(admin)
    assert after == before, {k: after[k] - before[k] for k in after if after[k] != before[k]}


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"project": {"name": "x"', b"", b"   ", b"\xff\xfe\x00garbage", b"[]", b'"project"', b"null", b"42"],
    ids=["broken", "truncated", "empty", "blank", "not-utf8", "list", "string", "null", "number"],
)
def test_malformed_json(admin: Identity, unchanged: None, target: str, raw: bytes) -> None:
    for path in ("/projects", "/users", "/groups", "/roles", "/domains"):
        assert_refused(admin.post(path, content=raw, headers=JSON), 400)
    assert_refused(admin.patch(f"/projects/{target}", content=raw, headers=JSON), 400)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/projects", {"project": {"name": 5, "domain_id": "default"}}),
        ("/projects", {"project": {"name": unique("p"), "enabled": "yes"}}),
        ("/projects", {"project": {"name": unique("p"), "tags": "not-a-list"}}),
        ("/projects", {"project": {"name": unique("p"), "is_domain": "maybe"}}),
        ("/projects", {"project": "a string"}),
        ("/projects", {"project": [1, 2]}),
        ("/users", {"user": {"name": ["x"], "domain_id": "default"}}),
        ("/users", {"user": {"name": unique("u"), "enabled": 1.5}}),
        ("/users", {"user": {"name": unique("u"), "password": 12345}}),
        ("/groups", {"group": {"name": {"nested": True}}}),
        ("/roles", {"role": {"name": None}}),
        ("/domains", {"domain": {"name": unique("d"), "enabled": "false"}}),
    ],
)
def test_wrong_types(admin: Identity, unchanged: None, path: str, body: dict[str, Any]) -> None:
    error = assert_refused(admin.post(path, json=body), 400)
    assert error["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/projects", {}),
        ("/projects", {"project": {}}),
        ("/projects", {"projects": {"name": "wrong key"}}),
        ("/users", {"user": {}}),
        ("/groups", {"group": {"description": "no name"}}),
        ("/roles", {"role": {}}),
        ("/domains", {"domain": {}}),
    ],
)
def test_missing_fields(admin: Identity, unchanged: None, path: str, body: dict[str, Any]) -> None:
    assert_refused(admin.post(path, json=body), 400)


@pytest.mark.parametrize(
    "name", ["", " ", "\t\n", "x" * 65], ids=["empty", "space", "whitespace", "too-long"]
)
def test_bad_project_names(admin: Identity, unchanged: None, name: str) -> None:
    assert_refused(admin.post("/projects", json={"project": {"name": name, "domain_id": "default"}}), 400)


@pytest.mark.parametrize("path,key", [("/users", "user"), ("/groups", "group"), ("/roles", "role"), ("/domains", "domain")])
def test_empty_names(admin: Identity, unchanged: None, path: str, key: str) -> None:
    assert_refused(admin.post(path, json={key: {"name": ""}}), 400)


def test_unicode_names_round_trip(admin: Identity) -> None:
    for name in ("проект-名前-🚀", "Ünïcödé ñame", "a/b?c#d&e"):
        made = admin.post("/projects", json={"project": {"name": name + unique(""), "domain_id": "default"}})
        assert made.status_code == 201, made.text
        project = made.json()["project"]
        assert admin.get(f"/projects/{project['id']}").json()["project"]["name"] == project["name"]
        found = admin.get("/projects", params={"name": project["name"]}).json()["projects"]
        assert [p["id"] for p in found] == [project["id"]]


@pytest.mark.parametrize("path,key,extra", [
    ("/projects", "project", {"domain_id": "default"}),
    ("/users", "user", {"domain_id": "default"}),
    ("/groups", "group", {"domain_id": "default"}),
    ("/roles", "role", {}),
    ("/domains", "domain", {}),
])
def test_duplicate_names_conflict(admin: Identity, path: str, key: str, extra: dict[str, Any]) -> None:
    name = unique("dup")
    first = admin.post(path, json={key: {"name": name, **extra}})
    assert first.status_code == 201, first.text
    before = snapshot(admin)
    error = assert_refused(admin.post(path, json={key: {"name": name, **extra}}), 409)
    assert error["title"] == "Conflict"
    assert snapshot(admin) == before
    named = admin.get(path, params={"name": name}).json()[path.strip("/")]
    assert [item["id"] for item in named] == [first.json()[key]["id"]]


def test_rename_onto_an_existing_name_conflicts(admin: Identity) -> None:
    one, two = make_project(admin), make_project(admin)
    assert_refused(admin.patch(f"/projects/{two['id']}", json={"project": {"name": one["name"]}}), 409)
    assert admin.get(f"/projects/{two['id']}").json()["project"]["name"] == two["name"]


def test_immutable_and_unknown_references(admin: Identity, unchanged: None, target: str) -> None:
    project_id = target
    assert_refused(admin.patch(f"/projects/{project_id}", json={"project": {"id": "something-else"}}), 400)
    assert_refused(admin.patch(f"/projects/{project_id}", json={"project": {"domain_id": "elsewhere"}}), 400, 403)
    assert_refused(admin.post("/projects", json={"project": {"name": unique("p"), "domain_id": "no-such-domain"}}), 400, 404)
    assert_refused(admin.post("/projects", json={"project": {"name": unique("p"), "parent_id": "no-such-project"}}), 400, 404)
    assert_refused(admin.post("/users", json={"user": {"name": unique("u"), "default_project_id": 7}}), 400)


@pytest.mark.parametrize(
    "auth",
    [
        {"identity": {"methods": ["kerberos"], "kerberos": {}}},
        {"identity": {"methods": ["password", "magic"], "password": {"user": {"id": "x", "password": "y"}}, "magic": {}}},
    ],
    ids=["kerberos", "password+magic"],
)
def test_unknown_auth_methods(cloud: LiveCloud, auth: dict[str, Any]) -> None:
    reply = httpx.post(cloud.url + "/identity/v3/auth/tokens", json={"auth": auth}, timeout=30)
    assert_refused(reply, 400, 401)
    assert "X-Subject-Token" not in reply.headers


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"auth": None},
        {"auth": {}},
        {"auth": {"identity": {"methods": "password"}}},
        {"auth": {"identity": {"methods": []}}},
        {"auth": {"identity": {"methods": ["password"]}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": "admin"}}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "x"}}}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": None}}}}},
        {"auth": {"identity": {"methods": ["token"], "token": {}}}},
        {"auth": {"identity": {"methods": ["token"], "token": {"id": 5}}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": "y"}}}, "scope": "everything"}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": "y"}}}, "scope": {"project": "p"}}},
    ],
)
def test_malformed_auth_requests(cloud: LiveCloud, body: dict[str, Any]) -> None:
    reply = httpx.post(cloud.url + "/identity/v3/auth/tokens", json=body, timeout=30)
    assert_refused(reply, 400, 401)


@pytest.mark.parametrize("limit", ["-1", "0", "abc", "1e9", "99999999999999999999999999", "%00"])
def test_odd_limit_and_marker_are_never_a_server_error(admin: Identity, limit: str) -> None:
    # Keystone does not paginate: limit/marker are ignored or refused, never a crash
    for path in ("/projects", "/users", "/roles", "/groups", "/domains"):
        reply = admin.get(path, params={"limit": limit, "marker": "nope"})
        assert reply.status_code in (200, 400), f"{path}: {reply.status_code} {reply.text[:200]}"
        if reply.status_code == 400:
            check_keystone_error(reply.json(), 400)


@pytest.mark.parametrize("query", ["enabled=notabool", "domain_id=%00", "name=" + "x" * 5000, "is_domain=2", "parent_id="])
def test_odd_filters_are_never_a_server_error(admin: Identity, query: str) -> None:
    reply = admin.get("/projects?" + query)
    assert reply.status_code in (200, 400), reply.text[:200]


def test_oversized_bodies_are_413(admin: Identity, unchanged: None) -> None:
    huge = {"project": {"name": unique("p"), "domain_id": "default", "description": "x" * (MAX_BODY + 10)}}
    assert_refused(admin.post("/projects", json=huge), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming
        yield b'{"project": {"name": "streamed", "description": "'
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"y" * 65536
        yield b'"}}'

    assert_refused(admin.post("/projects", content=chunks(), headers=JSON), 413)


def test_just_under_the_limit_is_accepted_or_refused_for_content_not_size(admin: Identity) -> None:
    body = {"project": {"name": unique("p"), "domain_id": "default", "description": "x" * (MAX_BODY - 500)}}
    reply = admin.post("/projects", json=body)
    assert reply.status_code in (201, 400), reply.text[:200]  # a description limit is fine, 413 is not


def test_wrong_methods_and_paths(admin: Identity, target: str) -> None:
    assert_refused(admin.request("PUT", "/users"), 405)
    assert_refused(admin.request("POST", f"/projects/{target}", json={}), 405)
    assert_refused(admin.get("/projects/" + "x" * 300), 404)
    assert_refused(admin.get("/users/%00"), 400, 404)
    assert_refused(admin.get("/no/such/thing"), 404)

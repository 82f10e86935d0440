"""The foundation works end to end with the stock client: token, project, catalog."""

from __future__ import annotations

import json

from tests.conftest import Identity, make_project, unique


def test_version_discovery(cloud, admin: Identity) -> None:
    import httpx

    root = httpx.get(cloud.url + "/identity")
    assert root.status_code == 300
    assert root.json()["versions"]["values"][0]["id"] == "v3.14"
    v3 = httpx.get(cloud.url + "/identity/v3/")
    assert v3.status_code == 200
    assert v3.json()["version"]["status"] == "stable"
    assert v3.headers["x-openstack-request-id"].startswith("req-")


def test_cli_token_issue_and_project_create(osc) -> None:
    token = json.loads(osc("token", "issue", "-f", "json").stdout)
    assert token["id"] and token["project_id"]
    name = unique("p")
    created = json.loads(osc("project", "create", name, "-f", "json").stdout)
    assert created["name"] == name and created["domain_id"] == "default"
    listed = json.loads(osc("project", "list", "-f", "json").stdout)
    assert name in {p["Name"] for p in listed}
    catalog = json.loads(osc("catalog", "list", "-f", "json").stdout)
    assert "identity" in {c["Type"] for c in catalog}


def test_sdk_sees_projects(sdk, admin: Identity) -> None:
    project = make_project(admin, description="made by a test")
    found = sdk.identity.get_project(project["id"])
    assert found.name == project["name"] and found.description == "made by a test"


def test_unknown_path_and_method_are_keystone_errors(admin: Identity) -> None:
    missing = admin.get("/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == 404
    wrong = admin.request("PUT", "/projects")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["title"] == "Method Not Allowed"


def test_no_token_is_401_with_www_authenticate(cloud) -> None:
    import httpx

    reply = httpx.get(cloud.url + "/identity/v3/projects")
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"].startswith("Keystone uri=")
    assert reply.json()["error"]["title"] == "Unauthorized"

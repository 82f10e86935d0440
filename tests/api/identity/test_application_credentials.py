"""Application credentials and access rules: creation rules, tokens limited to the
credential's roles, restricted credentials, revocation, and the stock CLI."""

from __future__ import annotations

import datetime as dt
import json

import httpx

from tests.api.identity.test_trusts import conforms
from tests.conftest import Identity, login, make_project, make_user, unique


def _member(cloud, admin: Identity) -> tuple[dict, Identity, dict]:
    project = make_project(admin)
    user, password = make_user(admin, project["id"], "member")
    return user, login(cloud, user, password, project["id"]), project


def _create(api: Identity, user_id: str, **fields) -> httpx.Response:
    return api.post(f"/users/{user_id}/application_credentials", json={"application_credential": {"name": unique("ac"), **fields}})


def _app_cred_token(cloud, cred: dict) -> httpx.Response:
    body = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}}
    return httpx.post(cloud.url + "/identity/v3/auth/tokens", json=body, timeout=30)


def test_token_has_only_the_credentials_roles(cloud, admin: Identity) -> None:
    user, api, project = _member(cloud, admin)
    made = _create(api, user["id"], roles=[{"name": "reader"}], description="ci job")
    assert made.status_code == 201, made.text
    cred = made.json()["application_credential"]
    assert cred["project_id"] == project["id"] and cred["secret"] and cred["unrestricted"] is False
    assert [r["name"] for r in cred["roles"]] == ["reader"] and cred["description"] == "ci job"

    shown = api.get(f"/users/{user['id']}/application_credentials/{cred['id']}").json()["application_credential"]
    assert "secret" not in shown and shown["name"] == cred["name"]

    reply = _app_cred_token(cloud, cred)
    assert reply.status_code == 201, reply.text
    token = reply.json()["token"]
    assert token["methods"] == ["application_credential"] and token["user"]["id"] == user["id"]
    assert token["project"]["id"] == project["id"]
    assert [r["name"] for r in token["roles"]] == ["reader"]  # the user is a member; the credential lends reader only
    assert token["application_credential"] == {"id": cred["id"], "name": cred["name"], "restricted": True}

    wrong = dict(cred, secret="not-the-secret")
    assert _app_cred_token(cloud, wrong).status_code == 401


def test_creation_rules(cloud, admin: Identity) -> None:
    user, api, _ = _member(cloud, admin)
    assert _create(api, user["id"], roles=[{"name": "admin"}]).status_code == 400  # a role the user lacks
    assert _create(api, user["id"], roles=[{"name": "no-such-role"}]).status_code == 404
    assert _create(api, user["id"], expires_at="2001-01-01T00:00:00Z").status_code == 400
    assert _create(api, user["id"], expires_at="someday").status_code == 400
    assert _create(api, user["id"], surprise=True).status_code == 400
    assert _create(api, user["id"], access_rules=[{"service": "compute", "path": "/v2.1/servers", "method": "BREW"}]).status_code == 400
    other, _, _ = _member(cloud, admin)
    assert _create(api, other["id"]).status_code == 403  # only for oneself
    assert _create(admin, user["id"]).status_code == 403  # not even the admin for someone else

    name = unique("ac")
    assert _create(api, user["id"], name=name).status_code == 201
    assert _create(api, user["id"], name=name).status_code == 409

    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).replace(tzinfo=None)
    made = _create(api, user["id"], expires_at=expires.isoformat(), secret="my-own-secret")
    assert made.status_code == 201, made.text
    cred = made.json()["application_credential"]
    assert cred["expires_at"] == expires.isoformat() and cred["secret"] == "my-own-secret"
    assert _app_cred_token(cloud, cred).status_code == 201

    listed = api.get(f"/users/{user['id']}/application_credentials").json()["application_credentials"]
    assert len(listed) == 2 and all("secret" not in c for c in listed)
    by_name = api.get(f"/users/{user['id']}/application_credentials?name={name}").json()["application_credentials"]
    assert [c["name"] for c in by_name] == [name]
    assert admin.get(f"/users/{user['id']}/application_credentials").status_code == 200
    stranger, stranger_api, _ = _member(cloud, admin)
    assert stranger_api.get(f"/users/{user['id']}/application_credentials").status_code == 403


def test_restricted_credentials_cannot_make_more(cloud, admin: Identity) -> None:
    user, api, project = _member(cloud, admin)
    restricted = _create(api, user["id"]).json()["application_credential"]
    unrestricted = _create(api, user["id"], unrestricted=True).json()["application_credential"]
    trustee, _ = make_user(admin)

    def act_with(cred: dict) -> list[int]:
        token = _app_cred_token(cloud, cred).headers["X-Subject-Token"]
        as_cred = Identity(cloud, token)
        trust = {"trustor_user_id": user["id"], "trustee_user_id": trustee["id"], "project_id": project["id"], "impersonation": False, "roles": [{"name": "reader"}]}
        return [
            _create(as_cred, user["id"]).status_code,
            as_cred.post("/OS-TRUST/trusts", json={"trust": trust}).status_code,
            as_cred.post(f"/users/{user['id']}/credentials/OS-EC2", json={"tenant_id": project["id"]}).status_code,
            as_cred.delete(f"/users/{user['id']}/application_credentials/{cred['id']}").status_code,
        ]

    assert act_with(restricted) == [403, 403, 403, 403]
    assert act_with(unrestricted) == [201, 201, 201, 204]


def test_delete_revokes_its_tokens(cloud, admin: Identity) -> None:
    user, api, _ = _member(cloud, admin)
    cred = _create(api, user["id"]).json()["application_credential"]
    token = _app_cred_token(cloud, cred).headers["X-Subject-Token"]
    assert admin.get("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 200
    assert api.delete(f"/users/{user['id']}/application_credentials/{cred['id']}").status_code == 204
    assert admin.get("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404
    assert api.get(f"/users/{user['id']}/application_credentials/{cred['id']}").status_code == 404
    assert _app_cred_token(cloud, cred).status_code == 401


def test_access_rules(cloud, admin: Identity) -> None:
    user, api, _ = _member(cloud, admin)
    rule = {"service": "compute", "path": "/v2.1/servers/*/ips", "method": "GET"}
    first = _create(api, user["id"], access_rules=[rule]).json()
    conforms("POST", f"/users/{user['id']}/application_credentials", 201, first)
    first = first["application_credential"]
    made_rule = first["access_rules"][0]
    assert {k: made_rule[k] for k in rule} == rule
    # the same rule again, by content or by id, is shared rather than duplicated
    second = _create(api, user["id"], access_rules=[rule]).json()["application_credential"]
    third = _create(api, user["id"], access_rules=[{"id": made_rule["id"]}]).json()["application_credential"]
    assert second["access_rules"][0]["id"] == third["access_rules"][0]["id"] == made_rule["id"]
    assert _app_cred_token(cloud, first).json()["token"]["application_credential"]["access_rules"] == [made_rule]

    rules_path = f"/users/{user['id']}/access_rules"
    listed = api.get(rules_path).json()
    conforms("GET", rules_path, 200, listed)
    assert [r["id"] for r in listed["access_rules"]] == [made_rule["id"]]
    assert api.get(f"{rules_path}?service=identity").json()["access_rules"] == []
    shown = api.get(f"{rules_path}/{made_rule['id']}").json()
    conforms("GET", f"{rules_path}/{made_rule['id']}", 200, shown)
    shown = shown["access_rule"]
    assert shown["links"]["self"].endswith(f"{rules_path}/{made_rule['id']}")
    stranger, stranger_api, _ = _member(cloud, admin)
    assert stranger_api.get(rules_path).status_code == 403

    assert api.delete(f"{rules_path}/{made_rule['id']}").status_code == 403  # still in use
    for cred in (first, second, third):
        assert api.delete(f"/users/{user['id']}/application_credentials/{cred['id']}").status_code == 204
    assert api.delete(f"{rules_path}/{made_rule['id']}").status_code == 204
    assert api.get(rules_path).json()["access_rules"] == []
    assert api.get(f"{rules_path}/{made_rule['id']}").status_code == 404


def test_stock_cli_create_and_authenticate(cloud, osc) -> None:
    name = unique("ac1")
    made = json.loads(osc("application", "credential", "create", name, "--role", "reader", "-f", "json").stdout)
    assert made["Name"] == name and made["Secret"]
    listed = json.loads(osc("application", "credential", "list", "-f", "json").stdout)
    assert name in {c["Name"] for c in listed}

    env = {
        "OS_AUTH_TYPE": "v3applicationcredential",
        "OS_AUTH_URL": cloud.env("admin")["OS_AUTH_URL"],
        "OS_APPLICATION_CREDENTIAL_ID": made["ID"],
        "OS_APPLICATION_CREDENTIAL_SECRET": made["Secret"],
        "OS_IDENTITY_API_VERSION": "3",
    }
    token = json.loads(osc("token", "issue", "-f", "json", env=env).stdout)
    assert token["project_id"] == made["Project ID"]
    # a reader-only credential may not do what the admin behind it could
    denied = osc("project", "create", unique("p"), env=env, check=False)
    assert denied.returncode != 0 and "403" in denied.stderr
    osc("application", "credential", "delete", name)
    assert osc("token", "issue", env=env, check=False).returncode != 0

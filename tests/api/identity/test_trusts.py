"""OS-TRUST trusts: creation rules, trust-scoped tokens (with and without impersonation),
listing rules, limited uses, redelegation, deletion revoking tokens, the stock CLI."""

from __future__ import annotations

import json
from typing import Any

import httpx

from pocketstack.testing.spec import load_spec
from tests.conftest import Identity, login, make_project, make_user, unique

SPEC = load_spec("identity")


def conforms(method: str, path: str, status: int, body: dict[str, Any]) -> None:
    """The body matches Keystone's OpenAPI description (when ../shared/api-specs is there)."""
    if SPEC is not None:
        SPEC.check(method, "/v3" + path, status, body)


class Pair:
    """A trustor (member of a project) and a trustee, both logged in."""

    def __init__(self, cloud, admin: Identity) -> None:
        self.cloud = cloud
        self.project = make_project(admin)
        self.trustor, self.trustor_password = make_user(admin, self.project["id"], "member")
        self.trustor_api = login(cloud, self.trustor, self.trustor_password, self.project["id"])
        self.trustee, pw2 = make_user(admin)
        self.trustee_api = login(cloud, self.trustee, pw2)

    def body(self, **fields: Any) -> dict[str, Any]:
        trust = {
            "trustor_user_id": self.trustor["id"],
            "trustee_user_id": self.trustee["id"],
            "project_id": self.project["id"],
            "impersonation": False,
            "roles": [{"name": "member"}],
            **fields,
        }
        return {"trust": trust}

    def create(self, **fields: Any) -> dict[str, Any]:
        reply = self.trustor_api.post("/OS-TRUST/trusts", json=self.body(**fields))
        assert reply.status_code == 201, reply.text
        return reply.json()["trust"]

    def trust_token(self, trust_id: str, api: Identity | None = None) -> httpx.Response:
        body = {"auth": {"identity": {"methods": ["token"], "token": {"id": (api or self.trustee_api).token}}, "scope": {"OS-TRUST:trust": {"id": trust_id}}}}
        return httpx.post(self.cloud.url + "/identity/v3/auth/tokens", json=body, timeout=30)


def test_trust_scoped_tokens_with_and_without_impersonation(cloud, admin: Identity) -> None:
    pair = Pair(cloud, admin)
    for impersonation, expected_user in ((True, pair.trustor), (False, pair.trustee)):
        trust = pair.create(impersonation=impersonation, roles=[{"name": "reader"}])
        assert trust["impersonation"] is impersonation and [r["name"] for r in trust["roles"]] == ["reader"]
        reply = pair.trust_token(trust["id"])
        assert reply.status_code == 201, reply.text
        token = reply.json()["token"]
        assert token["user"]["id"] == expected_user["id"]
        assert token["project"]["id"] == pair.project["id"]
        assert [r["name"] for r in token["roles"]] == ["reader"]  # the trustor is a member; only reader is lent
        assert token["OS-TRUST:trust"] == {
            "id": trust["id"],
            "impersonation": impersonation,
            "trustee_user": {"id": pair.trustee["id"]},
            "trustor_user": {"id": pair.trustor["id"]},
        }
    # someone who is not the trustee cannot use it
    assert pair.trust_token(trust["id"], pair.trustor_api).status_code == 403


def test_trust_body_roles_and_lookup(cloud, admin: Identity) -> None:
    pair = Pair(cloud, admin)
    trust = pair.create(expires_at="2099-02-03T04:05:06Z")
    conforms("POST", "/OS-TRUST/trusts", 201, {"trust": trust})
    assert trust["expires_at"] == "2099-02-03T04:05:06.000000Z"
    assert trust["links"]["self"].endswith(f"/v3/OS-TRUST/trusts/{trust['id']}")
    assert trust["roles_links"]["self"].endswith(f"/v3/OS-TRUST/trusts/{trust['id']}/roles")
    role = trust["roles"][0]
    assert role["name"] == "member" and role["links"]["self"].endswith(f"/v3/roles/{role['id']}")
    assert trust["remaining_uses"] is None and trust["redelegation_count"] == 0

    for api in (pair.trustor_api, pair.trustee_api):
        shown = api.get(f"/OS-TRUST/trusts/{trust['id']}").json()
        assert shown["trust"]["id"] == trust["id"]
        conforms("GET", f"/OS-TRUST/trusts/{trust['id']}", 200, shown)
        roles = api.get(f"/OS-TRUST/trusts/{trust['id']}/roles").json()
        assert [r["id"] for r in roles["roles"]] == [role["id"]]
        conforms("GET", f"/OS-TRUST/trusts/{trust['id']}/roles", 200, roles)
        one = api.get(f"/OS-TRUST/trusts/{trust['id']}/roles/{role['id']}").json()
        assert one["role"]["name"] == "member"
        conforms("GET", f"/OS-TRUST/trusts/{trust['id']}/roles/{role['id']}", 200, one)
        assert api.request("HEAD", f"/OS-TRUST/trusts/{trust['id']}/roles/{role['id']}").status_code == 200
    reader_id = {r["name"]: r["id"] for r in admin.get("/roles").json()["roles"]}["reader"]
    assert pair.trustor_api.get(f"/OS-TRUST/trusts/{trust['id']}/roles/{reader_id}").status_code == 404
    assert pair.trustor_api.request("HEAD", f"/OS-TRUST/trusts/{trust['id']}/roles/{reader_id}").status_code == 404

    stranger, pw = make_user(admin)
    assert login(cloud, stranger, pw).get(f"/OS-TRUST/trusts/{trust['id']}").status_code == 403
    assert pair.trustor_api.get("/OS-TRUST/trusts/no-such-trust").status_code == 404


def test_creation_rules(cloud, admin: Identity) -> None:
    pair = Pair(cloud, admin)
    post = pair.trustor_api.post
    assert post("/OS-TRUST/trusts", json=pair.body(impersonation="yes")).status_code == 400
    assert post("/OS-TRUST/trusts", json=pair.body(expires_at="bad.123Z")).status_code == 400
    assert post("/OS-TRUST/trusts", json=pair.body(expires_at="2001-01-01T00:00:00Z")).status_code == 400
    assert post("/OS-TRUST/trusts", json=pair.body(remaining_uses=0)).status_code == 400
    assert post("/OS-TRUST/trusts", json=pair.body(roles=[])).status_code == 403  # a project needs roles
    assert post("/OS-TRUST/trusts", json=pair.body(roles=[{"name": "admin"}])).status_code == 404  # not held
    assert post("/OS-TRUST/trusts", json=pair.body(trustee_user_id="no-such-user")).status_code == 404
    assert post("/OS-TRUST/trusts", json=pair.body(trustor_user_id=pair.trustee["id"])).status_code == 403
    # the admin may not make a trust in someone else's name either
    assert admin.post("/OS-TRUST/trusts", json=pair.body()).status_code == 403


def test_listing_rules(cloud, admin: Identity) -> None:
    pair = Pair(cloud, admin)
    trust = pair.create()
    listed = pair.trustor_api.get(f"/OS-TRUST/trusts?trustor_user_id={pair.trustor['id']}").json()
    conforms("GET", "/OS-TRUST/trusts", 200, listed)
    mine = listed["trusts"]
    assert [t["id"] for t in mine] == [trust["id"]] and "roles" not in mine[0]
    theirs = pair.trustee_api.get(f"/OS-TRUST/trusts?trustee_user_id={pair.trustee['id']}").json()["trusts"]
    assert [t["id"] for t in theirs] == [trust["id"]]
    assert pair.trustee_api.get("/OS-TRUST/trusts").status_code == 403  # a non-admin must filter on themselves
    assert pair.trustee_api.get(f"/OS-TRUST/trusts?trustor_user_id={pair.trustor['id']}").status_code == 403
    assert trust["id"] in {t["id"] for t in admin.get("/OS-TRUST/trusts").json()["trusts"]}


def test_remaining_uses_and_delete_revokes(cloud, admin: Identity) -> None:
    pair = Pair(cloud, admin)
    once = pair.create(remaining_uses=1)
    assert pair.trust_token(once["id"]).status_code == 201
    assert pair.trust_token(once["id"]).status_code in (401, 404)
    assert pair.trustor_api.get(f"/OS-TRUST/trusts/{once['id']}").status_code == 404  # used up

    trust = pair.create()
    token = pair.trust_token(trust["id"]).headers["X-Subject-Token"]
    assert admin.get("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 200
    assert pair.trustee_api.delete(f"/OS-TRUST/trusts/{trust['id']}").status_code == 403  # only the trustor
    assert pair.trustor_api.delete(f"/OS-TRUST/trusts/{trust['id']}").status_code == 204
    assert admin.get("/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404
    assert pair.trustor_api.get(f"/OS-TRUST/trusts/{trust['id']}").status_code == 404
    assert pair.trust_token(trust["id"]).status_code == 404


def test_redelegation(cloud, admin: Identity) -> None:
    pair = Pair(cloud, admin)
    parent = pair.create(allow_redelegation=True, roles=[{"name": "member"}])
    assert parent["redelegation_count"] == 3
    trust_token = Identity(cloud, pair.trust_token(parent["id"]).headers["X-Subject-Token"])
    third, pw = make_user(admin)
    body = {"trustor_user_id": pair.trustee["id"], "trustee_user_id": third["id"], "project_id": pair.project["id"], "roles": [{"name": "member"}]}
    # never wider than the parent: no impersonation it lacks, no role it does not name (as Keystone,
    # a role the parent's roles merely imply counts as wider)
    assert trust_token.post("/OS-TRUST/trusts", json={"trust": {**body, "impersonation": True}}).status_code == 403
    wider = {**body, "impersonation": False, "roles": [{"name": "member"}, {"name": "reader"}]}
    assert trust_token.post("/OS-TRUST/trusts", json={"trust": wider}).status_code == 403
    made = trust_token.post("/OS-TRUST/trusts", json={"trust": {**body, "impersonation": False}})
    assert made.status_code == 201, made.text
    child = made.json()["trust"]
    assert child["redelegated_trust_id"] == parent["id"] and child["redelegation_count"] == 0

    # the third user's token lends the first trustor's role
    third_api = login(cloud, third, pw)
    reply = pair.trust_token(child["id"], third_api)
    assert reply.status_code == 201, reply.text
    assert [r["name"] for r in reply.json()["token"]["roles"]] == ["member", "reader"]
    # a trust-scoped token manages no application credentials
    assert trust_token.post(f"/users/{pair.trustee['id']}/application_credentials", json={"application_credential": {"name": unique("ac")}}).status_code == 403

    # deleting the parent deletes what was redelegated from it
    assert pair.trustor_api.delete(f"/OS-TRUST/trusts/{parent['id']}").status_code == 204
    assert third_api.get(f"/OS-TRUST/trusts/{child['id']}").status_code == 404


def test_stock_cli(cloud, admin: Identity, osc) -> None:
    pair = Pair(cloud, admin)
    as_trustor = {**cloud.env("admin"), "OS_USERNAME": pair.trustor["name"], "OS_PASSWORD": pair.trustor_password, "OS_PROJECT_NAME": pair.project["name"]}
    args = ["--project", pair.project["id"], "--role", "member", "--impersonate", pair.trustor["id"], pair.trustee["id"]]
    trust = json.loads(osc("trust", "create", *args, "-f", "json", env=as_trustor).stdout)
    assert trust["is_impersonation"] is True and trust["project_id"] == pair.project["id"]
    assert trust["id"] in {t["ID"] for t in json.loads(osc("trust", "list", "-f", "json").stdout)}
    shown = json.loads(osc("trust", "show", trust["id"], "-f", "json", env=as_trustor).stdout)
    assert shown["trustee_user_id"] == pair.trustee["id"]
    osc("trust", "delete", trust["id"], env=as_trustor)
    assert pair.trustor_api.get(f"/OS-TRUST/trusts/{trust['id']}").status_code == 404

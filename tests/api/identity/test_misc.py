"""Policies, OS-OAUTH1 consumers, domain configuration and unified limits."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import create_engine, text

from tests.conftest import Identity, make_project, password_token, unique


def _domain(admin: Identity) -> dict[str, Any]:
    reply = admin.post("/domains", json={"domain": {"name": unique("d")}})
    assert reply.status_code == 201, reply.text
    return reply.json()["domain"]


def _stored(cloud: Any, sql: str, **params: Any) -> list[Any]:
    url = cloud.database_url or f"sqlite:///{cloud.data_dir / 'pocketstack.db'}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


# -- policies -------------------------------------------------------------------------


def test_policy_crud(admin: Identity) -> None:
    made = admin.post("/policies", json={"policy": {"blob": '{"a": "b"}', "type": "application/json", "owner": "me"}})
    assert made.status_code == 201, made.text
    policy = made.json()["policy"]
    assert policy["blob"] == '{"a": "b"}' and policy["owner"] == "me"
    assert admin.post("/policies", json={"policy": {"blob": "x"}}).status_code == 400
    assert admin.post("/policies", json={"policy": {"type": "t", "blob": 1}}).status_code == 400
    patched = admin.patch(f"/policies/{policy['id']}", json={"policy": {"type": "text/yaml"}})
    assert patched.json()["policy"]["type"] == "text/yaml" and patched.json()["policy"]["blob"] == policy["blob"]
    by_type = admin.get("/policies", params={"type": "text/yaml"}).json()["policies"]
    assert policy["id"] in {p["id"] for p in by_type}
    assert admin.delete(f"/policies/{policy['id']}").status_code == 204
    assert admin.get(f"/policies/{policy['id']}").status_code == 404


def _demo(cloud: Any) -> Identity:
    """The bootstrap demo user, a member of the demo project."""
    env = cloud.env("demo")
    reply = password_token(
        cloud,
        {"name": env["OS_USERNAME"], "domain": {"name": "Default"}, "password": env["OS_PASSWORD"]},
        {"project": {"name": env["OS_PROJECT_NAME"], "domain": {"name": "Default"}}},
    )
    assert reply.status_code == 201, reply.text
    return Identity(cloud, reply.headers["X-Subject-Token"])


def test_member_cannot_write_policies(cloud) -> None:
    demo = _demo(cloud)
    assert demo.post("/policies", json={"policy": {"blob": "x", "type": "t"}}).status_code == 403
    assert demo.post("/regions", json={"region": {}}).status_code == 403
    assert demo.get("/regions").status_code == 200  # anyone may read the regions


# -- OAuth1 consumers -----------------------------------------------------------------


def test_consumer_secret_is_shown_once_and_kept_hashed(cloud, admin: Identity) -> None:
    made = admin.post("/OS-OAUTH1/consumers", json={"consumer": {"description": "app"}})
    assert made.status_code == 201, made.text
    consumer = made.json()["consumer"]
    secret = consumer["secret"]
    assert len(secret) == 32 and consumer["description"] == "app"
    shown = admin.get(f"/OS-OAUTH1/consumers/{consumer['id']}").json()["consumer"]
    assert "secret" not in shown and shown["links"] == consumer["links"]
    (stored,) = _stored(cloud, "SELECT secret_hash FROM identity_oauth_consumer WHERE id = :id", id=consumer["id"])
    assert secret not in stored[0] and stored[0].startswith("$2")

    assert admin.patch(f"/OS-OAUTH1/consumers/{consumer['id']}", json={"consumer": {"secret": "mine"}}).status_code == 400
    patched = admin.patch(f"/OS-OAUTH1/consumers/{consumer['id']}", json={"consumer": {"description": "renamed"}})
    assert patched.status_code == 200 and patched.json()["consumer"]["description"] == "renamed"
    assert consumer["id"] in {c["id"] for c in admin.get("/OS-OAUTH1/consumers").json()["consumers"]}
    bare = admin.post("/OS-OAUTH1/consumers", content=b"")
    assert bare.status_code == 201 and bare.json()["consumer"]["description"] is None
    for c in (consumer, bare.json()["consumer"]):
        assert admin.delete(f"/OS-OAUTH1/consumers/{c['id']}").status_code == 204
    assert admin.get(f"/OS-OAUTH1/consumers/{consumer['id']}").status_code == 404


# -- domain configuration -------------------------------------------------------------


LDAP = {"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://myldap.example:389/", "user_tree_dn": "ou=Users,dc=example", "password": "s3cret"}}


def test_domain_config_lifecycle(cloud, admin: Identity) -> None:
    domain = _domain(admin)
    base = f"/domains/{domain['id']}/config"
    assert admin.get(base).status_code == 404
    created = admin.put(base, json={"config": LDAP})
    assert created.status_code == 201, created.text
    shown = {"identity": {"driver": "ldap"}, "ldap": {"url": LDAP["ldap"]["url"], "user_tree_dn": LDAP["ldap"]["user_tree_dn"]}}
    assert created.json()["config"] == shown  # the password is kept, never shown
    assert admin.get(base).json()["config"] == shown
    assert admin.get(f"{base}/ldap/password").status_code == 404
    stored = _stored(cloud, 'SELECT sensitive FROM identity_domain_config WHERE domain_id = :d AND "option" = \'password\'', d=domain["id"])
    assert [bool(r[0]) for r in stored] == [True]

    assert admin.get(f"{base}/ldap").json()["config"] == {"ldap": shown["ldap"]}
    assert admin.get(f"{base}/ldap/url").json()["config"] == {"url": LDAP["ldap"]["url"]}
    assert admin.get(f"{base}/nova").status_code == 403
    assert admin.get(f"{base}/ldap/nonsense").status_code == 403

    merged = admin.patch(base, json={"config": {"identity": {"list_limit": 5}}}).json()["config"]
    assert merged["identity"] == {"driver": "ldap", "list_limit": 5}
    one = admin.patch(f"{base}/identity/driver", json={"config": {"driver": "sql"}})
    assert one.status_code == 200 and one.json()["config"]["identity"]["driver"] == "sql"
    assert admin.patch(f"{base}/identity", json={"config": {"ldap": {"url": "ldap://x"}}}).status_code == 403
    assert admin.patch(f"{base}/ldap/suffix", json={"config": {"suffix": "dc=x"}}).status_code == 404
    assert admin.put(base, json={"config": {"identity": "sql"}}).status_code == 403
    assert admin.put(base, json={"config": {}}).status_code == 403

    assert admin.delete(f"{base}/identity/driver").status_code == 204
    assert admin.get(f"{base}/identity/driver").status_code == 404
    assert admin.delete(f"{base}/identity").status_code == 204
    assert admin.delete(f"{base}/identity").status_code == 404
    assert admin.put(base, json={"config": {"identity": {"driver": "sql"}}}).status_code == 200  # replaced, not new
    assert admin.get(base).json()["config"] == {"identity": {"driver": "sql"}}
    assert admin.delete(base).status_code == 204
    assert admin.get(base).status_code == 404
    assert admin.put("/domains/nope/config", json={"config": LDAP}).status_code == 404


def test_domain_config_defaults_and_security_compliance(admin: Identity) -> None:
    defaults = admin.get("/domains/config/default")
    assert defaults.status_code == 200, defaults.text
    config = defaults.json()["config"]
    assert config["identity"]["driver"] == "sql" and "list_limit" in config["identity"]
    assert config["ldap"]["url"] == "ldap://localhost" and "password" not in config["ldap"]
    assert admin.get("/domains/config/ldap/default").json()["config"] == {"ldap": config["ldap"]}
    assert admin.get("/domains/config/ldap/user_tree_dn/default").json()["config"] == {"user_tree_dn": None}
    assert admin.get("/domains/config/ldap/password/default").status_code == 403
    assert admin.get("/domains/config/nova/default").status_code == 403

    rules = admin.get("/domains/default/config/security_compliance")
    assert rules.status_code == 200 and set(rules.json()["config"]["security_compliance"]) == {"password_regex", "password_regex_description"}
    assert admin.get("/domains/default/config/security_compliance/lockout_duration").status_code == 403
    assert admin.get(f"/domains/{_domain(admin)['id']}/config/security_compliance").status_code == 403


# -- unified limits -------------------------------------------------------------------


def test_registered_limits_and_limits(admin: Identity) -> None:
    svc = admin.post("/services", json={"service": {"type": unique("type")}}).json()["service"]
    project = make_project(admin)
    model = admin.get("/limits/model").json()["model"]
    assert model["name"] == "flat"

    body = {"service_id": svc["id"], "region_id": "RegionOne", "resource_name": "cores", "default_limit": 10}
    made = admin.post("/registered_limits", json={"registered_limits": [body]})
    assert made.status_code == 201, made.text
    reg = made.json()["registered_limits"][0]
    assert reg["default_limit"] == 10 and reg["description"] is None
    assert admin.post("/registered_limits", json={"registered_limits": [body]}).status_code == 409
    assert admin.post("/registered_limits", json={"registered_limits": [{**body, "service_id": "nope"}]}).status_code == 400
    assert admin.post("/registered_limits", json={"registered_limits": [{**body, "default_limit": -2}]}).status_code == 400
    assert admin.post("/registered_limits", json={"registered_limits": []}).status_code == 400

    limit_body = {"service_id": svc["id"], "region_id": "RegionOne", "resource_name": "cores", "resource_limit": 20, "project_id": project["id"]}
    assert admin.post("/limits", json={"limits": [{**limit_body, "resource_name": "ram"}]}).status_code == 403
    assert admin.post("/limits", json={"limits": [{**limit_body, "domain_id": "default"}]}).status_code == 400
    made = admin.post("/limits", json={"limits": [limit_body]})
    assert made.status_code == 201, made.text
    limit = made.json()["limits"][0]
    assert limit["project_id"] == project["id"] and limit["domain_id"] is None and limit["resource_limit"] == 20
    assert admin.post("/limits", json={"limits": [limit_body]}).status_code == 409
    # a registered limit in use cannot change or go
    assert admin.patch(f"/registered_limits/{reg['id']}", json={"registered_limit": {"default_limit": 5}}).status_code == 403
    assert admin.delete(f"/registered_limits/{reg['id']}").status_code == 403

    patched = admin.patch(f"/limits/{limit['id']}", json={"limit": {"resource_limit": 30, "description": "more"}})
    assert patched.json()["limit"]["resource_limit"] == 30 and patched.json()["limit"]["description"] == "more"
    assert admin.patch(f"/limits/{limit['id']}", json={"limit": {"project_id": "x"}}).status_code == 400
    assert [li["id"] for li in admin.get("/limits", params={"project_id": project["id"]}).json()["limits"]] == [limit["id"]]
    assert admin.get(f"/limits/{limit['id']}").json()["limit"]["resource_limit"] == 30

    assert admin.delete(f"/limits/{limit['id']}").status_code == 204
    assert admin.patch(f"/registered_limits/{reg['id']}", json={"registered_limit": {"default_limit": 5}}).json()["registered_limit"]["default_limit"] == 5
    listed = admin.get("/registered_limits", params={"service_id": svc["id"]}).json()["registered_limits"]
    assert [r["id"] for r in listed] == [reg["id"]]
    assert admin.delete(f"/registered_limits/{reg['id']}").status_code == 204
    assert admin.delete(f"/services/{svc['id']}").status_code == 204


def test_cli_limits(osc, admin: Identity) -> None:
    stype = unique("type")
    svc = admin.post("/services", json={"service": {"type": stype, "name": unique("svc")}}).json()["service"]
    reg = json.loads(osc("registered", "limit", "create", "--service", svc["id"], "--default-limit", "7", "widgets", "-f", "json").stdout)
    assert reg["default_limit"] == 7 and reg["resource_name"] == "widgets"
    made = json.loads(osc("limit", "create", "--service", svc["id"], "--project", "admin", "--resource-limit", "9", "widgets", "-f", "json").stdout)
    assert made["resource_limit"] == 9
    listed = json.loads(osc("limit", "list", "--service", svc["id"], "-f", "json").stdout)
    assert [li["ID"] for li in listed] == [made["id"]]
    osc("limit", "delete", made["id"])
    osc("registered", "limit", "delete", reg["id"])
    admin.delete(f"/services/{svc['id']}")


def test_project_member_sees_only_its_limits(cloud, admin: Identity) -> None:
    demo = _demo(cloud)
    demo_project = admin.get("/projects", params={"name": cloud.env("demo")["OS_PROJECT_NAME"]}).json()["projects"][0]
    other = make_project(admin)
    svc = admin.post("/services", json={"service": {"type": unique("type")}}).json()["service"]
    admin.post("/registered_limits", json={"registered_limits": [{"service_id": svc["id"], "resource_name": "gizmos", "default_limit": 1}]})
    body = {"service_id": svc["id"], "resource_name": "gizmos", "resource_limit": 2}
    made = admin.post("/limits", json={"limits": [{**body, "project_id": demo_project["id"]}, {**body, "project_id": other["id"]}]})
    assert made.status_code == 201, made.text
    mine, theirs = made.json()["limits"]
    seen = {li["id"] for li in demo.get("/limits", params={"service_id": svc["id"]}).json()["limits"]}
    assert seen == {mine["id"]}
    assert demo.get(f"/limits/{mine['id']}").status_code == 200
    assert demo.get(f"/limits/{theirs['id']}").status_code == 403
    # the service takes its limits along
    assert admin.delete(f"/services/{svc['id']}").status_code == 204
    assert admin.get(f"/limits/{mine['id']}").status_code == 404
    assert admin.get("/registered_limits", params={"service_id": svc["id"]}).json()["registered_limits"] == []

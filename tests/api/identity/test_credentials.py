"""/v3/credentials and OS-EC2: CRUD, ownership rules, ec2 ids, encryption at rest."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import create_engine, text

from pocketstack.services.identity.backend.credentials import CredentialCipher
from tests.conftest import Identity, login, make_project, make_user, unique


def _ec2_blob(access: str | None = None) -> str:
    return json.dumps({"access": access or unique("acc"), "secret": unique("sec")})


def _member(cloud, admin: Identity) -> tuple[dict, Identity, dict]:
    project = make_project(admin)
    user, password = make_user(admin, project["id"], "member")
    return user, login(cloud, user, password, project["id"]), project


def _stored_row(cloud, cred_id: str) -> tuple[str, str]:
    url = cloud.database_url or f"sqlite:///{cloud.data_dir / 'pocketstack.db'}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT encrypted_blob, key_hash FROM identity_credential WHERE id = :id"), {"id": cred_id}).one()
    finally:
        engine.dispose()
    return row[0], row[1]


def test_crud_as_admin_with_ec2_id_and_encrypted_blob(cloud, admin: Identity) -> None:
    user, _, project = _member(cloud, admin)
    access = unique("acc")
    blob = _ec2_blob(access)
    made = admin.post("/credentials", json={"credential": {"user_id": user["id"], "project_id": project["id"], "type": "ec2", "blob": blob}})
    assert made.status_code == 201, made.text
    cred = made.json()["credential"]
    assert cred["id"] == hashlib.sha256(access.encode()).hexdigest()  # as Keystone names ec2 credentials
    assert cred["blob"] == blob and cred["links"]["self"].endswith(f"/v3/credentials/{cred['id']}")

    # at rest the blob is a Fernet token that only the credential keys open
    encrypted, key_hash = _stored_row(cloud, cred["id"])
    assert access not in encrypted and len(key_hash) == 40
    assert CredentialCipher(cloud.data_dir / "credential-keys").decrypt(encrypted) == blob

    new_blob = _ec2_blob(access)
    patched = admin.patch(f"/credentials/{cred['id']}", json={"credential": {"blob": new_blob}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["credential"]["blob"] == new_blob
    shown = admin.get(f"/credentials/{cred['id']}").json()["credential"]
    assert shown["blob"] == new_blob and shown["project_id"] == project["id"] and shown["user_id"] == user["id"]

    assert admin.patch(f"/credentials/{cred['id']}", json={"credential": {"id": "another-id"}}).status_code == 400
    again = admin.post("/credentials", json={"credential": {"user_id": user["id"], "project_id": project["id"], "type": "ec2", "blob": blob}})
    assert again.status_code == 409

    assert admin.delete(f"/credentials/{cred['id']}").status_code == 204
    assert admin.get(f"/credentials/{cred['id']}").status_code == 404


def test_bad_bodies_are_400(admin: Identity) -> None:
    me = admin.get("/auth/tokens", headers={"X-Subject-Token": admin.token}).json()["token"]
    uid, pid = me["user"]["id"], me["project"]["id"]
    cases = [
        {"user_id": uid, "type": "ec2", "blob": _ec2_blob()},  # ec2 needs a project
        {"user_id": uid, "project_id": pid, "type": "ec2", "blob": "not json"},
        {"user_id": uid, "project_id": pid, "type": "ec2", "blob": json.dumps({"secret": "x"})},  # no access key
        {"user_id": uid, "type": "cert", "blob": {"not": "a string"}},
        {"type": "cert", "blob": "x"},
    ]
    for body in cases:
        reply = admin.post("/credentials", json={"credential": body})
        assert reply.status_code == 400, (body, reply.text)


def test_users_see_and_manage_only_their_own(cloud, admin: Identity) -> None:
    alice, alice_api, project = _member(cloud, admin)
    bob, bob_api, _ = _member(cloud, admin)
    own = alice_api.post("/credentials", json={"credential": {"user_id": alice["id"], "type": "totp", "blob": "alice-seed"}})
    assert own.status_code == 201, own.text
    cred_id = own.json()["credential"]["id"]

    assert bob_api.post("/credentials", json={"credential": {"user_id": alice["id"], "type": "totp", "blob": "x"}}).status_code == 403
    assert bob_api.get(f"/credentials/{cred_id}").status_code == 403
    assert bob_api.patch(f"/credentials/{cred_id}", json={"credential": {"blob": "y"}}).status_code == 403
    assert bob_api.delete(f"/credentials/{cred_id}").status_code == 403
    assert cred_id not in {c["id"] for c in bob_api.get("/credentials").json()["credentials"]}
    # nor may the owner give a credential away
    assert alice_api.patch(f"/credentials/{cred_id}", json={"credential": {"user_id": bob["id"]}}).status_code == 403

    listed = alice_api.get("/credentials").json()["credentials"]
    assert [c["blob"] for c in listed if c["id"] == cred_id] == ["alice-seed"]
    assert {c["user_id"] for c in listed} == {alice["id"]}
    # the admin sees everyone's, and filters work
    by_type = admin.get(f"/credentials?user_id={alice['id']}&type=totp").json()["credentials"]
    assert [c["id"] for c in by_type] == [cred_id]
    assert admin.get(f"/credentials?user_id={alice['id']}&type=ec2").json()["credentials"] == []
    assert alice_api.delete(f"/credentials/{cred_id}").status_code == 204


def test_os_ec2_flow_as_the_user(cloud, admin: Identity) -> None:
    user, api, project = _member(cloud, admin)
    path = f"/users/{user['id']}/credentials/OS-EC2"
    made = api.post(path, json={"tenant_id": project["id"]})
    assert made.status_code == 201, made.text
    ec2 = made.json()["credential"]
    assert ec2["user_id"] == user["id"] and ec2["tenant_id"] == project["id"] and ec2["access"] and ec2["secret"]
    assert ec2["trust_id"] is None and ec2["links"]["self"].endswith(f"{path}/{ec2['access']}")

    listed = api.get(path).json()["credentials"]
    assert [c["access"] for c in listed] == [ec2["access"]]
    shown = api.get(f"{path}/{ec2['access']}").json()["credential"]
    assert {k: shown[k] for k in ("access", "secret", "user_id", "tenant_id")} == {k: ec2[k] for k in ("access", "secret", "user_id", "tenant_id")}
    # the same credential through /v3/credentials, named by the hash of its access key
    as_cred = api.get(f"/credentials/{hashlib.sha256(ec2['access'].encode()).hexdigest()}").json()["credential"]
    assert as_cred["type"] == "ec2" and json.loads(as_cred["blob"])["secret"] == ec2["secret"]

    other, other_api, _ = _member(cloud, admin)
    assert other_api.get(f"{path}/{ec2['access']}").status_code == 403
    assert other_api.post(path, json={"tenant_id": project["id"]}).status_code == 403
    assert api.post(path, json={"tenant_id": "no-such-project"}).status_code == 404

    assert api.delete(f"{path}/{ec2['access']}").status_code == 204
    assert api.get(f"{path}/{ec2['access']}").status_code == 404
    assert api.get(path).json()["credentials"] == []


def test_stock_cli(cloud, admin: Identity, osc) -> None:
    user, _, project = _member(cloud, admin)
    blob = _ec2_blob()
    made = json.loads(osc("credential", "create", user["id"], blob, "--type", "ec2", "--project", project["id"], "-f", "json").stdout)
    assert made["type"] == "ec2" and made["blob"] == blob and made["project_id"] == project["id"]
    shown = json.loads(osc("credential", "show", made["id"], "-f", "json").stdout)
    assert shown["blob"] == blob
    osc("credential", "set", made["id"], "--user", user["id"], "--type", "cert", "--data", "cert-data")
    assert json.loads(osc("credential", "show", made["id"], "-f", "json").stdout)["blob"] == "cert-data"
    listed = json.loads(osc("credential", "list", "--user", user["id"], "-f", "json").stdout)
    assert [c["ID"] for c in listed] == [made["id"]]
    osc("credential", "delete", made["id"])
    assert admin.get(f"/credentials/{made['id']}").status_code == 404

    ec2 = json.loads(osc("ec2", "credentials", "create", "-f", "json").stdout)
    assert ec2["access"] and ec2["secret"]
    assert ec2["access"] in {c["Access"] for c in json.loads(osc("ec2", "credentials", "list", "-f", "json").stdout)}
    osc("ec2", "credentials", "delete", ec2["access"])

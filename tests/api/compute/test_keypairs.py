"""os-keypairs across microversions, against a live cloud: import and generate, show, list
(Nova's nested entries, 2.35 paging), delete, per-user isolation, validation, and the
stock clients (`openstack keypair ...`, openstacksdk)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from pocketstack.services.compute import keys
from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import ApiSpec
from tests.api.compute.conftest import Member
from tests.api.compute.helpers import LATEST, checked, mv
from tests.conftest import ServiceClient, login, make_user


def ssh_public_key(kind: str = "ed25519") -> str:
    private: Any = {
        "ed25519": lambda: ed25519.Ed25519PrivateKey.generate(),
        "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ecdsa": lambda: ec.generate_private_key(ec.SECP384R1()),
    }[kind]()
    line = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{line} tester@example"


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1]), usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def name(prefix: str = "kp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def names_of(client: ServiceClient, query: str = "", version: str = "latest") -> list[str]:
    reply = client.get(f"/os-keypairs{query}", headers=mv(version))
    assert reply.status_code == 200, reply.text
    return [entry["keypair"]["name"] for entry in reply.json()["keypairs"]]


@pytest.fixture()
def user(member: Callable[..., Member]) -> Member:
    return member()


# -- import, show, list, delete ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_import_show_list_delete_latest(spec: ApiSpec | None, user: Member, kind: str) -> None:
    client, key_name, public_key = user.nova, name(), ssh_public_key(kind)
    created = checked(
        spec,
        client.post("/os-keypairs", json={"keypair": {"name": key_name, "public_key": public_key}}, headers=LATEST),
        "POST",
        "/os-keypairs",
        201,
    )
    assert created["keypair"] == {
        "name": key_name,
        "public_key": public_key,
        "fingerprint": md5_fingerprint(public_key),
        "type": "ssh",
        "user_id": user.user["id"],
    }

    shown = checked(spec, client.get(f"/os-keypairs/{key_name}", headers=LATEST), "GET", f"/os-keypairs/{key_name}", 200)["keypair"]
    assert set(shown) == {"name", "public_key", "fingerprint", "type", "user_id", "deleted", "created_at", "updated_at", "deleted_at", "id"}
    assert (shown["deleted"], shown["updated_at"], shown["deleted_at"]) == (False, None, None)
    assert isinstance(shown["id"], int) and shown["fingerprint"] == created["keypair"]["fingerprint"]
    assert shown["created_at"][:4].isdigit() and "T" in shown["created_at"]

    listed = checked(spec, client.get("/os-keypairs", headers=LATEST), "GET", "/os-keypairs", 200)
    assert listed == {
        "keypairs": [{"keypair": {"name": key_name, "public_key": public_key, "fingerprint": md5_fingerprint(public_key), "type": "ssh"}}]
    }

    deleted = client.delete(f"/os-keypairs/{key_name}", headers=LATEST)
    assert deleted.status_code == 204 and deleted.content == b""
    missing = client.get(f"/os-keypairs/{key_name}", headers=LATEST)
    assert missing.status_code == 404 and key_name in missing.json()["itemNotFound"]["message"]
    assert client.delete(f"/os-keypairs/{key_name}", headers=LATEST).status_code == 404


def test_microversion_2_1_shapes_and_status_codes(user: Member) -> None:
    """2.1: create answers 200, delete 202, and no "type" anywhere (nor may it be sent)."""
    client, key_name = user.nova, name()
    created = client.post("/os-keypairs", json={"keypair": {"name": key_name}})  # no header: 2.1
    assert created.status_code == 200, created.text
    keypair = created.json()["keypair"]
    assert set(keypair) == {"name", "public_key", "fingerprint", "user_id", "private_key"}
    assert keypair["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert keypair["fingerprint"] == md5_fingerprint(keypair["public_key"])
    # the private key is the pair of the stored public key, and is not shown again
    private = serialization.load_pem_private_key(keypair["private_key"].encode(), password=None)
    public_line = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert keypair["public_key"].startswith(public_line)
    shown = client.get(f"/os-keypairs/{key_name}").json()["keypair"]
    assert "type" not in shown and "private_key" not in shown and shown["public_key"] == keypair["public_key"]
    assert "type" not in client.get("/os-keypairs").json()["keypairs"][0]["keypair"]

    typed = client.post("/os-keypairs", json={"keypair": {"name": name(), "type": "ssh"}})
    assert typed.status_code == 400 and "type" in typed.json()["badRequest"]["message"]
    assert client.delete(f"/os-keypairs/{key_name}").status_code == 202
    assert names_of(user.nova) == []


def test_generate_before_2_92_and_refused_from_it(spec: ApiSpec | None, user: Member) -> None:
    client, key_name = user.nova, name()
    generated = checked(
        spec, client.post("/os-keypairs", json={"keypair": {"name": key_name}}, headers=mv("2.91")), "POST", "/os-keypairs", 201
    )
    assert generated["keypair"]["type"] == "ssh" and "private_key" in generated["keypair"]
    refused = client.post("/os-keypairs", json={"keypair": {"name": name()}}, headers=mv("2.92"))
    assert refused.status_code == 400 and "public_key" in refused.json()["badRequest"]["message"]
    assert names_of(client) == [key_name]


def test_x509_import_and_generation(spec: ApiSpec | None, user: Member) -> None:
    client = user.nova
    certificate = keys.generate_x509_key_pair("someone").public_key
    imported = checked(
        spec,
        client.post("/os-keypairs", json={"keypair": {"name": name("cert"), "public_key": certificate, "type": "x509"}}, headers=mv("2.2")),
        "POST",
        "/os-keypairs",
        201,
    )["keypair"]
    assert imported["type"] == "x509" and imported["fingerprint"] == keys.x509_fingerprint(certificate)
    assert len(imported["fingerprint"].split(":")) == 20

    generated = client.post("/os-keypairs", json={"keypair": {"name": name("cert"), "type": "x509"}}, headers=mv("2.2")).json()["keypair"]
    assert generated["public_key"].startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" in generated["private_key"]
    assert generated["fingerprint"] == keys.x509_fingerprint(generated["public_key"])

    # an ssh key is not a certificate, and a certificate is not an ssh key
    wrong = client.post("/os-keypairs", json={"keypair": {"name": name(), "public_key": ssh_public_key(), "type": "x509"}}, headers=LATEST)
    assert wrong.status_code == 400 and "X509" in wrong.json()["badRequest"]["message"]
    assert client.post("/os-keypairs", json={"keypair": {"name": name(), "public_key": certificate}}, headers=LATEST).status_code == 400


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keypair,version",
    [
        ({"name": ""}, "2.1"),
        ({"name": "k" * 256}, "2.1"),
        ({"name": r"key_/.\@:"}, "2.1"),
        ({"name": "dotted.name"}, "2.91"),
        ({"name": "at@name"}, "2.91"),
        ({"name": " leading"}, "2.1"),
        ({"name": "trailing "}, "latest"),
        ({"name": "colon:name", "public_key": "PUB"}, "latest"),
        ({"name": 42}, "2.1"),
        ({}, "2.1"),
        ({"name": "ok", "public_key": "ssh-rsa JUNK nova@ubuntu"}, "2.1"),
        ({"name": "ok", "public_key": " "}, "2.1"),
        ({"name": "ok", "public_key": "ssh-rsa " + "A" * 2048 + " openstack@ubuntu"}, "2.1"),
        ({"name": "ok", "public_key": None}, "2.1"),
        ({"name": "ok", "public_key": "PUB", "type": "rsa"}, "2.2"),
        ({"name": "ok", "public_key": "PUB", "user_id": "someone"}, "2.9"),
        ({"name": "ok", "public_key": "PUB", "extra": 1}, "latest"),
    ],
)
def test_bad_requests_write_nothing(user: Member, keypair: dict[str, Any], version: str) -> None:
    body = {k: (ssh_public_key() if v == "PUB" else v) for k, v in keypair.items()}
    reply = user.nova.post("/os-keypairs", json={"keypair": body}, headers=mv(version))
    assert reply.status_code == 400, reply.text
    assert reply.json()["badRequest"]["code"] == 400 and reply.json()["badRequest"]["message"]
    assert names_of(user.nova) == []


@pytest.mark.parametrize("body", [{}, {"keypair": "k"}, {"keypair": {"name": "k"}, "other": 1}, [], "x"])
def test_malformed_bodies(user: Member, body: Any) -> None:
    reply = user.nova.post("/os-keypairs", json=body, headers=LATEST)
    assert reply.status_code == 400 and "badRequest" in reply.json()
    assert names_of(user.nova) == []


def test_names_widened_in_2_92(user: Member) -> None:
    wide = "me@host.example_one-two three"
    reply = user.nova.post("/os-keypairs", json={"keypair": {"name": wide, "public_key": ssh_public_key()}}, headers=mv("2.92"))
    assert reply.status_code == 201, reply.text
    assert user.nova.get(f"/os-keypairs/{wide}", headers=LATEST).json()["keypair"]["name"] == wide
    assert user.nova.delete(f"/os-keypairs/{wide}", headers=LATEST).status_code == 204


def test_duplicate_name_conflicts(user: Member) -> None:
    key_name, first_key = name(), ssh_public_key()
    assert user.nova.post("/os-keypairs", json={"keypair": {"name": key_name, "public_key": first_key}}, headers=LATEST).status_code == 201
    again = user.nova.post("/os-keypairs", json={"keypair": {"name": key_name}}, headers=mv("2.2"))
    assert again.status_code == 409 and key_name in again.json()["conflictingRequest"]["message"]
    assert user.nova.get(f"/os-keypairs/{key_name}", headers=LATEST).json()["keypair"]["public_key"] == first_key


# -- who sees what ----------------------------------------------------------------------------


def test_users_are_isolated_even_in_one_project(compute_cloud: LiveCloud, compute_admin: Any, nova: ServiceClient, user: Member) -> None:
    other_user, password = make_user(compute_admin, user.project["id"], "member")
    other = login(compute_cloud, other_user, password, user.project["id"]).service("/compute/v2.1")
    shared_name = name("same")
    for client in (user.nova, other):
        assert (
            client.post("/os-keypairs", json={"keypair": {"name": shared_name, "public_key": ssh_public_key()}}, headers=LATEST).status_code
            == 201
        )
    mine = user.nova.post("/os-keypairs", json={"keypair": {"name": name("mine"), "public_key": ssh_public_key()}}, headers=LATEST).json()[
        "keypair"
    ]

    assert mine["name"] not in names_of(other)
    assert other.get(f"/os-keypairs/{mine['name']}", headers=LATEST).status_code == 404
    assert other.delete(f"/os-keypairs/{mine['name']}", headers=LATEST).status_code == 404
    # the same name is two keypairs, each user's own
    assert user.nova.get(f"/os-keypairs/{shared_name}", headers=LATEST).json()["keypair"]["user_id"] == user.user["id"]
    assert other.get(f"/os-keypairs/{shared_name}", headers=LATEST).json()["keypair"]["user_id"] == other_user["id"]

    # naming someone else needs admin (2.10+); naming oneself is fine
    by_id = f"?user_id={user.user['id']}"
    assert other.get(f"/os-keypairs{by_id}", headers=LATEST).status_code == 403
    assert other.get(f"/os-keypairs/{mine['name']}{by_id}", headers=LATEST).status_code == 403
    assert other.delete(f"/os-keypairs/{mine['name']}{by_id}", headers=LATEST).status_code == 403
    assert (
        other.post(
            "/os-keypairs", json={"keypair": {"name": name(), "public_key": ssh_public_key(), "user_id": user.user["id"]}}, headers=LATEST
        ).status_code
        == 403
    )
    assert sorted(names_of(user.nova, by_id)) == sorted([shared_name, mine["name"]])
    # before 2.10 a user_id query is ignored: one's own keys, never someone else's
    assert mine["name"] not in names_of(other, by_id, version="2.9")
    assert names_of(user.nova) == names_of(user.nova, by_id)


def test_admin_manages_another_users_keypairs(nova: ServiceClient, user: Member) -> None:
    target = user.user["id"]
    key_name = name("for-user")
    created = nova.post(
        "/os-keypairs", json={"keypair": {"name": key_name, "public_key": ssh_public_key(), "user_id": target}}, headers=mv("2.10")
    )
    assert created.status_code == 201 and created.json()["keypair"]["user_id"] == target
    assert key_name in names_of(user.nova)
    assert key_name not in names_of(nova)  # the admin's own list is the admin's own keys
    assert key_name in names_of(nova, f"?user_id={target}", version="2.10")
    assert nova.get(f"/os-keypairs/{key_name}?user_id={target}", headers=LATEST).json()["keypair"]["user_id"] == target
    assert nova.get(f"/os-keypairs/{key_name}", headers=LATEST).status_code == 404
    assert nova.delete(f"/os-keypairs/{key_name}?user_id={target}", headers=LATEST).status_code == 204
    assert names_of(user.nova) == []


# -- paging (2.35) -------------------------------------------------------------------------------


def test_paging_from_2_35(spec: ApiSpec | None, user: Member) -> None:
    client = user.nova
    created = sorted(name(f"p{i}") for i in range(5))
    for key_name in created:
        assert (
            client.post("/os-keypairs", json={"keypair": {"name": key_name, "public_key": ssh_public_key()}}, headers=LATEST).status_code
            == 201
        )

    first = checked(spec, client.get("/os-keypairs?limit=2", headers=mv("2.35")), "GET", "/os-keypairs", 200)
    assert [e["keypair"]["name"] for e in first["keypairs"]] == created[:2]
    (link,) = first["keypairs_links"]
    assert link["rel"] == "next" and link["href"].startswith(client.base + "/os-keypairs?") and f"marker={created[1]}" in link["href"]
    following = httpx.get(link["href"], headers={"X-Auth-Token": client.token, **mv("2.35")}).json()
    assert [e["keypair"]["name"] for e in following["keypairs"]] == created[2:4]

    last = client.get(f"/os-keypairs?limit=2&marker={created[3]}", headers=mv("2.35")).json()
    assert [e["keypair"]["name"] for e in last["keypairs"]] == created[4:] and "keypairs_links" not in last
    assert "keypairs_links" not in client.get("/os-keypairs", headers=mv("2.35")).json()

    # before 2.35 paging parameters are not looked at
    assert names_of(client, "?limit=1&marker=nope", version="2.34") == created
    for bad in ("?marker=nope", "?limit=-1", "?limit=abc"):
        reply = client.get(f"/os-keypairs{bad}", headers=mv("2.35"))
        assert reply.status_code == 400 and reply.json()["badRequest"]["message"], bad


def test_unknown_list_parameters_refused_from_2_75(user: Member) -> None:
    assert user.nova.get("/os-keypairs?foo=bar", headers=mv("2.74")).status_code == 200
    reply = user.nova.get("/os-keypairs?foo=bar", headers=mv("2.75"))
    assert reply.status_code == 400 and "foo" in reply.json()["badRequest"]["message"]


# -- stock clients ---------------------------------------------------------------------------------


def test_openstack_cli(compute_osc: Any, tmp_path: Path) -> None:
    def openstack(*args: str) -> str:
        return str(compute_osc(*args).stdout)

    public_key = ssh_public_key()
    key_file = tmp_path / "id.pub"
    key_file.write_text(public_key + "\n")
    imported, generated = name("cli-import"), name("cli-gen")

    assert md5_fingerprint(public_key) in openstack("keypair", "create", "--public-key", str(key_file), imported)
    # the client (OSC 6+) makes the pair itself at any microversion, uploads the public half and prints the
    # private one in OpenSSH's format; the server's copy is the public half of that key
    private_key = serialization.load_ssh_private_key(openstack("keypair", "create", generated).strip().encode(), password=None)
    public_half = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    listed = openstack("keypair", "list", "-f", "value", "-c", "Name")
    assert {imported, generated} <= set(listed.split())
    assert md5_fingerprint(public_key) in openstack("keypair", "show", imported, "-f", "value", "-c", "fingerprint")
    assert openstack("keypair", "show", "--public-key", imported).strip() == public_key
    assert openstack("keypair", "show", "--public-key", generated).startswith(public_half)
    openstack("keypair", "delete", imported, generated)
    assert not {imported, generated} & set(openstack("keypair", "list", "-f", "value", "-c", "Name").split())


def test_openstacksdk(compute_sdk: Any) -> None:
    conn = compute_sdk
    public_key, key_name = ssh_public_key("rsa"), name("sdk")
    created = conn.compute.create_keypair(name=key_name, public_key=public_key)
    assert created.fingerprint == md5_fingerprint(public_key)
    fetched = conn.compute.get_keypair(key_name)
    assert (fetched.public_key, fetched.type) == (public_key, "ssh")
    assert key_name in [k.name for k in conn.compute.keypairs()]
    conn.compute.delete_keypair(key_name, ignore_missing=False)
    assert conn.compute.find_keypair(key_name) is None

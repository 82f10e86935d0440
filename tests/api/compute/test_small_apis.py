"""Small compute APIs: os-server-password (and the guest's POST to the metadata service
that sets it), a server's NUMA topology, aborting and force-completing a live migration
(never in progress here), and the removed APIs that answer 410 Gone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pocketstack.services.compute.api import build_router
from pocketstack.services.compute.api.removed import GONE_MESSAGE, REMOVED
from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import ApiSpec
from tests.api.compute import test_servers
from tests.api.compute.conftest import Member
from tests.api.compute.helpers import LATEST, checked, mv, wait_for
from tests.api.compute.test_metadata_service import signed
from tests.api.compute.test_servers import act
from tests.conftest import Identity, ServiceClient, login, make_user

boot = test_servers.boot  # the fixture: servers booted for a test are deleted after it

GONE = {"computeFault": {"code": 410, "message": GONE_MESSAGE}}


# -- os-server-password ------------------------------------------------------------------------
def test_guest_sets_its_password_once_and_the_owner_reads_and_clears_it(
    compute_cloud: LiveCloud, member: Callable[..., Member], boot: Any, spec: ApiSpec | None
) -> None:
    alice, mallory = member(), member()
    sid = boot(alice.nova)["id"]
    path = f"/servers/{sid}/os-server-password"
    assert checked(spec, alice.nova.get(path), "GET", path, 200) == {"password": ""}

    metadata = compute_cloud.url + "/compute/metadata/openstack"
    # (the first signed request makes the proxy's shared secret, which signed() reads)
    unsigned = {"X-Instance-ID": sid, "X-Instance-ID-Signature": "0" * 64}
    assert httpx.post(metadata + "/latest/password", headers=unsigned, content="x").status_code == 403
    headers = signed(compute_cloud, sid)
    assert "password" in httpx.get(metadata + "/latest", headers=headers).text.split("\n")
    # Folsom's tree had no password file; Grizzly's has
    assert "password" not in httpx.get(metadata + "/2012-08-10", headers=headers).text.split("\n")
    assert httpx.get(metadata + "/2012-08-10/password", headers=headers).status_code == 404
    assert httpx.get(metadata + "/2013-04-04/password", headers=headers).text == ""

    encrypted = "QUJD" * 150  # 600 characters: three of Nova's 255-character chunks
    assert httpx.post(metadata + "/latest/password", headers=headers, content=encrypted).status_code == 200
    # set once: a second post is refused and the first password kept
    assert httpx.post(metadata + "/latest/password", headers=headers, content="other").status_code == 409
    assert httpx.get(metadata + "/latest/password", headers=headers).text == encrypted
    assert checked(spec, alice.nova.get(path), "GET", path, 200) == {"password": encrypted}
    # a POST elsewhere in the tree reads as a GET, as Nova's handler does
    assert httpx.post(metadata + "/latest/meta_data.json", headers=headers).json()["uuid"] == sid

    assert mallory.nova.get(path).status_code == 404
    assert mallory.nova.delete(path).status_code == 404
    assert checked(spec, alice.nova.delete(path), "DELETE", path, 204) is None
    assert alice.nova.get(path).json() == {"password": ""}
    # cleared, the guest may post again, up to Nova's 4 x 255 characters
    assert httpx.post(metadata + "/latest/password", headers=headers, content="A" * 1021).status_code == 400
    assert httpx.post(metadata + "/latest/password", headers=headers, content="A" * 1020).status_code == 200
    assert alice.nova.get(path).json() == {"password": "A" * 1020}
    assert alice.nova.get(f"/servers/{'0' * 32}/os-server-password").status_code == 404


def test_a_reader_may_read_the_password_but_not_clear_it(
    compute_cloud: LiveCloud, compute_admin: Identity, member: Callable[..., Member], boot: Any
) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    user, password = make_user(compute_admin, alice.project["id"], "reader")
    reader = login(compute_cloud, user, password, alice.project["id"]).service("/compute/v2.1")
    path = f"/servers/{sid}/os-server-password"
    assert reader.get(path).json() == {"password": ""}
    assert reader.delete(path).status_code == 403


# -- topology -----------------------------------------------------------------------------------
def test_topology_of_a_server_without_numa(member: Callable[..., Member], nova: ServiceClient, boot: Any, spec: ApiSpec | None) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    path = f"/servers/{sid}/topology"
    empty = {"nodes": [], "pagesize_kb": None}
    assert checked(spec, alice.nova.get(path, headers=mv("2.78")), "GET", path, 200) == empty
    assert checked(spec, nova.get(path, headers=LATEST), "GET", path, 200) == empty
    assert alice.nova.get(path, headers=mv("2.77")).status_code == 404
    assert member().nova.get(path, headers=LATEST).status_code == 404
    assert nova.get(f"/servers/{'0' * 32}/topology", headers=LATEST).status_code == 404


# -- live migration abort / force complete -----------------------------------------------------------
def test_no_live_migration_to_abort_or_force(member: Callable[..., Member], nova: ServiceClient, boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    migration = f"/servers/{sid}/migrations/1"
    force = {"force_complete": None}

    abort = nova.delete(migration, headers=mv("2.24"))
    assert abort.status_code == 409
    assert abort.json()["conflictingRequest"]["message"] == f"Cannot 'abort live migration' instance {sid} while it is in task_state None"
    completed = nova.post(migration + "/action", json=force, headers=mv("2.22"))
    assert completed.status_code == 409
    assert completed.json()["conflictingRequest"]["message"] == f"Cannot 'force_complete' instance {sid} while it is in task_state None"

    # before their microversions the methods do not exist
    assert nova.delete(migration, headers=mv("2.23")).status_code == 404
    assert nova.post(migration + "/action", json=force, headers=mv("2.21")).status_code == 404
    # admins only; unknown servers are 404
    assert alice.nova.delete(migration, headers=LATEST).status_code == 403
    assert alice.nova.post(migration + "/action", json=force, headers=LATEST).status_code == 403
    ghost = f"/servers/{'0' * 32}/migrations/1"
    assert nova.delete(ghost, headers=LATEST).status_code == 404
    assert nova.post(ghost + "/action", json=force, headers=LATEST).status_code == 404

    def bad(body: Any) -> str:
        reply = nova.post(migration + "/action", json=body, headers=LATEST)
        assert reply.status_code == 400, reply.text
        return str(reply.json()["badRequest"]["message"])

    assert bad({"force_complete": {}}) == "Invalid input for field/attribute force_complete. Value: {}. {} is not of type 'null'"
    assert bad({"finish": None}) == "There is no such action: finish"
    assert bad({"force_complete": None, "x": 1}) == "Malformed request body"
    assert bad([]) == "Malformed request body"

    # a stopped server fails on its vm_state first
    assert act(alice.nova, sid, {"os-stop": None}).status_code == 202
    wait_for(alice.nova, sid, "SHUTOFF")
    stopped = nova.post(migration + "/action", json=force, headers=LATEST)
    assert stopped.json()["conflictingRequest"]["message"] == f"Cannot 'force_complete' instance {sid} while it is in vm_state stopped"


# -- removed APIs --------------------------------------------------------------------------------
def _concrete(path: str) -> str:
    """A path of the table with its parameters filled in (and /v2.1 dropped)."""
    return re.sub(r"\{[^}]*\}", "42", path).removeprefix("/v2.1")


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _, _ in REMOVED], ids=[f"{m} {p}" for m, p, _, _ in REMOVED])
def test_removed_api_answers_gone(nova: ServiceClient, spec: ApiSpec | None, method: str, path: str) -> None:
    actions = {p: acts for _, p, _, acts in REMOVED}[path]
    body = {actions[0]: None} if actions else ({} if method in ("POST", "PUT") else None)
    url = _concrete(path)
    reply = nova.request(method, url, json=body, headers=LATEST) if body is not None else nova.request(method, url, headers=LATEST)
    assert checked(spec, reply, method, url, 410) == GONE


def test_removed_apis_read_the_request_first(compute_cloud: LiveCloud, nova: ServiceClient, spec: ApiSpec | None) -> None:
    # every action of a removed resource is gone; an unknown one is not an action at all
    for name in ("disassociate", "disassociate_host", "disassociate_project", "associate_host"):
        assert nova.post("/os-networks/42/action", json={name: None}).status_code == 410
    assert nova.post("/os-fixed-ips/10.0.0.5/action", json={"unreserve": None}).status_code == 410
    unknown = nova.post("/os-networks/42/action", json={"explode": None})
    assert unknown.status_code == 400 and unknown.json()["badRequest"]["message"] == "There is no such action: explode"
    malformed = nova.post("/os-agents", content=b"{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["badRequest"]["message"] == "Malformed request body"
    assert nova.post("/os-agents").status_code == 410  # no body at all is fine
    assert httpx.get(compute_cloud.url + "/compute/v2.1/os-agents").status_code == 401
    # the removed server action, before any look-up of the server
    assert nova.post(f"/servers/{'0' * 32}/action", json={"resetNetwork": None}).json() == GONE


def test_live_proxies_beside_the_removed_routes(nova: ServiceClient) -> None:
    """GET os-networks / os-tenant-networks stay the proxies (2.35 and before), beside the
    removed POST and DELETE on the same paths."""
    assert nova.get("/os-networks", headers=mv("2.35")).status_code == 200
    assert nova.get("/os-networks/42", headers=mv("2.35")).status_code == 404
    assert nova.delete("/os-networks/42", headers=mv("2.35")).status_code == 410
    assert nova.get("/os-tenant-networks", headers=mv("2.35")).status_code == 200
    assert nova.delete("/os-tenant-networks/42", headers=LATEST).status_code == 410


def test_no_two_routes_differ_only_by_a_parameter_name() -> None:
    """One path string is one route: /x/{id} beside /x/{network_id} would hide one's methods
    behind the other's 405."""
    shapes: dict[str, set[str]] = {}
    for op in build_router().operations:
        shapes.setdefault(re.sub(r"\{[^}]*\}", "{}", op.path), set()).add(op.path)
    assert [paths for paths in shapes.values() if len(paths) > 1] == []

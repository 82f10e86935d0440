"""Servers on the fake hypervisor, against a live cloud: create and the states it goes
through, show/list (filters, paging, all_tenants), update, delete and the claims it
gives back, metadata and tags, every action with its refused transitions, console
output, instance actions, isolation between projects, bad input (nothing left behind),
and the stock clients (`openstack server ...`, openstacksdk)."""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import ApiSpec
from tests.api.compute.conftest import Member
from tests.api.compute.helpers import LATEST, mv, wait_for, wait_gone
from tests.conftest import ServiceClient

TINY = "1"  # m1.tiny: 512 MB, 1 vCPU, 1 GB


@pytest.fixture
def boot(image_id: str) -> Iterator[Callable[..., dict[str, Any]]]:
    """boot(client, **fields) -> the ACTIVE server; everything booted is deleted after."""
    made: list[tuple[ServiceClient, str]] = []

    def run(client: ServiceClient, *, wait: str | None = "ACTIVE", **fields: Any) -> dict[str, Any]:
        body = {"name": f"vm-{uuid.uuid4().hex[:6]}", "imageRef": image_id, "flavorRef": TINY, "networks": "none", **fields}
        reply = client.post("/servers", json={"server": body}, headers=LATEST)
        assert reply.status_code == 202, reply.text
        # Nova names the request id twice; Tempest reads x-compute-request-id
        assert reply.headers["x-compute-request-id"] == reply.headers["x-openstack-request-id"]
        server_id = reply.json()["server"]["id"]
        made.append((client, server_id))
        return wait_for(client, server_id, wait) if wait else reply.json()["server"]

    yield run
    for client, server_id in made:
        client.delete(f"/servers/{server_id}")
    for client, server_id in made:
        wait_gone(client, server_id)


def act(client: ServiceClient, server_id: str, body: dict[str, Any], version: str = "latest") -> Any:
    return client.post(f"/servers/{server_id}/action", json=body, headers=mv(version))


# -- create, show, the states ------------------------------------------------------------------
def test_create_goes_from_build_to_active_with_nova_fields(member: Callable[..., Member], boot: Any, spec: ApiSpec | None) -> None:
    alice = member()
    user_data = base64.b64encode(b"#!/bin/sh\necho hello\n").decode()
    created = boot(alice.nova, wait=None, metadata={"role": "web"}, user_data=user_data, tags=["blue"], description="d1")
    assert created["adminPass"] and created["links"][0]["rel"] == "self"
    server = wait_for(alice.nova, created["id"], "ACTIVE")
    assert server["OS-EXT-STS:vm_state"] == "active" and server["OS-EXT-STS:power_state"] == 1
    assert server["metadata"] == {"role": "web"} and server["tags"] == ["blue"] and server["description"] == "d1"
    assert server["tenant_id"] == alice.project["id"] and server["user_id"] == alice.user["id"]
    assert server["flavor"]["original_name"] == "m1.tiny" and server["flavor"]["ram"] == 512
    assert server["OS-EXT-AZ:availability_zone"] == "nova" and server["hostId"]
    assert server["OS-SRV-USG:launched_at"] and server["locked"] is False
    # a member sees no host attributes; the admin does
    assert "OS-EXT-SRV-ATTR:host" not in server
    if spec is not None:
        spec.check("GET", f"/v2.1/servers/{server['id']}", 200, {"server": server})
        # (not the 202 of create: the spec's oneOf has a branch with no required key, so
        # every object matches both branches and no body can pass)
        spec.check("GET", "/v2.1/servers/detail", 200, alice.nova.get("/servers/detail", headers=LATEST).json())


def test_admin_sees_host_attributes_and_old_versions_link_the_flavor(nova: ServiceClient, boot: Any) -> None:
    server = boot(nova)
    shown = nova.get(f"/servers/{server['id']}", headers=LATEST).json()["server"]
    assert shown["OS-EXT-SRV-ATTR:host"] and shown["OS-EXT-SRV-ATTR:instance_name"].startswith("instance-")
    assert shown["host_status"] == "UP"
    old = nova.get(f"/servers/{server['id']}", headers=mv("2.1")).json()["server"]
    assert old["flavor"]["id"] == TINY and "locked" not in old and "tags" not in old


def test_list_filters_sorting_and_paging(member: Callable[..., Member], boot: Any) -> None:
    alice = member()
    ids = [boot(alice.nova, name=f"pg-{i}")["id"] for i in range(3)]
    listed = alice.nova.get("/servers", headers=LATEST).json()["servers"]
    assert [s["id"] for s in listed] == ids[::-1]  # newest first
    page = alice.nova.get("/servers?limit=2", headers=LATEST).json()
    assert len(page["servers"]) == 2 and page["servers_links"][0]["rel"] == "next"
    rest = alice.nova.get(f"/servers?limit=2&marker={page['servers'][-1]['id']}", headers=LATEST).json()
    assert [s["id"] for s in rest["servers"]] == [ids[0]] and "servers_links" not in rest
    named = alice.nova.get("/servers/detail?name=^pg-[12]$&sort_key=display_name&sort_dir=asc", headers=LATEST).json()["servers"]
    assert [s["name"] for s in named] == ["pg-1", "pg-2"]
    assert alice.nova.get("/servers?status=SHUTOFF", headers=LATEST).json()["servers"] == []
    assert len(alice.nova.get("/servers?status=ACTIVE", headers=LATEST).json()["servers"]) == 3
    assert alice.nova.get("/servers?marker=nope", headers=LATEST).status_code == 400


def test_isolation_between_projects(member: Callable[..., Member], nova: ServiceClient, boot: Any) -> None:
    alice, bob = member(), member()
    server = boot(alice.nova)
    assert bob.nova.get(f"/servers/{server['id']}").status_code == 404
    assert act(bob.nova, server["id"], {"os-stop": None}).status_code == 404
    assert act(bob.nova, server["id"], {"os-getConsoleOutput": {}}).status_code == 404
    assert bob.nova.delete(f"/servers/{server['id']}").status_code == 404
    assert server["id"] not in [s["id"] for s in bob.nova.get("/servers?all_tenants=1").json()["servers"]]
    # the admin sees it with all_tenants, and only then (a tenant_id alone is ignored, as Nova does)
    assert server["id"] not in [s["id"] for s in nova.get("/servers").json()["servers"]]
    assert server["id"] not in [s["id"] for s in nova.get(f"/servers/detail?tenant_id={alice.project['id']}").json()["servers"]]
    assert server["id"] in [s["id"] for s in nova.get("/servers?all_tenants=1").json()["servers"]]
    scoped = nova.get(f"/servers?all_tenants=1&tenant_id={alice.project['id']}").json()["servers"]
    assert [s["id"] for s in scoped] == [server["id"]]
    # injectNetworkInfo: admins only; nothing to inject into a QEMU guest, as with libvirt
    assert act(alice.nova, server["id"], {"injectNetworkInfo": None}).status_code == 403
    assert act(nova, server["id"], {"injectNetworkInfo": None}).status_code == 202


# -- actions -----------------------------------------------------------------------------------
def test_power_actions_and_refused_transitions(member: Callable[..., Member], boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    refused = act(alice.nova, sid, {"os-start": None})
    assert refused.status_code == 409 and "vm_state active" in refused.json()["conflictingRequest"]["message"]
    assert act(alice.nova, sid, {"os-stop": None}).status_code == 202
    assert wait_for(alice.nova, sid, "SHUTOFF")["OS-EXT-STS:power_state"] == 4
    assert act(alice.nova, sid, {"os-stop": None}).status_code == 409
    assert act(alice.nova, sid, {"os-start": None}).status_code == 202
    wait_for(alice.nova, sid, "ACTIVE")
    for body, status in (({"reboot": {"type": "SOFT"}}, "ACTIVE"), ({"reboot": {"type": "HARD"}}, "ACTIVE"), ({"pause": None}, "PAUSED")):
        assert act(alice.nova, sid, body).status_code == 202, body
        wait_for(alice.nova, sid, status)
    assert act(alice.nova, sid, {"suspend": None}).status_code == 409  # paused, not active
    assert act(alice.nova, sid, {"unpause": None}).status_code == 202
    wait_for(alice.nova, sid, "ACTIVE")
    assert act(alice.nova, sid, {"suspend": None}).status_code == 202
    wait_for(alice.nova, sid, "SUSPENDED")
    assert act(alice.nova, sid, {"resume": None}).status_code == 202
    wait_for(alice.nova, sid, "ACTIVE")
    assert act(alice.nova, sid, {"reboot": {"type": "sideways"}}).status_code == 400
    assert act(alice.nova, sid, {"frobnicate": None}).status_code == 400
    actions = alice.nova.get(f"/servers/{sid}/os-instance-actions", headers=LATEST).json()["instanceActions"]
    assert [a["action"] for a in actions][:3] == ["resume", "suspend", "unpause"] and actions[-1]["action"] == "create"
    detail = alice.nova.get(f"/servers/{sid}/os-instance-actions/{actions[-1]['request_id']}", headers=LATEST).json()["instanceAction"]
    assert detail["events"][0]["event"] == "compute__do_build_and_run_instance" and detail["events"][0]["result"] == "Success"


def test_lock_refuses_changes_until_unlocked(member: Callable[..., Member], nova: ServiceClient, boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    assert act(alice.nova, sid, {"lock": {"locked_reason": "maintenance"}}).status_code == 202
    shown = alice.nova.get(f"/servers/{sid}", headers=LATEST).json()["server"]
    assert shown["locked"] is True and shown["locked_reason"] == "maintenance"
    assert act(alice.nova, sid, {"os-stop": None}).status_code == 409
    assert alice.nova.delete(f"/servers/{sid}").status_code == 409
    assert act(alice.nova, sid, {"unlock": None}).status_code == 202
    assert act(nova, sid, {"lock": None}).status_code == 202
    assert act(alice.nova, sid, {"unlock": None}).status_code == 409  # an admin's lock
    assert act(nova, sid, {"unlock": None}).status_code == 202


def test_resize_confirm_and_revert(member: Callable[..., Member], boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    assert act(alice.nova, sid, {"confirmResize": None}).status_code == 409
    assert act(alice.nova, sid, {"resize": {"flavorRef": TINY}}).status_code == 400  # same flavor
    assert act(alice.nova, sid, {"resize": {"flavorRef": "2"}}).status_code == 202
    resized = wait_for(alice.nova, sid, "VERIFY_RESIZE")
    assert resized["flavor"]["original_name"] == "m1.small"
    assert act(alice.nova, sid, {"revertResize": None}).status_code == 202
    assert wait_for(alice.nova, sid, "ACTIVE")["flavor"]["original_name"] == "m1.tiny"
    assert act(alice.nova, sid, {"resize": {"flavorRef": "2"}}).status_code == 202
    wait_for(alice.nova, sid, "VERIFY_RESIZE")
    assert act(alice.nova, sid, {"confirmResize": None}).status_code == 204
    assert wait_for(alice.nova, sid, "ACTIVE")["flavor"]["original_name"] == "m1.small"


def test_disk_config_is_kept_and_changed_by_update_rebuild_and_resize(member: Callable[..., Member], boot: Any, image_id: str) -> None:
    alice = member()
    sid = boot(alice.nova, **{"OS-DCF:diskConfig": "AUTO"})["id"]

    def shown() -> str:
        return str(alice.nova.get(f"/servers/{sid}").json()["server"]["OS-DCF:diskConfig"])

    assert shown() == "AUTO"
    assert alice.nova.put(f"/servers/{sid}", json={"server": {"OS-DCF:diskConfig": "MANUAL"}}).status_code == 200
    assert shown() == "MANUAL"
    assert alice.nova.put(f"/servers/{sid}", json={"server": {"OS-DCF:diskConfig": "SOMETIMES"}}).status_code == 400
    assert (
        act(alice.nova, sid, {"rebuild": {"imageRef": image_id, "OS-DCF:diskConfig": "AUTO"}}).json()["server"]["OS-DCF:diskConfig"]
        == "AUTO"
    )
    wait_for(alice.nova, sid, "ACTIVE")
    assert act(alice.nova, sid, {"resize": {"flavorRef": "2", "OS-DCF:diskConfig": "MANUAL"}}).status_code == 202
    wait_for(alice.nova, sid, "VERIFY_RESIZE")
    assert shown() == "MANUAL"
    assert boot(alice.nova)["OS-DCF:diskConfig"] == "MANUAL"  # unsaid: the image's auto_disk_config (none here)


def test_create_image_rebuild_rescue_and_shelve(member: Callable[..., Member], boot: Any, image_id: str) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    snap = act(alice.nova, sid, {"createImage": {"name": "snap1", "metadata": {"purpose": "test", "image_type": "mine"}}})
    assert snap.status_code == 202
    snap_id = snap.json()["image_id"]
    glance = alice.nova.service("/image")
    deadline = time.monotonic() + 30
    while glance.get(f"/v2/images/{snap_id}").json()["status"] != "active":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    snapshot = glance.get(f"/v2/images/{snap_id}").json()
    # the caller's metadata wins over Nova's own keys (image_type), as in Nova
    assert snapshot["instance_uuid"] == sid and snapshot["purpose"] == "test" and snapshot["image_type"] == "mine"
    wait_for(alice.nova, sid, "ACTIVE")
    rebuilt = act(alice.nova, sid, {"rebuild": {"imageRef": snap_id, "name": "rebuilt"}})
    assert rebuilt.status_code == 202 and rebuilt.json()["server"]["name"] == "rebuilt"
    assert wait_for(alice.nova, sid, "ACTIVE")["image"]["id"] == snap_id
    assert act(alice.nova, sid, {"rescue": {}}).status_code == 200
    wait_for(alice.nova, sid, "RESCUE")
    assert act(alice.nova, sid, {"unrescue": None}).status_code == 202
    wait_for(alice.nova, sid, "ACTIVE")
    assert act(alice.nova, sid, {"shelve": None}).status_code == 202
    shelved = wait_for(alice.nova, sid, "SHELVED_OFFLOADED")
    assert shelved["hostId"] == ""
    shelved_images = [i["id"] for i in glance.get("/v2/images").json()["images"] if i["name"].endswith("-shelved")]
    assert len(shelved_images) == 1
    assert act(alice.nova, sid, {"unshelve": None}).status_code == 202
    wait_for(alice.nova, sid, "ACTIVE")
    # the shelved snapshot is gone once the server is back (as Nova does)
    assert glance.get(f"/v2/images/{shelved_images[0]}").status_code == 404
    glance.delete(f"/v2/images/{snap_id}")


def test_console_output_with_length(member: Callable[..., Member], boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    whole = act(alice.nova, sid, {"os-getConsoleOutput": {}}).json()["output"]
    assert whole
    last = act(alice.nova, sid, {"os-getConsoleOutput": {"length": 1}}).json()["output"]
    assert last.strip() == whole.strip().splitlines()[-1].strip()
    assert act(alice.nova, sid, {"os-getConsoleOutput": {"length": "x"}}).status_code == 400


# -- metadata, tags, update -------------------------------------------------------------------------
def test_metadata_tags_and_update(member: Callable[..., Member], boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova, metadata={"a": "1"})["id"]
    c = alice.nova
    assert c.post(f"/servers/{sid}/metadata", json={"metadata": {"b": "2"}}).json()["metadata"] == {"a": "1", "b": "2"}
    assert c.put(f"/servers/{sid}/metadata", json={"metadata": {"c": "3"}}).json()["metadata"] == {"c": "3"}
    assert c.put(f"/servers/{sid}/metadata/d", json={"meta": {"d": "4"}}).json() == {"meta": {"d": "4"}}
    assert c.put(f"/servers/{sid}/metadata/d", json={"meta": {"e": "4"}}).status_code == 400
    assert c.get(f"/servers/{sid}/metadata/d").json() == {"meta": {"d": "4"}}
    assert c.delete(f"/servers/{sid}/metadata/d").status_code == 204
    assert c.get(f"/servers/{sid}/metadata/d").status_code == 404
    assert c.put(f"/servers/{sid}/tags/red", headers=LATEST).status_code == 201
    assert c.put(f"/servers/{sid}/tags/red", headers=LATEST).status_code == 204
    assert c.get(f"/servers/{sid}/tags", headers=LATEST).json() == {"tags": ["red"]}
    assert c.get("/servers?tags=red", headers=LATEST).json()["servers"][0]["id"] == sid
    assert c.put(f"/servers/{sid}/tags", json={"tags": ["x", "y"]}, headers=LATEST).json() == {"tags": ["x", "y"]}
    assert c.get(f"/servers/{sid}/tags/red", headers=LATEST).status_code == 404
    assert c.get(f"/servers/{sid}/tags", headers=mv("2.25")).status_code == 404
    updated = c.put(f"/servers/{sid}", json={"server": {"name": "renamed", "description": "new"}}, headers=LATEST)
    assert updated.status_code == 200 and updated.json()["server"]["name"] == "renamed"
    assert c.put(f"/servers/{sid}", json={"server": {"description": "x"}}, headers=mv("2.18")).status_code == 400


# -- bad input: Nova's 4xx, and nothing left behind --------------------------------------------------
def test_bad_input_is_refused_and_leaves_nothing(member: Callable[..., Member], image_id: str, compute_cloud: LiveCloud) -> None:
    alice = member()
    c = alice.nova

    def create(**fields: Any) -> Any:
        body = {"name": "bad", "imageRef": image_id, "flavorRef": TINY, "networks": "none", **fields}
        return c.post("/servers", json={"server": body}, headers=LATEST)

    cases = {
        "unknown flavor": create(flavorRef="nope"),
        "unknown image": create(imageRef=str(uuid.uuid4())),
        "no name": c.post("/servers", json={"server": {"imageRef": image_id, "flavorRef": TINY, "networks": "none"}}, headers=LATEST),
        "blank name": create(name="   "),
        "user_data not base64": create(user_data="%%% not base64"),
        "user_data too long": create(user_data=base64.b64encode(b"x" * 70000).decode()),
        "no networks at 2.37+": c.post("/servers", json={"server": {"name": "n", "imageRef": image_id, "flavorRef": TINY}}, headers=LATEST),
        "networks=auto before 2.37": c.post(
            "/servers", json={"server": {"name": "n", "imageRef": image_id, "flavorRef": TINY, "networks": "auto"}}, headers=mv("2.30")
        ),
        "unknown field": create(colour="blue"),
        "bad key name": create(key_name="no-such-key"),
        "min_count > max_count": create(min_count=3, max_count=2),
        "metadata not strings": create(metadata={"a": 1}),
        "bad accessIPv4": create(accessIPv4="300.1.1.1"),
    }
    for what, reply in cases.items():
        assert reply.status_code == 400, (what, reply.status_code, reply.text)
        assert reply.json()["badRequest"]["message"], what
    assert c.post("/servers", json={"server": {"name": "n"}}, headers={"OpenStack-API-Version": "compute 2.999"}).status_code == 406
    assert c.get("/servers").json()["servers"] == []


def test_image_too_big_for_the_flavor(member: Callable[..., Member], nova: ServiceClient) -> None:
    alice = member()
    glance = nova.service("/image")
    image = glance.post(
        "/v2/images",
        json={
            "name": "needs-disk",
            "disk_format": "raw",
            "container_format": "bare",
            "visibility": "public",
            "min_disk": 5,
            "min_ram": 100000,
        },
    ).json()
    glance.put(f"/v2/images/{image['id']}/file", content=b"\0" * 4096, headers={"Content-Type": "application/octet-stream"})
    try:
        reply = alice.nova.post(
            "/servers", json={"server": {"name": "big", "imageRef": image["id"], "flavorRef": TINY, "networks": "none"}}, headers=LATEST
        )
        assert reply.status_code == 400 and "too small" in reply.json()["badRequest"]["message"]
        assert alice.nova.get("/servers").json()["servers"] == []
    finally:
        glance.delete(f"/v2/images/{image['id']}")


def test_quota_refuses_servers_beyond_the_limit(member: Callable[..., Member], nova: ServiceClient, boot: Any, image_id: str) -> None:
    alice = member()
    assert nova.put(f"/os-quota-sets/{alice.project['id']}", json={"quota_set": {"instances": 1}}).status_code == 200
    boot(alice.nova)
    reply = alice.nova.post(
        "/servers", json={"server": {"name": "two", "imageRef": image_id, "flavorRef": TINY, "networks": "none"}}, headers=LATEST
    )
    assert reply.status_code == 403 and "Quota exceeded for instances" in reply.json()["forbidden"]["message"]


def test_delete_gives_back_the_claims(nova: ServiceClient, boot: Any) -> None:
    def used() -> int:
        return sum(h["memory_mb_used"] for h in nova.get("/os-hypervisors/detail", headers=mv("2.87")).json()["hypervisors"])

    before = used()
    server = boot(nova)
    assert used() == before + 512
    assert nova.delete(f"/servers/{server['id']}").status_code == 204
    wait_gone(nova, server["id"])
    assert used() == before
    deleted = nova.get(f"/servers/detail?deleted=true&uuid={server['id']}", headers=LATEST).json()["servers"]
    assert deleted and deleted[0]["status"] == "DELETED"


# -- the stock clients --------------------------------------------------------------------------------
def test_openstack_cli_server_lifecycle(compute_osc: Any, image_id: str, tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho from-user-data\n")
    name = f"cli-{uuid.uuid4().hex[:6]}"
    compute_osc("keypair", "create", name, "--private-key", str(tmp_path / "key"))
    try:
        compute_osc(
            "server",
            "create",
            "--image",
            image_id,
            "--flavor",
            "m1.tiny",
            "--key-name",
            name,
            "--user-data",
            str(script),
            "--no-network",
            "--wait",
            name,
        )
        shown = compute_osc("server", "show", name, "-f", "value", "-c", "status").stdout.strip()
        assert shown == "ACTIVE"
        log = compute_osc("console", "log", "show", name).stdout
        assert log.strip()
        compute_osc("server", "stop", name)
        _cli_wait(compute_osc, name, "SHUTOFF")
        compute_osc("server", "start", name)
        _cli_wait(compute_osc, name, "ACTIVE")
        assert name in compute_osc("server", "list", "-f", "value", "-c", "Name").stdout
        assert "create" in compute_osc("server", "event", "list", name, "-f", "value").stdout
    finally:
        compute_osc("server", "delete", "--wait", name, check=False)
        compute_osc("keypair", "delete", name, check=False)
    assert name not in compute_osc("server", "list", "-f", "value", "-c", "Name").stdout


def _cli_wait(osc: Any, name: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while osc("server", "show", name, "-f", "value", "-c", "status").stdout.strip() != status:
        assert time.monotonic() < deadline, f"{name} never became {status}"
        time.sleep(0.3)


def test_openstacksdk_create_wait_and_delete(compute_sdk: Any, image_id: str) -> None:
    server = compute_sdk.compute.create_server(name=f"sdk-{uuid.uuid4().hex[:6]}", image_id=image_id, flavor_id=TINY, networks="none")
    server = compute_sdk.compute.wait_for_server(server, status="ACTIVE", wait=30, interval=0.2)
    assert server.status == "ACTIVE" and server.flavor.original_name == "m1.tiny"
    assert server.id in [s.id for s in compute_sdk.compute.servers()]
    compute_sdk.compute.delete_server(server)
    compute_sdk.compute.wait_for_delete(server, wait=30, interval=0.2)


def test_cli_exit_code_for_unknown_server(compute_osc: Any) -> None:
    proc: subprocess.CompletedProcess[str] = compute_osc("server", "show", "no-such-server", check=False)
    assert proc.returncode != 0 and "No Server found" in proc.stderr

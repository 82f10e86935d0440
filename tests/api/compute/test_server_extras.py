"""Server answers that differ by microversion (update and rebuild at 2.54/2.57/2.71/2.75,
pinned_availability_zone at 2.96, hostnames at 2.90/2.94, limit=0), and the server APIs
around them: createBackup with its rotation, diagnostics, os-server-external-events,
os-migrations (resizes) and the migrate action. On the fake hypervisor."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.api.compute import test_servers
from tests.api.compute.conftest import Member
from tests.api.compute.helpers import LATEST, mv, wait_for
from tests.api.compute.test_servers import act
from tests.conftest import ServiceClient

boot = test_servers.boot  # the fixture: servers booted for a test are deleted after it


def _rebuild(client: ServiceClient, server_id: str, image_id: str, version: str, **fields: Any) -> dict[str, Any]:
    reply = act(client, server_id, {"rebuild": {"imageRef": image_id, **fields}}, version)
    assert reply.status_code == 202, reply.text
    return reply.json()["server"]


# -- update and rebuild answers ---------------------------------------------------------------------
def test_rebuild_answers_by_microversion(member: Callable[..., Member], boot: Any, image_id: str) -> None:
    alice = member()
    key = alice.nova.post("/os-keypairs", json={"keypair": {"name": "k1"}}, headers=mv("2.91")).json()["keypair"]
    sid = boot(alice.nova)["id"]
    old = _rebuild(alice.nova, sid, image_id, "2.1")
    # Nova shows a password even when none was given, and no extension fields before 2.75
    assert old["adminPass"] and "key_name" not in old and "OS-EXT-STS:vm_state" not in old
    wait_for(alice.nova, sid, "ACTIVE")
    given = _rebuild(alice.nova, sid, image_id, "2.54", adminPass="s3cret", key_name=key["name"])
    assert given["adminPass"] == "s3cret" and given["key_name"] == "k1" and "user_data" not in given
    wait_for(alice.nova, sid, "ACTIVE")
    user_data = base64.b64encode(b"echo hi").decode()
    at_257 = _rebuild(alice.nova, sid, image_id, "2.57", user_data=user_data)
    assert at_257["user_data"] == user_data and "server_groups" not in at_257
    wait_for(alice.nova, sid, "ACTIVE")
    latest = _rebuild(alice.nova, sid, image_id, "latest")
    assert latest["server_groups"] == [] and latest["OS-EXT-STS:vm_state"] == "active"
    assert latest["user_data"] == user_data and "OS-EXT-SRV-ATTR:user_data" not in latest
    wait_for(alice.nova, sid, "ACTIVE")
    bad = act(alice.nova, sid, {"rebuild": {"imageRef": image_id, "user_data": "not base64!"}}, "2.57")
    assert bad.status_code == 400
    assert act(alice.nova, sid, {"rebuild": {"imageRef": image_id, "user_data": user_data}}, "2.56").status_code == 400
    assert act(alice.nova, sid, {"rebuild": {"imageRef": image_id, "bogus": 1}}).status_code == 400


def test_show_update_and_rebuild_name_the_server_group(member: Callable[..., Member], boot: Any, image_id: str) -> None:
    alice = member()
    group = alice.nova.post("/os-server-groups", json={"server_group": {"name": "g", "policy": "affinity"}}, headers=LATEST)
    assert group.status_code == 200, group.text
    group_id = group.json()["server_group"]["id"]
    reply = alice.nova.post(
        "/servers",
        json={
            "server": {"name": "in-group", "imageRef": image_id, "flavorRef": "1", "networks": "none"},
            "os:scheduler_hints": {"group": group_id},
        },
        headers=LATEST,
    )
    assert reply.status_code == 202, reply.text
    sid = reply.json()["server"]["id"]
    try:
        shown = wait_for(alice.nova, sid, "ACTIVE")
        assert shown["server_groups"] == [group_id]
        assert alice.nova.get(f"/servers/{sid}", headers=mv("2.70")).json()["server"].get("server_groups") is None
        listed = alice.nova.get("/servers/detail", headers=LATEST).json()["servers"]
        assert all("server_groups" not in s for s in listed)  # never in the detailed list
        updated = alice.nova.put(f"/servers/{sid}", json={"server": {"name": "renamed"}}, headers=mv("2.71")).json()["server"]
        assert updated["server_groups"] == [group_id] and "OS-EXT-STS:vm_state" not in updated
        assert _rebuild(alice.nova, sid, image_id, "latest")["server_groups"] == [group_id]
    finally:
        alice.nova.delete(f"/servers/{sid}")


def test_pinned_availability_zone_is_the_requested_one(member: Callable[..., Member], boot: Any) -> None:
    alice = member()
    free = boot(alice.nova)
    assert free["pinned_availability_zone"] is None and free["OS-EXT-AZ:availability_zone"] == "nova"
    pinned = boot(alice.nova, availability_zone="nova")
    assert pinned["pinned_availability_zone"] == "nova"
    assert "pinned_availability_zone" not in alice.nova.get(f"/servers/{pinned['id']}", headers=mv("2.95")).json()["server"]


def test_hostnames_by_microversion(member: Callable[..., Member], boot: Any, image_id: str) -> None:
    alice = member()
    fqdn = "x" * 52 + "-guest.example.org"
    server = boot(alice.nova, hostname=fqdn)
    assert server["OS-EXT-SRV-ATTR:hostname"] == fqdn
    body = {"name": "h", "imageRef": image_id, "flavorRef": "1", "networks": "none", "hostname": fqdn}
    assert alice.nova.post("/servers", json={"server": body}, headers=mv("2.93")).status_code == 400
    assert alice.nova.post("/servers", json={"server": {**body, "hostname": "a"}}, headers=mv("2.90")).status_code == 400
    assert alice.nova.post("/servers", json={"server": {**body, "max_count": 2}}, headers=LATEST).status_code == 400
    sid = server["id"]
    assert alice.nova.put(f"/servers/{sid}", json={"server": {"hostname": "bad name"}}, headers=LATEST).status_code == 400
    renamed = alice.nova.put(f"/servers/{sid}", json={"server": {"hostname": "web.example.org"}}, headers=LATEST)
    assert renamed.status_code == 200 and renamed.json()["server"]["OS-EXT-SRV-ATTR:hostname"] == "web.example.org"


def test_limit_zero_lists_nothing(member: Callable[..., Member], boot: Any) -> None:
    alice = member()
    boot(alice.nova)
    assert alice.nova.get("/servers?limit=0").json() == {"servers": []}
    assert alice.nova.get("/servers/detail?limit=0").json() == {"servers": []}
    assert len(alice.nova.get("/servers?limit=1").json()["servers"]) == 1
    assert alice.nova.get("/servers?limit=-1").status_code == 400


# -- createBackup ----------------------------------------------------------------------------------
def _backups(glance: ServiceClient, server_id: str) -> list[dict[str, Any]]:
    query = f"/v2/images?image_type=backup&backup_type=daily&instance_uuid={server_id}&sort_key=created_at&sort_dir=asc"
    return glance.get(query).json()["images"]


def _wait_active(glance: ServiceClient, image_id: str) -> None:
    deadline = time.monotonic() + 30
    while glance.get(f"/v2/images/{image_id}").json().get("status") != "active":
        assert time.monotonic() < deadline, f"image {image_id} never became active"
        time.sleep(0.1)


def test_create_backup_rotates_the_oldest_out(member: Callable[..., Member], boot: Any) -> None:
    alice = member()
    glance = alice.nova.service("/image")
    sid = boot(alice.nova)["id"]
    made = []
    for number in (1, 2, 3):
        reply = act(alice.nova, sid, {"createBackup": {"name": f"b{number}", "backup_type": "daily", "rotation": 2}})
        assert reply.status_code == 202, reply.text
        made.append(reply.json()["image_id"])
        _wait_active(glance, made[-1])
        wait_for(alice.nova, sid, "ACTIVE")
        time.sleep(1.1)  # image times have whole seconds: the rotation tells them apart
    assert [image["name"] for image in _backups(glance, sid)] == ["b2", "b3"]
    assert glance.get(f"/v2/images/{made[0]}").status_code == 404
    # before 2.45: no body, the image's URL in Location
    old = act(alice.nova, sid, {"createBackup": {"name": "b4", "backup_type": "weekly", "rotation": 1}}, "2.44")
    assert old.status_code == 202 and not old.content
    weekly_id = old.headers["location"].rsplit("/", 1)[-1]
    assert glance.get(f"/v2/images/{weekly_id}").json()["backup_type"] == "weekly"
    wait_for(alice.nova, sid, "ACTIVE")
    for bad in (
        {"name": "x", "backup_type": "daily"},
        {"name": "x", "backup_type": "daily", "rotation": -1},
        {"name": "x", "backup_type": 1, "rotation": 1},
    ):
        assert act(alice.nova, sid, {"createBackup": bad}).status_code == 400
    for image_id in [image["id"] for image in _backups(glance, sid)] + [weekly_id]:
        glance.delete(f"/v2/images/{image_id}")


# -- diagnostics -----------------------------------------------------------------------------------
def test_diagnostics_for_admins_in_both_formats(member: Callable[..., Member], nova: ServiceClient, boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    assert alice.nova.get(f"/servers/{sid}/diagnostics").status_code == 403
    common = nova.get(f"/servers/{sid}/diagnostics", headers=mv("2.48")).json()
    assert common["state"] == "running" and common["driver"] == "libvirt" and common["num_cpus"] == 1
    assert common["memory_details"]["maximum"] == 512 and len(common["cpu_details"]) == 1
    assert common["disk_details"] and common["nic_details"] == [] and common["config_drive"] is True
    legacy = nova.get(f"/servers/{sid}/diagnostics", headers=mv("2.47")).json()
    assert legacy["memory"] == 512 * 1024 and "cpu0_time" in legacy and "vda_read" in legacy
    assert act(alice.nova, sid, {"os-stop": None}).status_code == 202
    wait_for(alice.nova, sid, "SHUTOFF")
    stopped = nova.get(f"/servers/{sid}/diagnostics", headers=LATEST).json()
    assert stopped["state"] == "shutdown" and stopped["cpu_details"] == []
    assert nova.get(f"/servers/{uuid.uuid4()}/diagnostics").status_code == 404


# -- external events -------------------------------------------------------------------------------
def test_external_events_answer_per_event(member: Callable[..., Member], nova: ServiceClient, boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    events = [{"name": "network-changed", "server_uuid": sid}, {"name": "network-vif-plugged", "server_uuid": sid, "tag": "port-1"}]
    accepted = nova.post("/os-server-external-events", json={"events": events})
    assert accepted.status_code == 200, accepted.text
    assert [(e["code"], e["status"]) for e in accepted.json()["events"]] == [(200, "completed"), (200, "completed")]
    mixed = nova.post(
        "/os-server-external-events", json={"events": [events[0], {"name": "network-changed", "server_uuid": str(uuid.uuid4())}]}
    )
    assert mixed.status_code == 207 and [e["code"] for e in mixed.json()["events"]] == [200, 404]
    untagged = nova.post("/os-server-external-events", json={"events": [{"name": "volume-extended", "server_uuid": sid}]}, headers=LATEST)
    assert untagged.status_code == 207 and untagged.json()["events"][0]["code"] == 400
    assert nova.post("/os-server-external-events", json={"events": [{"name": "volume-extended", "server_uuid": sid}]}).status_code == 400
    assert nova.post("/os-server-external-events", json={"events": []}).status_code == 400
    assert alice.nova.post("/os-server-external-events", json={"events": events}).status_code == 403


# -- migrations ------------------------------------------------------------------------------------
def test_resizes_show_as_migrations(member: Callable[..., Member], nova: ServiceClient, boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    assert act(alice.nova, sid, {"resize": {"flavorRef": "2"}}).status_code == 202
    wait_for(alice.nova, sid, "VERIFY_RESIZE")
    mine = [m for m in nova.get("/os-migrations", headers=LATEST).json()["migrations"] if m["instance_uuid"] == sid]
    assert len(mine) == 1 and mine[0]["status"] == "finished" and mine[0]["migration_type"] == "resize"
    assert mine[0]["source_compute"] == mine[0]["dest_compute"] and mine[0]["project_id"] == alice.project["id"]
    assert mine[0]["old_instance_type_id"] != mine[0]["new_instance_type_id"]
    assert act(alice.nova, sid, {"confirmResize": None}).status_code == 204
    wait_for(alice.nova, sid, "ACTIVE")
    confirmed = nova.get(f"/os-migrations?instance_uuid={sid}", headers=mv("2.1")).json()["migrations"]
    assert [m["status"] for m in confirmed] == ["confirmed"] and "migration_type" not in confirmed[0] and "uuid" not in confirmed[0]
    assert nova.get("/os-migrations?status=confirmed&migration_type=live-migration", headers=LATEST).json()["migrations"] == []
    paged = nova.get("/os-migrations?limit=1", headers=LATEST).json()
    assert len(paged["migrations"]) == 1 and paged["migrations_links"][0]["rel"] == "next"
    assert nova.get("/os-migrations?bogus=1", headers=LATEST).status_code == 400
    assert nova.get("/os-migrations?marker=nope", headers=LATEST).status_code == 400
    assert alice.nova.get("/os-migrations").status_code == 403
    assert nova.get(f"/servers/{sid}/migrations", headers=LATEST).json() == {"migrations": []}


def test_migrate_needs_another_host(member: Callable[..., Member], nova: ServiceClient, boot: Any) -> None:
    alice = member()
    sid = boot(alice.nova)["id"]
    assert alice.nova.post(f"/servers/{sid}/action", json={"migrate": None}).status_code == 403
    one_host = nova.post(f"/servers/{sid}/action", json={"migrate": None})
    assert one_host.status_code == 400 and "No valid host" in one_host.text
    assert nova.post(f"/servers/{uuid.uuid4()}/action", json={"migrate": None}).status_code == 404

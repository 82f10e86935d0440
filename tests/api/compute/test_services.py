"""os-services against a live cloud: the cloud's own compute agent is listed up; state
follows the heartbeat and forced_down; ids and updates per microversion (the 2.1
actions, 2.11 force-down, 2.53 uuids and PUT by id); delete; the stock clients.

Updates and deletes act on fake service records written into the database, never on
the cloud's own compute host (other tests boot servers there)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pocketstack.testing.spec import ApiSpec
from tests.api.compute.conftest import Member
from tests.api.compute.fakes import FakeHost, Records
from tests.api.compute.helpers import LATEST, checked, mv
from tests.conftest import ServiceClient


def fault(reply: httpx.Response, status: int, key: str) -> str:
    assert reply.status_code == status, reply.text
    return str(reply.json()[key]["message"])


def one(nova: ServiceClient, host: str, version: str = "latest") -> dict[str, Any]:
    listed = nova.get(f"/os-services?host={host}", headers=mv(version)).json()["services"]
    assert len(listed) == 1, listed
    return dict(listed[0])


# -- listing and state ------------------------------------------------------------------------------


def test_the_clouds_compute_agent_is_up(spec: ApiSpec | None, nova: ServiceClient) -> None:
    services = checked(spec, nova.get("/os-services?binary=nova-compute", headers=LATEST), "GET", "/os-services", 200)["services"]
    real = [s for s in services if not s["host"].startswith("fake-")]
    if not real:
        pytest.skip("this cloud runs no compute agent")
    assert all(s["state"] == "up" and s["status"] == "enabled" and s["zone"] for s in real)


def test_fields_per_microversion(spec: ApiSpec | None, nova: ServiceClient, host: FakeHost) -> None:
    old = one(nova, host.name, "2.1")
    assert isinstance(old["id"], int) and "forced_down" not in old
    assert old == {
        "id": old["id"],
        "binary": "nova-compute",
        "host": host.name,
        "zone": "nova",
        "status": "enabled",
        "state": "up",
        "updated_at": old["updated_at"],
        "disabled_reason": None,
    }
    assert one(nova, host.name, "2.11")["forced_down"] is False
    latest = one(nova, host.name)
    assert latest["id"] == host.service_uuid
    checked(spec, nova.get(f"/os-services?host={host.name}&binary=nova-compute", headers=LATEST), "GET", "/os-services", 200)
    assert nova.get(f"/os-services?host={host.name}&binary=nova-scheduler").json()["services"] == []
    fault(nova.get("/os-services?bogus=1", headers=mv("2.75")), 400, "badRequest")


def test_state_follows_the_heartbeat(nova: ServiceClient, host: FakeHost, records: Records) -> None:
    records.set_heartbeat(host.name, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10))
    assert one(nova, host.name)["state"] == "down"
    records.set_heartbeat(host.name, dt.datetime.now(dt.timezone.utc))
    assert one(nova, host.name)["state"] == "up"


def test_members_see_no_services(member: Callable[..., Member]) -> None:
    fault(member().nova.get("/os-services"), 403, "forbidden")


# -- updates before 2.53 ----------------------------------------------------------------------------


def test_actions_before_2_53(spec: ApiSpec | None, nova: ServiceClient, host: FakeHost) -> None:
    target = {"host": host.name, "binary": "nova-compute"}
    disabled = checked(spec, nova.put("/os-services/disable", json=target, headers=mv("2.1")), "PUT", "/os-services/disable", 200)
    assert disabled == {"service": {**target, "status": "disabled"}}
    assert one(nova, host.name)["status"] == "disabled"
    reply = nova.put("/os-services/disable-log-reason", json={**target, "disabled_reason": "maintenance"}, headers=mv("2.1"))
    assert reply.json() == {"service": {**target, "status": "disabled", "disabled_reason": "maintenance"}}
    assert one(nova, host.name)["disabled_reason"] == "maintenance"
    assert (
        fault(nova.put("/os-services/disable-log-reason", json=target, headers=mv("2.1")), 400, "badRequest")
        == "Missing disabled reason field"
    )
    enabled = nova.put("/os-services/enable", json=target, headers=mv("2.1")).json()
    assert enabled == {"service": {**target, "status": "enabled"}}
    shown = one(nova, host.name)
    assert (shown["status"], shown["disabled_reason"]) == ("enabled", None)
    # force-down came with 2.11: before it, an unknown action
    assert (
        fault(nova.put("/os-services/force-down", json={**target, "forced_down": True}, headers=mv("2.10")), 404, "itemNotFound")
        == "Unknown action"
    )
    forced = nova.put("/os-services/force-down", json={**target, "forced_down": True}, headers=mv("2.11"))
    assert forced.json() == {"service": {**target, "forced_down": True}}
    shown = one(nova, host.name)
    assert (shown["forced_down"], shown["state"]) == (True, "down")
    assert fault(nova.put("/os-services/force-down", json=target, headers=mv("2.11")), 400, "badRequest") == "Missing forced_down field"
    nova.put("/os-services/force-down", json={**target, "forced_down": "false"}, headers=mv("2.11"))
    assert one(nova, host.name)["state"] == "up"


def test_refusals_before_2_53(nova: ServiceClient, host: FakeHost) -> None:
    message = fault(
        nova.put("/os-services/enable", json={"host": host.name, "binary": "nova-scheduler"}, headers=mv("2.1")), 400, "badRequest"
    )
    assert message == "Updating a nova-scheduler service is not supported. Only nova-compute services can be updated."
    message = fault(
        nova.put("/os-services/enable", json={"host": "fake-absent", "binary": "nova-compute"}, headers=mv("2.1")), 404, "itemNotFound"
    )
    assert message == "Could not find binary nova-compute on host fake-absent."
    fault(nova.put("/os-services/launch", json={"host": host.name, "binary": "nova-compute"}, headers=mv("2.1")), 404, "itemNotFound")
    fault(nova.put("/os-services/enable", json={"host": host.name}, headers=mv("2.1")), 400, "badRequest")
    fault(nova.put("/os-services/enable", json={"host": host.name, "binary": "nova-compute", "x": 1}, headers=mv("2.1")), 400, "badRequest")


# -- updates from 2.53 ---------------------------------------------------------------------------------


def test_update_by_uuid(spec: ApiSpec | None, nova: ServiceClient, host: FakeHost) -> None:
    path = f"/os-services/{host.service_uuid}"
    body = checked(spec, nova.put(path, json={"status": "disabled", "disabled_reason": "disk swap"}, headers=LATEST), "PUT", path, 200)
    service = body["service"]
    assert (service["id"], service["status"], service["disabled_reason"], service["forced_down"]) == (
        host.service_uuid,
        "disabled",
        "disk swap",
        False,
    )
    message = fault(nova.put(path, json={"status": "enabled", "disabled_reason": "x"}, headers=LATEST), 400, "badRequest")
    assert message == "Specifying 'disabled_reason' with status 'enabled' is invalid."
    service = nova.put(path, json={"status": "enabled", "forced_down": True}, headers=LATEST).json()["service"]
    assert (service["status"], service["disabled_reason"], service["forced_down"], service["state"]) == ("enabled", None, True, "down")
    message = fault(nova.put(path, json={}, headers=LATEST), 400, "badRequest")
    assert message == "No updates were requested. Fields 'status' or 'forced_down' should be specified."
    fault(nova.put(path, json={"status": "paused"}, headers=LATEST), 400, "badRequest")
    assert (
        fault(nova.put("/os-services/not-a-uuid", json={"status": "enabled"}, headers=LATEST), 400, "badRequest")
        == "Invalid uuid not-a-uuid"
    )
    missing = "5b5b5b5b-0000-4000-8000-000000000000"
    assert (
        fault(nova.put(f"/os-services/{missing}", json={"status": "enabled"}, headers=LATEST), 404, "itemNotFound")
        == f"Service {missing} could not be found."
    )
    # the old action paths are gone at 2.53
    fault(nova.put("/os-services/enable", json={"host": host.name, "binary": "nova-compute"}, headers=LATEST), 400, "badRequest")


def test_only_compute_services_are_updated(nova: ServiceClient, records: Records) -> None:
    scheduler = records.add_host(binary="nova-scheduler", with_node=False)
    try:
        reply = nova.put(f"/os-services/{scheduler.service_uuid}", json={"status": "disabled"}, headers=LATEST)
        assert fault(reply, 400, "badRequest").startswith("Updating a nova-scheduler service is not supported.")
        listed = nova.get(f"/os-services?host={scheduler.name}", headers=LATEST).json()["services"]
        assert listed[0]["zone"] == "internal"
    finally:
        records.remove_host(scheduler.name)


# -- delete ---------------------------------------------------------------------------------------------


def test_delete_by_id_and_by_uuid(nova: ServiceClient, records: Records) -> None:
    old, new = records.add_host(), records.add_host()
    try:
        old_id = one(nova, old.name, "2.1")["id"]
        fault(nova.delete("/os-services/abc", headers=mv("2.1")), 400, "badRequest")
        fault(nova.delete("/os-services/99999999999999999999", headers=mv("2.1")), 404, "itemNotFound")
        assert nova.delete(f"/os-services/{old_id}", headers=mv("2.1")).status_code == 204
        assert nova.get(f"/os-services?host={old.name}").json()["services"] == []
        assert fault(nova.delete(f"/os-services/{old_id}", headers=mv("2.1")), 404, "itemNotFound") == f"Service {old_id} not found."
        assert fault(nova.delete(f"/os-services/{old_id}", headers=LATEST), 400, "badRequest") == f"Invalid uuid {old_id}"
        deleted = nova.delete(f"/os-services/{new.service_uuid}", headers=LATEST)
        assert deleted.status_code == 204 and not deleted.content
        # the hypervisor went with its service
        fault(nova.get(f"/os-hypervisors/{new.node_uuid}", headers=LATEST), 404, "itemNotFound")
    finally:
        records.remove_host(old.name)
        records.remove_host(new.name)


def test_a_host_with_servers_is_not_deleted(nova: ServiceClient, host: FakeHost, member: Callable[..., Member], records: Records) -> None:
    user = member()
    server = records.add_server(user.project["id"], user.user["id"], host=host.name)
    try:
        reply = nova.delete(f"/os-services/{host.service_uuid}", headers=LATEST)
        assert (
            fault(reply, 409, "conflictingRequest")
            == "Unable to delete compute service that is hosting instances. Migrate or delete the instances first."
        )
    finally:
        records.remove_servers([server])


def test_delete_takes_the_host_out_of_aggregates(nova: ServiceClient, host: FakeHost) -> None:
    made = nova.post("/os-aggregates", json={"aggregate": {"name": f"agg-{host.name}"}}).json()["aggregate"]
    try:
        assert nova.post(f"/os-aggregates/{made['id']}/action", json={"add_host": {"host": host.name}}).status_code == 200
        assert nova.delete(f"/os-services/{host.service_uuid}", headers=LATEST).status_code == 204
        assert nova.get(f"/os-aggregates/{made['id']}").json()["aggregate"]["hosts"] == []
    finally:
        nova.delete(f"/os-aggregates/{made['id']}")


# -- the stock clients ------------------------------------------------------------------------------------


def test_openstack_cli(compute_osc: Any, host: FakeHost) -> None:
    listed = json.loads(compute_osc("compute", "service", "list", "--host", host.name, "-f", "json").stdout)
    assert [(row["Binary"], row["State"], row["Status"]) for row in listed] == [("nova-compute", "up", "enabled")]
    compute_osc("compute", "service", "set", "--disable", "--disable-reason", "cli test", host.name, "nova-compute")
    listed = json.loads(compute_osc("compute", "service", "list", "--host", host.name, "--long", "-f", "json").stdout)
    assert (listed[0]["Status"], listed[0]["Disabled Reason"]) == ("disabled", "cli test")
    compute_osc("compute", "service", "set", "--enable", "--down", host.name, "nova-compute")
    listed = json.loads(compute_osc("compute", "service", "list", "--host", host.name, "-f", "json").stdout)
    assert (listed[0]["Status"], listed[0]["State"]) == ("enabled", "down")
    compute_osc("compute", "service", "set", "--up", host.name, "nova-compute")
    compute_osc("compute", "service", "delete", listed[0]["ID"])
    assert json.loads(compute_osc("compute", "service", "list", "--host", host.name, "-f", "json").stdout) == []


def test_openstacksdk(compute_sdk: Any, host: FakeHost) -> None:
    conn = compute_sdk
    service = next(s for s in conn.compute.services() if s.host == host.name)
    assert (service.state, service.status, service.binary) == ("up", "enabled", "nova-compute")
    service = conn.compute.disable_service(service, host.name, "nova-compute", disabled_reason="sdk test")
    assert service.status == "disabled"
    service = conn.compute.enable_service(service, host.name, "nova-compute")
    assert service.status == "enabled"
    service = conn.compute.update_service_forced_down(service, host.name, "nova-compute", True)
    assert next(s for s in conn.compute.services() if s.host == host.name).state == "down"
    conn.compute.delete_service(service)
    assert [s for s in conn.compute.services() if s.host == host.name] == []

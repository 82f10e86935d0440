"""os-hypervisors against a live cloud: Nova's bodies at 2.1 / 2.28 / 2.33 / 2.53 / 2.75 /
2.88, show and its id rules, statistics, the pre-2.53 search and servers routes and
their 2.53 query parameters, paging, state and status from the service, the stock
clients. Hypervisors are fake compute nodes written into the database (with servers
"running" on them as rows), besides the cloud's own compute host when it has one."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from pocketstack.testing.spec import ApiSpec
from tests.api.compute.conftest import Member
from tests.api.compute.fakes import FakeHost, Records
from tests.api.compute.helpers import LATEST, mv
from tests.conftest import ServiceClient, unique

USAGE_FIELDS = {
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "disk_available_least",
    "cpu_info",
}


@dataclass
class Fleet:
    busy: FakeHost  # 2 servers on it, some resources claimed
    idle: FakeHost
    servers: list[str]
    prefix: str


@pytest.fixture(scope="module")
def fleet(records: Records, member: Callable[..., Member]) -> Iterator[Fleet]:
    prefix = unique("fake-hv")
    busy = records.add_host(f"{prefix}-busy", vcpus=16, memory_mb=32768, local_gb=200, used=(3, 2048, 20))
    idle = records.add_host(f"{prefix}-idle", vcpus=4, memory_mb=8192, local_gb=50)
    user = member()
    servers = [records.add_server(user.project["id"], user.user["id"], host=busy.name, name=f"on-busy-{i}") for i in range(2)]
    yield Fleet(busy, idle, servers, prefix)
    records.remove_servers(servers)
    records.remove_host(busy.name)
    records.remove_host(idle.name)


def checked(spec: ApiSpec | None, reply: httpx.Response, path: str) -> Any:
    assert reply.status_code == 200, f"GET {path}: {reply.status_code} {reply.text[:500]}"
    body = reply.json()
    if spec is not None:
        spec.check("GET", "/v2.1" + path.split("?")[0], 200, body)
    return body


def fault(reply: httpx.Response, status: int, key: str) -> str:
    assert reply.status_code == status, reply.text
    return str(reply.json()[key]["message"])


def by_hostname(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["hypervisor_hostname"]: item for item in body["hypervisors"]}


def hostname(host: FakeHost) -> str:
    return f"{host.name}.example.org"


# -- bodies per microversion ------------------------------------------------------------------------


def test_list_and_detail_at_2_1(nova: ServiceClient, fleet: Fleet) -> None:
    listed = by_hostname(nova.get("/os-hypervisors").json())
    busy = listed[hostname(fleet.busy)]
    assert set(busy) == {"id", "hypervisor_hostname", "state", "status"} and isinstance(busy["id"], int)
    assert (busy["state"], busy["status"]) == ("up", "enabled")
    detail = by_hostname(nova.get("/os-hypervisors/detail").json())[hostname(fleet.busy)]
    assert {k: detail[k] for k in ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used")} == {
        "vcpus": 16,
        "memory_mb": 32768,
        "local_gb": 200,
        "vcpus_used": 3,
        "memory_mb_used": 2048,
        "local_gb_used": 20,
    }
    assert (detail["free_ram_mb"], detail["free_disk_gb"], detail["running_vms"], detail["current_workload"]) == (30720, 180, 2, 0)
    assert detail["service"] == {"id": detail["service"]["id"], "host": fleet.busy.name, "disabled_reason": None}
    assert (detail["hypervisor_type"], detail["hypervisor_version"], detail["host_ip"]) == ("fake", 1000, "192.0.2.10")
    # before 2.28 cpu_info is a JSON string
    assert json.loads(detail["cpu_info"])["arch"] == "x86_64"
    assert "servers" not in detail and "uptime" not in detail


def test_detail_from_2_28_to_2_88(spec: ApiSpec | None, nova: ServiceClient, fleet: Fleet) -> None:
    at_228 = by_hostname(nova.get("/os-hypervisors/detail", headers=mv("2.28")).json())[hostname(fleet.busy)]
    assert at_228["cpu_info"]["arch"] == "x86_64"
    at_253 = by_hostname(nova.get("/os-hypervisors/detail", headers=mv("2.53")).json())[hostname(fleet.busy)]
    assert at_253["id"] == fleet.busy.node_uuid and at_253["service"]["id"] == fleet.busy.service_uuid
    latest = by_hostname(checked(spec, nova.get("/os-hypervisors/detail", headers=LATEST), "/os-hypervisors/detail"))[hostname(fleet.busy)]
    # 2.88 dropped the resource numbers and added uptime (unknown for a host that is not this machine)
    assert not USAGE_FIELDS & set(latest) and latest["uptime"] is None
    path = f"/os-hypervisors/{fleet.busy.node_uuid}"
    assert checked(spec, nova.get(path, headers=LATEST), path)["hypervisor"] == latest


def test_the_clouds_own_host_reports_its_uptime(nova: ServiceClient) -> None:
    own = [
        h for h in nova.get("/os-hypervisors/detail", headers=LATEST).json()["hypervisors"] if not h["service"]["host"].startswith("fake-")
    ]
    if not own:
        pytest.skip("this cloud runs no compute agent")
    assert own[0]["state"] == "up" and " up " in own[0]["uptime"] and "load average" in own[0]["uptime"]
    old = nova.get(f"/os-hypervisors/{own[0]['id']}/uptime", headers=mv("2.87"))
    assert old.status_code == 200 and "load average" in old.json()["hypervisor"]["uptime"]


def test_show_ids(nova: ServiceClient, fleet: Fleet) -> None:
    node_id = by_hostname(nova.get("/os-hypervisors").json())[hostname(fleet.idle)]["id"]
    shown = nova.get(f"/os-hypervisors/{node_id}").json()["hypervisor"]
    assert shown["hypervisor_hostname"] == hostname(fleet.idle) and shown["vcpus"] == 4
    assert fault(nova.get("/os-hypervisors/abc"), 404, "itemNotFound") == "Hypervisor with ID 'abc' could not be found."
    fault(nova.get("/os-hypervisors/999999"), 404, "itemNotFound")
    fault(nova.get("/os-hypervisors/99999999999999999999"), 404, "itemNotFound")
    assert fault(nova.get(f"/os-hypervisors/{node_id}", headers=mv("2.53")), 400, "badRequest") == f"Invalid uuid {node_id}"
    fault(nova.get("/os-hypervisors/00000000-0000-4000-8000-000000000000", headers=mv("2.53")), 404, "itemNotFound")
    fault(nova.get(f"/os-hypervisors/{fleet.idle.node_uuid}?bogus=1", headers=mv("2.53")), 400, "badRequest")


def test_with_servers(nova: ServiceClient, fleet: Fleet) -> None:
    shown = nova.get(f"/os-hypervisors/{fleet.busy.node_uuid}?with_servers=true", headers=mv("2.53")).json()["hypervisor"]
    assert sorted(s["uuid"] for s in shown["servers"]) == sorted(fleet.servers)
    assert {s["name"] for s in shown["servers"]} == {"on-busy-0", "on-busy-1"}
    # no servers: no key before 2.75, an empty list from it
    idle = f"/os-hypervisors/{fleet.idle.node_uuid}?with_servers=1"
    assert "servers" not in nova.get(idle, headers=mv("2.74")).json()["hypervisor"]
    assert nova.get(idle, headers=mv("2.75")).json()["hypervisor"]["servers"] == []
    fault(nova.get(f"/os-hypervisors/{fleet.idle.node_uuid}?with_servers=maybe", headers=mv("2.53")), 400, "badRequest")
    listed = by_hostname(nova.get("/os-hypervisors?with_servers=true", headers=LATEST).json())
    assert len(listed[hostname(fleet.busy)]["servers"]) == 2 and listed[hostname(fleet.idle)]["servers"] == []


def test_hostname_pattern_and_old_search_routes(nova: ServiceClient, fleet: Fleet) -> None:
    found = nova.get(f"/os-hypervisors?hypervisor_hostname_pattern={fleet.prefix}", headers=mv("2.53")).json()["hypervisors"]
    assert sorted(h["hypervisor_hostname"] for h in found) == sorted([hostname(fleet.busy), hostname(fleet.idle)])
    message = fault(nova.get("/os-hypervisors?hypervisor_hostname_pattern=fake-nothing-here", headers=mv("2.53")), 404, "itemNotFound")
    assert message == "No hypervisor matching 'fake-nothing-here' could be found."
    message = fault(nova.get(f"/os-hypervisors?hypervisor_hostname_pattern={fleet.prefix}&limit=1", headers=mv("2.53")), 400, "badRequest")
    assert message.startswith("Paging over hypervisors with the hypervisor_hostname_pattern")
    searched = nova.get(f"/os-hypervisors/{fleet.prefix}-busy/search", headers=mv("2.52")).json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in searched] == [hostname(fleet.busy)] and "servers" not in searched[0]
    with_servers = nova.get(f"/os-hypervisors/{fleet.prefix}/servers", headers=mv("2.52")).json()["hypervisors"]
    by_name = {h["hypervisor_hostname"]: h for h in with_servers}
    assert len(by_name[hostname(fleet.busy)]["servers"]) == 2 and "servers" not in by_name[hostname(fleet.idle)]
    # the search routes are gone at 2.53
    fault(nova.get(f"/os-hypervisors/{fleet.prefix}/search", headers=mv("2.53")), 404, "itemNotFound")
    fault(nova.get("/os-hypervisors/fake-nothing-here/search"), 404, "itemNotFound")


def test_paging_from_2_33(nova: ServiceClient, fleet: Fleet) -> None:
    everything = [h["id"] for h in nova.get("/os-hypervisors", headers=mv("2.53")).json()["hypervisors"]]
    assert len(everything) >= 2
    first = nova.get("/os-hypervisors?limit=1", headers=mv("2.53")).json()
    assert [h["id"] for h in first["hypervisors"]] == everything[:1]
    link = first["hypervisors_links"][0]
    assert link["rel"] == "next" and f"marker={everything[0]}" in link["href"] and "limit=1" in link["href"]
    rest = nova.get(f"/os-hypervisors?marker={everything[0]}", headers=mv("2.53")).json()["hypervisors"]
    assert [h["id"] for h in rest] == everything[1:]
    fault(nova.get("/os-hypervisors?marker=00000000-0000-4000-8000-000000000000", headers=mv("2.53")), 400, "badRequest")
    fault(nova.get("/os-hypervisors?limit=-1", headers=mv("2.33")), 400, "badRequest")
    # before 2.33 there is no paging
    assert "hypervisors_links" not in nova.get("/os-hypervisors?limit=1", headers=mv("2.32")).json()


def test_statistics(nova: ServiceClient, fleet: Fleet) -> None:
    stats = nova.get("/os-hypervisors/statistics", headers=mv("2.87")).json()["hypervisor_statistics"]
    assert stats["count"] >= 2 and stats["vcpus"] >= 20 and stats["running_vms"] >= 2
    nova.put(f"/os-services/{fleet.idle.service_uuid}", json={"status": "disabled"}, headers=LATEST)
    try:
        fewer = nova.get("/os-hypervisors/statistics", headers=mv("2.87")).json()["hypervisor_statistics"]
        assert fewer["count"] == stats["count"] - 1 and fewer["vcpus"] == stats["vcpus"] - 4
        idle = by_hostname(nova.get("/os-hypervisors", headers=LATEST).json())[hostname(fleet.idle)]
        assert idle["status"] == "disabled"
    finally:
        nova.put(f"/os-services/{fleet.idle.service_uuid}", json={"status": "enabled"}, headers=LATEST)
    fault(nova.get("/os-hypervisors/statistics", headers=mv("2.88")), 404, "itemNotFound")


def test_state_and_uptime_route(nova: ServiceClient, fleet: Fleet, records: Records) -> None:
    records.set_heartbeat(fleet.idle.name, dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2))
    try:
        assert by_hostname(nova.get("/os-hypervisors").json())[hostname(fleet.idle)]["state"] == "down"
    finally:
        records.set_heartbeat(fleet.idle.name, dt.datetime.now(dt.timezone.utc))
    uptime = nova.get(f"/os-hypervisors/{fleet.idle.node_uuid}/uptime", headers=mv("2.53")).json()["hypervisor"]
    assert uptime["hypervisor_hostname"] == hostname(fleet.idle) and "uptime" in uptime
    fault(nova.get(f"/os-hypervisors/{fleet.idle.node_uuid}/uptime", headers=mv("2.88")), 404, "itemNotFound")


def test_members_see_no_hypervisors(member: Callable[..., Member]) -> None:
    fault(member().nova.get("/os-hypervisors"), 403, "forbidden")


def test_stock_clients(compute_osc: Any, compute_sdk: Any, fleet: Fleet) -> None:
    listed = json.loads(compute_osc("hypervisor", "list", "-f", "json").stdout)
    assert hostname(fleet.busy) in [row["Hypervisor Hostname"] for row in listed]
    shown = json.loads(compute_osc("hypervisor", "show", "-f", "json", fleet.busy.node_uuid).stdout)
    assert shown["hypervisor_hostname"] == hostname(fleet.busy) and shown["service_host"] == fleet.busy.name
    found = [h for h in compute_sdk.compute.hypervisors(details=True) if h.name == hostname(fleet.busy)]
    assert found and found[0].status == "enabled"
    assert compute_sdk.compute.get_hypervisor(fleet.busy.node_uuid).name == hostname(fleet.busy)

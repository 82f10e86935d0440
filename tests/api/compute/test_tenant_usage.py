"""os-simple-tenant-usage against a live cloud: hours inside the period from launch to
termination (deleted servers count for the time they ran, servers never launched not
at all), flavor-sized totals, the list for admins, paging from 2.40, bad periods, and
the stock clients. Servers are rows written into the database with chosen times."""

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
from tests.api.compute.fakes import Records
from tests.api.compute.helpers import LATEST, mv
from tests.conftest import ServiceClient

NOW = dt.datetime.now(dt.timezone.utc)


def ago(hours: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def stamp(when: dt.datetime) -> str:
    """A period bound the way clients write it: UTC, no zone."""
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass
class History:
    owner: Member
    running: str  # launched 10 h ago, still running: 2 vCPUs, 1 GiB, 10+5 GB
    ended: str  # launched 5 h ago, deleted 2 h ago: 1 vCPU, 512 MiB, 1 GB
    never: str  # never launched
    earlier: str  # ran 20 h ago to 12 h ago: outside the period


@pytest.fixture(scope="module")
def history(member: Callable[..., Member], records: Records) -> Iterator[History]:
    owner = member()
    project, user = owner.project["id"], owner.user["id"]
    made = History(
        owner=owner,
        running=records.add_server(
            project, user, name="running", flavor_name="m1.small", vcpus=2, memory_mb=1024, root_gb=10, ephemeral_gb=5, launched_at=ago(10)
        ),
        ended=records.add_server(
            project, user, name="ended", vcpus=1, memory_mb=512, root_gb=1, launched_at=ago(5), terminated_at=ago(2), deleted=True
        ),
        never=records.add_server(project, user, name="never", vm_state="building", created_at=ago(1)),
        earlier=records.add_server(project, user, name="earlier", launched_at=ago(20), terminated_at=ago(12), deleted=True),
    )
    yield made
    records.remove_servers([made.running, made.ended, made.never, made.earlier])


def checked(spec: ApiSpec | None, reply: httpx.Response, path: str) -> Any:
    assert reply.status_code == 200, f"GET {path}: {reply.status_code} {reply.text[:500]}"
    body = reply.json()
    if spec is not None:
        spec.check("GET", "/v2.1" + path.split("?")[0], 200, body)
    return body


def fault(reply: httpx.Response, status: int, key: str) -> str:
    assert reply.status_code == status, reply.text
    return str(reply.json()[key]["message"])


def period(start_hours_ago: float = 8, end: dt.datetime | None = None) -> str:
    return f"start={stamp(ago(start_hours_ago))}&end={stamp(end or NOW + dt.timedelta(days=1))}"


def test_a_projects_usage(spec: ApiSpec | None, history: History) -> None:
    path = f"/os-simple-tenant-usage/{history.owner.project['id']}?{period()}"
    usage = checked(spec, history.owner.nova.get(path, headers=LATEST), path)["tenant_usage"]
    servers = {item["instance_id"]: item for item in usage["server_usages"]}
    assert set(servers) == {history.running, history.ended}
    running, ended = servers[history.running], servers[history.ended]
    # the running server counts from the start of the period (8 h) up to now, the end being cut at now
    assert running["hours"] == pytest.approx(8, abs=0.05) and ended["hours"] == pytest.approx(3, abs=0.001)
    assert (running["state"], running["ended_at"], running["flavor"], running["local_gb"], running["vcpus"], running["memory_mb"]) == (
        "active",
        None,
        "m1.small",
        15,
        2,
        1024,
    )
    assert ended["state"] == "terminated" and ended["ended_at"] is not None and ended["uptime"] == 3 * 3600
    assert running["uptime"] >= 10 * 3600 - 5
    assert usage["total_hours"] == pytest.approx(running["hours"] + 3)
    assert usage["total_vcpus_usage"] == pytest.approx(2 * running["hours"] + 3)
    assert usage["total_memory_mb_usage"] == pytest.approx(1024 * running["hours"] + 512 * 3)
    assert usage["total_local_gb_usage"] == pytest.approx(15 * running["hours"] + 3)
    assert usage["tenant_id"] == history.owner.project["id"]
    # started_at is the launch, without a zone, as Nova writes it
    assert dt.datetime.fromisoformat(running["started_at"]).tzinfo is None


def test_period_limits_what_counts(history: History) -> None:
    project_id = history.owner.project["id"]
    # 24 h ago to 11 h ago: only the earlier server ran then
    usage = history.owner.nova.get(f"/os-simple-tenant-usage/{project_id}?{period(24, ago(11))}").json()["tenant_usage"]
    assert [item["name"] for item in usage["server_usages"]] == ["earlier"]
    assert usage["server_usages"][0]["hours"] == pytest.approx(8)
    # a period in which nothing ran: an empty usage
    assert history.owner.nova.get(f"/os-simple-tenant-usage/{project_id}?{period(60, ago(50))}").json() == {"tenant_usage": {}}


def test_list_for_admins(spec: ApiSpec | None, nova: ServiceClient, history: History) -> None:
    path = f"/os-simple-tenant-usage?{period()}"
    usages = {u["tenant_id"]: u for u in checked(spec, nova.get(path, headers=LATEST), path)["tenant_usages"]}
    mine = usages[history.owner.project["id"]]
    assert "server_usages" not in mine and mine["total_hours"] == pytest.approx(11, abs=0.05)
    detailed = {u["tenant_id"]: u for u in nova.get(f"{path}&detailed=1", headers=LATEST).json()["tenant_usages"]}
    assert len(detailed[history.owner.project["id"]]["server_usages"]) == 2
    fault(history.owner.nova.get(path), 403, "forbidden")


def test_other_projects_usage_is_not_visible(history: History, member: Callable[..., Member]) -> None:
    fault(member().nova.get(f"/os-simple-tenant-usage/{history.owner.project['id']}"), 403, "forbidden")


def test_paging_from_2_40(nova: ServiceClient, history: History) -> None:
    base = f"/os-simple-tenant-usage/{history.owner.project['id']}?{period()}"
    first = nova.get(f"{base}&limit=1", headers=mv("2.40")).json()
    assert len(first["tenant_usage"]["server_usages"]) == 1
    link = first["tenant_usage_links"][0]["href"]
    marker = first["tenant_usage"]["server_usages"][0]["instance_id"]
    assert f"marker={marker}" in link
    second = nova.get(f"{base}&limit=1&marker={marker}", headers=mv("2.40")).json()["tenant_usage"]["server_usages"]
    assert len(second) == 1 and second[0]["instance_id"] != marker
    assert sorted([marker, second[0]["instance_id"]]) == sorted([history.running, history.ended])
    fault(nova.get(f"{base}&marker=00000000-0000-4000-8000-000000000000", headers=mv("2.40")), 400, "badRequest")
    # before 2.40 there is no paging: limit is ignored
    assert len(nova.get(f"{base}&limit=1", headers=mv("2.39")).json()["tenant_usage"]["server_usages"]) == 2
    fault(nova.get(f"{base}&bogus=1", headers=mv("2.75")), 400, "badRequest")


def test_bad_periods(nova: ServiceClient, history: History) -> None:
    path = f"/os-simple-tenant-usage/{history.owner.project['id']}"
    fault(nova.get(f"{path}?start=yesterday"), 400, "badRequest")
    message = fault(nova.get(f"{path}?start={stamp(ago(1))}&end={stamp(ago(2))}"), 400, "badRequest")
    assert message == "Invalid start time. The start time cannot occur after the end time."


def test_stock_clients(compute_osc: Any, compute_sdk: Any, history: History) -> None:
    project_id = history.owner.project["id"]
    start, end = (NOW - dt.timedelta(days=2)).strftime("%Y-%m-%d"), (NOW + dt.timedelta(days=1)).strftime("%Y-%m-%d")
    shown = json.loads(compute_osc("usage", "show", "--project", project_id, "--start", start, "--end", end, "-f", "json").stdout)
    assert len(shown["Servers"]) == 3  # the earlier one ran inside these two days too
    usage = compute_sdk.compute.get_usage(project_id, start=NOW - dt.timedelta(hours=8), end=NOW)
    assert {item["instance_id"] for item in usage.server_usages} == {history.running, history.ended}
    listed = {u.project_id: u for u in compute_sdk.compute.usages(start=NOW - dt.timedelta(hours=8), end=NOW, detailed=True)}
    assert listed[project_id].total_hours == pytest.approx(11, abs=0.05)

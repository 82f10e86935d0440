"""os-availability-zone against a live cloud: zones come from the compute services' hosts
(aggregates with an availability_zone, the default zone otherwise), a zone with only
disabled services is unavailable, Nova's "internal" zone is hidden from the plain list,
the detail (admins) shows hosts and their services. Hosts are fake service records
written into the database and removed afterwards."""

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
from tests.api.compute.helpers import LATEST
from tests.conftest import ServiceClient, unique


@dataclass
class Layout:
    zone_a: str
    zone_b: str
    up: FakeHost  # enabled, in zone a
    disabled: FakeHost  # the only host of zone b
    down: FakeHost  # enabled but silent for long, in zone a
    plain: FakeHost  # in no aggregate: the default zone
    scheduler: FakeHost  # not a compute service: the internal zone


@pytest.fixture(scope="module")
def layout(nova: ServiceClient, records: Records) -> Iterator[Layout]:
    suffix = unique("az")
    made = Layout(
        zone_a=f"{suffix}-a",
        zone_b=f"{suffix}-b",
        up=records.add_host(),
        disabled=records.add_host(disabled=True),
        down=records.add_host(last_seen_up=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)),
        plain=records.add_host(),
        scheduler=records.add_host(binary="nova-scheduler", with_node=False),
    )
    aggregates = []
    for zone, hosts in ((made.zone_a, [made.up, made.down]), (made.zone_b, [made.disabled])):
        reply = nova.post("/os-aggregates", json={"aggregate": {"name": unique("agg"), "availability_zone": zone}})
        assert reply.status_code == 200, reply.text
        aggregate_id = reply.json()["aggregate"]["id"]
        aggregates.append((aggregate_id, hosts))
        for host in hosts:
            added = nova.post(f"/os-aggregates/{aggregate_id}/action", json={"add_host": {"host": host.name}})
            assert added.status_code == 200, added.text
    yield made
    for aggregate_id, hosts in aggregates:
        for host in hosts:
            nova.post(f"/os-aggregates/{aggregate_id}/action", json={"remove_host": {"host": host.name}})
        nova.delete(f"/os-aggregates/{aggregate_id}")
    for host in (made.up, made.disabled, made.down, made.plain, made.scheduler):
        records.remove_host(host.name)


def checked(spec: ApiSpec | None, reply: httpx.Response, path: str) -> Any:
    assert reply.status_code == 200, f"GET {path}: {reply.status_code} {reply.text[:500]}"
    body = reply.json()
    if spec is not None:
        spec.check("GET", "/v2.1" + path, 200, body)
    return body


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {zone["zoneName"]: zone for zone in body["availabilityZoneInfo"]}


def test_zones_everyone_sees(spec: ApiSpec | None, member: Callable[..., Member], layout: Layout) -> None:
    user = member()
    zones = by_name(checked(spec, user.nova.get("/os-availability-zone", headers=LATEST), "/os-availability-zone"))
    assert zones[layout.zone_a] == {"zoneName": layout.zone_a, "zoneState": {"available": True}, "hosts": None}
    # a zone whose services are all disabled is listed as unavailable
    assert zones[layout.zone_b] == {"zoneName": layout.zone_b, "zoneState": {"available": False}, "hosts": None}
    # hosts in no zoned aggregate are in the default zone
    assert zones["nova"]["zoneState"] == {"available": True}
    assert "internal" not in zones
    # available zones come first, each group by name
    states = [zone["zoneState"]["available"] for zone in user.nova.get("/os-availability-zone").json()["availabilityZoneInfo"]]
    assert states == sorted(states, reverse=True)


def test_detail_shows_hosts_and_services(spec: ApiSpec | None, nova: ServiceClient, layout: Layout) -> None:
    zones = by_name(checked(spec, nova.get("/os-availability-zone/detail", headers=LATEST), "/os-availability-zone/detail"))
    hosts = zones[layout.zone_a]["hosts"]
    assert set(hosts) == {layout.up.name, layout.down.name}
    up = hosts[layout.up.name]["nova-compute"]
    assert up["available"] is True and up["active"] is True and up["updated_at"]
    assert hosts[layout.down.name]["nova-compute"]["available"] is False
    assert zones[layout.zone_b]["hosts"] is None
    assert layout.plain.name in zones["nova"]["hosts"]
    # the detail shows the internal zone with its services
    assert zones["internal"]["hosts"][layout.scheduler.name]["nova-scheduler"]["active"] is True


def test_detail_is_for_admins(member: Callable[..., Member]) -> None:
    reply = member().nova.get("/os-availability-zone/detail")
    assert reply.status_code == 403, reply.text


def test_disabling_the_last_service_makes_a_zone_unavailable(nova: ServiceClient, layout: Layout) -> None:
    reply = nova.put(f"/os-services/{layout.plain.service_uuid}", json={"status": "disabled"}, headers=LATEST)
    assert reply.status_code == 200, reply.text
    try:
        zones = by_name(nova.get("/os-availability-zone").json())
        others_in_default = zones["nova"]["zoneState"]["available"]
        # the cloud's own compute host may keep the default zone available; our host is gone from its detail
        detail = by_name(nova.get("/os-availability-zone/detail").json())
        if others_in_default:
            assert layout.plain.name not in (detail["nova"]["hosts"] or {})
        else:
            assert detail["nova"]["hosts"] is None
    finally:
        nova.put(f"/os-services/{layout.plain.service_uuid}", json={"status": "enabled"}, headers=LATEST)


def test_stock_clients(compute_osc: Any, compute_sdk: Any, layout: Layout) -> None:
    listed = json.loads(compute_osc("availability", "zone", "list", "--compute", "-f", "json").stdout)
    states = {row["Zone Name"]: row["Zone Status"] for row in listed}
    assert states[layout.zone_a] == "available" and states[layout.zone_b] == "not available"
    long = json.loads(compute_osc("availability", "zone", "list", "--compute", "--long", "-f", "json").stdout)
    assert {row["Host Name"] for row in long if row["Zone Name"] == layout.zone_a} == {layout.up.name, layout.down.name}
    zones = {zone.name: zone for zone in compute_sdk.compute.availability_zones(details=True)}
    assert zones[layout.zone_a].state["available"] is True
    assert layout.up.name in zones[layout.zone_a].hosts

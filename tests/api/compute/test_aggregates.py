"""os-aggregates against a live cloud: CRUD and Nova's bodies (uuid from 2.41), hosts in
and out (only registered compute hosts; never two zones per host; no zone change under
running servers), metadata with the availability zone, the zone helper the scheduler
uses, and the stock clients. Hosts are fake service records written into the database
(tests never move the cloud's own compute host between zones)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pocketstack.services.compute.backend.aggregates import availability_zone_of_host
from pocketstack.testing.spec import ApiSpec, validate_body
from tests.api.compute.conftest import Member
from tests.api.compute.fakes import FakeHost, Records
from tests.api.compute.helpers import LATEST, checked, mv
from tests.conftest import ServiceClient, unique


@pytest.fixture()
def aggregates(nova: ServiceClient) -> Iterator[Callable[..., dict[str, Any]]]:
    """Make aggregates; whatever a test leaves is emptied and deleted afterwards."""
    made: list[int] = []

    def make(zone: str | None = None, version: str = "latest") -> dict[str, Any]:
        body: dict[str, Any] = {"name": unique("agg")}
        if zone is not None:
            body["availability_zone"] = zone
        reply = nova.post("/os-aggregates", json={"aggregate": body}, headers=mv(version))
        assert reply.status_code == 200, reply.text
        made.append(reply.json()["aggregate"]["id"])
        return dict(reply.json()["aggregate"])

    yield make
    for aggregate_id in made:
        shown = nova.get(f"/os-aggregates/{aggregate_id}")
        if shown.status_code != 200:
            continue
        for name in shown.json()["aggregate"]["hosts"]:
            nova.post(f"/os-aggregates/{aggregate_id}/action", json={"remove_host": {"host": name}})
        nova.delete(f"/os-aggregates/{aggregate_id}")


def checked_action(spec: ApiSpec | None, reply: httpx.Response, action: str) -> Any:
    """An action's answer, checked against that action's own schema (the spec's oneOf over
    the three identical answers can never match just one)."""
    assert reply.status_code == 200, f"{action}: {reply.status_code} {reply.text[:500]}"
    body = reply.json()
    if spec is not None:
        component = "Os_AggregatesAction" + "_".join(part.title() for part in action.split("_")) + "Response"
        validate_body(body, {"$ref": f"#/components/schemas/{component}", "components": spec.components}, action)
    return body


def fault(reply: httpx.Response, status: int, key: str) -> str:
    assert reply.status_code == status, reply.text
    return str(reply.json()[key]["message"])


def act(nova: ServiceClient, aggregate_id: int, action: str, argument: Any, version: str = "latest") -> httpx.Response:
    return nova.post(f"/os-aggregates/{aggregate_id}/action", json={action: argument}, headers=mv(version))


# -- CRUD -----------------------------------------------------------------------------------------


def test_create_show_update_list_delete(spec: ApiSpec | None, nova: ServiceClient) -> None:
    name = unique("agg")
    created = checked(
        spec,
        nova.post("/os-aggregates", json={"aggregate": {"name": name, "availability_zone": "london"}}, headers=LATEST),
        "POST",
        "/os-aggregates",
        200,
    )["aggregate"]
    # create answers without hosts and metadata (Nova keeps v2's body)
    assert set(created) == {"availability_zone", "created_at", "deleted", "deleted_at", "id", "name", "updated_at", "uuid"}
    assert (created["name"], created["availability_zone"], created["deleted"], created["updated_at"]) == (name, "london", False, None)
    path = f"/os-aggregates/{created['id']}"
    shown = checked(spec, nova.get(path, headers=LATEST), "GET", path, 200)["aggregate"]
    assert shown["hosts"] == [] and shown["metadata"] == {"availability_zone": "london"} and shown["uuid"] == created["uuid"]
    renamed = checked(spec, nova.put(path, json={"aggregate": {"name": f"  {name}-2 "}}, headers=LATEST), "PUT", path, 200)["aggregate"]
    assert renamed["name"] == f"{name}-2" and renamed["updated_at"] is not None
    rezoned = nova.put(path, json={"aggregate": {"availability_zone": "paris"}}, headers=LATEST).json()["aggregate"]
    assert rezoned["availability_zone"] == "paris" and rezoned["metadata"]["availability_zone"] == "paris"
    listed = checked(spec, nova.get("/os-aggregates", headers=LATEST), "GET", "/os-aggregates", 200)["aggregates"]
    assert created["id"] in [a["id"] for a in listed]
    deleted = nova.delete(path)
    assert deleted.status_code == 200 and not deleted.content
    assert fault(nova.get(path), 404, "itemNotFound") == f"Aggregate {created['id']} could not be found."


def test_uuid_appears_at_2_41(nova: ServiceClient, aggregates: Callable[..., dict[str, Any]]) -> None:
    old = aggregates(version="2.40")
    assert "uuid" not in old and old["availability_zone"] is None
    assert "uuid" not in nova.get(f"/os-aggregates/{old['id']}", headers=mv("2.40")).json()["aggregate"]
    assert len(nova.get(f"/os-aggregates/{old['id']}", headers=mv("2.41")).json()["aggregate"]["uuid"]) == 36


def test_bad_requests(nova: ServiceClient, aggregates: Callable[..., dict[str, Any]]) -> None:
    first = aggregates()
    assert fault(nova.post("/os-aggregates", json={"aggregate": {"name": first["name"]}}), 409, "conflictingRequest").endswith(
        "already exists."
    )
    for body in ({"name": ""}, {"name": " lead"}, {"name": "x", "availability_zone": "a:b"}, {"name": "x", "extra": 1}, {}):
        fault(nova.post("/os-aggregates", json={"aggregate": body}), 400, "badRequest")
    fault(nova.put(f"/os-aggregates/{first['id']}", json={"aggregate": {}}), 400, "badRequest")
    fault(nova.get("/os-aggregates/abc"), 400, "badRequest")
    fault(nova.get("/os-aggregates/987654"), 404, "itemNotFound")
    fault(nova.get("/os-aggregates/99999999999999999999"), 404, "itemNotFound")
    fault(act(nova, first["id"], "no_such_action", {}), 400, "badRequest")
    fault(act(nova, first["id"], "add_host", {"host": "bad host!"}), 400, "badRequest")
    fault(act(nova, first["id"], "set_metadata", {"metadata": {"bad/key": "v"}}), 400, "badRequest")


def test_members_may_not_touch_aggregates(member: Callable[..., Member]) -> None:
    user = member()
    fault(user.nova.get("/os-aggregates"), 403, "forbidden")
    fault(user.nova.post("/os-aggregates", json={"aggregate": {"name": "nope"}}), 403, "forbidden")


# -- hosts and zones --------------------------------------------------------------------------------


def test_hosts_join_and_leave(spec: ApiSpec | None, nova: ServiceClient, aggregates: Callable[..., dict[str, Any]], host: FakeHost) -> None:
    aggregate = aggregates("zone-a")
    added = checked_action(spec, act(nova, aggregate["id"], "add_host", {"host": host.name}), "add_host")["aggregate"]
    assert added["hosts"] == [host.name]
    message = fault(act(nova, aggregate["id"], "add_host", {"host": host.name}), 409, "conflictingRequest")
    assert message == f"Aggregate {aggregate['id']} already has host {host.name}."
    assert (
        fault(act(nova, aggregate["id"], "add_host", {"host": "fake-nowhere"}), 404, "itemNotFound")
        == "Compute host fake-nowhere could not be found."
    )
    # an aggregate with hosts cannot be deleted
    fault(nova.delete(f"/os-aggregates/{aggregate['id']}"), 400, "badRequest")
    removed = checked_action(spec, act(nova, aggregate["id"], "remove_host", {"host": host.name}), "remove_host")["aggregate"]
    assert removed["hosts"] == []
    message = fault(act(nova, aggregate["id"], "remove_host", {"host": host.name}), 404, "itemNotFound")
    assert message == f"Cannot remove host {host.name} in aggregate {aggregate['id']}"


def test_a_host_is_in_one_zone(nova: ServiceClient, aggregates: Callable[..., dict[str, Any]], host: FakeHost, records: Records) -> None:
    zoned, other_zone, plain = aggregates("zone-b"), aggregates("zone-c"), aggregates()
    assert act(nova, zoned["id"], "add_host", {"host": host.name}).status_code == 200
    message = fault(act(nova, other_zone["id"], "add_host", {"host": host.name}), 409, "conflictingRequest")
    assert (
        message == f"Cannot add host to aggregate {other_zone['id']}. Reason: One or more hosts already in availability zone(s) ['zone-b']."
    )
    # an aggregate without a zone, or with the same zone, is fine
    assert act(nova, plain["id"], "add_host", {"host": host.name}).status_code == 200
    # and the plain one cannot now take a different zone
    reply = act(nova, plain["id"], "set_metadata", {"metadata": {"availability_zone": "zone-d"}})
    assert "One or more hosts already in availability zone(s) ['zone-b']" in fault(reply, 400, "badRequest")
    reply = nova.put(f"/os-aggregates/{plain['id']}", json={"aggregate": {"availability_zone": "zone-d"}})
    assert fault(reply, 400, "badRequest").startswith(f"Cannot update aggregate {plain['id']}.")
    with records.db.read() as db:
        assert availability_zone_of_host(db, host.name, "nova") == "zone-b"
        assert availability_zone_of_host(db, "fake-in-no-aggregate", "nova") == "nova"


def test_zone_names_cannot_be_empty(nova: ServiceClient, aggregates: Callable[..., dict[str, Any]]) -> None:
    aggregate = aggregates("zone-e")
    reply = act(nova, aggregate["id"], "set_metadata", {"metadata": {"availability_zone": None}})
    message = fault(reply, 400, "badRequest")
    assert message == (
        f"Cannot update metadata of aggregate {aggregate['id']}. Reason: Aggregate {aggregate['name']} does not support empty named availability zone."
    )


def test_servers_pin_their_host_to_its_zone(
    nova: ServiceClient, aggregates: Callable[..., dict[str, Any]], host: FakeHost, member: Callable[..., Member], records: Records
) -> None:
    user = member()
    server = records.add_server(user.project["id"], user.user["id"], host=host.name)
    try:
        zoned = aggregates("zone-f")
        reply = act(nova, zoned["id"], "add_host", {"host": host.name})
        assert "the availability zone of the host would change from 'None' to 'zone-f'" in fault(reply, 409, "conflictingRequest")
        plain = aggregates()
        assert act(nova, plain["id"], "add_host", {"host": host.name}).status_code == 200
        reply = act(nova, plain["id"], "set_metadata", {"metadata": {"availability_zone": "zone-g"}})
        assert fault(reply, 400, "badRequest").endswith("Reason: One or more hosts contain instances in this zone.")
    finally:
        records.remove_servers([server])
    # without servers the zone may change
    assert act(nova, plain["id"], "set_metadata", {"metadata": {"availability_zone": "zone-g"}}).status_code == 200


def test_set_metadata_adds_replaces_and_removes(
    spec: ApiSpec | None, nova: ServiceClient, aggregates: Callable[..., dict[str, Any]]
) -> None:
    aggregate = aggregates()
    body = checked_action(spec, act(nova, aggregate["id"], "set_metadata", {"metadata": {"ssd": "true", "tier": "gold"}}), "set_metadata")
    assert body["aggregate"]["metadata"] == {"ssd": "true", "tier": "gold"}
    body = act(nova, aggregate["id"], "set_metadata", {"metadata": {"tier": "silver", "ssd": None, "absent": None}}).json()
    assert body["aggregate"]["metadata"] == {"tier": "silver"}
    body = act(nova, aggregate["id"], "set_metadata", {"metadata": {"availability_zone": "zone-h"}}).json()
    assert body["aggregate"]["availability_zone"] == "zone-h"


# -- the stock clients -----------------------------------------------------------------------------


def test_openstack_cli(compute_osc: Any, host: FakeHost) -> None:
    name = unique("cli")
    made = json.loads(compute_osc("aggregate", "create", "--zone", "cli-zone", "--property", "k=v", "-f", "json", name).stdout)
    assert made["availability_zone"] == "cli-zone"
    compute_osc("aggregate", "add", "host", name, host.name)
    shown = json.loads(compute_osc("aggregate", "show", "-f", "json", name).stdout)
    assert shown["hosts"] == [host.name] and shown["properties"].get("k") == "v"
    compute_osc("aggregate", "set", "--property", "k2=v2", "--name", f"{name}-x", name)
    assert f"{name}-x" in compute_osc("aggregate", "list", "-f", "value", "-c", "Name").stdout
    compute_osc("aggregate", "remove", "host", f"{name}-x", host.name)
    compute_osc("aggregate", "delete", f"{name}-x")
    assert f"{name}-x" not in compute_osc("aggregate", "list", "-f", "value", "-c", "Name").stdout


def test_openstacksdk(compute_sdk: Any, host: FakeHost) -> None:
    conn = compute_sdk
    aggregate = conn.compute.create_aggregate(name=unique("sdk"), availability_zone="sdk-zone")
    try:
        aggregate = conn.compute.add_host_to_aggregate(aggregate, host.name)
        assert aggregate.hosts == [host.name]
        aggregate = conn.compute.set_aggregate_metadata(aggregate, {"tier": "gold"})
        assert aggregate.metadata["tier"] == "gold"
        assert aggregate.id in [a.id for a in conn.compute.aggregates()]
        aggregate = conn.compute.remove_host_from_aggregate(aggregate, host.name)
        assert aggregate.hosts == []
    finally:
        conn.compute.delete_aggregate(aggregate)
    assert conn.compute.find_aggregate(aggregate.name) is None

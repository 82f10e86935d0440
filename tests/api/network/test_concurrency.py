"""IPAM under concurrency: 50 port creates at once never get the same address, and when
the pool runs out exactly the free addresses are handed out, the other requests getting
409 IpAddressGenerationFailure. Run against the live server on SQLite (the session cloud)
and on PostgreSQL (where transactions really run in parallel and the allocation table's
primary key is what keeps addresses apart)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pocketstack.testing.server import LiveCloud
from tests.api.network.conftest import make_network, make_subnet, ok, start_network_cloud
from tests.conftest import ServiceClient, _drop_postgres_database, _postgres_database, admin_identity

PARALLEL = 50


@pytest.fixture(scope="module")
def postgres_neutron(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceClient]:
    made = _postgres_database()
    if made is None:
        pytest.skip("no PostgreSQL server answers")
    cloud: LiveCloud | None = None
    try:
        cloud = start_network_cloud(tmp_path_factory.mktemp("network-pg"), made[1])
        yield admin_identity(cloud).service("/networking/v2.0")
    finally:
        if cloud is not None:
            cloud.stop()
        _drop_postgres_database(made[0])


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest) -> ServiceClient:
    if request.param == "sqlite":
        return request.getfixturevalue("neutron")  # type: ignore[no-any-return]
    return request.getfixturevalue("postgres_neutron")  # type: ignore[no-any-return]


def create_many(client: ServiceClient, network_id: str, count: int) -> list[httpx.Response]:
    def create(_: int) -> httpx.Response:
        with httpx.Client(timeout=120) as http:
            return http.post(client.base + "/ports", json={"port": {"network_id": network_id}}, headers={"X-Auth-Token": client.token})

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(create, range(count)))


def held_addresses(client: ServiceClient, network_id: str) -> list[str]:
    ports = ok(client.get(f"/ports?network_id={network_id}"))["ports"]
    return [held["ip_address"] for port in ports for held in port["fixed_ips"]]


def test_fifty_parallel_creates_get_fifty_different_addresses(client: ServiceClient) -> None:
    network = make_network(client)
    make_subnet(client, network["id"], "10.40.0.0/26")  # 61 free addresses
    replies = create_many(client, network["id"], PARALLEL)
    assert Counter(reply.status_code for reply in replies) == {201: PARALLEL}, [r.text for r in replies if r.status_code != 201][:3]
    given: list[Any] = [reply.json()["port"]["fixed_ips"][0]["ip_address"] for reply in replies]
    assert len(set(given)) == PARALLEL
    assert sorted(held_addresses(client, network["id"])) == sorted(given)
    macs = [reply.json()["port"]["mac_address"] for reply in replies]
    assert len(set(macs)) == PARALLEL


def test_parallel_creates_share_out_the_last_addresses_exactly(client: ServiceClient) -> None:
    network = make_network(client)
    make_subnet(client, network["id"], "10.41.0.0/27")  # 29 free addresses
    replies = create_many(client, network["id"], PARALLEL)
    statuses = Counter(reply.status_code for reply in replies)
    assert statuses == {201: 29, 409: PARALLEL - 29}, statuses
    assert {reply.json()["NeutronError"]["type"] for reply in replies if reply.status_code == 409} == {"IpAddressGenerationFailure"}
    held = held_addresses(client, network["id"])
    assert len(held) == len(set(held)) == 29


def in_parallel(client: ServiceClient, method: str, requests: list[tuple[str, dict[str, Any]]]) -> list[httpx.Response]:
    def send(request: tuple[str, dict[str, Any]]) -> httpx.Response:
        path, body = request
        with httpx.Client(timeout=120) as http:
            return http.request(method, client.base + path, json=body, headers={"X-Auth-Token": client.token})

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_parallel_floating_ips_share_out_an_external_subnet(client: ServiceClient) -> None:
    external = make_network(client, **{"router:external": True})
    make_subnet(client, external["id"], "203.0.113.0/27")  # 29 free addresses
    replies = in_parallel(client, "POST", [("/floatingips", {"floatingip": {"floating_network_id": external["id"]}})] * PARALLEL)
    statuses = Counter(reply.status_code for reply in replies)
    assert statuses == {201: 29, 409: PARALLEL - 29}, statuses
    addresses = [reply.json()["floatingip"]["floating_ip_address"] for reply in replies if reply.status_code == 201]
    assert len(set(addresses)) == 29
    listed = ok(client.get(f"/floatingips?floating_network_id={external['id']}"))["floatingips"]
    assert sorted(fip["floating_ip_address"] for fip in listed) == sorted(addresses)


def test_a_router_joins_one_of_several_overlapping_subnets_asked_at_once(client: ServiceClient) -> None:
    router = ok(client.post("/routers", json={"router": {"name": "busy"}}), 201)["router"]
    subnets = [make_subnet(client, make_network(client)["id"], "10.77.0.0/24") for _ in range(8)]
    path = f"/routers/{router['id']}/add_router_interface"
    replies = in_parallel(client, "PUT", [(path, {"subnet_id": subnet["id"]}) for subnet in subnets])
    assert Counter(reply.status_code for reply in replies) == {200: 1, 400: 7}
    assert all("overlaps" in reply.json()["NeutronError"]["message"] for reply in replies if reply.status_code == 400)
    assert len(ok(client.get(f"/ports?device_id={router['id']}"))["ports"]) == 1

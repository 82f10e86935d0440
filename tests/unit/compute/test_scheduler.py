"""Claims are atomic in the database: many parallel boots into a host with room for a
few never overcommit it, on SQLite and on PostgreSQL; releasing gives the room back;
the filters honour disabled/down services, zones and anti-affinity."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from pocketstack.config import ComputeSettings
from pocketstack.core.db import Database, utcnow
from pocketstack.drivers.compute.base import HostResources
from pocketstack.services.compute.backend import scheduler
from pocketstack.services.compute.backend.hosts import register_host
from pocketstack.services.compute.models import Allocation, ComputeNode, ComputeServiceRecord, ServerGroup
from tests.conftest import migrated_database

OPTIONS = ComputeSettings(reserved_host_memory_mb=0, cpu_allocation_ratio=1.0)
HOST = HostResources(hypervisor_type="fake", hypervisor_version=1, vcpus=64, memory_mb=4096, local_gb=100)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        yield database


def add_host(db: Database, name: str) -> None:
    with db.write() as s:
        register_host(s, name, HOST, OPTIONS)


def boot_one(db: Database, demand: scheduler.Demand) -> str | None:
    server = str(uuid.uuid4())
    try:
        with db.write() as s:
            return scheduler.schedule(s, OPTIONS, demand, server).host
    except scheduler.NoValidHost:
        return None


def test_parallel_claims_never_overcommit(db: Database) -> None:
    add_host(db, "h1")
    demand = scheduler.Demand(vcpus=1, memory_mb=1024, disk_gb=1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: boot_one(db, demand), range(20)))
    assert results.count("h1") == 4 and results.count(None) == 16
    with db.read() as s:
        node = s.scalars(select(ComputeNode)).one()
        assert node.memory_mb_used == 4096 and node.vcpus_used == 4
        assert len(s.scalars(select(Allocation)).all()) == 4


def test_release_gives_the_room_back(db: Database) -> None:
    add_host(db, "h1")
    server = str(uuid.uuid4())
    with db.write() as s:
        scheduler.schedule(s, OPTIONS, scheduler.Demand(2, 4096, 10), server)
    assert boot_one(db, scheduler.Demand(1, 512, 1)) is None
    with db.write() as s:
        scheduler.release(s, server)
    assert boot_one(db, scheduler.Demand(1, 512, 1)) == "h1"


def test_filters_skip_disabled_and_silent_hosts_and_spread(db: Database) -> None:
    for name in ("h1", "h2", "h3"):
        add_host(db, name)
    with db.write() as s:
        services = {r.host: r for r in s.scalars(select(ComputeServiceRecord))}
        services["h1"].disabled = True
        services["h2"].last_seen_up = utcnow() - dt.timedelta(seconds=OPTIONS.service_down_time + 5)
    assert boot_one(db, scheduler.Demand(1, 256, 1)) == "h3"
    assert boot_one(db, scheduler.Demand(1, 256, 1, forced_host="h1")) is None
    assert boot_one(db, scheduler.Demand(1, 256, 1, availability_zone="elsewhere")) is None


def test_anti_affinity_puts_members_apart(db: Database) -> None:
    from pocketstack.services.compute.models import Server, ServerGroupMember

    for name in ("h1", "h2"):
        add_host(db, name)
    with db.write() as s:
        group = ServerGroup(uuid=str(uuid.uuid4()), name="g", project_id="p", user_id="u", policy="anti-affinity", rules={})
        s.add(group)
        s.flush()
        group_id = group.id
    placed = []
    for index in range(3):
        with db.write() as s:
            group = s.get(ServerGroup, group_id)
            server = Server(
                uuid=str(uuid.uuid4()),
                project_id="p",
                user_id="u",
                name=f"s{index}",
                hostname=f"s{index}",
                flavor={},
                flavor_id="f",
                vcpus=1,
                memory_mb=256,
                root_gb=1,
                vm_state="building",
                reservation_id="r",
            )
            s.add(server)
            s.flush()
            try:
                node = scheduler.schedule(s, OPTIONS, scheduler.Demand(1, 256, 1, group=group), server.uuid)
            except scheduler.NoValidHost:
                placed.append(None)
                continue
            server.host = node.host
            s.add(ServerGroupMember(group_id=group_id, server_uuid=server.uuid))
            placed.append(node.host)
    assert sorted(placed[:2]) == ["h1", "h2"] and placed[2] is None

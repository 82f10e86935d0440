"""Rows written straight into a live test cloud's database, for what its API cannot make
(compute hosts without an agent on them) or cannot make quickly with a chosen past
(servers launched and terminated at given times, for usage and quota counts).

Fake hosts are named "fake-..." and never run an agent; tests remove what they add."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select

from pocketstack.core.db import Database, utcnow
from pocketstack.services.compute.models import (
    AggregateHost,
    ComputeNode,
    ComputeServiceRecord,
    Server,
    ServerGroup,
    ServerGroupMember,
)
from pocketstack.testing.server import LiveCloud


@dataclass(frozen=True)
class FakeHost:
    name: str
    service_uuid: str
    node_uuid: str


class Records:
    def __init__(self, cloud: LiveCloud) -> None:
        self.db = Database(cloud.database_url or f"sqlite:///{cloud.data_dir / 'pocketstack.db'}")

    def close(self) -> None:
        self.db.dispose()

    # -- hosts ----------------------------------------------------------------------------
    def add_host(
        self,
        name: str | None = None,
        *,
        binary: str = "nova-compute",
        vcpus: int = 8,
        memory_mb: int = 16384,
        local_gb: int = 100,
        used: tuple[int, int, int] = (0, 0, 0),
        running_vms: int = 0,
        last_seen_up: dt.datetime | None = None,
        disabled: bool = False,
        with_node: bool = True,
    ) -> FakeHost:
        """A service record heartbeating now (unless told otherwise) and its hypervisor."""
        name = name or f"fake-{uuid.uuid4().hex[:8]}"
        stamp = utcnow()
        service = ComputeServiceRecord(
            uuid=str(uuid.uuid4()),
            host=name,
            binary=binary,
            topic="compute" if binary == "nova-compute" else binary.removeprefix("nova-"),
            disabled=disabled,
            disabled_reason="set by a test" if disabled else None,
            forced_down=False,
            last_seen_up=last_seen_up or stamp,
            report_count=1,
            created_at=stamp,
            updated_at=stamp,
        )
        node_uuid = ""
        with self.db.write() as db:
            db.add(service)
            if with_node:
                node = ComputeNode(
                    uuid=str(uuid.uuid4()),
                    host=name,
                    hypervisor_hostname=f"{name}.example.org",
                    hypervisor_type="fake",
                    hypervisor_version=1000,
                    host_ip="192.0.2.10",
                    cpu_info={
                        "arch": "x86_64",
                        "model": "fake",
                        "vendor": "pocketstack",
                        "topology": {"sockets": 1, "cores": vcpus, "threads": 1},
                    },
                    vcpus=vcpus,
                    memory_mb=memory_mb,
                    local_gb=local_gb,
                    vcpus_used=used[0],
                    memory_mb_used=used[1],
                    local_gb_used=used[2],
                    running_vms=running_vms,
                    created_at=stamp,
                )
                db.add(node)
                node_uuid = node.uuid
        return FakeHost(name, service.uuid, node_uuid)

    def remove_host(self, name: str) -> None:
        with self.db.write() as db:
            db.execute(delete(AggregateHost).where(AggregateHost.host == name))
            db.execute(delete(ComputeNode).where(ComputeNode.host == name))
            db.execute(delete(ComputeServiceRecord).where(ComputeServiceRecord.host == name))

    def service(self, name: str) -> ComputeServiceRecord | None:
        with self.db.read() as db:
            return db.scalar(select(ComputeServiceRecord).where(ComputeServiceRecord.host == name))

    def set_heartbeat(self, name: str, when: dt.datetime) -> None:
        with self.db.write() as db:
            for service in db.scalars(select(ComputeServiceRecord).where(ComputeServiceRecord.host == name)):
                service.last_seen_up = when

    # -- servers -----------------------------------------------------------------------------
    def add_server(
        self,
        project_id: str,
        user_id: str,
        *,
        name: str | None = None,
        flavor_name: str = "m1.tiny",
        vcpus: int = 1,
        memory_mb: int = 512,
        root_gb: int = 1,
        ephemeral_gb: int = 0,
        host: str | None = None,
        vm_state: str = "active",
        created_at: dt.datetime | None = None,
        launched_at: dt.datetime | None = None,
        terminated_at: dt.datetime | None = None,
        deleted: bool = False,
    ) -> str:
        """A server row as if booted (and maybe deleted) at the given times."""
        server_uuid = str(uuid.uuid4())
        name = name or f"srv-{server_uuid[:8]}"
        created = created_at or launched_at or utcnow()
        flavor = {
            "name": flavor_name,
            "vcpus": vcpus,
            "ram": memory_mb,
            "disk": root_gb,
            "ephemeral": ephemeral_gb,
            "swap": 0,
            "extra_specs": {},
        }
        row = Server(
            uuid=server_uuid,
            project_id=project_id,
            user_id=user_id,
            name=name,
            hostname=name,
            image_ref="",
            flavor=flavor,
            flavor_id=flavor_name,
            vcpus=vcpus,
            memory_mb=memory_mb,
            root_gb=root_gb,
            ephemeral_gb=ephemeral_gb,
            config_drive=False,
            vm_state="deleted" if deleted else vm_state,
            power_state=1 if vm_state == "active" and not deleted else 0,
            progress=0,
            host=host,
            node=host,
            reservation_id=f"r-{server_uuid[:8]}",
            launch_index=0,
            locked=False,
            security_groups=[],
            requested_networks="none",
            block_device_mapping=[],
            scheduler_hints={},
            system_metadata={},
            created_at=created,
            launched_at=launched_at,
            terminated_at=terminated_at,
            deleted=deleted,
            deleted_at=terminated_at if deleted else None,
        )
        with self.db.write() as db:
            db.add(row)
        return server_uuid

    def mark_deleted(self, server_uuid: str, when: dt.datetime | None = None) -> None:
        with self.db.write() as db:
            row = db.scalar(select(Server).where(Server.uuid == server_uuid))
            assert row is not None
            row.deleted = True
            row.vm_state = "deleted"
            row.terminated_at = row.deleted_at = when or utcnow()

    def remove_servers(self, uuids: list[str]) -> None:
        if not uuids:
            return
        with self.db.write() as db:
            db.execute(delete(ServerGroupMember).where(ServerGroupMember.server_uuid.in_(uuids)))
            db.execute(delete(Server).where(Server.uuid.in_(uuids)))

    # -- server groups ------------------------------------------------------------------------
    def add_member(self, group_uuid: str, server_uuid: str) -> None:
        """A membership as server create makes it (its server row may be written apart)."""
        with self.db.write() as db:
            group = db.scalar(select(ServerGroup).where(ServerGroup.uuid == group_uuid))
            assert group is not None, group_uuid
            group.members.append(ServerGroupMember(server_uuid=server_uuid))

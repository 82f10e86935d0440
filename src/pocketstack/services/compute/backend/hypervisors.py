"""Hypervisors (Nova's compute nodes) as os-hypervisors reports them: what each offers,
what is claimed on it, and the compute service that runs it.

A node whose service was deleted is left out of lists and not found by id, as in Nova.
What is free is capacity minus claims (without allocation ratios: Nova's free_ram_mb
and free_disk_gb are plain differences too and go negative when overcommitted)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pocketstack.config import ComputeSettings
from pocketstack.core.faults import BadRequest, NotFound

from .. import states
from ..models import ComputeNode, ComputeServiceRecord, Server
from .hosts import COMPUTE_BINARY
from .services import MAX_ID

# operations that keep a host's disks busy (Nova's io_workload: its "current_workload")
BUSY_TASKS = (
    states.RESIZE_PREP,
    states.REBUILDING,
    states.IMAGE_SNAPSHOT,
    states.IMAGE_UPLOADING,
    states.UNSHELVING,
    states.RESCUING,
)


@dataclass(frozen=True)
class Hypervisor:
    node: ComputeNode
    service: ComputeServiceRecord


def _with_services(db: Session, nodes: Iterable[ComputeNode]) -> list[Hypervisor]:
    nodes = list(nodes)
    hosts = {node.host for node in nodes}
    services = {
        s.host: s
        for s in db.scalars(
            select(ComputeServiceRecord).where(ComputeServiceRecord.host.in_(hosts), ComputeServiceRecord.binary == COMPUTE_BINARY)
        )
    }
    return [Hypervisor(node, services[node.host]) for node in nodes if node.host in services]


def list_hypervisors(db: Session, *, limit: int | None = None, marker: str | None = None, by_uuid: bool = False) -> list[Hypervisor]:
    """Nodes by id; after the node `marker` names (its uuid from 2.53, its id before)."""
    query = select(ComputeNode).order_by(ComputeNode.id)
    if marker is not None:
        marker_id = _marker_id(db, marker, by_uuid)
        query = query.where(ComputeNode.id > marker_id)
    hypervisors: list[Hypervisor] = []
    # nodes without a service are skipped, so read on until the page is full
    offset = 0
    while True:
        batch = list(db.scalars(query.offset(offset).limit(limit or 1000)))
        hypervisors.extend(_with_services(db, batch))
        offset += len(batch)
        if not batch or limit is None or len(hypervisors) >= limit:
            break
    return hypervisors[:limit] if limit is not None else hypervisors


def _marker_id(db: Session, marker: str, by_uuid: bool) -> int:
    if by_uuid:
        found = db.scalar(select(ComputeNode.id).where(ComputeNode.uuid == marker))
    else:
        found = db.scalar(select(ComputeNode.id).where(ComputeNode.id == int(marker))) if _small_number(marker) else None
    if found is None:
        raise BadRequest(f"marker [{marker}] not found")
    return found


def _small_number(text: str) -> bool:
    """Digits an integer id column can hold (a longer one names no node)."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


def search_hypervisors(db: Session, pattern: str) -> list[Hypervisor]:
    """Nodes whose hypervisor_hostname contains `pattern` (SQL LIKE, as Nova); 404 if none."""
    nodes = db.scalars(select(ComputeNode).where(ComputeNode.hypervisor_hostname.like(f"%{pattern}%")).order_by(ComputeNode.id))
    found = _with_services(db, nodes)
    if not found:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return found


def get_hypervisor(db: Session, hypervisor_id: str, *, by_uuid: bool) -> Hypervisor:
    if by_uuid:
        node = db.scalar(select(ComputeNode).where(ComputeNode.uuid == hypervisor_id))
    else:
        node = db.get(ComputeNode, int(hypervisor_id)) if _small_number(hypervisor_id) else None
    found = _with_services(db, [node]) if node is not None else []
    if not found:
        raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
    return found[0]


def servers_on(db: Session, host: str) -> list[Server]:
    return list(db.scalars(select(Server).where(Server.host == host, Server.deleted.is_(False)).order_by(Server.id)))


def running_vms(db: Session, hosts: Iterable[str]) -> dict[str, int]:
    rows = db.execute(
        select(Server.host, func.count(Server.id)).where(Server.host.in_(list(hosts)), Server.deleted.is_(False)).group_by(Server.host)
    )
    return {host: count for host, count in rows}


def workloads(db: Session, hosts: Iterable[str]) -> dict[str, int]:
    """Servers building or in a disk-heavy operation, per host."""
    busy = (Server.vm_state == states.BUILDING) | Server.task_state.in_(BUSY_TASKS)
    rows = db.execute(
        select(Server.host, func.count(Server.id))
        .where(Server.host.in_(list(hosts)), Server.deleted.is_(False), busy)
        .group_by(Server.host)
    )
    return {host: count for host, count in rows}


@dataclass(frozen=True)
class Usage:
    """The numbers a detailed hypervisor shows before 2.88, and statistics sums."""

    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    free_ram_mb: int
    free_disk_gb: int
    current_workload: int
    running_vms: int
    disk_available_least: int


def usage_of(node: ComputeNode, running: int, workload: int) -> Usage:
    free_disk = node.local_gb - node.local_gb_used
    return Usage(
        vcpus=node.vcpus,
        memory_mb=node.memory_mb,
        local_gb=node.local_gb,
        vcpus_used=node.vcpus_used,
        memory_mb_used=node.memory_mb_used,
        local_gb_used=node.local_gb_used,
        free_ram_mb=node.memory_mb - node.memory_mb_used,
        free_disk_gb=free_disk,
        current_workload=workload,
        running_vms=running,
        disk_available_least=free_disk,
    )


def statistics(db: Session) -> dict[str, int]:
    """Sums over the nodes of enabled compute services (os-hypervisors/statistics)."""
    hypervisors = [h for h in list_hypervisors(db) if not h.service.disabled]
    hosts = [h.node.host for h in hypervisors]
    running, busy = running_vms(db, hosts), workloads(db, hosts)
    totals = dict.fromkeys(Usage.__dataclass_fields__, 0)
    for hypervisor in hypervisors:
        host = hypervisor.node.host
        for name, value in vars(usage_of(hypervisor.node, running.get(host, 0), busy.get(host, 0))).items():
            totals[name] += value
    return {"count": len(hypervisors), **totals}


def uptime_of(settings: ComputeSettings, host: str) -> str | None:
    """The host's `uptime` line, for the host this API runs on (the all-in-one case); for
    another host nothing here knows it."""
    if host not in {settings.host, socket.gethostname()}:
        return None
    try:
        with open("/proc/uptime") as f:
            seconds = int(float(f.read().split()[0]))
        load = os.getloadavg()
    except (OSError, ValueError, IndexError):
        return None
    days, rest = divmod(seconds, 86400)
    hours, minutes = divmod(rest // 60, 60)
    clock = time.strftime("%H:%M:%S", time.gmtime())
    span = f"{days} day{'s' if days != 1 else ''}, {hours:2d}:{minutes:02d}" if days else f"{hours:2d}:{minutes:02d}"
    return f" {clock} up {span},  load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"

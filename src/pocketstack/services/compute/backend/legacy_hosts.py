"""os-hosts (deprecated in Nova at 2.43): hosts seen through their service records, and
what the servers on a compute host hold.

The list shows each enabled service (not the API services) with its topic as "service"
and its zone ("internal" for all but compute). A host's detail is its compute node's
totals, what the node counts as used, what its servers' flavors add up to, and the same
per project, as Nova's HostController.show builds it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.faults import NotFound

from ..models import ComputeNode, ComputeServiceRecord, Server
from .hosts import COMPUTE_BINARY
from .services import API_BINARIES, zones_of


@dataclass(frozen=True)
class HostEntry:
    host_name: str
    service: str  # the service's topic: "compute", "scheduler", ...
    zone: str


@dataclass(frozen=True)
class HostResource:
    host: str
    project: str  # a project id, or "(total)", "(used_now)", "(used_max)"
    cpu: int
    memory_mb: int
    disk_gb: int


def list_hosts(db: Session, default_zone: str, zone: str | None = None) -> list[HostEntry]:
    """Enabled services, optionally only those in `zone` (an empty zone: every one)."""
    query = (
        select(ComputeServiceRecord)
        .where(ComputeServiceRecord.binary.not_in(API_BINARIES), ComputeServiceRecord.disabled.is_(False))
        .order_by(ComputeServiceRecord.id)
    )
    services = list(db.scalars(query))
    zones = zones_of(db, services, default_zone)
    entries = [HostEntry(s.host, s.topic or s.binary.removeprefix("nova-"), zones[s.id]) for s in services]
    return [entry for entry in entries if not zone or entry.zone == zone]


def compute_service(db: Session, host: str) -> ComputeServiceRecord:
    """The compute service of `host` (Nova's _assert_host_exists); 404 without one."""
    service = db.scalar(
        select(ComputeServiceRecord).where(ComputeServiceRecord.host == host, ComputeServiceRecord.binary == COMPUTE_BINARY)
    )
    if service is None:
        raise NotFound(f"Compute host {host} could not be found.")
    return service


def host_resources(db: Session, host: str) -> list[HostResource]:
    node = db.scalar(select(ComputeNode).where(ComputeNode.host == host))
    if node is None:
        raise NotFound(f"Compute host {host} could not be found.")
    servers = list(db.scalars(select(Server).where(Server.host == host, Server.deleted.is_(False)).order_by(Server.id)))
    out = [
        HostResource(host, "(total)", node.vcpus, node.memory_mb, node.local_gb),
        HostResource(host, "(used_now)", node.vcpus_used, node.memory_mb_used, node.local_gb_used),
        _sum_of(host, "(used_max)", servers),
    ]
    projects = dict.fromkeys(server.project_id for server in servers)
    out.extend(_sum_of(host, project, [s for s in servers if s.project_id == project]) for project in projects)
    return out


def _sum_of(host: str, label: str, servers: list[Server]) -> HostResource:
    return HostResource(
        host,
        label,
        sum(s.vcpus for s in servers),
        sum(s.memory_mb for s in servers),
        sum(s.root_gb + s.ephemeral_gb for s in servers),
    )

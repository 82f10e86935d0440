"""Where a server runs: Nova's filter scheduler over the registered compute hosts, and
the resource claims that make a choice stick.

Filters drop hosts that cannot take the server (service disabled or down, wrong
availability zone, not enough vCPUs/RAM/disk after allocation ratios, server-group
affinity rules, image properties such as hw_architecture); weighers order the rest
(most free RAM first, so servers spread; soft affinity policies count members). The
first host that accepts the claim wins.

A claim is one conditional UPDATE of the node's usage counters ("... WHERE used +
wanted <= capacity"), made in the caller's transaction together with the Allocation
row: if another boot took the room in between, the UPDATE matches no row and the next
host is tried, so parallel boots never overcommit a host."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pocketstack.config import ComputeSettings
from pocketstack.core.db import utcnow

from ..models import Allocation, ComputeNode, ComputeServiceRecord, Server, ServerGroup
from .aggregates import availability_zone_of_host
from .hosts import COMPUTE_BINARY, is_up

SUPPORTED_ARCHITECTURES = {"x86_64", "i686", "i386"}


class NoValidHost(Exception):
    """No host passed the filters, or every candidate's claim failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"No valid host was found. {reason}".strip())


@dataclass
class Demand:
    """What one server needs from a host."""

    vcpus: int
    memory_mb: int
    disk_gb: int
    availability_zone: str | None = None
    group: ServerGroup | None = None
    image_properties: dict[str, Any] = field(default_factory=dict)
    forced_host: str | None = None
    ignore_hosts: tuple[str, ...] = ()


def schedule(db: Session, options: ComputeSettings, demand: Demand, server_uuid: str) -> ComputeNode:
    """Pick a host for the server and claim the resources there (in this transaction)."""
    candidates = _passing_hosts(db, options, demand)
    if not candidates:
        raise NoValidHost("There are not enough hosts available.")
    for node in _weighed(db, candidates, demand):
        if claim(db, node, server_uuid, demand.vcpus, demand.memory_mb, demand.disk_gb):
            return node
    raise NoValidHost("There are not enough hosts available.")


def _passing_hosts(db: Session, options: ComputeSettings, demand: Demand) -> list[ComputeNode]:
    services = {s.host: s for s in db.scalars(select(ComputeServiceRecord).where(ComputeServiceRecord.binary == COMPUTE_BINARY))}
    nodes = list(db.scalars(select(ComputeNode).order_by(ComputeNode.id)))
    group_hosts = _group_hosts(db, demand.group)
    passing = []
    for node in nodes:
        service = services.get(node.host)
        if service is None or service.disabled or not is_up(service, options.service_down_time):
            continue
        if demand.forced_host and node.host != demand.forced_host:
            continue
        if node.host in demand.ignore_hosts:
            continue
        if (
            demand.availability_zone
            and availability_zone_of_host(db, node.host, options.default_availability_zone) != demand.availability_zone
        ):
            continue
        if not _fits(node, demand):
            continue
        if not _group_allows(demand.group, group_hosts, node.host):
            continue
        if not _image_allows(demand.image_properties):
            continue
        passing.append(node)
    return passing


def _fits(node: ComputeNode, demand: Demand) -> bool:
    return (
        node.vcpus_used + demand.vcpus <= node.vcpus * node.cpu_allocation_ratio
        and node.memory_mb_used + demand.memory_mb <= node.memory_mb * node.ram_allocation_ratio
        and node.local_gb_used + demand.disk_gb <= node.local_gb * node.disk_allocation_ratio
    )


def _group_hosts(db: Session, group: ServerGroup | None) -> list[str]:
    """Hosts of the group's live members (one entry per member: soft policies count them)."""
    if group is None or not group.members:
        return []
    members = [m.server_uuid for m in group.members]
    rows = db.scalars(select(Server.host).where(Server.uuid.in_(members), Server.deleted.is_(False), Server.host.is_not(None)))
    return [host for host in rows if host]


def _group_allows(group: ServerGroup | None, group_hosts: list[str], host: str) -> bool:
    if group is None:
        return True
    if group.policy == "affinity":
        return not group_hosts or host in group_hosts
    if group.policy == "anti-affinity":
        most = int((group.rules or {}).get("max_server_per_host", 1))
        return group_hosts.count(host) < most
    return True  # the soft policies only weigh


def _image_allows(properties: dict[str, Any]) -> bool:
    arch = properties.get("hw_architecture") or properties.get("architecture")
    return arch is None or str(arch).lower() in SUPPORTED_ARCHITECTURES


def _weighed(db: Session, nodes: list[ComputeNode], demand: Demand) -> list[ComputeNode]:
    group_hosts = _group_hosts(db, demand.group)
    policy = demand.group.policy if demand.group is not None else None

    def weight(node: ComputeNode) -> tuple[float, float]:
        members_here = group_hosts.count(node.host)
        group_weight = members_here if policy == "soft-affinity" else -members_here if policy == "soft-anti-affinity" else 0
        free_ram = node.memory_mb * node.ram_allocation_ratio - node.memory_mb_used
        return (group_weight, free_ram)

    return sorted(nodes, key=weight, reverse=True)


def claim(db: Session, node: ComputeNode, server_uuid: str, vcpus: int, memory_mb: int, disk_gb: int, purpose: str = "instance") -> bool:
    """Take the resources on `node` if they are still free; False if someone was faster."""
    taken = db.execute(
        update(ComputeNode)
        .where(
            ComputeNode.id == node.id,
            ComputeNode.vcpus_used + vcpus <= ComputeNode.vcpus * ComputeNode.cpu_allocation_ratio,
            ComputeNode.memory_mb_used + memory_mb <= ComputeNode.memory_mb * ComputeNode.ram_allocation_ratio,
            ComputeNode.local_gb_used + disk_gb <= ComputeNode.local_gb * ComputeNode.disk_allocation_ratio,
        )
        .values(
            vcpus_used=ComputeNode.vcpus_used + vcpus,
            memory_mb_used=ComputeNode.memory_mb_used + memory_mb,
            local_gb_used=ComputeNode.local_gb_used + disk_gb,
            running_vms=ComputeNode.running_vms + (1 if purpose == "instance" else 0),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        return False
    db.add(Allocation(server_uuid=server_uuid, purpose=purpose, node_id=node.id, vcpus=vcpus, memory_mb=memory_mb, disk_gb=disk_gb))
    db.flush()
    return True


def release(db: Session, server_uuid: str, purpose: str | None = None) -> None:
    """Give back what the server holds (one purpose, or all of it)."""
    stmt = select(Allocation).where(Allocation.server_uuid == server_uuid)
    if purpose is not None:
        stmt = stmt.where(Allocation.purpose == purpose)
    for allocation in db.scalars(stmt).all():
        db.execute(
            update(ComputeNode)
            .where(ComputeNode.id == allocation.node_id)
            .values(
                vcpus_used=ComputeNode.vcpus_used - allocation.vcpus,
                memory_mb_used=ComputeNode.memory_mb_used - allocation.memory_mb,
                local_gb_used=ComputeNode.local_gb_used - allocation.disk_gb,
                running_vms=ComputeNode.running_vms - (1 if allocation.purpose == "instance" else 0),
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        db.execute(delete(Allocation).where(Allocation.id == allocation.id))


def rename_allocation(db: Session, server_uuid: str, old: str, new: str) -> None:
    db.execute(update(Allocation).where(Allocation.server_uuid == server_uuid, Allocation.purpose == old).values(purpose=new))


def allocations_of(db: Session, server_uuid: str) -> list[Allocation]:
    return list(db.scalars(select(Allocation).where(Allocation.server_uuid == server_uuid)))

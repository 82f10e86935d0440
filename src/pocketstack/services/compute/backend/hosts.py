"""Compute hosts registering themselves: the agent's service record (its heartbeat) and
its hypervisor's compute node with what it offers. Usage counters are the scheduler's
(claims); registration never touches them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.config import ComputeSettings
from pocketstack.core.db import utcnow
from pocketstack.drivers.compute.base import HostResources

from ..models import ComputeNode, ComputeServiceRecord

COMPUTE_BINARY = "nova-compute"


def is_up(service: ComputeServiceRecord, down_time: float) -> bool:
    """Nova's servicegroup check: a heartbeat within down_time seconds, and not forced down."""
    if service.forced_down or service.last_seen_up is None:
        return False
    return utcnow() - service.last_seen_up <= dt.timedelta(seconds=down_time)


def register_service(db: Session, host: str, binary: str, topic: str) -> ComputeServiceRecord:
    """Create or refresh one service record and mark it seen now (idempotent)."""
    service = db.scalar(select(ComputeServiceRecord).where(ComputeServiceRecord.host == host, ComputeServiceRecord.binary == binary))
    stamp = utcnow()
    if service is None:
        service = ComputeServiceRecord(uuid=str(uuid.uuid4()), host=host, binary=binary, topic=topic, created_at=stamp)
        db.add(service)
    service.last_seen_up = stamp
    service.updated_at = stamp
    return service


def register_host(db: Session, host: str, resources: HostResources, options: ComputeSettings) -> ComputeNode:
    """Create or refresh this host's service record and compute node (idempotent)."""
    register_service(db, host, COMPUTE_BINARY, "compute")
    stamp = utcnow()
    node = db.scalar(select(ComputeNode).where(ComputeNode.host == host))
    if node is None:
        node = ComputeNode(
            uuid=str(uuid.uuid4()), host=host, created_at=stamp, vcpus_used=0, memory_mb_used=0, local_gb_used=0, running_vms=0
        )
        db.add(node)
    node.hypervisor_hostname = host
    node.hypervisor_type = resources.hypervisor_type
    node.hypervisor_version = resources.hypervisor_version
    node.host_ip = "127.0.0.1"
    node.cpu_info = dict(resources.cpu_info)
    node.vcpus = resources.vcpus
    node.memory_mb = max(resources.memory_mb - options.reserved_host_memory_mb, 0)
    node.local_gb = resources.local_gb
    node.cpu_allocation_ratio = options.cpu_allocation_ratio
    node.ram_allocation_ratio = options.ram_allocation_ratio
    node.disk_allocation_ratio = options.disk_allocation_ratio
    node.updated_at = stamp
    db.flush()
    return node


def heartbeat(db: Session, host: str) -> None:
    service = db.scalar(
        select(ComputeServiceRecord).where(ComputeServiceRecord.host == host, ComputeServiceRecord.binary == COMPUTE_BINARY)
    )
    if service is not None:
        service.last_seen_up = utcnow()
        service.report_count += 1

"""Compute services as os-services and os-availability-zone see them: each agent's
service record, whether it is up (a recent heartbeat, not forced down), enabled for
scheduling, and the zone its host is in.

A compute host's zone comes from its aggregates (default zone otherwise); other
services (a scheduler, a conductor) live in Nova's "internal" zone, which the
availability-zone list hides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Conflict, NotFound

from ..models import Allocation, ComputeNode, ComputeServiceRecord, Server
from .aggregates import remove_host_everywhere, zones_by_host
from .hosts import COMPUTE_BINARY, is_up

INTERNAL_ZONE = "internal"  # Nova's internal_service_availability_zone
# API services report no heartbeat; Nova leaves them out of the list
API_BINARIES = ("nova-osapi_compute", "nova-metadata")
MAX_ID = 2**31 - 1  # the largest integer id a row can have


def state_of(service: ComputeServiceRecord, down_time: float) -> str:
    """ "up" while the heartbeat is recent and nobody forced the service down."""
    return "up" if is_up(service, down_time) else "down"


def list_services(db: Session, *, host: str | None = None, binary: str | None = None) -> list[ComputeServiceRecord]:
    query = select(ComputeServiceRecord).where(ComputeServiceRecord.binary.not_in(API_BINARIES)).order_by(ComputeServiceRecord.id)
    if host:
        query = query.where(ComputeServiceRecord.host == host)
    if binary:
        query = query.where(ComputeServiceRecord.binary == binary)
    return list(db.scalars(query))


def get_service(db: Session, service_id: str, *, by_uuid: bool) -> ComputeServiceRecord:
    """By the id the API shows: the uuid from 2.53, the integer before."""
    if by_uuid:
        service = db.scalar(select(ComputeServiceRecord).where(ComputeServiceRecord.uuid == service_id))
    else:
        number = int(service_id)
        # an id no integer column can hold names no service (and would upset PostgreSQL)
        service = db.get(ComputeServiceRecord, number) if abs(number) <= MAX_ID else None
    if service is None:
        raise NotFound(f"Service {service_id} not found.")
    return service


def find_service(db: Session, host: str, binary: str) -> ComputeServiceRecord:
    service = db.scalar(select(ComputeServiceRecord).where(ComputeServiceRecord.host == host, ComputeServiceRecord.binary == binary))
    if service is None:
        raise NotFound(f"Could not find binary {binary} on host {host}.")
    return service


def zones_of(db: Session, services: Iterable[ComputeServiceRecord], default_zone: str) -> dict[int, str]:
    """Each service's zone, by service id (one query for all of them)."""
    services = list(services)
    compute_hosts = {s.host for s in services if s.binary == COMPUTE_BINARY}
    zones = zones_by_host(db, compute_hosts) if compute_hosts else {}
    return {
        s.id: (",".join(sorted(zones[s.host])) if s.host in zones else default_zone) if s.binary == COMPUTE_BINARY else INTERNAL_ZONE
        for s in services
    }


def last_update(service: ComputeServiceRecord) -> dt.datetime | None:
    """When the service last changed or reported (Nova's updated_at moves with each heartbeat)."""
    stamps = [stamp for stamp in (service.updated_at, service.last_seen_up) if stamp is not None]
    return max(stamps) if stamps else None


def require_compute(service: ComputeServiceRecord) -> None:
    if service.binary != COMPUTE_BINARY:
        raise BadRequest(f"Updating a {service.binary} service is not supported. Only nova-compute services can be updated.")


def set_status(db: Session, service: ComputeServiceRecord, *, disabled: bool, reason: str | None = None) -> None:
    require_compute(service)
    service.disabled = disabled
    service.disabled_reason = reason if disabled else None
    service.updated_at = utcnow()
    db.flush()


def set_forced_down(db: Session, service: ComputeServiceRecord, forced_down: bool) -> None:
    require_compute(service)
    service.forced_down = forced_down
    service.updated_at = utcnow()
    db.flush()


def servers_on_host(db: Session, host: str) -> list[Server]:
    return list(db.scalars(select(Server).where(Server.host == host, Server.deleted.is_(False)).order_by(Server.id)))


def delete_service(db: Session, service: ComputeServiceRecord) -> None:
    """Remove a service; a compute service takes its hypervisor and aggregate
    memberships along, and may not go while servers live on its host (409, as Nova)."""
    if service.binary == COMPUTE_BINARY:
        count = db.scalar(select(func.count(Server.id)).where(Server.host == service.host, Server.deleted.is_(False))) or 0
        if count:
            raise Conflict("Unable to delete compute service that is hosting instances. Migrate or delete the instances first.")
        remove_host_everywhere(db, service.host)
        nodes = list(db.scalars(select(ComputeNode.id).where(ComputeNode.host == service.host)))
        if nodes:
            db.execute(delete(Allocation).where(Allocation.node_id.in_(nodes)))
            db.execute(delete(ComputeNode).where(ComputeNode.id.in_(nodes)))
    db.delete(service)
    db.flush()

"""Host aggregates and the availability zones they make (Nova's AggregateAPI).

An aggregate groups compute hosts and carries metadata; the key "availability_zone"
puts its hosts in that zone. A host in no zoned aggregate is in the default zone
(settings.compute.default_availability_zone). A host may not be in two different zones,
and a host with servers may not change zone: its servers would move without moving.

Hosts are compute services (compute_services, binary nova-compute): an aggregate only
takes a host that is registered."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Conflict, NotFound

from ..models import Aggregate, AggregateHost, AggregateMetadata, ComputeServiceRecord, Server
from .hosts import COMPUTE_BINARY

AZ_KEY = "availability_zone"


def zone_of(aggregate: Aggregate) -> str | None:
    return next((item.value for item in aggregate.metadata_items if item.key == AZ_KEY), None)


def metadata_of(aggregate: Aggregate) -> dict[str, str]:
    return {item.key: item.value for item in aggregate.metadata_items}


def hosts_of(aggregate: Aggregate) -> list[str]:
    return [item.host for item in aggregate.hosts]


# -- zones of hosts (the scheduler's and the views') ----------------------------------------
def zones_by_host(db: Session, hosts: Iterable[str] | None = None) -> dict[str, set[str]]:
    """Every zone each host is in through its aggregates (one, unless data was forced)."""
    query = (
        select(AggregateHost.host, AggregateMetadata.value)
        .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
        .where(AggregateMetadata.key == AZ_KEY)
    )
    if hosts is not None:
        query = query.where(AggregateHost.host.in_(list(hosts)))
    zones: dict[str, set[str]] = {}
    for host, zone in db.execute(query):
        zones.setdefault(host, set()).add(zone)
    return zones


def availability_zone_of_host(db: Session, host: str, default: str) -> str:
    """The zone `host` is in: its aggregates' availability_zone, else `default`.
    (Two zones cannot happen through the API; were they forced, Nova joins them with ",".)"""
    zones = zones_by_host(db, [host]).get(host)
    return ",".join(sorted(zones)) if zones else default


# -- aggregates --------------------------------------------------------------------------------
def list_aggregates(db: Session) -> list[Aggregate]:
    return list(db.scalars(select(Aggregate).order_by(Aggregate.id)))


def get_aggregate(db: Session, aggregate_id: int) -> Aggregate:
    aggregate = db.get(Aggregate, aggregate_id)
    if aggregate is None:
        raise NotFound(f"Aggregate {aggregate_id} could not be found.")
    return aggregate


def create_aggregate(db: Session, name: str, zone: str | None) -> Aggregate:
    _check_name_free(db, name)
    aggregate = Aggregate(uuid=str(uuid.uuid4()), name=name, created_at=utcnow())
    if zone:
        aggregate.metadata_items.append(AggregateMetadata(key=AZ_KEY, value=zone))
    db.add(aggregate)
    db.flush()
    return aggregate


def update_aggregate(db: Session, aggregate: Aggregate, name: str | None, zone: str | None, *, zone_given: bool) -> Aggregate:
    """PUT: a new name and/or zone (the zone goes through the same checks as set_metadata)."""
    if name is not None and name != aggregate.name:
        _check_name_free(db, name)
        aggregate.name = name
    if zone_given:
        changes = {AZ_KEY: zone}
        _check_zone_change(db, aggregate, changes, "Cannot update aggregate")
        _apply_metadata(aggregate, changes)
    aggregate.updated_at = utcnow()
    db.flush()
    return aggregate


def delete_aggregate(db: Session, aggregate: Aggregate) -> None:
    if aggregate.hosts:
        # Nova's words for this refusal (InvalidAggregateActionDelete)
        raise BadRequest(f"Cannot remove host from aggregate {aggregate.id}. Reason: Host aggregate is not empty.")
    db.delete(aggregate)
    db.flush()


def set_metadata(db: Session, aggregate: Aggregate, changes: Mapping[str, str | None]) -> Aggregate:
    """Add or replace keys; a null value removes its key."""
    _check_zone_change(db, aggregate, changes, "Cannot update metadata of aggregate")
    _apply_metadata(aggregate, changes)
    aggregate.updated_at = utcnow()
    db.flush()
    return aggregate


def add_host(db: Session, aggregate: Aggregate, host: str) -> Aggregate:
    if not _is_compute_host(db, host):
        raise NotFound(f"Compute host {host} could not be found.")
    if host in hosts_of(aggregate):
        raise Conflict(f"Aggregate {aggregate.id} already has host {host}.")
    new_zone = zone_of(aggregate)
    if new_zone:
        reason = _zone_conflict(db, aggregate, [host], new_zone)
        if reason is None:
            current = zones_by_host(db, [host]).get(host)
            old_zone = ",".join(sorted(current)) if current else None
            if old_zone != new_zone:
                reason = _servers_would_move(db, host, old_zone, new_zone, adding=True)
        if reason is not None:
            raise Conflict(f"Cannot add host to aggregate {aggregate.id}. Reason: {reason}.")
    aggregate.hosts.append(AggregateHost(host=host))
    db.flush()
    return aggregate


def remove_host(db: Session, aggregate: Aggregate, host: str) -> Aggregate:
    entry = next((item for item in aggregate.hosts if item.host == host), None)
    if entry is None or not _is_compute_host(db, host):
        raise NotFound(f"Cannot remove host {host} in aggregate {aggregate.id}")
    current_zone = zone_of(aggregate)
    if current_zone:
        others = {
            zone
            for zone in db.scalars(
                select(AggregateMetadata.value)
                .join(AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
                .where(AggregateHost.host == host, AggregateMetadata.key == AZ_KEY, AggregateHost.aggregate_id != aggregate.id)
            )
        }
        new_zone = ",".join(sorted(others)) if others else None
        if new_zone != current_zone:
            reason = _servers_would_move(db, host, current_zone, new_zone, adding=False)
            if reason is not None:
                raise Conflict(f"Cannot remove host from aggregate {aggregate.id}. Reason: {reason}.")
    aggregate.hosts.remove(entry)
    db.flush()
    return aggregate


def remove_host_everywhere(db: Session, host: str) -> None:
    """A deleted compute service leaves every aggregate (Nova's service delete)."""
    for entry in db.scalars(select(AggregateHost).where(AggregateHost.host == host)):
        db.delete(entry)
    db.flush()


# -- rules ---------------------------------------------------------------------------------------
def _check_name_free(db: Session, name: str) -> None:
    if db.scalar(select(Aggregate.id).where(Aggregate.name == name)) is not None:
        raise Conflict(f"Aggregate {name} already exists.")


def _is_compute_host(db: Session, host: str) -> bool:
    found = db.scalar(
        select(ComputeServiceRecord.id).where(ComputeServiceRecord.host == host, ComputeServiceRecord.binary == COMPUTE_BINARY)
    )
    return found is not None


def _apply_metadata(aggregate: Aggregate, changes: Mapping[str, str | None]) -> None:
    current = {item.key: item for item in aggregate.metadata_items}
    for key, value in changes.items():
        if value is None:
            if key in current:
                aggregate.metadata_items.remove(current[key])
        elif key in current:
            current[key].value = value
        else:
            aggregate.metadata_items.append(AggregateMetadata(key=key, value=value))


def _check_zone_change(db: Session, aggregate: Aggregate, changes: Mapping[str, str | None], action: str) -> None:
    """Nova's is_safe_to_update_az: a zone needs a name, may not put any of the hosts in
    two zones, and may not move hosts that run servers."""
    if AZ_KEY not in changes:
        return
    new_zone = changes[AZ_KEY]
    if not new_zone:
        raise BadRequest(f"{action} {aggregate.id}. Reason: Aggregate {aggregate.name} does not support empty named availability zone.")
    hosts = hosts_of(aggregate)
    reason = _zone_conflict(db, aggregate, hosts, new_zone)
    if reason is None and zone_of(aggregate) != new_zone and _servers_on(db, hosts):
        reason = "One or more hosts contain instances in this zone"
    if reason is not None:
        raise BadRequest(f"{action} {aggregate.id}. Reason: {reason}.")


def _zone_conflict(db: Session, aggregate: Aggregate, hosts: list[str], zone: str) -> str | None:
    """The reason `hosts` cannot take `zone` through `aggregate`: another aggregate of
    theirs names a different zone."""
    if not hosts:
        return None
    conflicting = sorted(
        set(
            db.scalars(
                select(AggregateMetadata.value)
                .join(AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
                .where(
                    AggregateHost.host.in_(hosts),
                    AggregateMetadata.key == AZ_KEY,
                    AggregateMetadata.value != zone,
                    AggregateHost.aggregate_id != aggregate.id,
                )
            )
        )
    )
    return f"One or more hosts already in availability zone(s) {conflicting}" if conflicting else None


def _servers_on(db: Session, hosts: list[str]) -> int:
    if not hosts:
        return 0
    return db.scalar(select(func.count(Server.id)).where(Server.host.in_(hosts), Server.deleted.is_(False))) or 0


def _servers_would_move(db: Session, host: str, old_zone: str | None, new_zone: str | None, *, adding: bool) -> str | None:
    count = _servers_on(db, [host])
    if not count:
        return None
    change = "added to" if adding else "removed from"
    return (
        f"The host cannot be {change} the aggregate as the availability zone of the host would change from "
        f"'{old_zone}' to '{new_zone}' but the host already has {count} instance(s). "
        "Changing the AZ of an existing instance is not supported "
        "by this action. Move the instances away from this host then try again. If you need to move the instances "
        "between AZs then you can use shelve_offload and unshelve to achieve this"
    )

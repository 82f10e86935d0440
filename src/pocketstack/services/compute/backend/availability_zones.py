"""Availability zones as Nova derives them: from the services, not from a table of their
own. A zone exists while a service is in it; it is available while one of its
services is enabled. A compute service's zone is its host's (aggregates, else the
default zone); other services are in the "internal" zone, which the plain list hides."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..models import ComputeServiceRecord
from .services import INTERNAL_ZONE, list_services, zones_of


@dataclass
class Zone:
    name: str
    available: bool
    # host -> its services in this zone (enabled ones only, as Nova's detail shows)
    hosts: dict[str, list[ComputeServiceRecord]] = field(default_factory=dict)


def zones(db: Session, default_zone: str) -> list[Zone]:
    """Available zones by name, then the unavailable ones by name."""
    services = list_services(db)
    zone_of = zones_of(db, services, default_zone)
    enabled: dict[str, dict[str, list[ComputeServiceRecord]]] = {}
    for service in services:
        if not service.disabled:
            enabled.setdefault(zone_of[service.id], {}).setdefault(service.host, []).append(service)
    unavailable = sorted({zone_of[s.id] for s in services if s.disabled} - set(enabled))
    return [Zone(name, True, enabled[name]) for name in sorted(enabled)] + [Zone(name, False) for name in unavailable]


def public_zones(db: Session, default_zone: str) -> list[Zone]:
    """What everyone may see: the zones without the internal one."""
    return [zone for zone in zones(db, default_zone) if zone.name != INTERNAL_ZONE]

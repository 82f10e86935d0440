"""os-availability-zone documents: {"availabilityZoneInfo": [{"zoneName", "zoneState":
{"available"}, "hosts"}]}, hosts null in the plain list and for unavailable zones; in the
detail each host maps its services' binaries to {available (up), active (enabled),
updated_at}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backend.availability_zones import Zone
from ..backend.services import last_update
from ..models import ComputeServiceRecord
from .keypairs import nova_time


def summary(zones: list[Zone]) -> dict[str, Any]:
    return {"availabilityZoneInfo": [{"zoneName": z.name, "zoneState": {"available": z.available}, "hosts": None} for z in zones]}


def detail(zones: list[Zone], is_up: Callable[[ComputeServiceRecord], bool]) -> dict[str, Any]:
    info = []
    for zone in zones:
        hosts: dict[str, Any] | None = None
        if zone.available:
            hosts = {
                host: {
                    service.binary: {
                        "available": is_up(service),
                        "active": not service.disabled,
                        "updated_at": nova_time(last_update(service)),
                    }
                    for service in services
                }
                for host, services in sorted(zone.hosts.items())
            }
        info.append({"zoneName": zone.name, "zoneState": {"available": zone.available}, "hosts": hosts})
    return {"availabilityZoneInfo": info}

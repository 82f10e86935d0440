"""os-availability-zone: the zones servers may be booted into.

GET /v2.1/os-availability-zone          zones and whether they are available (everyone)
GET /v2.1/os-availability-zone/detail   with their hosts and services (admins)
"""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import nova_fault

from ..backend import availability_zones as backend
from ..backend.hosts import is_up
from ..views import availability_zones as views

api = ApiRouter(nova_fault)


@api.route("GET", "/v2.1/os-availability-zone")
def list_zones(call: Call) -> dict[str, Any]:
    ctx = call.require_auth()
    call.authorize("os_compute_api:os-availability-zone:list", {"project_id": ctx.project_id})
    return views.summary(backend.public_zones(call.db, call.cloud.settings.compute.default_availability_zone))


@api.route("GET", "/v2.1/os-availability-zone/detail")
def list_zones_detail(call: Call) -> dict[str, Any]:
    call.require_auth()
    call.authorize("os_compute_api:os-availability-zone:detail", {})
    settings = call.cloud.settings.compute
    zones = backend.zones(call.db, settings.default_availability_zone)
    return views.detail(zones, lambda service: is_up(service, settings.service_down_time))

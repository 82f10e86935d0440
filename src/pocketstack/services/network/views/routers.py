"""A router as Neutron shows it: its gateway (from the gateway port), static routes,
zones; distributed and ha only to those who may read them (admins)."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call

from ..backend.routers import policy_target
from ..common.authorize import hide_attributes
from ..common.standard import standard_view
from ..models import Port, Router

GUARDED = ("distributed", "ha")


def gateway_info(row: Router, gateway: Port | None) -> dict[str, Any] | None:
    if gateway is None:
        return None
    return {
        "network_id": gateway.network_id,
        "enable_snat": row.enable_snat,
        "external_fixed_ips": [{"subnet_id": held.subnet_id, "ip_address": held.ip_address} for held in gateway.fixed_ips],
    }


def router(call: Call, row: Router, gateway: Port | None, zones: list[str]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "admin_state_up": row.admin_state_up,
        "external_gateway_info": gateway_info(row, gateway),
        "routes": [{"destination": route.destination, "nexthop": route.nexthop} for route in row.routes],
        "availability_zone_hints": list(row.availability_zone_hints or []),
        "availability_zones": list(zones),
        "distributed": False,
        "ha": False,
        **standard_view(row),
    }
    return hide_attributes(call, "router", view, policy_target(row), GUARDED)

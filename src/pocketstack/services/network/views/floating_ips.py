"""A floating IP as Neutron shows it, with port_details (the fip-port-details
extension: a few attributes of the port it is associated with, or null)."""

from __future__ import annotations

from typing import Any

from ..common.standard import standard_view
from ..models import FloatingIp, Port


def port_details(port: Port | None) -> dict[str, Any] | None:
    if port is None:
        return None
    return {
        "name": port.name,
        "network_id": port.network_id,
        "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up,
        "status": port.status,
        "device_id": port.device_id,
        "device_owner": port.device_owner,
    }


def floating_ip(row: FloatingIp) -> dict[str, Any]:
    return {
        "id": row.id,
        "floating_ip_address": row.floating_ip_address,
        "floating_network_id": row.floating_network_id,
        "router_id": row.router_id,
        "port_id": row.fixed_port_id,
        "fixed_ip_address": row.fixed_ip_address,
        "status": row.status,
        "port_details": port_details(row.fixed_port if row.fixed_port_id else None),
        **standard_view(row),
    }

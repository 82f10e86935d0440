"""A port as Neutron shows it; binding details only to those who may read them."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call

from ..backend.ports import policy_target
from ..common.authorize import hide_attributes
from ..common.standard import standard_view
from ..models import Port

GUARDED = ("binding:host_id", "binding:vif_type", "binding:vif_details", "binding:profile")


def port(call: Call, row: Port) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "network_id": row.network_id,
        "mac_address": row.mac_address,
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "device_id": row.device_id,
        "device_owner": row.device_owner,
        "fixed_ips": [{"subnet_id": held.subnet_id, "ip_address": held.ip_address} for held in row.fixed_ips],
        "allowed_address_pairs": [dict(pair) for pair in row.allowed_address_pairs],
        "security_groups": row.security_group_ids,
        "port_security_enabled": row.port_security_enabled,
        "binding:host_id": row.binding_host_id,
        "binding:vnic_type": row.binding_vnic_type,
        "binding:vif_type": row.binding_vif_type,
        "binding:vif_details": dict(row.binding_vif_details),
        "binding:profile": dict(row.binding_profile),
        **standard_view(row),
    }
    return hide_attributes(call, "port", view, policy_target(row, row.network, caller=call.ctx.project_id), GUARDED)

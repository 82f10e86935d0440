"""A network as Neutron shows it; provider attributes only to those who may read them."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call

from ..backend import rbac
from ..backend.networks import policy_target
from ..common.authorize import hide_attributes
from ..common.standard import standard_view
from ..models import Network

GUARDED = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")


def network(call: Call, row: Network) -> dict[str, Any]:
    segment = row.segment
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "subnets": [subnet.id for subnet in row.subnets],
        "shared": rbac.shown_as_shared(row, call.ctx.project_id),
        "router:external": row.external,
        "mtu": row.mtu,
        "port_security_enabled": row.port_security_enabled,
        "availability_zone_hints": list(row.availability_zone_hints or []),
        # the zones of the agents serving the network: none until the network agent runs
        "availability_zones": [],
        "l2_adjacency": True,
        "provider:network_type": segment.network_type,
        "provider:physical_network": segment.physical_network or None,
        "provider:segmentation_id": segment.segmentation_id if segment.network_type in ("vlan", "vxlan") else None,
        **standard_view(row),
    }
    if row.external:
        # Neutron keeps is_default with the network's external row: internal networks have none
        view["is_default"] = row.is_default
    return hide_attributes(call, "network", view, policy_target(row, call.ctx.project_id), GUARDED)

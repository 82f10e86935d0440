"""A subnet as Neutron shows it."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call

from ..common.standard import standard_view
from ..models import Subnet


def subnet(call: Call, row: Subnet) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "network_id": row.network_id,
        "ip_version": row.ip_version,
        "cidr": row.cidr,
        "gateway_ip": row.gateway_ip,
        "allocation_pools": list(row.allocation_pools),
        "dns_nameservers": list(row.dns_nameservers),
        "host_routes": list(row.host_routes),
        "enable_dhcp": row.enable_dhcp,
        "ipv6_ra_mode": row.ipv6_ra_mode,
        "ipv6_address_mode": row.ipv6_address_mode,
        "subnetpool_id": row.subnetpool_id,
        "segment_id": None,
        "service_types": list(row.service_types),
        **standard_view(row),
    }

"""Security groups (with their rules) and rules as Neutron shows them."""

from __future__ import annotations

from typing import Any

from ..backend.security_groups import normalized_cidr
from ..common.standard import standard_view
from ..models import SecurityGroup, SecurityGroupRule


def rule(row: SecurityGroupRule) -> dict[str, Any]:
    view = {
        "id": row.id,
        "security_group_id": row.security_group_id,
        "direction": row.direction,
        "ethertype": row.ethertype,
        "protocol": row.protocol,
        "port_range_min": row.port_range_min,
        "port_range_max": row.port_range_max,
        "remote_ip_prefix": row.remote_ip_prefix,
        "normalized_cidr": normalized_cidr(row.remote_ip_prefix),
        "remote_group_id": row.remote_group_id,
        **standard_view(row),
    }
    del view["tags"]  # rules carry no tags
    return view


def group(row: SecurityGroup) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "stateful": row.stateful,
        "security_group_rules": [rule(each) for each in row.rules],
        **standard_view(row),
    }

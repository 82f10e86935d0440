"""A subnet pool as Neutron shows it (no address scopes here: address_scope_id null)."""

from __future__ import annotations

from typing import Any

from ..common.standard import standard_view
from ..models import SubnetPool


def subnetpool(row: SubnetPool) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "ip_version": row.ip_version,
        "prefixes": list(row.prefixes),
        "default_prefixlen": row.default_prefixlen,
        "min_prefixlen": row.min_prefixlen,
        "max_prefixlen": row.max_prefixlen,
        "default_quota": row.default_quota,
        "shared": row.shared,
        "is_default": row.is_default,
        "address_scope_id": None,
        **standard_view(row),
    }

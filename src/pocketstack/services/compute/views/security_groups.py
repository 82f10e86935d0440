"""Security groups and rules as Nova's proxy shows Neutron's: ingress rules only, the
protocol as "ip_protocol", ports as from_port/to_port (a TCP/UDP rule without ports is
1-65535, any other protocol's is -1), and the rule's remote either as "group" (its name
and project) or as "ip_range" (a CIDR, 0.0.0.0/0 for anywhere)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the networking service's modules load only where networking runs
    from pocketstack.services.network.models import SecurityGroup, SecurityGroupRule

ANYWHERE = "0.0.0.0/0"


def group(row: SecurityGroup, remotes: dict[str, SecurityGroup | None]) -> dict[str, Any]:
    """`remotes`: the groups the rules name, by id (None: not visible, the rule is left out)."""
    rules = []
    for each in row.rules:
        if each.direction != "ingress":
            continue
        if each.remote_group_id and remotes.get(each.remote_group_id) is None:
            continue
        rules.append(rule(each, remotes.get(each.remote_group_id) if each.remote_group_id else None))
    return {"id": row.id, "name": row.name, "description": row.description, "tenant_id": row.project_id, "rules": rules}


def rule(row: SecurityGroupRule, remote: SecurityGroup | None) -> dict[str, Any]:
    from_port, to_port = _ports(row)
    out: dict[str, Any] = {
        "id": row.id,
        "parent_group_id": row.security_group_id,
        "ip_protocol": row.protocol,
        "from_port": from_port,
        "to_port": to_port,
        "group": {},
        "ip_range": {},
    }
    if row.remote_group_id and remote is not None:
        out["group"] = {"name": remote.name, "tenant_id": remote.project_id}
    else:
        out["ip_range"] = {"cidr": row.remote_ip_prefix or ANYWHERE}
    return out


def _ports(row: SecurityGroupRule) -> tuple[int | None, int | None]:
    if row.protocol and row.port_range_min is None and row.port_range_max is None:
        return (1, 65535) if row.protocol.upper() in ("TCP", "UDP") else (-1, -1)
    return row.port_range_min, row.port_range_max


def sorted_groups(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nova lists groups by project, then name."""
    return sorted(views, key=lambda view: (view["tenant_id"], view["name"]))

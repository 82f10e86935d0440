"""Networking quotas: Neutron's defaults, per-project limits where they differ, usage
counted from the tables, and the check every create makes (409 OverQuota).

As Neutron's default quota driver (DbQuotaNoLockDriver), a check counts what exists and
takes no lock: two creates racing for the last unit may both pass."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest

from ..faults import OverQuota
from ..models import FloatingIp, Network, NetworkRbac, Port, Quota, Router, SecurityGroup, SecurityGroupRule, Subnet, SubnetPool

UNLIMITED = -1
DEFAULTS: dict[str, int] = {
    "network": 100,
    "subnet": 100,
    "port": 500,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
    "rbac_policy": 10,
    "subnetpool": -1,
}
# resource -> the table whose rows (by project_id) count against it; resources of later
# features register theirs with `count_with`
COUNTED: dict[str, Any] = {
    "network": Network,
    "subnet": Subnet,
    "port": Port,
    "router": Router,
    "floatingip": FloatingIp,
    "subnetpool": SubnetPool,
    "security_group": SecurityGroup,
    "security_group_rule": SecurityGroupRule,
    "rbac_policy": NetworkRbac,
}


def count_with(resource: str, model: Any) -> None:
    COUNTED[resource] = model


def limits(db: Session, project_id: str) -> dict[str, int]:
    chosen = {row.resource: row.hard_limit for row in db.scalars(select(Quota).where(Quota.project_id == project_id))}
    return {resource: chosen.get(resource, default) for resource, default in DEFAULTS.items()}


def used(db: Session, project_id: str, resource: str) -> int:
    model = COUNTED.get(resource)
    if model is None:
        return 0
    return int(db.scalar(select(func.count()).select_from(model).where(model.project_id == project_id)) or 0)


def details(db: Session, project_id: str) -> dict[str, dict[str, int]]:
    return {
        resource: {"limit": limit, "used": used(db, project_id, resource), "reserved": 0}
        for resource, limit in limits(db, project_id).items()
    }


def check(db: Session, project_id: str, resource: str, adding: int = 1) -> None:
    """409 OverQuota when `adding` more would pass the project's limit."""
    limit = limits(db, project_id)[resource]
    if limit == UNLIMITED:
        return
    if used(db, project_id, resource) + adding > limit:
        raise OverQuota([resource])


def check_not_below_usage(db: Session, project_id: str, values: dict[str, int]) -> None:
    """A limit below what the project already uses is refused, unless forced."""
    for resource, limit in values.items():
        if limit == UNLIMITED:
            continue
        usage = used(db, project_id, resource)
        if usage > limit:
            raise BadRequest(f"Quota limit {limit} for {resource} must be greater than or equal to already used {usage}")


def update(db: Session, project_id: str, values: dict[str, int]) -> dict[str, int]:
    for resource, limit in values.items():
        row = db.get(Quota, (project_id, resource))
        if row is None:
            db.add(Quota(project_id=project_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    db.flush()
    return limits(db, project_id)


def reset(db: Session, project_id: str) -> None:
    db.execute(delete(Quota).where(Quota.project_id == project_id))


def projects_with_limits(db: Session) -> list[str]:
    return list(db.scalars(select(Quota.project_id).distinct().order_by(Quota.project_id)))

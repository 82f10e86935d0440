"""Unified limits in Keystone's "flat" model: a registered limit is a service's default
for a resource (per region); a limit overrides it for one project or domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest, Conflict, Forbidden

from ..models import Limit, Project, Region, RegisteredLimit, Service
from ..schemas.misc import LimitCreate, LimitUpdate, RegisteredLimitCreate, RegisteredLimitUpdate
from .common import get_or_404, new_id

MODEL = {
    "name": "flat",
    "description": "Limit enforcement and validation does not take project hierarchy into consideration.",
}
REGISTERED_FILTERS = ("service_id", "region_id", "resource_name")
LIMIT_FILTERS = (*REGISTERED_FILTERS, "project_id", "domain_id")


def _require(db: Session, what: str, service_id: str | None, region_id: str | None) -> None:
    """The service and region a (registered) limit names must exist: 400 otherwise."""
    if service_id is not None and db.get(Service, service_id) is None:
        raise BadRequest(f"Invalid input for field '{what}.service_id': service {service_id} does not exist.")
    if region_id is not None and db.get(Region, region_id) is None:
        raise BadRequest(f"Invalid input for field '{what}.region_id': region {region_id} does not exist.")


def _same_key(model: Any, service_id: str, region_id: str | None, resource_name: str) -> Any:
    # region_id may be NULL, which a plain "=" never matches
    region = model.region_id.is_(None) if region_id is None else model.region_id == region_id
    return (model.service_id == service_id, region, model.resource_name == resource_name)


# -- registered limits ----------------------------------------------------------------


def get_registered_limit(db: Session, limit_id: str) -> RegisteredLimit:
    return get_or_404(db, RegisteredLimit, limit_id, "registered limit")


def _find_registered(db: Session, service_id: str, region_id: str | None, resource_name: str) -> RegisteredLimit | None:
    q = select(RegisteredLimit).where(*_same_key(RegisteredLimit, service_id, region_id, resource_name))
    return db.scalars(q).first()


def create_registered_limits(db: Session, items: list[RegisteredLimitCreate]) -> list[RegisteredLimit]:
    rows = []
    for item in items:
        _require(db, "registered_limit", item.service_id, item.region_id)
        if _find_registered(db, item.service_id, item.region_id, item.resource_name) is not None:
            raise Conflict("Conflict occurred attempting to store registered_limit - Duplicate entry.")
        row = RegisteredLimit(id=new_id(), **item.model_dump())
        db.add(row)
        db.flush()
        rows.append(row)
    return rows


def _limits_using(db: Session, reg: RegisteredLimit) -> bool:
    q = select(Limit.id).where(*_same_key(Limit, reg.service_id, reg.region_id, reg.resource_name)).limit(1)
    return db.scalars(q).first() is not None


def update_registered_limit(db: Session, limit_id: str, body: RegisteredLimitUpdate) -> RegisteredLimit:
    row = get_registered_limit(db, limit_id)
    changes = body.model_dump(exclude_unset=True)
    for name in ("service_id", "resource_name", "default_limit"):  # never NULL: an explicit null changes nothing
        if name in changes and changes[name] is None:
            del changes[name]
    _require(db, "registered_limit", changes.get("service_id"), changes.get("region_id"))
    if _limits_using(db, row):
        raise Forbidden(f"Unable to update or delete registered limit {row.id} because there are project limits associated with it.")
    key = [changes.get(k, getattr(row, k)) for k in REGISTERED_FILTERS]
    clash = _find_registered(db, *key)
    if clash is not None and clash.id != row.id:
        raise Conflict("Conflict occurred attempting to store registered_limit - Duplicate entry.")
    for name, value in changes.items():
        setattr(row, name, value)
    return row


def list_registered_limits(db: Session, filters: dict[str, str | None]) -> list[RegisteredLimit]:
    q = select(RegisteredLimit).order_by(RegisteredLimit.resource_name, RegisteredLimit.id)
    for key in REGISTERED_FILTERS:
        if filters.get(key) is not None:
            q = q.where(getattr(RegisteredLimit, key) == filters[key])
    return list(db.scalars(q))


def delete_registered_limit(db: Session, limit_id: str) -> None:
    row = get_registered_limit(db, limit_id)
    if _limits_using(db, row):
        raise Forbidden(f"Unable to update or delete registered limit {row.id} because there are project limits associated with it.")
    db.delete(row)


# -- limits ---------------------------------------------------------------------------


def get_limit(db: Session, limit_id: str) -> Limit:
    return get_or_404(db, Limit, limit_id, "limit")


def _owner(db: Session, item: LimitCreate) -> tuple[str | None, str | None]:
    """(project_id, domain_id); a project_id naming a domain makes a domain limit."""
    owner_id = item.project_id or item.domain_id or ""
    row = db.get(Project, owner_id)
    if item.project_id is not None:
        if row is None:
            raise BadRequest(f"Invalid input for field 'limit.project_id': project {owner_id} does not exist.")
        return (None, row.id) if row.is_domain else (row.id, None)
    if row is None or not row.is_domain:
        raise BadRequest(f"Invalid input for field 'limit.domain_id': domain {owner_id} does not exist.")
    return None, row.id


def create_limits(db: Session, items: list[LimitCreate]) -> list[Limit]:
    rows = []
    for item in items:
        _require(db, "limit", item.service_id, item.region_id)
        project_id, domain_id = _owner(db, item)
        if _find_registered(db, item.service_id, item.region_id, item.resource_name) is None:
            raise Forbidden("Unable to create a limit that has no corresponding registered limit.")
        owner = Limit.project_id == project_id if project_id else Limit.domain_id == domain_id
        clash = select(Limit.id).where(*_same_key(Limit, item.service_id, item.region_id, item.resource_name), owner)
        if db.scalars(clash).first() is not None:
            raise Conflict("Conflict occurred attempting to store limit - Duplicate entry.")
        fields = item.model_dump(exclude={"project_id", "domain_id"})
        row = Limit(id=new_id(), project_id=project_id, domain_id=domain_id, **fields)
        db.add(row)
        db.flush()
        rows.append(row)
    return rows


def update_limit(db: Session, limit_id: str, body: LimitUpdate) -> Limit:
    row = get_limit(db, limit_id)
    if body.resource_limit is not None:
        row.resource_limit = body.resource_limit
    if "description" in body.model_fields_set:
        row.description = body.description
    return row


def list_limits(db: Session, filters: dict[str, str | None]) -> list[Limit]:
    q = select(Limit).order_by(Limit.resource_name, Limit.id)
    for key in LIMIT_FILTERS:
        if filters.get(key) is not None:
            q = q.where(getattr(Limit, key) == filters[key])
    return list(db.scalars(q))


def projects_in_domain(db: Session, domain_id: str) -> set[str]:
    return set(db.scalars(select(Project.id).where(Project.domain_id == domain_id, Project.is_domain.is_(False))))


def delete_limit(db: Session, limit_id: str) -> None:
    db.delete(get_limit(db, limit_id))


# -- for other services -----------------------------------------------------------------


def project_limits(db: Session, service_type: str, project_id: str | None) -> dict[str, int]:
    """resource name -> the limit that applies to a project for a service (by catalog
    type): the project's own limit where one is set, else the registered default (a
    regional one only in the absence of a global one). Resources without any are absent."""
    service_ids = select(Service.id).where(Service.type == service_type)
    found: dict[str, int] = {}
    for reg in db.scalars(select(RegisteredLimit).where(RegisteredLimit.service_id.in_(service_ids))):
        if reg.region_id is None or reg.resource_name not in found:
            found[reg.resource_name] = reg.default_limit
    if project_id is not None:
        own = select(Limit).where(Limit.service_id.in_(service_ids), Limit.project_id == project_id)
        for limit in db.scalars(own):
            found[limit.resource_name] = limit.resource_limit
    return found

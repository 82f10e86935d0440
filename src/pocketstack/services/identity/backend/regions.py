"""Regions: a forest of named places; endpoints live in one. Deleting a region takes
its sub-regions with it, unless one of them still holds endpoints."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest, Conflict, Forbidden

from ..models import Endpoint, Region
from ..schemas.catalog import RegionCreate, RegionUpdate
from .common import get_or_404, new_id, refuse_changes


def get_region(db: Session, region_id: str) -> Region:
    return get_or_404(db, Region, region_id, "region")


def create_region(db: Session, region_id: str | None, body: RegionCreate) -> Region:
    region_id = region_id or new_id()
    if db.get(Region, region_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store region - Duplicate ID, {region_id}.")
    if body.parent_region_id is not None:
        get_region(db, body.parent_region_id)
    row = Region(id=region_id, description=body.description or "", parent_region_id=body.parent_region_id, extra=body.extras())
    db.add(row)
    db.flush()
    return row


def ensure_region(db: Session, region_id: str) -> Region:
    """The region, created on the spot if missing (endpoints given a v3.0 `region`)."""
    return db.get(Region, region_id) or create_region(db, region_id, RegionCreate())


def update_region(db: Session, region_id: str, body: RegionUpdate) -> Region:
    row = get_region(db, region_id)
    fields = body.model_fields_set
    refuse_changes(body, row, "region")
    if "parent_region_id" in fields:
        if body.parent_region_id is not None:
            get_region(db, body.parent_region_id)
            _refuse_cycle(db, row.id, body.parent_region_id)
        row.parent_region_id = body.parent_region_id
    if "description" in fields:
        row.description = body.description or ""
    row.extra = {**(row.extra or {}), **body.extras()}
    return row


def _refuse_cycle(db: Session, region_id: str, parent_id: str) -> None:
    seen: set[str] = set()
    current: str | None = parent_id
    while current and current not in seen:
        if current == region_id:
            raise BadRequest(f"The specified parent region {parent_id} would create a circular region hierarchy.")
        seen.add(current)
        parent = db.get(Region, current)
        current = parent.parent_region_id if parent else None


def list_regions(db: Session, parent_region_id: str | None = None) -> list[Region]:
    q = select(Region).order_by(Region.id)
    if parent_region_id is not None:
        q = q.where(Region.parent_region_id == parent_region_id)
    return list(db.scalars(q))


def subtree_ids(db: Session, region_id: str) -> list[str]:
    """The region and every region below it (cycles, however made, end the walk)."""
    found = [region_id]
    frontier = [region_id]
    while frontier:
        kids = [k for k in db.scalars(select(Region.id).where(Region.parent_region_id.in_(frontier))) if k not in found]
        found.extend(kids)
        frontier = kids
    return found


def delete_region(db: Session, region_id: str) -> None:
    get_region(db, region_id)
    doomed = subtree_ids(db, region_id)
    if db.scalars(select(Endpoint.id).where(Endpoint.region_id.in_(doomed)).limit(1)).first():
        raise Forbidden(f"Unable to delete region {region_id} because it or its child regions have associated endpoints.")
    for rid in reversed(doomed):
        row = db.get(Region, rid)
        if row is not None:
            db.delete(row)


def require_region(db: Session, region_id: str | None, field: str) -> None:
    """400 (not 404) when a body names a region that does not exist."""
    if region_id is not None and db.get(Region, region_id) is None:
        raise BadRequest(f"Invalid input for field '{field}': region {region_id} does not exist.")


"""Flavors: the server sizes, who may see the private ones, and their extra specs.

Visibility follows Nova (nova/objects/flavor.py `_flavor_get_query`): admins see every
flavor; anyone else sees the public ones and the private ones their project was given
access to, and a flavor they may not see does not exist for them (404)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sqlalchemy import Select, false, func, or_, select, true
from sqlalchemy.orm import Session

from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Conflict, NotFound
from pocketstack.core.pagination import Page, PageRequest, paginate_ordered

from ..models import Flavor, FlavorExtraSpec, FlavorProject

# Nova's sort keys (the flavors index query schema); vcpu_weight is not kept here, so
# sorting by it leaves the order to the tie-breaker, as Nova's all-NULL column does
SORT_COLUMNS = {
    "created_at": Flavor.created_at,
    "description": func.coalesce(Flavor.description, ""),
    "disabled": Flavor.disabled,
    "ephemeral_gb": Flavor.ephemeral_gb,
    "flavorid": Flavor.flavorid,
    "id": Flavor.id,
    "is_public": Flavor.is_public,
    "memory_mb": Flavor.memory_mb,
    "name": Flavor.name,
    "root_gb": Flavor.root_gb,
    "rxtx_factor": Flavor.rxtx_factor,
    "swap": Flavor.swap,
    "updated_at": func.coalesce(Flavor.updated_at, Flavor.created_at),
    "vcpu_weight": Flavor.id,
    "vcpus": Flavor.vcpus,
}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class Viewer:
    """Who is looking: admins see every flavor, others public ones and their project's."""

    project_id: str | None
    is_admin: bool


@dataclass(frozen=True)
class FlavorFilter:
    is_public: bool | None = True  # None: public and private alike (admins only)
    min_ram: int | None = None
    min_disk: int | None = None
    include_disabled: bool = True
    sort_key: str = "flavorid"
    sort_dir: str = "asc"


@dataclass(frozen=True)
class NewFlavor:
    """A flavor to create, field names as the table's columns."""

    name: str
    flavorid: str | None
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None


def _accessible_to(project_id: str | None) -> object:
    granted = Flavor.projects.any(FlavorProject.project_id == project_id) if project_id else false()
    return or_(Flavor.is_public == true(), granted)


def _visible(stmt: Select[tuple[Flavor]], viewer: Viewer) -> Select[tuple[Flavor]]:
    return stmt if viewer.is_admin else stmt.where(_accessible_to(viewer.project_id))


def clamp_int32(value: int) -> int:
    """A filter value the database can compare (a huge one means "none" or "all")."""
    return max(INT32_MIN, min(INT32_MAX, value))


def list_flavors(db: Session, viewer: Viewer, wanted: FlavorFilter, page: PageRequest) -> Page[Flavor]:
    if wanted.sort_key not in SORT_COLUMNS:
        raise BadRequest(f"Invalid sort_key {wanted.sort_key[:60]!r}: expected one of {', '.join(sorted(SORT_COLUMNS))}.")
    if wanted.sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort_dir {wanted.sort_dir[:60]!r}: expected 'asc' or 'desc'.")
    stmt = _visible(select(Flavor), viewer)
    if wanted.is_public is not None:
        # Nova: asking for public flavors also brings the private ones shared with you
        matching = Flavor.is_public == wanted.is_public
        stmt = stmt.where(or_(matching, _accessible_to(viewer.project_id)) if wanted.is_public else matching)
    if not wanted.include_disabled:
        stmt = stmt.where(Flavor.disabled == false())
    if wanted.min_ram is not None:
        stmt = stmt.where(Flavor.memory_mb >= clamp_int32(wanted.min_ram))
    if wanted.min_disk is not None:
        stmt = stmt.where(Flavor.root_gb >= clamp_int32(wanted.min_disk))
    descending = wanted.sort_dir == "desc"
    order = [(SORT_COLUMNS[wanted.sort_key], descending), (Flavor.id, descending)]
    return paginate_ordered(db, stmt, Flavor.flavorid, page, order)


def get_flavor(db: Session, viewer: Viewer, flavorid: str) -> Flavor:
    flavor = db.scalars(_visible(select(Flavor).where(Flavor.flavorid == flavorid), viewer)).first()
    if flavor is None:
        raise NotFound(f"Flavor {flavorid} could not be found.")
    return flavor


def create_flavor(db: Session, new: NewFlavor) -> Flavor:
    flavorid = new.flavorid if new.flavorid is not None else str(uuid.uuid4())
    if db.scalar(select(Flavor.id).where(Flavor.name == new.name)) is not None:
        raise Conflict(f"Flavor with name {new.name} already exists.")
    if db.scalar(select(Flavor.id).where(Flavor.flavorid == flavorid)) is not None:
        raise Conflict(f"Flavor with ID {flavorid} already exists.")
    # NewFlavor's fields are the table's own columns
    flavor = Flavor(**{**asdict(new), "flavorid": flavorid}, disabled=False, created_at=utcnow())
    db.add(flavor)
    db.flush()  # the unique columns answer now, inside this request, not at commit
    return flavor


def update_description(db: Session, flavor: Flavor, description: str | None) -> Flavor:
    flavor.description = description
    flavor.updated_at = utcnow()
    db.flush()
    return flavor


def delete_flavor(db: Session, flavorid: str) -> None:
    flavor = db.scalars(select(Flavor).where(Flavor.flavorid == flavorid)).first()
    if flavor is None:
        raise NotFound(f"Flavor {flavorid} could not be found.")
    db.delete(flavor)
    db.flush()


# -- project access to private flavors ----------------------------------------------
def add_access(db: Session, flavor: Flavor, project_id: str, *, refuse_public: bool) -> None:
    if refuse_public and flavor.is_public:
        raise Conflict("Can not add access to a public flavor.")
    if any(grant.project_id == project_id for grant in flavor.projects):
        raise Conflict(f"Flavor access already exists for flavor {flavor.flavorid} and project {project_id} combination.")
    flavor.projects.append(FlavorProject(project_id=project_id))
    db.flush()


def remove_access(db: Session, flavor: Flavor, project_id: str) -> None:
    grant = next((grant for grant in flavor.projects if grant.project_id == project_id), None)
    if grant is None:
        raise NotFound(f"Flavor access not found for {flavor.flavorid} / {project_id} combination.")
    flavor.projects.remove(grant)
    db.flush()


# -- extra specs ---------------------------------------------------------------------
def extra_specs(flavor: Flavor) -> dict[str, str]:
    return {spec.key: spec.value for spec in flavor.extra_specs}


def set_extra_specs(db: Session, flavor: Flavor, specs: Mapping[str, str]) -> None:
    """Add or replace the given keys; the others stay."""
    current = {spec.key: spec for spec in flavor.extra_specs}
    for key, value in specs.items():
        if key in current:
            current[key].value = value
        else:
            flavor.extra_specs.append(FlavorExtraSpec(key=key, value=value))
    flavor.updated_at = utcnow()
    db.flush()


def delete_extra_spec(db: Session, flavor: Flavor, key: str) -> None:
    spec = next((spec for spec in flavor.extra_specs if spec.key == key), None)
    if spec is None:
        raise NotFound(f"Flavor {flavor.flavorid} has no extra specs with key {key}.")
    flavor.extra_specs.remove(spec)
    flavor.updated_at = utcnow()
    db.flush()


# -- what a new cloud starts with ------------------------------------------------------
# Nova's classic flavors, and devstack's m1.nano for small test guests
DEFAULT_FLAVORS = (
    NewFlavor("m1.tiny", "1", 512, 1, 1),
    NewFlavor("m1.small", "2", 2048, 1, 20),
    NewFlavor("m1.medium", "3", 4096, 2, 40),
    NewFlavor("m1.large", "4", 8192, 4, 80),
    NewFlavor("m1.xlarge", "5", 16384, 8, 160),
    NewFlavor("m1.nano", "42", 128, 1, 1),
)


def ensure_default_flavors(db: Session) -> list[str]:
    """Seed the default flavors into a cloud that has none yet. Once there are flavors
    the operator owns the list: a restart brings back none they deleted or replaced.
    Returns the ids made."""
    if db.scalar(select(Flavor.id).limit(1)) is not None:
        return []
    return [create_flavor(db, new).flavorid for new in DEFAULT_FLAVORS]

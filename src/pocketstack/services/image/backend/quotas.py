"""Per-project image quotas from Keystone's unified limits, the way Glance reads them
with `use_keystone_limits`: register a limit for the "image" service (for example
`openstack registered limit create --service glance --default-limit 10 image_count_total`)
and it is enforced; a resource without a registered limit is unlimited. Sizes are MiB."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pocketstack.core.faults import PayloadTooLarge
from pocketstack.services.identity.backend.limits import project_limits

from ..models import IMPORTING, SAVING, UPLOADING, Image

MIB = 1024 * 1024
RESOURCES = ("image_size_total", "image_stage_total", "image_count_total", "image_count_uploading")


def usage(db: Session, project_id: str | None) -> dict[str, int]:
    """What a project uses now, in the units its limits are written in."""
    return {name: _in_limit_units(name, _measure(db, project_id, name)) for name in RESOURCES}


def _measure(db: Session, project_id: str | None, resource: str) -> int:
    """One resource's use: bytes for the sizes, images for the counts."""
    mine = Image.owner == project_id
    if resource == "image_size_total":
        return _total_size(db, mine)
    if resource == "image_stage_total":
        return _total_size(db, mine, Image.status.in_((UPLOADING, IMPORTING)))
    busy = [Image.status.in_((SAVING, UPLOADING, IMPORTING))] if resource == "image_count_uploading" else []
    return db.scalar(select(func.count()).select_from(Image).where(mine, *busy)) or 0


def _in_limit_units(resource: str, amount: int) -> int:
    return _mib(amount) if resource in ("image_size_total", "image_stage_total") else amount


def limits(db: Session, project_id: str | None) -> dict[str, int]:
    found = project_limits(db, "image", project_id)
    return {name: found[name] for name in RESOURCES if name in found}


def report(db: Session, project_id: str | None) -> dict[str, dict[str, int]]:
    """/v2/info/usage: every resource with its limit (-1: unlimited) and usage."""
    used = usage(db, project_id)
    caps = limits(db, project_id)
    return {name: {"limit": caps.get(name, -1), "usage": used[name]} for name in RESOURCES}


def check_image_count(db: Session, project_id: str | None) -> None:
    _check(db, project_id, "image_count_total", 1)


def check_upload_start(db: Session, project_id: str | None) -> None:
    """Before data arrives: room for one more upload, and the size quota not used up."""
    _check(db, project_id, "image_count_uploading", 1)
    _check(db, project_id, "image_size_total", 0)


def remaining_bytes(db: Session, project_id: str | None, resource: str = "image_size_total") -> int | None:
    """How many more bytes of image data the project may store (None: no limit)."""
    cap = limits(db, project_id).get(resource)
    if cap is None:
        return None
    return max(0, cap * MIB - _measure(db, project_id, resource))


def _total_size(db: Session, *conditions: object) -> int:
    # int(): PostgreSQL sums a BIGINT into a NUMERIC, which arrives as a Decimal
    return int(db.scalar(select(func.coalesce(func.sum(Image.size), 0)).where(*conditions)) or 0)


def _check(db: Session, project_id: str | None, resource: str, adding: int) -> None:
    cap = limits(db, project_id).get(resource)
    if cap is None:
        return
    used = _in_limit_units(resource, _measure(db, project_id, resource))
    if used + adding > cap or (adding == 0 and used >= cap):
        raise PayloadTooLarge(f"Quota exceeded for {resource}: limit {cap}, in use {used}.")


def _mib(size: int) -> int:
    return -(-size // MIB)  # rounded up, as Glance counts

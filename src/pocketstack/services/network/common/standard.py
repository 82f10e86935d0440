"""Standard attributes every Neutron resource carries, and the rules around them:
ids, timestamps in Neutron's format, revision numbers that move on every change,
If-Match: revision_number=N constraints, and tags."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session

from pocketstack.core.api import Call
from pocketstack.core.faults import BadRequest

from ..faults import RevisionNumberConstraintFailed, TagNotFound
from ..models import StandardAttributes, Tag

MAX_TAG_LENGTH = 255
MAX_TAGS = 50  # Neutron's per-resource limit


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> dt.datetime:
    """Neutron keeps times to the second: what a view shows is what a filter compares."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def timestamp(moment: dt.datetime | None) -> str | None:
    """2026-11-26T10:00:00Z, as Neutron writes created_at and updated_at."""
    return None if moment is None else moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp_new(row: StandardAttributes, project_id: str, description: str = "") -> None:
    """Standard attributes of a resource being created."""
    moment = now()
    row.id = row.id or new_id()
    row.project_id = project_id
    row.description = description
    row.revision_number = 0
    row.created_at = moment
    row.updated_at = moment


def bump(row: StandardAttributes) -> None:
    """The resource changed: one revision more, and a new updated_at."""
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = now()


def standard_view(row: StandardAttributes) -> dict[str, Any]:
    """The standard attributes as Neutron shows them (both project_id and tenant_id)."""
    return {
        "project_id": row.project_id,
        "tenant_id": row.project_id,
        "description": row.description,
        "tags": row.tags,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
        "revision_number": row.revision_number,
    }


# -- If-Match: revision_number=N ---------------------------------------------------------
def wanted_revision(call: Call) -> int | None:
    """The revision an If-Match header constrains the request to, if any."""
    header = call.request.headers.get("if-match")
    if not header:
        return None
    wanted = None
    for tag in (part.strip().strip('"') for part in header.split(",")):
        if not tag.startswith("revision_number="):
            continue
        if wanted is not None:
            raise BadRequest("Bad if-match request: Multiple revision_number etags are not supported.")
        try:
            wanted = int(tag.split("=", 1)[1])
        except ValueError:
            raise BadRequest("Bad if-match request: Revision number etag must be in the format of revision_number=<int>.") from None
    return wanted


def check_revision(call: Call, row: StandardAttributes) -> None:
    """412 when the caller asked to change revision N and the resource moved on."""
    wanted = wanted_revision(call)
    if wanted is not None and wanted != row.revision_number:
        raise RevisionNumberConstraintFailed(wanted, row.revision_number)


# -- tags --------------------------------------------------------------------------------
def check_tag(tag: Any) -> str:
    if not isinstance(tag, str):
        raise BadRequest(f"Invalid input for operation: '{tag}' is not a valid string.")
    if len(tag) > MAX_TAG_LENGTH:
        raise BadRequest(f"Invalid input for operation: '{tag}' exceeds maximum length of {MAX_TAG_LENGTH}.")
    return tag


def check_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list):
        raise BadRequest(f"Invalid input for operation: '{tags}' is not a list.")
    checked = [check_tag(tag) for tag in tags]
    if len(set(checked)) != len(checked):
        raise BadRequest(f"Invalid input for operation: Duplicate items in the list: '{', '.join(checked)}'.")
    return checked


def _limit(resource: str, tags: list[str]) -> None:
    if len(set(tags)) > MAX_TAGS:
        raise BadRequest(f"Bad {resource} request: The number of tags exceed the per-resource limit of {MAX_TAGS}.")


def replace_tags(db: Session, row: StandardAttributes, tags: list[str], resource: str) -> None:
    _limit(resource, tags)
    wanted = set(tags)
    current = {tag_row.tag: tag_row for tag_row in row.tag_rows}
    for tag, tag_row in current.items():
        if tag not in wanted:
            row.tag_rows.remove(tag_row)
    for tag in sorted(wanted - set(current)):
        row.tag_rows.append(Tag(resource_id=row.id, tag=tag))
    row.tag_rows.sort(key=lambda tag_row: tag_row.tag)
    bump(row)
    db.flush()


def add_tags(db: Session, row: StandardAttributes, tags: list[str], resource: str) -> None:
    replace_tags(db, row, sorted(set(row.tags) | set(tags)), resource)


def remove_tag(db: Session, row: StandardAttributes, tag: str) -> None:
    if tag not in row.tags:
        raise TagNotFound(tag)
    replace_tags(db, row, [t for t in row.tags if t != tag], "tag")


def require_tag(row: StandardAttributes, tag: str) -> None:
    if tag not in row.tags:
        raise TagNotFound(tag)

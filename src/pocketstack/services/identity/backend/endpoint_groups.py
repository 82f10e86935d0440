"""OS-EP-FILTER: endpoint groups (a saved endpoint filter) and the endpoints or groups
associated with a project. A project with any association sees only those endpoints
in its catalog; one with none sees them all."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest, Conflict, NotFound

from ..models import Endpoint, EndpointGroup, Project, ProjectEndpoint, ProjectEndpointGroup
from ..schemas.catalog import EndpointGroupCreate, EndpointGroupUpdate
from .common import get_or_404, new_id, refuse_changes


def get_endpoint_group(db: Session, group_id: str) -> EndpointGroup:
    return get_or_404(db, EndpointGroup, group_id, "endpoint group")


def create_endpoint_group(db: Session, body: EndpointGroupCreate) -> EndpointGroup:
    filters = body.filters.model_dump(exclude_unset=True)
    if not filters:
        raise BadRequest("Invalid input for field 'filters': it is required and cannot be empty.")
    row = EndpointGroup(id=new_id(), name=body.name, description=body.description, filters=filters)
    db.add(row)
    db.flush()
    return row


def update_endpoint_group(db: Session, group_id: str, body: EndpointGroupUpdate) -> EndpointGroup:
    row = get_endpoint_group(db, group_id)
    fields = body.model_fields_set
    refuse_changes(body, row, "endpoint group")
    if "name" in fields and body.name is not None:
        row.name = body.name
    if "description" in fields:
        row.description = body.description
    if "filters" in fields and body.filters is not None:
        row.filters = body.filters.model_dump(exclude_unset=True)
    return row


def list_endpoint_groups(db: Session, name: str | None = None) -> list[EndpointGroup]:
    q = select(EndpointGroup).order_by(EndpointGroup.name, EndpointGroup.id)
    if name is not None:
        q = q.where(EndpointGroup.name == name)
    return list(db.scalars(q))


def delete_endpoint_group(db: Session, group_id: str) -> None:
    row = get_endpoint_group(db, group_id)
    db.execute(delete(ProjectEndpointGroup).where(ProjectEndpointGroup.endpoint_group_id == row.id))
    db.delete(row)


def matches(filters: dict[str, Any], endpoint: Any) -> bool:
    """Does an endpoint (a row or anything with the same attributes) pass a group's filters?"""
    return all(getattr(endpoint, key, None) == value for key, value in filters.items())


def endpoints_in_group(db: Session, group: EndpointGroup) -> list[Endpoint]:
    every = db.scalars(select(Endpoint).order_by(Endpoint.id))
    return [ep for ep in every if matches(group.filters or {}, ep)]


# -- project <-> endpoint group -------------------------------------------------------


def _project(db: Session, project_id: str) -> Project:
    row = db.get(Project, project_id)
    if row is None or row.is_domain:
        raise NotFound(f"Could not find project: {project_id}.")
    return row


def get_group_in_project(db: Session, group_id: str, project_id: str) -> ProjectEndpointGroup:
    _project(db, project_id)
    get_endpoint_group(db, group_id)
    link = db.get(ProjectEndpointGroup, (group_id, project_id))
    if link is None:
        raise NotFound("Endpoint Group Project Association not found.")
    return link


def add_group_to_project(db: Session, group_id: str, project_id: str) -> None:
    _project(db, project_id)
    get_endpoint_group(db, group_id)
    if db.get(ProjectEndpointGroup, (group_id, project_id)) is not None:
        raise Conflict(f"Conflict occurred attempting to store project_endpoint_group - {group_id} is already associated with {project_id}.")
    db.add(ProjectEndpointGroup(endpoint_group_id=group_id, project_id=project_id))


def remove_group_from_project(db: Session, group_id: str, project_id: str) -> None:
    db.delete(get_group_in_project(db, group_id, project_id))


def projects_of_group(db: Session, group_id: str) -> list[Project]:
    get_endpoint_group(db, group_id)
    ids = db.scalars(select(ProjectEndpointGroup.project_id).where(ProjectEndpointGroup.endpoint_group_id == group_id))
    return _existing_projects(db, ids)


def groups_of_project(db: Session, project_id: str) -> list[EndpointGroup]:
    _project(db, project_id)
    q = (
        select(EndpointGroup)
        .join(ProjectEndpointGroup, ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id)
        .where(ProjectEndpointGroup.project_id == project_id)
        .order_by(EndpointGroup.name)
    )
    return list(db.scalars(q))


# -- project <-> endpoint -------------------------------------------------------------


def _endpoint(db: Session, endpoint_id: str) -> Endpoint:
    return get_or_404(db, Endpoint, endpoint_id, "endpoint")


def check_endpoint_in_project(db: Session, project_id: str, endpoint_id: str) -> None:
    _endpoint(db, endpoint_id)
    _project(db, project_id)
    if db.get(ProjectEndpoint, (endpoint_id, project_id)) is None:
        raise NotFound(f"Endpoint {endpoint_id} not found in project {project_id}.")


def add_endpoint_to_project(db: Session, project_id: str, endpoint_id: str) -> None:
    _endpoint(db, endpoint_id)
    _project(db, project_id)
    if db.get(ProjectEndpoint, (endpoint_id, project_id)) is not None:
        raise Conflict(f"Conflict occurred attempting to store project_endpoint - {endpoint_id} is already associated with {project_id}.")
    db.add(ProjectEndpoint(endpoint_id=endpoint_id, project_id=project_id))


def remove_endpoint_from_project(db: Session, project_id: str, endpoint_id: str) -> None:
    link = db.get(ProjectEndpoint, (endpoint_id, project_id))
    if link is None:
        raise NotFound(f"Endpoint {endpoint_id} not found in project {project_id}.")
    db.delete(link)


def projects_of_endpoint(db: Session, endpoint_id: str) -> list[Project]:
    _endpoint(db, endpoint_id)
    ids = db.scalars(select(ProjectEndpoint.project_id).where(ProjectEndpoint.endpoint_id == endpoint_id))
    return _existing_projects(db, ids)


def endpoints_of_project(db: Session, project_id: str) -> list[Endpoint]:
    """Endpoints associated directly, then those selected by the project's groups."""
    _project(db, project_id)
    direct = db.scalars(
        select(Endpoint)
        .join(ProjectEndpoint, ProjectEndpoint.endpoint_id == Endpoint.id)
        .where(ProjectEndpoint.project_id == project_id)
        .order_by(Endpoint.id)
    )
    found = {ep.id: ep for ep in direct}
    for group in groups_of_project(db, project_id):
        for ep in endpoints_in_group(db, group):
            found.setdefault(ep.id, ep)
    return list(found.values())


def forget_endpoint(db: Session, endpoint_id: str) -> None:
    """An endpoint is going away: drop its project associations."""
    db.execute(delete(ProjectEndpoint).where(ProjectEndpoint.endpoint_id == endpoint_id))


def _existing_projects(db: Session, ids: Iterable[str]) -> list[Project]:
    # associations outlive deleted projects (no foreign key): skip the dangling ones
    wanted = list(ids)
    if not wanted:
        return []
    rows = db.scalars(select(Project).where(Project.id.in_(wanted), Project.is_domain.is_(False)).order_by(Project.name))
    return list(rows)


def project_filters(db: Session) -> tuple[dict[str, set[str]], dict[str, list[dict[str, Any]]]]:
    """Every association at once, for the catalog snapshot: project -> endpoint ids,
    project -> the filters of its endpoint groups."""
    direct: dict[str, set[str]] = {}
    for link in db.scalars(select(ProjectEndpoint)):
        direct.setdefault(link.project_id, set()).add(link.endpoint_id)
    grouped: dict[str, list[dict[str, Any]]] = {}
    rows = db.execute(
        select(ProjectEndpointGroup.project_id, EndpointGroup.filters).join(
            EndpointGroup, EndpointGroup.id == ProjectEndpointGroup.endpoint_group_id
        )
    )
    for project_id, filters in rows:
        grouped.setdefault(project_id, []).append(dict(filters or {}))
    return direct, grouped

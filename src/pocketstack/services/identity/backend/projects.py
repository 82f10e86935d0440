"""Projects: a tree inside a domain. Top-level projects have the domain as parent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Forbidden

from ..models import (
    ApplicationCredential,
    Assignment,
    Limit,
    Project,
    ProjectEndpoint,
    ProjectEndpointGroup,
    ProjectTag,
)
from ..schemas.projects import DomainUpdate, ProjectCreate, ProjectUpdate
from .common import check_name_free, default_domain_id, get_domain, get_project, new_id, refuse_changes
from .credentials import delete_credentials_for_project
from .effective_roles import project_ancestors
from .trusts import delete_trusts_for_project

MAX_DEPTH = 10


def tags_of(db: Session, project_id: str) -> list[str]:
    return sorted(db.scalars(select(ProjectTag.name).where(ProjectTag.project_id == project_id)))


def set_tags(db: Session, project_id: str, tags: Sequence[str]) -> None:
    db.execute(delete(ProjectTag).where(ProjectTag.project_id == project_id))
    for name in dict.fromkeys(tags):  # keep order, drop duplicates
        db.add(ProjectTag(project_id=project_id, name=name))


def create_project(db: Session, ctx: RequestContext, body: ProjectCreate, revoke: Any = None) -> Project:
    if body.is_domain:
        from .domains import create_domain_row

        return create_domain_row(db, body.name, body.description, body.enabled, body.tags, body.options, body.extras())
    parent: Project | None = None
    if body.parent_id:
        parent = db.get(Project, body.parent_id)
        if parent is None:
            raise BadRequest(f"The parent project {body.parent_id} does not exist.")
        parent_domain = parent.id if parent.is_domain else parent.domain_id
        if body.domain_id and body.domain_id != parent_domain:
            raise BadRequest("The project must be in the same domain as its parent.")
        domain_id = parent_domain
        if depth(db, parent) + 1 > MAX_DEPTH:
            raise Forbidden(f"The project hierarchy would exceed the maximum depth of {MAX_DEPTH}.")
    else:
        domain_id = body.domain_id or default_domain_id(ctx)
    domain = get_domain_for_create(db, domain_id)
    _check_name_free(db, domain.id, body.name)
    row = Project(
        id=new_id(),
        name=body.name,
        domain_id=domain.id,
        parent_id=parent.id if parent else domain.id,
        description=body.description,
        enabled=body.enabled,
        is_domain=False,
        extra={**body.extras(), "options": body.options} if body.options else body.extras(),
    )
    db.add(row)
    db.flush()
    set_tags(db, row.id, body.tags)
    return row


def get_domain_for_create(db: Session, domain_id: str) -> Project:
    try:
        return get_domain(db, domain_id)
    except Exception:
        raise BadRequest(f"Domain {domain_id} does not exist.") from None


def _check_name_free(db: Session, domain_id: str, name: str, exclude: str | None = None) -> None:
    check_name_free(db, Project, domain_id, name, f"Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : {name}.", exclude)

def depth(db: Session, project: Project) -> int:
    return len(project_ancestors(db, project)) + 1


def children(db: Session, project_id: str) -> list[Project]:
    return list(db.scalars(select(Project).where(Project.parent_id == project_id, Project.is_domain.is_(False))))


def subtree(db: Session, project_id: str) -> list[Project]:
    out: list[Project] = []
    frontier = [project_id]
    while frontier:
        kids = list(db.scalars(select(Project).where(Project.parent_id.in_(frontier), Project.is_domain.is_(False))))
        out.extend(kids)
        frontier = [k.id for k in kids]
    return out


def update_project(db: Session, project_id: str, body: ProjectUpdate, revoke: Any) -> Project:
    row = get_project(db, project_id)
    fields = body.model_fields_set
    refuse_changes(body, row, "project", "domain_id", "parent_id", "is_domain")
    if "name" in fields and body.name is not None and body.name != row.name:
        _check_name_free(db, row.domain_id, body.name, exclude=row.id)
        row.name = body.name
    if "description" in fields:
        row.description = body.description
    if "enabled" in fields and body.enabled is not None and body.enabled != row.enabled:
        row.enabled = body.enabled
        if not body.enabled:
            revoke(db, project_id=row.id)
    apply_tags_options_extras(db, row, body)
    return row


def apply_tags_options_extras(db: Session, row: Project, body: ProjectUpdate | DomainUpdate) -> None:
    """The part of an update projects and domains share: tags, options, extra attributes."""
    fields = body.model_fields_set
    if "tags" in fields and body.tags is not None:
        set_tags(db, row.id, body.tags)
    extra = dict(row.extra or {})
    extra.update(body.extras())
    if "options" in fields and body.options is not None:
        extra["options"] = {**extra.get("options", {}), **body.options}
    row.extra = extra


def delete_project(db: Session, project_id: str, revoke: Any) -> None:
    row = get_project(db, project_id)
    if children(db, row.id):
        raise Forbidden(f"Cannot delete project {row.id}: it has child projects; delete them first.")
    remove_project(db, row, revoke)


def remove_project(db: Session, row: Project, revoke: Any) -> None:
    """Delete a project and everything that only means something with it."""
    db.execute(delete(Assignment).where(Assignment.target_id == row.id))
    db.execute(delete(ProjectEndpoint).where(ProjectEndpoint.project_id == row.id))
    db.execute(delete(ProjectEndpointGroup).where(ProjectEndpointGroup.project_id == row.id))
    db.execute(delete(Limit).where(Limit.project_id == row.id))
    db.execute(delete(ApplicationCredential).where(ApplicationCredential.project_id == row.id))
    delete_credentials_for_project(db, row.id)
    delete_trusts_for_project(db, row.id, revoke)
    revoke(db, project_id=row.id)
    db.delete(row)


def list_projects(db: Session, filters: dict[str, Any]) -> list[Project]:
    q = select(Project).where(Project.is_domain.is_(bool(filters.get("is_domain", False))))
    for key in ("name", "domain_id", "parent_id"):
        if filters.get(key) is not None:
            q = q.where(getattr(Project, key) == filters[key])
    if filters.get("enabled") is not None:
        q = q.where(Project.enabled.is_(filters["enabled"]))
    rows = list(db.scalars(q.order_by(Project.name)))
    return _filter_tags(db, rows, filters)


def _filter_tags(db: Session, rows: list[Project], filters: dict[str, Any]) -> list[Project]:
    wanted = {k: filters.get(k) for k in ("tags", "tags-any", "not-tags", "not-tags-any")}
    if not any(wanted.values()):
        return rows
    out = []
    for row in rows:
        have = set(tags_of(db, row.id))
        if wanted["tags"] and not set(wanted["tags"]) <= have:
            continue
        if wanted["tags-any"] and not set(wanted["tags-any"]) & have:
            continue
        if wanted["not-tags"] and set(wanted["not-tags"]) <= have:
            continue
        if wanted["not-tags-any"] and set(wanted["not-tags-any"]) & have:
            continue
        out.append(row)
    return out


def ancestors(db: Session, row: Project) -> list[Project]:
    return project_ancestors(db, row)

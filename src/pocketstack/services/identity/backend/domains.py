"""Domains: projects with is_domain=True at the root. Deleting one takes its content."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from pocketstack.core.faults import Conflict, Forbidden

from ..models import ROOT_DOMAIN, Assignment, Group, Project, Role, User
from ..schemas.projects import DomainCreate, DomainUpdate
from .common import get_domain, new_id, refuse_changes
from .projects import apply_tags_options_extras, remove_project, set_tags


def create_domain_row(
    db: Session,
    name: str,
    description: str | None,
    enabled: bool,
    tags: Sequence[str],
    options: dict[str, Any],
    extra: dict[str, Any],
    domain_id: str | None = None,
) -> Project:
    clash = db.scalars(select(Project.id).where(Project.domain_id == ROOT_DOMAIN, Project.name == name)).first()
    if clash:
        raise Conflict(f"Conflict occurred attempting to store domain - Duplicate entry found with name {name}.")
    if domain_id and db.get(Project, domain_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store domain - Duplicate entry found with ID {domain_id}.")
    row = Project(
        id=domain_id or new_id(),
        name=name,
        domain_id=ROOT_DOMAIN,
        parent_id=None,
        description=description,
        enabled=enabled,
        is_domain=True,
        extra={**extra, "options": options} if options else extra,
    )
    db.add(row)
    db.flush()
    set_tags(db, row.id, tags)
    return row


def create_domain(db: Session, body: DomainCreate) -> Project:
    return create_domain_row(
        db, body.name, body.description, body.enabled, body.tags, body.options, body.extras(), body.explicit_domain_id
    )


def update_domain(db: Session, domain_id: str, body: DomainUpdate, revoke: Any) -> Project:
    row = get_domain(db, domain_id)
    fields = body.model_fields_set
    refuse_changes(body, row, "domain")
    if "name" in fields and body.name is not None and body.name != row.name:
        clash = db.scalars(select(Project.id).where(Project.domain_id == ROOT_DOMAIN, Project.name == body.name)).first()
        if clash:
            raise Conflict(f"Conflict occurred attempting to store domain - Duplicate entry found with name {body.name}.")
        row.name = body.name
    if "description" in fields:
        row.description = body.description
    if "enabled" in fields and body.enabled is not None and body.enabled != row.enabled:
        if row.id == "default" and not body.enabled:
            raise Forbidden("The default domain cannot be disabled.")
        row.enabled = body.enabled
        if not body.enabled:
            revoke(db, domain_id=row.id)
    apply_tags_options_extras(db, row, body)
    return row


def delete_domain(db: Session, domain_id: str, revoke: Any) -> None:
    row = get_domain(db, domain_id)
    if row.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    if row.id == "default":
        raise Forbidden("The default domain cannot be deleted.")
    projects = list(db.scalars(select(Project).where(Project.domain_id == row.id)))
    users = list(db.scalars(select(User.id).where(User.domain_id == row.id)))
    groups = list(db.scalars(select(Group.id).where(Group.domain_id == row.id)))
    roles = list(db.scalars(select(Role.id).where(Role.domain_id == row.id)))
    targets = [p.id for p in projects] + [row.id]
    actors = users + groups
    db.execute(
        delete(Assignment).where(
            or_(Assignment.target_id.in_(targets), Assignment.actor_id.in_(actors), Assignment.role_id.in_(roles))
        )
    )
    for project in projects:
        remove_project(db, project, revoke)
    for user_id in users:
        revoke(db, user_id=user_id)
    db.execute(delete(User).where(User.domain_id == row.id))
    db.execute(delete(Group).where(Group.domain_id == row.id))
    db.execute(delete(Role).where(Role.domain_id == row.id))
    revoke(db, domain_id=row.id)
    db.delete(row)


def list_domains(db: Session, filters: dict[str, Any]) -> list[Project]:
    q = select(Project).where(Project.is_domain.is_(True))
    if filters.get("name") is not None:
        q = q.where(Project.name == filters["name"])
    if filters.get("enabled") is not None:
        q = q.where(Project.enabled.is_(filters["enabled"]))
    return list(db.scalars(q.order_by(Project.name)))

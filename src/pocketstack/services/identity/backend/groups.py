"""Groups of users in a domain. A role granted to a group is held by its members; roles
are recomputed whenever a token is validated, so membership changes need no revocation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.faults import NotFound

from ..models import Assignment, Group, GroupMembership, User
from ..schemas.groups import GroupCreate, GroupUpdate
from .common import check_name_free, default_domain_id, get_domain, get_or_404, new_id, refuse_changes


def get_group(db: Session, group_id: str) -> Group:
    return get_or_404(db, Group, group_id, "group")


def _check_name_free(db: Session, domain_id: str, name: str, exclude: str | None = None) -> None:
    check_name_free(db, Group, domain_id, name, f"Conflict occurred attempting to store group - Duplicate entry found with name {name} at domain ID {domain_id}.", exclude)

def create_group(db: Session, ctx: RequestContext, body: GroupCreate) -> Group:
    domain = get_domain(db, body.domain_id or default_domain_id(ctx))
    name = body.name.strip()
    _check_name_free(db, domain.id, name)
    row = Group(
        id=new_id(),
        name=name,
        domain_id=domain.id,
        # Keystone stores "" when no description is given, but keeps an explicit null
        description=body.description if "description" in body.model_fields_set else "",
        extra=body.extras(),
    )
    db.add(row)
    db.flush()
    return row


def update_group(db: Session, row: Group, body: GroupUpdate) -> Group:
    fields = body.model_fields_set
    refuse_changes(body, row, "group", "domain_id")
    if body.name is not None:
        name = body.name.strip()
        if name != row.name:
            _check_name_free(db, row.domain_id, name, exclude=row.id)
            row.name = name
    if "description" in fields:
        row.description = body.description
    row.extra = {**(row.extra or {}), **body.extras()}
    return row


def delete_group(db: Session, row: Group) -> None:
    """The group, its grants and its memberships; members keep their own roles."""
    db.execute(delete(Assignment).where(Assignment.actor_id == row.id))
    db.execute(delete(GroupMembership).where(GroupMembership.group_id == row.id))
    db.delete(row)


def list_groups(db: Session, filters: dict[str, Any]) -> list[Group]:
    q = select(Group)
    for key in ("name", "domain_id"):
        if filters.get(key) is not None:
            q = q.where(getattr(Group, key) == filters[key])
    return list(db.scalars(q.order_by(Group.name, Group.id)))


def groups_of(db: Session, user_id: str, filters: dict[str, Any]) -> list[Group]:
    q = select(Group).join(GroupMembership, GroupMembership.group_id == Group.id).where(GroupMembership.user_id == user_id)
    if filters.get("name") is not None:
        q = q.where(Group.name == filters["name"])
    return list(db.scalars(q.order_by(Group.name, Group.id)))


# -- membership ---------------------------------------------------------------------------


def is_member(db: Session, group: Group, user: User) -> bool:
    return db.get(GroupMembership, (user.id, group.id)) is not None


def add_member(db: Session, group: Group, user: User) -> None:
    if not is_member(db, group, user):
        db.add(GroupMembership(user_id=user.id, group_id=group.id))


def require_member(db: Session, group: Group, user: User) -> None:
    if not is_member(db, group, user):
        raise NotFound(f"User {user.id} is not a member of group {group.id}.")


def remove_member(db: Session, group: Group, user: User) -> None:
    require_member(db, group, user)
    db.execute(delete(GroupMembership).where(GroupMembership.user_id == user.id, GroupMembership.group_id == group.id))

"""Which roles a user really holds on a project, a domain or the system.

The rules (Keystone's): a user holds a role on a project when it is granted
- to the user or to one of the user's groups on that project, or
- as an *inherited* grant on one of the project's ancestors (applies to the subtree
  below, not to the ancestor itself), or on the project's domain (applies to every
  project of the domain);
and then every role those roles imply, transitively. Domain-specific roles are never
put in a token themselves: only the global roles they imply are.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..models import GLOBAL_ROLE, SYSTEM_TARGET, Assignment, GroupMembership, ImpliedRole, Project, Role


def group_ids_of(db: Session, user_id: str) -> list[str]:
    return list(db.scalars(select(GroupMembership.group_id).where(GroupMembership.user_id == user_id)))


def project_ancestors(db: Session, project: Project) -> list[Project]:
    """Parents of a project, nearest first, up to (not including) its domain."""
    out: list[Project] = []
    seen = {project.id}
    parent_id = project.parent_id
    while parent_id and parent_id not in seen:
        parent = db.get(Project, parent_id)
        if parent is None or parent.is_domain:
            break
        out.append(parent)
        seen.add(parent.id)
        parent_id = parent.parent_id
    return out


def direct_role_ids(
    db: Session, user_id: str, *, project: Project | None = None, domain_id: str | None = None, system: bool = False
) -> set[str]:
    """Role ids granted (directly, via groups, or inherited) before implication."""
    actors = [user_id, *group_ids_of(db, user_id)]
    conditions = []
    if system:
        conditions.append(and_(Assignment.target_id == SYSTEM_TARGET, Assignment.type.in_(("UserSystem", "GroupSystem"))))
    elif domain_id is not None:
        conditions.append(
            and_(Assignment.target_id == domain_id, Assignment.type.in_(("UserDomain", "GroupDomain")), Assignment.inherited.is_(False))
        )
    elif project is not None:
        conditions.append(
            and_(Assignment.target_id == project.id, Assignment.type.in_(("UserProject", "GroupProject")), Assignment.inherited.is_(False))
        )
        ancestors = [p.id for p in project_ancestors(db, project)]
        if ancestors:
            conditions.append(
                and_(Assignment.target_id.in_(ancestors), Assignment.type.in_(("UserProject", "GroupProject")), Assignment.inherited.is_(True))
            )
        conditions.append(
            and_(Assignment.target_id == project.domain_id, Assignment.type.in_(("UserDomain", "GroupDomain")), Assignment.inherited.is_(True))
        )
    else:
        return set()
    rows = db.scalars(select(Assignment.role_id).where(Assignment.actor_id.in_(actors), or_(*conditions)))
    return set(rows)


def implied_closure(db: Session, role_ids: Iterable[str]) -> set[str]:
    """role_ids plus everything they imply, following chains."""
    result = set(role_ids)
    frontier = set(result)
    while frontier:
        implied = set(db.scalars(select(ImpliedRole.implied_role_id).where(ImpliedRole.prior_role_id.in_(frontier))))
        frontier = implied - result
        result |= implied
    return result


def effective_roles(
    db: Session, user_id: str, *, project: Project | None = None, domain_id: str | None = None, system: bool = False
) -> list[Role]:
    """Global roles (with implied ones) the user holds on the given target, by name."""
    ids = implied_closure(db, direct_role_ids(db, user_id, project=project, domain_id=domain_id, system=system))
    if not ids:
        return []
    roles = db.scalars(select(Role).where(Role.id.in_(ids), Role.domain_id == GLOBAL_ROLE))
    return sorted(roles, key=lambda r: r.name)


def roles_by_ids(db: Session, role_ids: Iterable[str]) -> list[Role]:
    ids = list(role_ids)
    if not ids:
        return []
    return sorted(db.scalars(select(Role).where(Role.id.in_(ids))), key=lambda r: r.name)

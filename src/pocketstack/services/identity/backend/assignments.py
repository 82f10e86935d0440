"""Grants (a role given to a user or group on a project, a domain or the system) and the
role assignment listing, with Keystone's rules.

Grants: granting twice is silent; a domain-specific role may be granted on a project
only of its own domain (403) and never on the system (400); a missing grant is a 404.

Listing (GET /v3/role_assignments) mirrors keystone.assignment.core.list_role_assignments:
- direct mode returns the stored grants that match the filters (system grants only when
  no project or domain is asked for);
- effective mode returns what actually reaches users: group grants become one entry per
  member, inherited grants land on the projects below their target, implied roles are
  added (remembering their prior role), and domain-specific roles are dropped, since
  they never appear in tokens. System grants are not part of it, as in Keystone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest, Forbidden, NotFound

from ..models import GLOBAL_ROLE, SYSTEM_TARGET, Assignment, Group, GroupMembership, Project, Role, User
from .common import get_domain, get_project
from .effective_roles import group_ids_of, project_ancestors
from .projects import subtree
from .roles import domain_of, implication_map

ACTOR_TYPES = {"user": "User", "group": "Group"}
TARGET_TYPES = {"project": "Project", "domain": "Domain", "system": "System"}
SYSTEM_TYPES = ("UserSystem", "GroupSystem")
PROJECT_TYPES = ("UserProject", "GroupProject")
DOMAIN_TYPES = ("UserDomain", "GroupDomain")


@dataclass(frozen=True)
class Grant:
    """Where a grant goes: an actor on a target, optionally inherited to projects below."""

    actor: str  # "user" | "group"
    actor_id: str
    target: str  # "project" | "domain" | "system"
    target_id: str = SYSTEM_TARGET
    inherited: bool = False

    @property
    def type(self) -> str:
        return ACTOR_TYPES[self.actor] + TARGET_TYPES[self.target]

    def key(self, role_id: str) -> tuple[str, str, str, str, bool]:
        return (self.type, self.actor_id, self.target_id, role_id, self.inherited)


# -- the entities of a grant ----------------------------------------------------------------


def actor_of(db: Session, grant: Grant, *, missing_ok: bool = False) -> User | Group | None:
    """The user or group of a grant; None only when missing_ok (revoking a grant of a
    deleted actor is allowed, as in Keystone)."""
    model: type[User] | type[Group] = User if grant.actor == "user" else Group
    row = db.get(model, grant.actor_id)
    if row is None and not missing_ok:
        raise NotFound(f"Could not find {grant.actor}: {grant.actor_id}.")
    return row


def target_of(db: Session, grant: Grant) -> Project | None:
    """The project or domain of a grant (None for the system)."""
    if grant.target == "project":
        return get_project(db, grant.target_id)
    if grant.target == "domain":
        return get_domain(db, grant.target_id)
    return None


def _check_role_fits(role: Role, grant: Grant, target: Project | None) -> None:
    role_domain = domain_of(role)
    if role_domain is None:
        return
    if grant.target == "system":
        raise BadRequest(
            f"Role {role.id} is a domain-specific role. Unable to use a domain-specific role in a system assignment."
        )
    if grant.target == "project" and target is not None and target.domain_id != role_domain:
        raise Forbidden(f"Project {target.id} must be in the same domain as the role {role.id} being assigned.")


# -- grant operations -------------------------------------------------------------------------


def create_grant(db: Session, grant: Grant, role: Role, target: Project | None) -> None:
    _check_role_fits(role, grant, target)
    if db.get(Assignment, grant.key(role.id)) is None:
        db.add(Assignment(type=grant.type, actor_id=grant.actor_id, target_id=grant.target_id, role_id=role.id, inherited=grant.inherited))
        db.flush()


def check_grant(db: Session, grant: Grant, role_id: str) -> Assignment:
    row = db.get(Assignment, grant.key(role_id))
    if row is None:
        raise NotFound(
            f"Could not find role assignment with role: {role_id}, user or group: {grant.actor_id}, "
            f"project, domain, or system: {grant.target_id}."
        )
    return row


def revoke_grant(db: Session, grant: Grant, role_id: str) -> None:
    db.delete(check_grant(db, grant, role_id))


def granted_roles(db: Session, grant: Grant) -> list[Role]:
    query = (
        select(Role)
        .join(Assignment, Assignment.role_id == Role.id)
        .where(
            Assignment.type == grant.type,
            Assignment.actor_id == grant.actor_id,
            Assignment.target_id == grant.target_id,
            Assignment.inherited.is_(grant.inherited),
        )
    )
    return list(db.scalars(query.order_by(Role.name)))


# -- listing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentQuery:
    role_id: str | None = None
    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool | None = None  # None: both
    effective: bool = False
    include_subtree: bool = False


@dataclass(frozen=True)
class Ref:
    """One listed assignment; the via_* fields tell how an effective one was reached."""

    role_id: str
    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool = False
    via_group: str | None = None  # the user holds it as a member of this group
    via_project: str | None = None  # inherited from a grant on this (ancestor) project
    via_domain: str | None = None  # inherited from a grant on this domain
    prior_role_id: str | None = None  # implied by this role

    @classmethod
    def of(cls, row: Assignment) -> Ref:
        actor = {"user_id": row.actor_id} if row.type.startswith("User") else {"group_id": row.actor_id}
        if row.type.endswith("Project"):
            target: dict[str, Any] = {"project_id": row.target_id}
        elif row.type.endswith("Domain"):
            target = {"domain_id": row.target_id}
        else:
            target = {"system": True}
        return cls(role_id=row.role_id, inherited=row.inherited, **actor, **target)


def list_assignments(db: Session, query: AssignmentQuery) -> list[Ref]:
    below = [p.id for p in subtree(db, query.project_id)] if query.project_id and query.include_subtree else []
    if query.effective:
        return _effective(db, query, below)
    return _direct(db, query, below)


def _actor_condition(query: AssignmentQuery) -> Any:
    if query.user_id:
        return and_(Assignment.actor_id == query.user_id, Assignment.type.in_(("UserProject", "UserDomain", "UserSystem")))
    if query.group_id:
        return and_(Assignment.actor_id == query.group_id, Assignment.type.in_(("GroupProject", "GroupDomain", "GroupSystem")))
    return None


def _direct(db: Session, query: AssignmentQuery, below: list[str]) -> list[Ref]:
    conditions = []
    if query.role_id:
        conditions.append(Assignment.role_id == query.role_id)
    actor = _actor_condition(query)
    if actor is not None:
        conditions.append(actor)
    if query.system:
        conditions.append(Assignment.type.in_(SYSTEM_TYPES))
    elif query.project_id:
        conditions.append(and_(Assignment.target_id.in_([query.project_id, *below]), Assignment.type.in_(PROJECT_TYPES)))
    elif query.domain_id:
        conditions.append(and_(Assignment.target_id == query.domain_id, Assignment.type.in_(DOMAIN_TYPES)))
    if query.inherited is not None:
        # Keystone lists system grants whatever the inheritance filter says
        conditions.append(or_(Assignment.inherited.is_(query.inherited), Assignment.type.in_(SYSTEM_TYPES)))
    rows = db.scalars(select(Assignment).where(*conditions).order_by(Assignment.type, Assignment.target_id, Assignment.role_id))
    return [Ref.of(row) for row in rows]


def _effective(db: Session, query: AssignmentQuery, below: list[str]) -> list[Ref]:
    if query.group_id or (query.domain_id and query.inherited):
        return []  # no group and no domain-inherited entry survives expansion
    inherited = False if query.domain_id else query.inherited
    actors = [query.user_id, *group_ids_of(db, query.user_id)] if query.user_id else None
    rows = _effective_sources(db, query, actors, inherited, below)
    expander = _Expander(db, query, below)
    refs = [ref for row in rows for ref in expander.expand(Ref.of(row))]
    refs = add_implied_roles(refs, implication_map(db))
    refs = _global_roles_only(db, refs)
    if query.role_id:
        refs = [r for r in refs if r.role_id == query.role_id]
    return refs


def _effective_sources(
    db: Session, query: AssignmentQuery, actors: list[str] | None, inherited: bool | None, below: list[str]
) -> list[Assignment]:
    """The stored grants that may contribute to the effective list: the targets asked for,
    and the inherited grants above them."""
    base = select(Assignment).where(Assignment.type.not_in(SYSTEM_TYPES))
    if actors is not None:
        base = base.where(Assignment.actor_id.in_(actors))
    rows: list[Assignment] = []
    if inherited is not True:
        direct = base.where(Assignment.inherited.is_(False))
        if query.project_id:
            direct = direct.where(Assignment.target_id.in_([query.project_id, *below]), Assignment.type.in_(PROJECT_TYPES))
        elif query.domain_id:
            direct = direct.where(Assignment.target_id == query.domain_id, Assignment.type.in_(DOMAIN_TYPES))
        rows += db.scalars(direct)
    if inherited is not False:
        rows += db.scalars(base.where(Assignment.inherited.is_(True), _inherited_sources(db, query, below)))
    return rows


def _inherited_sources(db: Session, query: AssignmentQuery, below: list[str]) -> Any:
    if not query.project_id:
        return true()
    project = get_project(db, query.project_id)
    sources = [p.id for p in project_ancestors(db, project)]
    if below:
        sources += [project.id, *below]
    return or_(
        and_(Assignment.target_id == project.domain_id, Assignment.type.in_(DOMAIN_TYPES)),
        and_(Assignment.target_id.in_(sources), Assignment.type.in_(PROJECT_TYPES)),
    )


class _Expander:
    """Turns a stored grant into the assignments it gives users (Keystone's
    _expand_indirect_assignment), caching group members and project trees."""

    def __init__(self, db: Session, query: AssignmentQuery, below: list[str]) -> None:
        self.db = db
        self.query = query
        self.below = below
        self._members: dict[str, list[str]] = {}

    def expand(self, ref: Ref) -> list[Ref]:
        if ref.inherited:
            return [self._onto(r, pid) for r in self._users_of(ref) for pid in self._projects_reached(ref)]
        return self._users_of(ref)

    def _users_of(self, ref: Ref) -> list[Ref]:
        if ref.group_id is None:
            return [ref]
        users = [self.query.user_id] if self.query.user_id else self._members_of(ref.group_id)
        return [dataclasses.replace(ref, user_id=u, group_id=None, via_group=ref.group_id) for u in users]

    def _members_of(self, group_id: str) -> list[str]:
        if group_id not in self._members:
            query = select(GroupMembership.user_id).where(GroupMembership.group_id == group_id)
            self._members[group_id] = list(self.db.scalars(query))
        return self._members[group_id]

    def _projects_reached(self, ref: Ref) -> list[str]:
        """The projects an inherited grant lands on, among those asked about."""
        if self.query.project_id:
            asked = [self.query.project_id, *self.below]
            if self.below and ref.project_id in asked:
                # granted inside the asked tree: only its own subtree inherits it
                return [p.id for p in subtree(self.db, ref.project_id)]
            return asked
        if ref.domain_id:
            return sorted(projects_in_domain(self.db, ref.domain_id))
        return [p.id for p in subtree(self.db, ref.project_id or "")]

    @staticmethod
    def _onto(ref: Ref, project_id: str) -> Ref:
        origin = {"via_project": ref.project_id} if ref.project_id else {"via_domain": ref.domain_id}
        return dataclasses.replace(ref, project_id=project_id, domain_id=None, inherited=False, **origin)


def projects_in_domain(db: Session, domain_id: str) -> set[str]:
    query = select(Project.id).where(Project.domain_id == domain_id, Project.is_domain.is_(False))
    return set(db.scalars(query))


def add_implied_roles(refs: list[Ref], implies: dict[str, list[str]]) -> list[Ref]:
    """Each assignment plus one per role it implies, transitively; each implied entry
    remembers the role that implied it. Cycles end the walk (Keystone allows them)."""
    results = list(refs)
    pending = list(refs)
    seen: set[Ref] = set()
    while pending:
        ref = pending.pop()
        seen.add(ref)
        for implied_id in implies.get(ref.role_id, ()):
            implied = dataclasses.replace(ref, role_id=implied_id, prior_role_id=ref.role_id)
            if implied not in seen:
                results.append(implied)
                pending.append(implied)
    return results


def _global_roles_only(db: Session, refs: list[Ref]) -> list[Ref]:
    role_ids = {r.role_id for r in refs}
    if not role_ids:
        return refs
    domain_roles = set(db.scalars(select(Role.id).where(Role.id.in_(role_ids), Role.domain_id != GLOBAL_ROLE)))
    return [r for r in refs if r.role_id not in domain_roles]


# -- names for include_names ---------------------------------------------------------------------


@dataclass
class Names:
    """(name, domain id) of every entity the listed assignments mention; a deleted
    user or group reads as empty strings, as in Keystone."""

    roles: dict[str, tuple[str, str | None]]
    users: dict[str, tuple[str, str]]
    groups: dict[str, tuple[str, str]]
    projects: dict[str, tuple[str, str]]
    domains: dict[str, str]

    def domain_name(self, domain_id: str) -> str:
        return self.domains.get(domain_id, "")


def names_of(db: Session, refs: Iterable[Ref]) -> Names:
    refs = list(refs)
    role_ids = {r.role_id for r in refs}
    user_ids = {r.user_id for r in refs if r.user_id}
    group_ids = {r.group_id for r in refs if r.group_id}
    project_ids = {r.project_id for r in refs if r.project_id}
    roles = {r.id: (r.name, domain_of(r)) for r in _rows(db, Role, role_ids)}
    users = {u.id: (u.name, u.domain_id) for u in _rows(db, User, user_ids)}
    groups = {g.id: (g.name, g.domain_id) for g in _rows(db, Group, group_ids)}
    projects = {p.id: (p.name, p.domain_id) for p in _rows(db, Project, project_ids)}
    domain_ids = {r.domain_id for r in refs if r.domain_id}
    domain_ids |= {d for _, d in [*users.values(), *groups.values(), *projects.values()]}
    domain_ids |= {d for _, d in roles.values() if d}
    domains = {d.id: d.name for d in _rows(db, Project, domain_ids)}
    return Names(roles, users, groups, projects, domains)


def _rows(db: Session, model: Any, ids: set[str]) -> list[Any]:
    return list(db.scalars(select(model).where(model.id.in_(ids)))) if ids else []

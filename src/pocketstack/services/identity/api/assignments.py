"""Grants and role assignments:

    /v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]
    /v3/OS-INHERIT/domains/{id}/{users|groups}/{id}/roles[/{role_id}]/inherited_to_projects
    /v3/OS-INHERIT/projects/{id}/{users|groups}/{id}/roles/{role_id}/inherited_to_projects
    /v3/system/{users|groups}/{id}/roles[/{role_id}]
    /v3/role_assignments

Every grant path offers PUT (grant), GET/HEAD (check, 204), DELETE (revoke) on a role and
GET on the list, with Keystone's policy rules (identity:create_grant, ...; the system ones
identity:create_system_grant_for_user, ...). As Keystone, the role, actor and target are
looked up before the policy check (404 first); revoking a grant of a deleted actor works.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, keystone_fault

from ..backend import assignments as backend
from ..backend.common import get_project
from ..backend.roles import domain_of, get_role
from ..models import Group, Project, Role, User
from ..views import roles as views
from ..views.common import collection

api = ApiRouter(keystone_fault)

PLURAL = {"user": "users", "group": "groups", "project": "projects", "domain": "domains"}


@dataclass(frozen=True)
class GrantPaths:
    """One family of grant URLs: an actor kind on a target kind."""

    actor: str  # "user" | "group"
    target: str  # "project" | "domain" | "system"
    inherited: bool = False
    listable: bool = True  # Keystone has no list of project-inherited grants

    @property
    def roles_path(self) -> str:
        actor = f"/{PLURAL[self.actor]}/{{{self.actor}_id}}/roles"
        if self.target == "system":
            return "/v3/system" + actor
        target = f"/{PLURAL[self.target]}/{{{self.target}_id}}"
        return ("/v3/OS-INHERIT" if self.inherited else "/v3") + target + actor

    @property
    def suffix(self) -> str:
        return "/inherited_to_projects" if self.inherited else ""

    def rule(self, verb: str) -> str:
        """verb: list, check, create or revoke."""
        if self.target == "system":
            grants = "grants" if verb == "list" else "grant"
            return f"identity:{verb}_system_{grants}_for_{self.actor}"
        return f"identity:{verb}_grants" if verb == "list" else f"identity:{verb}_grant"

    def grant(self, call: Call) -> backend.Grant:
        target_id = call.params[f"{self.target}_id"] if self.target != "system" else backend.SYSTEM_TARGET
        return backend.Grant(self.actor, call.params[f"{self.actor}_id"], self.target, target_id, self.inherited)


FAMILIES = [
    *(GrantPaths(actor, target) for actor in ("user", "group") for target in ("project", "domain", "system")),
    *(GrantPaths(actor, "domain", inherited=True) for actor in ("user", "group")),
    *(GrantPaths(actor, "project", inherited=True, listable=False) for actor in ("user", "group")),
]


def policy_target(role: Role | None, actor: User | Group | None, grant: backend.Grant, target: Project | None) -> dict[str, Any]:
    """What grant rules may inspect: target.role, target.user|group, target.project|domain,
    and target.domain_id (the domain the grant lands in)."""
    out: dict[str, Any] = {}
    if role is not None:
        out["role"] = {"id": role.id, "name": role.name, "domain_id": domain_of(role)}
    if actor is not None:
        out[grant.actor] = {"id": actor.id, "domain_id": actor.domain_id}
    if target is not None:
        out[grant.target] = {"id": target.id, "domain_id": target.domain_id}
        out["domain_id"] = target.id if target.is_domain else target.domain_id
    return out


@dataclass
class Resolved:
    grant: backend.Grant
    role: Role
    target: Project | None


def _resolve(call: Call, family: GrantPaths, verb: str) -> Resolved:
    """Role, actor and target of the path (404s), then the policy check."""
    grant = family.grant(call)
    role = get_role(call.db, call.params["role_id"])
    actor = backend.actor_of(call.db, grant, missing_ok=verb == "revoke")
    target = backend.target_of(call.db, grant)
    call.authorize(family.rule(verb), policy_target(role, actor, grant, target))
    return Resolved(grant, role, target)


def _grant_handlers(family: GrantPaths) -> dict[str, Callable[[Call], Any]]:
    def put(call: Call) -> None:
        found = _resolve(call, family, "create")
        backend.create_grant(call.db, found.grant, found.role, found.target)

    def check(call: Call) -> None:
        found = _resolve(call, family, "check")
        backend.check_grant(call.db, found.grant, found.role.id)

    def revoke(call: Call) -> None:
        found = _resolve(call, family, "revoke")
        backend.revoke_grant(call.db, found.grant, found.role.id)

    def list_roles(call: Call) -> dict[str, Any]:
        grant = family.grant(call)
        actor = backend.actor_of(call.db, grant)
        target = backend.target_of(call.db, grant)
        call.authorize(family.rule("list"), policy_target(None, actor, grant, target))
        return collection(call, "roles", [views.role(call, r) for r in backend.granted_roles(call.db, grant)])

    return {"PUT": put, "GET": check, "DELETE": revoke, "LIST": list_roles}


def _register(family: GrantPaths) -> None:
    handlers = _grant_handlers(family)
    member = family.roles_path + "/{role_id}" + family.suffix
    for method in ("PUT", "GET", "DELETE"):
        api.route(method, member)(handlers[method])
    if family.listable:
        api.route("GET", family.roles_path + family.suffix)(handlers["LIST"])


for _family in FAMILIES:
    _register(_family)


# -- /v3/role_assignments --------------------------------------------------------------------


def _assignment_query(call: Call, include_subtree: bool) -> backend.AssignmentQuery:
    """The filters, refused (400) where Keystone refuses their combination."""
    q = call.query
    pairs = [
        ("scope.domain.id", "scope.project.id", "Specify a domain or project, not both"),
        ("scope.domain.id", "scope.system", "Specify system or domain, not both"),
        ("scope.project.id", "scope.system", "Specify system or project, not both"),
        ("user.id", "group.id", "Specify a user or group, not both"),
    ]
    for first, second, message in pairs:
        if q.get(first) and q.get(second):
            raise BadRequest(message)
    inherited = q["scope.OS-INHERIT:inherited_to"] == "projects" if "scope.OS-INHERIT:inherited_to" in q else None
    effective = call.query_flag("effective")
    if effective and q.get("group.id"):
        raise BadRequest("Combining effective and group filter will always result in an empty list.")
    if effective and inherited and q.get("scope.domain.id"):
        raise BadRequest("Combining effective, domain and inherited filters will always result in an empty list.")
    return backend.AssignmentQuery(
        role_id=q.get("role.id") or None,
        user_id=q.get("user.id") or None,
        group_id=q.get("group.id") or None,
        project_id=q.get("scope.project.id") or None,
        domain_id=q.get("scope.domain.id") or None,
        system=q.get("scope.system") == "all",
        inherited=inherited,
        effective=effective,
        include_subtree=include_subtree,
    )


def _authorize_listing(call: Call, include_subtree: bool) -> None:
    if include_subtree:
        project_id = call.query.get("scope.project.id")
        if not project_id:
            raise BadRequest("'scope.project.id' is a dependency of 'include_subtree'")
        project = get_project(call.db, project_id)
        target = {"project": {"id": project.id, "domain_id": project.domain_id}, "domain_id": project.domain_id}
        call.authorize("identity:list_role_assignments_for_tree", target)
    else:
        # a domain-scoped caller is checked (and its answer filtered) against its domain
        target = {"domain_id": call.ctx.domain_id} if call.ctx.domain_id else {}
        call.authorize("identity:list_role_assignments", target)


def _visible(call: Call, refs: list[backend.Ref]) -> list[backend.Ref]:
    """What the caller may see of the list: everything for admins and system readers; a
    domain-scoped caller sees its domain (as Keystone); anyone else only their own
    assignments and those on their project."""
    ctx = call.ctx
    if ctx.domain_id:
        in_domain = backend.projects_in_domain(call.db, ctx.domain_id)
        return [r for r in refs if r.domain_id == ctx.domain_id or (r.project_id is not None and r.project_id in in_domain)]
    if call.allowed("admin_required") or call.allowed("system_reader"):
        return refs
    return [r for r in refs if r.user_id == ctx.user_id or (ctx.project_id is not None and r.project_id == ctx.project_id)]


@api.route("GET", "/v3/role_assignments")
def list_role_assignments(call: Call) -> dict[str, Any]:
    include_subtree = call.query_flag("include_subtree")
    _authorize_listing(call, include_subtree)
    refs = _visible(call, backend.list_assignments(call.db, _assignment_query(call, include_subtree)))
    names = backend.names_of(call.db, refs) if call.query_flag("include_names") else None
    return collection(call, "role_assignments", [views.assignment(call, r, names) for r in refs])

"""Roles and implied roles (role inference rules), with Keystone's rules:

- role names are unique among global roles and within each domain;
- a role with options.immutable true can be neither changed nor deleted, except by an
  update that only turns the option off;
- a global role cannot imply a domain-specific role, and "admin" is never implied
  (Keystone's [assignment] prohibited_implied_role); a domain-specific role may imply
  roles of any domain. Cycles are allowed, as in Keystone: expansion stops at them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest, Conflict, Forbidden, NotFound

from ..models import GLOBAL_ROLE, ApplicationCredentialRole, Assignment, ImpliedRole, Role, TrustRole
from ..schemas.roles import RoleCreate, RoleUpdate
from . import application_credentials
from .common import check_name_free, get_domain, get_or_404, new_id

PROHIBITED_IMPLIED_ROLES = ("admin",)


def domain_of(role: Role) -> str | None:
    """The role's domain id, None for a global role (the API's spelling)."""
    return None if role.domain_id == GLOBAL_ROLE else role.domain_id


def get_role(db: Session, role_id: str) -> Role:
    return get_or_404(db, Role, role_id, "role")


def list_roles(db: Session, name: str | None, domain_id: str | None) -> list[Role]:
    """Global roles unless a domain is asked for (Keystone lists no domain roles by default)."""
    query = select(Role).where(Role.domain_id == (domain_id or GLOBAL_ROLE))
    if name is not None:
        query = query.where(Role.name == name)
    return list(db.scalars(query.order_by(Role.name)))


def _check_name_free(db: Session, name: str, domain_id: str, exclude: str | None = None) -> None:
    check_name_free(db, Role, domain_id, name, f"Conflict occurred attempting to store role - Duplicate entry found with name {name}.", exclude)

def create_role(db: Session, body: RoleCreate) -> Role:
    domain_id = get_domain(db, body.domain_id).id if body.domain_id else GLOBAL_ROLE
    _check_name_free(db, body.name, domain_id)
    row = Role(
        id=new_id(),
        name=body.name,
        domain_id=domain_id,
        description=body.description,
        options=_merged_options({}, body.options.as_dict()),
        extra=body.extras(),
    )
    db.add(row)
    db.flush()
    return row


def _merged_options(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Options after an update: a null value unsets the option."""
    merged = {**current, **changes}
    return {k: v for k, v in merged.items() if v is not None}


def is_immutable(role: Role) -> bool:
    return bool((role.options or {}).get("immutable"))


def _check_mutable_update(row: Role, body: RoleUpdate) -> None:
    """An immutable role accepts one update only: turning immutability off (alone)."""
    if not is_immutable(row):
        return
    options = body.options.as_dict() if body.options is not None else {}
    changed = set(body.model_fields_set) | set(body.extras())
    only_unsetting = changed == {"options"} and "immutable" in options and not options["immutable"]
    if not only_unsetting:
        raise Forbidden(
            f'Unable to update immutable role resource: `{row.id}. Set resource option "immutable" to false first.'
        )


def update_role(db: Session, row: Role, body: RoleUpdate) -> Role:
    fields = body.model_fields_set
    if not fields and not body.model_extra:
        raise BadRequest("Invalid input for field 'role': at least one attribute is required.")
    _check_mutable_update(row, body)
    if "domain_id" in fields and body.domain_id != domain_of(row):
        raise BadRequest("Update of `domain_id` is not allowed.")
    if body.changes_id(row.id):
        raise BadRequest("Cannot change ID")
    if "name" in fields:
        if body.name is None:
            raise BadRequest("Invalid input for field 'role.name': None is not of type 'string'.")
        _check_name_free(db, body.name, row.domain_id, exclude=row.id)
        row.name = body.name
    if "description" in fields:
        row.description = body.description
    if body.options is not None:
        row.options = _merged_options(row.options or {}, body.options.as_dict())
    if body.extras():
        row.extra = {**(row.extra or {}), **body.extras()}
    return row


def delete_role(db: Session, row: Role) -> None:
    """The role and everything that refers to it: grants, inference rules, and the role in
    trusts and application credentials. As Keystone, the application credentials of users
    granted this role on a project are deleted (they were made from that grant)."""
    if is_immutable(row):
        raise Forbidden(
            f'Unable to delete immutable role resource: `{row.id}. Set resource option "immutable" to false first.'
        )
    holders = db.execute(
        select(Assignment.actor_id, Assignment.target_id).where(Assignment.role_id == row.id, Assignment.type == "UserProject")
    ).all()
    for user_id, project_id in set(holders):
        application_credentials.delete_for_user_on_project(db, user_id, project_id)
    db.execute(delete(Assignment).where(Assignment.role_id == row.id))
    db.execute(delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id == row.id, ImpliedRole.implied_role_id == row.id)))
    db.execute(delete(TrustRole).where(TrustRole.role_id == row.id))
    db.execute(delete(ApplicationCredentialRole).where(ApplicationCredentialRole.role_id == row.id))
    db.delete(row)


# -- implied roles ------------------------------------------------------------------------


def get_implied_role(db: Session, prior: Role, implied: Role) -> ImpliedRole:
    row = db.get(ImpliedRole, (prior.id, implied.id))
    if row is None:
        raise NotFound(f"{prior.id} does not imply {implied.id}.")
    return row


def create_implied_role(db: Session, prior: Role, implied: Role) -> None:
    global_implies_domain_role = domain_of(prior) is None and domain_of(implied) is not None
    if implied.name in PROHIBITED_IMPLIED_ROLES or global_implies_domain_role:
        raise Forbidden(f"{implied.id} cannot be an implied roles.")  # Keystone's wording
    if db.get(ImpliedRole, (prior.id, implied.id)) is not None:
        raise Conflict("Conflict occurred attempting to store implied_role - Duplicate entry.")
    db.add(ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))
    db.flush()


def delete_implied_role(db: Session, prior: Role, implied: Role) -> None:
    db.delete(get_implied_role(db, prior, implied))


def implied_by(db: Session, prior: Role) -> list[Role]:
    """The roles a role directly implies."""
    query = select(Role).join(ImpliedRole, ImpliedRole.implied_role_id == Role.id).where(ImpliedRole.prior_role_id == prior.id)
    return list(db.scalars(query.order_by(Role.name)))


def inference_rules(db: Session) -> list[tuple[Role, list[Role]]]:
    """Every prior role with the roles it directly implies."""
    roles = {r.id: r for r in db.scalars(select(Role))}
    rules: dict[str, list[Role]] = {}
    for link in db.scalars(select(ImpliedRole)):
        if link.prior_role_id in roles and link.implied_role_id in roles:
            rules.setdefault(link.prior_role_id, []).append(roles[link.implied_role_id])
    return [(roles[prior_id], implied) for prior_id, implied in rules.items()]


def implication_map(db: Session) -> dict[str, list[str]]:
    """prior role id -> the role ids it directly implies (for expanding assignments)."""
    out: dict[str, list[str]] = {}
    for link in db.scalars(select(ImpliedRole)):
        out.setdefault(link.prior_role_id, []).append(link.implied_role_id)
    return out

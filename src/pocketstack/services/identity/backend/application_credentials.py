"""Application credentials and their access rules (Keystone's application_credential).

A credential is made by its own user from a project-scoped token and carries a subset
of the roles that token has (implied roles included, as Keystone stores them); a token
made from it has those roles at most. Only the secret's hash is stored. Access rules
belong to the user, are shared by every credential that names them, and may only be
deleted once no credential uses them.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pocketstack.config import IdentitySettings
from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Conflict, Forbidden, NotFound

from ..models import AccessRule, ApplicationCredential, ApplicationCredentialAccessRule, ApplicationCredentialRole, Role
from ..schemas.credentials import AccessRuleRef, ApplicationCredentialCreate, RoleRef
from .common import new_id, parse_expiry
from .effective_roles import implied_closure, roles_by_ids
from .passwords import hash_secret


def check_unrestricted(db: Session, ctx: RequestContext, what: str) -> None:
    """A token from a restricted application credential may not make or remove
    credentials or trusts: that would let it outlive or widen its own limits."""
    if ctx.application_credential_id is None:
        return
    cred = db.get(ApplicationCredential, ctx.application_credential_id)
    if cred is None or not cred.unrestricted:
        raise Forbidden(f"Using method 'application_credential' is not allowed for managing {what}.")


def forbid_trust_token(ctx: RequestContext) -> None:
    """A trust-scoped token may not manage application credentials: one made from it would
    outlive the trust and lose the delegation chain."""
    if ctx.trust_id:
        raise Forbidden("Cannot manage application credentials with a token issued via delegation.")


def generate_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()


def role_id_of(db: Session, ref: RoleRef) -> str:
    """A role reference as an id: ids are taken as given (a role the caller does not hold
    is refused later); a name must name exactly one role (Keystone's get_unique_role_by_name)."""
    if ref.id is not None:
        return ref.id
    found = list(db.scalars(select(Role.id).where(Role.name == ref.name)))
    if not found:
        raise NotFound(f"Could not find role: {ref.name}.")
    if len(found) > 1:
        raise Conflict(f"More than one role is named {ref.name}; refer to it by id.")
    return found[0]


def _granted_roles(db: Session, ctx: RequestContext, refs: list[RoleRef] | None) -> set[str]:
    """Role ids for the new credential: those asked for and all they imply, each of which
    the caller's token must carry; none asked for means all of the token's roles."""
    if not refs:
        return set(ctx.role_ids)
    wanted = implied_closure(db, (role_id_of(db, ref) for ref in refs))
    missing = wanted - set(ctx.role_ids)
    if missing:
        raise BadRequest(
            "Invalid application credential: Cannot create an application credential with unassigned role "
            f"({', '.join(sorted(missing))})."
        )
    return wanted


def create(
    db: Session, ctx: RequestContext, user_id: str, body: ApplicationCredentialCreate, settings: IdentitySettings
) -> tuple[ApplicationCredential, str]:
    """The new credential and its secret in clear (returned once, never stored)."""
    if ctx.user_id != user_id:
        raise Forbidden("Cannot create an application credential for another user.")
    if not ctx.project_id:
        raise BadRequest("Invalid application credential: it can only be created with a project-scoped token.")
    same_name = select(ApplicationCredential.id).where(ApplicationCredential.user_id == user_id, ApplicationCredential.name == body.name)
    if db.scalars(same_name).first():
        raise Conflict(f"Conflict occurred attempting to store application_credential - Duplicate name, {body.name}.")
    expires_at = parse_expiry(body.expires_at) if body.expires_at else None
    role_ids = _granted_roles(db, ctx, body.roles)
    secret = body.secret or generate_secret()
    row = ApplicationCredential(
        id=new_id(),
        name=body.name,
        description=body.description,
        secret_hash=hash_secret(secret, settings.password_hash_rounds),
        user_id=user_id,
        project_id=ctx.project_id,
        system=None,
        expires_at=expires_at,
        unrestricted=bool(body.unrestricted),
    )
    db.add(row)
    db.flush()
    for role_id in sorted(role_ids):
        db.add(ApplicationCredentialRole(application_credential_id=row.id, role_id=role_id))
    for rule in _resolve_access_rules(db, user_id, body.access_rules or []):
        db.add(ApplicationCredentialAccessRule(application_credential_id=row.id, access_rule_id=rule.id))
    db.flush()
    return row, secret


def _resolve_access_rules(db: Session, user_id: str, refs: Iterable[AccessRuleRef]) -> list[AccessRule]:
    """Each reference as a rule of this user: an existing one by id, the same
    (service, path, method) reused, or a new one."""
    rules: dict[str, AccessRule] = {}
    for ref in refs:
        rule = db.get(AccessRule, ref.id) if ref.id else None
        if rule is not None and rule.user_id != user_id:
            rule = None
        if rule is None and ref.service is not None:
            rule = _rule_like(db, user_id, ref) or _new_rule(db, user_id, ref)
        if rule is None:
            raise NotFound(f"Could not find access rule: {ref.id}.")
        rules[rule.id] = rule
    return list(rules.values())


def _rule_like(db: Session, user_id: str, ref: AccessRuleRef) -> AccessRule | None:
    same = select(AccessRule).where(
        AccessRule.user_id == user_id, AccessRule.service == ref.service, AccessRule.path == ref.path, AccessRule.method == ref.method
    )
    return db.scalars(same).first()


def _new_rule(db: Session, user_id: str, ref: AccessRuleRef) -> AccessRule:
    """Keystone keeps a client-chosen id for a new rule; ours must also be free."""
    rule_id = ref.id if ref.id and db.get(AccessRule, ref.id) is None else new_id()
    rule = AccessRule(id=rule_id, user_id=user_id, service=ref.service, path=ref.path, method=ref.method)
    db.add(rule)
    db.flush()
    return rule


# -- reading ---------------------------------------------------------------------------------


def get(db: Session, user_id: str, cred_id: str) -> ApplicationCredential:
    row = db.get(ApplicationCredential, cred_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"Could not find application credential: {cred_id}.")
    return row


def list_for_user(db: Session, user_id: str, name: str | None = None) -> list[ApplicationCredential]:
    q = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)
    if name is not None:
        q = q.where(ApplicationCredential.name == name)
    return list(db.scalars(q.order_by(ApplicationCredential.created_at, ApplicationCredential.id)))


def roles_of(db: Session, cred_id: str) -> list[Role]:
    ids = db.scalars(select(ApplicationCredentialRole.role_id).where(ApplicationCredentialRole.application_credential_id == cred_id))
    return roles_by_ids(db, ids)


def access_rules_of(db: Session, cred_id: str) -> list[AccessRule]:
    return list(
        db.scalars(
            select(AccessRule)
            .join(ApplicationCredentialAccessRule, ApplicationCredentialAccessRule.access_rule_id == AccessRule.id)
            .where(ApplicationCredentialAccessRule.application_credential_id == cred_id)
            .order_by(AccessRule.service, AccessRule.path, AccessRule.method)
        )
    )


# -- removing --------------------------------------------------------------------------------


def delete_credential(db: Session, row: ApplicationCredential) -> None:
    db.execute(delete(ApplicationCredentialRole).where(ApplicationCredentialRole.application_credential_id == row.id))
    db.execute(delete(ApplicationCredentialAccessRule).where(ApplicationCredentialAccessRule.application_credential_id == row.id))
    db.delete(row)


def delete_for_user_on_project(db: Session, user_id: str, project_id: str) -> list[str]:
    """For whoever removes a user's last role on a project (Keystone drops the user's
    credentials there); returns the ids, so their tokens can be revoked."""
    query = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id, ApplicationCredential.project_id == project_id)
    rows = list(db.scalars(query))
    for row in rows:
        delete_credential(db, row)
    return [r.id for r in rows]


# -- access rules ------------------------------------------------------------------------------


def list_access_rules(db: Session, user_id: str, filters: dict[str, str | None]) -> list[AccessRule]:
    q = select(AccessRule).where(AccessRule.user_id == user_id)
    for key in ("service", "path", "method"):
        if filters.get(key) is not None:
            q = q.where(getattr(AccessRule, key) == filters[key])
    return list(db.scalars(q.order_by(AccessRule.service, AccessRule.path, AccessRule.method)))


def get_access_rule(db: Session, user_id: str, rule_id: str) -> AccessRule:
    row = db.get(AccessRule, rule_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"Could not find access rule: {rule_id}.")
    return row


def delete_access_rule(db: Session, row: AccessRule) -> None:
    users = select(ApplicationCredentialAccessRule.application_credential_id).where(ApplicationCredentialAccessRule.access_rule_id == row.id)
    if db.scalars(users).first():
        raise Forbidden("May not delete access rule in use.")
    db.delete(row)

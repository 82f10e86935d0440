"""OS-TRUST trusts: a trustor lends some of its roles on a project to a trustee.

Keystone's rules: only the trustor makes a trust, and only with roles it holds on the
project; a trust may expire and may be good for a number of tokens only. A trustee of
a redelegatable trust may pass it on (from a trust-scoped token), never widening it:
the same or fewer roles, no later expiry, no impersonation the parent lacks, and one
level less of redelegation left. Deleting a trust deletes what was redelegated from it
and revokes every token made with them. Trusts are soft-deleted (deleted_at), as in
Keystone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Forbidden, NotFound

from ..models import Project, Role, Trust, TrustRole, User
from ..schemas.credentials import TrustCreate
from .application_credentials import role_id_of
from .common import get_or_404, new_id, parse_expiry
from .effective_roles import direct_role_ids, implied_closure, roles_by_ids

MAX_REDELEGATION_COUNT = 3  # Keystone's [trust] max_redelegation_count default


def _not_found(trust_id: str) -> NotFound:
    return NotFound(f"Could not find trust: {trust_id}.")


def usable(trust: Trust | None) -> bool:
    """Not deleted, not expired, not used up."""
    if trust is None or trust.deleted_at is not None:
        return False
    if trust.expires_at is not None and trust.expires_at <= utcnow():
        return False
    return trust.remaining_uses is None or trust.remaining_uses > 0


def get_trust(db: Session, trust_id: str) -> Trust:
    row = db.get(Trust, trust_id)
    if not usable(row):
        raise _not_found(trust_id)
    assert row is not None
    return row


def pedigree(db: Session, trust: Trust) -> list[Trust]:
    """The trust and the trusts it was redelegated from, nearest first."""
    chain = [trust]
    seen = {trust.id}
    while chain[-1].redelegated_trust_id and chain[-1].redelegated_trust_id not in seen:
        parent = db.get(Trust, chain[-1].redelegated_trust_id)
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.id)
    return chain


def original_trustor_id(db: Session, trust: Trust) -> str:
    """Whose roles a (possibly redelegated) trust lends: the first trustor of the chain."""
    return pedigree(db, trust)[-1].trustor_user_id


def role_ids_of(db: Session, trust_id: str) -> list[str]:
    return list(db.scalars(select(TrustRole.role_id).where(TrustRole.trust_id == trust_id)))


def roles_of(db: Session, trust_id: str) -> list[Role]:
    return roles_by_ids(db, role_ids_of(db, trust_id))


# -- creating --------------------------------------------------------------------------------


def create_trust(db: Session, ctx: RequestContext, body: TrustCreate) -> Trust:
    if body.project_id and not body.roles:
        raise Forbidden("At least one role should be specified.")
    if ctx.user_id != body.trustor_user_id:
        raise Forbidden("The authenticated user should match the trustor.")
    get_or_404(db, User, body.trustee_user_id, "user")
    role_ids = list(dict.fromkeys(role_id_of(db, ref) for ref in body.roles))
    parent = get_trust(db, ctx.trust_id) if ctx.trust_id else None
    _require_trustor_roles(db, body, role_ids, parent)
    row = Trust(
        id=new_id(),
        trustor_user_id=body.trustor_user_id,
        trustee_user_id=body.trustee_user_id,
        project_id=body.project_id,
        impersonation=body.impersonation,
        expires_at=parse_expiry(body.expires_at) if body.expires_at else None,
        remaining_uses=body.remaining_uses,
        allow_redelegation=bool(body.allow_redelegation),
        extra=body.extras(),
    )
    _set_redelegation(row, body)
    if parent is not None:
        _redelegate(db, row, parent, body, role_ids)
    db.add(row)
    db.flush()
    for role_id in role_ids:
        db.add(TrustRole(trust_id=row.id, role_id=role_id))
    db.flush()
    return row


def _require_trustor_roles(db: Session, body: TrustCreate, role_ids: list[str], parent: Trust | None) -> None:
    """The trustor must hold every delegated role on the project; when redelegating, the
    first trustor of the chain on the first trust's project (whose roles are lent)."""
    held: set[str] = set()
    if body.project_id:
        project = db.get(Project, body.project_id)
        if project is None or project.is_domain:
            raise NotFound(f"Could not find project: {body.project_id}.")
        trustor = body.trustor_user_id
        if parent is not None:
            root = pedigree(db, parent)[-1]
            trustor = root.trustor_user_id
            project = (db.get(Project, root.project_id) if root.project_id else None) or project
        held = implied_closure(db, direct_role_ids(db, trustor, project=project))
    for role_id in role_ids:
        if role_id not in held:
            raise NotFound(f"Could not find role: {role_id}.")


def _set_redelegation(row: Trust, body: TrustCreate) -> None:
    requested = body.redelegation_count
    if not body.allow_redelegation or requested == 0:
        row.redelegation_count = 0
        return
    if requested is not None and requested > MAX_REDELEGATION_COUNT:
        raise Forbidden(f"Requested redelegation depth of {requested} is greater than allowed {MAX_REDELEGATION_COUNT}.")
    if body.remaining_uses is not None:
        raise BadRequest("remaining_uses must not be set if redelegation is allowed.")
    row.redelegation_count = requested if requested is not None else MAX_REDELEGATION_COUNT


def _redelegate(db: Session, row: Trust, parent: Trust, body: TrustCreate, role_ids: list[str]) -> None:
    """Check a trust made from a trust-scoped token against every trust above it."""
    remaining = (parent.redelegation_count or 0) - 1
    if row.redelegation_count and body.redelegation_count is not None and body.redelegation_count != remaining:
        raise Forbidden('Modifying "redelegation_count" upon redelegation is forbidden. Omitting this parameter is advised.')
    if body.allow_redelegation and body.redelegation_count is None:
        row.redelegation_count = max(remaining, 0)
    row.redelegated_trust_id = parent.id
    for ancestor in pedigree(db, parent):
        _check_narrower(db, ancestor, row, role_ids)


def _check_narrower(db: Session, ancestor: Trust, row: Trust, role_ids: list[str]) -> None:
    depth = ancestor.redelegation_count or 0
    if not 0 < depth <= MAX_REDELEGATION_COUNT:
        raise Forbidden(f"Remaining redelegation depth of {depth} out of allowed range of [0..{MAX_REDELEGATION_COUNT}].")
    if row.remaining_uses is not None:
        raise Forbidden("Field 'remaining_uses' must not be set in order to redelegate a trust.")
    if row.expires_at is None:
        row.expires_at = ancestor.expires_at
    elif ancestor.expires_at is not None and ancestor.expires_at < row.expires_at:
        raise Forbidden("Requested expiration time is more than redelegated trust can provide.")
    if not set(role_ids) <= set(role_ids_of(db, ancestor.id)):
        raise Forbidden("Some of requested roles are not in redelegated trust.")
    if row.impersonation and not ancestor.impersonation:
        raise Forbidden(
            f"Impersonation is not allowed because redelegated trust does not specify impersonation. Redelegated trust id: {ancestor.id}."
        )


# -- listing and removing -------------------------------------------------------------------


def list_trusts(db: Session, trustor_user_id: str | None = None, trustee_user_id: str | None = None) -> list[Trust]:
    q = select(Trust).where(Trust.deleted_at.is_(None))
    if trustor_user_id is not None:
        q = q.where(Trust.trustor_user_id == trustor_user_id)
    if trustee_user_id is not None:
        q = q.where(Trust.trustee_user_id == trustee_user_id)
    return list(db.scalars(q.order_by(Trust.id)))


def delete_trust(db: Session, row: Trust, revoke: Callable[..., Any]) -> None:
    """Soft-delete the trust and everything redelegated from it; their tokens stop working."""
    now = utcnow()
    frontier = [row]
    while frontier:
        trust = frontier.pop()
        trust.deleted_at = now
        revoke(db, trust_id=trust.id)
        frontier.extend(list(db.scalars(select(Trust).where(Trust.redelegated_trust_id == trust.id, Trust.deleted_at.is_(None)))))


def delete_trusts_for_user(db: Session, user_id: str, revoke: Callable[..., Any]) -> None:
    """For whoever deletes a user: trusts they gave or received go too."""
    query = select(Trust).where(Trust.deleted_at.is_(None), or_(Trust.trustor_user_id == user_id, Trust.trustee_user_id == user_id))
    for row in list(db.scalars(query)):
        delete_trust(db, row, revoke)


def delete_trusts_for_project(db: Session, project_id: str, revoke: Callable[..., Any]) -> None:
    for row in list(db.scalars(select(Trust).where(Trust.deleted_at.is_(None), Trust.project_id == project_id))):
        delete_trust(db, row, revoke)


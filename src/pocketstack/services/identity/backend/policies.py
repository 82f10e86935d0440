"""/v3/policies: opaque policy documents Keystone stores for other services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Policy
from ..schemas.misc import PolicyCreate, PolicyUpdate
from .common import get_or_404, new_id, refuse_changes


def get_policy(db: Session, policy_id: str) -> Policy:
    return get_or_404(db, Policy, policy_id, "policy")


def create_policy(db: Session, body: PolicyCreate) -> Policy:
    row = Policy(id=new_id(), type=body.type, blob=body.blob, extra=body.extras())
    db.add(row)
    db.flush()
    return row


def update_policy(db: Session, policy_id: str, body: PolicyUpdate) -> Policy:
    row = get_policy(db, policy_id)
    refuse_changes(body, row, "policy")
    if body.type is not None:
        row.type = body.type
    if body.blob is not None:
        row.blob = body.blob
    row.extra = {**(row.extra or {}), **body.extras()}
    return row


def list_policies(db: Session, type: str | None = None) -> list[Policy]:
    q = select(Policy).order_by(Policy.type, Policy.id)
    if type is not None:
        q = q.where(Policy.type == type)
    return list(db.scalars(q))


def delete_policy(db: Session, policy_id: str) -> None:
    db.delete(get_policy(db, policy_id))

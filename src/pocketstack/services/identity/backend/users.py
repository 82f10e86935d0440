"""Users: their attributes and options, their lifecycle, the projects they reach and the
change of their own password. Hashing and the compliance rules live in passwords.py."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pocketstack.config import IdentitySettings
from pocketstack.core.context import RequestContext
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Unauthorized

from ..models import ApplicationCredential, Assignment, GroupMembership, Password, Project, User
from ..schemas.users import UserCreate, UserOptions, UserUpdate
from . import passwords
from .common import check_name_free, default_domain_id, get_domain, get_or_404, new_id, refuse_changes
from .credentials import delete_credentials_for_user
from .effective_roles import direct_role_ids
from .trusts import delete_trusts_for_user

Revoke = Callable[..., Any]
EXPIRY_OPERATORS = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "eq": operator.eq,
    "neq": operator.ne,
}
LOCKED_PASSWORD = (
    "You cannot change your password at this time due to password policy disallowing password changes. "
    "Please contact your administrator to reset your password."
)


def get_user(db: Session, user_id: str) -> User:
    return get_or_404(db, User, user_id, "user")


def _check_name_free(db: Session, domain_id: str, name: str, exclude: str | None = None) -> None:
    check_name_free(db, User, domain_id, name, f"Conflict occurred attempting to store user - Duplicate entry found with name {name} at domain ID {domain_id}.", exclude)

def _check_default_project(db: Session, project_id: str | None) -> None:
    # a project that does not exist (yet) is accepted, as Keystone does; a domain is not
    project = db.get(Project, project_id) if project_id else None
    if project is not None and project.is_domain:
        raise BadRequest(f"User's default project ID cannot be a domain ID: {project_id}")


def merge_options(current: dict[str, Any] | None, options: UserOptions) -> dict[str, Any]:
    merged = dict(current or {})
    for name, value in options.changes().items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def create_user(db: Session, ctx: RequestContext, body: UserCreate, settings: IdentitySettings) -> User:
    domain = get_domain(db, body.domain_id or default_domain_id(ctx))
    name = body.name.strip()
    _check_name_free(db, domain.id, name)
    _check_default_project(db, body.default_project_id)
    row = User(
        id=new_id(),
        name=name,
        domain_id=domain.id,
        enabled=body.enabled,
        default_project_id=body.default_project_id,
        description=body.description,
        email=body.email,
        options=merge_options({}, body.options),
        extra=body.extras(),
        failed_auth_count=0,
    )
    db.add(row)
    db.flush()
    if body.password is not None:
        _reset_password(db, row, body.password, settings)
    return row


def _reset_password(db: Session, row: User, password: str, settings: IdentitySettings) -> None:
    """A password set by an admin: no history or age rules, but with
    change_password_upon_first_use the user must choose their own at first login."""
    new = passwords.set_password(db, row, password, settings, self_service=False)
    if settings.security_compliance.change_password_upon_first_use and not row.options.get("ignore_change_password_upon_first_use"):
        new.expires_at = utcnow()


def update_user(db: Session, row: User, body: UserUpdate, settings: IdentitySettings, revoke: Revoke) -> User:
    fields = body.model_fields_set
    refuse_changes(body, row, "user", "domain_id")
    if body.name is not None:
        name = body.name.strip()
        if name != row.name:
            _check_name_free(db, row.domain_id, name, exclude=row.id)
            row.name = name
    if "default_project_id" in fields:
        _check_default_project(db, body.default_project_id)
        row.default_project_id = body.default_project_id
    for attr in ("description", "email"):
        if attr in fields:
            setattr(row, attr, getattr(body, attr))
    if "options" in fields:
        row.options = merge_options(row.options, body.options)
    row.extra = {**(row.extra or {}), **body.extras()}
    if body.enabled is not None and body.enabled != row.enabled:
        row.enabled = body.enabled
        if not body.enabled:
            revoke(db, user_id=row.id)
    if "password" in fields:
        if body.password is None:
            db.execute(delete(Password).where(Password.user_id == row.id))
        else:
            _reset_password(db, row, body.password, settings)
        revoke(db, user_id=row.id)
    return row


def delete_user(db: Session, row: User, revoke: Revoke) -> None:
    """The user and everything that is theirs: grants, memberships, credentials,
    application credentials, trusts, passwords; their tokens stop working."""
    db.execute(delete(Assignment).where(Assignment.actor_id == row.id))
    db.execute(delete(GroupMembership).where(GroupMembership.user_id == row.id))
    db.execute(delete(ApplicationCredential).where(ApplicationCredential.user_id == row.id))
    db.execute(delete(Password).where(Password.user_id == row.id))
    delete_credentials_for_user(db, row.id)
    delete_trusts_for_user(db, row.id, revoke)
    revoke(db, user_id=row.id)
    db.delete(row)


# -- the user's own password ------------------------------------------------------------


def prove_password(db: Session, user_id: str, original: str, check_password: Callable[[Session, User, str], Any]) -> None:
    """The caller knows the user's current password (an expired one still counts, so it
    can be replaced); else 401. `check_password` is TokenProvider.check_password: it
    refuses locked accounts and counts misses toward lockout."""
    row = db.get(User, user_id)
    if row is None:
        raise Unauthorized(f"Error when changing user password: could not find user {user_id}.")
    check_password(db, row, original)
    if not row.enabled:
        raise Unauthorized(f"The account is disabled for user: {user_id}.")


def change_own_password(db: Session, user_id: str, password: str, settings: IdentitySettings, revoke: Revoke) -> None:
    """Self-service change: history, minimum age and complexity rules apply."""
    row = get_user(db, user_id)
    if row.options.get("lock_password"):
        raise BadRequest(LOCKED_PASSWORD)
    passwords.set_password(db, row, password, settings, self_service=True)
    row.failed_auth_count = 0
    row.failed_auth_at = None
    revoke(db, user_id=row.id)


# -- queries ------------------------------------------------------------------------------


def password_expiries(db: Session, user_ids: Sequence[str]) -> dict[str, dt.datetime | None]:
    """user id -> when their current password expires (None: never, or no password)."""
    if not user_ids:
        return {}
    rows = db.execute(
        select(Password.user_id, Password.expires_at).where(Password.user_id.in_(user_ids)).order_by(Password.id)
    )
    return {user_id: expires for user_id, expires in rows}  # the newest row wins


def parse_expiry_filter(value: str) -> tuple[Callable[[Any, Any], bool], dt.datetime]:
    """Keystone's password_expires_at filter: "[lt|lte|gt|gte|eq|neq:]timestamp"."""
    name, stamp = value.split(":", 1) if ":" in value[2:4] else ("eq", value)
    compare = EXPIRY_OPERATORS.get(name)
    if compare is None:
        raise BadRequest(f"The given operator {name} is not valid. It must be one of the following: {', '.join(EXPIRY_OPERATORS)}.")
    try:
        when = dt.datetime.fromisoformat(stamp.strip())
    except ValueError:
        raise BadRequest("Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return compare, when


def list_users(db: Session, filters: dict[str, Any], group_id: str | None = None) -> list[User]:
    expiry = parse_expiry_filter(filters["password_expires_at"]) if filters.get("password_expires_at") else None
    q = select(User)
    if group_id is not None:
        q = q.join(GroupMembership, GroupMembership.user_id == User.id).where(GroupMembership.group_id == group_id)
    for key in ("name", "domain_id"):
        if filters.get(key) is not None:
            q = q.where(getattr(User, key) == filters[key])
    if filters.get("enabled") is not None:
        q = q.where(User.enabled.is_(filters["enabled"]))
    rows = list(db.scalars(q.order_by(User.name, User.id)))
    if expiry is None:
        return rows
    compare, when = expiry
    expiries = password_expiries(db, [r.id for r in rows])
    return [r for r in rows if expiries.get(r.id) is not None and compare(expiries[r.id], when)]


def projects_of(db: Session, user_id: str, filters: dict[str, Any]) -> list[Project]:
    """Projects the user holds any role on: directly, through a group, or inherited."""
    q = select(Project).where(Project.is_domain.is_(False))
    for key in ("name", "domain_id"):
        if filters.get(key) is not None:
            q = q.where(getattr(Project, key) == filters[key])
    if filters.get("enabled") is not None:
        q = q.where(Project.enabled.is_(filters["enabled"]))
    return [p for p in db.scalars(q.order_by(Project.name)) if direct_role_ids(db, user_id, project=p)]

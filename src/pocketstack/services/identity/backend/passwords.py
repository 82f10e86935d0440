"""Password hashing (bcrypt) and the [security_compliance] rules: lockout, history,
minimum age, expiry, complexity. Secrets never leave this module in clear text."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import re

import bcrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.config import IdentitySettings
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Unauthorized

from ..models import Password, User

BCRYPT_MAX = 72  # bcrypt reads at most 72 bytes


def _prepare(secret: str) -> bytes:
    raw = secret.encode("utf-8")
    # Longer secrets are pre-hashed, so every byte counts and bcrypt never truncates.
    if len(raw) > BCRYPT_MAX:
        raw = base64.b64encode(hashlib.sha256(raw).digest())
    return raw


def hash_secret(secret: str, rounds: int) -> str:
    return bcrypt.hashpw(_prepare(secret), bcrypt.gensalt(rounds)).decode()


def verify_secret(secret: str, hashed: str | None, rounds: int = 12) -> bool:
    if not hashed:
        # still spend the time, so an unknown user is not told apart by timing
        bcrypt.checkpw(b"x", _dummy_hash(rounds))
        return False
    try:
        return bcrypt.checkpw(_prepare(secret), hashed.encode())
    except ValueError:
        return False


@functools.cache
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"pocketstack", bcrypt.gensalt(rounds))


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def current_password(db: Session, user_id: str) -> Password | None:
    return db.scalars(select(Password).where(Password.user_id == user_id).order_by(Password.id.desc()).limit(1)).first()


def ignores_lockout(user: User) -> bool:
    return bool((user.options or {}).get("ignore_lockout_failure_attempts"))


def check_lockout(user: User, settings: IdentitySettings) -> None:
    sc = settings.security_compliance
    if not sc.lockout_failure_attempts or ignores_lockout(user) or user.failed_auth_count < sc.lockout_failure_attempts:
        return
    if user.failed_auth_at and utcnow() < user.failed_auth_at + dt.timedelta(seconds=sc.lockout_duration):
        raise Unauthorized(f"The account is locked for user: {user.id}.")


def record_failure(user: User, settings: IdentitySettings) -> None:
    sc = settings.security_compliance
    if not sc.lockout_failure_attempts or ignores_lockout(user):
        return
    now = utcnow()
    # an expired lockout starts counting again from zero
    if user.failed_auth_at and now >= user.failed_auth_at + dt.timedelta(seconds=sc.lockout_duration):
        user.failed_auth_count = 0
    user.failed_auth_count = (user.failed_auth_count or 0) + 1
    user.failed_auth_at = now


def validate_complexity(password: str, settings: IdentitySettings) -> None:
    if len(password.encode()) > settings.max_password_length:
        raise BadRequest(f"Invalid input for field 'password': longer than {settings.max_password_length} bytes.")
    sc = settings.security_compliance
    if sc.password_regex and not re.match(sc.password_regex, password):
        detail = sc.password_regex_description or f"must match {sc.password_regex}"
        raise BadRequest(f"The password does not meet the requirements: {detail}")


def is_expired(user: User, current: Password | None) -> bool:
    """Whether the user must change the password before using it (ignore_password_expiry exempts)."""
    if current is None or current.expires_at is None or (user.options or {}).get("ignore_password_expiry"):
        return False
    return current.expires_at <= utcnow()


def set_password(db: Session, user: User, password: str, settings: IdentitySettings, *, self_service: bool) -> Password:
    """Store a new password after the compliance checks; the history keeps old hashes."""
    validate_complexity(password, settings)
    sc = settings.security_compliance
    previous = list(
        db.scalars(select(Password).where(Password.user_id == user.id).order_by(Password.id.desc()))
    )
    # the minimum age protects a password the user chose, not one an admin reset
    if self_service and previous and previous[0].self_service and sc.minimum_password_age:
        earliest = previous[0].created_at + dt.timedelta(days=sc.minimum_password_age)
        if utcnow() < earliest:
            raise BadRequest(
                f"You cannot change your password at this time due to the minimum password age. "
                f"Once you change your password, it must be used for {sc.minimum_password_age} day(s) before it can be changed."
            )
    if self_service and sc.unique_last_password_count:
        for old in previous[: sc.unique_last_password_count]:
            if verify_secret(password, old.password_hash):
                raise BadRequest(
                    f"The new password cannot be identical to a previous password. "
                    f"The total number which includes the new password must be unique is {sc.unique_last_password_count}."
                )
    expires = None
    if sc.password_expires_days and not user.options.get("ignore_password_expiry"):
        expires = utcnow() + dt.timedelta(days=sc.password_expires_days)
    row = Password(
        user_id=user.id,
        password_hash=hash_secret(password, settings.password_hash_rounds),
        expires_at=expires,
        self_service=self_service,
    )
    db.add(row)
    # keep only as much history as the rules need
    keep = max(sc.unique_last_password_count, 1)
    for stale in previous[keep:]:
        db.delete(stale)
    return row

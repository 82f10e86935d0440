"""Request bodies of /v3/users (Keystone's identity schema)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictStr, StringConstraints, field_validator, model_validator

from .common import ClosedModel, Description, Id64, OpenModel

# 1..255 characters with at least one that is not blank (Keystone's _identity_name)
IdentityName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=255, pattern=r"\S")]
Email = Annotated[str, StringConstraints(strict=True, max_length=255)]
MfaRule = Annotated[list[StrictStr], Field(min_length=1)]

# attributes a client may echo back from a response but never sets
READ_ONLY = frozenset({"id", "links", "password_expires_at"})


class UserOptions(ClosedModel):
    """Keystone's user resource options; an unknown one is a 400, null removes one."""

    ignore_change_password_upon_first_use: StrictBool | None = None
    ignore_password_expiry: StrictBool | None = None
    ignore_lockout_failure_attempts: StrictBool | None = None
    lock_password: StrictBool | None = None
    ignore_user_inactivity: StrictBool | None = None
    multi_factor_auth_enabled: StrictBool | None = None
    multi_factor_auth_rules: list[MfaRule] | None = None

    @field_validator("multi_factor_auth_rules")
    @classmethod
    def _rules_without_repeats(cls, rules: list[list[str]] | None) -> list[list[str]] | None:
        for i, rule in enumerate(rules or []):
            if len(set(rule)) != len(rule):
                raise ValueError("an auth method may appear only once in a rule")
            if rule in rules[:i]:  # type: ignore[index]
                raise ValueError("a rule may appear only once")
        return rules

    def changes(self) -> dict[str, Any]:
        """The options the body names: a value sets one, None removes it."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class UserFields(OpenModel):
    """What create and update share; unknown attributes are kept as extras."""

    default_project_id: Id64 | None = None
    description: Description = None
    email: Email | None = None
    password: StrictStr | None = None
    options: UserOptions = Field(default_factory=UserOptions)

    def extras(self) -> dict[str, Any]:
        return {k: v for k, v in super().extras().items() if k not in READ_ONLY}


class UserCreate(UserFields):
    name: IdentityName
    domain_id: Id64 | None = None
    enabled: StrictBool = True


class UserUpdate(UserFields):
    name: IdentityName | None = None
    enabled: StrictBool | None = None
    # may be sent, but must name the user's own (checked by the backend)
    domain_id: Id64 | None = None
    id: Id64 | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UserUpdate:
        if not self.model_fields_set and not self.model_extra:
            raise ValueError("at least one attribute to update is required")
        for name in ("name", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"'{name}' may not be null")
        return self


class PasswordChange(ClosedModel):
    """POST /v3/users/{user_id}/password: the user's own change, proved by the old one."""

    original_password: StrictStr
    password: StrictStr

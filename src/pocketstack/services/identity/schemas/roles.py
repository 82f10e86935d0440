"""Request bodies of /v3/roles (Keystone's role_create / role_update schemas)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StringConstraints

from .common import ClosedModel, Id64, OpenModel

# Keystone: 1..255 characters with at least one that is not whitespace
RoleName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=255, pattern=r"\S")]
RoleDescription = Annotated[str, StringConstraints(strict=True, max_length=255)] | None


class RoleOptions(ClosedModel):
    """Keystone's role resource options; null unsets an option."""

    immutable: StrictBool | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class RoleCreate(OpenModel):
    name: RoleName
    domain_id: Id64 | None = None
    description: RoleDescription = None
    options: RoleOptions = Field(default_factory=RoleOptions)


class RoleUpdate(OpenModel):
    name: RoleName | None = None
    domain_id: Id64 | None = None  # present only to be refused when it changes
    description: RoleDescription = None
    options: RoleOptions | None = None

    def changes_id(self, role_id: str) -> bool:
        return (self.model_extra or {}).get("id", role_id) != role_id

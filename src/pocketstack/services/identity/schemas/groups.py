"""Request bodies of /v3/groups."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from .common import Description, Id64, OpenModel
from .users import READ_ONLY, IdentityName


class GroupFields(OpenModel):
    description: Description = None

    def extras(self) -> dict[str, Any]:
        return {k: v for k, v in super().extras().items() if k not in READ_ONLY}


class GroupCreate(GroupFields):
    name: IdentityName
    domain_id: Id64 | None = None


class GroupUpdate(GroupFields):
    name: IdentityName | None = None
    # may be sent, but must name the group's own (checked by the backend)
    domain_id: Id64 | None = None
    id: Id64 | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> GroupUpdate:
        if not self.model_fields_set and not self.model_extra:
            raise ValueError("at least one attribute to update is required")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("'name' may not be null")
        return self

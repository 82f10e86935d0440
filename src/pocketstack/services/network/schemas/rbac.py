"""What an RBAC policy request may say (neutron/extensions/rbac.py): the object (a
network), the action, and the project let in (target_tenant, or its newer name
target_project): a project id or "*"."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BeforeValidator

from ..common.attributes import NeutronBody, Uuid, none_or, string

ATTRIBUTES = frozenset({"id", "object_type", "object_id", "action", "target_tenant", "target_project", "tenant_id", "project_id"})


def _target(value: Any) -> str:
    text = string(255)(value)
    if text == "*":
        return text
    try:
        uuid.UUID(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a valid target project ID; expected a UUID or '*'") from None
    return text


Target = Annotated[str | None, BeforeValidator(none_or(_target))]


class RbacCreate(NeutronBody):
    object_type: Annotated[str, BeforeValidator(lambda v: string(255)(v).strip().lower())]
    object_id: Uuid
    action: Annotated[str, BeforeValidator(string(255))]
    target_tenant: Target = None
    target_project: Target = None


class RbacUpdate(NeutronBody):
    target_tenant: Target = None
    target_project: Target = None

"""What an agent update may say (neutron-lib's agent attribute map): agents write their
own rows; people may only take one out of service (admin_state_up) or describe it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from ..common.attributes import NeutronBody, NeutronBool, none_or, string

ATTRIBUTES = frozenset(
    {
        "id",
        "agent_type",
        "binary",
        "topic",
        "host",
        "admin_state_up",
        "created_at",
        "started_at",
        "heartbeat_timestamp",
        "alive",
        "configurations",
        "description",
        "availability_zone",
        "resources_synced",
        "resource_versions",
        "ha_chassis_priority",
    }
)

OptionalDescription = Annotated[str | None, BeforeValidator(none_or(string(255)))]


class AgentUpdate(NeutronBody):
    admin_state_up: NeutronBool = True
    description: OptionalDescription = None

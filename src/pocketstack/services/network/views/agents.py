"""An agent as Neutron shows it. Its times are written the way Neutron's agent API
writes them ("2026-11-26 10:00:00", no T, no zone), unlike standard attributes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..backend.agents import is_alive
from ..models import Agent


def agent_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def agent(row: Agent) -> dict[str, Any]:
    return {
        "id": row.id,
        "agent_type": row.agent_type,
        "binary": row.binary,
        "topic": row.topic,
        "host": row.host,
        "admin_state_up": row.admin_state_up,
        "alive": is_alive(row),
        "availability_zone": row.availability_zone,
        "description": row.description,
        "configurations": dict(row.configurations or {}),
        "created_at": agent_time(row.created_at),
        "started_at": agent_time(row.started_at),
        "heartbeat_timestamp": agent_time(row.heartbeat_timestamp),
        "resources_synced": None,
        "resource_versions": {},
        "ha_chassis_priority": None,
    }

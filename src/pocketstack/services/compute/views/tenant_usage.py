"""Usage documents as Nova's os-simple-tenant-usage shows them: timestamps without a
zone, hours and resource-hours as floats."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..backend.tenant_usage import ProjectUsage, ServerUsage


def naive_time(value: dt.datetime | None) -> str | None:
    """Nova's normalize_time, serialized: UTC, no zone suffix."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat()


def server_usage(item: ServerUsage) -> dict[str, Any]:
    server = item.server
    return {
        "ended_at": naive_time(item.ended_at),
        "flavor": str((server.flavor or {}).get("name", "")),
        "hours": item.hours,
        "instance_id": server.uuid,
        "local_gb": item.local_gb,
        "memory_mb": server.memory_mb,
        "name": server.name,
        "started_at": naive_time(item.started_at),
        "state": item.state,
        "tenant_id": server.project_id,
        "uptime": item.uptime,
        "vcpus": server.vcpus,
    }


def project_usage(usage: ProjectUsage, *, detailed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tenant_id": usage.project_id,
        "total_local_gb_usage": usage.total_local_gb_usage,
        "total_vcpus_usage": usage.total("vcpus"),
        "total_memory_mb_usage": usage.total("memory_mb"),
        "total_hours": usage.total_hours,
        "start": naive_time(usage.start),
        "stop": naive_time(usage.stop),
    }
    if detailed:
        body["server_usages"] = [server_usage(item) for item in usage.servers]
    return body

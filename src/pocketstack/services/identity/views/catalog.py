"""Region, service, endpoint and endpoint group bodies."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call

from ..models import Endpoint, EndpointGroup, Region, Service
from .common import links

EP_FILTER = "/v3/OS-EP-FILTER"


def region(call: Call, row: Region) -> dict[str, Any]:
    return {
        **(row.extra or {}),
        "id": row.id,
        "description": row.description or "",
        "parent_region_id": row.parent_region_id,
        "links": links(call, f"/v3/regions/{row.id}"),
    }


def service(call: Call, row: Service) -> dict[str, Any]:
    body = {
        **(row.extra or {}),
        "id": row.id,
        "type": row.type,
        "name": row.name or "",
        "enabled": row.enabled,
        "links": links(call, f"/v3/services/{row.id}"),
    }
    if row.description is not None:  # Keystone shows a description only when one was given
        body["description"] = row.description
    return body


def endpoint(call: Call, row: Endpoint) -> dict[str, Any]:
    return {
        **(row.extra or {}),
        "id": row.id,
        "service_id": row.service_id,
        "interface": row.interface,
        "url": row.url,
        "region_id": row.region_id,
        "region": row.region_id,
        "enabled": row.enabled,
        "links": links(call, f"/v3/endpoints/{row.id}"),
    }


def endpoint_group(call: Call, row: EndpointGroup) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "filters": row.filters or {},
        "links": links(call, f"{EP_FILTER}/endpoint_groups/{row.id}"),
    }


def project_endpoint_group(call: Call, group_id: str, project_id: str) -> dict[str, Any]:
    return {
        "endpoint_group_id": group_id,
        "project_id": project_id,
        "links": links(call, f"{EP_FILTER}/endpoint_groups/{group_id}/projects/{project_id}"),
    }

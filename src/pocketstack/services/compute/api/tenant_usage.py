"""os-simple-tenant-usage: server hours per project over a period.

    GET /v2.1/os-simple-tenant-usage?start=&end=&detailed=1     every project (admins)
    GET /v2.1/os-simple-tenant-usage/{project_id}?start=&end=    one project (its readers too)

start and end default to now; the end is cut at now. From 2.40 the servers are paged
(limit, marker: a server uuid) and a "next" link follows a full page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, nova_fault

from ..backend import tenant_usage as backend
from ..views import tenant_usage as views

api = ApiRouter(nova_fault)

COLLECTION = "/v2.1/os-simple-tenant-usage"
MAX_PAGE_SIZE = 1000  # Nova's [api] max_limit


def _check_query(call: Call, known: set[str]) -> None:
    if call.version >= "2.40":
        known = known | {"limit", "marker"}
    if call.version >= "2.75":
        unknown = sorted(set(call.query) - known)
        if unknown:
            raise BadRequest(
                f"Invalid input for query parameters: additional properties are not allowed ({', '.join(unknown)[:200]} unexpected)"
            )


def _paging(call: Call) -> tuple[int, str | None]:
    if call.version < "2.40":
        return MAX_PAGE_SIZE, None
    raw = call.query.get("limit")
    limit = MAX_PAGE_SIZE
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()):
            raise BadRequest("limit param must be an integer" if not raw.lstrip("-").isdigit() else "limit param must be positive")
        limit = min(int(raw), MAX_PAGE_SIZE) or MAX_PAGE_SIZE
    return limit, call.query.get("marker")


def _next_links(call: Call, path: str, usages: list[backend.ProjectUsage], limit: int) -> list[dict[str, str]]:
    servers = [item for usage in usages for item in usage.servers]
    if call.version < "2.40" or not servers or len(servers) != limit:
        return []
    params = dict(sorted(call.query.items()))
    params["marker"] = servers[-1].server.uuid
    return [{"rel": "next", "href": f"{call.url(path)}?{urlencode(params)}"}]


@api.route("GET", COLLECTION)
def list_usage(call: Call) -> dict[str, Any]:
    _check_query(call, {"start", "end", "detailed"})
    call.require_auth()
    call.authorize("os_compute_api:os-simple-tenant-usage:list", {})
    start, stop = backend.period(call.query.get("start"), call.query.get("end"))
    detailed = call.query.get("detailed", "0") == "1"
    limit, marker = _paging(call)
    usages = backend.usage(call.db, start, stop, None, limit=limit, marker=marker)
    body: dict[str, Any] = {"tenant_usages": [views.project_usage(usage, detailed=detailed) for usage in usages]}
    links = _next_links(call, COLLECTION, usages, limit)
    if links:
        body["tenant_usages_links"] = links
    return body


@api.route("GET", COLLECTION + "/{project_id}")
def show_usage(call: Call) -> dict[str, Any]:
    _check_query(call, {"start", "end"})
    call.require_auth()
    project_id = call.params["project_id"]
    call.authorize("os_compute_api:os-simple-tenant-usage:show", {"project_id": project_id})
    start, stop = backend.period(call.query.get("start"), call.query.get("end"))
    limit, marker = _paging(call)
    usages = backend.usage(call.db, start, stop, project_id, limit=limit, marker=marker)
    body: dict[str, Any] = {"tenant_usage": views.project_usage(usages[0], detailed=True) if usages else {}}
    links = _next_links(call, f"{COLLECTION}/{project_id}", usages, limit)
    if links:
        body["tenant_usage_links"] = links
    return body

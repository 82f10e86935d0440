"""os-hypervisors (admins): the compute nodes, what they offer and hold.

GET /v2.1/os-hypervisors[/detail]         list (paging 2.33+; hypervisor_hostname_pattern,
                                          with_servers and uuid ids 2.53+)
GET /v2.1/os-hypervisors/{id}             show (with_servers 2.53+)
GET /v2.1/os-hypervisors/statistics       sums over enabled hosts (until 2.87)
GET /v2.1/os-hypervisors/{id}/uptime      (until 2.87; 2.88 shows uptime in the detail)
GET /v2.1/os-hypervisors/{pattern}/search (until 2.52)
GET /v2.1/os-hypervisors/{pattern}/servers (until 2.52)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from pocketstack.config import ComputeSettings
from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, nova_fault
from pocketstack.core.ids import is_uuid

from ..backend import hypervisors as backend
from ..backend.hosts import is_up
from ..backend.hypervisors import Hypervisor
from ..schemas.quotas import FALSE_WORDS, TRUE_WORDS
from ..views import hypervisors as views

api = ApiRouter(nova_fault)

COLLECTION = "/v2.1/os-hypervisors"
MAX_PAGE_SIZE = 1000  # Nova's [api] max_limit
QUERY_253 = {"limit", "marker", "hypervisor_hostname_pattern", "with_servers"}


def _settings(call: Call) -> ComputeSettings:
    return call.cloud.settings.compute


def _allow(call: Call, rule: str) -> None:
    call.require_auth()
    call.authorize(f"os_compute_api:os-hypervisors:{rule}", {})


def _refuse_unknown_query(call: Call, known: set[str]) -> None:
    unknown = sorted(set(call.query) - known)
    if unknown:
        raise BadRequest(
            f"Invalid input for query parameters: additional properties are not allowed ({', '.join(unknown)[:200]} unexpected)"
        )


def _with_servers(call: Call) -> bool:
    """Nova reads with_servers strictly (bool_from_string(strict=True)), from 2.53."""
    if call.version < "2.53" or "with_servers" not in call.query:
        return False
    raw = call.query["with_servers"].strip().lower()
    if raw not in TRUE_WORDS | FALSE_WORDS:
        raise BadRequest(f"Invalid input for query parameters with_servers. Value: {raw[:40]}. Unrecognized value '{raw[:40]}'")
    return raw in TRUE_WORDS


def _page_size(call: Call) -> int:
    raw = call.query.get("limit")
    if raw is None:
        return MAX_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest("limit param must be an integer" if not raw.lstrip("-").isdigit() else "limit param must be positive")
    return min(int(raw), MAX_PAGE_SIZE) or MAX_PAGE_SIZE


def _render(call: Call, items: Sequence[Hypervisor], *, detail: bool, with_servers: bool = False) -> list[dict[str, Any]]:
    settings = _settings(call)
    hosts = [item.node.host for item in items]
    running, busy = (backend.running_vms(call.db, hosts), backend.workloads(call.db, hosts)) if detail else ({}, {})
    out = []
    for item in items:
        host = item.node.host
        out.append(
            views.hypervisor(
                item,
                "up" if is_up(item.service, settings.service_down_time) else "down",
                call.version,
                usage=backend.usage_of(item.node, running.get(host, 0), busy.get(host, 0)) if detail else None,
                uptime=backend.uptime_of(settings, host) if detail and call.version >= "2.88" else None,
                servers=backend.servers_on(call.db, host) if with_servers else None,
                with_servers=with_servers,
            )
        )
    return out


def _list(call: Call, *, detail: bool) -> dict[str, Any]:
    _allow(call, "list-detail" if detail else "list")
    if call.version >= "2.53":
        _refuse_unknown_query(call, QUERY_253)
    paged = call.version >= "2.33"
    pattern = call.query.get("hypervisor_hostname_pattern") if call.version >= "2.53" else None
    with_servers = _with_servers(call)
    if pattern is not None:
        if "limit" in call.query or "marker" in call.query:
            raise BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.")
        return {"hypervisors": _render(call, backend.search_hypervisors(call.db, pattern), detail=detail, with_servers=with_servers)}
    limit = _page_size(call) if paged else None
    marker = call.query.get("marker") if paged else None
    items = backend.list_hypervisors(call.db, limit=limit, marker=marker, by_uuid=call.version >= "2.53")
    body: dict[str, Any] = {"hypervisors": _render(call, items, detail=detail, with_servers=with_servers)}
    if paged and items and len(items) == limit:
        params = dict(sorted(call.query.items()))
        params["marker"] = str(body["hypervisors"][-1]["id"])
        path = COLLECTION + ("/detail" if detail else "")
        body["hypervisors_links"] = [{"rel": "next", "href": f"{call.url(path)}?{urlencode(params)}"}]
    return body


@api.route("GET", COLLECTION)
def list_hypervisors(call: Call) -> dict[str, Any]:
    return _list(call, detail=False)


@api.route("GET", COLLECTION + "/detail")
def list_hypervisors_detail(call: Call) -> dict[str, Any]:
    return _list(call, detail=True)


def _by_id(call: Call) -> Hypervisor:
    """The node the path names: a uuid from 2.53 (400 if not one), the integer before (404)."""
    raw = call.params["hypervisor_id"]
    if call.version >= "2.53":
        if not is_uuid(raw):
            raise BadRequest(f"Invalid uuid {raw}")
        return backend.get_hypervisor(call.db, raw, by_uuid=True)
    return backend.get_hypervisor(call.db, raw, by_uuid=False)


@api.route("GET", COLLECTION + "/{hypervisor_id}")
def show_hypervisor(call: Call) -> dict[str, Any]:
    _allow(call, "show")
    if call.version >= "2.53":
        _refuse_unknown_query(call, {"with_servers"})
    with_servers = _with_servers(call)
    return {"hypervisor": _render(call, [_by_id(call)], detail=True, with_servers=with_servers)[0]}


@api.route("GET", COLLECTION + "/statistics", max_version="2.87")
def hypervisor_statistics(call: Call) -> dict[str, Any]:
    _allow(call, "statistics")
    return views.statistics(backend.statistics(call.db))


@api.route("GET", COLLECTION + "/{hypervisor_id}/uptime", max_version="2.87")
def hypervisor_uptime(call: Call) -> dict[str, Any]:
    _allow(call, "uptime")
    item = _by_id(call)
    body = _render(call, [item], detail=False)[0]
    body["uptime"] = backend.uptime_of(_settings(call), item.node.host)
    return {"hypervisor": body}


@api.route("GET", COLLECTION + "/{pattern}/search", max_version="2.52")
def search_hypervisors(call: Call) -> dict[str, Any]:
    _allow(call, "search")
    return {"hypervisors": _render(call, backend.search_hypervisors(call.db, call.params["pattern"]), detail=False)}


@api.route("GET", COLLECTION + "/{pattern}/servers", max_version="2.52")
def hypervisor_servers(call: Call) -> dict[str, Any]:
    _allow(call, "servers")
    found = backend.search_hypervisors(call.db, call.params["pattern"])
    return {"hypervisors": _render(call, found, detail=False, with_servers=True)}

"""Nova's servers API: create, list (summary and detail, with Nova's filters, sorting and
paging), show, update, delete; server metadata and tags; addresses.

Creating records the servers, checks quota and claims a host in one transaction, and
wakes the compute agent once that has committed; the answer is 202 at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.responses import Response

from pocketstack.core.api import ApiRouter, Call, validate
from pocketstack.core.faults import BadRequest, NotFound, nova_fault
from pocketstack.core.pagination import page_request

from .. import states
from ..backend import server_groups
from ..backend import servers as backend
from ..backend.servers import ServerQuery
from ..models import Server
from ..schemas.servers import MetadataBody, MetaItemBody, ServerCreate, ServerUpdate, TagsBody, check_hostname, check_tags
from ..views import servers as views

api = ApiRouter(nova_fault)

ADMIN_ONLY_FILTERS = {"host", "node", "deleted", "project_id", "tenant_id", "user_id", "changes-before", "locked"}


def rule(name: str) -> str:
    return f"os_compute_api:servers:{name}"


def get_server(call: Call, rule_name: str, *, for_write: bool = False) -> Server:
    """The server in the URL, if the caller may act on it with `rule_name`."""
    call.require_auth()  # 401 before 404: an anonymous caller learns nothing
    server = backend.get_server(call.db, call.ctx, call.params["server_id"])
    call.authorize(rule_name, backend.policy_target(server))
    if for_write:
        may_override = call.allowed("os_compute_api:os-lock-server:unlock:unlock_override", backend.policy_target(server))
        backend.check_not_locked(call.ctx, server, may_override=may_override)
    return server


def networking_on(call: Call) -> bool:
    """Whether this cloud runs the networking service (Nova's proxies and ports need it)."""
    return "network" in call.cloud.settings.services


def own_project(call: Call) -> dict[str, Any]:
    """The policy target of Nova's proxies: they act in the caller's project."""
    return {"project_id": call.ctx.project_id}


def wake_agent(call: Call) -> None:
    service = call.cloud.compute
    call.after_commit(service.wake_agent)


def look(call: Call) -> views.ServerLook:
    return views.ServerLook(call, call.cloud.compute.host_states(call.db))


# -- create -------------------------------------------------------------------------------
@api.route("POST", "/v2.1/servers", status=202)
def create_server(call: Call) -> Any:
    body = call.json()
    if not isinstance(body, dict) or "server" not in body:
        raise BadRequest("Invalid input for field/attribute server. 'server' is a required property")
    unknown = set(body) - {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"}
    if unknown:
        raise BadRequest(f"Invalid input: additional properties are not allowed ({', '.join(sorted(unknown))} unexpected)")
    call.authorize(rule("create"), {"project_id": call.ctx.project_id, "user_id": call.ctx.user_id})
    spec = validate(ServerCreate, body["server"], "server.")
    spec.check_for_version(call.version)
    hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
    if not isinstance(hints, dict):
        raise BadRequest("Invalid input for field/attribute os:scheduler_hints: it must be an object")
    is_admin = call.allowed(rule("create:forced_host"), {"project_id": call.ctx.project_id}) and call.ctx.is_admin
    networking = networking_on(call)
    made = backend.create_servers(call.db, call.ctx, call.cloud.settings.compute, spec, hints, is_admin=is_admin, networking=networking)
    wake_agent(call)
    if spec.return_reservation_id:
        return {"reservation_id": made.reservation_id}
    first = made.servers[0]
    call.response_headers["Location"] = call.url(f"/v2.1/servers/{first.uuid}")
    return {"server": views.created(call, first, made.admin_pass)}


# -- list -----------------------------------------------------------------------------------
@api.route("GET", "/v2.1/servers")
def list_servers(call: Call) -> dict[str, Any]:
    return _list(call, "index", "/v2.1/servers", lambda server: views.summary(call, server))


@api.route("GET", "/v2.1/servers/detail")
def list_servers_detail(call: Call) -> dict[str, Any]:
    shown = look(call)
    return _list(call, "detail", "/v2.1/servers/detail", shown.detail, shown.prefetch)


def _list(call: Call, kind: str, path: str, render: Any, prefetch: Any = None) -> dict[str, Any]:
    call.authorize(rule(kind), {"project_id": call.ctx.project_id})
    query = _server_query(call, kind)
    request = page_request(call.query)
    if call.query.get("limit", "1").strip().strip("0") == "":  # a valid limit of zero
        # Nova's servers list reads limit=0 literally (get_limit_and_marker): nothing
        return {"servers": []}
    page = backend.list_servers(call.db, query, request)
    if prefetch is not None:
        prefetch(page.items)
    key = "servers"
    body: dict[str, Any] = {key: [render(server) for server in page.items]}
    following = [link for link in page.links(call.url(path), call.query) if link["rel"] == "next"]
    if following:
        body["servers_links"] = following
    return body


def _server_query(call: Call, kind: str) -> ServerQuery:
    params = call.query
    may_all = call.allowed(rule(f"{kind}:get_all_tenants"), {"project_id": call.ctx.project_id})
    admin = call.ctx.is_admin
    all_tenants = may_all and call.query_flag("all_tenants")
    project = params.get("project_id") or params.get("tenant_id")
    query = ServerQuery(project_id=None if all_tenants else call.ctx.project_id)
    if admin and project and all_tenants:  # without all_tenants Nova ignores tenant_id (bug 1185290)
        query.project_id = project
    if admin and params.get("deleted") is not None:
        query.deleted_only = call.query_bool("deleted") or False
    query.changes_since = _time(call, "changes-since")
    if call.version >= "2.66":
        query.changes_before = _time(call, "changes-before")
        if query.changes_since and query.changes_before and query.changes_before < query.changes_since:
            raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    query.name = params.get("name")
    _status_filter(call, query)
    query.image = _tail(params.get("image"))
    query.flavor = _tail(params.get("flavor"))
    query.reservation_id = params.get("reservation_id")
    query.availability_zone = params.get("availability_zone")
    query.key_name = params.get("key_name")
    query.uuid = params.get("uuid")
    query.ip = params.get("ip")
    if admin:
        query.host, query.node = params.get("host"), params.get("node")
        query.user_id = params.get("user_id")
        if call.version >= "2.73" and params.get("locked") is not None:
            query.locked = _strict_bool(params.get("locked"), "locked")
    if call.version >= "2.26":
        query.tags = _csv(params.get("tags"))
        query.tags_any = _csv(params.get("tags-any"))
        query.not_tags = _csv(params.get("not-tags"))
        query.not_tags_any = _csv(params.get("not-tags-any"))
    query.sort = _sort(call, admin)
    return query


def _status_filter(call: Call, query: ServerQuery) -> None:
    status = call.query.get("status")
    if status is None:
        return
    if status.upper() == "DELETED":
        query.deleted_only = True
    query.vm_states = states.vm_states_for_status(status) or ["__none__"]
    query.task_states = states.task_states_for_status(status)


def _tail(value: str | None) -> str | None:
    return None if value is None else value.rstrip("/").rsplit("/", 1)[-1]


def _csv(value: str | None) -> list[str]:
    return [item for item in (value or "").split(",") if item]


def _strict_bool(value: str | None, name: str) -> bool:
    word = (value or "").strip().lower()
    if word in ("true", "1", "yes", "t", "on"):
        return True
    if word in ("false", "0", "no", "f", "off"):
        return False
    raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}. '{value}' is not a valid boolean")


def _time(call: Call, name: str) -> dt.datetime | None:
    raw = call.query.get(name)
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. '{raw}' is not a 'date-time'") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _sort(call: Call, admin: bool) -> list[tuple[str, bool]]:
    keys = call.query.getlist("sort_key")
    dirs = call.query.getlist("sort_dir")
    if not keys:
        return [("created_at", (dirs[0] if dirs else "desc").lower() != "asc")]
    out = []
    for index, key in enumerate(keys):
        if key not in backend.SORT_KEYS:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
        if key in backend.ADMIN_SORT_KEYS and not admin:
            continue  # Nova ignores sort keys a non-admin may not use
        direction = (dirs[index] if index < len(dirs) else dirs[-1] if dirs else "desc").lower()
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {direction}.")
        out.append((key, direction == "desc"))
    return out or [("created_at", True)]


# -- show, update, delete -------------------------------------------------------------------------
@api.route("GET", "/v2.1/servers/{server_id}")
def show_server(call: Call) -> dict[str, Any]:
    server = get_server(call, rule("show"))
    return {"server": look(call).show(server, groups_of(call, server))}


def groups_of(call: Call, server: Server) -> list[str]:
    """The server's groups, read only where the answer shows them (2.71+)."""
    return server_groups.groups_of_server(call.db, server.uuid) if call.version >= "2.71" else []


@api.route("PUT", "/v2.1/servers/{server_id}")
def update_server(call: Call) -> dict[str, Any]:
    server = get_server(call, rule("update"), for_write=True)
    change = call.body(ServerUpdate, "server")
    given = change.model_dump(exclude_unset=True, by_alias=False)
    if "description" in given and not call.version >= "2.19":
        raise BadRequest("Invalid input for field/attribute server. Additional properties are not allowed ('description' was unexpected)")
    if "hostname" in given and not call.version >= "2.90":
        raise BadRequest("Invalid input for field/attribute server. Additional properties are not allowed ('hostname' was unexpected)")
    if "hostname" in given:
        check_hostname(given["hostname"], call.version)
    columns = {
        "name": "name",
        "description": "description",
        "accessIPv4": "access_ip_v4",
        "accessIPv6": "access_ip_v6",
        "hostname": "hostname",
    }
    backend.update_server(server, {columns[k]: v for k, v in given.items() if k in columns})
    backend.set_disk_config(server, given.get("disk_config"))
    return {"server": look(call).updated(server, groups_of(call, server))}


@api.route("DELETE", "/v2.1/servers/{server_id}", status=204)
def delete_server(call: Call) -> Response:
    server = get_server(call, rule("delete"), for_write=True)
    if backend.delete_server(call.db, call.ctx, server):
        wake_agent(call)
    return Response(status_code=204)


# -- addresses (filled once networking exists) --------------------------------------------------
@api.route("GET", "/v2.1/servers/{server_id}/ips")
def list_addresses(call: Call) -> dict[str, Any]:
    server = get_server(call, "os_compute_api:ips:index")
    return {"addresses": _plain_addresses(call, server)}


@api.route("GET", "/v2.1/servers/{server_id}/ips/{network}")
def show_addresses(call: Call) -> dict[str, Any]:
    server = get_server(call, "os_compute_api:ips:show")
    addresses = _plain_addresses(call, server)
    if call.params["network"] not in addresses:
        raise NotFound("Instance is not a member of specified network")
    return {call.params["network"]: addresses[call.params["network"]]}


def _plain_addresses(call: Call, server: Server) -> dict[str, Any]:
    """/ips shows only version and addr (no OS-EXT-IPS fields), as Nova's."""
    return views.plain_addresses(look(call).addresses(server))


# -- metadata -------------------------------------------------------------------------------
META = "os_compute_api:server-metadata:"


@api.route("GET", "/v2.1/servers/{server_id}/metadata")
def list_metadata(call: Call) -> dict[str, Any]:
    return {"metadata": get_server(call, META + "index").metadata_dict}


@api.route("POST", "/v2.1/servers/{server_id}/metadata")
def update_metadata(call: Call) -> dict[str, Any]:
    server = get_server(call, META + "update", for_write=True)
    items = call.body(MetadataBody).metadata
    _refuse_while_building(server, "update metadata")
    return {"metadata": backend.set_metadata(call.db, call.cloud.settings.compute, call.ctx, server, items, replace=False)}


@api.route("PUT", "/v2.1/servers/{server_id}/metadata")
def replace_metadata(call: Call) -> dict[str, Any]:
    server = get_server(call, META + "update_all", for_write=True)
    items = call.body(MetadataBody).metadata
    _refuse_while_building(server, "update metadata")
    return {"metadata": backend.set_metadata(call.db, call.cloud.settings.compute, call.ctx, server, items, replace=True)}


@api.route("GET", "/v2.1/servers/{server_id}/metadata/{key}")
def show_metadata_item(call: Call) -> dict[str, Any]:
    metadata = get_server(call, META + "show").metadata_dict
    key = call.params["key"]
    if key not in metadata:
        raise NotFound("Metadata item was not found")
    return {"meta": {key: metadata[key]}}


@api.route("PUT", "/v2.1/servers/{server_id}/metadata/{key}")
def set_metadata_item(call: Call) -> dict[str, Any]:
    server = get_server(call, META + "create", for_write=True)
    meta = call.body(MetaItemBody).meta
    if call.params["key"] not in meta:
        raise BadRequest("Request body and URI mismatch")
    _refuse_while_building(server, "update metadata")
    backend.set_metadata(call.db, call.cloud.settings.compute, call.ctx, server, meta, replace=False)
    return {"meta": meta}


@api.route("DELETE", "/v2.1/servers/{server_id}/metadata/{key}", status=204)
def delete_metadata_item(call: Call) -> Response:
    server = get_server(call, META + "delete", for_write=True)
    _refuse_while_building(server, "delete metadata")
    backend.delete_metadata_item(server, call.params["key"])
    return Response(status_code=204)


def _refuse_while_building(server: Server, action: str) -> None:
    """Nova changes metadata only in these states (check_instance_state in compute/api.py)."""
    allowed = {
        states.ACTIVE,
        states.PAUSED,
        states.SUSPENDED,
        states.STOPPED,
        states.SHELVED,
        states.SHELVED_OFFLOADED,
        states.BUILDING,
        states.RESIZED,
        states.RESCUED,
    }
    states.check_state(server, action, allowed, None)


# -- tags (2.26+) -------------------------------------------------------------------------------
TAGS = "os_compute_api:os-server-tags:"


@api.route("GET", "/v2.1/servers/{server_id}/tags", min_version="2.26")
def list_tags(call: Call) -> dict[str, Any]:
    return {"tags": get_server(call, TAGS + "index").tags}


@api.route("PUT", "/v2.1/servers/{server_id}/tags", min_version="2.26")
def replace_tags(call: Call) -> dict[str, Any]:
    server = get_server(call, TAGS + "update_all", for_write=True)
    return {"tags": backend.set_tags(server, call.body(TagsBody).tags)}


@api.route("DELETE", "/v2.1/servers/{server_id}/tags", min_version="2.26", status=204)
def delete_tags(call: Call) -> Response:
    server = get_server(call, TAGS + "delete_all", for_write=True)
    backend.set_tags(server, [])
    return Response(status_code=204)


@api.route("GET", "/v2.1/servers/{server_id}/tags/{tag}", min_version="2.26", status=204)
def check_tag(call: Call) -> Response:
    server = get_server(call, TAGS + "show")
    if call.params["tag"] not in server.tags:
        raise NotFound(f"Tag {call.params['tag']} could not be found.")
    return Response(status_code=204)


@api.route("PUT", "/v2.1/servers/{server_id}/tags/{tag}", min_version="2.26")
def add_tag(call: Call) -> Response:
    server = get_server(call, TAGS + "update", for_write=True)
    tag = call.params["tag"]
    try:
        check_tags([tag])
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    fresh = backend.add_tag(server, tag)
    location = call.url(f"/v2.1/servers/{server.uuid}/tags/{tag}")
    return Response(status_code=201 if fresh else 204, headers={"Location": location})


@api.route("DELETE", "/v2.1/servers/{server_id}/tags/{tag}", min_version="2.26", status=204)
def delete_tag(call: Call) -> Response:
    server = get_server(call, TAGS + "delete", for_write=True)
    backend.delete_tag(server, call.params["tag"])
    return Response(status_code=204)

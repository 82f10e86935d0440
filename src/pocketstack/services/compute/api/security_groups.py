"""Nova's security-group APIs, backed by the networking service's groups:

POST /v2.1/servers/{id}/action  addSecurityGroup / removeSecurityGroup {"name": name or id}
GET  /v2.1/servers/{id}/os-security-groups   the groups of the server's ports, with rules
/v2.1/os-security-groups[/{id}]              list (all_tenants for admins), create, show,
                                             update, delete (deprecated proxies: 404 from 2.36)
/v2.1/os-security-group-rules[/{id}]         create, delete (likewise)

Nova answers Neutron's refusals in its own codes, which differ by operation: a group in
use (or the default group) cannot be deleted: 400; a group or rule over quota (and a
group named "default"): 403; a rule that already exists: 400 (the backend's).

Without the networking service there are no groups: the lists are empty and everything
else is 404, as Nova answers for a group it cannot find."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, Conflict, Forbidden, NotFound, nova_fault
from pocketstack.core.ids import is_uuid

from ..views import security_groups as views
from .server_actions import action
from .servers import get_server, networking_on, own_project

if TYPE_CHECKING:
    from ..backend.security_groups import NovaRule

api = ApiRouter(nova_fault)

PROXY_MAX = "2.35"
MAX_LIMIT = 1000  # Nova's [api] max_limit
GROUPS = "/v2.1/os-security-groups"
GROUP = "/v2.1/os-security-groups/{group_id}"
RULES = "/v2.1/os-security-group-rules"
RULE = "/v2.1/os-security-group-rules/{rule_id}"


def backend() -> ModuleType:
    """The backend, imported when first needed: it loads the networking service's modules,
    which a cloud without networking never needs (as compute/networking.py does)."""
    from ..backend import security_groups

    return security_groups


def rule(name: str) -> str:
    return f"os_compute_api:os-security-groups:{name}"


def require_networking(call: Call, message: str) -> None:
    if not networking_on(call):
        raise NotFound(message)


# -- server actions -------------------------------------------------------------------------
@action("addSecurityGroup")
def add_security_group(call: Call, argument: Any) -> None:
    name = _group_name(argument, "addSecurityGroup")
    server = get_server(call, rule("add"))
    _check_not_blank(name)
    require_networking(call, f"Security group {name} is not found for project {call.ctx.project_id}")
    backend().add_to_server(call.db, call.ctx, server, name)


@action("removeSecurityGroup")
def remove_security_group(call: Call, argument: Any) -> None:
    name = _group_name(argument, "removeSecurityGroup")
    server = get_server(call, rule("remove"))
    _check_not_blank(name)
    require_networking(call, f"Security group {name} is not found for project {call.ctx.project_id}")
    backend().remove_from_server(call.db, call.ctx, server, name)


def _group_name(argument: Any, action_name: str) -> str:
    """Nova's schema of both actions: {"name": a non-empty string}, nothing else."""
    if not isinstance(argument, dict):
        raise BadRequest(f"Invalid input for field/attribute {action_name}. Value: {argument}. {argument!r} is not of type 'object'")
    extra = sorted(set(argument) - {"name"})
    if extra:
        raise BadRequest(
            f"Invalid input for field/attribute {action_name}. Value: {argument}. "
            f"Additional properties are not allowed ({', '.join(repr(e) for e in extra)} was unexpected)"
        )
    if "name" not in argument:
        raise BadRequest(f"Invalid input for field/attribute {action_name}. Value: {argument}. 'name' is a required property")
    name = argument["name"]
    if not isinstance(name, str):
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name}. {name!r} is not of type 'string'")
    if not name:
        raise BadRequest("Invalid input for field/attribute name. Value: . '' should be non-empty")
    return name


def _check_not_blank(name: str) -> None:
    if not name.strip():
        raise BadRequest("Security group name cannot be empty")


# -- a server's groups --------------------------------------------------------------------------
@api.route("GET", "/v2.1/servers/{server_id}/os-security-groups")
def list_server_security_groups(call: Call) -> dict[str, Any]:
    server = get_server(call, rule("list"))
    if not networking_on(call):
        return {"security_groups": []}
    groups = backend().server_groups(call.db, call.ctx, server)
    return {"security_groups": _views(call, groups)}


def _views(call: Call, groups: list[Any]) -> list[dict[str, Any]]:
    remotes = backend().remote_groups(call.db, call.ctx, groups)
    return views.sorted_groups([views.group(group, remotes) for group in groups])


# -- os-security-groups (deprecated proxy) -------------------------------------------------------
# listing makes the caller's default group (as Neutron's listing does): a write
@api.route("GET", GROUPS, max_version=PROXY_MAX, tx="write")
def list_security_groups(call: Call) -> dict[str, Any]:
    call.authorize(rule("get"), own_project(call))
    offset, limit = _paging(call)
    if not networking_on(call):
        return {"security_groups": []}
    # Nova: any all_tenants value counts, for an admin
    all_projects = call.ctx.is_admin and "all_tenants" in call.query
    page = backend().list_groups(call.db, call.ctx, all_projects=all_projects)[offset : offset + limit]
    return {"security_groups": _views(call, page)}


def _paging(call: Call) -> tuple[int, int]:
    """Nova's common.limited: offset and limit non-negative integers; a limit of 0 or
    none, or above the maximum, is the maximum."""
    values = {}
    for name in ("offset", "limit"):
        raw = call.query.get(name)
        if raw is None:
            values[name] = 0
            continue
        if not raw.strip().isdigit():
            raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. It is not a non-negative integer.")
        values[name] = int(raw)
    return values["offset"], min(MAX_LIMIT, values["limit"] or MAX_LIMIT)


@api.route("POST", GROUPS, max_version=PROXY_MAX)
def create_security_group(call: Call) -> dict[str, Any]:
    name, description = _group_body(call)
    call.authorize(rule("create"), own_project(call))
    require_networking(call, "Security groups need the networking service, which this cloud does not run.")
    try:
        group = backend().create_group(call.db, call.ctx, name, description)
    except Conflict as exc:  # Neutron's 409s here (over quota, "default"): Nova's 403
        raise Forbidden(exc.message) from None
    return {"security_group": views.group(group, {group.id: group})}


@api.route("GET", GROUP, max_version=PROXY_MAX)
def show_security_group(call: Call) -> dict[str, Any]:
    call.authorize(rule("show"), own_project(call))
    group = _group(call)
    return {"security_group": _views(call, [group])[0]}


@api.route("PUT", GROUP, max_version=PROXY_MAX)
def update_security_group(call: Call) -> dict[str, Any]:
    name, description = _group_body(call)
    call.authorize(rule("update"), own_project(call))
    group = _group(call)
    try:
        backend().update_group(call.db, group, name, description)
    except Conflict as exc:  # renaming the default group: Neutron's 409, a bad request to Nova
        raise BadRequest(exc.message) from None
    return {"security_group": _views(call, [group])[0]}


@api.route("DELETE", GROUP, max_version=PROXY_MAX, status=202)
def delete_security_group(call: Call) -> Response:
    call.authorize(rule("delete"), own_project(call))
    group = _group(call)
    try:
        backend().delete_group(call.db, call.ctx, group)
    except Conflict as exc:  # in use, or the default group: Nova's 400
        raise BadRequest(exc.message) from None
    return Response(status_code=202)


def _group(call: Call) -> Any:
    group_id = call.params["group_id"]
    require_networking(call, f"Security group {group_id} not found.")
    return backend().get_group(call.db, call.ctx, group_id)


def _group_body(call: Call) -> tuple[str, str]:
    """Nova's schema: {"security_group": {"name", "description"}}, both strings of at most
    255 characters (other keys are ignored)."""
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("security_group"), dict):
        raise BadRequest("Invalid input for field/attribute security_group. 'security_group' is a required property and an object")
    spec = body["security_group"]
    values = []
    for field in ("name", "description"):
        if field not in spec:
            raise BadRequest(f"Invalid input for field/attribute security_group. Value: {spec}. '{field}' is a required property")
        value = spec[field]
        if not isinstance(value, str):
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {value!r} is not of type 'string'")
        if len(value) > 255:
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {value!r} is too long")
        values.append(value)
    return values[0], values[1]


# -- os-security-group-rules (deprecated proxy) ---------------------------------------------------
@api.route("POST", RULES, max_version=PROXY_MAX)
def create_security_group_rule(call: Call) -> dict[str, Any]:
    asked = _rule_body(call)
    call.authorize(rule("rule:create"), own_project(call))
    require_networking(call, f"Security group {asked.parent_group_id} not found.")
    try:
        made, remote = backend().create_rule(call.db, call.ctx, asked)
    except Conflict as exc:  # over quota: Nova's 403
        raise Forbidden(exc.message) from None
    return {"security_group_rule": views.rule(made, remote)}


def _rule_body(call: Call) -> NovaRule:
    """Nova's schema: parent_group_id a UUID, group_id a UUID or null; the protocol, ports
    and CIDR are checked later, as Nova checks them."""
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("security_group_rule"), dict):
        raise BadRequest(
            "Invalid input for field/attribute security_group_rule. 'security_group_rule' is a required property and an object"
        )
    spec = body["security_group_rule"]
    if "parent_group_id" not in spec:
        raise BadRequest(f"Invalid input for field/attribute security_group_rule. Value: {spec}. 'parent_group_id' is a required property")
    for field in ("parent_group_id", "group_id"):
        value = spec.get(field)
        if (value is not None or field == "parent_group_id") and not is_uuid(value):
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {value!r} is not a 'uuid'")
    return backend().NovaRule(
        parent_group_id=spec["parent_group_id"],
        group_id=spec.get("group_id"),
        ip_protocol=spec.get("ip_protocol"),
        from_port=spec.get("from_port"),
        to_port=spec.get("to_port"),
        cidr=spec.get("cidr"),
    )


@api.route("DELETE", RULE, max_version=PROXY_MAX, status=202)
def delete_security_group_rule(call: Call) -> Response:
    call.authorize(rule("rule:delete"), own_project(call))
    rule_id = call.params["rule_id"]
    require_networking(call, f"Security group rule {rule_id} not found.")
    backend().delete_rule(call.db, backend().get_rule(call.db, call.ctx, rule_id))
    return Response(status_code=202)

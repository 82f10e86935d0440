"""Tags of every resource with standard attributes (the standard-attr-tag extension):

    GET    /v2.0/{resources}/{id}/tags          {"tags": [...]}
    PUT    /v2.0/{resources}/{id}/tags          replace all: {"tags": [...]} -> 200
    POST   /v2.0/{resources}/{id}/tags          add several -> 201
    DELETE /v2.0/{resources}/{id}/tags          remove all -> 204
    GET    /v2.0/{resources}/{id}/tags/{tag}    204 if present, 404 if not
    PUT    /v2.0/{resources}/{id}/tags/{tag}    add one -> 201
    DELETE /v2.0/{resources}/{id}/tags/{tag}    remove one -> 204

Checked with "<action>_<resource>:tags" rules. A resource the caller cannot see is 404.
Every change is a change of the resource: its revision_number moves. Another resource
joins by adding a Taggable to TAGGABLE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, neutron_fault

from ..backend import floating_ips, networks, ports, routers, security_groups, subnetpools, subnets
from ..backend.common import Viewer
from ..common import standard
from ..common.authorize import authorize_or_hide
from ..faults import (
    FloatingIPNotFound,
    NetworkNotFound,
    PortNotFound,
    RouterNotFound,
    SecurityGroupNotFound,
    SubnetNotFound,
    SubnetPoolNotFound,
)

api = ApiRouter(neutron_fault)


@dataclass(frozen=True)
class Taggable:
    collection: str  # as in the URL: "networks", "security-groups"
    resource: str  # as in policy rules: "network", "security_group"
    find: Callable[[Any, Viewer, str], Any]
    target: Callable[[Any, str | None], dict[str, Any]]
    not_found: Callable[[str], Exception]


TAGGABLE = (
    Taggable("networks", "network", networks.get_network, networks.policy_target, NetworkNotFound),
    Taggable("subnets", "subnet", subnets.get_subnet, subnets.policy_target, SubnetNotFound),
    Taggable("ports", "port", ports.get_port, lambda port, caller: ports.policy_target(port, port.network, caller=caller), PortNotFound),
    Taggable(
        "security-groups",
        "security_group",
        security_groups.get_group,
        lambda group, _: security_groups.group_target(group),
        SecurityGroupNotFound,
    ),
    Taggable("subnetpools", "subnetpool", subnetpools.get_pool, lambda pool, _: subnetpools.policy_target(pool), SubnetPoolNotFound),
    Taggable("routers", "router", routers.get_router, lambda router, _: routers.policy_target(router), RouterNotFound),
    Taggable("floatingips", "floatingip", floating_ips.get_floating_ip, lambda fip, _: floating_ips.policy_target(fip), FloatingIPNotFound),
)


def _resource(call: Call, kind: Taggable, action: str) -> Any:
    call.require_auth()
    resource_id = call.params["resource_id"]
    row = kind.find(call.db, Viewer.of(call.ctx), resource_id)
    rule = f"{action}_{kind.resource}:tags"
    authorize_or_hide(call, rule, kind.target(row, call.ctx.project_id), f"get_{kind.resource}", kind.not_found(resource_id))
    return row


def _tags_body(call: Call) -> list[str]:
    body = call.json()
    if not isinstance(body, dict) or "tags" not in body:
        raise BadRequest("Invalid input for operation: Invalid tags body.")
    return standard.check_tags(body["tags"])


def _routes(kind: Taggable) -> None:
    base = f"/v2.0/{kind.collection}/{{resource_id}}/tags"

    @api.route("GET", base)
    def list_tags(call: Call) -> dict[str, Any]:
        return {"tags": _resource(call, kind, "get").tags}

    @api.route("PUT", base)
    def replace_tags(call: Call) -> dict[str, Any]:
        tags = _tags_body(call)
        row = _resource(call, kind, "update")
        standard.replace_tags(call.db, row, tags, kind.collection)
        return {"tags": row.tags}

    @api.route("POST", base, status=201)
    def add_tags(call: Call) -> dict[str, Any]:
        tags = _tags_body(call)
        row = _resource(call, kind, "create")
        standard.add_tags(call.db, row, tags, kind.collection)
        return {"tags": row.tags}

    @api.route("DELETE", base, status=204)
    def remove_all_tags(call: Call) -> None:
        row = _resource(call, kind, "delete")
        standard.replace_tags(call.db, row, [], kind.collection)

    @api.route("GET", base + "/{tag}", status=204)
    def check_tag(call: Call) -> None:
        tag = standard.check_tag(call.params["tag"])
        standard.require_tag(_resource(call, kind, "get"), tag)

    @api.route("PUT", base + "/{tag}")
    def add_tag(call: Call) -> Response:
        tag = standard.check_tag(call.params["tag"])
        row = _resource(call, kind, "update")
        if tag not in row.tags:
            standard.add_tags(call.db, row, [tag], kind.collection)
        return Response(status_code=201)

    @api.route("DELETE", base + "/{tag}", status=204)
    def remove_tag(call: Call) -> None:
        tag = standard.check_tag(call.params["tag"])
        standard.remove_tag(call.db, _resource(call, kind, "delete"), tag)


for _kind in TAGGABLE:
    _routes(_kind)

"""Nova's deprecated networking proxies for floating and fixed IPs, backed by the
networking service's floating IPs and ports:

/v2.1/os-floating-ips[/{id}]          list (the caller's project's), show, allocate from a
                                      pool, release (404 from 2.36, as the other proxies)
/v2.1/os-floating-ip-pools            the external networks, by name (likewise)
POST /v2.1/servers/{id}/action        addFloatingIp / removeFloatingIp, addFixedIp /
                                      removeFixedIp (multinic) (404 from 2.44)

Without the networking service there are no pools, floating IPs, nor server addresses:
the lists are empty and the rest answers as Nova does for what it cannot find."""

from __future__ import annotations

import ipaddress
from types import ModuleType
from typing import Any

from starlette.responses import Response

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, Conflict, NotFound, nova_fault

from ..backend import servers as server_backend
from ..views import floating_ips as views
from .server_actions import action
from .servers import get_server, networking_on, own_project

api = ApiRouter(nova_fault)

PROXY_MAX = "2.35"  # os-floating-ips, os-floating-ip-pools
ACTION_MAX = "2.43"  # the four server actions
FLOATING_IPS = "/v2.1/os-floating-ips"
FLOATING_IP = "/v2.1/os-floating-ips/{floating_ip_id}"


def backend() -> ModuleType:
    """The backend, imported when first needed: it loads the networking service's modules,
    which a cloud without networking never needs (as compute/networking.py does)."""
    from ..backend import floating_ips

    return floating_ips


def rule(name: str) -> str:
    return f"os_compute_api:os-floating-ips:{name}"


# -- os-floating-ip-pools ------------------------------------------------------------------
@api.route("GET", "/v2.1/os-floating-ip-pools", max_version=PROXY_MAX)
def list_floating_ip_pools(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-floating-ip-pools", {})
    if not networking_on(call):
        return {"floating_ip_pools": []}
    return {"floating_ip_pools": [views.pool(network) for network in backend().pools(call.db, call.ctx)]}


# -- os-floating-ips ------------------------------------------------------------------------
@api.route("GET", FLOATING_IPS, max_version=PROXY_MAX)
def list_floating_ips(call: Call) -> dict[str, Any]:
    call.authorize(rule("list"), own_project(call))
    if not networking_on(call):
        return {"floating_ips": []}
    return {"floating_ips": _views(call, backend().project_floating_ips(call.db, call.ctx))}


@api.route("GET", FLOATING_IP, max_version=PROXY_MAX)
def show_floating_ip(call: Call) -> dict[str, Any]:
    call.authorize(rule("show"), own_project(call))
    return {"floating_ip": _views(call, [_floating_ip(call)])[0]}


@api.route("POST", FLOATING_IPS, max_version=PROXY_MAX)
def create_floating_ip(call: Call) -> dict[str, Any]:
    pool = _pool(call)
    call.authorize(rule("create"), own_project(call))
    if not networking_on(call):
        raise NotFound("Floating IP pool not found.")
    fip = backend().allocate(call.db, call.ctx, pool)
    return {"floating_ip": _views(call, [fip])[0]}


@api.route("DELETE", FLOATING_IP, max_version=PROXY_MAX, status=202)
def delete_floating_ip(call: Call) -> Response:
    call.authorize(rule("delete"), own_project(call))
    backend().release(call.db, _floating_ip(call))
    return Response(status_code=202)


def _floating_ip(call: Call) -> Any:
    # Neutron finds no floating IP by an id that is no UUID: Nova's 404, never its 400
    fip_id = call.params["floating_ip_id"]
    if not networking_on(call):
        raise NotFound(f"Floating IP not found for ID {fip_id}")
    return backend().get_floating_ip(call.db, call.ctx, fip_id)


def _views(call: Call, fips: list[Any]) -> list[dict[str, Any]]:
    names = backend().pool_names(call.db, fips)
    return [views.floating_ip(fip, names[fip.floating_network_id]) for fip in fips]


def _pool(call: Call) -> str | None:
    """Nova's schema: no body, null, or an object whose "pool" is a string or null (other
    keys are ignored)."""
    body = call.json() if call.raw_body.strip() else None
    if body is None:
        return None
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute body. Value: {body}. {body!r} is not of type 'object', 'null'")
    pool = body.get("pool")
    if pool is not None and not isinstance(pool, str):
        raise BadRequest(f"Invalid input for field/attribute pool. Value: {pool}. {pool!r} is not of type 'string', 'null'")
    return pool


# -- addFloatingIp / removeFloatingIp ---------------------------------------------------------
@action("addFloatingIp", max_version=ACTION_MAX)
def add_floating_ip(call: Call, argument: Any) -> None:
    fields = _fields(argument, "addFloatingIp", required=("address",), optional=("fixed_address",))
    address = _ip_address(fields["address"], "address")
    fixed_address = _ip_address(fields["fixed_address"], "fixed_address") if "fixed_address" in fields else None
    server = get_server(call, rule("add"))
    if not networking_on(call):
        raise BadRequest("Instance network is not ready yet")
    backend().associate(call.db, call.ctx, server, address, fixed_address)


@action("removeFloatingIp", max_version=ACTION_MAX)
def remove_floating_ip(call: Call, argument: Any) -> None:
    """As Nova: the server in the URL is not looked up; the floating IP's own server is,
    and must be it (else 409)."""
    address = _ip_address(_fields(argument, "removeFloatingIp", required=("address",))["address"], "address")
    call.require_auth()
    server_id = call.params["server_id"]
    if not networking_on(call):
        raise NotFound(f"Floating IP not found for address {address}.")
    fip, server = backend().associated_with(call.db, call.ctx, address)
    # Nova checks an unassociated floating IP against an empty target (so only an admin
    # gets on to the 409); its own project is the target that means something
    target = server_backend.policy_target(server) if server is not None else {"project_id": fip.project_id}
    call.authorize(rule("remove"), target)
    if server is None or server.uuid != server_id:
        raise Conflict(f"Floating IP {address} is not associated with instance {server_id}.")
    backend().disassociate(call.db, call.ctx, fip)


# -- addFixedIp / removeFixedIp (multinic) -------------------------------------------------------
@action("addFixedIp", max_version=ACTION_MAX)
def add_fixed_ip(call: Call, argument: Any) -> None:
    network_id = _network_id(_fields(argument, "addFixedIp", required=("networkId",))["networkId"])
    server = _unlocked_server(call, "os_compute_api:os-multinic:add")
    if not networking_on(call):
        raise BadRequest(f"Network could not be found for instance {server.uuid}.")
    backend().add_fixed_ip(call.db, call.ctx, server, network_id)


@action("removeFixedIp", max_version=ACTION_MAX)
def remove_fixed_ip(call: Call, argument: Any) -> None:
    address = _ip_address(_fields(argument, "removeFixedIp", required=("address",))["address"], "address")
    server = _unlocked_server(call, "os_compute_api:os-multinic:remove")
    if not networking_on(call):
        raise BadRequest(f"Instance {server.uuid} does not have fixed IP '{address}'.")
    backend().remove_fixed_ip(call.db, call.ctx, server, address)


def _unlocked_server(call: Call, rule_name: str) -> Any:
    try:
        return get_server(call, rule_name, for_write=True)
    except Conflict as exc:  # Nova's InstanceIsLocked reaches multinic's caller as a plain Invalid: 400
        raise BadRequest(exc.message) from None


# -- Nova's schemas of the actions ----------------------------------------------------------------
def _fields(argument: Any, action_name: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object with the required keys, and no key but those and the optional ones."""
    prefix = f"Invalid input for field/attribute {action_name}. Value: {argument}."
    if not isinstance(argument, dict):
        raise BadRequest(f"{prefix} {argument!r} is not of type 'object'")
    extra = sorted(set(argument) - {*required, *optional})
    if extra:
        raise BadRequest(f"{prefix} Additional properties are not allowed ({', '.join(repr(e) for e in extra)} was unexpected)")
    for name in required:
        if name not in argument:
            raise BadRequest(f"{prefix} '{name}' is a required property")
    return argument


def _ip_address(value: Any, field: str) -> str:
    """Nova's parameter_types.ip_address: a string that is an IPv4 or IPv6 address."""
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {value!r} is not of type 'string'")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise BadRequest(
            f"Invalid input for field/attribute {field}. Value: {value}. {value!r} is not valid under any of the given schemas"
        ) from None
    return value


def _network_id(value: Any) -> str:
    """Nova's schema of networkId: a string of 1 to 36 characters, or a number."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadRequest(f"Invalid input for field/attribute networkId. Value: {value}. {value!r} is not of type 'string', 'number'")
    if isinstance(value, str) and not 1 <= len(value) <= 36:
        reason = "should be non-empty" if not value else "is too long"
        raise BadRequest(f"Invalid input for field/attribute networkId. Value: {value}. {value!r} {reason}")
    return str(value)

"""Remote consoles: POST /servers/{id}/remote-consoles (2.6+), the older os-get*Console
server actions it replaced (2.1-2.5), and GET /os-console-auth-tokens/{token} (admins,
2.31+). Only VNC in noVNC is served; the other protocols get Nova's 400 for a console
type that is not enabled. The URL's token and the proxy behind it: ../consoles.py."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, NotFound, nova_fault

from ..models import Server
from .server_actions import action
from .servers import get_server

api = ApiRouter(nova_fault)

RULE = "os_compute_api:os-remote-consoles"
TOKENS_RULE = "os_compute_api:os-console-auth-tokens"

# what Nova's request schemas accept (mks/webmks from 2.8); which of them is served is decided later
PROTOCOLS = ["vnc", "spice", "serial", "rdp"]
TYPES = ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"]
MKS_VERSION = "2.8"
# the legacy actions, their console type enums and the last version they exist at
LEGACY_MAX_VERSION = "2.5"
LEGACY_ACTIONS = {
    "os-getVNCConsole": ("vnc", ["novnc", "xvpvnc"]),
    "os-getSPICEConsole": ("spice", ["spice-html5"]),
    "os-getSerialConsole": ("serial", ["serial"]),
}


@api.route("POST", "/v2.1/servers/{server_id}/remote-consoles", min_version="2.6")  # writes the token
def create_remote_console(call: Call) -> dict[str, Any]:
    call.require_auth()
    protocol, console_type = _remote_console(call.json(), call.version)
    server = get_server(call, RULE)
    if protocol == "rdp":
        raise BadRequest("Unavailable console type rdp.")  # Nova removed RDP with Hyper-V
    url = _console_url(call, server, protocol, console_type)
    return {"remote_console": {"protocol": protocol, "type": console_type, "url": url}}


def _remote_console(body: Any, version: Any) -> tuple[str, str]:
    if not isinstance(body, dict) or "remote_console" not in body:
        raise BadRequest("Invalid input for field/attribute remote_console. 'remote_console' is a required property")
    _no_other_keys(body, {"remote_console"})
    spec = body["remote_console"]
    if not isinstance(spec, dict):
        raise BadRequest(f"Invalid input for field/attribute remote_console. Value: {spec}. {spec!r} is not of type 'object'")
    _no_other_keys(spec, {"protocol", "type"})
    protocols, types = list(PROTOCOLS), list(TYPES)
    if version >= MKS_VERSION:
        protocols.append("mks")
        types.append("webmks")
    return _one_of(spec, "protocol", protocols), _one_of(spec, "type", types)


def _one_of(spec: dict[str, Any], field: str, allowed: list[str]) -> str:
    if field not in spec:
        raise BadRequest(f"Invalid input for field/attribute {field}. '{field}' is a required property")
    value = spec[field]
    if not isinstance(value, str) or value not in allowed:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {value!r} is not one of {allowed}")
    return value


def _no_other_keys(spec: dict[str, Any], allowed: set[str]) -> None:
    unexpected = sorted(set(spec) - allowed)
    if unexpected:
        names = ", ".join(repr(k) for k in unexpected)
        raise BadRequest(f"Additional properties are not allowed ({names} {'was' if len(unexpected) == 1 else 'were'} unexpected)")


def _console_url(call: Call, server: Server, protocol: str, console_type: str) -> str:
    return call.cloud.compute.consoles.console_url(call.db, server, protocol, console_type, call.service_root)


# -- the server actions of 2.1-2.5 ----------------------------------------------------------------
def _legacy(action_name: str) -> Any:
    protocol, types = LEGACY_ACTIONS[action_name]

    def handler(call: Call, argument: Any) -> dict[str, Any]:
        call.require_auth()
        if call.version > LEGACY_MAX_VERSION:
            # Nova: an action that does not exist at the requested version is not found
            raise NotFound("The resource could not be found.")
        if not isinstance(argument, dict):
            raise BadRequest(f"Invalid input for field/attribute {action_name}. Value: {argument}. {argument!r} is not of type 'object'")
        _no_other_keys(argument, {"type"})
        console_type = _one_of(argument, "type", types)
        server = get_server(call, RULE)
        return {"console": {"type": console_type, "url": _console_url(call, server, protocol, console_type)}}

    handler.__name__ = handler.__qualname__ = action_name.replace("-", "_")
    return action(action_name)(handler)


for _name in LEGACY_ACTIONS:
    _legacy(_name)


@action("os-getRDPConsole")
def rdp_console(call: Call, argument: Any) -> None:
    call.require_auth()
    if call.version > LEGACY_MAX_VERSION:
        raise NotFound("The resource could not be found.")
    # RDP consoles left Nova with its Hyper-V driver (29.0.0); Nova answers a bare 400
    raise BadRequest("Unavailable console type rdp-html5.")


# -- os-console-auth-tokens -----------------------------------------------------------------------
@api.route("GET", "/v2.1/os-console-auth-tokens/{token}", tx="none")
def show_console_auth_token(call: Call) -> dict[str, Any]:
    call.require_auth()
    if call.version < "2.31":
        # before 2.31 this showed RDP consoles only, and those are gone (Nova answers 400 first)
        raise BadRequest("The console auth tokens of this microversion are for RDP consoles, which are not available; use 2.31 or later.")
    call.authorize(TOKENS_RULE)
    grant = call.cloud.compute.consoles.tokens.validate(call.params["token"])
    if grant is None:
        raise NotFound("Token not found")
    return {
        "console": {
            "instance_uuid": grant.instance_uuid,
            "host": grant.host,
            # the display is a unix socket, not a TCP port: its path is the internal access path
            "port": 0,
            "internal_access_path": grant.internal_access_path,
        }
    }

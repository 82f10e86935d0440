"""The compute APIs Nova removed, still routed there to answer 410 Gone.

Nova kept their routes when it deleted them (nova-network, Cells v1, XenAPI, the EC2-era
certificates, XVP consoles) so that an old client learns the API is gone rather than
that it never existed: every method answers 410 with webob's text, whatever the
microversion, with no policy check and no look-up of the resource named. Only the
request itself is read first, as Nova's dispatcher does: a POST or PUT body that is not
JSON is a 400, and an /action body must name one of that resource's (removed) actions.

The live proxies on the same resources (GET os-networks, GET os-tenant-networks, ...)
are other modules' routes; a path here spells its parameter as they do, since one path
string is one route (see test_small_apis.py, which checks that no two differ only by a
parameter's name)."""

from __future__ import annotations

import json
from typing import Any

from pocketstack.core.api import ApiRouter, Call, Handler
from pocketstack.core.faults import BadRequest, Gone, nova_fault

from .server_actions import action

api = ApiRouter(nova_fault)

# webob's HTTPGone explanation (two spaces and all), which Nova sends as the message
GONE_MESSAGE = "This resource is no longer available.  No forwarding address is given."

# (method, path, the Nova release that removed it, the actions of an /action path)
REMOVED: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    # XenAPI guest agents
    ("GET", "/v2.1/os-agents", "22.0.0", ()),
    ("POST", "/v2.1/os-agents", "22.0.0", ()),
    ("PUT", "/v2.1/os-agents/{agent_id}", "22.0.0", ()),
    ("DELETE", "/v2.1/os-agents/{agent_id}", "22.0.0", ()),
    # Cells v1
    ("GET", "/v2.1/os-cells", "20.0.0", ()),
    ("POST", "/v2.1/os-cells", "20.0.0", ()),
    ("GET", "/v2.1/os-cells/capacities", "20.0.0", ()),
    ("GET", "/v2.1/os-cells/detail", "20.0.0", ()),
    ("GET", "/v2.1/os-cells/info", "20.0.0", ()),
    ("POST", "/v2.1/os-cells/sync_instances", "20.0.0", ()),
    ("GET", "/v2.1/os-cells/{cell_id}", "20.0.0", ()),
    ("PUT", "/v2.1/os-cells/{cell_id}", "20.0.0", ()),
    ("DELETE", "/v2.1/os-cells/{cell_id}", "20.0.0", ()),
    ("GET", "/v2.1/os-cells/{cell_id}/capacities", "20.0.0", ()),
    # EC2-era x509 certificates
    ("POST", "/v2.1/os-certificates", "16.0.0", ()),
    ("GET", "/v2.1/os-certificates/{certificate_id}", "16.0.0", ()),
    # nova-network
    ("GET", "/v2.1/os-cloudpipe", "16.0.0", ()),
    ("POST", "/v2.1/os-cloudpipe", "16.0.0", ()),
    ("PUT", "/v2.1/os-cloudpipe/{cloudpipe_id}", "16.0.0", ()),
    ("GET", "/v2.1/os-fixed-ips/{fixed_ip}", "18.0.0", ()),
    ("POST", "/v2.1/os-fixed-ips/{fixed_ip}/action", "18.0.0", ("reserve", "unreserve")),
    ("GET", "/v2.1/os-floating-ip-dns", "18.0.0", ()),
    ("PUT", "/v2.1/os-floating-ip-dns/{domain}", "18.0.0", ()),
    ("DELETE", "/v2.1/os-floating-ip-dns/{domain}", "18.0.0", ()),
    ("GET", "/v2.1/os-floating-ip-dns/{domain}/entries/{entry}", "18.0.0", ()),
    ("PUT", "/v2.1/os-floating-ip-dns/{domain}/entries/{entry}", "18.0.0", ()),
    ("DELETE", "/v2.1/os-floating-ip-dns/{domain}/entries/{entry}", "18.0.0", ()),
    ("GET", "/v2.1/os-floating-ips-bulk", "18.0.0", ()),
    ("POST", "/v2.1/os-floating-ips-bulk", "18.0.0", ()),
    ("GET", "/v2.1/os-floating-ips-bulk/{bulk_id}", "18.0.0", ()),
    ("PUT", "/v2.1/os-floating-ips-bulk/{bulk_id}", "18.0.0", ()),
    ("GET", "/v2.1/os-fping", "18.0.0", ()),
    ("GET", "/v2.1/os-fping/{fping_id}", "18.0.0", ()),
    ("POST", "/v2.1/os-networks", "21.0.0", ()),
    ("POST", "/v2.1/os-networks/add", "21.0.0", ()),
    ("DELETE", "/v2.1/os-networks/{network_id}", "21.0.0", ()),
    (
        "POST",
        "/v2.1/os-networks/{network_id}/action",
        "21.0.0",
        ("disassociate", "disassociate_host", "disassociate_project", "associate_host"),
    ),
    ("GET", "/v2.1/os-security-group-default-rules", "21.0.0", ()),
    ("POST", "/v2.1/os-security-group-default-rules", "21.0.0", ()),
    ("GET", "/v2.1/os-security-group-default-rules/{rule_id}", "21.0.0", ()),
    ("DELETE", "/v2.1/os-security-group-default-rules/{rule_id}", "21.0.0", ()),
    ("POST", "/v2.1/os-tenant-networks", "21.0.0", ()),
    ("DELETE", "/v2.1/os-tenant-networks/{network_id}", "21.0.0", ()),
    ("GET", "/v2.1/servers/{server_id}/os-virtual-interfaces", "18.0.0", ()),
    # XVP consoles (nova-console)
    ("GET", "/v2.1/servers/{server_id}/consoles", "21.0.0", ()),
    ("POST", "/v2.1/servers/{server_id}/consoles", "21.0.0", ()),
    ("GET", "/v2.1/servers/{server_id}/consoles/{console_id}", "21.0.0", ()),
    ("DELETE", "/v2.1/servers/{server_id}/consoles/{console_id}", "21.0.0", ()),
)


class RemovedApi(Gone):
    def __init__(self) -> None:
        super().__init__(GONE_MESSAGE)


def peek_action(call: Call) -> tuple[str, Any]:
    """Nova's action_peek: the body is a JSON object naming exactly one action; anything
    else is 'Malformed request body'."""
    body = _json_body(call)
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body")
    ((name, argument),) = body.items()
    return name, argument


def _json_body(call: Call) -> Any:
    try:
        return json.loads(call.raw_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("Malformed request body") from None


def _gone(actions: tuple[str, ...]) -> Handler:
    def answer(call: Call) -> None:
        call.require_auth()  # Keystone's middleware refuses an anonymous caller first
        if actions:
            name, _ = peek_action(call)
            if name not in actions:
                raise BadRequest(f"There is no such action: {str(name)[:60]}")
        elif call.request.method in ("POST", "PUT") and call.raw_body:
            _json_body(call)  # an empty body is fine; an unreadable one is not
        raise RemovedApi()

    return answer


for _method, _path, _removed_in, _actions in REMOVED:
    api.route(_method, _path, tx="none")(_gone(_actions))


@action("resetNetwork")
def reset_network(call: Call, argument: Any) -> None:
    """XenAPI's server action (removed in 23.0.0): 410 before the server is looked up."""
    call.require_auth()
    raise RemovedApi()

"""os-hosts (admins; Nova removed it at 2.43 in favour of os-services and os-hypervisors).

GET /v2.1/os-hosts[?zone=]                       hosts by their services
GET /v2.1/os-hosts/{host}                        what the host's servers hold
PUT /v2.1/os-hosts/{host}                        status / maintenance_mode
GET /v2.1/os-hosts/{host}/startup|shutdown|reboot  power actions on the host itself

The update and the power actions are the hypervisor driver's in Nova, and Nova's
libvirt driver implements none of them (501); neither do ours. Enabling or disabling
a host for new servers is os-services' PUT."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, NotImplementedFault, nova_fault

from ..backend import legacy_hosts as backend

api = ApiRouter(nova_fault)

LAST_VERSION = "2.42"
SWITCH_WORDS = ("enable", "disable")


def _allow(call: Call, rule: str) -> None:
    call.authorize(f"os_compute_api:os-hosts:{rule}", {})


@api.route("GET", "/v2.1/os-hosts", max_version=LAST_VERSION)
def list_hosts(call: Call) -> dict[str, Any]:
    _allow(call, "list")
    settings = call.cloud.settings.compute
    entries = backend.list_hosts(call.db, settings.default_availability_zone, call.query.get("zone"))
    return {"hosts": [{"host_name": e.host_name, "service": e.service, "zone": e.zone} for e in entries]}


@api.route("GET", "/v2.1/os-hosts/{host}", max_version=LAST_VERSION)
def show_host(call: Call) -> dict[str, Any]:
    _allow(call, "show")
    resources = backend.host_resources(call.db, call.params["host"])
    return {
        "host": [
            {"resource": {"host": r.host, "project": r.project, "cpu": r.cpu, "memory_mb": r.memory_mb, "disk_gb": r.disk_gb}}
            for r in resources
        ]
    }


@api.route("PUT", "/v2.1/os-hosts/{host}", max_version=LAST_VERSION)
def update_host(call: Call) -> dict[str, Any]:
    _allow(call, "update")
    body = call.json()
    if not isinstance(body, dict):
        raise BadRequest("Invalid input: the body must be an object.")
    unknown = sorted(set(body) - {"status", "maintenance_mode"})
    if unknown:
        raise BadRequest(f"Invalid input: additional properties are not allowed ({', '.join(unknown)[:200]} unexpected)")
    given = {key: value for key, value in body.items() if value is not None}
    if not given:
        raise BadRequest("Invalid input: 'status' or 'maintenance_mode' is required.")
    for key, value in given.items():
        if (
            not isinstance(value, str)
            or value.lower() not in SWITCH_WORDS
            or value not in (value.lower(), value.capitalize(), value.upper())
        ):
            raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. It must be one of 'enable', 'disable'.")
    backend.compute_service(call.db, call.params["host"])
    raise _unsupported()


def _power_action(call: Call, rule: str) -> dict[str, Any]:
    _allow(call, rule)
    backend.compute_service(call.db, call.params["host"])
    raise _unsupported()


def _unsupported() -> NotImplementedFault:
    return NotImplementedFault("The requested functionality is not supported.")


@api.route("GET", "/v2.1/os-hosts/{host}/startup", max_version=LAST_VERSION)
def startup_host(call: Call) -> dict[str, Any]:
    return _power_action(call, "start")


@api.route("GET", "/v2.1/os-hosts/{host}/shutdown", max_version=LAST_VERSION)
def shutdown_host(call: Call) -> dict[str, Any]:
    return _power_action(call, "shutdown")


@api.route("GET", "/v2.1/os-hosts/{host}/reboot", max_version=LAST_VERSION)
def reboot_host(call: Call) -> dict[str, Any]:
    return _power_action(call, "reboot")

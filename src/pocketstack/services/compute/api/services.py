"""os-services (admins): the compute services, whether they are up and enabled.

GET    /v2.1/os-services[?host=&binary=]         list
PUT    /v2.1/os-services/{action}                 2.1-2.52: enable, disable, disable-log-reason,
                                                   force-down (2.11+), the body naming host and binary
PUT    /v2.1/os-services/{service_id}             2.53+: status / disabled_reason / forced_down by uuid
DELETE /v2.1/os-services/{service_id}             delete (204): the integer id before 2.53, the uuid from it
"""

from __future__ import annotations

from typing import Any

from pocketstack.config import ComputeSettings
from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, NotFound, nova_fault
from pocketstack.core.ids import is_uuid

from ..backend import services as backend
from ..models import ComputeServiceRecord
from ..schemas.services import ServiceAction21, ServiceAction211, ServiceUpdate253
from ..views import services as views

api = ApiRouter(nova_fault)

COLLECTION = "/v2.1/os-services"
ITEM = "/v2.1/os-services/{service_id}"


def _settings(call: Call) -> ComputeSettings:
    return call.cloud.settings.compute


def _allow(call: Call, rule: str) -> None:
    call.require_auth()
    call.authorize(f"os_compute_api:os-services:{rule}", {})


def _render(call: Call, records: list[ComputeServiceRecord]) -> list[dict[str, Any]]:
    settings = _settings(call)
    zones = backend.zones_of(call.db, records, settings.default_availability_zone)
    return [
        views.service(record, zones[record.id], backend.state_of(record, settings.service_down_time), call.version) for record in records
    ]


def _by_path(call: Call) -> ComputeServiceRecord:
    """The service the path names: a uuid from 2.53, the integer id before."""
    raw = call.params["service_id"]
    if call.version >= "2.53":
        if not is_uuid(raw):
            raise BadRequest(f"Invalid uuid {raw}")
        return backend.get_service(call.db, raw, by_uuid=True)
    if not raw.lstrip("-").isdigit():
        raise BadRequest("Invalid input received: id must be an integer")
    return backend.get_service(call.db, raw, by_uuid=False)


@api.route("GET", COLLECTION)
def list_services(call: Call) -> dict[str, Any]:
    if call.version >= "2.75":
        unknown = sorted(set(call.query) - {"host", "binary"})
        if unknown:
            raise BadRequest(
                f"Invalid input for query parameters: additional properties are not allowed ({', '.join(unknown)[:200]} unexpected)"
            )
    _allow(call, "list")
    records = backend.list_services(call.db, host=call.query.get("host"), binary=call.query.get("binary"))
    return {"services": _render(call, records)}


@api.route("PUT", ITEM, max_version="2.52")
def service_action(call: Call) -> dict[str, Any]:
    """Before 2.53 the path's last segment is the action and the body names the service."""
    _allow(call, "update")
    action = call.params["service_id"]
    actions = {"enable", "disable", "disable-log-reason"} | ({"force-down"} if call.version >= "2.11" else set())
    if action not in actions:
        raise NotFound("Unknown action")
    request = call.body(ServiceAction211 if call.version >= "2.11" else ServiceAction21)
    if action == "force-down":
        forced = getattr(request, "forced_down", None)
        if forced is None:
            raise BadRequest("Missing forced_down field")
        backend.set_forced_down(call.db, _service_for_update(call, request), bool(forced))
        return {"service": {"host": request.host, "binary": request.binary, "forced_down": bool(forced)}}
    if action == "disable-log-reason" and request.disabled_reason is None:
        raise BadRequest("Missing disabled reason field")
    disabled = action != "enable"
    reason = request.disabled_reason if action == "disable-log-reason" else None
    backend.set_status(call.db, _service_for_update(call, request), disabled=disabled, reason=reason)
    answer: dict[str, Any] = {"host": request.host, "binary": request.binary, "status": "disabled" if disabled else "enabled"}
    if reason:
        answer["disabled_reason"] = reason
    return {"service": answer}


def _service_for_update(call: Call, request: ServiceAction21) -> ComputeServiceRecord:
    if request.binary != backend.COMPUTE_BINARY:
        raise BadRequest(f"Updating a {request.binary} service is not supported. Only nova-compute services can be updated.")
    return backend.find_service(call.db, request.host, request.binary)


@api.route("PUT", ITEM, min_version="2.53")
def update_service(call: Call) -> dict[str, Any]:
    raw = call.params["service_id"]
    if not is_uuid(raw):
        raise BadRequest(f"Invalid uuid {raw}")
    _allow(call, "update")
    try:
        record = backend.get_service(call.db, raw, by_uuid=True)
    except NotFound:
        raise NotFound(f"Service {raw} could not be found.") from None
    backend.require_compute(record)
    request = call.body(ServiceUpdate253)
    if request.status is None and request.forced_down is None:
        raise BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
    if request.status == "enabled" and request.disabled_reason:
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    if request.status is not None:
        backend.set_status(call.db, record, disabled=request.status == "disabled", reason=request.disabled_reason)
    if request.forced_down is not None:
        backend.set_forced_down(call.db, record, bool(request.forced_down))
    return {"service": _render(call, [record])[0]}


@api.route("DELETE", ITEM, status=204)
def delete_service(call: Call) -> None:
    _allow(call, "delete")
    backend.delete_service(call.db, _by_path(call))

"""os-aggregates (admins): groups of compute hosts with metadata, and the availability
zones they make.

    GET    /v2.1/os-aggregates                  list
    POST   /v2.1/os-aggregates                  create (200, as Nova)
    GET    /v2.1/os-aggregates/{id}             show
    PUT    /v2.1/os-aggregates/{id}             rename and/or change the zone
    DELETE /v2.1/os-aggregates/{id}             delete (200 with no body, as Nova)
    POST   /v2.1/os-aggregates/{id}/action      add_host | remove_host | set_metadata
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pocketstack.core.api import ApiRouter, Call, validate
from pocketstack.core.faults import BadRequest, NotFound, nova_fault

from ..backend import aggregates as backend
from ..backend.services import MAX_ID
from ..models import Aggregate
from ..schemas.aggregates import AggregateCreate, AggregateUpdate, HostBody, MetadataBody
from ..views import aggregates as views

api = ApiRouter(nova_fault)

COLLECTION = "/v2.1/os-aggregates"
ITEM = "/v2.1/os-aggregates/{aggregate_id}"
ACTIONS = {"add_host": HostBody, "remove_host": HostBody, "set_metadata": MetadataBody}


def _allow(call: Call, rule: str) -> None:
    call.require_auth()
    call.authorize(f"os_compute_api:os-aggregates:{rule}", {})


def _aggregate(call: Call) -> Aggregate:
    raw = call.params["aggregate_id"]
    try:
        aggregate_id = int(raw)
    except ValueError:
        raise BadRequest("Invalid input received: id must be an integer") from None
    if abs(aggregate_id) > MAX_ID:  # no row has it (and PostgreSQL would refuse to look)
        raise NotFound(f"Aggregate {raw} could not be found.")
    return backend.get_aggregate(call.db, aggregate_id)


def _one(call: Call, record: Aggregate) -> dict[str, Any]:
    return {"aggregate": views.aggregate(record, call.version)}


def _only_key(call: Call, key: str) -> Any:
    body = call.json()
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"Invalid input for field/attribute {key}. '{key}' is a required property")
    extra = sorted(set(body) - {key})
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({', '.join(map(repr, extra))} was unexpected)")
    return body[key]


@api.route("GET", COLLECTION)
def list_aggregates(call: Call) -> dict[str, Any]:
    _allow(call, "index")
    return {"aggregates": [views.aggregate(record, call.version) for record in backend.list_aggregates(call.db)]}


@api.route("POST", COLLECTION)
def create_aggregate(call: Call) -> dict[str, Any]:
    _allow(call, "create")
    request = validate(AggregateCreate, _only_key(call, "aggregate"), "aggregate.")
    record = backend.create_aggregate(call.db, request.name, request.availability_zone)
    return {"aggregate": views.aggregate(record, call.version, created=True)}


@api.route("GET", ITEM)
def show_aggregate(call: Call) -> dict[str, Any]:
    _allow(call, "show")
    return _one(call, _aggregate(call))


@api.route("PUT", ITEM)
def update_aggregate(call: Call) -> dict[str, Any]:
    _allow(call, "update")
    raw = _only_key(call, "aggregate")
    request = validate(AggregateUpdate, raw, "aggregate.")
    zone_given = isinstance(raw, dict) and "availability_zone" in raw
    record = backend.update_aggregate(call.db, _aggregate(call), request.name, request.availability_zone, zone_given=zone_given)
    return _one(call, record)


@api.route("DELETE", ITEM)
def delete_aggregate(call: Call) -> Response:
    _allow(call, "delete")
    backend.delete_aggregate(call.db, _aggregate(call))
    return Response(status_code=200)


@api.route("POST", ITEM + "/action")
def aggregate_action(call: Call) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("The action body must be an object with exactly one action.")
    ((action, argument),) = body.items()
    if action not in ACTIONS:
        raise BadRequest(f"There is no such action: {str(action)[:60]}")
    _allow(call, action)
    request = validate(ACTIONS[action], argument, f"{action}.")
    record = _aggregate(call)
    if isinstance(request, MetadataBody):
        return _one(call, backend.set_metadata(call.db, record, request.metadata))
    assert isinstance(request, HostBody)
    if action == "add_host":
        return _one(call, backend.add_host(call.db, record, request.host))
    return _one(call, backend.remove_host(call.db, record, request.host))

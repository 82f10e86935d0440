"""os-server-external-events: what the networking and block storage services tell compute
about a server (a port plugged or changed, a volume extended), POSTed by their service
users.

Each event is answered on its own: 200 "completed" when the server exists and is on a
host, 404 "failed" when there is no such server, 422 "failed" when it has no host yet,
400 "failed" when an event that needs a tag comes without one. The whole answer is 200
when every event was accepted, else 207.

Accepted events need no further work here: the networking service that would send
network-* events does not run in this cloud yet, and when it does the agent reads a
server's ports from it on its next pass rather than waiting for these notices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.responses import JSONResponse

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, nova_fault
from pocketstack.core.ids import is_uuid

from ..models import Server

api = ApiRouter(nova_fault)

# event name -> the microversion that brought it
EVENT_SINCE = {
    "network-changed": "2.1",
    "network-vif-plugged": "2.1",
    "network-vif-unplugged": "2.1",
    "network-vif-deleted": "2.1",
    "volume-extended": "2.51",
    "power-update": "2.76",
    "accelerator-request-bound": "2.82",
    "volume-reimaged": "2.93",
}
TAG_REQUIRED = {"volume-extended", "power-update", "accelerator-request-bound"}
STATUSES = ("failed", "completed", "in-progress")
FIELDS = {"name", "server_uuid", "status", "tag"}


@api.route("POST", "/v2.1/os-server-external-events", tx="read")
def create_events(call: Call) -> JSONResponse:
    call.authorize("os_compute_api:os-server-external-events:create", {})
    events = _events(call)
    uuids = {event["server_uuid"] for event in events}
    hosts = dict(call.db.execute(select(Server.uuid, Server.host).where(Server.uuid.in_(uuids), Server.deleted.is_(False))).all())
    answered = [_answer(event, hosts) for event in events]
    everything_accepted = all(event["code"] == 200 for event in answered)
    return JSONResponse({"events": answered}, status_code=200 if everything_accepted else 207)


def _answer(event: dict[str, Any], hosts: dict[str, str | None]) -> dict[str, Any]:
    out = dict(event)
    if event["server_uuid"] not in hosts:
        code = 404
    elif event["name"] in TAG_REQUIRED and event.get("tag") is None:
        code = 400
    elif not hosts[event["server_uuid"]]:
        code = 422  # no host to deliver it to
    else:
        code = 200
    out["code"] = code
    out["status"] = "completed" if code == 200 else "failed"
    return out


def _events(call: Call) -> list[dict[str, Any]]:
    """The body's events, checked as Nova's schema for this microversion checks them."""
    body = call.json()
    if not isinstance(body, dict) or set(body) != {"events"}:
        raise BadRequest("Invalid input: the body must be an object with exactly 'events'.")
    events = body["events"]
    if not isinstance(events, list) or not events:
        raise BadRequest("Invalid input for field/attribute events: a non-empty list is required.")
    names = [name for name, since in EVENT_SINCE.items() if call.version >= since]
    for event in events:
        _check_event(event, names)
    return events


def _check_event(event: Any, names: list[str]) -> None:
    if not isinstance(event, dict):
        raise BadRequest("Invalid input for field/attribute events: each event must be an object.")
    unknown = sorted(set(event) - FIELDS)
    if unknown:
        raise BadRequest(f"Invalid input: additional properties are not allowed ({', '.join(unknown)[:200]} unexpected)")
    for required in ("name", "server_uuid"):
        if required not in event:
            raise BadRequest(f"Invalid input for field/attribute events. '{required}' is a required property")
    if event["name"] not in names:
        raise BadRequest(f"Invalid input for field/attribute name. Value: {str(event['name'])[:60]}. It is not one of {names}")
    if not is_uuid(event["server_uuid"]):
        raise BadRequest(f"Invalid input for field/attribute server_uuid. Value: {str(event['server_uuid'])[:60]}. It is not a 'uuid'")
    if "status" in event and event["status"] not in STATUSES:
        raise BadRequest(f"Invalid input for field/attribute status. Value: {str(event['status'])[:60]}. It is not one of {list(STATUSES)}")
    tag = event.get("tag")
    if "tag" in event and (not isinstance(tag, str) or len(tag) > 255):
        raise BadRequest("Invalid input for field/attribute tag: a string of at most 255 characters is required.")

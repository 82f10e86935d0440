"""/v3/OS-OAUTH1/consumers."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call, validate
from pocketstack.core.faults import BadRequest, keystone_fault

from ..backend import consumers as backend
from ..schemas.misc import ConsumerCreate, ConsumerUpdate
from ..views import misc as views
from ..views.common import collection

api = ApiRouter(keystone_fault)
PATH = "/v3/OS-OAUTH1/consumers"


@api.route("POST", PATH, status=201)
def create_consumer(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_consumer")
    # Keystone lets the whole body, or its "consumer", be left out
    data = call.json() if call.raw_body.strip() else {}
    if not isinstance(data, dict):
        raise BadRequest("Invalid input: a JSON object is expected.")
    body = validate(ConsumerCreate, data.get("consumer") or {}, "consumer.")
    row, secret = backend.create_consumer(call.db, body, call.cloud.settings.identity.password_hash_rounds)
    return {"consumer": {**views.consumer(call, row), "secret": secret}}


@api.route("GET", PATH)
def list_consumers(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_consumers")
    return collection(call, "consumers", [views.consumer(call, r) for r in backend.list_consumers(call.db)])


@api.route("GET", PATH + "/{consumer_id}")
def show_consumer(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_consumer")
    return {"consumer": views.consumer(call, backend.get_consumer(call.db, call.params["consumer_id"]))}


@api.route("PATCH", PATH + "/{consumer_id}")
def update_consumer(call: Call) -> dict[str, Any]:
    call.authorize("identity:update_consumer")
    body = call.body(ConsumerUpdate, "consumer")
    return {"consumer": views.consumer(call, backend.update_consumer(call.db, call.params["consumer_id"], body))}


@api.route("DELETE", PATH + "/{consumer_id}")
def delete_consumer(call: Call) -> None:
    call.authorize("identity:delete_consumer")
    backend.delete_consumer(call.db, call.params["consumer_id"])

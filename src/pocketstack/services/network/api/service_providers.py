"""/v2.0/service-providers (the service-type extension): which driver provides each
advanced service. This cloud has one: its own L3 routers (namespaces built by the
network agent), the default for L3_ROUTER_NAT."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..common.authorize import authorize
from ..common.listing import as_boolean, fields_of, only

api = ApiRouter(neutron_fault)

PROVIDERS = ({"service_type": "L3_ROUTER_NAT", "name": "pocketstack", "default": True},)


@api.route("GET", "/v2.0/service-providers", tx="none")
def list_service_providers(call: Call) -> dict[str, Any]:
    authorize(call, "get_service_provider", {"project_id": call.ctx.project_id})
    wanted: dict[str, list[Any]] = {key: call.query.getlist(key) for key in ("service_type", "name") if key in call.query}
    if "default" in call.query:
        wanted["default"] = [as_boolean(value) for value in call.query.getlist("default")]
    matching = [p for p in PROVIDERS if all(p[key] in values for key, values in wanted.items())]
    return {"service_providers": [only(fields_of(call), dict(provider)) for provider in matching]}

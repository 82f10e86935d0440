"""/v3/domains."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import NotFound, keystone_fault

from ..backend import domains as backend
from ..backend.common import get_domain
from ..models import Project
from ..schemas.projects import DomainCreate, DomainUpdate
from ..views import projects as views
from ..views.common import collection

api = ApiRouter(keystone_fault)


def domain_view(call: Call, row: Project) -> dict[str, Any]:
    return views.domain(call, row)


def _target(domain_id: str) -> dict[str, Any]:
    return {"domain": {"id": domain_id}, "domain_id": domain_id}


@api.route("POST", "/v3/domains", status=201)
def create_domain(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_domain")
    body = call.body(DomainCreate, "domain")
    return {"domain": domain_view(call, backend.create_domain(call.db, body))}


@api.route("GET", "/v3/domains")
def list_domains(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_domains")
    filters = {"name": call.query.get("name"), "enabled": call.query_bool("enabled")}
    return collection(call, "domains", [domain_view(call, r) for r in backend.list_domains(call.db, filters)])


@api.route("GET", "/v3/domains/{domain_id}")
def show_domain(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_domain", _target(call.params["domain_id"]))
    row = call.db.get(Project, call.params["domain_id"])
    if row is None or not row.is_domain:
        raise NotFound(f"Could not find domain: {call.params['domain_id']}.")
    return {"domain": domain_view(call, row)}


@api.route("PATCH", "/v3/domains/{domain_id}")
def update_domain(call: Call) -> dict[str, Any]:
    call.authorize("identity:update_domain", _target(call.params["domain_id"]))
    body = call.body(DomainUpdate, "domain")
    row = backend.update_domain(call.db, call.params["domain_id"], body, call.cloud.identity.tokens.revoke)
    return {"domain": domain_view(call, row)}


@api.route("DELETE", "/v3/domains/{domain_id}")
def delete_domain(call: Call) -> None:
    call.authorize("identity:delete_domain", _target(call.params["domain_id"]))
    get_domain(call.db, call.params["domain_id"])
    backend.delete_domain(call.db, call.params["domain_id"], call.cloud.identity.tokens.revoke)

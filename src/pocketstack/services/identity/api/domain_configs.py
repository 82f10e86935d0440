"""/v3/domains/{domain_id}/config[/{group}[/{option}]] and the defaults under
/v3/domains/config/..."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import keystone_fault

from ..backend import domain_configs as backend
from ..backend.common import get_domain

api = ApiRouter(keystone_fault)

BASE = "/v3/domains/{domain_id}/config"
GROUP = BASE + "/{group}"
OPTION = GROUP + "/{option}"


def _where(call: Call) -> tuple[str, str | None, str | None]:
    return call.params["domain_id"], call.params.get("group"), call.params.get("option")


def _target(domain_id: str) -> dict[str, Any]:
    return {"domain": {"id": domain_id}, "domain_id": domain_id}


def _body(call: Call) -> Any:
    data = call.json()
    return data.get("config") if isinstance(data, dict) else None


@api.route("PUT", BASE)
def create_config(call: Call) -> JSONResponse:
    domain_id = call.params["domain_id"]
    call.authorize("identity:create_domain_config", _target(domain_id))
    get_domain(call.db, domain_id)
    replacing = backend.has_config(call.db, domain_id)
    config = backend.create_config(call.db, domain_id, _body(call))
    # 201 for a new configuration, 200 when one was replaced (as Keystone answers)
    return JSONResponse({"config": config}, status_code=200 if replacing else 201)


@api.route("GET", BASE)
@api.route("GET", GROUP)
@api.route("GET", OPTION)
def show_config(call: Call) -> dict[str, Any]:
    domain_id, group, option = _where(call)
    if group == backend.SECURITY_COMPLIANCE:
        call.authorize("identity:get_security_compliance_domain_config", _target(domain_id))
        get_domain(call.db, domain_id)
        return {"config": backend.security_compliance(call.cloud.settings, domain_id, option)}
    # authorize before looking the domain up, so its existence is not leaked
    call.authorize("identity:get_domain_config", _target(domain_id))
    get_domain(call.db, domain_id)
    return {"config": backend.get_config(call.db, domain_id, group, option)}


@api.route("PATCH", BASE)
@api.route("PATCH", GROUP)
@api.route("PATCH", OPTION)
def update_config(call: Call) -> dict[str, Any]:
    domain_id, group, option = _where(call)
    call.authorize("identity:update_domain_config", _target(domain_id))
    get_domain(call.db, domain_id)
    return {"config": backend.update_config(call.db, domain_id, _body(call), group, option)}


@api.route("DELETE", BASE)
@api.route("DELETE", GROUP)
@api.route("DELETE", OPTION)
def delete_config(call: Call) -> None:
    domain_id, group, option = _where(call)
    call.authorize("identity:delete_domain_config", _target(domain_id))
    get_domain(call.db, domain_id)
    backend.delete_config(call.db, domain_id, group, option)


@api.route("GET", "/v3/domains/config/default")
@api.route("GET", "/v3/domains/config/{group}/default")
@api.route("GET", "/v3/domains/config/{group}/{option}/default")
def show_default_config(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_domain_config_default")
    return {"config": backend.default_config(call.cloud.settings, call.params.get("group"), call.params.get("option"))}

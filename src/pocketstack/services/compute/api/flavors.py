"""Nova's flavors API: the flavors themselves (flavors, flavor-manage), which projects
may use a private one (os-flavor-access) and their extra specs (os-extra_specs).

Everything a caller may read answers 404 for a private flavor their project was not
given, as Nova does; writes are the admin's (policy.py)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pocketstack.core.api import ApiRouter, Call, validate
from pocketstack.core.faults import BadRequest, NotFound, nova_fault
from pocketstack.core.pagination import page_request

from ..backend import flavors as backend
from ..backend.flavors import FlavorFilter, NewFlavor, Viewer
from ..models import Flavor
from ..schemas.flavors import (
    CreateFlavorBody,
    CreateFlavorBodyV255,
    TenantAccess,
    UpdateFlavorBody,
    check_known_extra_spec,
    extra_spec_value,
)
from ..views import flavors as views

api = ApiRouter(nova_fault)

LIST_PARAMETERS = frozenset({"limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir"})
READ_EXTRA_SPECS = "os_compute_api:os-flavor-extra-specs:index"


def _viewer(call: Call) -> Viewer:
    call.require_auth()
    return Viewer(call.ctx.project_id, call.ctx.is_admin)


def _own_target(call: Call) -> dict[str, Any]:
    return {"project_id": call.ctx.project_id}


def _may_read_extra_specs(call: Call) -> bool:
    return call.version >= "2.61" and call.allowed(READ_EXTRA_SPECS, _own_target(call))


def _detail(call: Call, flavor: Flavor) -> dict[str, Any]:
    return {"flavor": views.detail(call, flavor, with_extra_specs=_may_read_extra_specs(call))}


# -- listing --------------------------------------------------------------------------
def _is_public_filter(call: Call, viewer: Viewer) -> bool | None:
    """Only admins choose: "true"/"false", or "none" for both (Nova's _parse_is_public)."""
    raw = call.query.get("is_public")
    if not viewer.is_admin or raw is None:
        return True
    word = raw.strip().lower()
    if word == "none":
        return None
    if word in ("1", "t", "true", "on", "y", "yes"):
        return True
    if word in ("0", "f", "false", "off", "n", "no"):
        return False
    raise BadRequest(f"Invalid is_public filter [{raw[:60]}]")


def _int_filter(call: Call, name: str) -> int | None:
    raw = call.query.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{raw[:60]}]") from None


def _list(call: Call, path: str, render: Any) -> dict[str, Any]:
    viewer = _viewer(call)
    if call.version >= "2.75":
        # 2.75 closed the query schema: a parameter Nova does not know is a mistake
        unknown = sorted(set(call.query.keys()) - LIST_PARAMETERS)
        if unknown:
            raise BadRequest(
                f"Invalid input for query parameters: additional properties are not allowed ({', '.join(unknown)[:200]} unexpected)"
            )
    wanted = FlavorFilter(
        is_public=_is_public_filter(call, viewer),
        min_ram=_int_filter(call, "minRam"),
        min_disk=_int_filter(call, "minDisk"),
        include_disabled=viewer.is_admin,
        sort_key=call.query.get("sort_key") or "flavorid",
        sort_dir=call.query.get("sort_dir") or "asc",
    )
    # Nova pages forwards only: no page_reverse, no "previous" link
    page = backend.list_flavors(call.db, viewer, wanted, page_request({k: v for k, v in call.query.items() if k != "page_reverse"}))
    body: dict[str, Any] = {"flavors": [render(flavor) for flavor in page.items]}
    following = [link for link in page.links(call.url(path), call.query) if link["rel"] == "next"]
    if following:
        body["flavors_links"] = following
    return body


@api.route("GET", "/v2.1/flavors")
def list_flavors(call: Call) -> dict[str, Any]:
    return _list(call, "/v2.1/flavors", lambda flavor: views.summary(call, flavor))


@api.route("GET", "/v2.1/flavors/detail")
def list_flavors_detail(call: Call) -> dict[str, Any]:
    with_extra_specs = _may_read_extra_specs(call)
    return _list(call, "/v2.1/flavors/detail", lambda flavor: views.detail(call, flavor, with_extra_specs=with_extra_specs))


@api.route("GET", "/v2.1/flavors/{flavor_id}")
def show_flavor(call: Call) -> dict[str, Any]:
    return _detail(call, backend.get_flavor(call.db, _viewer(call), call.params["flavor_id"]))


# -- managing (admins) ------------------------------------------------------------------
@api.route("POST", "/v2.1/flavors")
def create_flavor(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-flavor-manage:create", _own_target(call))
    model = CreateFlavorBodyV255 if call.version >= "2.55" else CreateFlavorBody
    spec = call.body(model).flavor
    new = NewFlavor(
        name=spec.name,
        flavorid=spec.id,
        memory_mb=spec.ram,
        vcpus=spec.vcpus,
        root_gb=spec.disk,
        ephemeral_gb=spec.ephemeral,
        swap=spec.swap,
        rxtx_factor=spec.rxtx_factor,
        is_public=spec.is_public,
        description=getattr(spec, "description", None),
    )
    return _detail(call, backend.create_flavor(call.db, new))


@api.route("PUT", "/v2.1/flavors/{flavor_id}", min_version="2.55")
def update_flavor(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-flavor-manage:update", _own_target(call))
    change = call.body(UpdateFlavorBody).flavor
    flavor = backend.get_flavor(call.db, _viewer(call), call.params["flavor_id"])
    return _detail(call, backend.update_description(call.db, flavor, change.description))


@api.route("DELETE", "/v2.1/flavors/{flavor_id}", status=202)
def delete_flavor(call: Call) -> Response:
    call.authorize("os_compute_api:os-flavor-manage:delete", _own_target(call))
    backend.delete_flavor(call.db, call.params["flavor_id"])
    return Response(status_code=202)


# -- os-flavor-access ---------------------------------------------------------------------
@api.route("GET", "/v2.1/flavors/{flavor_id}/os-flavor-access")
def list_flavor_access(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-flavor-access", _own_target(call))
    flavor = backend.get_flavor(call.db, _viewer(call), call.params["flavor_id"])
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return views.access_list(flavor)


@api.route("POST", "/v2.1/flavors/{flavor_id}/action")
def flavor_action(call: Call) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("The action body must be an object with exactly one action.")
    ((action, argument),) = body.items()
    if action not in ("addTenantAccess", "removeTenantAccess"):
        raise BadRequest(f"There is no such action: {str(action)[:60]}")
    adding = action == "addTenantAccess"
    rule = "add_tenant_access" if adding else "remove_tenant_access"
    call.authorize(f"os_compute_api:os-flavor-access:{rule}", _own_target(call))
    tenant = validate(TenantAccess, argument, action + ".").tenant
    flavor = backend.get_flavor(call.db, _viewer(call), call.params["flavor_id"])
    if adding:
        # 2.7 stopped sharing flavors that everyone may use anyway
        backend.add_access(call.db, flavor, tenant, refuse_public=call.version >= "2.7")
    else:
        backend.remove_access(call.db, flavor, tenant)
    return views.access_list(flavor)


# -- os-extra_specs ---------------------------------------------------------------------------
def _extra_specs_flavor(call: Call, rule: str) -> Flavor:
    call.authorize(f"os_compute_api:os-flavor-extra-specs:{rule}", _own_target(call))
    return backend.get_flavor(call.db, _viewer(call), call.params["flavor_id"])


def _checked_specs(call: Call, specs: Any) -> dict[str, str]:
    if not isinstance(specs, dict):
        raise BadRequest("Invalid input for field 'extra_specs': expected an object of key-value pairs.")
    try:
        checked = {key: extra_spec_value(key, value) for key, value in specs.items()}
    except ValueError as exc:
        raise BadRequest(f"Invalid input for field 'extra_specs': {exc}") from None
    if call.version >= "2.86":
        for key, value in checked.items():
            try:
                check_known_extra_spec(key, value)
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
    return checked


@api.route("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs")
def list_extra_specs(call: Call) -> dict[str, Any]:
    return {"extra_specs": backend.extra_specs(_extra_specs_flavor(call, "index"))}


@api.route("POST", "/v2.1/flavors/{flavor_id}/os-extra_specs")
def create_extra_specs(call: Call) -> dict[str, Any]:
    flavor = _extra_specs_flavor(call, "create")
    body = call.json()
    if not isinstance(body, dict) or set(body) != {"extra_specs"}:
        raise BadRequest('Invalid input: the body must be {"extra_specs": {...}} and nothing else.')
    backend.set_extra_specs(call.db, flavor, _checked_specs(call, body["extra_specs"]))
    # Nova answers with the request's own document (numbers stay numbers there)
    return body


@api.route("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def show_extra_spec(call: Call) -> dict[str, Any]:
    flavor = _extra_specs_flavor(call, "show")
    key = call.params["key"]
    specs = backend.extra_specs(flavor)
    if key not in specs:
        raise NotFound(f"Flavor {flavor.flavorid} has no extra specs with key {key}.")
    return {key: specs[key]}


@api.route("PUT", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def update_extra_spec(call: Call) -> dict[str, Any]:
    flavor = _extra_specs_flavor(call, "update")
    body = call.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Invalid input: the body must name exactly one extra spec.")
    if call.params["key"] not in body:
        raise BadRequest("Request body and URI mismatch")
    backend.set_extra_specs(call.db, flavor, _checked_specs(call, body))
    return body


@api.route("DELETE", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def delete_extra_spec(call: Call) -> Response:
    flavor = _extra_specs_flavor(call, "delete")
    backend.delete_extra_spec(call.db, flavor, call.params["key"])
    # Nova answers 200 with an empty body here (Tempest expects exactly that)
    return Response(status_code=200)

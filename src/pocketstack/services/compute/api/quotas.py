"""Nova's quota APIs: os-quota-sets (a project's or a user's limits, the defaults, the
detail with usage), os-quota-class-sets (the "default" class every project starts
from) and GET /limits (the caller's absolute limits and usage).

    GET    /v2.1/os-quota-sets/{project_id}[?user_id=]           show
    GET    /v2.1/os-quota-sets/{project_id}/detail[?user_id=]    limits with in_use/reserved
    GET    /v2.1/os-quota-sets/{project_id}/defaults             what a new project gets
    PUT    /v2.1/os-quota-sets/{project_id}[?user_id=]           update ("force" skips the checks)
    DELETE /v2.1/os-quota-sets/{project_id}[?user_id=]           back to the defaults (202)
    GET    /v2.1/os-quota-class-sets/{class}                     a quota class
    PUT    /v2.1/os-quota-class-sets/{class}                     change it
    GET    /v2.1/limits[?tenant_id=]                             absolute limits (another project: admins)
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pocketstack.config import ComputeSettings
from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, NotFound, nova_fault
from pocketstack.services.identity.backend.common import get_project

from ..backend import quotas as backend
from ..schemas.quotas import limits_body
from ..views import quotas as views

api = ApiRouter(nova_fault)

QUOTA_SET = "/v2.1/os-quota-sets/{project_id}"
QUOTA_CLASS_SET = "/v2.1/os-quota-class-sets/{class_name}"


def _settings(call: Call) -> ComputeSettings:
    return call.cloud.settings.compute


def _check_query(call: Call, known: set[str], since: str = "2.75") -> None:
    """From `since` Nova refuses query parameters it does not know (additionalProperties)."""
    if call.version >= since:
        unknown = sorted(set(call.query) - known)
        if unknown:
            raise BadRequest(
                f"Invalid input for query parameters: additional properties are not allowed ({', '.join(unknown)[:200]} unexpected)"
            )


def _project(call: Call, rule: str) -> str:
    """The project of the path, once the caller may act on it and Keystone knows it
    (Nova's verify_project_id: an unknown project is a bad request, not an empty one)."""
    call.require_auth()
    project_id = call.params["project_id"]
    call.authorize(f"os_compute_api:os-quota-sets:{rule}", {"project_id": project_id})
    try:
        get_project(call.db, project_id)
    except NotFound:
        raise BadRequest(f"Project ID {project_id} is not a valid project.") from None
    return project_id


def _user_id(call: Call) -> str | None:
    return call.query.get("user_id") or None


# -- os-quota-sets ------------------------------------------------------------------------
@api.route("GET", QUOTA_SET)
def show_quota_set(call: Call) -> dict[str, Any]:
    _check_query(call, {"user_id"})
    project_id = _project(call, "show")
    limits = backend.limits_for(call.db, _settings(call), project_id, _user_id(call))
    return views.quota_set(limits, call.version, project_id)


@api.route("GET", QUOTA_SET + "/detail")
def show_quota_set_detail(call: Call) -> dict[str, Any]:
    _check_query(call, {"user_id"})
    project_id = _project(call, "detail")
    details = backend.detail(call.db, _settings(call), project_id, _user_id(call))
    return views.quota_set_detail(details, call.version, project_id)


@api.route("GET", QUOTA_SET + "/defaults")
def show_quota_defaults(call: Call) -> dict[str, Any]:
    project_id = _project(call, "defaults")
    return views.quota_set(backend.default_limits(call.db, _settings(call)), call.version, project_id)


@api.route("PUT", QUOTA_SET)
def update_quota_set(call: Call) -> dict[str, Any]:
    _check_query(call, {"user_id"})
    project_id = _project(call, "update")
    user_id = _user_id(call)
    wanted, force = limits_body(call.json(), "quota_set", views.quota_set_resources(call.version), with_force=True)
    backend.update_limits(call.db, _settings(call), project_id, user_id, wanted, force=force)
    # the answer has no id (Nova keeps v2's body here)
    return views.quota_set(backend.limits_for(call.db, _settings(call), project_id, user_id), call.version)


@api.route("DELETE", QUOTA_SET, status=202)
def delete_quota_set(call: Call) -> Response:
    _check_query(call, {"user_id"})
    call.require_auth()
    project_id = call.params["project_id"]
    call.authorize("os_compute_api:os-quota-sets:delete", {"project_id": project_id})
    backend.delete_limits(call.db, project_id, _user_id(call))
    return Response(status_code=202)


# -- os-quota-class-sets -------------------------------------------------------------------
def _class_name(call: Call, rule: str) -> str:
    call.require_auth()
    call.authorize(f"os_compute_api:os-quota-class-sets:{rule}", {})
    name = call.params["class_name"]
    if not 1 <= len(name) <= 255:
        raise BadRequest("Invalid input received: quota_class_name has a length outside 1 to 255 characters.")
    return name


@api.route("GET", QUOTA_CLASS_SET)
def show_quota_class_set(call: Call) -> dict[str, Any]:
    name = _class_name(call, "show")
    return views.quota_class_set(backend.class_limits(call.db, _settings(call), name), call.version, name)


@api.route("PUT", QUOTA_CLASS_SET)
def update_quota_class_set(call: Call) -> dict[str, Any]:
    name = _class_name(call, "update")
    # before 2.50 the body may name every resource, even those the answer leaves out
    known = backend.RESOURCES if call.version < "2.50" else views.quota_class_resources(call.version)
    wanted, _ = limits_body(call.json(), "quota_class_set", known, with_force=False)
    backend.update_class(call.db, name, wanted)
    return views.quota_class_set(backend.class_limits(call.db, _settings(call), name), call.version)


# -- limits -----------------------------------------------------------------------------------
@api.route("GET", "/v2.1/limits")
def show_limits(call: Call) -> dict[str, Any]:
    _check_query(call, {"tenant_id"})
    ctx = call.require_auth()
    call.authorize("os_compute_api:limits", {"project_id": ctx.project_id})
    project_id = ctx.project_id
    if "tenant_id" in call.query:
        project_id = call.query["tenant_id"]
        call.authorize("os_compute_api:limits:other_project", {"project_id": project_id})
    if not project_id:
        raise BadRequest("A project-scoped token is needed to show limits.")
    limits = backend.project_limits(call.db, _settings(call), project_id)
    return views.absolute_limits(limits, backend.usage(call.db, project_id), call.version)

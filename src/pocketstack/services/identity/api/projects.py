"""/v3/projects and their tags."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call, validate
from pocketstack.core.faults import BadRequest, NotFound, keystone_fault

from ..backend import domains as domains_backend
from ..backend import projects as backend
from ..backend.common import get_project
from ..models import Project
from ..schemas.common import Tag
from ..schemas.projects import DomainUpdate, ProjectCreate, ProjectUpdate, TagsReplace
from ..views import projects as views
from ..views.common import collection

api = ApiRouter(keystone_fault)


def project_view(call: Call, row: Project) -> dict[str, Any]:
    return views.domain_as_project(call, row) if row.is_domain else views.project(call, row)


def _target(row: Project) -> dict[str, Any]:
    return {"project": {"id": row.id, "domain_id": row.domain_id}, "domain_id": row.domain_id}


def _revoke(call: Call) -> Any:
    return call.cloud.identity.tokens.revoke


@api.route("POST", "/v3/projects", status=201)
def create_project(call: Call) -> dict[str, Any]:
    body = call.body(ProjectCreate, "project")
    call.authorize("identity:create_project", {"project": body.model_dump(), "domain_id": body.domain_id})
    row = backend.create_project(call.db, call.ctx, body)
    return {"project": project_view(call, row)}


@api.route("GET", "/v3/projects")
def list_projects(call: Call) -> dict[str, Any]:
    filters: dict[str, Any] = {k: call.query.get(k) for k in ("name", "domain_id", "parent_id")}
    filters["enabled"] = call.query_bool("enabled")
    filters["is_domain"] = bool(call.query_bool("is_domain"))
    for key in ("tags", "tags-any", "not-tags", "not-tags-any"):
        if call.query.get(key):
            filters[key] = call.query[key].split(",")
    call.authorize("identity:list_projects", {"domain_id": filters["domain_id"]})
    rows = backend.list_projects(call.db, filters)
    if not call.allowed("identity:list_projects", {"domain_id": None}):
        # a domain reader listing without a domain filter sees their domain only
        rows = [r for r in rows if r.domain_id == call.ctx.domain_id]
    return collection(call, "projects", [project_view(call, r) for r in rows])


@api.route("GET", "/v3/projects/{project_id}")
def show_project(call: Call) -> dict[str, Any]:
    row = call.db.get(Project, call.params["project_id"])
    if row is None:
        call.authorize("identity:get_project", {"project": {"id": call.params["project_id"]}})
        raise NotFound(f"Could not find project: {call.params['project_id']}.")
    call.authorize("identity:get_project", _target(row))
    body = project_view(call, row)
    _add_hierarchy(call, row, body)
    return {"project": body}


def _add_hierarchy(call: Call, row: Project, body: dict[str, Any]) -> None:
    if call.query_flag("parents_as_ids"):
        nested: dict[str, Any] | None = None
        for parent in reversed(backend.ancestors(call.db, row)):
            nested = {parent.id: nested}
        body["parents"] = nested
    if call.query_flag("parents_as_list"):
        body["parents"] = [{"project": project_view(call, p)} for p in backend.ancestors(call.db, row)]
    if call.query_flag("subtree_as_ids"):
        body["subtree"] = _subtree_ids(call, row.id)
    if call.query_flag("subtree_as_list"):
        body["subtree"] = [{"project": project_view(call, p)} for p in backend.subtree(call.db, row.id)]


def _subtree_ids(call: Call, project_id: str) -> dict[str, Any] | None:
    kids = backend.children(call.db, project_id)
    if not kids:
        return None
    return {k.id: _subtree_ids(call, k.id) for k in kids}


@api.route("PATCH", "/v3/projects/{project_id}")
def update_project(call: Call) -> dict[str, Any]:
    row = _project_or_domain(call)
    call.authorize("identity:update_project", _target(row))
    if row.is_domain:  # a domain seen through /v3/projects (is_domain=true)
        body = call.body(ProjectUpdate, "project")
        changes = body.model_dump(exclude_unset=True, exclude={"domain_id", "parent_id", "is_domain"})
        row = domains_backend.update_domain(call.db, row.id, validate(DomainUpdate, changes), _revoke(call))
    else:
        row = backend.update_project(call.db, row.id, call.body(ProjectUpdate, "project"), _revoke(call))
    return {"project": project_view(call, row)}


def _project_or_domain(call: Call) -> Project:
    row = call.db.get(Project, call.params["project_id"])
    if row is None:
        raise NotFound(f"Could not find project: {call.params['project_id']}.")
    return row


@api.route("DELETE", "/v3/projects/{project_id}")
def delete_project(call: Call) -> None:
    row = _project_or_domain(call)
    call.authorize("identity:delete_project", _target(row))
    if row.is_domain:
        domains_backend.delete_domain(call.db, row.id, _revoke(call))
    else:
        backend.delete_project(call.db, row.id, _revoke(call))


# -- tags -----------------------------------------------------------------------------


@api.route("GET", "/v3/projects/{project_id}/tags")
def list_tags(call: Call) -> dict[str, Any]:
    row = get_project(call.db, call.params["project_id"])
    call.authorize("identity:list_project_tags", _target(row))
    return {"tags": backend.tags_of(call.db, row.id)}


@api.route("PUT", "/v3/projects/{project_id}/tags")
def replace_tags(call: Call) -> dict[str, Any]:
    row = get_project(call.db, call.params["project_id"])
    call.authorize("identity:update_project_tags", _target(row))
    body = validate(TagsReplace, call.json())
    backend.set_tags(call.db, row.id, body.tags)
    return {"tags": sorted(set(body.tags))}


@api.route("DELETE", "/v3/projects/{project_id}/tags")
def delete_tags(call: Call) -> None:
    row = get_project(call.db, call.params["project_id"])
    call.authorize("identity:delete_project_tags", _target(row))
    backend.set_tags(call.db, row.id, [])


@api.route("GET", "/v3/projects/{project_id}/tags/{tag}")
def check_tag(call: Call) -> None:
    row = get_project(call.db, call.params["project_id"])
    call.authorize("identity:get_project_tag", _target(row))
    if call.params["tag"] not in backend.tags_of(call.db, row.id):
        raise NotFound(f"Could not find tag: {call.params['tag']}.")


@api.route("PUT", "/v3/projects/{project_id}/tags/{tag}", status=201)
def add_tag(call: Call) -> None:
    row = get_project(call.db, call.params["project_id"])
    call.authorize("identity:create_project_tag", _target(row))
    tag = validate_tag(call.params["tag"])
    tags = backend.tags_of(call.db, row.id)
    if tag not in tags:
        if len(tags) >= 80:
            raise BadRequest("A project may have at most 80 tags.")
        backend.set_tags(call.db, row.id, [*tags, tag])
    call.response_headers["Location"] = call.url(f"/v3/projects/{row.id}/tags/{tag}")


@api.route("DELETE", "/v3/projects/{project_id}/tags/{tag}")
def delete_tag(call: Call) -> None:
    row = get_project(call.db, call.params["project_id"])
    call.authorize("identity:delete_project_tag", _target(row))
    tags = backend.tags_of(call.db, row.id)
    if call.params["tag"] not in tags:
        raise NotFound(f"Could not find tag: {call.params['tag']}.")
    backend.set_tags(call.db, row.id, [t for t in tags if t != call.params["tag"]])


def validate_tag(tag: str) -> str:
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(Tag).validate_python(tag)
    except ValidationError:
        raise BadRequest(f"Invalid tag {tag!r}: 1 to 255 characters, no ',' or '/'.") from None

"""/v2/metadefs/... and /v2/schemas/metadefs/...: Glance's metadata definitions catalog.

Every call inside a namespace first finds the namespace the caller may read (404
otherwise, so private namespaces of other projects stay invisible), then checks the
call's own rule (403). Protected namespaces refuse deletes of anything in them (403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, glance_fault

from . import backend, schema_docs, views
from . import schemas as bodies
from .models import MetadefNamespace

api = ApiRouter(glance_fault)

NS = "/v2/metadefs/namespaces/{namespace}"
LIST_LIMIT_DEFAULT = 25  # Glance's limit_param_default
LIST_LIMIT_MAX = 1000  # Glance's api_limit_max


# -- helpers ---------------------------------------------------------------------------


def _namespace(call: Call, rule: str) -> MetadefNamespace:
    """The namespace of the URL if the caller may read it (else 404), after checking
    `rule` on it (403)."""
    namespace = backend.get_namespace(call.db, call.ctx, call.params["namespace"])
    target = backend.policy_target(namespace)
    if not call.allowed("image:get_metadef_namespace", target):
        raise backend.namespace_not_found(namespace.namespace)
    call.authorize(rule, target)
    return namespace


def _own_project(call: Call) -> dict[str, Any]:
    """The target of calls that concern no namespace yet."""
    return {"owner": call.ctx.project_id, "visibility": None}


def _sort(call: Call, keys: tuple[str, ...]) -> tuple[str, str]:
    sort_key = call.query.get("sort_key", "created_at")
    sort_dir = call.query.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}")
    if sort_key not in keys:
        raise BadRequest(f"Invalid sort key: {sort_key}. Sort keys: {', '.join(keys)}.")
    return sort_key, sort_dir


def _limit(call: Call) -> int:
    raw = call.query.get("limit")
    if raw is None:
        return LIST_LIMIT_DEFAULT
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, LIST_LIMIT_MAX)


def _header_true(value: str | None) -> bool:
    """oslo's bool_from_string, which Glance reads X-Openstack-Append with."""
    return (value or "").strip().lower() in ("1", "t", "true", "on", "y", "yes")


def _visibility_filter(call: Call, allowed: tuple[str, ...]) -> str | None:
    visibility = call.query.get("visibility") or None
    if visibility is not None and visibility not in allowed:
        raise BadRequest(f"Invalid visibility value: {visibility}")
    return visibility


# -- schemas ---------------------------------------------------------------------------


def _schema_handler(build: Callable[[], dict[str, Any]]) -> Callable[[Call], dict[str, Any]]:
    def show_schema(call: Call) -> dict[str, Any]:
        call.require_auth()
        return build()

    return show_schema


for _name, _build in schema_docs.DOCUMENTS.items():
    api.route("GET", f"/v2/schemas/metadefs/{_name}", tx="none")(_schema_handler(_build))


# -- namespaces ------------------------------------------------------------------------


@api.route("GET", "/v2/metadefs/namespaces")
def list_namespaces(call: Call) -> dict[str, Any]:
    call.authorize("image:get_metadef_namespaces", _own_project(call))
    sort_key, sort_dir = _sort(call, backend.NAMESPACE_SORT_KEYS)
    limit = _limit(call)
    marker = call.query.get("marker") or None
    resource_types = [name for name in call.query.get("resource_types", "").split(",") if name]
    rows = backend.list_namespaces(
        call.db,
        call.ctx,
        visibility=_visibility_filter(call, ("public", "private")),
        resource_types=resource_types,
        sort_key=sort_key,
        sort_dir=sort_dir,
    )
    # what the database layer lets through, policy may still hide (an operator's rule)
    rows = [row for row in rows if call.allowed("image:get_metadef_namespace", backend.policy_target(row))]
    page = backend.page_of(rows, "namespace", limit, marker, backend.namespace_not_found(marker or ""))
    associations = backend.associations_of(call.db, (row.id for row in page.items))
    return views.namespace_list(page.items, associations, page, call.query)


@api.route("POST", "/v2/metadefs/namespaces", status=201)
def create_namespace(call: Call) -> dict[str, Any]:
    body = bodies.parse(bodies.NamespaceBody, call.json(), bodies.LINKS_AND_TIMES)
    target = _own_project(call)
    call.authorize("image:add_metadef_namespace", target)
    # creating the content too needs the rights to create each kind of it
    for present, rule in (
        (body.resource_type_associations, "image:add_metadef_resource_type_association"),
        (body.objects, "image:add_metadef_object"),
        (body.properties, "image:add_metadef_property"),
        (body.tags, "image:add_metadef_tag"),
    ):
        if present:
            call.authorize(rule, target)
    namespace, contents = backend.create_namespace(call.db, call.ctx, body)
    call.response_headers["Location"] = call.url(views.namespace_url(quote(namespace.namespace, safe=":")))
    return views.namespace_detail(namespace, contents)


@api.route("GET", NS)
def show_namespace(call: Call) -> dict[str, Any]:
    namespace = _namespace(call, "image:get_metadef_namespace")
    target = backend.policy_target(namespace)
    for rule in (
        "image:list_metadef_resource_types",
        "image:get_metadef_objects",
        "image:get_metadef_properties",
        "image:get_metadef_tags",
    ):
        call.authorize(rule, target)
    contents = backend.contents_of(call.db, namespace)
    prefix = backend.prefix_for(contents.associations, call.query.get("resource_type"))
    return views.namespace_detail(namespace, contents, prefix)


@api.route("PUT", NS)
def update_namespace(call: Call) -> dict[str, Any]:
    body = bodies.parse(bodies.NamespaceBody, call.json(), bodies.LINKS_AND_TIMES)
    namespace = _namespace(call, "image:modify_metadef_namespace")
    return views.namespace(backend.update_namespace(call.db, call.ctx, namespace, body))


@api.route("DELETE", NS)
def delete_namespace(call: Call) -> None:
    backend.delete_namespace(call.db, _namespace(call, "image:delete_metadef_namespace"))


@api.route("DELETE", NS + "/objects")
def delete_all_objects(call: Call) -> None:
    backend.delete_all_objects(call.db, _namespace(call, "image:delete_metadef_namespace"))


@api.route("DELETE", NS + "/properties")
def delete_all_properties(call: Call) -> None:
    backend.delete_all_properties(call.db, _namespace(call, "image:delete_metadef_namespace"))


@api.route("DELETE", NS + "/tags")
def delete_all_tags(call: Call) -> None:
    namespace = _namespace(call, "image:delete_metadef_namespace")
    call.authorize("image:delete_metadef_tags", backend.policy_target(namespace))
    backend.delete_all_tags(call.db, namespace)


# -- objects ---------------------------------------------------------------------------


@api.route("GET", NS + "/objects")
def list_objects(call: Call) -> dict[str, Any]:
    namespace = _namespace(call, "image:get_metadef_objects")
    # Glance checks these parameters, then lists every object (objects are not paged)
    _sort(call, ("created_at", "updated_at", "name"))
    _visibility_filter(call, ("public", "private", "shared"))
    if call.query.get("limit") is not None and _limit(call) == 0:
        raise BadRequest("limit param must be positive")
    return views.object_list(namespace.namespace, backend.list_objects(call.db, namespace))


@api.route("POST", NS + "/objects", status=201)
def create_object(call: Call) -> dict[str, Any]:
    body = bodies.parse(bodies.ObjectDefinition, call.json(), bodies.LINKS_AND_TIMES)
    namespace = _namespace(call, "image:add_metadef_object")
    return views.metadef_object(namespace.namespace, backend.create_object(call.db, namespace, body))


@api.route("GET", NS + "/objects/{object_name}")
def show_object(call: Call) -> dict[str, Any]:
    namespace = _namespace(call, "image:get_metadef_object")
    return views.metadef_object(namespace.namespace, backend.get_object(call.db, namespace, call.params["object_name"]))


@api.route("PUT", NS + "/objects/{object_name}")
def update_object(call: Call) -> dict[str, Any]:
    body = bodies.parse(bodies.ObjectDefinition, call.json(), bodies.LINKS_AND_TIMES)
    namespace = _namespace(call, "image:modify_metadef_object")
    row = backend.get_object(call.db, namespace, call.params["object_name"])
    return views.metadef_object(namespace.namespace, backend.update_object(call.db, namespace, row, body))


@api.route("DELETE", NS + "/objects/{object_name}")
def delete_object(call: Call) -> None:
    namespace = _namespace(call, "image:delete_metadef_object")
    backend.delete_object(call.db, namespace, backend.get_object(call.db, namespace, call.params["object_name"]))


# -- properties ------------------------------------------------------------------------


@api.route("GET", NS + "/properties")
def list_properties(call: Call) -> dict[str, Any]:
    namespace = _namespace(call, "image:get_metadef_properties")
    return views.property_map(backend.list_properties(call.db, namespace))


@api.route("POST", NS + "/properties", status=201)
def create_property(call: Call) -> dict[str, Any]:
    body = bodies.parse(bodies.NamedPropertyDefinition, call.json(), bodies.TIMES)
    namespace = _namespace(call, "image:add_metadef_property")
    return views.metadef_property(backend.create_property(call.db, namespace, body))


@api.route("GET", NS + "/properties/{property_name}")
def show_property(call: Call) -> dict[str, Any]:
    namespace = _namespace(call, "image:get_metadef_property")
    resource_type = call.query.get("resource_type") or None
    if resource_type:
        call.authorize("image:get_metadef_resource_type", backend.policy_target(namespace))
    row = backend.get_property(call.db, namespace, call.params["property_name"], resource_type)
    return views.metadef_property(row)


@api.route("PUT", NS + "/properties/{property_name}")
def update_property(call: Call) -> dict[str, Any]:
    body = bodies.parse(bodies.NamedPropertyDefinition, call.json(), bodies.TIMES)
    namespace = _namespace(call, "image:modify_metadef_property")
    row = backend.get_property(call.db, namespace, call.params["property_name"])
    return views.metadef_property(backend.update_property(call.db, namespace, row, body))


@api.route("DELETE", NS + "/properties/{property_name}")
def delete_property(call: Call) -> None:
    namespace = _namespace(call, "image:remove_metadef_property")
    backend.delete_property(call.db, namespace, backend.get_property(call.db, namespace, call.params["property_name"]))


# -- tags ------------------------------------------------------------------------------


@api.route("GET", NS + "/tags")
def list_tags(call: Call) -> dict[str, Any]:
    namespace = _namespace(call, "image:get_metadef_tags")
    sort_key, sort_dir = _sort(call, backend.TAG_SORT_KEYS)
    limit = _limit(call) if call.query.get("limit") else LIST_LIMIT_MAX
    marker = call.query.get("marker") or None
    rows = backend.list_tags(call.db, namespace, sort_key=sort_key, sort_dir=sort_dir)
    page = backend.page_of(rows, "name", limit, marker, backend.tag_not_found(namespace, marker or ""))
    return views.tag_names(page.items)


@api.route("POST", NS + "/tags", status=201)
def set_tags(call: Call) -> dict[str, Any]:
    body = bodies.parse(bodies.TagList, call.json(), bodies.TIMES)
    namespace = _namespace(call, "image:add_metadef_tags")
    append = _header_true(call.request.headers.get("X-Openstack-Append"))
    rows = backend.set_tags(call.db, namespace, [tag.name for tag in body.tags], append=append)
    return views.tag_names(rows)


@api.route("GET", NS + "/tags/{tag_name}")
def show_tag(call: Call) -> dict[str, Any]:
    namespace = _namespace(call, "image:get_metadef_tag")
    return views.tag(backend.get_tag(call.db, namespace, call.params["tag_name"]))


@api.route("POST", NS + "/tags/{tag_name}", status=201)
def create_tag(call: Call) -> dict[str, Any]:
    name = bodies.tag_name(call.params["tag_name"])
    namespace = _namespace(call, "image:add_metadef_tag")
    return views.tag(backend.create_tag(call.db, namespace, name))


@api.route("PUT", NS + "/tags/{tag_name}")
def update_tag(call: Call) -> dict[str, Any]:
    body = bodies.parse(bodies.TagBody, call.json(), bodies.TIMES)
    namespace = _namespace(call, "image:modify_metadef_tag")
    row = backend.get_tag(call.db, namespace, call.params["tag_name"])
    return views.tag(backend.rename_tag(call.db, namespace, row, body.name))


@api.route("DELETE", NS + "/tags/{tag_name}")
def delete_tag(call: Call) -> None:
    namespace = _namespace(call, "image:delete_metadef_tag")
    backend.delete_tag(call.db, namespace, backend.get_tag(call.db, namespace, call.params["tag_name"]))


# -- resource types --------------------------------------------------------------------


@api.route("GET", "/v2/metadefs/resource_types")
def list_resource_types(call: Call) -> dict[str, Any]:
    call.authorize("image:list_metadef_resource_types", _own_project(call))
    return {"resource_types": [views.resource_type(row) for row in backend.list_resource_types(call.db)]}


@api.route("GET", NS + "/resource_types")
def list_associations(call: Call) -> dict[str, Any]:
    namespace = _namespace(call, "image:list_metadef_resource_types")
    if not call.allowed("image:get_metadef_resource_type", backend.policy_target(namespace)):
        return {"resource_type_associations": []}
    associations = backend.associations_of(call.db, [namespace.id])[namespace.id]
    return {"resource_type_associations": [views.association(a, name) for a, name in associations]}


@api.route("POST", NS + "/resource_types", status=201)
def create_association(call: Call) -> dict[str, Any]:
    body = bodies.parse(bodies.AssociationBody, call.json(), bodies.TIMES)
    namespace = _namespace(call, "image:add_metadef_resource_type_association")
    return views.association(*backend.create_association(call.db, namespace, body))


@api.route("DELETE", NS + "/resource_types/{resource_type}")
def delete_association(call: Call) -> None:
    namespace = _namespace(call, "image:remove_metadef_resource_type_association")
    backend.delete_association(call.db, namespace, call.params["resource_type"])

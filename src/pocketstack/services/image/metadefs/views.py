"""Rows -> the JSON Glance answers with.

Glance leaves out any field that has no value (a namespace without a display_name has
no "display_name" key), and writes its links relative to the API root ("/v2/...").
Inside a properties map the property's name is the key, not a field.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pocketstack.core.pagination import Page

from ..views.common import iso
from .backend import Contents
from .models import MetadefNamespace, MetadefNamespaceResourceType, MetadefObject, MetadefProperty, MetadefResourceType, MetadefTag

NAMESPACES_URL = "/v2/metadefs/namespaces"
SCHEMAS_URL = "/v2/schemas/metadefs"

Association = tuple[MetadefNamespaceResourceType, str]


def _without_nones(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def namespace_url(name: str) -> str:
    return f"{NAMESPACES_URL}/{name}"


# -- namespaces -----------------------------------------------------------------------


def namespace(row: MetadefNamespace, associations: list[Association] | None = None) -> dict[str, Any]:
    """A namespace as lists show it: its own fields and its resource type associations."""
    body = _without_nones(
        {
            "namespace": row.namespace,
            "display_name": row.display_name,
            "description": row.description,
            "visibility": row.visibility,
            "protected": row.protected,
            "owner": row.owner,
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
            "self": namespace_url(row.namespace),
            "schema": f"{SCHEMAS_URL}/namespace",
        }
    )
    if associations:
        body["resource_type_associations"] = [association(a, name) for a, name in associations]
    return body


def namespace_detail(row: MetadefNamespace, contents: Contents, prefix: str | None = None) -> dict[str, Any]:
    """A namespace with everything in it. With a prefix (the namespace's prefix for the
    resource type a caller asked about), property names, including those of objects and
    their `required` lists, carry it: the names as that resource type spells them."""
    body = namespace(row, contents.associations)
    if contents.properties:
        body["properties"] = {(prefix or "") + p.name: dict(p.definition) for p in contents.properties}
    if contents.objects:
        body["objects"] = [metadef_object(row.namespace, o, prefix) for o in contents.objects]
    if contents.tags:
        body["tags"] = [{"name": t.name} for t in contents.tags]
    return body


def namespace_list(rows: list[MetadefNamespace], associations: dict[int, list[Association]], page: Page[Any], query: Any) -> dict[str, Any]:
    """GET /v2/metadefs/namespaces: the page, a `first` link (the same query without
    marker) and, when another page exists, a `next` link."""
    params = {key: value for key, value in query.items() if key != "marker"}
    body: dict[str, Any] = {
        "namespaces": [namespace(row, associations.get(row.id)) for row in rows],
        "first": _href(NAMESPACES_URL, params),
        "schema": f"{SCHEMAS_URL}/namespaces",
    }
    if page.has_next and rows:
        body["next"] = _href(NAMESPACES_URL, {**params, "marker": rows[-1].namespace})
    return body


def _href(url: str, params: dict[str, str]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


# -- resource types -------------------------------------------------------------------


def association(row: MetadefNamespaceResourceType, name: str) -> dict[str, Any]:
    return _without_nones(
        {
            "name": name,
            "prefix": row.prefix,
            "properties_target": row.properties_target,
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
        }
    )


def resource_type(row: MetadefResourceType) -> dict[str, Any]:
    return {"name": row.name, "created_at": iso(row.created_at), "updated_at": iso(row.updated_at)}


# -- objects ----------------------------------------------------------------------------


def metadef_object(namespace_name: str, row: MetadefObject, prefix: str | None = None) -> dict[str, Any]:
    prefix = prefix or ""
    return _without_nones(
        {
            "name": row.name,
            "description": row.description,
            "required": [prefix + name for name in row.required or []],
            "properties": {prefix + name: dict(definition) for name, definition in (row.properties or {}).items()},
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
            "self": f"{namespace_url(namespace_name)}/objects/{row.name}",
            "schema": f"{SCHEMAS_URL}/object",
        }
    )


def object_list(namespace_name: str, rows: list[MetadefObject]) -> dict[str, Any]:
    return {"objects": [metadef_object(namespace_name, row) for row in rows], "schema": f"{SCHEMAS_URL}/objects"}


# -- properties -----------------------------------------------------------------------


def metadef_property(row: MetadefProperty) -> dict[str, Any]:
    return {"name": row.name, **row.definition}


def property_map(rows: list[MetadefProperty]) -> dict[str, Any]:
    return {"properties": {row.name: dict(row.definition) for row in rows}}


# -- tags -------------------------------------------------------------------------------


def tag(row: MetadefTag) -> dict[str, Any]:
    return {"name": row.name, "created_at": iso(row.created_at), "updated_at": iso(row.updated_at)}


def tag_names(rows: list[MetadefTag]) -> dict[str, Any]:
    """Lists of tags show names only (Glance's MetadefTags)."""
    return {"tags": [{"name": row.name} for row in rows]}

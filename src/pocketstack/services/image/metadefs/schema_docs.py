"""The JSON-schema documents Glance serves under /v2/schemas/metadefs/: a namespace,
a resource type association, a property, an object and a tag, and their collections.

Clients read them (Horizon and python-glanceclient build forms from them, Tempest checks
their names), so they follow Glance field by field: the same property names, types,
limits, descriptions, `definitions` and link templates. Request validation (schemas.py)
enforces the same rules; tests check the two agree.

Every function builds a fresh dict, so a caller may change what it gets.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# what a property's `type` (and an array's item type) may be; Glance lists null too,
# though its "type": "string" beside the enum makes null fail anyway
PROPERTY_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
NAME_MAX = 80


# -- shared pieces -----------------------------------------------------------------


def _timestamp(description: str) -> Schema:
    return {"type": "string", "readOnly": True, "description": description, "format": "date-time"}


def _link() -> Schema:
    return {"readOnly": True, "type": "string"}


def _definitions(*, string_array_min_items: int | None = None, with_property: bool = True) -> Schema:
    """The `definitions` block: integer helpers, stringArray and (for namespaces and
    objects) the `property` map that describes a dict of property definitions."""
    string_array: Schema = {"type": "array", "items": {"type": "string"}}
    if string_array_min_items is not None:
        string_array["minItems"] = string_array_min_items
    string_array["uniqueItems"] = True
    definitions: Schema = {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]},
        "stringArray": string_array,
    }
    if with_property:
        definitions["property"] = {
            "type": "object",
            "additionalProperties": {"type": "object", "required": ["title", "type"], "properties": property_fields()},
        }
    return definitions


def property_fields() -> Schema:
    """The fields of one property definition (`properties` of the property document)."""
    type_enum = [*PROPERTY_TYPES, None]
    return {
        "name": {"type": "string", "maxLength": NAME_MAX},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": list(type_enum)},
        "required": {"$ref": "#/definitions/stringArray"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": {"$ref": "#/definitions/positiveInteger"},
        "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {
            "type": "object",
            "properties": {"type": {"type": "string", "enum": list(type_enum)}, "enum": {"type": "array"}},
        },
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "uniqueItems": {"type": "boolean", "default": False},
        "additionalItems": {"type": "boolean"},
    }


def _entity(name: str, properties: Schema, required: list[str], definitions: Schema | None = None) -> Schema:
    """One entity's document, laid out as Glance's Schema.raw() lays it out."""
    doc: Schema = {"name": name, "properties": properties, "additionalProperties": False}
    if definitions:
        doc["definitions"] = definitions
    if required:
        doc["required"] = required
    return doc


def _collection(name: str, item: Schema, *, keyed: bool = False) -> Schema:
    """A collection document: a list (or, keyed, a name -> item map) of the entity,
    with first/next/schema links. The entity's definitions move up to the top."""
    item = dict(item)
    definitions = item.pop("definitions", None)
    container: Schema = {"type": "object", "additionalProperties": item} if keyed else {"type": "array", "items": item}
    doc: Schema = {
        "name": name,
        "properties": {name: container, "first": {"type": "string"}, "next": {"type": "string"}, "schema": {"type": "string"}},
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }
    if definitions:
        doc["definitions"] = definitions
    return doc


# -- namespaces ----------------------------------------------------------------------


def namespace_schema() -> Schema:
    name_only = {"name": {"type": "string"}}
    properties: Schema = {
        "namespace": {"type": "string", "description": "The unique namespace text.", "maxLength": NAME_MAX},
        "display_name": {
            "type": "string",
            "description": "The user friendly name for the namespace. Used by UI if available.",
            "maxLength": NAME_MAX,
        },
        "description": {"type": "string", "description": "Provides a user friendly description of the namespace.", "maxLength": 500},
        "visibility": {"type": "string", "description": "Scope of namespace accessibility.", "enum": ["public", "private"]},
        "protected": {"type": "boolean", "description": "If true, namespace will not be deletable."},
        "owner": {"type": "string", "description": "Owner of the namespace.", "maxLength": 255},
        "created_at": _timestamp("Date and time of namespace creation"),
        "updated_at": _timestamp("Date and time of the last namespace modification"),
        "schema": _link(),
        "self": _link(),
        "resource_type_associations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {**name_only, "prefix": {"type": "string"}, "properties_target": {"type": "string"}},
            },
        },
        "properties": {"$ref": "#/definitions/property"},
        "objects": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    **name_only,
                    "description": {"type": "string"},
                    "required": {"$ref": "#/definitions/stringArray"},
                    "properties": {"$ref": "#/definitions/property"},
                },
            },
        },
        "tags": {"type": "array", "items": {"type": "object", "properties": dict(name_only)}},
    }
    return _entity("namespace", properties, ["namespace"], _definitions())


def namespaces_schema() -> Schema:
    return _collection("namespaces", namespace_schema())


# -- resource type associations ---------------------------------------------------------


def resource_type_schema() -> Schema:
    properties: Schema = {
        "name": {
            "type": "string",
            "description": "Resource type names should be aligned with Heat resource types whenever possible: "
            "https://docs.openstack.org/heat/latest/template_guide/openstack.html",
            "maxLength": NAME_MAX,
        },
        "prefix": {
            "type": "string",
            "description": "Specifies the prefix to use for the given resource type. Any properties in the namespace should be "
            "prefixed with this prefix when being applied to the specified resource type. Must include prefix separator "
            "(e.g. a colon :).",
            "maxLength": NAME_MAX,
        },
        "properties_target": {
            "type": "string",
            "description": "Some resource types allow more than one key / value pair per instance.  For example, Cinder allows "
            "user and image metadata on volumes. Only the image properties metadata is evaluated by Nova (scheduling or "
            "drivers). This property allows a namespace target to remove the ambiguity.",
            "maxLength": NAME_MAX,
        },
        "created_at": _timestamp("Date and time of resource type association"),
        "updated_at": _timestamp("Date and time of the last resource type association modification"),
    }
    return _entity("resource_type_association", properties, ["name"])


def resource_types_schema() -> Schema:
    return _collection("resource_type_associations", resource_type_schema())


# -- properties ----------------------------------------------------------------------


def property_schema() -> Schema:
    # a property on its own needs its name; inside a collection the name is the key
    return _entity("property", property_fields(), ["type", "title", "name"], _definitions(string_array_min_items=1, with_property=False))


def properties_schema() -> Schema:
    item = property_schema()
    item["required"] = ["type", "title"]
    return _collection("properties", item, keyed=True)


# -- objects ---------------------------------------------------------------------------


def object_schema() -> Schema:
    properties: Schema = {
        "name": {"type": "string", "maxLength": NAME_MAX},
        "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        "schema": _link(),
        "self": _link(),
        "created_at": _timestamp("Date and time of object creation"),
        "updated_at": _timestamp("Date and time of the last object modification"),
    }
    return _entity("object", properties, ["name"], _definitions())


def objects_schema() -> Schema:
    return _collection("objects", object_schema())


# -- tags ------------------------------------------------------------------------------


def tag_schema() -> Schema:
    properties: Schema = {
        "name": {"type": "string", "maxLength": NAME_MAX},
        "created_at": _timestamp("Date and time of tag creation"),
        "updated_at": _timestamp("Date and time of the last tag modification"),
    }
    return _entity("tag", properties, ["name"])


def tags_schema() -> Schema:
    return _collection("tags", tag_schema())


def tag_list_request_schema() -> Schema:
    """What POST .../tags accepts ({"tags": [{"name": ...}, ...]}); not served, Glance
    validates with it."""
    item = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": False}
    return _entity("tags", {"tags": {"type": "array", "items": item}}, [])


# URL name -> builder, for GET /v2/schemas/metadefs/{name}
DOCUMENTS = {
    "namespace": namespace_schema,
    "namespaces": namespaces_schema,
    "resource_type": resource_type_schema,
    "resource_types": resource_types_schema,
    "property": property_schema,
    "properties": properties_schema,
    "object": object_schema,
    "objects": objects_schema,
    "tag": tag_schema,
    "tags": tags_schema,
}

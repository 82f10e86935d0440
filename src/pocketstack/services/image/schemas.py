"""What an image request may say: the core properties with their types, the read-only
and reserved names, and JSON-patch documents.

Glance's image body is an open JSON object (custom properties are any other string-valued
key), so it is checked field by field here rather than with one closed pydantic model."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pocketstack.core.faults import BadRequest, Forbidden

from . import schema_docs
from .formats import CONTAINER_FORMATS, DISK_FORMATS

VISIBILITIES = ("public", "private", "shared", "community")
INT32_MAX = 2**31 - 1
MAX_NAME = 255  # property names, image names, tags
MAX_PROPERTY_VALUE = 65535
UUID_RE = re.compile(r"^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")

# what the image schema (schema_docs, the document clients read) marks read-only, and
# locations, which only the JSON-patch of /locations changes
READ_ONLY = frozenset(schema_docs.read_only_image_property_names()) | {"locations"}
# core properties a request may set (id only at creation)
WRITABLE_CORE = frozenset(schema_docs.core_image_property_names()) - READ_ONLY - {"id"}
RESERVED_PREFIX = "os_glance"


def _fail(name: str, why: str) -> BadRequest:
    return BadRequest(f"Provided object does not match schema 'image': {name}: {why}")


def check_core_value(name: str, value: Any) -> Any:
    """The value a core property may take; 400 otherwise. Returns it normalised."""
    if name in ("name", "owner"):
        if value is not None and not isinstance(value, str):
            raise _fail(name, f"{value!r} is not of type 'string', 'null'")
        if value is not None and len(value) > MAX_NAME:
            raise _fail(name, f"is longer than {MAX_NAME} characters")
        return value
    if name == "visibility":
        if value not in VISIBILITIES:
            raise _fail(name, f"{value!r} is not one of {list(VISIBILITIES)}")
        return value
    if name in ("disk_format", "container_format"):
        allowed = DISK_FORMATS if name == "disk_format" else CONTAINER_FORMATS
        if value is not None and value not in allowed:
            raise _fail(name, f"{value!r} is not one of {list(allowed)}")
        return value
    if name in ("min_disk", "min_ram"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(name, f"{value!r} is not of type 'integer'")
        if not 0 <= value <= INT32_MAX:
            raise _fail(name, f"{value} is not between 0 and {INT32_MAX}")
        return value
    if name in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise _fail(name, f"{value!r} is not of type 'boolean'")
        return value
    if name == "tags":
        if not isinstance(value, list):
            raise _fail(name, f"{value!r} is not of type 'array'")
        return unique_tags([check_tag(t) for t in value])
    raise AssertionError(name)


def check_tag(tag: Any) -> str:
    if not isinstance(tag, str):
        raise _fail("tags", f"{tag!r} is not of type 'string'")
    if not tag or len(tag) > MAX_NAME:
        raise _fail("tags", f"a tag must have 1 to {MAX_NAME} characters")
    return tag


def unique_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def check_property_name(name: str, *, action: str) -> None:
    """Names nobody may set: read-only core fields (403) and Glance's reserved namespace."""
    if name in READ_ONLY:
        raise Forbidden(f"Attribute '{name}' is read-only.")
    if name.startswith(RESERVED_PREFIX):
        raise Forbidden(f"Attribute '{name}' is reserved.")
    if not name or len(name) > MAX_NAME:
        raise BadRequest(f"Property names must have 1 to {MAX_NAME} characters; cannot {action} {name[:40]!r}.")


def check_custom_value(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(name, f"{value!r} is not of type 'string'")
    if len(value) > MAX_PROPERTY_VALUE:
        raise _fail(name, f"is longer than {MAX_PROPERTY_VALUE} characters")
    return value


@dataclass
class ImageCreate:
    id: str | None
    core: dict[str, Any]  # validated core properties given
    extra: dict[str, str]  # custom properties


def parse_create(body: Any) -> ImageCreate:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object describing the image.")
    image_id = body.get("id")
    if image_id is not None and (not isinstance(image_id, str) or not UUID_RE.match(image_id)):
        raise _fail("id", f"{image_id!r} does not match the UUID pattern")
    core: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for name, value in body.items():
        if name == "id":
            continue
        if name in WRITABLE_CORE:
            core[name] = check_core_value(name, value)
            continue
        check_property_name(name, action="set")
        extra[name] = check_custom_value(name, value)
    return ImageCreate(image_id, core, extra)


# -- JSON patch (application/openstack-images-v2.1-json-patch) --------------------------

PATCH_MEDIA_TYPES = ("application/openstack-images-v2.1-json-patch", "application/openstack-images-v2.0-json-patch")


@dataclass
class PatchOp:
    op: str  # add, replace, remove
    name: str  # the top-level property the path names
    value: Any = None
    index: str | None = None  # /locations/<index> ("-": the end)


def parse_patch(body: Any, media_type: str) -> list[PatchOp]:
    if not isinstance(body, list):
        raise BadRequest("A JSON-patch body must be a list of operations.")
    return [_parse_op(item, media_type) for item in body]


OPS = ("add", "replace", "remove")


def _parse_op(item: Any, media_type: str) -> PatchOp:
    if not isinstance(item, dict):
        raise BadRequest("Each JSON-patch operation must be an object.")
    if "op" not in item:
        # Glance's older spelling, still what Tempest sends: {"replace": "/name", "value": x}
        named = [op for op in OPS if op in item]
        if len(named) != 1:
            raise BadRequest("Each JSON-patch operation needs an 'op' (one of 'add', 'replace', 'remove').")
        item = {"op": named[0], "path": item[named[0]], **{k: v for k, v in item.items() if k != named[0]}}
    op = item.get("op")
    if op not in OPS:
        raise BadRequest(f"Operation {op!r} is not supported: use one of 'add', 'replace', 'remove'.")
    path = item.get("path")
    if not isinstance(path, str):
        raise BadRequest("Each JSON-patch operation needs a string 'path'.")
    name, index = _path_name(path, media_type)
    has_value = "value" in item
    if op == "remove" and has_value:
        raise BadRequest("A 'remove' operation takes no 'value'.")
    if op != "remove" and not has_value:
        raise BadRequest(f"The '{op}' operation needs a 'value'.")
    unknown = set(item) - {"op", "path", "value"}
    if unknown:
        raise BadRequest(f"Unknown keys in a JSON-patch operation: {', '.join(sorted(unknown))}.")
    return PatchOp(op, name, item.get("value"), index)


def _path_name(path: str, media_type: str) -> tuple[str, str | None]:
    """v2.1 paths are JSON pointers ("/name"); v2.0 allowed the bare name. Only
    top-level properties can be patched, and single entries of /locations."""
    if media_type.endswith("v2.0-json-patch") and not path.startswith("/"):
        path = "/" + path
    if not path.startswith("/") or path == "/":
        raise BadRequest(f"Invalid JSON pointer for this resource: '{path[:80]}'")
    parts = path[1:].split("/")
    if len(parts) == 2 and parts[0] == "locations" and parts[1]:
        return "locations", parts[1]
    if len(parts) != 1:
        raise BadRequest(f"Invalid JSON pointer for this resource: '{path[:80]}'")
    name = parts[0].replace("~1", "/").replace("~0", "~")
    if not name:
        raise BadRequest(f"Invalid JSON pointer for this resource: '{path[:80]}'")
    return name, None

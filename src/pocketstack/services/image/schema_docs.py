"""The JSON-schema documents Glance serves under /v2/schemas/: what an image, a member
and a task look like, and their collections.

Clients read them: python-glanceclient builds its models and its `--property` help
from /v2/schemas/image, and Tempest checks the names. So the documents follow Glance
(2024.1 through 2026.1 are identical here): the same property names, types, enums,
readOnly flags and link templates. The image document is also our own source of truth
for which image attributes are core (`is_base`) and which a client may not set.

Every function builds a fresh dict, so a caller may change what it gets.
"""

from __future__ import annotations

from typing import Any

from .formats import CONTAINER_FORMATS, DISK_FORMATS

UUID_PATTERN = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

Schema = dict[str, Any]

IMAGE_STATUSES = ["queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"]
VISIBILITIES = ["community", "public", "private", "shared"]
MEMBER_STATUSES = ["pending", "accepted", "rejected"]
TASK_TYPES = ["import", "api_image_import", "location_import"]
TASK_STATUSES = ["pending", "processing", "success", "failure"]

# Task fields a task list leaves out (they can be big); only GET /v2/tasks/{id} shows them.
TASK_DETAIL_ONLY = ("input", "result", "message")


def _text(description: str, *, nullable: bool = False, max_length: int | None = None, read_only: bool = False) -> Schema:
    prop: Schema = {"type": ["null", "string"] if nullable else "string", "description": description}
    if max_length is not None:
        prop["maxLength"] = max_length
    if read_only:
        prop["readOnly"] = True
    return prop


def _read_only(description: str, type_: str | list[str] = "string") -> Schema:
    return {"type": type_, "readOnly": True, "description": description}


def _location_item() -> Schema:
    """One entry of `locations`: where the data lives in a store, plus the hashes a
    caller may vouch for when adding it (never shown back: writeOnly)."""
    validation_data = {
        "description": (
            "Values to be used to populate the corresponding image properties. "
            "If the image status is not 'queued', values must exactly match those already contained in the image properties."
        ),
        "type": "object",
        "writeOnly": True,
        "additionalProperties": False,
        "properties": {
            "checksum": {"type": "string", "minLength": 32, "maxLength": 32},
            "os_hash_algo": {"type": "string", "maxLength": 64},
            "os_hash_value": {"type": "string", "maxLength": 128},
        },
        "required": ["os_hash_algo", "os_hash_value"],
    }
    return {
        "type": "object",
        "properties": {
            "url": {"type": "string", "maxLength": 255},
            "metadata": {"type": "object"},
            "validation_data": validation_data,
        },
        "required": ["url", "metadata"],
    }


def _core_image_properties() -> dict[str, Schema]:
    """The attributes every image has (Glance's base properties)."""
    return {
        "id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
        "name": _text("Descriptive name for the image", nullable=True, max_length=255),
        "status": {**_read_only("Status of the image"), "enum": list(IMAGE_STATUSES)},
        "visibility": {"type": "string", "description": "Scope of image accessibility", "enum": list(VISIBILITIES)},
        "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
        "os_hidden": {"type": "boolean", "description": "If true, image will not appear in default image list response."},
        "checksum": _text("md5 hash of image contents.", nullable=True, max_length=32, read_only=True),
        "os_hash_algo": _text("Algorithm to calculate the os_hash_value", nullable=True, max_length=64, read_only=True),
        "os_hash_value": _text(
            "Hexdigest of the image contents using the algorithm specified by the os_hash_algo", nullable=True, max_length=128, read_only=True
        ),
        "owner": _text("Owner of the image", nullable=True, max_length=255),
        "size": _read_only("Size of image file in bytes", ["null", "integer"]),
        "virtual_size": _read_only("Virtual size of image in bytes", ["null", "integer"]),
        # None first: an image may be created before its formats are known
        "container_format": {"type": ["null", "string"], "description": "Format of the container", "enum": [None, *CONTAINER_FORMATS]},
        "disk_format": {"type": ["null", "string"], "description": "Format of the disk", "enum": [None, *DISK_FORMATS]},
        "created_at": _read_only("Date and time of image registration"),
        "updated_at": _read_only("Date and time of the last image modification"),
        "tags": {"type": "array", "description": "List of strings related to the image", "items": {"type": "string", "maxLength": 255}},
        "direct_url": _read_only("URL to access the image file kept in external store"),
        "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
        "min_disk": {"type": "integer", "description": "Amount of disk space (in GB) required to boot image."},
        "self": _read_only("An image self url"),
        "file": _read_only("An image file url"),
        "stores": _read_only(
            "Store in which image data resides.  Only present when the operator has enabled multiple stores.  "
            "May be a comma-separated list of store identifiers."
        ),
        "schema": _read_only("An image schema url"),
        "locations": {
            "type": "array",
            "items": _location_item(),
            "description": "A set of URLs to access the image file kept in external store",
        },
    }


def _standard_image_properties() -> dict[str, Schema]:
    """Well-known extra properties, as Glance's stock etc/schema-image.json describes
    them. They are ordinary (string) properties an image may or may not carry, marked
    `is_base: false`; the schema only constrains their values."""
    standard: dict[str, Schema] = {
        "kernel_id": {
            "type": ["null", "string"],
            "pattern": UUID_PATTERN,
            "description": "ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.",
        },
        "ramdisk_id": {
            "type": ["null", "string"],
            "pattern": UUID_PATTERN,
            "description": "ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.",
        },
        "instance_uuid": _text(
            "Metadata which can be used to record which instance this image is associated with. "
            "(Informational only, does not create an instance snapshot.)"
        ),
        "architecture": _text(
            "Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html"
        ),
        "os_distro": _text(
            "Common name of operating system distribution as specified in "
            "https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html"
        ),
        "os_version": _text("Operating system version as specified by the distributor."),
        "description": _text("A human-readable string describing this image."),
        "cinder_encryption_key_id": _text(
            "Identifier in the OpenStack Key Management Service for the encryption key for the Block Storage Service "
            "to use when mounting a volume created from this image"
        ),
        "cinder_encryption_key_deletion_policy": {
            **_text(
                "States the condition under which the Image Service will delete the object associated with the "
                "'cinder_encryption_key_id' image property.  If this property is missing, the Image Service will take no action"
            ),
            "enum": ["on_image_deletion", "do_not_delete"],
        },
    }
    for prop in standard.values():
        prop["is_base"] = False
    return standard


def _image_links() -> list[Schema]:
    return [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ]


def image_schema() -> Schema:
    """GET /v2/schemas/image. Any property not listed is allowed, as a string."""
    return {
        "name": "image",
        "properties": {**_core_image_properties(), **_standard_image_properties()},
        "additionalProperties": {"type": "string"},
        "links": _image_links(),
    }


def _paged_collection(name: str, item: Schema) -> Schema:
    """A collection document with first/next paging links (Glance's `raw` collection)."""
    return {
        "name": name,
        "properties": {
            name: {"type": "array", "items": item},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def _plain_collection(name: str, item: Schema) -> Schema:
    """A collection document with only its schema link (Glance's `minimal` collection)."""
    return {
        "name": name,
        "properties": {
            name: {"type": "array", "items": item},
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }


def images_schema() -> Schema:
    """GET /v2/schemas/images."""
    return _paged_collection("images", image_schema())


def member_schema() -> Schema:
    """GET /v2/schemas/member."""
    return {
        "name": "member",
        "properties": {
            "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
            "image_id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
            "created_at": {"type": "string", "description": "Date and time of image member creation"},
            "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
            "status": {"type": "string", "description": "The status of this image member", "enum": list(MEMBER_STATUSES)},
            "schema": {"readOnly": True, "type": "string"},
        },
    }


def members_schema() -> Schema:
    """GET /v2/schemas/members."""
    return _plain_collection("members", member_schema())


def _task_properties() -> dict[str, Schema]:
    return {
        "id": {"description": "An identifier for the task", "pattern": UUID_PATTERN, "type": "string"},
        "type": {"description": "The type of task represented by this content", "enum": list(TASK_TYPES), "type": "string"},
        "status": {"description": "The current status of this task", "enum": list(TASK_STATUSES), "type": "string"},
        "input": {"description": "The parameters required by task, JSON blob", "type": ["null", "object"]},
        "result": {"description": "The result of current task, JSON blob", "type": ["null", "object"]},
        "owner": {"description": "An identifier for the owner of this task", "type": "string"},
        "message": {"description": "Human-readable informative message only included when appropriate (usually on failure)", "type": "string"},
        "image_id": {"description": "Image associated with the task", "type": "string"},
        "request_id": {"description": "Human-readable informative request-id", "type": "string"},
        "user_id": {"description": "User associated with the task", "type": "string"},
        "expires_at": {"description": "Datetime when this resource would be subject to removal", "type": ["null", "string"]},
        "created_at": {"description": "Datetime when this resource was created", "type": "string"},
        "updated_at": {"description": "Datetime when this resource was updated", "type": "string"},
        "self": {"readOnly": True, "type": "string"},
        "schema": {"readOnly": True, "type": "string"},
    }


def task_schema() -> Schema:
    """GET /v2/schemas/task."""
    return {"name": "task", "properties": _task_properties()}


def tasks_schema() -> Schema:
    """GET /v2/schemas/tasks: its items are the summary a task list shows."""
    summary = {name: prop for name, prop in _task_properties().items() if name not in TASK_DETAIL_ONLY}
    return _plain_collection("tasks", {"name": "task", "properties": summary})


# -- what the image API needs to know from the image document ---------------------


def core_image_property_names() -> frozenset[str]:
    """Attributes every image has; anything else a client sets is an extra property."""
    return frozenset(name for name, prop in image_schema()["properties"].items() if prop.get("is_base", True))


def read_only_image_property_names() -> frozenset[str]:
    """Attributes the document marks readOnly: only the server sets them. (`id` is not
    among them: a client may choose it at creation, though never change it.)"""
    return frozenset(name for name, prop in image_schema()["properties"].items() if prop.get("readOnly"))

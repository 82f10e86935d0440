"""GET /v2/schemas/{image,images,member,members,task,tasks}: Glance's JSON-schema documents,
fetched through a live cloud."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator

from pocketstack.services.image import schema_docs
from pocketstack.services.image.formats import CONTAINER_FORMATS, DISK_FORMATS
from pocketstack.testing.server import LiveCloud
from tests.conftest import Identity, login, make_project, make_user

NAMES = ["image", "images", "member", "members", "task", "tasks"]
STANDARD_PROPERTIES = {
    "kernel_id",
    "ramdisk_id",
    "instance_uuid",
    "architecture",
    "os_distro",
    "os_version",
    "description",
    "cinder_encryption_key_id",
    "cinder_encryption_key_deletion_policy",
}
READ_ONLY_IMAGE_PROPERTIES = {
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "created_at",
    "updated_at",
    "direct_url",
    "self",
    "file",
    "stores",
    "schema",
}


@pytest.fixture(scope="module")
def reader_token(cloud: LiveCloud, admin: Identity) -> str:
    """A token of a user holding only the reader role: the least that may read schemas."""
    project = make_project(admin)
    user, password = make_user(admin, project["id"], "reader")
    return login(cloud, user, password, project["id"]).token


def fetch(cloud: LiveCloud, name: str, token: str | None, method: str = "GET") -> httpx.Response:
    headers = {"X-Auth-Token": token} if token else {}
    return httpx.request(method, f"{cloud.url}/image/v2/schemas/{name}", headers=headers, timeout=30)


def served(cloud: LiveCloud, name: str, token: str) -> dict[str, Any]:
    reply = fetch(cloud, name, token)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    return reply.json()


@pytest.mark.parametrize("name", NAMES)
def test_every_document_is_valid_json_schema_and_named(cloud: LiveCloud, reader_token: str, name: str) -> None:
    document = served(cloud, name, reader_token)
    Draft4Validator.check_schema(document)
    assert document["name"] == name
    # what is served is exactly what the image API itself works from
    assert document == getattr(schema_docs, f"{name}_schema")()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_schemas_need_a_valid_token(cloud: LiveCloud, name: str, token: str | None) -> None:
    reply = fetch(cloud, name, token)
    assert reply.status_code == 401, reply.text
    assert reply.json()["code"] == "401 Unauthorized"  # Glance's (WebOb's) error body


def test_schemas_are_read_only_resources(cloud: LiveCloud, reader_token: str) -> None:
    reply = fetch(cloud, "image", reader_token, method="POST")
    assert reply.status_code == 405, reply.text
    assert "GET" in reply.headers["allow"]


def test_unknown_schema_is_404(cloud: LiveCloud, reader_token: str) -> None:
    assert fetch(cloud, "flavor", reader_token).status_code == 404


def test_image_document_core_properties(cloud: LiveCloud, reader_token: str) -> None:
    image = served(cloud, "image", reader_token)
    props = image["properties"]
    assert props["id"]["pattern"] == schema_docs.UUID_PATTERN
    assert props["container_format"]["enum"] == [None, *CONTAINER_FORMATS]
    assert props["disk_format"]["enum"] == [None, *DISK_FORMATS]
    assert props["container_format"]["type"] == props["disk_format"]["type"] == ["null", "string"]
    assert set(props["visibility"]["enum"]) == {"public", "private", "shared", "community"}
    assert {"queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"} == set(
        props["status"]["enum"]
    )
    assert {name for name, prop in props.items() if prop.get("readOnly")} == READ_ONLY_IMAGE_PROPERTIES
    assert props["size"]["type"] == props["virtual_size"]["type"] == ["null", "integer"]
    assert props["min_ram"]["type"] == props["min_disk"]["type"] == "integer"
    assert props["protected"]["type"] == props["os_hidden"]["type"] == "boolean"
    assert props["tags"]["items"] == {"type": "string", "maxLength": 255}
    assert props["locations"]["items"]["required"] == ["url", "metadata"]
    # any property the document does not name is allowed, as a string
    assert image["additionalProperties"] == {"type": "string"}
    assert image["links"] == [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ]


def test_image_document_standard_properties_are_not_base(cloud: LiveCloud, reader_token: str) -> None:
    props = served(cloud, "image", reader_token)["properties"]
    standard = {name for name, prop in props.items() if prop.get("is_base") is False}
    assert standard == STANDARD_PROPERTIES
    assert props["kernel_id"]["pattern"] == props["ramdisk_id"]["pattern"] == schema_docs.UUID_PATTERN
    assert props["cinder_encryption_key_deletion_policy"]["enum"] == ["on_image_deletion", "do_not_delete"]
    assert schema_docs.core_image_property_names() == set(props) - STANDARD_PROPERTIES
    assert schema_docs.read_only_image_property_names() == READ_ONLY_IMAGE_PROPERTIES


def test_images_collection_document(cloud: LiveCloud, reader_token: str) -> None:
    images = served(cloud, "images", reader_token)
    assert images["properties"]["images"] == {"type": "array", "items": schema_docs.image_schema()}
    for paging in ("first", "next", "schema"):
        assert images["properties"][paging] == {"type": "string"}
    assert images["links"] == [
        {"rel": "first", "href": "{first}"},
        {"rel": "next", "href": "{next}"},
        {"rel": "describedby", "href": "{schema}"},
    ]


def test_member_documents(cloud: LiveCloud, reader_token: str) -> None:
    member = served(cloud, "member", reader_token)
    assert set(member["properties"]) == {"member_id", "image_id", "created_at", "updated_at", "status", "schema"}
    assert member["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    assert member["properties"]["image_id"]["pattern"] == schema_docs.UUID_PATTERN
    assert "additionalProperties" not in member and "links" not in member
    members = served(cloud, "members", reader_token)
    assert members["properties"]["members"] == {"type": "array", "items": member}
    assert members["links"] == [{"rel": "describedby", "href": "{schema}"}]


def test_task_documents(cloud: LiveCloud, reader_token: str) -> None:
    task = served(cloud, "task", reader_token)
    props = task["properties"]
    assert props["type"]["enum"] == ["import", "api_image_import", "location_import"]
    assert props["status"]["enum"] == ["pending", "processing", "success", "failure"]
    assert props["input"]["type"] == props["result"]["type"] == ["null", "object"]
    tasks = served(cloud, "tasks", reader_token)
    summary = tasks["properties"]["tasks"]["items"]["properties"]
    # a task list leaves out the bulky fields
    assert set(props) - set(summary) == {"input", "result", "message"}
    assert tasks["links"] == [{"rel": "describedby", "href": "{schema}"}]


def sample_image() -> dict[str, Any]:
    image_id = str(uuid.uuid4())
    return {
        "id": image_id,
        "name": "cirros",
        "status": "active",
        "visibility": "private",
        "protected": False,
        "os_hidden": False,
        "checksum": "443b7623e27ecf03dc9e01ee93f67afe",
        "os_hash_algo": "sha512",
        "os_hash_value": "6513f21e44aa3da349f248188a44bc304a3653a04122d8fb4535423c8e1d14cd6a153f735bb0982e2161b5b5186106570c17a9e58b64dd39390617cd5a350f78",
        "owner": uuid.uuid4().hex,
        "size": 12716032,
        "virtual_size": 117440512,
        "container_format": "bare",
        "disk_format": "qcow2",
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:01Z",
        "tags": ["cirros"],
        "min_ram": 0,
        "min_disk": 0,
        "self": f"/v2/images/{image_id}",
        "file": f"/v2/images/{image_id}/file",
        "schema": "/v2/schemas/image",
        "os_distro": "cirros",
        "kernel_id": None,
        "hw_disk_bus": "virtio",  # a custom property: any string
    }


def test_a_glance_image_body_validates_against_the_image_document() -> None:
    validator = Draft4Validator(schema_docs.image_schema())
    assert list(validator.iter_errors(sample_image())) == []


@pytest.mark.parametrize(
    "change",
    [
        {"disk_format": "floppy"},
        {"visibility": "everyone"},
        {"id": "not-a-uuid"},
        {"kernel_id": "not-a-uuid"},
        {"min_ram": "512"},
        {"hw_disk_bus": 7},  # custom properties are strings
        {"tags": ["x" * 256]},
    ],
)
def test_bad_image_bodies_do_not_validate(change: dict[str, Any]) -> None:
    validator = Draft4Validator(schema_docs.image_schema())
    errors = list(validator.iter_errors({**sample_image(), **change}))
    assert errors, change
    (field,) = change
    assert any(field in err.absolute_path or field in err.message for err in errors), [e.message for e in errors]

"""Glance's metadata definitions catalog (/v2/metadefs, /v2/schemas/metadefs) against a
live cloud: the schema documents, namespaces with their objects, properties, tags and
resource type associations, who sees and changes what, and bad input.

Every test works in namespaces of its own (unique names), so tests may run in any order
on one shared cloud."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator

from pocketstack.services.image.metadefs import schema_docs
from pocketstack.services.image.metadefs.backend import DEFAULT_RESOURCE_TYPES
from pocketstack.testing.server import LiveCloud
from tests.conftest import ServiceClient

from .conftest import Tenant

NAMESPACES = "/v2/metadefs/namespaces"
TEMPEST_SCHEMA_NAMES = {
    "namespace": "namespace",
    "namespaces": "namespaces",
    "resource_type": "resource_type_association",
    "resource_types": "resource_type_associations",
    "object": "object",
    "objects": "objects",
    "property": "property",
    "properties": "properties",
    "tag": "tag",
    "tags": "tags",
}


def unique_name(prefix: str = "ns") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def ok(reply: httpx.Response, status: int = 200) -> Any:
    assert reply.status_code == status, reply.text
    return reply.json() if reply.content else None


@pytest.fixture
def make_namespace(glance: ServiceClient) -> Iterator[Callable[..., dict[str, Any]]]:
    """Create namespaces as admin; every one is unprotected and deleted afterwards."""
    made: list[str] = []

    def make(**fields: Any) -> dict[str, Any]:
        body = {"namespace": unique_name(), **fields}
        created = ok(glance.post(NAMESPACES, json=body), 201)
        made.append(created["namespace"])
        return created

    yield make
    for name in made:
        glance.put(f"{NAMESPACES}/{name}", json={"namespace": name, "visibility": "public", "protected": False})
        assert glance.delete(f"{NAMESPACES}/{name}").status_code in (204, 404)


# -- schema documents ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(schema_docs.DOCUMENTS))
def test_schema_documents_are_served_to_readers(tenant: Callable[..., Tenant], name: str) -> None:
    reader = tenant("reader")
    document = ok(reader.image.get(f"/v2/schemas/metadefs/{name}"))
    Draft4Validator.check_schema(document)
    assert document["name"] == TEMPEST_SCHEMA_NAMES[name]  # what Tempest's MetadataSchemaTest reads
    assert document == schema_docs.DOCUMENTS[name]()


def test_schema_documents_need_a_token(cloud: LiveCloud) -> None:
    reply = httpx.get(f"{cloud.url}/image/v2/schemas/metadefs/namespace", timeout=30)
    assert reply.status_code == 401, reply.text


def test_collection_documents_describe_their_items(glance: ServiceClient) -> None:
    namespaces = ok(glance.get("/v2/schemas/metadefs/namespaces"))
    namespace = schema_docs.namespace_schema()
    # the item's definitions move up to the collection, where its $refs resolve
    assert namespaces["definitions"] == namespace.pop("definitions")
    assert namespaces["properties"]["namespaces"] == {"type": "array", "items": namespace}
    properties = ok(glance.get("/v2/schemas/metadefs/properties"))
    assert properties["properties"]["properties"]["type"] == "object"
    assert properties["properties"]["properties"]["additionalProperties"]["required"] == ["type", "title"]
    assert ok(glance.get("/v2/schemas/metadefs/property"))["required"] == ["type", "title", "name"]


# Bodies the served namespace document accepts or refuses; the API must agree with it.
SCHEMA_CASES: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    ({"display_name": "Nice", "description": "d", "visibility": "public", "protected": False}, True),
    ({"properties": {"p": {"title": "P", "type": "integer", "minimum": 0, "maximum": 9, "default": 3}}}, True),
    ({"properties": {"p": {"title": "P", "type": "array", "items": {"type": "string", "enum": ["a"]}, "minItems": 1}}}, True),
    ({"objects": [{"name": "o", "required": ["p"], "properties": {"p": {"title": "P", "type": "string"}}}]}, True),
    ({"tags": [{"name": "t"}], "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "x_"}]}, True),
    ({"visibility": "shared"}, False),
    ({"protected": "yes"}, False),
    ({"display_name": "d" * 81}, False),
    ({"description": "d" * 501}, False),
    ({"unknown": 1}, False),
    ({"properties": {"p": {"type": "string"}}}, False),
    ({"properties": {"p": {"title": "P", "type": "text"}}}, False),
    ({"properties": {"p": {"title": "P", "type": "string", "minLength": -1}}}, False),
    ({"properties": {"p": {"title": "P", "type": "string", "uniqueItems": "no"}}}, False),
    ({"objects": [{"name": "o", "required": ["p", "p"]}]}, False),
]


@pytest.mark.parametrize(("extra", "valid"), SCHEMA_CASES)
def test_namespace_bodies_are_judged_as_the_document_says(
    glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]], extra: dict[str, Any], valid: bool
) -> None:
    document = ok(glance.get("/v2/schemas/metadefs/namespace"))
    body = {"namespace": unique_name(), **extra}
    assert Draft4Validator(document).is_valid(body) is valid
    if valid:
        make_namespace(**{k: v for k, v in body.items() if k != "namespace"})
    else:
        assert glance.post(NAMESPACES, json=body).status_code == 400
        assert glance.get(f"{NAMESPACES}/{body['namespace']}").status_code == 404


# -- namespaces ------------------------------------------------------------------------


def test_namespace_with_content_and_prefixed_view(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    created = make_namespace(
        display_name="CPU",
        visibility="public",
        resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}, {"name": "OS::Nova::Flavor", "prefix": "hw:"}],
        properties={"cpu_cores": {"title": "Cores", "type": "integer", "minimum": 1}},
        objects=[{"name": "Topology", "required": ["cpu_sockets"], "properties": {"cpu_sockets": {"title": "S", "type": "integer"}}}],
        tags=[{"name": "fast"}],
    )
    name = created["namespace"]
    assert created["self"] == f"/v2/metadefs/namespaces/{name}"
    assert created["schema"] == "/v2/schemas/metadefs/namespace"
    assert created["visibility"] == "public" and created["protected"] is False
    assert "description" not in created  # Glance leaves out what has no value

    shown = ok(glance.get(f"{NAMESPACES}/{name}"))
    assert shown["properties"] == {"cpu_cores": {"title": "Cores", "type": "integer", "minimum": 1}}
    assert shown["tags"] == [{"name": "fast"}]
    assert [a["name"] for a in shown["resource_type_associations"]] == ["OS::Glance::Image", "OS::Nova::Flavor"]

    as_flavor = ok(glance.get(f"{NAMESPACES}/{name}", params={"resource_type": "OS::Nova::Flavor"}))
    assert list(as_flavor["properties"]) == ["hw:cpu_cores"]
    assert as_flavor["objects"][0]["required"] == ["hw:cpu_sockets"]
    assert list(as_flavor["objects"][0]["properties"]) == ["hw:cpu_sockets"]
    # a resource type the namespace is not associated with changes nothing
    assert ok(glance.get(f"{NAMESPACES}/{name}", params={"resource_type": "OS::Cinder::Volume"}))["properties"] == shown["properties"]


def test_namespace_names_are_unique(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    first, second = make_namespace(), make_namespace()
    assert glance.post(NAMESPACES, json={"namespace": first["namespace"]}).status_code == 409
    renamed = glance.put(f"{NAMESPACES}/{second['namespace']}", json={"namespace": first["namespace"]})
    assert renamed.status_code == 409, renamed.text
    assert ok(glance.get(f"{NAMESPACES}/{second['namespace']}"))["namespace"] == second["namespace"]


def test_update_replaces_fields_and_may_rename(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    created = make_namespace(display_name="Old", description="old", visibility="public", protected=True, tags=[{"name": "kept"}])
    new_name = unique_name()
    updated = ok(glance.put(f"{NAMESPACES}/{created['namespace']}", json={"namespace": new_name, "description": "new"}))
    # what the body leaves out goes back to its default, as in Glance
    assert updated["namespace"] == new_name and updated["description"] == "new"
    assert updated["visibility"] == "private" and updated["protected"] is False
    assert "display_name" not in updated
    assert glance.get(f"{NAMESPACES}/{created['namespace']}").status_code == 404
    assert ok(glance.get(f"{NAMESPACES}/{new_name}/tags"))["tags"] == [{"name": "kept"}]
    assert glance.delete(f"{NAMESPACES}/{new_name}").status_code == 204


def test_protected_namespace_keeps_everything(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    name = make_namespace(
        protected=True,
        resource_type_associations=[{"name": "OS::Glance::Image"}],
        properties={"p": {"title": "P", "type": "string"}},
        objects=[{"name": "o"}],
        tags=[{"name": "t"}],
    )["namespace"]
    for path in ("", "/objects", "/properties", "/tags", "/objects/o", "/properties/p", "/tags/t", "/resource_types/OS::Glance::Image"):
        reply = glance.delete(f"{NAMESPACES}/{name}{path}")
        assert reply.status_code == 403, (path, reply.text)
    shown = ok(glance.get(f"{NAMESPACES}/{name}"))
    assert (len(shown["objects"]), len(shown["properties"]), len(shown["tags"]), len(shown["resource_type_associations"])) == (1, 1, 1, 1)
    # writing into a protected namespace is allowed; only deleting is not
    ok(glance.post(f"{NAMESPACES}/{name}/tags/more"), 201)


def test_deleting_a_namespace_takes_its_content(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    resource_type = unique_name("Test::Type")
    name = make_namespace(resource_type_associations=[{"name": resource_type}], objects=[{"name": "o"}], tags=[{"name": "t"}])["namespace"]
    assert glance.delete(f"{NAMESPACES}/{name}").status_code == 204
    assert glance.get(f"{NAMESPACES}/{name}").status_code == 404
    assert glance.get(f"{NAMESPACES}/{name}/objects").status_code == 404
    assert ok(glance.get(NAMESPACES, params={"resource_types": resource_type}))["namespaces"] == []
    # the same name can be used again, empty
    again = ok(glance.post(NAMESPACES, json={"namespace": name}), 201)
    assert "objects" not in ok(glance.get(f"{NAMESPACES}/{again['namespace']}"))
    assert glance.delete(f"{NAMESPACES}/{name}").status_code == 204


def test_delete_all_of_a_kind(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    name = make_namespace(properties={"p": {"title": "P", "type": "string"}}, objects=[{"name": "o"}], tags=[{"name": "t"}])["namespace"]
    for kind in ("objects", "properties", "tags"):
        assert glance.delete(f"{NAMESPACES}/{name}/{kind}").status_code == 204
    shown = ok(glance.get(f"{NAMESPACES}/{name}"))
    assert not {"objects", "properties", "tags"} & set(shown)
    assert glance.delete(f"{NAMESPACES}/{unique_name()}/objects").status_code == 404


def test_list_filters_sorts_and_pages(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    tag_type, other_type = unique_name("Test::Listed"), unique_name("Test::Other")
    names = sorted(
        make_namespace(visibility=v, resource_type_associations=[{"name": tag_type}])["namespace"] for v in ["public", "private"] * 3
    )
    make_namespace(resource_type_associations=[{"name": other_type}])

    def listed(**params: Any) -> dict[str, Any]:
        return ok(glance.get(NAMESPACES, params={"resource_types": tag_type, **params}))

    assert [n["namespace"] for n in listed(sort_key="namespace", sort_dir="asc")["namespaces"]] == names
    assert [n["namespace"] for n in listed(sort_key="namespace", sort_dir="desc")["namespaces"]] == names[::-1]
    assert len(listed(visibility="private")["namespaces"]) == 3
    both = ok(glance.get(NAMESPACES, params={"resource_types": f"{tag_type},{other_type}"}))["namespaces"]
    assert len(both) == 7
    assert all(n["resource_type_associations"][0]["name"] in (tag_type, other_type) for n in both)

    # follow `next` links page by page: every namespace once, in order
    seen: list[str] = []
    page = listed(sort_key="namespace", sort_dir="asc", limit=4)
    assert page["first"].startswith("/v2/metadefs/namespaces?") and "marker" not in page["first"]
    while True:
        seen += [n["namespace"] for n in page["namespaces"]]
        if "next" not in page:
            break
        page = ok(glance.get(page["next"]))  # relative to the API root, as Glance writes it
    assert seen == names


def test_list_marker_must_exist(glance: ServiceClient) -> None:
    assert glance.get(NAMESPACES, params={"marker": unique_name()}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [{"limit": "many"}, {"limit": "-1"}, {"sort_dir": "up"}, {"sort_key": "owner"}, {"visibility": "shared"}],
)
def test_list_refuses_bad_parameters(glance: ServiceClient, params: dict[str, str]) -> None:
    reply = glance.get(NAMESPACES, params=params)
    assert reply.status_code == 400, reply.text
    assert reply.json()["message"]


# -- who sees and changes what -----------------------------------------------------------


def test_members_read_public_namespaces_and_write_nothing(
    glance: ServiceClient, tenant: Callable[..., Tenant], make_namespace: Callable[..., dict[str, Any]]
) -> None:
    member = tenant("member")
    public = make_namespace(visibility="public", objects=[{"name": "o"}], tags=[{"name": "t"}])["namespace"]
    private = make_namespace(visibility="private", objects=[{"name": "o"}])["namespace"]
    listed = {n["namespace"] for n in ok(member.image.get(NAMESPACES, params={"limit": 1000}))["namespaces"]}
    assert public in listed and private not in listed
    assert ok(member.image.get(f"{NAMESPACES}/{public}/objects/o"))["name"] == "o"
    assert ok(member.image.get(f"{NAMESPACES}/{public}/tags"))["tags"] == [{"name": "t"}]
    # another project's private namespace does not exist for them, whatever they try
    for method, path in [("GET", ""), ("GET", "/objects"), ("GET", "/objects/o"), ("DELETE", ""), ("POST", "/tags/x")]:
        assert member.image.request(method, f"{NAMESPACES}/{private}{path}").status_code == 404, (method, path)
    # writes are for admins: a visible namespace answers 403
    assert member.image.post(NAMESPACES, json={"namespace": unique_name()}).status_code == 403
    assert member.image.post(f"{NAMESPACES}/{public}/objects", json={"name": "mine"}).status_code == 403
    assert member.image.post(f"{NAMESPACES}/{public}/tags/mine").status_code == 403
    assert member.image.delete(f"{NAMESPACES}/{public}").status_code == 403
    assert ok(glance.get(f"{NAMESPACES}/{public}/tags"))["tags"] == [{"name": "t"}]


def test_private_namespace_is_seen_by_its_own_project_only(
    tenant: Callable[..., Tenant], make_namespace: Callable[..., dict[str, Any]]
) -> None:
    owner, stranger = tenant("reader"), tenant("member")
    name = make_namespace(visibility="private", owner=owner.project_id, properties={"p": {"title": "P", "type": "string"}})["namespace"]
    assert ok(owner.image.get(f"{NAMESPACES}/{name}"))["owner"] == owner.project_id
    assert ok(owner.image.get(f"{NAMESPACES}/{name}/properties/p"))["name"] == "p"
    assert name in {n["namespace"] for n in ok(owner.image.get(NAMESPACES, params={"visibility": "private"}))["namespaces"]}
    assert stranger.image.get(f"{NAMESPACES}/{name}").status_code == 404
    assert stranger.image.get(f"{NAMESPACES}/{name}/properties").status_code == 404


# -- objects ---------------------------------------------------------------------------


def test_object_lifecycle(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    name = make_namespace()["namespace"]
    objects = f"{NAMESPACES}/{name}/objects"
    body = {
        "name": "CPU Limits",
        "description": "d",
        "required": ["quota:cpu"],
        "properties": {"quota:cpu": {"title": "Q", "type": "integer"}},
    }
    created = ok(glance.post(objects, json=body), 201)
    assert created["self"] == f"/v2/metadefs/namespaces/{name}/objects/CPU Limits"
    assert created["schema"] == "/v2/schemas/metadefs/object"
    assert {k: created[k] for k in body} == body
    assert glance.post(objects, json={"name": "CPU Limits"}).status_code == 409

    listed = ok(glance.get(objects))
    assert listed["schema"] == "/v2/schemas/metadefs/objects"
    assert [o["name"] for o in listed["objects"]] == ["CPU Limits"]

    # PUT replaces the whole object: what it leaves out is gone
    renamed = ok(glance.put(f"{objects}/CPU Limits", json={"name": "Limits"}))
    assert renamed["name"] == "Limits" and renamed["required"] == [] and renamed["properties"] == {}
    assert "description" not in renamed
    assert glance.get(f"{objects}/CPU Limits").status_code == 404
    ok(glance.post(objects, json={"name": "Other"}), 201)
    assert glance.put(f"{objects}/Other", json={"name": "Limits"}).status_code == 409
    assert glance.delete(f"{objects}/Limits").status_code == 204
    assert glance.delete(f"{objects}/Limits").status_code == 404
    assert [o["name"] for o in ok(glance.get(objects))["objects"]] == ["Other"]


# -- properties ------------------------------------------------------------------------


def test_property_lifecycle_and_prefixed_lookup(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    name = make_namespace(resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}, {"name": "OS::Nova::Server"}])[
        "namespace"
    ]
    properties = f"{NAMESPACES}/{name}/properties"
    body = {"name": "disk_bus", "title": "Disk Bus", "type": "string", "enum": ["scsi", "virtio"], "default": "virtio", "readonly": False}
    assert ok(glance.post(properties, json=body), 201) == body
    assert glance.post(properties, json=body).status_code == 409
    assert ok(glance.get(properties)) == {"properties": {"disk_bus": {k: v for k, v in body.items() if k != "name"}}}

    assert ok(glance.get(f"{properties}/hw_disk_bus", params={"resource_type": "OS::Glance::Image"}))["name"] == "disk_bus"
    assert glance.get(f"{properties}/disk_bus", params={"resource_type": "OS::Glance::Image"}).status_code == 404
    assert glance.get(f"{properties}/disk_bus", params={"resource_type": "OS::Nova::Server"}).status_code == 404  # no prefix there
    assert glance.get(f"{properties}/hw_disk_bus", params={"resource_type": "OS::Nova::Flavor"}).status_code == 404  # not associated

    updated = ok(glance.put(f"{properties}/disk_bus", json={"name": "bus", "title": "Bus", "type": "string"}))
    assert updated == {"name": "bus", "title": "Bus", "type": "string"}
    assert glance.get(f"{properties}/disk_bus").status_code == 404
    assert glance.delete(f"{properties}/bus").status_code == 204
    assert ok(glance.get(properties)) == {"properties": {}}


# -- tags ------------------------------------------------------------------------------


def test_tags_replace_append_rename(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    name = make_namespace(tags=[{"name": "old"}])["namespace"]
    tags = f"{NAMESPACES}/{name}/tags"

    def names(**params: Any) -> list[str]:
        return [t["name"] for t in ok(glance.get(tags, params=params))["tags"]]

    assert ok(glance.post(tags, json={"tags": [{"name": "a"}, {"name": "b"}]}), 201) == {"tags": [{"name": "a"}, {"name": "b"}]}
    assert sorted(names()) == ["a", "b"]  # replaced
    ok(glance.post(tags, json={"tags": [{"name": "c"}]}, headers={"X-Openstack-Append": "True"}), 201)
    assert names(sort_key="name", sort_dir="asc") == ["a", "b", "c"]
    assert names(sort_key="name", sort_dir="asc", limit=1, marker="a") == ["b"]
    assert glance.post(tags, json={"tags": [{"name": "a"}]}, headers={"X-Openstack-Append": "true"}).status_code == 409
    assert glance.post(tags, json={"tags": [{"name": "x"}, {"name": "x"}]}).status_code == 400
    assert sorted(names()) == ["a", "b", "c"]  # a refused request changes nothing

    one = ok(glance.post(f"{tags}/d"), 201)
    assert one["name"] == "d" and one["created_at"] and one["updated_at"]
    assert glance.post(f"{tags}/d").status_code == 409
    assert ok(glance.put(f"{tags}/d", json={"name": "e"}))["name"] == "e"
    assert glance.put(f"{tags}/e", json={"name": "a"}).status_code == 409
    assert glance.get(f"{tags}/d").status_code == 404
    assert glance.delete(f"{tags}/e").status_code == 204
    assert glance.delete(tags).status_code == 204
    assert names() == []


# -- resource types --------------------------------------------------------------------


def test_default_resource_types_exist(tenant: Callable[..., Tenant]) -> None:
    reader = tenant("reader")
    listed = ok(reader.image.get("/v2/metadefs/resource_types"))["resource_types"]
    names = [r["name"] for r in listed]
    assert set(DEFAULT_RESOURCE_TYPES) <= set(names)
    assert len(set(names)) == len(names)
    assert all(r["created_at"] and r["updated_at"] for r in listed)


def test_associations(glance: ServiceClient, make_namespace: Callable[..., dict[str, Any]]) -> None:
    name = make_namespace()["namespace"]
    associations = f"{NAMESPACES}/{name}/resource_types"
    new_type = unique_name("Test::New")
    created = ok(glance.post(associations, json={"name": new_type, "prefix": "n_", "properties_target": "image"}), 201)
    assert {k: created[k] for k in ("name", "prefix", "properties_target")} == {
        "name": new_type,
        "prefix": "n_",
        "properties_target": "image",
    }
    # associating with an unknown resource type creates it, as Glance does
    assert new_type in [r["name"] for r in ok(glance.get("/v2/metadefs/resource_types"))["resource_types"]]
    assert glance.post(associations, json={"name": new_type}).status_code == 409
    assert [a["name"] for a in ok(glance.get(associations))["resource_type_associations"]] == [new_type]
    assert glance.delete(f"{associations}/{new_type}").status_code == 204
    assert glance.delete(f"{associations}/{new_type}").status_code == 404
    assert ok(glance.get(associations)) == {"resource_type_associations": []}


# -- bad input -------------------------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", "", {"content": b"[]"}, 400),
    ("POST", "", {"content": b"{not json"}, 400),
    ("POST", "", {"content": b""}, 400),
    ("POST", "", {"content": b'{"namespace": "x", "properties": {"p": {"title": "t", "type": "number", "minimum": NaN}}}'}, 400),
    ("POST", "", {"content": b'{"namespace": "x", "tags": [' + b"[" * 3000 + b"]" * 3000 + b"]}"}, 400),
    ("POST", "", {"json": {"namespace": ""}}, 400),
    ("POST", "", {"json": {"namespace": "a/b"}}, 400),
    ("POST", "", {"json": {"namespace": "x" * 81}}, 400),
    ("POST", "", {"json": {"namespace": "x", "created_at": "now"}}, 403),
    ("POST", "", {"json": {"namespace": "x", "tags": [{"name": "t"}, {"name": "t"}]}}, 409),
    ("POST", "", {"json": {"namespace": "x", "objects": [{"name": "o"}, {"name": "o"}]}}, 409),
    ("POST", "", {"json": {"namespace": "x", "properties": {"p": {"title": "t", "type": "string", "default": nested(40)}}}}, 400),
    ("POST", "/objects", {"json": {"description": "no name"}}, 400),
    ("POST", "/objects", {"json": {"name": "o", "self": "/x"}}, 403),
    ("POST", "/properties", {"json": {"name": "p", "title": "t"}}, 400),
    ("POST", "/properties", {"json": {"name": "p", "title": "t", "type": "string", "items": {"type": "list"}}}, 400),
    ("POST", "/tags", {"json": {"tags": [{"name": "x" * 81}]}}, 400),
    ("POST", "/tags", {"json": {"tags": "a,b"}}, 400),
    ("POST", "/tags/" + "t" * 81, {}, 400),
    ("POST", "/resource_types", {"json": {"name": "OS::X", "prefix": "p" * 81}}, 400),
    ("POST", "/resource_types", {"json": {"prefix": "p"}}, 400),
    ("PUT", "", {"json": {"display_name": "no namespace field"}}, 400),
    ("PUT", "/objects/nope", {"json": {"name": "nope"}}, 404),
    ("GET", "/tags?limit=x", {}, 400),
    ("GET", "/tags?marker=nope", {}, 404),
    ("GET", "/tags?sort_key=size", {}, 400),
    ("GET", "/objects?sort_dir=sideways", {}, 400),
    ("PATCH", "", {"json": {}}, 405),
]


@pytest.mark.parametrize(("method", "path", "request_args", "status"), BAD_REQUESTS)
def test_bad_requests_get_clear_errors_and_change_nothing(
    glance: ServiceClient,
    make_namespace: Callable[..., dict[str, Any]],
    method: str,
    path: str,
    request_args: dict[str, Any],
    status: int,
) -> None:
    name = make_namespace(tags=[{"name": "kept"}])["namespace"]
    before = ok(glance.get(f"{NAMESPACES}/{name}"))
    url = f"{NAMESPACES}/{name}{path}" if path or method != "POST" else NAMESPACES
    reply = glance.request(method, url, **request_args)
    assert reply.status_code == status, reply.text
    assert reply.json()["message"]
    assert ok(glance.get(f"{NAMESPACES}/{name}")) == before
    assert glance.get(f"{NAMESPACES}/x").status_code == 404


def test_unknown_namespace_is_404_everywhere(glance: ServiceClient) -> None:
    missing = f"{NAMESPACES}/{unique_name()}"
    for method, path in [("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/objects"), ("GET", "/properties/p"), ("POST", "/tags/t")]:
        reply = glance.request(method, missing + path, json={"namespace": "n"} if method == "PUT" else None)
        assert reply.status_code == 404, (method, path, reply.text)


# -- stock clients ---------------------------------------------------------------------


def test_openstacksdk_metadef_calls(sdk: Any) -> None:
    image = sdk.image
    name = unique_name("sdk")
    namespace = image.create_metadef_namespace(namespace=name, visibility="public")
    try:
        assert namespace.namespace == name and namespace.visibility == "public"
        assert name in {n.namespace for n in image.metadef_namespaces()}
        image.update_metadef_namespace(name, display_name="A display name", description="A description")
        fetched = image.get_metadef_namespace(name)
        assert (fetched.display_name, fetched.description) == ("A display name", "A description")

        prop = image.create_metadef_property(name, name="port", title="Port", type="string", enum=["80", "443"])
        assert (prop.name, prop.enum) == ("port", ["80", "443"])
        assert [p.name for p in image.metadef_properties(name)] == ["port"]
        image.update_metadef_property("port", name, name="port", title="Web port", type="string")
        assert image.get_metadef_property("port", name).title == "Web port"

        obj = image.create_metadef_object(name, name="obj", description="d")
        assert obj.name == "obj"
        image.update_metadef_object("obj", name, name="New object name", description="New")
        assert image.get_metadef_object("New object name", name).description == "New"

        image.create_metadef_resource_type_association(name, name="OS::Nova::Flavor", prefix="hw:")
        assert [a.name for a in image.metadef_resource_type_associations(name)] == ["OS::Nova::Flavor"]
        assert "OS::Glance::Image" in {r.name for r in image.metadef_resource_types()}
        image.delete_metadef_resource_type_association("OS::Nova::Flavor", name)

        fetched.add_tag(image, "t1")
        fetched.set_tags(image, ["t2", "t3"], append=True)
        fetched.fetch_tags(image)
        assert sorted(t["name"] for t in fetched.tags) == ["t1", "t2", "t3"]
        fetched.remove_all_tags(image)

        assert image.get_metadef_namespace_schema().name == "namespace"
        assert image.get_metadef_resource_types_schema().name == "resource_type_associations"
        image.delete_all_metadef_properties(name)
        image.delete_all_metadef_objects(name)
        assert list(image.metadef_properties(name)) == [] and list(image.metadef_objects(name)) == []
    finally:
        image.delete_metadef_namespace(name)
    assert name not in {n.namespace for n in image.metadef_namespaces()}


def test_openstack_cli_metadef_commands(osc: Any) -> None:
    name = unique_name("cli")
    osc("image", "metadef", "namespace", "create", "--public", "--description", "from the CLI", name)
    try:
        assert name in osc("image", "metadef", "namespace", "list", "-f", "value").stdout.split()
        osc("image", "metadef", "resource", "type", "association", "create", name, "OS::Glance::Image")
        listed = osc("image", "metadef", "resource", "type", "association", "list", name, "-f", "value").stdout
        assert listed.split() == ["OS::Glance::Image"]
        assert "OS::Nova::Flavor" in osc("image", "metadef", "resource", "type", "list", "-f", "value").stdout.split()
    finally:
        osc("image", "metadef", "namespace", "delete", name)

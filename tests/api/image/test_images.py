"""Image metadata through the API: create, show, list with filters and paging, JSON-patch
updates, tags, protection, deactivation, delete, version discovery."""

from __future__ import annotations

import uuid

import pytest

from tests.api.image.conftest import PATCH, Tenant, create_image, patch, upload
from tests.conftest import ServiceClient, unique


def test_create_gives_glance_defaults(alice: Tenant) -> None:
    image = create_image(alice.image, name=unique("img"), os_distro="debian")
    assert image["status"] == "queued"
    assert image["visibility"] == "shared"
    assert image["owner"] == alice.project_id
    assert (image["min_disk"], image["min_ram"], image["protected"], image["os_hidden"]) == (0, 0, False, False)
    assert image["size"] is None and image["checksum"] is None and image["virtual_size"] is None
    assert image["os_distro"] == "debian"
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert image["created_at"].endswith("Z")
    shown = alice.image.get(f"/v2/images/{image['id']}")
    assert shown.status_code == 200 and shown.json() == image


def test_create_with_chosen_id_and_tags(alice: Tenant) -> None:
    image_id = str(uuid.uuid4())
    image = create_image(alice.image, id=image_id, tags=["a", "b", "a"])
    assert image["id"] == image_id
    assert sorted(image["tags"]) == ["a", "b"]
    again = alice.image.post("/v2/images", json={"id": image_id})
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "active"}, 403),
        ({"checksum": "x"}, 403),
        ({"size": 5}, 403),
        ({"os_glance_import_task": "x"}, 403),
        ({"visibility": "nonsense"}, 400),
        ({"disk_format": "floppy"}, 400),
        ({"container_format": "zip"}, 400),
        ({"min_ram": -1}, 400),
        ({"min_disk": "1"}, 400),
        ({"min_disk": 2**40}, 400),
        ({"protected": "yes"}, 400),
        ({"name": "x" * 256}, 400),
        ({"custom": 5}, 400),
        ({"id": "not-a-uuid"}, 400),
        ({"tags": "abc"}, 400),
        ({"visibility": "public"}, 403),
    ],
)
def test_create_refuses_bad_bodies(alice: Tenant, body: dict[str, object], status: int) -> None:
    before = len(alice.image.get("/v2/images", params={"limit": 1000}).json()["images"])
    reply = alice.image.post("/v2/images", json=body)
    assert reply.status_code == status, reply.text
    assert reply.json()["message"]
    assert len(alice.image.get("/v2/images", params={"limit": 1000}).json()["images"]) == before


def test_create_refuses_non_json(alice: Tenant) -> None:
    assert alice.image.post("/v2/images", content=b"{nope").status_code == 400
    assert alice.image.post("/v2/images", json=[1, 2]).status_code == 400


def test_unknown_image_is_404(alice: Tenant) -> None:
    for method in ("GET", "DELETE"):
        assert alice.image.request(method, f"/v2/images/{uuid.uuid4()}").status_code == 404
    assert patch(alice.image, str(uuid.uuid4()), [{"op": "replace", "path": "/name", "value": "x"}]).status_code == 404


def test_patch_core_and_custom_properties(alice: Tenant) -> None:
    image = create_image(alice.image, name="before", color="red")
    reply = patch(
        alice.image,
        image["id"],
        [
            {"op": "replace", "path": "/name", "value": "after"},
            {"op": "add", "path": "/shape", "value": "round"},
            {"op": "replace", "path": "/color", "value": "blue"},
            {"op": "add", "path": "/min_ram", "value": 512},
            {"op": "replace", "path": "/tags", "value": ["x"]},
        ],
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["name"], body["shape"], body["color"], body["min_ram"], body["tags"]) == ("after", "round", "blue", 512, ["x"])
    reply = patch(alice.image, image["id"], [{"op": "remove", "path": "/shape"}])
    assert reply.status_code == 200 and "shape" not in reply.json()


@pytest.mark.parametrize(
    ("ops", "status"),
    [
        ([{"op": "remove", "path": "/missing"}], 409),
        ([{"op": "replace", "path": "/missing", "value": "x"}], 409),
        ([{"op": "replace", "path": "/status", "value": "active"}], 403),
        ([{"op": "add", "path": "/os_glance_x", "value": "1"}], 403),
        ([{"op": "remove", "path": "/name"}], 403),
        ([{"op": "move", "path": "/name", "value": "x"}], 400),
        ([{"op": "replace", "path": "/a/b", "value": "x"}], 400),
        ([{"op": "replace", "path": "name", "value": "x"}], 400),
        ([{"op": "replace", "path": "/min_disk", "value": "big"}], 400),
        ([{"op": "replace", "path": "/visibility", "value": "public"}], 403),
        ([{"op": "add", "path": "/prop"}], 400),
        ({"op": "add"}, 400),
    ],
)
def test_patch_refuses_bad_operations_and_changes_nothing(alice: Tenant, ops: object, status: int) -> None:
    image = create_image(alice.image, name="keep")
    reply = alice.image.patch(f"/v2/images/{image['id']}", json=ops, headers=PATCH)
    assert reply.status_code == status, reply.text
    assert alice.image.get(f"/v2/images/{image['id']}").json() == image


def test_patch_is_all_or_nothing(alice: Tenant) -> None:
    image = create_image(alice.image, name="keep")
    ops = [{"op": "replace", "path": "/name", "value": "changed"}, {"op": "remove", "path": "/missing"}]
    assert patch(alice.image, image["id"], ops).status_code == 409
    assert alice.image.get(f"/v2/images/{image['id']}").json()["name"] == "keep"


def test_patch_needs_the_json_patch_media_type(alice: Tenant) -> None:
    image = create_image(alice.image)
    reply = alice.image.patch(f"/v2/images/{image['id']}", json=[{"op": "replace", "path": "/name", "value": "x"}])
    assert reply.status_code == 415
    assert "openstack-images-v2.1-json-patch" in reply.headers["accept-patch"]


def test_tags_add_remove(alice: Tenant) -> None:
    image = create_image(alice.image)
    path = f"/v2/images/{image['id']}/tags"
    assert alice.image.put(f"{path}/blue").status_code == 204
    assert alice.image.put(f"{path}/blue").status_code == 204  # adding twice is fine
    assert alice.image.get(f"/v2/images/{image['id']}").json()["tags"] == ["blue"]
    assert alice.image.delete(f"{path}/blue").status_code == 204
    assert alice.image.delete(f"{path}/blue").status_code == 404
    assert alice.image.put(f"/v2/images/{uuid.uuid4()}/tags/x").status_code == 404
    assert alice.image.put(f"{path}/{'x' * 256}").status_code == 400


def test_protected_image_cannot_be_deleted(alice: Tenant) -> None:
    image = create_image(alice.image, protected=True)
    assert alice.image.delete(f"/v2/images/{image['id']}").status_code == 403
    assert patch(alice.image, image["id"], [{"op": "replace", "path": "/protected", "value": False}]).status_code == 200
    assert alice.image.delete(f"/v2/images/{image['id']}").status_code == 204
    assert alice.image.get(f"/v2/images/{image['id']}").status_code == 404
    assert alice.image.delete(f"/v2/images/{image['id']}").status_code == 404


def test_list_filters(alice: Tenant) -> None:
    marker = unique("f")
    small = create_image(alice.image, name=marker + "-a", disk_format="raw", tags=[marker, "small"], os_distro=marker)
    other = create_image(alice.image, name=marker + "-b", disk_format="qcow2", container_format="ovf", tags=[marker])
    assert upload(alice.image, small["id"], b"\0" * 1024).status_code == 204

    def names(**params: object) -> set[str]:
        reply = alice.image.get("/v2/images", params={"tag": marker, **params})
        assert reply.status_code == 200, reply.text
        return {i["name"] for i in reply.json()["images"]}

    assert names() == {small["name"], other["name"]}
    assert names(name=small["name"]) == {small["name"]}
    assert names(name=f"in:{small['name']},{other['name']}") == {small["name"], other["name"]}
    assert names(disk_format="qcow2") == {other["name"]}
    assert names(container_format="ovf") == {other["name"]}
    assert names(status="active") == {small["name"]}
    assert names(size_min=1000, size_max=2000) == {small["name"]}
    assert names(size_min=2000) == set()
    assert names(os_distro=marker) == {small["name"]}
    assert alice.image.get("/v2/images", params=[("tag", marker), ("tag", "small")]).json()["images"][0]["id"] == small["id"]
    created = alice.image.get(f"/v2/images/{other['id']}").json()["created_at"]
    assert other["name"] in names(created_at=f"gte:{created}")
    assert other["name"] not in names(created_at=f"lt:{created}")
    for bad in ({"size_min": "x"}, {"created_at": "soon"}, {"sort_key": "nope"}, {"sort_dir": "up"}, {"visibility": "x"}, {"limit": "-1"}):
        assert alice.image.get("/v2/images", params=bad).status_code == 400, bad


def test_list_sorts_and_pages_with_next_links(alice: Tenant) -> None:
    marker = unique("s")
    made = [create_image(alice.image, name=f"{marker}-{i}", tags=[marker]) for i in range(5)]
    seen: list[str] = []
    url = f"/v2/images?tag={marker}&limit=2&sort_key=name&sort_dir=asc"
    while url:
        body = alice.image.get(url).json()
        assert len(body["images"]) <= 2
        seen += [i["name"] for i in body["images"]]
        url = body.get("next")
        assert body["first"] == "/v2/images" and body["schema"] == "/v2/schemas/images"
    assert seen == sorted(i["name"] for i in made)
    newest_first = alice.image.get("/v2/images", params={"tag": marker, "sort": "name:desc"}).json()["images"]
    assert [i["name"] for i in newest_first] == sorted(seen, reverse=True)
    assert alice.image.get("/v2/images", params={"marker": str(uuid.uuid4())}).status_code == 400


def test_hidden_images_are_listed_only_on_request(alice: Tenant) -> None:
    marker = unique("h")
    hidden = create_image(alice.image, tags=[marker], os_hidden=True)
    assert alice.image.get("/v2/images", params={"tag": marker}).json()["images"] == []
    listed = alice.image.get("/v2/images", params={"tag": marker, "os_hidden": "true"}).json()["images"]
    assert [i["id"] for i in listed] == [hidden["id"]]


def test_deactivate_and_reactivate(glance: ServiceClient, alice: Tenant, bob: Tenant) -> None:
    image = create_image(alice.image, visibility="community")
    assert alice.image.post(f"/v2/images/{image['id']}/actions/deactivate").status_code == 400  # still queued
    assert upload(alice.image, image["id"], b"data" * 100).status_code == 204
    assert bob.image.post(f"/v2/images/{image['id']}/actions/deactivate").status_code == 403  # not his
    assert alice.image.post(f"/v2/images/{image['id']}/actions/deactivate").status_code == 204
    assert alice.image.get(f"/v2/images/{image['id']}").json()["status"] == "deactivated"
    assert alice.image.get(f"/v2/images/{image['id']}/file").status_code == 403
    assert glance.get(f"/v2/images/{image['id']}/file").content == b"data" * 100  # admins still may
    assert alice.image.post(f"/v2/images/{image['id']}/actions/reactivate").status_code == 204
    assert alice.image.get(f"/v2/images/{image['id']}/file").content == b"data" * 100


def test_version_discovery(glance: ServiceClient) -> None:
    reply = glance.get("/")
    assert reply.status_code == 300
    versions = reply.json()["versions"]
    assert versions[0]["status"] == "CURRENT" and versions[0]["id"].startswith("v2.")
    assert versions[0]["links"][0]["href"].endswith("/image/v2/")
    assert glance.get("/versions").json() == reply.json()


def test_trailing_slash_is_an_empty_id(glance: ServiceClient) -> None:
    assert glance.get("/v2/images/").status_code == 404
    assert glance.delete("/v2/images/").status_code == 404


def test_patch_in_the_older_spelling(alice: Tenant) -> None:
    image = create_image(alice.image, name="old")
    v20 = {"Content-Type": "application/openstack-images-v2.0-json-patch"}
    ops = [{"replace": "/name", "value": "new"}, {"add": "/color", "value": "red"}]
    reply = alice.image.patch(f"/v2/images/{image['id']}", json=ops, headers=v20)
    assert reply.status_code == 200, reply.text
    assert (reply.json()["name"], reply.json()["color"]) == ("new", "red")
    assert alice.image.patch(f"/v2/images/{image['id']}", json=[{"add": "/x", "remove": "/y"}], headers=v20).status_code == 400


@pytest.mark.parametrize("raw", [b'{"name": NaN}', b'{"min_ram": Infinity}', b'{"x": -Infinity}', b"[" * 100000 + b"]" * 100000])
def test_bodies_that_are_not_json_are_400(alice: Tenant, raw: bytes) -> None:
    reply = alice.image.post("/v2/images", content=raw, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text

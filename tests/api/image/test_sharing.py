"""Who sees which image: private, shared (members who accept), community and public
images across projects; members' own rights; quotas from Keystone limits."""

from __future__ import annotations

from collections.abc import Callable

from tests.api.image.conftest import Tenant, create_image, patch, upload
from tests.conftest import Identity, ServiceClient, unique


def listed(client: ServiceClient, **params: str) -> set[str]:
    reply = client.get("/v2/images", params={"limit": "1000", **params})
    assert reply.status_code == 200, reply.text
    return {i["id"] for i in reply.json()["images"]}


def test_private_images_are_invisible_to_other_projects(alice: Tenant, bob: Tenant) -> None:
    image = create_image(alice.image, visibility="private")
    assert image["id"] in listed(alice.image)
    assert image["id"] not in listed(bob.image)
    assert image["id"] not in listed(bob.image, visibility="all")
    assert bob.image.get(f"/v2/images/{image['id']}").status_code == 404
    assert bob.image.get(f"/v2/images/{image['id']}/file").status_code == 404
    assert bob.image.delete(f"/v2/images/{image['id']}").status_code == 404
    assert patch(bob.image, image["id"], [{"op": "replace", "path": "/name", "value": "x"}]).status_code == 404
    assert bob.image.put(f"/v2/images/{image['id']}/file", content=b"x", headers={"Content-Type": "application/octet-stream"}).status_code == 404
    assert alice.image.get(f"/v2/images/{image['id']}").json()["name"] == image["name"]


def test_shared_image_appears_after_the_member_accepts(alice: Tenant, bob: Tenant) -> None:
    image = create_image(alice.image)  # shared by default
    members = f"/v2/images/{image['id']}/members"
    assert bob.image.get(f"/v2/images/{image['id']}").status_code == 404
    reply = alice.image.post(members, json={"member": bob.project_id})
    assert reply.status_code == 200, reply.text
    member = reply.json()
    assert (member["status"], member["member_id"], member["image_id"]) == ("pending", bob.project_id, image["id"])
    assert member["schema"] == "/v2/schemas/member"
    assert alice.image.post(members, json={"member": bob.project_id}).status_code == 409
    # pending: bob can look at it by id, but it is not in his list
    assert bob.image.get(f"/v2/images/{image['id']}").status_code == 200
    assert image["id"] not in listed(bob.image)
    assert image["id"] in listed(bob.image, visibility="shared", member_status="pending")
    # only bob answers for bob; the owner cannot accept on his behalf
    assert alice.image.put(f"{members}/{bob.project_id}", json={"status": "accepted"}).status_code == 403
    assert bob.image.put(f"{members}/{bob.project_id}", json={"status": "maybe"}).status_code == 400
    assert bob.image.put(f"{members}/{bob.project_id}", json={"status": "accepted"}).json()["status"] == "accepted"
    assert image["id"] in listed(bob.image)
    # bob sees his own membership only, and cannot add others or change the image
    assert [m["member_id"] for m in bob.image.get(members).json()["members"]] == [bob.project_id]
    assert bob.image.post(members, json={"member": "someone"}).status_code == 403
    assert patch(bob.image, image["id"], [{"op": "replace", "path": "/name", "value": "mine"}]).status_code == 403
    assert bob.image.delete(f"/v2/images/{image['id']}").status_code == 403
    # rejected: out of the list again; removed: gone
    assert bob.image.put(f"{members}/{bob.project_id}", json={"status": "rejected"}).status_code == 200
    assert image["id"] not in listed(bob.image)
    assert alice.image.delete(f"{members}/{bob.project_id}").status_code == 204
    assert bob.image.get(f"/v2/images/{image['id']}").status_code == 404
    assert alice.image.get(f"{members}/{bob.project_id}").status_code == 404


def test_only_shared_images_have_members(alice: Tenant, bob: Tenant) -> None:
    image = create_image(alice.image, visibility="private")
    assert alice.image.post(f"/v2/images/{image['id']}/members", json={"member": bob.project_id}).status_code == 403
    assert alice.image.post(f"/v2/images/{create_image(alice.image)['id']}/members", json={}).status_code == 400


def test_community_images_are_visible_but_not_listed_by_default(alice: Tenant, bob: Tenant) -> None:
    image = create_image(alice.image, visibility="community")
    assert bob.image.get(f"/v2/images/{image['id']}").status_code == 200
    assert image["id"] not in listed(bob.image)
    assert image["id"] in listed(bob.image, visibility="community")


def test_only_admins_publish_public_images(glance: ServiceClient, alice: Tenant, bob: Tenant) -> None:
    image = create_image(alice.image, visibility="private")
    assert patch(alice.image, image["id"], [{"op": "replace", "path": "/visibility", "value": "public"}]).status_code == 403
    public = create_image(glance, name=unique("pub"), visibility="public")
    assert public["id"] in listed(bob.image)
    assert public["id"] in listed(alice.image, visibility="public")
    assert bob.image.delete(f"/v2/images/{public['id']}").status_code == 403
    assert patch(glance, image["id"], [{"op": "replace", "path": "/visibility", "value": "public"}]).status_code == 200
    assert bob.image.get(f"/v2/images/{image['id']}").status_code == 200


def test_readers_may_look_but_not_touch(tenant: Callable[..., Tenant], admin: Identity) -> None:
    owner = tenant()
    image = create_image(owner.image)
    from tests.conftest import login, make_user

    user, password = make_user(admin, owner.project_id, "reader")
    reader = login(owner.identity.cloud, user, password, owner.project_id).service("/image")
    assert reader.get(f"/v2/images/{image['id']}").status_code == 200
    assert reader.post("/v2/images", json={"name": "x"}).status_code == 403
    assert reader.delete(f"/v2/images/{image['id']}").status_code == 403
    assert patch(reader, image["id"], [{"op": "replace", "path": "/name", "value": "x"}]).status_code == 403


def test_quotas_from_keystone_limits(glance: ServiceClient, admin: Identity, tenant: Callable[..., Tenant]) -> None:
    owner = tenant()
    service_id = next(s["id"] for s in admin.get("/services").json()["services"] if s["type"] == "image")
    # Keystone wants a registered default before a project's own limit: generous defaults
    registered = admin.post(
        "/registered_limits",
        json={"registered_limits": [{"service_id": service_id, "resource_name": r, "default_limit": 100000} for r in ("image_count_total", "image_size_total")]},
    )
    assert registered.status_code == 201, registered.text
    made = [f"/registered_limits/{r['id']}" for r in registered.json()["registered_limits"]]
    for resource, value in (("image_count_total", 2), ("image_size_total", 1)):
        reply = admin.post("/limits", json={"limits": [{"service_id": service_id, "project_id": owner.project_id, "resource_name": resource, "resource_limit": value}]})
        assert reply.status_code == 201, reply.text
        made.insert(0, f"/limits/{reply.json()['limits'][0]['id']}")
    try:
        usage = owner.image.get("/v2/info/usage").json()["usage"]
        assert usage["image_count_total"] == {"limit": 2, "usage": 0}
        first = create_image(owner.image)
        assert upload(owner.image, first["id"], b"\1" * (1024 * 1024 + 1)).status_code == 413  # over 1 MiB
        assert owner.image.get(f"/v2/images/{first['id']}").json()["status"] == "queued"
        assert upload(owner.image, first["id"], b"\1" * 1000).status_code == 204
        create_image(owner.image)
        assert owner.image.post("/v2/images", json={"name": "third"}).status_code == 413
        usage = owner.image.get("/v2/info/usage").json()["usage"]
        assert usage["image_count_total"] == {"limit": 2, "usage": 2}
        assert usage["image_size_total"] == {"limit": 1, "usage": 1}
    finally:
        for path in made:
            assert admin.delete(path).status_code == 204

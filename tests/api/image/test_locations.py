"""Images whose data stays at an http URL (the read-only "web" store): the add-location
call of API v2.17 with its checking task, and JSON-patch of /locations."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.api.image.conftest import Tenant, create_image, patch, upload, wait_task
from tests.conftest import ServiceClient


def test_add_location_checks_the_data_and_serves_it(alice: Tenant, web_server: tuple[str, Path]) -> None:
    base, root = web_server
    data = os.urandom(200_000)
    (root / "remote.raw").write_bytes(data)
    url = f"{base}/remote.raw"
    image = create_image(alice.image)
    path = f"/v2/images/{image['id']}/locations"
    for bad in (
        {"url": url, "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "ab" * 15}},  # too short
        {"url": url, "validation_data": {"os_hash_value": hashlib.sha512(data).hexdigest()}},  # no algorithm
        {"url": url, "validation_data": {"os_hash_algo": "sha123", "os_hash_value": "ab"}},
        {"url": "gopher://127.0.0.1/x"},
        {"url": "http://198.51.100.9/x"},  # not an allowed host
    ):
        assert alice.image.post(path, json=bad).status_code == 400, bad
    sha256 = hashlib.sha256(data).hexdigest()
    assert alice.image.post(path, json={"url": url, "validation_data": {"os_hash_algo": "sha256", "os_hash_value": sha256}}).status_code == 202
    assert wait_task(alice.image, image["id"])["status"] == "success"
    shown = alice.image.get(f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["size"], shown["os_hash_algo"], shown["os_hash_value"]) == ("active", len(data), "sha256", sha256)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["stores"] == "web" and shown["locations"] == [{"url": url, "metadata": {}}]
    assert alice.image.get(f"/v2/images/{image['id']}/file").content == data
    assert alice.image.post(path, json={"url": url}).status_code == 409  # only queued images take one


def test_add_location_with_wrong_hash_fails_the_task(alice: Tenant, web_server: tuple[str, Path]) -> None:
    base, root = web_server
    (root / "other.raw").write_bytes(b"x" * 5000)
    image = create_image(alice.image)
    body = {"url": f"{base}/other.raw", "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "beefdead" * 16}}
    assert alice.image.post(f"/v2/images/{image['id']}/locations", json=body).status_code == 202
    assert wait_task(alice.image, image["id"])["status"] == "failure"
    shown = alice.image.get(f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["checksum"], shown["os_hash_value"]) == ("queued", None, None)


def test_patch_locations(glance: ServiceClient, alice: Tenant, web_server: tuple[str, Path]) -> None:
    base, root = web_server
    (root / "disk.raw").write_bytes(b"\0" * 4096)
    url = f"{base}/disk.raw"
    image = create_image(alice.image)
    assert image["locations"] == []
    first = {"url": url, "metadata": {"foo": "bar"}, "validation_data": {"checksum": "1" * 32, "os_hash_algo": "sha512", "os_hash_value": "de" * 64}}
    reply = patch(alice.image, image["id"], [{"op": "add", "path": "/locations/-", "value": first}])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["status"], body["size"], body["checksum"]) == ("active", 4096, "1" * 32)
    assert body["locations"] == [{"url": url, "metadata": {"foo": "bar"}}]
    second = {"url": url + "#new", "metadata": {}, "validation_data": {"checksum": "2" * 32}}
    assert patch(alice.image, image["id"], [{"op": "add", "path": "/locations/-", "value": second}]).status_code == 409
    second["validation_data"] = {"checksum": "1" * 32}
    assert patch(alice.image, image["id"], [{"op": "add", "path": "/locations/-", "value": second}]).status_code == 200
    both = alice.image.get(f"/v2/images/{image['id']}").json()["locations"]
    assert [loc["url"] for loc in both] == [url, url + "#new"]
    # replace may change metadata only
    changed = [{**both[0], "metadata": {"date": "2015-10-15"}}, both[1]]
    assert patch(alice.image, image["id"], [{"op": "replace", "path": "/locations", "value": changed}]).status_code == 200
    assert patch(alice.image, image["id"], [{"op": "replace", "path": "/locations", "value": changed[:1]}]).status_code == 400
    bad_scheme = {"url": "gopher://info.cern.ch", "metadata": {}}
    assert patch(alice.image, image["id"], [{"op": "add", "path": "/locations/-", "value": bad_scheme}]).status_code == 400
    # removing: admins only, never the last one
    assert patch(alice.image, image["id"], [{"op": "remove", "path": "/locations/0"}]).status_code == 403
    assert patch(glance, image["id"], [{"op": "remove", "path": "/locations/0"}]).status_code == 200
    assert [loc["url"] for loc in alice.image.get(f"/v2/images/{image['id']}").json()["locations"]] == [url + "#new"]
    assert patch(glance, image["id"], [{"op": "remove", "path": "/locations/0"}]).status_code == 403


def test_uploaded_data_shows_its_file_location(alice: Tenant) -> None:
    image = create_image(alice.image)
    assert upload(alice.image, image["id"], b"\0" * 1024).status_code == 204
    locations = alice.image.get(f"/v2/images/{image['id']}").json()["locations"]
    assert len(locations) == 1 and locations[0]["url"].startswith("file://") and locations[0]["metadata"] == {"store": "local"}


def test_web_store_is_read_only_in_the_store_list(alice: Tenant) -> None:
    web = [s for s in alice.image.get("/v2/info/stores").json()["stores"] if s["id"] == "web"]
    assert web == [{"id": "web", "description": "Images at http(s) locations", "read-only": "true"}]

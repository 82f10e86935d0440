"""Image data through the API: uploads of real qemu-img images, hashes, downloads with
Range, refused and interrupted uploads, staging and the three import methods."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pocketstack.testing.server import LiveCloud
from tests.api.image.conftest import OCTET, Tenant, create_image, partial_upload, upload, wait_task
from tests.conftest import ServiceClient


def qemu_image(tmp_path: Path, fmt: str, size: str = "1M", *opts: str) -> bytes:
    path = tmp_path / f"disk.{fmt}"
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, *opts, str(path), size], check=True)
    return path.read_bytes()


def wait_status(client: ServiceClient, image_id: str, wanted: set[str], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        image = client.get(f"/v2/images/{image_id}").json()
        if image["status"] in wanted or time.monotonic() > deadline:
            return image
        time.sleep(0.1)


def incoming_files(cloud: LiveCloud) -> list[Path]:
    return [p for p in (cloud.data_dir / "images").glob("*/.incoming/*")]


def test_upload_qcow2_fills_size_hashes_and_virtual_size(alice: Tenant, tmp_path: Path) -> None:
    data = qemu_image(tmp_path, "qcow2", "64M")
    image = create_image(alice.image, disk_format="qcow2")
    assert upload(alice.image, image["id"], data).status_code == 204
    shown = alice.image.get(f"/v2/images/{image['id']}").json()
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["virtual_size"] == 64 * 1024 * 1024
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert (shown["os_hash_algo"], shown["os_hash_value"]) == ("sha512", hashlib.sha512(data).hexdigest())
    assert shown["stores"] == "local"
    reply = alice.image.get(f"/v2/images/{image['id']}/file")
    assert reply.status_code == 200 and reply.content == data
    assert reply.headers["content-md5"] == shown["checksum"]
    assert reply.headers["content-type"] == "application/octet-stream"


def test_download_ranges(alice: Tenant) -> None:
    data = os.urandom(5000)
    image = create_image(alice.image)
    assert upload(alice.image, image["id"], data).status_code == 204
    part = alice.image.get(f"/v2/images/{image['id']}/file", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = alice.image.get(f"/v2/images/{image['id']}/file", headers={"Range": "bytes=4990-"})
    assert tail.content == data[4990:]
    assert alice.image.get(f"/v2/images/{image['id']}/file", headers={"Range": "bytes=9000-9100"}).status_code == 416


def test_queued_image_has_no_data(alice: Tenant) -> None:
    image = create_image(alice.image)
    assert alice.image.get(f"/v2/images/{image['id']}/file").status_code == 204


def test_upload_is_refused_for_active_images_and_wrong_media_type(alice: Tenant) -> None:
    image = create_image(alice.image)
    assert alice.image.put(f"/v2/images/{image['id']}/file", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert upload(alice.image, image["id"], b"first").status_code == 204
    assert upload(alice.image, image["id"], b"second").status_code == 409
    assert alice.image.get(f"/v2/images/{image['id']}/file").content == b"first"


def test_upload_needs_formats(alice: Tenant) -> None:
    reply = alice.image.post("/v2/images", json={"name": "bare"})
    image = reply.json()
    assert upload(alice.image, image["id"], b"data").status_code == 400
    assert alice.image.get(f"/v2/images/{image['id']}").json()["status"] == "queued"


@pytest.mark.parametrize(
    ("declared", "fmt", "opts"),
    [
        ("raw", "qcow2", ()),  # a qcow2 in disguise
        ("qcow2", "raw", ()),
        ("qcow2", "qcow2", ("-b", "/etc/passwd", "-F", "raw")),  # would read a host file
        ("vmdk", "vdi", ()),
    ],
)
def test_mismatched_or_unsafe_images_are_refused_and_stored_nowhere(
    cloud: LiveCloud, alice: Tenant, tmp_path: Path, declared: str, fmt: str, opts: tuple[str, ...]
) -> None:
    data = qemu_image(tmp_path, fmt, "1M", *opts)
    image = create_image(alice.image, disk_format=declared)
    reply = upload(alice.image, image["id"], data)
    assert reply.status_code == 400, reply.text
    assert reply.json()["message"]
    shown = alice.image.get(f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["size"], shown["checksum"]) == ("queued", None, None)
    assert not (cloud.data_dir / "images" / "local" / image["id"]).exists()
    assert incoming_files(cloud) == []
    # the image can still take correct data afterwards
    if declared == "raw":
        assert upload(alice.image, image["id"], b"\0" * 512).status_code == 204


def test_content_md5_mismatch_leaves_image_queued(alice: Tenant) -> None:
    image = create_image(alice.image)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert upload(alice.image, image["id"], b"payload", **{"Content-MD5": wrong}).status_code == 400
    assert alice.image.get(f"/v2/images/{image['id']}").json()["status"] == "queued"
    right = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    assert upload(alice.image, image["id"], b"payload", **{"Content-MD5": right}).status_code == 204


def test_interrupted_upload_leaves_image_queued(cloud: LiveCloud, alice: Tenant) -> None:
    image = create_image(alice.image)
    with partial_upload(cloud, alice.image.token, image["id"], announced=10_000_000, sent=300_000):
        wait_status(alice.image, image["id"], {"saving"}, timeout=10)
    # the client is gone half way: the server must notice and put the image back
    shown = wait_status(alice.image, image["id"], {"queued"})
    assert (shown["status"], shown["size"]) == ("queued", None)
    assert incoming_files(cloud) == []
    assert upload(alice.image, image["id"], b"complete").status_code == 204


def test_chunked_upload_without_length(alice: Tenant) -> None:
    image = create_image(alice.image)
    chunks = [os.urandom(100_000) for _ in range(5)]
    reply = alice.image.put(f"/v2/images/{image['id']}/file", content=iter(chunks), headers=OCTET)
    assert reply.status_code == 204
    assert alice.image.get(f"/v2/images/{image['id']}").json()["size"] == 500_000


def test_deleting_an_image_frees_its_data(cloud: LiveCloud, alice: Tenant) -> None:
    image = create_image(alice.image)
    assert upload(alice.image, image["id"], b"z" * 4096).status_code == 204
    stored = cloud.data_dir / "images" / "local" / image["id"]
    assert stored.stat().st_size == 4096
    assert alice.image.delete(f"/v2/images/{image['id']}").status_code == 204
    assert not stored.exists()


# -- staging and import ----------------------------------------------------------------


def test_stage_then_glance_direct_import(alice: Tenant, tmp_path: Path) -> None:
    data = qemu_image(tmp_path, "qcow2", "8M")
    image = create_image(alice.image, disk_format="qcow2")
    direct = {"method": {"name": "glance-direct"}}
    assert alice.image.post(f"/v2/images/{image['id']}/import", json=direct).status_code == 409  # nothing staged yet
    assert alice.image.put(f"/v2/images/{image['id']}/stage", content=data, headers=OCTET).status_code == 204
    staged = alice.image.get(f"/v2/images/{image['id']}").json()
    assert staged["status"] == "uploading"
    assert alice.image.post(f"/v2/images/{image['id']}/import", json=direct).status_code == 202
    done = wait_status(alice.image, image["id"], {"active", "queued", "uploading"})
    assert done["status"] == "active", done
    assert done["virtual_size"] == 8 * 1024 * 1024
    assert done["checksum"] == hashlib.md5(data).hexdigest()
    assert alice.image.get(f"/v2/images/{image['id']}/file").content == data
    tasks = alice.image.get(f"/v2/images/{image['id']}/tasks").json()["tasks"]
    assert tasks[0]["status"] == "success" and tasks[0]["type"] == "api_image_import"
    assert tasks[0]["input"]["import_req"] == direct


def test_glance_direct_import_of_a_bad_image_fails_cleanly(alice: Tenant, tmp_path: Path) -> None:
    data = qemu_image(tmp_path, "qcow2", "1M", "-b", "/etc/passwd", "-F", "raw")
    image = create_image(alice.image, disk_format="qcow2")
    assert alice.image.put(f"/v2/images/{image['id']}/stage", content=data, headers=OCTET).status_code == 204
    assert alice.image.post(f"/v2/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}).status_code == 202
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = alice.image.get(f"/v2/images/{image['id']}/tasks").json()["tasks"]
        if tasks and tasks[0]["status"] != "processing":
            break
        time.sleep(0.1)
    assert tasks[0]["status"] == "failure" and tasks[0]["message"]
    shown = alice.image.get(f"/v2/images/{image['id']}").json()
    assert shown["status"] == "uploading" and shown["os_glance_failed_import"] == "local"


def test_web_download_import(alice: Tenant, web_server: tuple[str, Path]) -> None:
    base, root = web_server
    data = os.urandom(3 * 1024 * 1024)
    (root / "disk.raw").write_bytes(data)
    image = create_image(alice.image)
    body = {"method": {"name": "web-download", "uri": f"{base}/disk.raw"}}
    assert alice.image.post(f"/v2/images/{image['id']}/import", json=body).status_code == 202
    done = wait_status(alice.image, image["id"], {"active", "queued"})
    assert done["status"] == "active" and done["size"] == len(data)
    assert alice.image.get(f"/v2/images/{image['id']}/file").content == data


def test_web_download_checks_the_allow_list(alice: Tenant) -> None:
    image = create_image(alice.image)
    for uri in ("http://198.51.100.7/x.img", "file:///etc/passwd", "ftp://127.0.0.1/x", ""):
        reply = alice.image.post(f"/v2/images/{image['id']}/import", json={"method": {"name": "web-download", "uri": uri}})
        assert reply.status_code == 400, (uri, reply.text)
    assert alice.image.get(f"/v2/images/{image['id']}").json()["status"] == "queued"


def test_web_download_of_a_missing_file_puts_the_image_back(alice: Tenant, web_server: tuple[str, Path]) -> None:
    base, _ = web_server
    image = create_image(alice.image)
    body = {"method": {"name": "web-download", "uri": f"{base}/missing.raw"}}
    assert alice.image.post(f"/v2/images/{image['id']}/import", json=body).status_code == 202
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = alice.image.get(f"/v2/images/{image['id']}").json()
        if shown["status"] == "queued" and "os_glance_import_task" not in shown:
            break
        time.sleep(0.1)
    assert shown["status"] == "queued" and shown["os_glance_failed_import"] == "local"


def test_copy_image_into_another_store(glance: ServiceClient, alice: Tenant) -> None:
    stores = glance.get("/v2/info/stores").json()["stores"]
    assert {s["id"]: s["weight"] for s in stores if s.get("read-only") != "true"} == {"local": 50, "backup": 100}
    assert [s["id"] for s in stores if s.get("default")] == ["local"]
    image = create_image(alice.image)
    assert upload(alice.image, image["id"], b"copy me" * 1000).status_code == 204
    body = {"method": {"name": "copy-image"}, "stores": ["backup"]}
    assert alice.image.post(f"/v2/images/{image['id']}/import", json=body).status_code == 403  # admins copy
    assert glance.post(f"/v2/images/{image['id']}/import", json={**body, "stores": ["nowhere"]}).status_code == 409
    assert glance.post(f"/v2/images/{image['id']}/import", json=body).status_code == 202
    deadline = time.monotonic() + 30
    while glance.get(f"/v2/images/{image['id']}").json()["stores"] != "backup,local" and time.monotonic() < deadline:
        time.sleep(0.1)
    shown = glance.get(f"/v2/images/{image['id']}").json()
    assert shown["stores"] == "backup,local" and shown["status"] == "active"
    assert (shown["os_glance_importing_to_stores"], shown["os_glance_failed_import"]) == ("", "")
    # nothing left to copy: accepted, and the progress properties say so
    assert glance.post(f"/v2/images/{image['id']}/import", json={**body, "all_stores": True, "stores": None}).status_code in (202, 400)
    # and one store's copy can go again, but never the last one
    assert glance.delete(f"/v2/stores/backup/{image['id']}").status_code == 204
    assert glance.get(f"/v2/images/{image['id']}").json()["stores"] == "local"
    assert glance.delete(f"/v2/stores/local/{image['id']}").status_code == 409
    assert glance.get(f"/v2/images/{image['id']}/file").content == b"copy me" * 1000


def test_import_info(alice: Tenant) -> None:
    methods = alice.image.get("/v2/info/import").json()["import-methods"]["value"]
    assert set(methods) == {"glance-direct", "web-download", "glance-download", "copy-image"}
    bad = alice.image.post(f"/v2/images/{create_image(alice.image)['id']}/import", json={"method": {"name": "teleport"}})
    assert bad.status_code == 400


def test_glance_download_copies_another_image_of_this_region(alice: Tenant, tmp_path: Path) -> None:
    data = qemu_image(tmp_path, "qcow2", "4M")
    source = create_image(alice.image, disk_format="qcow2", container_format="bare", hw_cpu_cores="5", os_distro="rhel", speed="88mph")
    assert upload(alice.image, source["id"], data).status_code == 204
    target = create_image(alice.image, disk_format="iso", container_format="ovf", os_distro="windows")
    method = {"name": "glance-download", "glance_image_id": source["id"], "glance_region": "RegionOne", "glance_service_interface": "public"}
    assert alice.image.post(f"/v2/images/{target['id']}/import", json={"method": method}).status_code == 202
    assert wait_task(alice.image, target["id"])["status"] == "success"
    copied = alice.image.get(f"/v2/images/{target['id']}").json()
    assert (copied["status"], copied["disk_format"], copied["container_format"]) == ("active", "qcow2", "bare")
    assert (copied["hw_cpu_cores"], copied["os_distro"]) == ("5", "rhel")
    assert "speed" not in copied
    assert alice.image.get(f"/v2/images/{target['id']}/file").content == data


def test_glance_download_failures(alice: Tenant, bob: Tenant) -> None:
    private = create_image(bob.image, visibility="private")
    assert upload(bob.image, private["id"], b"\0" * 1024).status_code == 204
    bad = {"name": "glance-download", "glance_image_id": "foo", "glance_region": "RegionOne"}
    target = create_image(alice.image, hw_cpu_cores="1")
    reply = alice.image.post(f"/v2/images/{target['id']}/import", json={"method": bad})
    assert reply.status_code == 400 and "does not look like a UUID" in reply.json()["message"]
    for method in (
        {"name": "glance-download", "glance_image_id": private["id"], "glance_region": "RegionOne"},  # not hers to see
        {"name": "glance-download", "glance_image_id": private["id"], "glance_region": "Elsewhere"},
    ):
        assert alice.image.post(f"/v2/images/{target['id']}/import", json={"method": method}).status_code == 202
        assert wait_task(alice.image, target["id"])["status"] == "failure"
        shown = alice.image.get(f"/v2/images/{target['id']}").json()
        assert (shown["status"], shown["hw_cpu_cores"]) == ("queued", "1")


def test_glance_download_with_a_bad_interface_fails_in_the_task(alice: Tenant) -> None:
    source = create_image(alice.image)
    assert upload(alice.image, source["id"], b"\0" * 512).status_code == 204
    target = create_image(alice.image)
    method = {"name": "glance-download", "glance_image_id": source["id"], "glance_region": "RegionOne", "glance_service_interface": "nope"}
    assert alice.image.post(f"/v2/images/{target['id']}/import", json={"method": method}).status_code == 202
    assert wait_task(alice.image, target["id"])["status"] == "failure"

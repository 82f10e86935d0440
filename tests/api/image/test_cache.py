"""The node's image cache (/v2/cache): administrators queue images, the copies serve
downloads, and clearing by target works; everyone else is refused."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from pocketstack.testing.server import LiveCloud
from tests.api.image.conftest import Tenant, create_image, upload
from tests.conftest import ServiceClient


def wait_cached(glance: ServiceClient, image_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if image_id in {c["image_id"] for c in glance.get("/v2/cache").json()["cached_images"]}:
            return
        time.sleep(0.05)
    raise AssertionError(f"image {image_id} was not cached")


def test_cache_cycle(cloud: LiveCloud, glance: ServiceClient, alice: Tenant) -> None:
    assert alice.image.get("/v2/cache").status_code == 403
    assert glance.put("/v2/cache/not-an-image").status_code == 404
    queued = create_image(alice.image)
    assert glance.put(f"/v2/cache/{queued['id']}").status_code == 400
    image = create_image(alice.image)
    assert upload(alice.image, image["id"], b"cache me" * 512).status_code == 204
    assert glance.put(f"/v2/cache/{image['id']}").status_code == 202
    wait_cached(glance, image["id"])
    cached = next(c for c in glance.get("/v2/cache").json()["cached_images"] if c["image_id"] == image["id"])
    assert cached["size"] == 8 * 512
    # downloads are served from the copy, and count as hits
    assert alice.image.get(f"/v2/images/{image['id']}/file").content == b"cache me" * 512
    cached = next(c for c in glance.get("/v2/cache").json()["cached_images"] if c["image_id"] == image["id"])
    assert cached["hits"] == 1
    assert glance.request("DELETE", "/v2/cache", headers={"x-image-cache-clear-target": "invalid"}).status_code == 400
    assert glance.request("DELETE", "/v2/cache", headers={"x-image-cache-clear-target": "queue"}).status_code == 204
    assert image["id"] in {c["image_id"] for c in glance.get("/v2/cache").json()["cached_images"]}
    assert glance.delete(f"/v2/cache/{image['id']}").status_code == 204
    assert image["id"] not in {c["image_id"] for c in glance.get("/v2/cache").json()["cached_images"]}
    assert glance.put(f"/v2/cache/{image['id']}").status_code == 202
    wait_cached(glance, image["id"])
    assert glance.delete("/v2/cache").status_code == 204
    assert glance.get("/v2/cache").json() == {"cached_images": [], "queued_images": []}


def test_deleting_an_image_drops_its_cached_copy(cloud: LiveCloud, glance: ServiceClient, alice: Tenant) -> None:
    image = create_image(alice.image)
    assert upload(alice.image, image["id"], b"\1" * 2048).status_code == 204
    assert glance.put(f"/v2/cache/{image['id']}").status_code == 202
    wait_cached(glance, image["id"])
    assert alice.image.delete(f"/v2/images/{image['id']}").status_code == 204
    assert not (Path(cloud.data_dir) / "images" / ".cache" / image["id"]).exists()
    assert glance.put(f"/v2/cache/{uuid.uuid4()}").status_code == 404

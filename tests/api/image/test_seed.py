"""`pocketstack allinone` publishes the seed images it is given (the test image a
fresh cloud offers), once, and a restart recovers what a crash left half done."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from pocketstack.testing.server import LiveCloud
from tests.api.image.conftest import partial_upload
from tests.conftest import admin_identity


def admin_images(cloud: LiveCloud) -> httpx.Client:
    token = admin_identity(cloud).token
    return httpx.Client(base_url=cloud.url + "/image", headers={"X-Auth-Token": token}, timeout=30)


def test_seed_image_is_published_once_and_restart_recovers(tmp_path: Path) -> None:
    seed = tmp_path / "tiny-test.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(seed), "16M"], check=True)
    env = {"POCKETSTACK_IMAGE__SEED_IMAGES": json.dumps([str(seed)])}
    cloud = LiveCloud(tmp_path / "data", extra_env=env)
    with cloud:
        client = admin_images(cloud)
        images = client.get("/v2/images", params={"name": "tiny-test"}).json()["images"]
        assert len(images) == 1
        image = images[0]
        assert (image["status"], image["visibility"], image["disk_format"]) == ("active", "public", "qcow2")
        assert image["virtual_size"] == 16 * 1024 * 1024
        assert client.get(f"/v2/images/{image['id']}/file").content == seed.read_bytes()
        # a half-received upload, as a crash would leave it
        stuck = client.post("/v2/images", json={"name": "stuck", "disk_format": "raw", "container_format": "bare"}).json()
        cloud.stop()
        store = cloud.data_dir / "images" / "local"
        (store / ".incoming" / "partial").write_bytes(b"half")
        (store / "no-such-image").write_bytes(b"orphan")
        import sqlite3

        with sqlite3.connect(cloud.data_dir / "pocketstack.db") as db:
            db.execute("UPDATE images SET status='saving' WHERE id=?", (stuck["id"],))
        cloud.start()
        client = admin_images(cloud)
        assert len(client.get("/v2/images", params={"name": "tiny-test"}).json()["images"]) == 1
        assert client.get(f"/v2/images/{stuck['id']}").json()["status"] == "queued"
        assert not (store / ".incoming" / "partial").exists()
        assert not (store / "no-such-image").exists()
        assert (store / image["id"]).exists()


def test_a_killed_server_leaves_no_half_upload(tmp_path: Path) -> None:
    import time

    cloud = LiveCloud(tmp_path / "data")
    with cloud:
        client = admin_images(cloud)
        image = client.post("/v2/images", json={"name": "cut", "disk_format": "raw", "container_format": "bare"}).json()
        with partial_upload(cloud, client.headers["X-Auth-Token"], image["id"], announced=100_000_000, sent=5_000_000):
            for _ in range(100):
                if client.get(f"/v2/images/{image['id']}").json()["status"] == "saving":
                    break
                time.sleep(0.05)
            assert cloud.proc is not None
            cloud.proc.kill()  # SIGKILL, by PID: no shutdown code runs
            cloud.proc.wait()
        incoming = cloud.data_dir / "images" / "local" / ".incoming"
        assert list(incoming.iterdir())  # the partial file is there...
        cloud.start()
        client = admin_images(cloud)
        shown = client.get(f"/v2/images/{image['id']}").json()
        assert (shown["status"], shown["size"]) == ("queued", None)
        assert list(incoming.iterdir()) == []  # ...and the restart removed it
        assert client.put(f"/v2/images/{image['id']}/file", content=b"\0" * 512, headers={"Content-Type": "application/octet-stream"}).status_code == 204

"""Conversion on import (settings.image.convert_to, Glance's image_conversion plugin):
an image imported in another format is stored converted, with its hashes and format
describing the converted data."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import httpx

from pocketstack.testing.server import LiveCloud
from tests.api.image.conftest import OCTET
from tests.api.image.test_seed import admin_images


def test_imports_are_converted_to_the_configured_format(tmp_path: Path) -> None:
    raw = tmp_path / "disk.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(raw), "8M"], check=True)
    with LiveCloud(tmp_path / "data", extra_env={"POCKETSTACK_IMAGE__CONVERT_TO": "qcow2"}) as cloud:
        client: httpx.Client = admin_images(cloud)
        image = client.post("/v2/images", json={"name": "conv", "disk_format": "raw", "container_format": "bare"}).json()
        assert client.put(f"/v2/images/{image['id']}/stage", content=raw.read_bytes(), headers=OCTET).status_code == 204
        assert client.post(f"/v2/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}).status_code == 202
        for _ in range(300):
            shown = client.get(f"/v2/images/{image['id']}").json()
            if shown["status"] in ("active", "uploading"):
                break
            time.sleep(0.1)
        assert (shown["status"], shown["disk_format"], shown["virtual_size"]) == ("active", "qcow2", 8 * 1024 * 1024)
        data = client.get(f"/v2/images/{image['id']}/file").content
        assert data[:4] == b"QFI\xfb"  # qcow2 on disk now
        assert shown["checksum"] == hashlib.md5(data).hexdigest() and shown["size"] == len(data)
        # plain uploads are stored as sent (Glance converts imports only)
        plain = client.post("/v2/images", json={"name": "plain", "disk_format": "raw", "container_format": "bare"}).json()
        assert client.put(f"/v2/images/{plain['id']}/file", content=raw.read_bytes(), headers=OCTET).status_code == 204
        assert client.get(f"/v2/images/{plain['id']}").json()["disk_format"] == "raw"

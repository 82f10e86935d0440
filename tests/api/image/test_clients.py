"""The stock clients against the image service: the `openstack` CLI and openstacksdk."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from pocketstack.testing.server import LiveCloud
from tests.conftest import unique


def osc_json(osc: Any, *args: str, env: dict[str, str] | None = None) -> Any:
    return json.loads(osc(*args, "-f", "json", env=env).stdout)


def test_cli_image_lifecycle(cloud: LiveCloud, osc: Any, tmp_path: Path) -> None:
    disk = tmp_path / "x.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "32M"], check=True)
    name = unique("img1")
    created = osc_json(osc, "image", "create", "--file", str(disk), "--disk-format", "qcow2", "--container-format", "bare", name)
    assert created["status"] == "active"
    image_id = created["id"]
    assert name in {i["Name"] for i in osc_json(osc, "image", "list")}
    shown = osc_json(osc, "image", "show", image_id)
    assert shown["checksum"] == hashlib.md5(disk.read_bytes()).hexdigest()
    assert shown["virtual_size"] == 32 * 1024 * 1024
    assert shown["disk_format"] == "qcow2"

    osc("image", "set", "--property", "os_distro=debian", "--property", "hw_disk_bus=virtio", image_id)
    props = osc_json(osc, "image", "show", image_id)["properties"]
    assert props["os_distro"] == "debian" and props["hw_disk_bus"] == "virtio"

    # share with the demo project, which accepts
    demo = cloud.env("demo")
    demo_project = osc_json(osc, "project", "show", "demo")["id"]
    osc("image", "add", "project", image_id, demo_project)
    assert image_id not in {i["ID"] for i in osc_json(osc, "image", "list", env=demo)}
    osc("image", "set", "--accept", image_id, env=demo)
    assert image_id in {i["ID"] for i in osc_json(osc, "image", "list", env=demo)}

    saved = tmp_path / "saved.qcow2"
    osc("image", "save", "--file", str(saved), image_id, env=demo)
    assert saved.read_bytes() == disk.read_bytes()

    osc("image", "delete", image_id)
    assert osc("image", "show", image_id, check=False).returncode != 0


def test_cli_refuses_a_disguised_image(osc: Any, tmp_path: Path) -> None:
    disk = tmp_path / "sneaky.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(disk), "1M"], check=True)
    proc = osc("image", "create", "--file", str(disk), "--disk-format", "raw", unique("bad"), check=False)
    assert proc.returncode != 0
    assert "400" in proc.stderr or "refused" in proc.stderr.lower()


def test_sdk_create_upload_download(sdk: Any) -> None:
    data = b"sdk image data" * 1000
    image = sdk.image.create_image(name=unique("sdk"), data=data, disk_format="raw", container_format="bare", validate_checksum=True)
    try:
        fetched = sdk.image.get_image(image.id)
        assert fetched.status == "active" and fetched.size == len(data)
        assert fetched.checksum == hashlib.md5(data).hexdigest()
        assert sdk.image.download_image(fetched).content == data
        sdk.image.update_image(fetched, min_ram=256)
        assert sdk.image.get_image(image.id).min_ram == 256
        assert image.id in {i.id for i in sdk.image.images()}
        sdk.image.add_tag(fetched, "tagged")
        assert "tagged" in sdk.image.get_image(image.id).tags
    finally:
        sdk.image.delete_image(image.id, ignore_missing=True)

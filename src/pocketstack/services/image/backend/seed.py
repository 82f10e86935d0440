"""Images a fresh cloud publishes: files named in settings.image.seed_images become
public, active images of the admin project (the all-in-one's test image)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import formats
from ..models import ACTIVE, Image
from ..store import ImageStore
from .common import new_id, now
from .imports import hash_file

log = logging.getLogger("pocketstack.image")

SUFFIX_FORMATS = {".qcow2": "qcow2", ".img": "raw", ".raw": "raw", ".iso": "iso", ".vmdk": "vmdk", ".vdi": "vdi", ".vhd": "vhd", ".vhdx": "vhdx"}


def ensure_public_image(db: Session, store: ImageStore, path: Path, owner: str, hash_algo: str) -> Image | None:
    """Publish `path` once; returns the image (None when the file is missing)."""
    name = path.stem
    existing = db.scalars(select(Image).where(Image.name == name, Image.visibility == "public")).first()
    if existing is not None:
        return existing
    if not path.is_file():
        log.warning("seed image %s does not exist; skipped", path)
        return None
    disk_format = SUFFIX_FORMATS.get(path.suffix.lower(), "raw")
    inspection = formats.inspect(path, disk_format)
    checksum, hash_value, size = hash_file(path, hash_algo)
    image_id = new_id()
    store.copy_in(path, image_id)
    stamp = now()
    image = Image(
        id=image_id,
        name=name,
        status=ACTIVE,
        visibility="public",
        owner=owner,
        size=size,
        virtual_size=inspection.virtual_size,
        disk_format=disk_format,
        container_format="bare",
        checksum=checksum,
        os_hash_algo=hash_algo,
        os_hash_value=hash_value,
        min_disk=0,
        min_ram=0,
        protected=False,
        os_hidden=False,
        stores=[store.id],
        created_at=stamp,
        updated_at=stamp,
    )
    db.add(image)
    log.info("published seed image %s (%s, %d bytes)", name, disk_format, size)
    return image

"""Images a fresh cloud publishes: files named in settings.image.seed_images become
public, active images of the admin project (the all-in-one's test image)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import QUEUED, Image
from ..store import ImageStore
from .common import new_id, now
from .data import store_file_data

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
    image_id = new_id()
    stamp = now()
    image = Image(
        id=image_id,
        name=name,
        status=QUEUED,
        visibility="public",
        owner=owner,
        disk_format=SUFFIX_FORMATS.get(path.suffix.lower(), "raw"),
        container_format="bare",
        min_disk=0,
        min_ram=0,
        protected=False,
        os_hidden=False,
        created_at=stamp,
        updated_at=stamp,
    )
    db.add(image)
    size = store_file_data(image, store, path, hash_algo)
    log.info("published seed image %s (%s, %d bytes)", name, image.disk_format, size)
    return image

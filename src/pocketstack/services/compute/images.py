"""The compute service's window on the image service, in one place: the image a server
boots from (checked as Nova checks it), the local file the agent boots it from, and
the images snapshots become. In one process these are calls into the image backend;
a compute host on another machine would make the same calls over Glance's REST API."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session

from pocketstack.config import Settings
from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Fault
from pocketstack.services.image.backend.common import get_image, new_id, now
from pocketstack.services.image.backend.data import store_file_data
from pocketstack.services.image.backend.images import delete_image as delete_image_row
from pocketstack.services.image.models import ACTIVE, QUEUED, Image, ImageProperty
from pocketstack.services.image.store import Stores

from .models import Server

BOOTABLE_FORMATS = {"qcow2", "raw"}  # anything else is converted to qcow2 once, in the base cache


@dataclass(frozen=True)
class ImageInfo:
    """What server create needs to know about its image."""

    id: str
    name: str | None
    size: int
    virtual_size: int | None
    min_disk: int
    min_ram: int
    disk_format: str | None
    properties: dict[str, Any] = field(default_factory=dict)


def image_id_from_ref(ref: str) -> str:
    """imageRef may be an id or a URL ending in one (Nova accepts both)."""
    return ref.rstrip("/").rsplit("/", 1)[-1]


def find_boot_image(db: Session, ctx: RequestContext, image_ref: str) -> ImageInfo:
    image_id = image_id_from_ref(image_ref)
    try:
        image = get_image(db, ctx, image_id)
    except Fault:
        raise BadRequest(f"Image {image_id} could not be found.") from None
    if image.status != ACTIVE:
        raise BadRequest(f"Image {image_id} is not active.")
    return _info(image)


def image_info(db: Session, image_id: str) -> ImageInfo | None:
    """An image regardless of who may see it (the agent's view); None if it is gone."""
    image = db.get(Image, image_id)
    return None if image is None else _info(image)


def _info(image: Image) -> ImageInfo:
    return ImageInfo(
        id=image.id,
        name=image.name,
        size=image.size or 0,
        virtual_size=image.virtual_size,
        min_disk=image.min_disk or 0,
        min_ram=image.min_ram or 0,
        disk_format=image.disk_format,
        properties={p.name: p.value for p in image.properties},
    )


class BaseImageCache:
    """Local copies of images that servers boot from, one file per image id: servers'
    overlays point at these, so deleting the image later never breaks a server."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.data_dir / "compute" / "_base"
        self.stores = Stores(settings.data_dir / "images", settings.image)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def path_for(self, db: Session, image_id: str) -> tuple[Path, str]:
        """(file, "qcow2" or "raw"), fetched and converted on first use. Servers booting
        the same image at once wait for one copy (per process; across processes each
        writes its own temporary file and the last complete one wins the name)."""
        with self._locks_guard:
            lock = self._locks.setdefault(image_id, threading.Lock())
        with lock:
            return self._cached_or_fetched(db, image_id)

    def _cached_or_fetched(self, db: Session, image_id: str) -> tuple[Path, str]:
        self.root.mkdir(parents=True, exist_ok=True)
        for fmt in ("qcow2", "raw"):
            cached = self.root / f"{image_id}.{fmt}"
            if cached.exists():
                return cached, fmt
        image = db.get(Image, image_id)
        if image is None or image.status != ACTIVE:
            raise FileNotFoundError(f"image {image_id} is not available")
        source = self.stores.locate(image.id, image.stores)
        if source is None:
            raise FileNotFoundError(f"image {image_id} has no data on this host")
        fmt = image.disk_format if image.disk_format in BOOTABLE_FORMATS else "qcow2"
        target = self.root / f"{image_id}.{fmt}"
        fd, name = tempfile.mkstemp(dir=self.root, prefix=f".{image_id}.", suffix=".part")
        os.close(fd)
        partial = Path(name)
        try:
            if image.disk_format in BOOTABLE_FORMATS:
                _link_or_copy(source, partial)
            else:
                subprocess.run(
                    ["qemu-img", "convert", "-f", image.disk_format or "raw", "-O", "qcow2", str(source), str(partial)],
                    check=True,
                    capture_output=True,
                )
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target, fmt

    def forget_unused(self, in_use: set[str]) -> None:
        if not self.root.exists():
            return
        for cached in self.root.iterdir():
            if cached.stem not in in_use and cached.suffix in (".qcow2", ".raw"):
                cached.unlink(missing_ok=True)


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    try:
        target.hardlink_to(source)  # instant, and the store may delete its name freely
    except OSError:
        shutil.copyfile(source, target)


def create_snapshot_image(db: Session, ctx: RequestContext, name: str, properties: dict[str, str], *, min_disk: int, min_ram: int) -> str:
    """A queued image in the caller's project that a snapshot will fill; returns its id."""
    stamp = now()
    image = Image(
        id=new_id(),
        name=name,
        status=QUEUED,
        visibility="private",
        owner=ctx.project_id,
        disk_format="qcow2",
        container_format="bare",
        min_disk=min_disk,
        min_ram=min_ram,
        protected=False,
        os_hidden=False,
        created_at=stamp,
        updated_at=stamp,
    )
    image.properties = [ImageProperty(name=key, value=value) for key, value in properties.items()]
    db.add(image)
    db.flush()
    return image.id


def fill_snapshot_image(db: Session, settings: Settings, image_id: str, path: Path) -> bool:
    """Make the snapshot file the image's data; False if the image was deleted meanwhile.
    A backup (createBackup) then rotates out the oldest backups beyond its rotation."""
    image = db.get(Image, image_id)
    if image is None or image.status not in (QUEUED, "saving"):
        return False
    stores = Stores(settings.data_dir / "images", settings.image)
    store_file_data(image, stores.default, path, settings.image.hash_algo)
    if image.extra.get("image_type") == "backup":
        _rotate_backups(db, settings, image)
    return True


def _rotate_backups(db: Session, settings: Settings, backup: Image) -> None:
    """Nova's _rotate_backups, once a backup has its data: of the server's backups of
    this backup_type, newest first, those past `rotation` are deleted (protected ones
    stay, as Glance refuses to delete them). The rotation is the one the createBackup
    request recorded in the server's task_args beside this image's id."""
    props = backup.extra
    server = db.scalar(select(Server).where(Server.uuid == props.get("instance_uuid", "")))
    args = (server.task_args or {}) if server is not None else {}
    if args.get("image_id") != backup.id or args.get("rotation") is None:
        return
    rotation = int(args["rotation"])
    db.flush()  # the backup's new status counts in the query below
    backups = [image for image in _backups_of(db, props["instance_uuid"], props.get("backup_type", "")) if not image.protected]
    # image times have whole seconds: the backup just taken counts as the newest of a tie
    backups.sort(key=lambda image: image.id != backup.id)
    for image in backups[rotation:]:
        delete_image(db, settings, image.id)


def _backups_of(db: Session, instance_uuid: str, backup_type: str) -> list[Image]:
    """A server's backup images of one backup_type, newest first."""

    def has(name: str, value: str) -> Any:
        return exists().where(ImageProperty.image_id == Image.id, ImageProperty.name == name, ImageProperty.value == value)

    query = select(Image).where(has("image_type", "backup"), has("backup_type", backup_type), has("instance_uuid", instance_uuid))
    return list(db.scalars(query.order_by(Image.created_at.desc(), Image.id.desc())))


def fail_snapshot_image(db: Session, image_id: str) -> None:
    """A snapshot that could not be taken leaves no queued image behind (Nova deletes it)."""
    image = db.get(Image, image_id)
    if image is not None and image.status == QUEUED:
        db.delete(image)


def delete_image(db: Session, settings: Settings, image_id: str) -> None:
    """Remove an image the compute service made (a shelved server's snapshot, which Nova
    deletes once the server is unshelved); its data goes once the row's removal commits."""
    image = db.get(Image, image_id)
    if image is None or image.protected:
        return
    delete_image_row(db, image)
    stores = Stores(settings.data_dir / "images", settings.image)
    event.listen(db, "after_commit", lambda _session: stores.delete_everywhere(image_id), once=True)

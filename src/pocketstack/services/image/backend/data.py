"""Image data: the state changes around an upload or a stage. The bytes themselves are
streamed by the API layer (store.receive) between `begin_*` and `finish_*`, outside any
transaction; each step here is one short transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Conflict, Forbidden, NotFound

from .. import formats
from ..formats import Inspection
from ..models import ACTIVE, DEACTIVATED, QUEUED, SAVING, UPLOADING, Image
from ..store import ImageStore, Received
from . import quotas
from .common import get_image, now, policy_target, set_property
from .imports import hash_file

STAGE_HOST_PROPERTY = "os_glance_stage_host"


@dataclass
class UploadPlan:
    image_id: str
    owner: str | None
    disk_format: str
    limit: int  # bytes this upload may bring at most


def begin_upload(db: Session, ctx: RequestContext, authorize: object, image_id: str, max_size: int, *, staging: bool) -> UploadPlan:
    """queued -> saving (upload) or -> uploading (stage); who may, and how much."""
    image = get_image(db, ctx, image_id, for_update=True)
    authorize("image:stage_image" if staging else "image:upload_image", policy_target(image))  # type: ignore[operator]
    if image.status != QUEUED:
        raise Conflict(f"Image status transition from {image.status} to {'uploading' if staging else 'saving'} is not allowed")
    if not staging and (image.disk_format is None or image.container_format is None):
        raise BadRequest("Properties disk_format, container_format must be set prior to saving data.")
    quotas.check_upload_start(db, image.owner)
    room = quotas.remaining_bytes(db, image.owner, "image_stage_total" if staging else "image_size_total")
    limit = max_size if room is None else min(max_size, room)
    image.status = UPLOADING if staging else SAVING
    image.updated_at = now()
    return UploadPlan(image.id, image.owner, image.disk_format or "raw", limit)


def _image_in(db: Session, image_id: str, status: str) -> Image:
    image = db.get(Image, image_id, with_for_update=True)
    if image is None:
        raise NotFound(f"Image {image_id} was deleted while its data was being received.")
    if image.status != status:
        raise Conflict(f"Image {image_id} changed to status {image.status} while its data was being received.")
    return image


def finish_upload(db: Session, image_id: str, received: Received, inspection: Inspection, store_id: str, hash_algo: str) -> Image:
    """saving -> active, with everything learned from the bytes."""
    image = _image_in(db, image_id, SAVING)
    image.status = ACTIVE
    image.size = received.size
    image.virtual_size = inspection.virtual_size
    image.checksum = received.checksum
    image.os_hash_algo = hash_algo
    image.os_hash_value = received.hash_value
    image.stores = [store_id]
    image.updated_at = now()
    return image


def store_file_data(image: Image, store: ImageStore, path: Path, hash_algo: str) -> int:
    """Make a local file the data of a queued image (seed images, server snapshots): it
    is inspected as its disk_format, hashed, copied into `store`, and the image becomes
    active. Returns the size. The caller's transaction records the change."""
    inspection = formats.inspect(path, image.disk_format or "raw")
    checksum, hash_value, size = hash_file(path, hash_algo)
    store.copy_in(path, image.id)
    image.status = ACTIVE
    image.size = size
    image.virtual_size = inspection.virtual_size
    image.checksum = checksum
    image.os_hash_algo = hash_algo
    image.os_hash_value = hash_value
    image.stores = [store.id]
    image.updated_at = now()
    return size


def finish_stage(db: Session, image_id: str, received: Received, host: str) -> Image:
    """Staged data waits (status uploading) for an import call."""
    image = _image_in(db, image_id, UPLOADING)
    image.size = received.size
    set_property(image, STAGE_HOST_PROPERTY, host)
    image.updated_at = now()
    return image


def abort_upload(db: Session, image_id: str, status: str) -> None:
    """The bytes did not all arrive, or were refused: back to queued, nothing kept."""
    image = db.get(Image, image_id, with_for_update=True)
    if image is not None and image.status == status:
        image.status = QUEUED
        image.size = None
        image.updated_at = now()


def download_source(db: Session, ctx: RequestContext, authorize: object, image_id: str) -> Image:
    """The image whose data a caller may read (None-bodied answers are the caller's)."""
    image = get_image(db, ctx, image_id)
    authorize("image:download_image", policy_target(image))  # type: ignore[operator]
    if image.status == DEACTIVATED and not ctx.is_admin:
        raise Forbidden("The requested image has been deactivated. Image data download is forbidden.")
    return image


def has_data(image: Image) -> bool:
    return image.status in (ACTIVE, DEACTIVATED) and bool(image.stores or image.locations)

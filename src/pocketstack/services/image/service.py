"""The image service as the app sees it: its routes, its stores, its catalog entry,
and the recovery pass that runs when the cloud starts."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from pocketstack.config import Settings
from pocketstack.core.api import ApiRouter
from pocketstack.core.db import Database

from . import policy
from .api import build_router
from .backend.common import drop_property, now
from .backend.imports import TASK_PROPERTY, Importer
from .backend.locations import verify_location
from .backend.seed import ensure_public_image
from .cache import ImageCache
from .metadefs.backend import seed_resource_types
from .models import IMPORTING, QUEUED, SAVING, UPLOADING, Image, Task
from .store import Stores
from .views.images import Look

log = logging.getLogger("pocketstack.image")
CACHE_DIR = ".cache"  # beside the stores; a dot keeps it clear of any store id


class ImageService:
    name = "image"
    type = "image"
    prefix = "/image"
    catalog_name = "glance"
    catalog_description = "Image Service"
    policy_rules = policy.RULES
    # Glance treats /v2/images/ as an image with an empty id (404), not as the list
    forgive_trailing_slash = False

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.options = settings.image
        self.db = db
        self.stores = Stores(settings.data_dir / "images", settings.image)
        self.cache = ImageCache(settings.data_dir / "images" / CACHE_DIR)
        self.importer = Importer(db, self.stores, settings.image)
        self.look = Look(
            order_stores=self.stores.ordered,
            store_url=lambda store_id, image_id: self.stores.path_url(store_id, image_id),
            show_locations=settings.image.show_multiple_locations,
            show_direct_url=settings.image.show_image_direct_url,
            http_store_id=settings.image.http_store_id,
        )
        # imports run here, outside requests; two at a time is plenty for one disk
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="image-import")

    def router(self) -> ApiRouter:
        return build_router()

    def bootstrap(self, made: dict[str, str]) -> None:
        """A fresh (or restarted) all-in-one publishes its seed images once."""
        self.stores.ensure()
        for path in self.options.seed_images:
            with self.db.write() as db:
                ensure_public_image(db, self.stores.default, path, made["admin_project_id"], self.options.hash_algo)

    def forget_data(self, image_id: str) -> None:
        """A deleted image's data goes from every store, the staging area and the cache."""
        self.stores.delete_everywhere(image_id)
        self.cache.forget(image_id)

    def run_import(self, task_id: str) -> None:
        self._workers.submit(self.importer.run, task_id)

    def run_location_import(self, task_id: str) -> None:
        self._workers.submit(verify_location, self.db, task_id, self.options)

    def recover(self) -> None:
        """After a crash or restart no upload or import is still running, so nothing may
        stay `saving` or `importing`: half-received data is dropped, staged data stays
        staged, interrupted tasks fail, and files no image names any more are removed."""
        self.stores.ensure()
        dropped = self.stores.clean_incoming()
        with self.db.write() as db:
            stuck = db.scalars(select(Image).where(Image.status.in_([SAVING, IMPORTING]))).all()
            for image in stuck:
                image.status = UPLOADING if self.stores.staging.has(image.id) else QUEUED
                drop_property(image, TASK_PROPERTY)
                image.updated_at = now()
            for task in db.scalars(select(Task).where(Task.status.in_(["pending", "processing"]))):
                task.status, task.message, task.updated_at = "failure", "interrupted by a restart of the image service", now()
            known = set(db.scalars(select(Image.id)))
            # the metadefs catalog's resource types exist from the first start on
            seed_resource_types(db)
        orphans = self.stores.remove_orphans(known)
        self.cache.files.clean_incoming()
        for cached in self.cache.listing()["cached_images"]:
            if cached["image_id"] not in known:
                self.cache.forget(cached["image_id"])
        if stuck or dropped or orphans:
            log.info("image recovery: %d image(s) reset, %d partial and %d orphaned file(s) removed", len(stuck), dropped, orphans)

"""Interoperable image import (POST /v2/images/{id}/import): the request records a task
and returns 202; a worker thread then fetches (web-download) or takes (glance-direct)
the data, inspects it, converts it if configured, and copies it into the target stores.
copy-image copies an active image's data into more stores.

Progress is visible the way Glance shows it: image status `importing`, and the reserved
properties os_glance_import_task, os_glance_importing_to_stores and os_glance_failed_import.
A crash mid-import is repaired by ImageService.recover (back to uploading or queued)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.config import ImageSettings
from pocketstack.core.context import RequestContext
from pocketstack.core.db import Database, utcnow
from pocketstack.core.faults import BadRequest, Conflict

from .. import formats, schemas
from ..models import ACTIVE, IMPORTING, QUEUED, UPLOADING, Image, Task
from ..store import BLOCK, ImageStore, Stores
from .common import can_see, drop_property, new_id, now, policy_target, set_property

log = logging.getLogger("pocketstack.image")

TASK_PROPERTY = "os_glance_import_task"
IMPORTING_PROPERTY = "os_glance_importing_to_stores"
FAILED_PROPERTY = "os_glance_failed_import"
TASK_TTL = dt.timedelta(hours=48)  # Glance's task_time_to_live
# what glance-download carries over from the source image (Glance's extra_properties)
COPIED_PROPERTY_PREFIXES = ("hw_", "trait:", "os_distro", "os_secure_boot", "os_type")


@dataclass
class ImportRequest:
    method: str
    uri: str | None
    stores: list[str]
    all_stores_must_succeed: bool
    body: dict[str, Any]  # as the caller sent it: tasks show it as input.import_req


def parse_request(body: Any, image: Image, stores: Stores, options: ImageSettings, header_store: str | None) -> ImportRequest:
    if not isinstance(body, dict) or not isinstance(body.get("method"), dict):
        raise BadRequest("Invalid input: 'method' is a required property (an object with a 'name').")
    method = body["method"].get("name")
    if method not in options.import_methods:
        raise BadRequest(f"Import method {str(method)[:40]!r} is not available here; use one of {', '.join(options.import_methods)}.")
    uri = body["method"].get("uri")
    if method == "web-download":
        check_web_download_uri(uri, options)
    if method == "glance-download":
        check_glance_download(body["method"])
    wanted = body.get("stores")
    if body.get("all_stores"):
        if wanted:
            raise BadRequest("'stores' and 'all_stores' cannot be given together.")
        wanted = list(stores.by_id)
    elif wanted is None:
        wanted = [header_store] if header_store else ([] if method == "copy-image" else [stores.default.id])
    if not isinstance(wanted, list) or not all(isinstance(s, str) for s in wanted):
        raise BadRequest("Invalid input: 'stores' must be a list of store ids.")
    unknown = [s for s in wanted if stores.get(s) is None]
    if unknown:
        raise Conflict(f"Unknown store(s): {', '.join(unknown)}.")
    if method == "copy-image":
        # stores that hold the image already have nothing to receive (possibly none left)
        wanted = [s for s in wanted if s not in image.stores]
    must = body.get("all_stores_must_succeed", True)
    if not isinstance(must, bool):
        raise BadRequest("Invalid input: 'all_stores_must_succeed' must be a boolean.")
    return ImportRequest(method, uri, list(dict.fromkeys(wanted)), must, body)


def check_glance_download(method: dict[str, Any]) -> None:
    """glance-download names an image of a Glance region: {"glance_image_id", "glance_region",
    "glance_service_interface"}; whether it exists is learned by the import itself."""
    source = method.get("glance_image_id")
    if not isinstance(source, str) or not schemas.UUID_RE.match(source):
        raise BadRequest(f"Remote image id does not look like a UUID: {str(source)[:64]}")
    if not isinstance(method.get("glance_region"), str) or not method["glance_region"]:
        raise BadRequest("The glance-download method needs a 'glance_region'.")


def check_web_download_uri(uri: Any, options: ImageSettings) -> None:
    """Only http(s) URLs whose host (or host:port) the operator allowed."""
    if not isinstance(uri, str) or not uri:
        raise BadRequest("The web-download method needs a 'uri'.")
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("The web-download URI must be an http or https URL.")
    host = parts.hostname
    allowed = options.web_download_allowed_hosts
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host not in allowed and f"{host}:{port}" not in allowed:
        raise BadRequest(f"URI for web-download does not pass filtering: host {host} is not allowed.")


def _source_of(db: Session, ctx: RequestContext, req: ImportRequest, region: str) -> dict[str, Any]:
    """For glance-download: the source image, decided now with the caller's rights (the
    import runs without them). This cloud's own region is the only Glance it knows."""
    if req.method != "glance-download":
        return {}
    method = req.body["method"]
    if method["glance_region"] != region:
        return {"glance_source": None, "glance_source_problem": f"no image service in region {method['glance_region']}"}
    interface = method.get("glance_service_interface", "public")
    if interface not in ("public", "internal", "admin"):
        return {"glance_source": None, "glance_source_problem": f"no image service endpoint with interface {str(interface)[:20]}"}
    source = db.scalars(select(Image).where(Image.id == method["glance_image_id"], can_see(ctx))).first()
    if source is None or source.status != ACTIVE:
        return {"glance_source": None, "glance_source_problem": f"image {method['glance_image_id']} not found or not active"}
    return {"glance_source": source.id}


def start_import(db: Session, ctx: RequestContext, authorize: Any, image: Image, req: ImportRequest, region: str) -> Task:
    """Check the image may be imported this way now, and record the task."""
    authorize("image:copy_image" if req.method == "copy-image" else "image:import_image", policy_target(image))
    busy = image.extra.get(TASK_PROPERTY)
    if busy and image.status == IMPORTING or (busy and req.method == "copy-image"):
        raise Conflict(f"Image {image.id} has an import in progress (task {busy}).")
    expected = {"glance-direct": UPLOADING, "web-download": QUEUED, "glance-download": QUEUED, "copy-image": ACTIVE}[req.method]
    if image.status != expected:
        if req.method == "glance-direct":
            raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
        raise Conflict(f"Image {image.id} is {image.status}; the {req.method} method needs it {expected}.")
    if req.method != "copy-image" and (image.disk_format is None or image.container_format is None):
        raise Conflict("Properties disk_format, container_format must be set prior to importing data.")
    stamp = now()
    given = {"import_req": req.body, "backend": req.stores, "all_stores_must_succeed": req.all_stores_must_succeed}
    task = new_task(db, ctx, image, "api_image_import", {**given, **_source_of(db, ctx, req, region)})
    if req.method != "copy-image":
        image.status = IMPORTING
    set_property(image, TASK_PROPERTY, task.id)
    set_property(image, IMPORTING_PROPERTY, ",".join(req.stores))
    set_property(image, FAILED_PROPERTY, "")
    image.updated_at = stamp
    return task


# -- the worker --------------------------------------------------------------------------


class ImportFailed(Exception):
    pass


@dataclass
class NewData:
    """What an import learned about the data it brings."""

    disk_format: str
    size: int
    checksum: str
    hash_algo: str
    hash_value: str
    virtual_size: int | None
    container_format: str | None = None  # glance-download takes the source's
    properties: dict[str, str] = field(default_factory=dict)  # and its hw_*, os_distro, ...


class Importer:
    """Runs one import task to its end, outside any request."""

    def __init__(self, db: Database, stores: Stores, options: ImageSettings) -> None:
        self.db = db
        self.stores = stores
        self.options = options

    def run(self, task_id: str) -> None:
        with self.db.read() as db:
            task = db.get(Task, task_id)
            image = db.get(Image, task.image_id) if task else None
            if task is None or image is None:
                return
            method = {**task.input["import_req"]["method"], "glance_source": task.input.get("glance_source"), "problem": task.input.get("glance_source_problem")}
            targets = list(task.input["backend"])
            must_all = bool(task.input.get("all_stores_must_succeed", True))
            disk_format = image.disk_format or "raw"
            image_id = image.id
            held = list(image.stores)
        scratch: list[Path] = []  # temporary files of this import, removed whatever happens
        try:
            if method["name"] == "copy-image":
                source, data = self.stores.locate(image_id, held), None
                if source is None:
                    raise ImportFailed("the image's data is missing from its stores")
            else:
                source, data = self._prepare(method, image_id, disk_format, scratch)
            self._copy_to_stores(task_id, image_id, source, targets, data, must_all)
            if method["name"] == "glance-direct":
                self.stores.staging.delete(image_id)
        except Exception as exc:
            expected = isinstance(exc, (ImportFailed, formats.ImageRejected))
            if not expected:
                log.exception("import task %s failed", task_id)
            self._fail(task_id, image_id, method["name"], targets, str(exc) if expected else "internal error")
        finally:
            for path in scratch:
                path.unlink(missing_ok=True)

    def _prepare(self, method: dict[str, Any], image_id: str, disk_format: str, scratch: list[Path]) -> tuple[Path, NewData]:
        """The new data, fetched (web-download), staged (glance-direct) or another image's
        (glance-download), inspected, converted when the operator asks for one format, and hashed."""
        taken: dict[str, Any] = {}
        if method["name"] == "web-download":
            path = self._download(method.get("uri", ""), scratch)
        elif method["name"] == "glance-download":
            path, taken = self._glance_source(method)
            disk_format = taken["disk_format"]
        else:
            path = self.stores.staging.path(image_id)
            if not path.is_file():
                raise ImportFailed("no staged data found")
        inspection = formats.inspect(path, disk_format, require_format_match=self.options.require_format_match)
        target = self.options.convert_to
        if target and target != disk_format:
            converted = self.stores.staging.new_temp()
            scratch.append(converted)
            formats.convert(path, converted, disk_format, target)
            path, disk_format = converted, target
            inspection = formats.inspect(path, disk_format)
        checksum, hash_value, size = hash_file(path, self.options.hash_algo)
        return path, NewData(
            disk_format, size, checksum, self.options.hash_algo, hash_value, inspection.virtual_size, taken.get("container_format"), taken.get("properties", {})
        )

    def _glance_source(self, method: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        if method.get("glance_source") is None:
            raise ImportFailed(f"glance-download failed: {method.get('problem') or 'no source image'}")
        with self.db.read() as db:
            source = db.get(Image, method["glance_source"])
            if source is None or source.status != ACTIVE:
                raise ImportFailed("glance-download failed: the source image is gone or not active")
            path = self.stores.locate(source.id, source.stores)
            kept = {k: v for k, v in source.extra.items() if k.startswith(COPIED_PROPERTY_PREFIXES)}
            taken = {"disk_format": source.disk_format or "raw", "container_format": source.container_format, "properties": kept}
        if path is None:
            raise ImportFailed("glance-download failed: the source image's data is missing")
        return path, taken

    def _download(self, uri: str, scratch: list[Path]) -> Path:
        import httpx

        check_web_download_uri(uri, self.options)
        temp = self.stores.staging.new_temp()
        scratch.append(temp)
        size = 0
        try:
            # redirects are not followed: they could lead to a host nobody allowed
            with httpx.stream("GET", uri, timeout=60, follow_redirects=False) as reply, open(temp, "wb") as out:
                if reply.status_code != 200:
                    raise ImportFailed(f"web-download got HTTP {reply.status_code} from {uri}")
                for chunk in reply.iter_bytes(BLOCK):
                    size += len(chunk)
                    if size > self.options.max_image_size:
                        raise ImportFailed("web-download data is larger than the image size cap")
                    out.write(chunk)
        except httpx.HTTPError as exc:
            raise ImportFailed(f"web-download failed: {exc}") from None
        return temp

    def _copy_to_stores(self, task_id: str, image_id: str, source: Path, targets: list[str], data: NewData | None, must_all: bool) -> None:
        failed: list[str] = []
        for store_id in targets:
            store: ImageStore = self.stores.by_id[store_id]
            try:
                store.copy_in(source, image_id)
            except OSError as exc:
                # all_stores_must_succeed=false: note the store and go on with the others
                if must_all or len(failed) + 1 == len(targets):
                    raise ImportFailed(f"writing to store {store_id} failed: {exc}") from None
                log.warning("import task %s: store %s failed: %s", task_id, store_id, exc)
                failed.append(store_id)
                continue
            with self.db.write() as db:
                image = db.get(Image, image_id)
                if image is None:  # deleted meanwhile: the data goes too
                    store.delete(image_id)
                    raise ImportFailed("the image was deleted during the import")
                self._record_store(image, store_id, data)
        with self.db.write() as db:
            image = db.get(Image, image_id)
            if image is not None:
                drop_property(image, TASK_PROPERTY)
                drop_property(image, "os_glance_stage_host")
                set_property(image, FAILED_PROPERTY, ",".join(failed))
                set_property(image, IMPORTING_PROPERTY, "")
            finish_task(db, task_id, "success", "", {"image_id": image_id})

    @staticmethod
    def _record_store(image: Image, store_id: str, data: NewData | None) -> None:
        """One more store holds the data; the first one makes a new image active."""
        if store_id not in image.stores:
            image.stores = [*image.stores, store_id]
        remaining = [s for s in image.extra.get(IMPORTING_PROPERTY, "").split(",") if s and s != store_id]
        set_property(image, IMPORTING_PROPERTY, ",".join(remaining))
        if data is not None:
            image.status = ACTIVE
            if data.container_format:
                image.container_format = data.container_format
            for name, value in data.properties.items():
                set_property(image, name, value)
            image.os_hash_algo = data.hash_algo
            image.size, image.virtual_size, image.disk_format = data.size, data.virtual_size, data.disk_format
            image.checksum, image.os_hash_value = data.checksum, data.hash_value
        image.updated_at = now()

    def _fail(self, task_id: str, image_id: str, method: str, targets: list[str], reason: str) -> None:
        with self.db.write() as db:
            image = db.get(Image, image_id)
            if image is not None:
                if image.status == IMPORTING:
                    staged = self.stores.staging.has(image_id)
                    image.status = UPLOADING if (method == "glance-direct" and staged) else QUEUED
                    if image.status == QUEUED:
                        image.size = None
                failed = [s for s in targets if s not in image.stores]
                set_property(image, FAILED_PROPERTY, ",".join(failed))
                set_property(image, IMPORTING_PROPERTY, "")
                drop_property(image, TASK_PROPERTY)
                image.updated_at = now()
            finish_task(db, task_id, "failure", reason, None)


def new_task(db: Session, ctx: RequestContext, image: Image, kind: str, given: dict[str, Any]) -> Task:
    """A task about to run for `image`, recorded with the request that asked for it."""
    task = Task(
        id=new_id(),
        type=kind,
        status="processing",
        owner=image.owner,
        image_id=image.id,
        user_id=ctx.user_id,
        request_id=ctx.request_id,
        input={"image_id": image.id, **given},
        result=None,
        message="",
        # full resolution, so tasks of one image list newest first even within a second
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.add(task)
    return task


def finish_task(db: Session, task_id: str, status: str, message: str, result: dict[str, Any] | None) -> None:
    task = db.get(Task, task_id)
    if task is None:
        return
    task.status = status
    task.message = message
    task.result = result
    task.updated_at = now()
    task.expires_at = task.updated_at + TASK_TTL


def hash_file(path: Path, algo: str) -> tuple[str, str, int]:
    md5 = hashlib.md5(usedforsecurity=False)
    other = hashlib.new(algo)
    size = 0
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            md5.update(block)
            other.update(block)
            size += len(block)
    return md5.hexdigest(), other.hexdigest(), size


def create_task(db: Session, ctx: RequestContext, body: Any, stores: Stores, options: ImageSettings) -> Task:
    """POST /v2/tasks, the older way to import: {"type": "import", "input": {"import_from":
    URL, "import_from_format": fmt, "image_properties": {...}}} makes a new image and
    fills it by web-download."""
    from .. import schemas
    from .images import create_image

    if not isinstance(body, dict) or body.get("type") != "import":
        raise BadRequest("Invalid task: 'type' must be 'import'.")
    given = body.get("input")
    if not isinstance(given, dict) or not isinstance(given.get("import_from"), str):
        raise BadRequest("Invalid task input: 'import_from' (an http URL) is required.")
    check_web_download_uri(given["import_from"], options)
    properties = given.get("image_properties") or {}
    fmt = given.get("import_from_format")
    if fmt is not None:
        properties = {"disk_format": fmt, **properties}
    image = create_image(db, ctx, schemas.parse_create(properties))
    if image.disk_format is None or image.container_format is None:
        raise BadRequest("Invalid task input: image_properties need a disk_format and a container_format.")
    req = ImportRequest("web-download", given["import_from"], [stores.default.id], True, {"method": {"name": "web-download", "uri": given["import_from"]}})
    task = start_import(db, ctx, lambda *_: None, image, req, "")
    task.type = "import"
    task.input = {**given, "import_req": req.body, "backend": req.stores}
    return task

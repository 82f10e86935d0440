"""Locations: image data that stays at an http(s) URL (the read-only http store, Glance's
"web" store) instead of in one of this cloud's stores.

Two ways in, as in Glance: the add-location call of API v2.17 (POST .../locations), which
fetches the data once in a task to learn its size and hashes, and, where the operator
shows locations (show_multiple_locations), JSON-patch operations on /locations, which
take the caller's word for the hashes (validation_data) and only ask the server for the
size. Only hosts in web_download_allowed_hosts are ever contacted."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from pocketstack.config import ImageSettings
from pocketstack.core.context import RequestContext
from pocketstack.core.db import Database
from pocketstack.core.faults import BadRequest, Conflict, Forbidden

from ..models import ACTIVE, IMPORTING, QUEUED, Image, Task
from ..store import BLOCK
from .common import now
from .imports import check_web_download_uri, finish_task, new_task

HASH_ALGOS = ("sha256", "sha384", "sha512")
HEX = re.compile(r"^[0-9a-fA-F]+$")
VALIDATION_KEYS = ("checksum", "os_hash_algo", "os_hash_value")


def check_url(url: Any, options: ImageSettings) -> str:
    if not options.http_store:
        raise BadRequest("This cloud has no http store: image locations cannot be added.")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise BadRequest(f"Invalid location {str(url)[:100]!r}: only http and https URLs are accepted.")
    check_web_download_uri(url, options)
    return url


def check_validation_data(data: Any) -> dict[str, str]:
    """{"checksum": md5 hex, "os_hash_algo": name, "os_hash_value": hex}, all optional,
    but a hash value needs its algorithm and must be as long as that algorithm's digest."""
    if data in (None, {}):
        return {}
    if not isinstance(data, dict) or set(data) - set(VALIDATION_KEYS) or not all(isinstance(v, str) for v in data.values()):
        raise BadRequest(f"Invalid validation_data: an object with string values for {', '.join(VALIDATION_KEYS)}.")
    checksum = data.get("checksum")
    if checksum is not None and (len(checksum) != 32 or not HEX.match(checksum)):
        raise BadRequest("Invalid validation_data: 'checksum' must be an md5 hex digest (32 characters).")
    algo, value = data.get("os_hash_algo"), data.get("os_hash_value")
    if value is not None and algo is None:
        raise BadRequest("Invalid validation_data: 'os_hash_value' needs its 'os_hash_algo'.")
    if algo is not None and algo not in HASH_ALGOS:
        raise BadRequest(f"Invalid validation_data: os_hash_algo {algo[:20]!r} is not one of {', '.join(HASH_ALGOS)}.")
    if value is not None and (len(value) != hashlib.new(algo).digest_size * 2 or not HEX.match(value)):
        raise BadRequest(f"Invalid validation_data: os_hash_value is not a {algo} hex digest.")
    return dict(data)


def _check_agrees(image: Image, data: dict[str, Any]) -> None:
    """Hashes given with a new location must agree with those the image already has: 409."""
    for key in VALIDATION_KEYS:
        given, held = data.get(key), getattr(image, key)
        if given is not None and held is not None and given != held:
            raise Conflict(f"The {key} of the new location does not match the image's {key}.")


def _apply_validation(image: Image, data: dict[str, str]) -> None:
    """Take the caller's hashes for the image."""
    _check_agrees(image, data)
    for key in VALIDATION_KEYS:
        if data.get(key) is not None:
            setattr(image, key, data[key])


def remote_size(url: str) -> int | None:
    """The size the server at `url` reports (HEAD); 400 when it cannot be reached."""
    try:
        reply = httpx.head(url, timeout=30, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise BadRequest(f"The location {url[:100]} could not be reached: {exc}") from None
    if reply.status_code != 200:
        raise BadRequest(f"The location {url[:100]} answered HTTP {reply.status_code}.")
    length = reply.headers.get("content-length")
    return int(length) if length and length.isdigit() else None


# -- JSON-patch of /locations (show_multiple_locations) ---------------------------------


def patch_locations(image: Image, op: str, index: str | None, value: Any, ctx: RequestContext, options: ImageSettings) -> None:
    if not options.show_multiple_locations:
        raise Forbidden("Attribute 'locations' is read-only.")
    if op == "remove":
        _remove(image, index, ctx)
    elif op == "add":
        _add(image, index, value, options)
    else:
        _replace_all(image, index, value, options)
    image.updated_at = now()


def _location(value: Any, options: ImageSettings, image: Image | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    if not isinstance(value, dict) or "url" not in value or set(value) - {"url", "metadata", "validation_data"}:
        raise BadRequest("A location is an object with a 'url', optional 'metadata' and optional 'validation_data'.")
    metadata = value.get("metadata", {})
    if not isinstance(metadata, dict):
        raise BadRequest("A location's 'metadata' must be an object.")
    validation = value.get("validation_data")
    if image is not None and isinstance(validation, dict):
        _check_agrees(image, validation)  # a contradiction is a conflict before it is a format error
    return {"url": check_url(value["url"], options), "metadata": metadata}, check_validation_data(validation)


def _add(image: Image, index: str | None, value: Any, options: ImageSettings) -> None:
    if image.status not in (QUEUED, ACTIVE):
        raise Conflict(f"Locations cannot be added to an image in status {image.status}.")
    location, validation = _location(value, options, image)
    if any(loc["url"] == location["url"] for loc in image.locations):
        raise Conflict("The image already has this location.")
    _apply_validation(image, validation)
    if image.size is None:
        image.size = remote_size(location["url"])
    position = len(image.locations) if index in (None, "-") else _index(index, len(image.locations) + 1)
    image.locations = [*image.locations[:position], location, *image.locations[position:]]
    if image.status == QUEUED:
        image.status = ACTIVE


def _replace_all(image: Image, index: str | None, value: Any, options: ImageSettings) -> None:
    """Replacing /locations may only change metadata: the same URLs in the same order
    (an image's data cannot be swapped for other data this way)."""
    if index is not None:
        raise BadRequest("Only the whole /locations list can be replaced.")
    if not isinstance(value, list):
        raise BadRequest("/locations must be replaced by a list of locations.")
    if not image.locations and image.status == QUEUED:
        for item in value:
            _add(image, None, item, options)
        return
    wanted = [_location(item, options)[0] for item in value]
    if [loc["url"] for loc in wanted] != [loc["url"] for loc in image.locations]:
        raise BadRequest("Replacing /locations may change their metadata only, not which URLs hold the data.")
    image.locations = wanted


def _remove(image: Image, index: str | None, ctx: RequestContext) -> None:
    if not ctx.is_admin:
        raise Forbidden("Only administrators may remove an image location.")
    if image.stores:
        raise BadRequest("Data in this cloud's stores is removed with DELETE /v2/stores/{store}/{image}.")
    position = _index(index, len(image.locations))
    if len(image.locations) == 1:
        raise Forbidden("Cannot remove the last location of an image.")
    image.locations = [loc for i, loc in enumerate(image.locations) if i != position]


def _index(index: str | None, count: int) -> int:
    if index is None or not index.isdigit() or int(index) >= count:
        raise BadRequest(f"Invalid location index {index!r}.")
    return int(index)


# -- POST /v2/images/{id}/locations (API v2.17) ------------------------------------------


def start_location_import(db: Session, ctx: RequestContext, image: Image, body: Any, options: ImageSettings) -> Task:
    """Record the location now; a task fetches the data once to learn size and hashes
    and checks them against validation_data before the image turns active."""
    if not isinstance(body, dict) or set(body) - {"url", "validation_data"}:
        raise BadRequest("The body is {'url': ..., 'validation_data': {...}}.")
    url = check_url(body.get("url"), options)
    validation = check_validation_data(body.get("validation_data"))
    if image.status != QUEUED:
        raise Conflict(f"Locations can be added only to queued images; image {image.id} is {image.status}.")
    task = new_task(db, ctx, image, "location_import", {"loc_url": url, "validation_data": validation})
    image.locations = [{"url": url, "metadata": {}}]
    image.status = IMPORTING
    image.updated_at = now()
    return task


def verify_location(database: Database, task_id: str, options: ImageSettings) -> None:
    """The add-location task: read the data once, hash it, compare with validation_data."""
    with database.read() as db:
        task = db.get(Task, task_id)
        if task is None:
            return
        image_id, url, validation = task.input["image_id"], task.input["loc_url"], task.input["validation_data"]
    algo = validation.get("os_hash_algo") or options.hash_algo
    try:
        check_web_download_uri(url, options)
        checksum, value, size = _hash_remote(url, algo, options.max_image_size)
        if validation.get("checksum") not in (None, checksum) or validation.get("os_hash_value") not in (None, value):
            raise ValueError("the data at the location does not match its validation_data")
    except (ValueError, BadRequest, httpx.HTTPError) as exc:
        _finish(database, task_id, image_id, None, str(exc))
        return
    _finish(database, task_id, image_id, {"size": size, "checksum": checksum, "os_hash_algo": algo, "os_hash_value": value}, "")


def _hash_remote(url: str, algo: str, limit: int) -> tuple[str, str, int]:
    md5, other, size = hashlib.md5(usedforsecurity=False), hashlib.new(algo), 0
    with httpx.stream("GET", url, timeout=60, follow_redirects=False) as reply:
        if reply.status_code != 200:
            raise ValueError(f"the location answered HTTP {reply.status_code}")
        for chunk in reply.iter_bytes(BLOCK):
            size += len(chunk)
            if size > limit:
                raise ValueError("the data at the location is larger than the image size cap")
            md5.update(chunk)
            other.update(chunk)
    return md5.hexdigest(), other.hexdigest(), size


def _finish(database: Database, task_id: str, image_id: str, learned: dict[str, Any] | None, problem: str) -> None:
    with database.write() as db:
        image = db.get(Image, image_id)
        if image is not None and image.status == IMPORTING:
            # failed: back to queued; the location stays, as Glance's http store keeps it
            image.status = ACTIVE if learned else QUEUED
            for key in ("size", *VALIDATION_KEYS):
                setattr(image, key, (learned or {}).get(key))
            image.updated_at = now()
        finish_task(db, task_id, "success" if learned else "failure", problem, {"image_id": image_id} if learned else None)

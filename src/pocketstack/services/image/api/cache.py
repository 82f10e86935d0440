"""/v2/cache: this node's image cache, for administrators."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, NotFound, glance_fault

from ..backend.imports import check_web_download_uri
from ..cache import copy_file, fetch_url
from ..models import ACTIVE, Image

api = ApiRouter(glance_fault)
CLEAR_TARGETS = {"": (True, True), "cache": (True, False), "queue": (False, True)}


@api.route("GET", "/v2/cache", tx="none")
def list_cache(call: Call) -> dict[str, Any]:
    call.authorize("image:manage_image_cache")
    return call.cloud.image.cache.listing()


@api.route("PUT", "/v2/cache/{image_id}", status=202, tx="read")
def queue_image(call: Call) -> None:
    call.authorize("image:manage_image_cache")
    service = call.cloud.image
    image = call.db.get(Image, call.params["image_id"])
    if image is None:
        raise NotFound(f"No image found with ID {call.params['image_id']}")
    if image.status != ACTIVE:
        raise BadRequest(f"Only active images can be cached; image {image.id} is {image.status}.")
    path = service.stores.locate(image.id, image.stores)
    if path is not None:
        fetch = copy_file(path)
    elif image.locations:
        fetch = fetch_url(image.locations[0]["url"], lambda url: check_web_download_uri(url, service.options))
    else:
        raise BadRequest(f"Image {image.id} has no data to cache.")
    service.cache.queue(image.id, fetch)


@api.route("DELETE", "/v2/cache/{image_id}", status=204, tx="none")
def uncache_image(call: Call) -> None:
    call.authorize("image:manage_image_cache")
    call.cloud.image.cache.forget(call.params["image_id"])


@api.route("DELETE", "/v2/cache", status=204, tx="none")
def clear_cache(call: Call) -> None:
    call.authorize("image:manage_image_cache")
    target = call.request.headers.get("x-image-cache-clear-target", "").strip()
    if target not in CLEAR_TARGETS:
        raise BadRequest(f"Invalid x-image-cache-clear-target {target[:20]!r}: use 'cache', 'queue' or nothing for both.")
    cached, queued = CLEAR_TARGETS[target]
    call.cloud.image.cache.clear(cached=cached, queued=queued)

"""Nova's image proxy (deprecated; gone from 2.36, its metadata calls from 2.39): the
image service's images as Nova v2.0 showed them.

GET    /v2.1/images[/detail]               list (Nova's filters: name, status, changes-since,
                                           server, type, minRam, minDisk, property-*)
GET    /v2.1/images/{id}                   show
DELETE /v2.1/images/{id}                   delete
GET/POST/PUT /v2.1/images/{id}/metadata    the custom properties (list, merge, replace)
GET/PUT/DELETE /v2.1/images/{id}/metadata/{key}

Nova calls Glance with the caller's token; here the calls go to the image service's
backend in this process, under the image service's own policies, so a caller may do
through this proxy exactly what they may do with Glance's API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, Forbidden, NotFound, nova_fault
from pocketstack.core.pagination import PageRequest
from pocketstack.services.image.backend import images as image_backend
from pocketstack.services.image.backend.common import get_image, policy_target
from pocketstack.services.image.models import Image
from pocketstack.services.image.schemas import PatchOp

from ..backend.quotas import limit_of
from ..schemas.servers import check_metadata
from ..views.servers import timestamp

api = ApiRouter(nova_fault)

PROXY_MAX = "2.35"
METADATA_MAX = "2.38"
MAX_PAGE_SIZE = 1000  # Nova's [api] max_limit
# Glance status -> what Nova shows, and the progress it shows with it
STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}
# Nova's query names -> the image service's
SIMPLE_FILTERS = {"name": "name", "minRam": "min_ram", "minDisk": "min_disk", "type": "image_type"}


# -- list and show ------------------------------------------------------------------------------
@api.route("GET", "/v2.1/images", max_version=PROXY_MAX)
def list_images(call: Call) -> dict[str, Any]:
    return _list(call, "/v2.1/images", lambda image: _basic(call, image))


@api.route("GET", "/v2.1/images/detail", max_version=PROXY_MAX)
def list_images_detail(call: Call) -> dict[str, Any]:
    return _list(call, "/v2.1/images/detail", lambda image: _detail(call, image))


def _list(call: Call, path: str, render: Callable[[Image], dict[str, Any]]) -> dict[str, Any]:
    call.authorize("image:get_images")
    limit = _limit(call)
    filters = _filters(call)
    page = image_backend.list_images(call.db, call.ctx, filters, {}, PageRequest(limit=limit, marker=call.query.get("marker") or None))
    body: dict[str, Any] = {"images": [render(image) for image in page.items]}
    if page.items and len(page.items) == limit:
        params = {**dict(call.query), "limit": str(limit), "marker": page.items[-1].id}
        body["images_links"] = [{"rel": "next", "href": f"{call.url(path)}?{urlencode(params)}"}]
    return body


def _limit(call: Call) -> int:
    raw = call.query.get("limit")
    if raw is None:
        return MAX_PAGE_SIZE
    if not (raw.isascii() and raw.strip().isdigit()):
        raise BadRequest(f"limit param must be an integer, not {raw[:40]!r}")
    return min(int(raw), MAX_PAGE_SIZE) or MAX_PAGE_SIZE


def _filters(call: Call) -> dict[str, str]:
    """Nova's filters in the image service's terms (Nova's glance translation)."""
    out: dict[str, str] = {}
    for name, value in call.query.items():
        if name in SIMPLE_FILTERS:
            out[SIMPLE_FILTERS[name]] = value
        elif name == "status":
            out["status"] = value.lower()
        elif name == "server":
            out["instance_uuid"] = value.rstrip("/").rsplit("/", 1)[-1]
        elif name == "changes-since":
            out["updated_at"] = f"gte:{value}"
        elif name.startswith("property-") and len(name) > len("property-"):
            out[name.removeprefix("property-")] = value
    return out


@api.route("GET", "/v2.1/images/{image_id}", max_version=PROXY_MAX)
def show_image(call: Call) -> dict[str, Any]:
    call.authorize("image:get_image")
    return {"image": _detail(call, _image(call))}


def _image(call: Call) -> Image:
    try:
        return get_image(call.db, call.ctx, call.params["image_id"])
    except NotFound:
        raise NotFound("Image not found.") from None


def _links(call: Call, image_id: str) -> list[dict[str, str]]:
    glance = call.cloud.public_url + call.cloud.image.prefix
    return [
        {"rel": "self", "href": call.url(f"/v2.1/images/{image_id}")},
        {"rel": "bookmark", "href": call.url(f"/images/{image_id}")},
        {"rel": "alternate", "type": "application/vnd.openstack.image", "href": f"{glance}/images/{image_id}"},
    ]


def _basic(call: Call, image: Image) -> dict[str, Any]:
    return {"id": image.id, "name": image.name, "links": _links(call, image.id)}


def _detail(call: Call, image: Image) -> dict[str, Any]:
    properties = image.extra
    out: dict[str, Any] = {
        "id": image.id,
        "name": image.name,
        "minRam": image.min_ram or 0,
        "minDisk": image.min_disk or 0,
        "metadata": properties,
        "created": timestamp(image.created_at),
        "updated": timestamp(image.updated_at),
        "status": STATUS.get(image.status, "UNKNOWN"),
        "progress": PROGRESS.get(image.status, 0),
        "OS-EXT-IMG-SIZE:size": image.size,
        "links": _links(call, image.id),
    }
    server_uuid = properties.get("instance_uuid")
    if server_uuid is not None:
        out["server"] = {
            "id": server_uuid,
            "links": [
                {"rel": "self", "href": call.url(f"/v2.1/servers/{server_uuid}")},
                {"rel": "bookmark", "href": call.url(f"/servers/{server_uuid}")},
            ],
        }
    auto_disk_config = properties.get("auto_disk_config")
    if auto_disk_config is not None:
        out["OS-DCF:diskConfig"] = "AUTO" if auto_disk_config.strip().lower() in ("1", "true", "yes", "on", "t", "y") else "MANUAL"
    return out


# -- delete -------------------------------------------------------------------------------------
@api.route("DELETE", "/v2.1/images/{image_id}", max_version=PROXY_MAX, status=204)
def delete_image(call: Call) -> Response:
    image = _image(call)
    call.authorize("image:delete_image", policy_target(image))
    image_id = image.id
    try:
        image_backend.delete_image(call.db, image)
    except Forbidden:
        raise Forbidden("You are not allowed to delete the image.") from None
    call.after_commit(lambda: call.cloud.image.forget_data(image_id))
    return Response(status_code=204)


# -- metadata (the image's custom properties) -------------------------------------------------------
@api.route("GET", "/v2.1/images/{image_id}/metadata", max_version=METADATA_MAX)
def list_metadata(call: Call) -> dict[str, Any]:
    call.authorize("image:get_image")
    return {"metadata": _image(call).extra}


@api.route("GET", "/v2.1/images/{image_id}/metadata/{key}", max_version=METADATA_MAX)
def show_metadata_item(call: Call) -> dict[str, Any]:
    call.authorize("image:get_image")
    properties = _image(call).extra
    key = call.params["key"]
    if key not in properties:
        raise NotFound("Metadata item was not found")
    return {"meta": {key: properties[key]}}


@api.route("POST", "/v2.1/images/{image_id}/metadata", max_version=METADATA_MAX)
def update_metadata(call: Call) -> dict[str, Any]:
    items = _metadata_body(call, "metadata")
    image = _image_to_change(call)
    merged = {**image.extra, **items}
    return {"metadata": _store(call, image, merged)}


@api.route("PUT", "/v2.1/images/{image_id}/metadata", max_version=METADATA_MAX)
def replace_metadata(call: Call) -> dict[str, Any]:
    items = _metadata_body(call, "metadata")
    image = _image_to_change(call)
    _store(call, image, items)
    return {"metadata": items}


@api.route("PUT", "/v2.1/images/{image_id}/metadata/{key}", max_version=METADATA_MAX)
def set_metadata_item(call: Call) -> dict[str, Any]:
    meta = _metadata_body(call, "meta")
    key = call.params["key"]
    if len(meta) != 1:
        raise BadRequest("Invalid input for field/attribute meta: exactly one item is required.")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    image = _image_to_change(call)
    _store(call, image, {**image.extra, **meta})
    return {"meta": meta}


@api.route("DELETE", "/v2.1/images/{image_id}/metadata/{key}", max_version=METADATA_MAX, status=204)
def delete_metadata_item(call: Call) -> Response:
    image = _image_to_change(call)
    properties = image.extra
    key = call.params["key"]
    if key not in properties:
        raise NotFound("Invalid metadata key")
    del properties[key]
    _store(call, image, properties)
    return Response(status_code=204)


def _metadata_body(call: Call, key: str) -> dict[str, str]:
    body = call.json()
    if not isinstance(body, dict) or set(body) != {key}:
        raise BadRequest(f"Invalid input: the body must be an object with exactly '{key}'.")
    try:
        return check_metadata(body[key])
    except ValueError as exc:
        raise BadRequest(f"Invalid input for field/attribute {key}: {exc}") from None


def _image_to_change(call: Call) -> Image:
    image = _image(call)
    call.authorize("image:modify_image", policy_target(image))
    return image


def _store(call: Call, image: Image, wanted: dict[str, str]) -> dict[str, str]:
    """Make `wanted` the image's custom properties (Nova's update with purge_props),
    within the project's metadata_items quota, through the image service's checks."""
    limit = limit_of(call.db, call.cloud.settings.compute, call.ctx.project_id or "", "metadata_items")
    if wanted and 0 <= limit < len(wanted):
        raise Forbidden("Image metadata limit exceeded")
    current = image.extra
    ops = [PatchOp("remove", name) for name in current if name not in wanted]
    ops += [PatchOp("replace" if name in current else "add", name, value) for name, value in wanted.items() if current.get(name) != value]
    if ops:
        image_backend.update_image(call.db, call.ctx, image, ops, call.cloud.image.options)
    return image.extra

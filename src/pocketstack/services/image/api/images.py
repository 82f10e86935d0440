"""/v2/images: create, list, show, update (JSON patch), delete, tags, deactivate."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import UnsupportedMediaType, glance_fault
from pocketstack.core.pagination import page_request

from .. import schemas
from ..backend import images as backend
from ..backend.common import get_image, policy_target
from ..views import images as views

api = ApiRouter(glance_fault)

LIST_LIMIT_DEFAULT = 25  # Glance's limit_param_default
LIST_LIMIT_MAX = 1000  # Glance's api_limit_max


@api.route("POST", "/v2/images", status=201)
def create_image(call: Call) -> Any:
    body = schemas.parse_create(call.json())
    call.authorize("image:add_image", {"owner": body.core.get("owner", call.ctx.project_id)})
    image = backend.create_image(call.db, call.ctx, body)
    call.response_headers["Location"] = call.url(f"/v2/images/{image.id}")
    return views.image(image, call.cloud.image.look)


@api.route("GET", "/v2/images")
def list_images(call: Call) -> Any:
    call.authorize("image:get_images")
    page = page_request(call.query, max_limit=LIST_LIMIT_MAX, default_limit=LIST_LIMIT_DEFAULT)
    multi = {key: call.query.getlist(key) for key in call.query.keys()}
    result = backend.list_images(call.db, call.ctx, call.query, multi, page)
    return views.image_list(result.items, result, call.query, call.cloud.image.look)


@api.route("GET", "/v2/images/{image_id}")
def show_image(call: Call) -> Any:
    call.authorize("image:get_image")
    return views.image(get_image(call.db, call.ctx, call.params["image_id"]), call.cloud.image.look)


@api.route("PATCH", "/v2/images/{image_id}")
def update_image(call: Call) -> Any:
    media_type = call.request.headers.get("content-type", "").split(";")[0].strip()
    if media_type not in schemas.PATCH_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Unsupported Content-Type {media_type or '(none)'!r}: use {schemas.PATCH_MEDIA_TYPES[0]}",
            headers={"Accept-Patch": ", ".join(schemas.PATCH_MEDIA_TYPES)},
        )
    ops = schemas.parse_patch(call.json(), media_type)
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:modify_image", policy_target(image))
    return views.image(backend.update_image(call.db, call.ctx, image, ops, call.cloud.image.options), call.cloud.image.look)


@api.route("DELETE", "/v2/images/{image_id}", status=204)
def delete_image(call: Call) -> None:
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:delete_image", policy_target(image))
    image_id = image.id
    backend.delete_image(call.db, image)
    # the data goes once the row's removal has committed (a crash between the two
    # leaves a file no row names, which the next start sweeps away)
    call.after_commit(lambda: call.cloud.image.forget_data(image_id))


@api.route("POST", "/v2/images/{image_id}/actions/deactivate", status=204)
def deactivate_image(call: Call) -> None:
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:deactivate", policy_target(image))
    backend.deactivate_image(image)


@api.route("POST", "/v2/images/{image_id}/actions/reactivate", status=204)
def reactivate_image(call: Call) -> None:
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:reactivate", policy_target(image))
    backend.reactivate_image(image)


@api.route("PUT", "/v2/images/{image_id}/tags/{tag}", status=204)
def add_tag(call: Call) -> None:
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:modify_image", policy_target(image))
    backend.add_tag(image, call.params["tag"])


@api.route("DELETE", "/v2/images/{image_id}/tags/{tag}", status=204)
def remove_tag(call: Call) -> None:
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:modify_image", policy_target(image))
    backend.remove_tag(image, call.params["tag"])


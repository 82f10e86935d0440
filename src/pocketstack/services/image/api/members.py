"""/v2/images/{image_id}/members."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, glance_fault

from ..backend import members as backend
from ..backend.common import get_image, policy_target
from ..views import members as views

api = ApiRouter(glance_fault)


def _field(call: Call, name: str) -> Any:
    body = call.json()
    if not isinstance(body, dict) or name not in body:
        raise BadRequest(f"Invalid input: '{name}' is a required property.")
    return body[name]


@api.route("POST", "/v2/images/{image_id}/members")
def add_member(call: Call) -> Any:
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:add_member", policy_target(image))
    return views.member(backend.add_member(call.db, call.ctx, image, _field(call, "member")))


@api.route("GET", "/v2/images/{image_id}/members")
def list_members(call: Call) -> Any:
    image = get_image(call.db, call.ctx, call.params["image_id"])
    call.authorize("image:get_members", {**policy_target(image), "member_id": call.ctx.project_id})
    return views.member_list(backend.list_members(call.db, call.ctx, image))


@api.route("GET", "/v2/images/{image_id}/members/{member_id}")
def show_member(call: Call) -> Any:
    image = get_image(call.db, call.ctx, call.params["image_id"])
    call.authorize("image:get_member", {**policy_target(image), "member_id": call.params["member_id"]})
    return views.member(backend.get_member(call.db, call.ctx, image, call.params["member_id"]))


@api.route("PUT", "/v2/images/{image_id}/members/{member_id}")
def update_member(call: Call) -> Any:
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:modify_member", {**policy_target(image), "member_id": call.params["member_id"]})
    status = _field(call, "status")
    return views.member(backend.update_member(call.db, call.ctx, image, call.params["member_id"], status))


@api.route("DELETE", "/v2/images/{image_id}/members/{member_id}", status=204)
def delete_member(call: Call) -> None:
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:delete_member", policy_target(image))
    backend.delete_member(call.db, call.ctx, image, call.params["member_id"])
